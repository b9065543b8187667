import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, userClient, type Client } from '../helpers.js';
import { defineField } from '../custom-fields/helpers.js';
import { allEntries } from '../pagerduty/helpers.js';
import { setupLinks, type LinksSetup } from '../pagerduty-links/helpers.js';

// "What changed before it broke": change events sent to PagerDuty through its Events API v2 (the emulator's
// /v2/change/enqueue, with each service's integration key) show on the incident for the services its
// "Affected services" field names and for the services of its linked PagerDuty incidents; a person pins one to the
// timeline; a listing PagerDuty does not answer in time, refuses, or rate-limits is said so, tried once.

describe.each(backends)('recent PagerDuty changes on %s', (backend) => {
  let s: LinksSetup;
  let viewer: Client;
  let responder: Client;
  let services: any[];
  const changesOf = (c: Client, incidentId: string, query = '') => c.get(`/api/v1/incidents/${incidentId}/pagerduty_changes${query}`);

  /** A change event through the Events API v2, as a deploy tool would send it. */
  async function sendChange(serviceExternalId: string, summary: string, o: { minutesAgo?: number; source?: string; links?: { href: string; text?: string }[] } = {}) {
    const key = s.pd.state.services.get(serviceExternalId)!.integrations![0]!.integration_key;
    const res = await fetch(`${s.pd.baseUrl}/v2/change/enqueue`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        routing_key: key,
        payload: { summary, ...(o.minutesAgo !== undefined ? { timestamp: new Date(Date.now() - o.minutesAgo * 60_000).toISOString() } : {}), ...(o.source ? { source: o.source } : {}), custom_details: { by: 'test' } },
        ...(o.links ? { links: o.links } : {}),
      }),
    });
    expect(res.status).toBe(202);
  }
  const declare = async (name: string, affected: string[]) => {
    const r = await s.owner.post('/api/v1/incidents', { name, ...(affected.length ? { custom_field_values: { affected_services: affected } } : {}) });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.incident;
  };
  const changeRequests = (path: string) => s.pd.requestLog().filter((e) => e.path === path).length;

  beforeAll(async () => {
    s = await setupLinks(backend);
    viewer = (await userClient(s.fb, s.owner, 'viewer')).client;
    responder = (await userClient(s.fb, s.owner, 'responder')).client;
    await defineField(s.owner, { key: 'affected_services', name: 'Affected services', type: 'catalog', catalog_type: 'PagerDutyService', multiple: true });
    services = (await allEntries({ owner: s.owner } as any, 'PagerDutyService')).slice(0, 6);
    expect(services).toHaveLength(6);
  }, 240_000);
  afterAll(async () => s?.close());

  it('lists the changes of the services in the field, newest first with names, sources and links, over the hours chosen', async () => {
    const [checkout, payments, other] = services;
    await sendChange(checkout.external_id, 'Deploy checkout v2.3', { minutesAgo: 30, source: 'ci-runner-7', links: [{ href: 'https://ci.example.com/builds/231', text: 'Build 231' }] });
    await sendChange(checkout.external_id, 'Feature flag new-cart on', { minutesAgo: 5 });
    await sendChange(payments.external_id, 'Migrate payments database', { minutesAgo: 7 * 60, source: 'flyway' });
    await sendChange(other.external_id, 'Deploy of a service this incident does not name', { minutesAgo: 10 });
    const inc = await declare('Checkout errors', [checkout.id, payments.id]);

    const r = await changesOf(viewer, inc.id);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.hours).toBe(6);
    expect(r.body.services.map((x: any) => [x.name, x.field])).toEqual([[checkout.name, 'Affected services'], [payments.name, 'Affected services']]);
    expect(r.body.problems).toEqual([]);
    expect(r.body.change_events.map((c: any) => c.summary)).toEqual(['Feature flag new-cart on', 'Deploy checkout v2.3']);
    expect(r.body.change_events[1]).toMatchObject({
      source: 'ci-runner-7', services: [{ id: checkout.external_id, name: checkout.name }], links: [{ href: 'https://ci.example.com/builds/231', text: 'Build 231' }], pinned: false, related_to: [],
    });
    expect(r.body.change_events[0].source).toBeNull();

    const wider = await changesOf(viewer, inc.id, '?hours=12');
    expect(wider.body.change_events.map((c: any) => c.summary)).toEqual(['Feature flag new-cart on', 'Deploy checkout v2.3', 'Migrate payments database']);
    expect(wider.body.change_events[2].services).toEqual([{ id: payments.external_id, name: payments.name }]);
    for (const bad of ['?hours=0', '?hours=49', '?hours=soon', '?since=yesterday']) {
      const b = await changesOf(viewer, inc.id, bad);
      expect(b.status, bad).toBe(400);
      expect(b.body.error.code).toBe('validation_failed');
    }
    expect((await changesOf(viewer, 'INC-999999')).status).toBe(404);

    // Answers are kept briefly: a second view in a row asks PagerDuty nothing more; refresh asks again.
    s.pd.clearRequestLog();
    await changesOf(viewer, inc.id, '?refresh=true');
    await changesOf(viewer, inc.id);
    expect(changeRequests(`/services/${checkout.external_id}/change_events`)).toBe(1);
    // PagerDuty is asked for the window only: UTC to the second, six hours wide.
    const asked = s.pd.requestLog().find((e) => e.path === `/services/${checkout.external_id}/change_events`)!;
    expect(asked.query.since).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(Date.parse(asked.query.until as string) - Date.parse(asked.query.since as string)).toBe(6 * 3_600_000);
    await changesOf(viewer, inc.id, '?refresh=true');
    expect(changeRequests(`/services/${checkout.external_id}/change_events`)).toBe(2);
  });

  it('a linked PagerDuty incident brings the changes of its service and those PagerDuty relates to it', async () => {
    const svc = services[3];
    await sendChange(svc.external_id, 'Rotate TLS certificates', { minutesAgo: 20, source: 'cert-manager' });
    // Older than the 6 hours shown, but PagerDuty relates it to the incident (a recent change on its service).
    await sendChange(svc.external_id, 'Upgrade the load balancer', { minutesAgo: 8 * 60 });
    const pdInc = await s.trigger(svc.external_id, { title: 'TLS handshake failures' });
    const inc = await declare('TLS failures', []);
    const empty = await changesOf(viewer, inc.id);
    expect(empty.body).toMatchObject({ connected: true, services: [], pagerduty_incidents: [], change_events: [], problems: [] });

    const a = await s.owner.post(`/api/v1/incidents/${inc.id}/pagerduty_incidents`, { pagerduty_incident: pdInc.id });
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    const r = await changesOf(viewer, inc.id, '?refresh=true');
    expect(r.body.problems).toEqual([]);
    expect(r.body.services).toEqual([{ id: svc.external_id, name: svc.name, field: null, pagerduty_incident_ids: [pdInc.id] }]);
    const related = [{ pagerduty_incident_id: pdInc.id, number: pdInc.incident_number, reason: 'most_recent' }];
    expect(r.body.change_events.map((c: any) => [c.summary, c.related_to])).toEqual([
      ['Rotate TLS certificates', related],
      ['Upgrade the load balancer', related],
    ]);
    expect(s.pd.requestLog().some((e) => e.path === `/incidents/${pdInc.id}/related_change_events`)).toBe(true);
  });

  it('a responder pins a change to the timeline once; viewers cannot; an unknown change is 404', async () => {
    const [checkout] = services;
    const inc = await declare('Checkout errors, pinned', [checkout.id]);
    const change = (await changesOf(responder, inc.id)).body.change_events.find((c: any) => c.summary === 'Deploy checkout v2.3');
    const pin = (c: Client, id: string) => c.post(`/api/v1/incidents/${inc.id}/pagerduty_changes/${id}/pin`, {});

    expect((await pin(viewer, change.id)).status).toBe(403);
    const first = await pin(responder, change.id);
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body).toMatchObject({ pinned: true, text: `Change on ${checkout.name}: Deploy checkout v2.3 (from ci-runner-7)` });
    const again = await pin(s.owner, change.id);
    expect(again.status).toBe(200);
    expect(again.body.pinned).toBe(false);

    const items = (await viewer.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items.filter((i: any) => i.kind === 'pagerduty.change_pinned');
    expect(items).toHaveLength(1);
    expect(items[0].text).toBe(`Change on ${checkout.name}: Deploy checkout v2.3 (from ci-runner-7)`);
    expect(items[0].payload).toMatchObject({ changeEventId: change.id, services: [{ id: checkout.external_id, name: checkout.name }], links: [{ href: 'https://ci.example.com/builds/231', text: 'Build 231' }] });
    expect(items[0].actor.user.name).toBeTruthy();
    expect(items[0].occurred_at).toBe(new Date(change.timestamp).toISOString());
    expect((await changesOf(viewer, inc.id)).body.change_events.find((c: any) => c.id === change.id).pinned).toBe(true);

    expect((await pin(responder, '01NOSUCHCHANGE000000000000')).status).toBe(404);
    expect((await pin(responder, 'not an id!')).status).toBe(400);
  });

  it('a listing that times out, is rate-limited or refused is said so, tried once, and the other sources still show', async () => {
    const [checkout, payments, , , gone] = services;
    const inc = await declare('Checkout slow', [checkout.id, payments.id]);
    const tuning = s.fb.app.pagerduty.integration.lookupTuning;
    const before = tuning.timeoutMs;
    tuning.timeoutMs = 300;
    try {
      const slowPath = `/services/${checkout.external_id}/change_events`;
      s.pd.faults.set({ pathLatencyMs: { [slowPath]: 3_000 } });
      s.pd.clearRequestLog();
      const r = await changesOf(viewer, inc.id, '?hours=12&refresh=true');
      expect(r.status).toBe(200);
      expect(r.body.problems).toEqual([{ source: { kind: 'service', id: checkout.external_id, name: checkout.name }, reason: 'timeout', message: `PagerDuty did not answer within 300 ms for the service ${checkout.name}. Not retried; refresh to try again.` }]);
      expect(r.body.change_events.map((c: any) => c.summary)).toEqual(['Migrate payments database']);
      expect(changeRequests(slowPath)).toBe(1);
      s.pd.faults.clear();

      // PagerDuty's rate limit: reported at once, not waited out or retried.
      s.pd.faults.set({ rateLimitBurst: 1 });
      s.pd.clearRequestLog();
      const limited = await changesOf(viewer, inc.id, '?refresh=true');
      expect(limited.body.problems.map((p: any) => p.reason)).toEqual(['rate_limited']);
      expect(s.pd.requestLog().filter((e) => e.path.endsWith('/change_events'))).toHaveLength(2);
      s.pd.faults.clear();
    } finally {
      tuning.timeoutMs = before;
      s.pd.faults.clear();
    }

    // A service PagerDuty no longer has (deleted there, still named by the incident).
    const inc2 = await declare('Gone service', [gone.id]);
    s.pd.admin.deleteService(gone.external_id);
    const r = await changesOf(viewer, inc2.id, '?refresh=true');
    expect(r.body.problems).toEqual([{ source: { kind: 'service', id: gone.external_id, name: gone.name }, reason: 'not_found', message: `PagerDuty no longer has the service ${gone.name}.` }]);
    // The rest of the incident page still answers.
    expect((await viewer.get(`/api/v1/incidents/${inc2.id}`)).status).toBe(200);
  });
});
