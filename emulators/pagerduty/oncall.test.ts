/** Who is on call: rotation, restrictions, layers, overrides, the clock, and /oncalls derived from escalation policies. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateSeed, startPagerDutyEmulator, type PagerDutyEmulator } from './index.js';
import { finalEntries, formatInZone, layerEntries, onCallAt, onCallEntries } from './oncall.js';
import { pdCall } from './test-helpers.js';
import type { ScheduleLayerRecord, ScheduleRecord } from './types.js';

const T = (iso: string) => Date.parse(iso);
const H = 3_600_000;
const layer = (over: Partial<ScheduleLayerRecord>): ScheduleLayerRecord => ({
  id: 'PLAYER1', name: 'Layer', start: '2026-03-02T00:00:00Z', end: null, rotation_virtual_start: '2026-03-02T09:00:00Z',
  rotation_turn_length_seconds: 86_400, user_ids: ['ADA', 'BEN', 'CAT'], restrictions: [], ...over,
});
const schedule = (over: Partial<ScheduleRecord>): ScheduleRecord => ({
  id: 'PSCHED1', name: 'S', description: '', time_zone: 'Etc/UTC', team_ids: [], layers: [layer({})], overrides: [], user_ids: [], ...over,
});

describe('on-call computation', () => {
  it('rotates through the ordered users one turn each, handing off exactly at the turn boundary', () => {
    const s = schedule({});
    expect(onCallAt(s, T('2026-03-02T09:00:00Z'))).toBe('ADA');
    expect(onCallAt(s, T('2026-03-03T08:59:59.999Z'))).toBe('ADA');
    expect(onCallAt(s, T('2026-03-03T09:00:00Z'))).toBe('BEN');
    expect(onCallAt(s, T('2026-03-04T09:00:00Z'))).toBe('CAT');
    expect(onCallAt(s, T('2026-03-05T09:00:00Z'))).toBe('ADA');
    // Before the virtual start the rotation runs backwards: the turn before ADA's is CAT's.
    expect(onCallAt(s, T('2026-03-02T08:00:00Z'))).toBe('CAT');
  });

  it('covers nothing before the layer starts or after it ends', () => {
    const s = schedule({ layers: [layer({ start: '2026-03-03T00:00:00Z', end: '2026-03-05T00:00:00Z' })] });
    expect(onCallAt(s, T('2026-03-02T12:00:00Z'))).toBeUndefined();
    expect(onCallAt(s, T('2026-03-03T00:00:00Z'))).toBe('ADA');
    expect(onCallAt(s, T('2026-03-04T23:59:59Z'))).toBe('CAT');
    expect(onCallAt(s, T('2026-03-05T00:00:00Z'))).toBeUndefined();
  });

  it('a daily restriction limits coverage to its window in the schedule time zone (Paris 09:00-17:00 is 08:00-16:00 UTC in March)', () => {
    const s = schedule({ time_zone: 'Europe/Paris', layers: [layer({ restrictions: [{ type: 'daily_restriction', start_time_of_day: '09:00:00', duration_seconds: 8 * 3600 }] })] });
    expect(onCallAt(s, T('2026-03-03T07:59:00Z'))).toBeUndefined();
    expect(onCallAt(s, T('2026-03-03T08:00:00Z'))).toBe('ADA'); // the turn started 2026-03-02T09:00Z
    expect(onCallAt(s, T('2026-03-03T15:59:00Z'))).toBe('BEN');
    expect(onCallAt(s, T('2026-03-03T16:00:00Z'))).toBeUndefined();
    const day = layerEntries(s.layers[0]!, s.time_zone, T('2026-03-03T00:00:00Z'), T('2026-03-04T00:00:00Z'));
    expect(day.map((e) => [formatInZone(e.start, 'Europe/Paris'), formatInZone(e.end, 'Europe/Paris'), e.user_id])).toEqual([
      ['2026-03-03T09:00:00+01:00', '2026-03-03T10:00:00+01:00', 'ADA'],
      ['2026-03-03T10:00:00+01:00', '2026-03-03T17:00:00+01:00', 'BEN'],
    ]);
    // After the switch to summer time the window follows the wall clock: 09:00 Paris is 07:00 UTC.
    expect(onCallAt(s, T('2026-04-01T07:00:00Z'))).toBeDefined();
    expect(onCallAt(s, T('2026-04-01T06:59:00Z'))).toBeUndefined();
  });

  it('a weekly restriction covers from its day and time for its duration', () => {
    const s = schedule({ layers: [layer({ restrictions: [{ type: 'weekly_restriction', start_day_of_week: 6, start_time_of_day: '00:00:00', duration_seconds: 2 * 86_400 }] })] });
    expect(onCallAt(s, T('2026-03-06T23:59:00Z'))).toBeUndefined(); // Friday
    expect(onCallAt(s, T('2026-03-07T00:00:00Z'))).toBeDefined(); // Saturday
    expect(onCallAt(s, T('2026-03-08T23:59:00Z'))).toBeDefined(); // Sunday
    expect(onCallAt(s, T('2026-03-09T00:00:00Z'))).toBeUndefined(); // Monday
  });

  it('a higher layer wins where it has someone; the lower layer shows through its gaps', () => {
    const base = layer({ user_ids: ['ADA'] });
    const top = layer({ id: 'PLAYER2', user_ids: ['ZED'], restrictions: [{ type: 'daily_restriction', start_time_of_day: '12:00:00', duration_seconds: 2 * 3600 }] });
    const s = schedule({ layers: [base, top] });
    expect(onCallAt(s, T('2026-03-03T11:59:00Z'))).toBe('ADA');
    expect(onCallAt(s, T('2026-03-03T12:00:00Z'))).toBe('ZED');
    expect(onCallAt(s, T('2026-03-03T14:00:00Z'))).toBe('ADA');
    // The same layers in the other order: the lower one always has someone, so the top (ADA) hides ZED.
    expect(onCallAt(schedule({ layers: [top, base] }), T('2026-03-03T12:30:00Z'))).toBe('ADA');
    expect(finalEntries(s, T('2026-03-03T10:00:00Z'), T('2026-03-03T16:00:00Z')).map((e) => [e.start, e.end, e.user_id])).toEqual([
      [T('2026-03-03T10:00:00Z'), T('2026-03-03T12:00:00Z'), 'ADA'],
      [T('2026-03-03T12:00:00Z'), T('2026-03-03T14:00:00Z'), 'ZED'],
      [T('2026-03-03T14:00:00Z'), T('2026-03-03T16:00:00Z'), 'ADA'],
    ]);
  });

  it('an override wins over every layer, and a later override over an earlier one', () => {
    const s = schedule({ layers: [layer({}), layer({ id: 'PLAYER2', user_ids: ['ZED'] })], overrides: [
      { id: 'PO1', start: '2026-03-03T18:00:00Z', end: '2026-03-04T06:00:00Z', user_id: 'OLI' },
      { id: 'PO2', start: '2026-03-04T00:00:00Z', end: '2026-03-04T01:00:00Z', user_id: 'PAM' },
    ] });
    expect(onCallAt(s, T('2026-03-03T17:59:00Z'))).toBe('ZED');
    expect(onCallAt(s, T('2026-03-03T18:00:00Z'))).toBe('OLI');
    expect(onCallAt(s, T('2026-03-04T00:30:00Z'))).toBe('PAM');
    expect(onCallAt(s, T('2026-03-04T01:00:00Z'))).toBe('OLI');
    expect(onCallAt(s, T('2026-03-04T06:00:00Z'))).toBe('ZED');
  });

  it('on-call entries keep their full start and end, not the window\'s', () => {
    const s = schedule({});
    const [e] = onCallEntries(s, T('2026-03-03T12:00:00Z'), T('2026-03-03T12:00:00Z'));
    expect(e).toEqual({ start: T('2026-03-03T09:00:00Z'), end: T('2026-03-04T09:00:00Z'), user_id: 'BEN' });
    const week = onCallEntries(s, T('2026-03-03T12:00:00Z'), T('2026-03-06T12:00:00Z'));
    expect(week.map((x) => x.user_id)).toEqual(['BEN', 'CAT', 'ADA', 'BEN']);
  });
});

describe('schedules in the emulator: clock, admin, seeds, /oncalls', () => {
  let pd: PagerDutyEmulator;
  let users: string[];
  beforeAll(async () => { pd = await startPagerDutyEmulator({ seed: 'small', rateLimitPerMinute: false }); });
  afterAll(async () => { await pd?.stop(); });
  beforeEach(async () => {
    await pd.reset();
    users = [...pd.state.users.values()].filter((u) => ['owner', 'admin', 'user'].includes(u.role)).map((u) => u.id);
  });
  const ctl = async (method: string, p: string, body?: unknown) => {
    const r = await fetch(`${pd.baseUrl}/_emulator${p}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : undefined };
  };

  it('the answer of /oncalls changes as the clock moves past a handoff; a direct user target is on call permanently', async () => {
    const [a, b, direct] = users as [string, string, string];
    const s = pd.admin.addSchedule({ name: 'Primary', time_zone: 'Europe/Berlin', layers: [{ start: '2026-02-01T00:00:00Z', rotation_virtual_start: '2026-03-02T09:00:00Z', rotation_turn_length_seconds: 86_400, users: [a, b] }] });
    const p = pd.admin.addEscalationPolicy({ name: 'Checkout', escalation_rules: [{ targets: [{ type: 'schedule', id: s.id }] }, { targets: [{ type: 'user', id: direct }] }] });
    pd.clock.set('2026-03-02T08:59:00Z');
    const at = async () => (await pdCall(pd, 'GET', '/oncalls', { query: { 'escalation_policy_ids[]': [p.id] } })).json.oncalls;
    let oncalls = await at();
    expect(oncalls.map((o: any) => [o.escalation_level, o.user.id, o.schedule?.id ?? null])).toEqual([[1, b, s.id], [2, direct, null]]);
    expect(oncalls[1]).toMatchObject({ start: null, end: null, schedule: null });
    expect(oncalls[0]).toMatchObject({ start: '2026-03-01T09:00:00Z', end: '2026-03-02T09:00:00Z' });
    pd.clock.advance(60_000);
    oncalls = await at();
    expect(oncalls[0].user.id).toBe(a);
    expect(pd.onCall(s.id)).toBe(a);
    // The same through the control API.
    expect((await ctl('PUT', '/clock', { now: '2026-03-03T09:00:00Z' })).json.clock).toMatchObject({ now: '2026-03-03T09:00:00.000Z', frozen: true });
    expect((await at())[0].user.id).toBe(b);
    expect((await ctl('PUT', '/clock', {})).status).toBe(400);
    expect((await ctl('DELETE', '/clock')).status).toBe(204);
    expect(pd.clock.now().getTime()).toBeGreaterThan(Date.parse('2026-12-01T00:00:00Z'));
  });

  it('filters: schedule_ids[] (null for direct targets), user_ids[], since/until ranges, earliest', async () => {
    const [a, b, direct] = users as [string, string, string];
    const s = pd.admin.addSchedule({ name: 'Primary', layers: [{ rotation_virtual_start: '2026-03-02T00:00:00Z', rotation_turn_length_seconds: 86_400, users: [a, b] }] });
    const p = pd.admin.addEscalationPolicy({ name: 'Checkout', escalation_rules: [{ targets: [{ type: 'schedule', id: s.id }, { type: 'user', id: direct }] }] });
    pd.clock.set('2026-03-02T12:00:00Z');
    const q = async (query: Record<string, any>) => (await pdCall(pd, 'GET', '/oncalls', { query: { 'escalation_policy_ids[]': [p.id], ...query } })).json.oncalls
      .map((o: any) => `${o.user.id}@${o.start ?? '-'}`);
    expect(await q({ 'schedule_ids[]': [s.id] })).toEqual([`${a}@2026-03-02T00:00:00Z`]);
    expect(await q({ 'schedule_ids[]': ['null'] })).toEqual([`${direct}@-`]);
    expect(await q({ 'user_ids[]': [b] })).toEqual([]);
    expect(await q({ since: '2026-03-02T12:00:00Z', until: '2026-03-05T12:00:00Z', 'schedule_ids[]': [s.id] })).toEqual([
      `${a}@2026-03-02T00:00:00Z`, `${b}@2026-03-03T00:00:00Z`, `${a}@2026-03-04T00:00:00Z`, `${b}@2026-03-05T00:00:00Z`]);
    expect(await q({ since: '2026-03-02T12:00:00Z', until: '2026-03-05T12:00:00Z', 'schedule_ids[]': [s.id], earliest: true })).toEqual([
      `${a}@2026-03-02T00:00:00Z`, `${b}@2026-03-03T00:00:00Z`]);
    const tooFar = await pdCall(pd, 'GET', '/oncalls', { query: { until: '2026-07-01T00:00:00Z' } });
    expect(tooFar.status).toBe(400);
    expect(tooFar.json.error.code).toBe(2001);
  });

  it('an incident on a policy targeting a schedule pages whoever is on call by the clock, overrides included', async () => {
    const [a, b, c] = users as [string, string, string];
    const s = pd.admin.addSchedule({ name: 'Primary', layers: [{ rotation_virtual_start: '2026-03-02T00:00:00Z', rotation_turn_length_seconds: 86_400, users: [a, b] }] });
    const p = pd.admin.addEscalationPolicy({ name: 'Checkout', escalation_rules: [{ targets: [{ type: 'schedule', id: s.id }] }] });
    const svc = pd.admin.addService({ name: 'checkout-api', escalation_policy_id: p.id });
    pd.clock.set('2026-03-03T12:00:00Z');
    expect(pd.admin.triggerIncident({ service_id: svc.id, title: 'one' }).assignments.map((x) => x.user_id)).toEqual([b]);
    const o = (await ctl('POST', `/schedules/${s.id}/overrides`, { start: '2026-03-03T11:00:00Z', end: '2026-03-03T13:00:00Z', user_id: c })).json.override;
    expect(pd.admin.triggerIncident({ service_id: svc.id, title: 'two' }).assignments.map((x) => x.user_id)).toEqual([c]);
    expect((await ctl('DELETE', `/schedules/${s.id}/overrides/${o.id}`)).status).toBe(204);
    expect(pd.onCall(s.id)).toBe(b);
  });

  it('admin: layers added on top, updated and removed; bad input refused; a deleted schedule answers 404 and pages nobody', async () => {
    const [a, b, c] = users as [string, string, string];
    const created = await ctl('POST', '/schedules', { name: 'Ops', description: 'Ops rota', time_zone: 'America/New_York', team_ids: [[...pd.state.teams.keys()][0]],
      layers: [{ rotation_virtual_start: '2026-03-02T00:00:00Z', rotation_turn_length_seconds: 604_800, users: [a] }] });
    expect(created.status).toBe(201);
    const id = created.json.schedule.id as string;
    pd.clock.set('2026-03-03T12:00:00Z');
    expect(pd.onCall(id)).toBe(a);
    const top = (await ctl('POST', `/schedules/${id}/layers`, { rotation_virtual_start: '2026-03-02T00:00:00Z', rotation_turn_length_seconds: 86_400, users: [b] })).json.layer;
    expect(pd.onCall(id)).toBe(b);
    expect((await ctl('PATCH', `/schedules/${id}/layers/${top.id}`, { users: [c] })).status).toBe(200);
    expect(pd.onCall(id)).toBe(c);
    expect(pd.state.schedules.get(id)!.user_ids).toEqual([a, c]);
    expect((await ctl('DELETE', `/schedules/${id}/layers/${top.id}`)).status).toBe(204);
    expect(pd.onCall(id)).toBe(a);
    for (const bad of [
      { name: 'x', layers: [] },
      { name: 'x', time_zone: 'Mars/Olympus', layers: [{ rotation_virtual_start: '2026-03-02T00:00:00Z', rotation_turn_length_seconds: 86_400, users: [a] }] },
      { name: 'x', layers: [{ rotation_virtual_start: 'soon', rotation_turn_length_seconds: 86_400, users: [a] }] },
      { name: 'x', layers: [{ rotation_virtual_start: '2026-03-02T00:00:00Z', rotation_turn_length_seconds: 86_400, users: ['PNOSUCH'] }] },
      { name: 'x', layers: [{ rotation_virtual_start: '2026-03-02T00:00:00Z', rotation_turn_length_seconds: 86_400, users: [a], restrictions: [{ type: 'daily_restriction', start_time_of_day: '25:00:00', duration_seconds: 60 }] }] },
    ]) expect((await ctl('POST', '/schedules', bad)).status).toBe(400);
    const wire = await pdCall(pd, 'GET', `/schedules/${id}`);
    expect(wire.json.schedule).toMatchObject({ name: 'Ops', description: 'Ops rota', time_zone: 'America/New_York', users: [{ id: a }], teams: [{ type: 'team_reference' }] });
    const p = pd.admin.addEscalationPolicy({ name: 'Ops policy', escalation_rules: [{ targets: [{ type: 'schedule', id }] }] });
    expect((await ctl('DELETE', `/schedules/${id}`)).status).toBe(204);
    const gone = await pdCall(pd, 'GET', `/schedules/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.json.error).toMatchObject({ code: 2100, message: 'Not Found' });
    expect((await pdCall(pd, 'GET', '/oncalls', { query: { 'escalation_policy_ids[]': [p.id] } })).json.oncalls).toEqual([]);
  });

  it('deleting a user takes them off layers and overrides', () => {
    const [a, b] = users as [string, string];
    const s = pd.admin.addSchedule({ name: 'Primary', layers: [{ rotation_virtual_start: '2026-03-02T00:00:00Z', rotation_turn_length_seconds: 86_400, users: [a, b] }] });
    pd.admin.addScheduleOverride(s.id, { start: '2026-03-01T00:00:00Z', end: '2026-04-01T00:00:00Z', user_id: b });
    pd.admin.deleteUser(b);
    expect(pd.state.schedules.get(s.id)!.layers[0]!.user_ids).toEqual([a]);
    expect(pd.state.schedules.get(s.id)!.overrides).toEqual([]);
    expect(pd.onCall(s.id, '2026-03-03T12:00:00Z')).toBe(a);
  });

  it('seeds: schedules have layers, teams and time zones; a saved seed without layers rotates daily as before; the schedule count can be raised alone', async () => {
    const medium = generateSeed('medium');
    expect(medium.schedules).toHaveLength(10);
    expect(medium.schedules.every((s) => s.layers!.length >= 1 && s.time_zone && s.user_ids!.length >= 1)).toBe(true);
    expect(medium.schedules.some((s) => s.layers!.length > 1 && s.layers![1]!.restrictions.length > 0)).toBe(true);
    expect(medium.schedules.some((s) => s.team_ids!.length > 0)).toBe(true);
    const more = generateSeed('medium', undefined, { schedules: 40 });
    expect(more.schedules).toHaveLength(40);
    expect([more.users.length, more.teams.length, more.services.length, more.escalation_policies.length]).toEqual([200, 20, 60, 30]);
    expect(more.users).toEqual(medium.users);
    expect(new Set([...more.schedules.map((s) => s.id), ...more.users.map((u) => u.id), ...more.services.map((s) => s.id)]).size)
      .toBe(more.schedules.length + more.users.length + more.services.length);

    const legacy = generateSeed('none');
    legacy.users.push({ id: 'PUSERA1', name: 'A', email: 'a@example.com', role: 'user', job_title: '', time_zone: 'Etc/UTC', description: null, color: 'red' },
      { id: 'PUSERB1', name: 'B', email: 'b@example.com', role: 'user', job_title: '', time_zone: 'Etc/UTC', description: null, color: 'red' });
    legacy.schedules.push({ id: 'PSCHOLD', name: 'Old', user_ids: ['PUSERA1', 'PUSERB1'] });
    await pd.reset(legacy);
    const day = Math.floor(Date.parse('2026-03-03T12:00:00Z') / 86_400_000);
    expect(pd.onCall('PSCHOLD', '2026-03-03T12:00:00Z')).toBe(['PUSERA1', 'PUSERB1'][day % 2]);
    expect(pd.state.schedules.get('PSCHOLD')).toMatchObject({ time_zone: 'Etc/UTC', description: '', team_ids: [], overrides: [] });

    const big = await startPagerDutyEmulator({ seed: 'small', seedSchedules: 30, rateLimitPerMinute: false });
    try { expect(big.state.schedules.size).toBe(30); expect(big.state.users.size).toBe(12); } finally { await big.stop(); }
  });
});
