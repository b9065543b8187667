import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, ownerClient, startTestFirebreak, userClient, type Client, type TestFirebreak } from '../helpers.js';

// Incident timestamps through the HTTP API on each backend: set by status changes, edited by people with a
// reason (a person's value wins), refused out of order naming both with nothing written, and the durations
// derived from them.

const ago = (min: number) => new Date(Date.now() - min * 60_000).toISOString();
const byKind = (inc: any) => Object.fromEntries(inc.timestamps.map((t: any) => [t.kind, t]));

describe.each(backends)('incident timestamps on %s', (backend) => {
  let fb: TestFirebreak;
  let owner: Client;

  beforeAll(async () => {
    fb = await startTestFirebreak(backend);
    owner = await ownerClient(fb);
  });
  afterAll(async () => fb?.destroy());

  const declare = async (body: Record<string, unknown> = {}) => (await owner.post('/api/v1/incidents', { name: 'Checkout is failing', ...body })).body.incident;
  const get = async (id: string) => (await owner.get(`/api/v1/incidents/${id}`)).body.incident;
  const move = async (id: string, status_id: string) => {
    const r = await owner.post(`/api/v1/incidents/${id}/actions/status`, { status_id });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body.incident;
  };
  const put = (c: Client, id: string, kind: string, body: unknown) => c.request('PUT', `/api/v1/incidents/${id}/timestamps/${kind}`, body);
  const firstAt = (inc: any, statusId: string) => inc.status_timestamps.find((s: any) => s.status.id === statusId)?.first_at;
  const events = async (id: string) =>
    (await fb.app.database.db.selectFrom('domain_events').select('type').where('incident_id', '=', id).where('type', '=', 'incident.timestamp_changed').execute()).length;

  it('declaring, Fixing, Monitoring and closing set reported, impact started, identified, fixed and resolved', async () => {
    const inc = await declare();
    let t = byKind(inc);
    expect(t.reported).toMatchObject({ at: inc.created_at, source: 'auto', label: 'Reported' });
    expect(t.impact_started).toMatchObject({ at: inc.created_at, source: 'auto', label: 'Impact started' });
    for (const k of ['identified', 'fixed', 'resolved', 'pagerduty_first_triggered', 'pagerduty_first_acknowledged']) expect(t[k].at, k).toBeNull();
    expect(inc.durations).toEqual({ time_to_acknowledge_seconds: null, time_to_identify_seconds: null, time_to_fix_seconds: null, time_to_resolve_seconds: null, impact_duration_seconds: null });

    const fixing = await move(inc.id, 'fixing');
    t = byKind(fixing);
    expect(t.identified).toMatchObject({ at: firstAt(fixing, 'fixing'), source: 'auto' });
    expect(t.fixed.at).toBeNull();
    // Back to Investigating and to Fixing again: identified stays the first time.
    await move(inc.id, 'investigating');
    const again = await move(inc.id, 'fixing');
    expect(byKind(again).identified.at).toBe(t.identified.at);

    const monitoring = await move(inc.id, 'monitoring');
    expect(byKind(monitoring).fixed).toMatchObject({ at: firstAt(monitoring, 'monitoring'), source: 'auto' });
    const closed = (await owner.post(`/api/v1/incidents/${inc.id}/actions/close`)).body.incident;
    t = byKind(closed);
    expect(t.resolved).toMatchObject({ at: firstAt(closed, 'closed'), source: 'auto' });
    expect(closed.durations.time_to_resolve_seconds).toBeGreaterThanOrEqual(0);
    expect(closed.durations.time_to_fix_seconds).toBeGreaterThanOrEqual(0);
    expect(closed.durations.impact_duration_seconds).toBe(closed.durations.time_to_fix_seconds);

    // Reopened: no longer resolved; closed again: resolved again.
    const reopened = await move(inc.id, 'investigating');
    expect(byKind(reopened).resolved.at).toBeNull();
    expect(byKind(reopened).fixed.at).toBe(t.fixed.at);
    const closedAgain = (await owner.post(`/api/v1/incidents/${inc.id}/actions/close`)).body.incident;
    expect(byKind(closedAgain).resolved.at).toBe(closedAgain.status_timestamps.find((s: any) => s.status.id === 'closed').last_at);
  });

  it('an update that moves the status sets the same timestamps as the status action', async () => {
    const inc = await declare();
    const post = async (body: Record<string, unknown>) => {
      const r = await owner.post(`/api/v1/incidents/${inc.id}/updates`, body);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    };
    await post({ message: 'Found the bad deploy', status_id: 'fixing' });
    let now = await get(inc.id);
    expect(byKind(now).identified).toMatchObject({ at: firstAt(now, 'fixing'), source: 'auto' });
    await post({ message: 'Rolled back; watching', status_id: 'monitoring' });
    now = await get(inc.id);
    expect(byKind(now).fixed).toMatchObject({ at: firstAt(now, 'monitoring'), source: 'auto' });
    expect(now.durations.time_to_fix_seconds).toBeGreaterThanOrEqual(0);
  });

  it('closing straight from Investigating sets identified and fixed too', async () => {
    const inc = await declare();
    const closed = (await owner.post(`/api/v1/incidents/${inc.id}/actions/close`)).body.incident;
    const t = byKind(closed);
    expect(t.identified.at).toBe(t.resolved.at);
    expect(t.fixed.at).toBe(t.resolved.at);
  });

  it('a triage incident is reported when declared; accepting starts impact at that time and ends time to acknowledge', async () => {
    const inc = await declare({ triage: true });
    expect(byKind(inc).reported.at).toBe(inc.created_at);
    expect(byKind(inc).impact_started.at).toBeNull();
    await new Promise((r) => setTimeout(r, 1100));
    const accepted = (await owner.post(`/api/v1/incidents/${inc.id}/actions/accept`)).body.incident;
    expect(byKind(accepted).impact_started).toMatchObject({ at: inc.created_at, source: 'auto' });
    const acceptedAt = firstAt(accepted, 'investigating');
    expect(accepted.durations.time_to_acknowledge_seconds).toBe(Math.round((Date.parse(acceptedAt) - Date.parse(inc.created_at)) / 1000));
    expect(accepted.durations.time_to_acknowledge_seconds).toBeGreaterThanOrEqual(1);
  });

  it("a person's time wins over the automatic one, with its reason, who set it, a timeline item and an event", async () => {
    const inc = await declare();
    const at = ago(30);
    // Identified cannot be before impact started (the declaration, until a person says otherwise).
    expect((await put(owner, inc.id, 'identified', { at, reason: 'x' })).body.error.message).toMatch(/^Identified \(.+\) cannot be before Impact started \(.+\)\.$/);
    expect((await put(owner, inc.id, 'impact_started', { at: ago(60), reason: 'Errors began before anyone noticed' })).status).toBe(200);
    const r = await put(owner, inc.id, 'identified', { at, reason: 'The bad deploy was spotted in the channel' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(byKind(r.body).identified).toMatchObject({ at, source: 'user', reason: 'The bad deploy was spotted in the channel', set_by: { name: 'Owner' } });
    // Moving to Fixing would set identified; the person's time stays.
    const fixing = await move(inc.id, 'fixing');
    expect(byKind(fixing).identified).toMatchObject({ at, source: 'user' });
    const items = (await owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items.filter((i: any) => i.kind === 'timestamp_changed');
    expect(items).toHaveLength(2);
    expect(items[1].text).toBe(`Identified set to ${at.replace('T', ' ').slice(0, 16)} UTC: The bad deploy was spotted in the channel`);
    expect(items[1].actor.user.name).toBe('Owner');
    expect(await events(inc.id)).toBe(2);
    // The same time and reason again changes nothing.
    await put(owner, inc.id, 'identified', { at, reason: 'The bad deploy was spotted in the channel' });
    expect(await events(inc.id)).toBe(2);
    // Changing it says from and to.
    const later = ago(20);
    await put(owner, inc.id, 'identified', { at: later, reason: 'It was the second deploy' });
    const texts = (await owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items.filter((i: any) => i.kind === 'timestamp_changed').map((i: any) => i.text);
    expect(texts[2]).toBe(`Identified changed from ${at.replace('T', ' ').slice(0, 16)} UTC to ${later.replace('T', ' ').slice(0, 16)} UTC: It was the second deploy`);
    // GET …/timestamps answers the same as the incident.
    const g = await owner.get(`/api/v1/incidents/${inc.reference}/timestamps`);
    expect(g.status).toBe(200);
    expect(g.body.timestamps).toEqual((await get(inc.id)).timestamps);
  });

  it('out of order is refused with a message naming both, and nothing is written', async () => {
    const inc = await declare();
    const identified = ago(50);
    await put(owner, inc.id, 'impact_started', { at: ago(90), reason: 'Alerts began' });
    await put(owner, inc.id, 'identified', { at: identified, reason: 'Found it' });
    const before = await get(inc.id);
    const itemsBefore = (await owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items.length;
    const eventsBefore = await events(inc.id);

    const fixedAt = ago(58);
    const r = await put(owner, inc.id, 'fixed', { at: fixedAt, reason: 'Rolled back' });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('timestamps_out_of_order');
    expect(r.body.error.message).toBe(`Fixed (${fixedAt.slice(11, 16)} UTC) cannot be before Identified (${identified.slice(11, 16)} UTC).`);
    expect(r.body.error.details).toMatchObject({ kind: 'fixed', conflicts_with: 'identified' });
    // From the other side: impact started after identified.
    const r2 = await put(owner, inc.id, 'impact_started', { at: ago(40), reason: 'x' });
    expect(r2.status).toBe(400);
    expect(r2.body.error.message).toMatch(/^Impact started \(.+ UTC\) cannot be after Identified \(.+ UTC\)\.$/);
    // Reported after resolved.
    const closed = (await owner.post(`/api/v1/incidents/${inc.id}/actions/close`)).body.incident;
    const r3 = await put(owner, inc.id, 'resolved', { at: ago(95), reason: 'x' });
    expect(r3.body.error.message).toMatch(/^Resolved \(.+\) cannot be before Impact started \(.+\)\.$/);

    // In the future, PagerDuty's, bad bodies: all refused.
    const future = await put(owner, inc.id, 'reported', { at: new Date(Date.now() + 3_600_000).toISOString(), reason: 'x' });
    expect(future.status).toBe(400);
    expect(future.body.error.message).toBe('Reported cannot be in the future.');
    const pd = await put(owner, inc.id, 'pagerduty_first_acknowledged', { at: ago(5), reason: 'x' });
    expect(pd.status).toBe(400);
    expect(pd.body.error.details.fields[0].path).toBe('kind');
    for (const body of [{ at: ago(5) }, { at: ago(5), reason: '' }, { at: ago(5), reason: 'x'.repeat(501) }, { at: 'yesterday', reason: 'x' }, { at: ago(5), reason: 'x', source: 'auto' }, { at: '2026-12-06T10:00:00', reason: 'x' }]) {
      const b = await put(owner, inc.id, 'fixed', body);
      expect(b.status, JSON.stringify(body)).toBe(400);
      expect(Object.keys(b.body.error).sort()).toEqual(['code', 'details', 'message']);
    }
    expect((await put(owner, inc.id, 'started', { at: ago(5), reason: 'x' })).status).toBe(400);
    expect((await put(owner, 'INC-999999', 'fixed', { at: ago(5), reason: 'x' })).status).toBe(404);

    const after = await get(inc.id);
    expect(after.timestamps).toEqual(closed.timestamps);
    expect(before.timestamps.filter((t: any) => t.kind !== 'identified' && t.kind !== 'fixed' && t.kind !== 'resolved')).toEqual(after.timestamps.filter((t: any) => t.kind !== 'identified' && t.kind !== 'fixed' && t.kind !== 'resolved'));
    // Only the close's own item was added since.
    expect((await owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items).toHaveLength(itemsBefore + 1);
    expect(await events(inc.id)).toBe(eventsBefore);
  });

  it('a viewer cannot edit a timestamp (403, nothing written); a responder can', async () => {
    const inc = await declare();
    const viewer = await userClient(fb, owner, 'viewer');
    const r = await put(viewer.client, inc.id, 'identified', { at: ago(5), reason: 'x' });
    expect(r.status).toBe(403);
    expect(byKind(await get(inc.id)).identified.at).toBeNull();
    expect((await viewer.client.get(`/api/v1/incidents/${inc.id}/timestamps`)).status).toBe(200);
    const responder = await userClient(fb, owner, 'responder');
    const ok = await put(responder.client, inc.id, 'identified', { at: new Date().toISOString(), reason: 'Seen in the logs' });
    expect(ok.status).toBe(200);
    expect(byKind(ok.body).identified.set_by).toEqual({ id: responder.user.id, name: responder.user.name });
  });

  it('durations are derived from the timestamps, and clearing fixed measures impact to resolved', async () => {
    const inc = await declare();
    const base = Date.now() - 3 * 3_600_000;
    const at = (min: number) => new Date(base + min * 60_000).toISOString();
    for (const [kind, min] of [['impact_started', -10], ['reported', 0], ['identified', 30], ['fixed', 72], ['resolved', 120]] as const) {
      const r = await put(owner, inc.id, kind, { at: at(min), reason: 'From the postmortem' });
      expect(r.status, `${kind} ${JSON.stringify(r.body)}`).toBe(200);
    }
    let d = (await get(inc.id)).durations;
    expect(d).toEqual({ time_to_acknowledge_seconds: null, time_to_identify_seconds: 1800, time_to_fix_seconds: 72 * 60, time_to_resolve_seconds: 7200, impact_duration_seconds: 82 * 60 });
    const cleared = await put(owner, inc.id, 'fixed', { at: null, reason: 'We never had a fix before the rollback finished' });
    expect(cleared.status).toBe(200);
    expect(byKind(cleared.body).fixed).toMatchObject({ at: null, source: null });
    d = cleared.body.durations;
    expect(d.time_to_fix_seconds).toBeNull();
    expect(d.impact_duration_seconds).toBe(130 * 60);
    const items = (await owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items.filter((i: any) => i.kind === 'timestamp_changed');
    expect(items.at(-1).text).toBe(`Fixed cleared (was ${at(72).replace('T', ' ').slice(0, 16)} UTC): We never had a fix before the rollback finished`);
  });
});
