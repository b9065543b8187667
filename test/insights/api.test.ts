import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anonymousClient, backends, userClient, type Client } from '../helpers.js';
import { allEntries, connect, setup, syncNow, type Setup } from '../pagerduty/helpers.js';
import { defineField } from '../custom-fields/helpers.js';
import { declare, handQuantile, parseCsv, seedPage, setTimestamps } from './seed.js';

// The insights API over a month of incidents and pages: incidents per week by severity, time to acknowledge and
// to resolve (median and p90, checked against a hand calculation from the seeded times), incidents and pages by
// PagerDuty service and team through catalog custom fields over the synced PagerDuty catalog, the busiest hours
// in UTC and in Berlin, the same data as CSV, and what the API refuses.
//
// The range is 2026-09-07 (a Monday) to 2026-10-04 inclusive: four weeks, the third without incidents.

const RANGE = 'from=2026-09-07&to=2026-10-04';
const WEEKS = ['2026-09-07', '2026-09-14', '2026-09-21', '2026-09-28'];

describe.each(backends)('insights API on %s', (backend) => {
  let s: Setup;
  let owner: Client;
  let viewer: Client;
  let kId = '';
  let dbRef: Setup['fb']['app']['database']['db'];
  const names = { s1: '', s2: '', t1: '', t2: '', t3: '', p1: '' };
  // seconds from report to first acknowledgement and to resolution, per week, of the incidents that count
  const seeded = {
    ack: [[120, 300, 60], [600, 900], [], [30]] as number[][],
    res: [[3600, 7200], [1800, 10800], [], [600, 1200]] as number[][],
  };

  beforeAll(async () => {
    s = await setup(backend, 'small');
    await connect(s);
    owner = s.owner;
    viewer = (await userClient(s.fb, owner, 'viewer')).client;
    const db = s.fb.app.database.db;

    // PagerDuty's account decides the teams: S1 belongs to T1, S2 to no team, policy P1 to T2.
    const [svc1, svc2] = await allEntries(s, 'PagerDutyService');
    const [team1, team2, team3] = await allEntries(s, 'PagerDutyTeam');
    const [pol1] = await allEntries(s, 'PagerDutyEscalationPolicy');
    s.pd.admin.updateService(svc1.external_id, { team_ids: [team1.external_id] });
    s.pd.admin.updateService(svc2.external_id, { team_ids: [] });
    s.pd.admin.updateEscalationPolicy(pol1.external_id, { team_ids: [team2.external_id] });
    expect((await syncNow(s)).status).toBe('succeeded');
    Object.assign(names, { s1: svc1.name, s2: svc2.name, t1: team1.name, t2: team2.name, t3: team3.name, p1: pol1.name });

    await defineField(owner, { key: 'services', name: 'Affected services', type: 'catalog', catalog_type: 'PagerDutyService', multiple: true });
    await defineField(owner, { key: 'team', name: 'Owning team', type: 'catalog', catalog_type: 'PagerDutyTeam' });

    const inc = async (name: string, severity: string, reported: string, t: { ack?: number; resolved?: number }, fields: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => {
      const id = await declare(owner, { name, severity_id: severity, custom_field_values: fields, ...extra });
      await setTimestamps(db, id, reported, t);
      return id;
    };
    // week of 7 September
    const a = await inc('A', 'sev-critical', '2026-09-08T10:00:00Z', { ack: 120, resolved: 3600 }, { services: [svc1.id, svc2.id], team: team3.id });
    const b = await inc('B', 'sev-low', '2026-09-09T23:30:00Z', { ack: 300, resolved: 7200 }, { services: [svc1.id] });
    await inc('C', 'sev-critical', '2026-09-13T23:59:00Z', { ack: 60 }, { team: team1.id, services: [svc1.id] }); // Sunday night: still that week; T1 twice over
    // week of 14 September
    await inc('D', 'sev-minor', '2026-09-14T00:00:00Z', { ack: 600, resolved: 1800 });
    const e = await inc('E (a test)', 'sev-critical', '2026-09-15T09:00:00Z', { ack: 10, resolved: 20 }, { services: [svc1.id] }, { mode: 'test' });
    const f = await inc('F (declined)', 'sev-major', '2026-09-15T10:00:00Z', { ack: 5 }, { services: [svc2.id] }, { triage: true });
    expect((await owner.post(`/api/v1/incidents/${f}/actions/decline`, { reason: 'not an incident' })).status).toBe(200);
    const g = await inc('G', 'sev-low', '2026-09-16T09:00:00Z', { ack: 900, resolved: 10800 }, { services: [svc2.id], team: team1.id });
    // week of 28 September
    const h = await inc('H', 'sev-critical', '2026-10-01T08:00:00Z', { ack: 30, resolved: 600 }, { services: [svc1.id] });
    // an acknowledgement recorded before the report (being corrected) says nothing about speed: left out
    kId = await inc('K', 'sev-major', '2026-10-02T08:00:00Z', { ack: -60, resolved: 1200 });
    dbRef = db;
    // just outside the range on either side
    const i = await inc('I', 'sev-critical', '2026-10-05T00:00:00Z', { ack: 1 }, { services: [svc1.id] });
    await inc('J', 'sev-critical', '2026-09-06T23:59:59Z', { ack: 1 }, { services: [svc1.id] });

    const page = (incidentId: string, o: Partial<Parameters<typeof seedPage>[1]>) =>
      seedPage(db, { incidentId, kind: 'escalation_policy', targetId: pol1.external_id, targetName: 'Policy as recorded', serviceId: null, serviceName: null, triggeredAt: null, createdAt: '2026-09-01T00:00:00.000Z', ...o });
    await page(a, { serviceId: svc1.external_id, serviceName: 'Service as recorded', triggeredAt: '2026-09-08T10:01:00.000Z', createdAt: '2026-09-08T10:00:30.000Z' }); // Tue 10 UTC
    await page(a, { triggeredAt: '2026-09-08T10:02:00.000Z', createdAt: '2026-09-08T10:01:30.000Z' }); // Tue 10 UTC, no service: the policy
    await page(g, { kind: 'user', targetId: 'PUSERX', targetName: 'Ada Lovelace', serviceId: svc2.external_id, serviceName: svc2.name, triggeredAt: '2026-09-16T23:30:00.000Z', createdAt: '2026-09-16T23:29:00.000Z' }); // Wed 23 UTC
    await page(b, { serviceId: svc1.external_id, serviceName: svc1.name, createdAt: '2026-09-10T08:00:00.000Z', opened: false }); // failed: no page
    await page(e, { serviceId: svc1.external_id, serviceName: svc1.name, triggeredAt: '2026-09-15T12:00:00.000Z', createdAt: '2026-09-15T11:59:00.000Z' }); // a test incident's
    await page(h, { serviceId: svc1.external_id, serviceName: svc1.name, triggeredAt: null, createdAt: '2026-09-20T06:00:00.000Z' }); // Sun 06 UTC, dated when asked
    await page(i, { serviceId: svc1.external_id, serviceName: svc1.name, triggeredAt: '2026-10-05T00:00:00.000Z', createdAt: '2026-10-04T23:59:00.000Z' }); // after the range
  }, 120_000);
  afterAll(async () => s?.close());

  it('counts incidents per week by severity, most severe first, leaving out test, declined and out-of-range incidents', async () => {
    const r = await viewer.get(`/api/v1/insights/incidents_per_week?${RANGE}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.filter).toEqual({ from: '2026-09-07T00:00:00.000Z', to: '2026-10-05T00:00:00.000Z', modes: ['standard'], severity_ids: null });
    expect(r.body.weeks).toEqual(WEEKS);
    expect(r.body.severities.map((x: any) => [x.name, x.counts])).toEqual([
      ['Critical', [2, 0, 0, 1]],
      ['Major', [0, 0, 0, 1]],
      ['Minor', [0, 1, 0, 0]],
      ['Low', [1, 1, 0, 0]],
    ]);

    const critical = await viewer.get(`/api/v1/insights/incidents_per_week?${RANGE}&severity_id=sev-critical`);
    expect(critical.body.severities.map((x: any) => [x.name, x.counts])).toEqual([['Critical', [2, 0, 0, 1]]]);
    const withTests = await viewer.get(`/api/v1/insights/incidents_per_week?${RANGE}&mode=standard,test&severity_id=sev-critical`);
    expect(withTests.body.severities[0].counts).toEqual([2, 1, 0, 1]);
  });

  it('gives the median and p90 of time to acknowledge and to resolve per week, as a hand calculation from the seeded times does', async () => {
    const r = await owner.get(`/api/v1/insights/response_times?${RANGE}`);
    expect(r.status).toBe(200);
    expect(r.body.weeks.map((w: any) => w.week_start)).toEqual(WEEKS);
    r.body.weeks.forEach((w: any, i: number) => {
      expect(w.acknowledge).toEqual({ count: seeded.ack[i]!.length, median_seconds: handQuantile(seeded.ack[i]!, 0.5), p90_seconds: handQuantile(seeded.ack[i]!, 0.9) });
      expect(w.resolve).toEqual({ count: seeded.res[i]!.length, median_seconds: handQuantile(seeded.res[i]!, 0.5), p90_seconds: handQuantile(seeded.res[i]!, 0.9) });
    });
    // Worked by hand: week 1 acknowledgements 60, 120, 300 s: median 120; p90 at rank 0.9 × 2 = 1.8 → 120 + 0.8 × 180 = 264.
    // Week 2 resolutions 1800, 10800 s: median 6300; p90 at rank 0.9 → 1800 + 0.9 × 9000 = 9900.
    expect(r.body.weeks[0].acknowledge).toEqual({ count: 3, median_seconds: 120, p90_seconds: 264 });
    expect(r.body.weeks[1].resolve).toEqual({ count: 2, median_seconds: 6300, p90_seconds: 9900 });
    expect(r.body.weeks[2].acknowledge).toEqual({ count: 0, median_seconds: null, p90_seconds: null });
  });

  it('measures time to acknowledge from PagerDuty\'s first trigger when it came before the report, as the incident page does', async () => {
    // K was acknowledged 60 s before it was reported: left out above. PagerDuty triggered it 120 s before the report,
    // so its time to acknowledge is 60 s, and the week of 28 September has H's 30 s and K's 60 s.
    const triggered = new Date(Date.parse('2026-10-02T08:00:00Z') - 120_000).toISOString();
    await dbRef.insertInto('incident_timestamps').values({ incident_id: kId, kind: 'pagerduty_first_triggered', at: triggered, source: 'pagerduty', reason: null, set_by_user_id: null, updated_at: triggered }).execute();
    try {
      const r = await owner.get(`/api/v1/insights/response_times?${RANGE}`);
      expect(r.body.weeks[3].acknowledge).toEqual({ count: 2, median_seconds: 45, p90_seconds: handQuantile([30, 60], 0.9) });
      const page = await owner.get(`/api/v1/incidents/${kId}`);
      expect(page.body.incident.durations.time_to_acknowledge_seconds).toBe(60);
    } finally {
      await dbRef.deleteFrom('incident_timestamps').where('incident_id', '=', kId).where('kind', '=', 'pagerduty_first_triggered').execute();
    }
  });

  it('groups incidents by the PagerDuty services of their catalog field, and pages by the service paged (else the policy), by name', async () => {
    const r = await viewer.get(`/api/v1/insights/by_service?${RANGE}`);
    expect(r.status).toBe(200);
    expect(r.body.groups).toEqual([
      { name: names.s1, incidents: 4, pages: 2 }, // A, B, C, H; the pages of A and H (named as the catalog names it today)
      { name: names.s2, incidents: 2, pages: 1 }, // A, G; Ada's page on S2
      { name: names.p1, incidents: 0, pages: 1 }, // A's page on the policy without a service
    ]);
    const withTests = await viewer.get(`/api/v1/insights/by_service?${RANGE}&mode=test`);
    expect(withTests.body.groups).toEqual([{ name: names.s1, incidents: 1, pages: 1 }]);
  });

  it("groups by team: team fields and the services' teams for incidents, the service's or policy's team for pages, else who was paged", async () => {
    const r = await viewer.get(`/api/v1/insights/by_team?${RANGE}`);
    expect(r.status).toBe(200);
    const ones = [
      { name: names.t3, incidents: 1, pages: 0 }, // A's team field
      { name: names.t2, incidents: 0, pages: 1 }, // the policy's team, for A's page without a service
      { name: 'Ada Lovelace', incidents: 0, pages: 1 }, // S2 has no team and Ada is no policy
    ].sort((x, y) => x.name.localeCompare(y.name));
    // T1: A, B, C and H through S1, C and G through their team field, each incident once; pages of A and H on S1
    expect(r.body.groups).toEqual([{ name: names.t1, incidents: 5, pages: 2 }, ...ones]);
  });

  it('counts pages by day of week and hour in UTC and in the time zone asked for', async () => {
    const utc = await viewer.get(`/api/v1/insights/page_hours?${RANGE}`);
    expect(utc.status).toBe(200);
    expect(utc.body.time_zone).toBe('UTC');
    expect(utc.body.cells).toHaveLength(168);
    expect(utc.body.total).toBe(4);
    const busy = (b: any) => b.cells.filter((c: any) => c.pages > 0).map((c: any) => [c.day, c.hour, c.pages]);
    expect(busy(utc.body)).toEqual([['Tuesday', 10, 2], ['Wednesday', 23, 1], ['Sunday', 6, 1]]);
    // Berlin is two hours ahead in September: Wednesday 23:30 UTC is Thursday 01:30 there.
    const berlin = await viewer.get(`/api/v1/insights/page_hours?${RANGE}&time_zone=Europe/Berlin`);
    expect(busy(berlin.body)).toEqual([['Tuesday', 12, 2], ['Thursday', 1, 1], ['Sunday', 8, 1]]);
  });

  it('gives every chart as CSV with the same data as the JSON', async () => {
    const get = async (path: string) => {
      const tz = path.endsWith('page_hours') ? '&time_zone=Europe/Berlin' : '';
      const json = await viewer.get(`${path}?${RANGE}${tz}`);
      const csv = await viewer.request('GET', `${path}?${RANGE}${tz}&format=csv`);
      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="firebreak-[a-z-]+-2026-09-07-2026-10-05\.csv"$/);
      return { json: json.body, rows: parseCsv(csv.body as string) };
    };
    const perWeek = await get('/api/v1/insights/incidents_per_week');
    expect(perWeek.rows[0]).toEqual(['week_start', 'severity', 'incidents']);
    expect(perWeek.rows.slice(1)).toEqual(perWeek.json.weeks.flatMap((w: string, i: number) => perWeek.json.severities.map((x: any) => [w, x.name, String(x.counts[i])])));

    const times = await get('/api/v1/insights/response_times');
    const n = (v: number | null) => (v === null ? '' : String(v));
    expect(times.rows[0]).toEqual(['week_start', 'acknowledge_count', 'acknowledge_median_seconds', 'acknowledge_p90_seconds', 'resolve_count', 'resolve_median_seconds', 'resolve_p90_seconds']);
    expect(times.rows.slice(1)).toEqual(times.json.weeks.map((w: any) => [w.week_start, n(w.acknowledge.count), n(w.acknowledge.median_seconds), n(w.acknowledge.p90_seconds), n(w.resolve.count), n(w.resolve.median_seconds), n(w.resolve.p90_seconds)]));

    for (const path of ['/api/v1/insights/by_service', '/api/v1/insights/by_team']) {
      const g = await get(path);
      expect(g.rows).toEqual([['name', 'incidents', 'pages'], ...g.json.groups.map((x: any) => [x.name, String(x.incidents), String(x.pages)])]);
    }
    const hours = await get('/api/v1/insights/page_hours');
    expect(hours.rows).toEqual([['day', 'hour', 'pages'], ...hours.json.cells.map((c: any) => [c.day, String(c.hour), String(c.pages)])]);
  });

  it('defaults to the last twelve weeks', async () => {
    const before = Date.now();
    const r = await viewer.get('/api/v1/insights/incidents_per_week');
    expect(r.status).toBe(200);
    const to = Date.parse(r.body.filter.to);
    expect(to).toBeGreaterThanOrEqual(before - 1000);
    expect(to - Date.parse(r.body.filter.from)).toBe(84 * 86_400_000);
    expect(r.body.weeks.length).toBeGreaterThanOrEqual(12);
  });

  it('refuses ranges out of order or too long, unknown time zones and parameters, naming what is wrong', async () => {
    const bad = async (q: string) => {
      const r = await viewer.get(`/api/v1/insights/page_hours?${q}`);
      expect(r.status, q).toBe(400);
      expect(Object.keys(r.body)).toEqual(['error']);
      expect(Object.keys(r.body.error).sort()).toEqual(['code', 'details', 'message']);
      return r.body.error;
    };
    const reversed = await bad('from=2026-10-01&to=2026-09-01');
    expect(reversed.code).toBe('validation_failed');
    expect(reversed.message).toBe('from (2026-10-01T00:00:00.000Z) must be before to (2026-09-02T00:00:00.000Z)');
    expect(reversed.details.fields.map((f: any) => f.path)).toEqual(['from', 'to']);
    const same = await bad('from=2026-09-01T10:00:00Z&to=2026-09-01T10:00:00Z');
    expect(same.message).toMatch(/^from \(2026-09-01T10:00:00.000Z\) must be before to \(2026-09-01T10:00:00.000Z\)$/);
    expect((await bad('from=2024-01-01&to=2026-09-01')).message).toMatch(/longer than 731 days \(2 years\)/);
    const notDate = await bad('from=last-tuesday');
    expect(notDate.details.fields).toEqual([{ path: 'from', message: '"last-tuesday" is not a date' }]);
    expect((await bad('time_zone=Mars/Olympus_Mons')).message).toMatch(/time_zone/);
    expect((await bad('mode=everything')).message).toMatch(/mode/);
    expect((await bad('format=xml')).message).toMatch(/format/);
    expect((await bad('severity_id=' + 'x'.repeat(65))).message).toMatch(/severity_id/);
    expect((await bad('colour=red')).message).toMatch(/colour/);
    const unknownSeverity = await bad('severity_id=sev-critical,sev-nope');
    expect(unknownSeverity.message).toMatch(/^"sev-nope" is not a severity; one of: sev-critical \(Critical\), sev-major \(Major\)/);
    expect(unknownSeverity.details.fields[0].path).toBe('severity_id');
    // two years are fine
    expect((await viewer.get('/api/v1/insights/page_hours?from=2024-09-01&to=2026-08-31')).status).toBe(200);
  });

  it('answers only people who are signed in or hold a key', async () => {
    const anon = anonymousClient(s.fb.baseUrl);
    for (const chart of ['incidents_per_week', 'response_times', 'by_service', 'by_team', 'page_hours']) {
      const r = await anon.get(`/api/v1/insights/${chart}?${RANGE}`);
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('unauthorized');
      const csv = await anon.get(`/api/v1/insights/${chart}?${RANGE}&format=csv`);
      expect(csv.status).toBe(401);
      expect((await viewer.get(`/api/v1/insights/${chart}?${RANGE}`)).status).toBe(200);
    }
  });
});
