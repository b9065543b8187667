import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, ownerClient, startTestFirebreak, userClient, type Client, type TestFirebreak } from '../helpers.js';

// Posting incident updates through the API: each update is its own record and one timeline item, carries the
// status, severity and summary it leaves, follows the status rules, and is refused on an incident that is over.
// Update reminders' setting: read for everyone, changed by admins, validated.

describe.each(backends)('incident updates API (%s)', (backend) => {
  let fb: TestFirebreak;
  let owner: Client;
  let viewer: Client;
  let responder: Client;
  const count = async (table: 'incident_updates' | 'timeline_items', incidentId: string) =>
    Number((await fb.app.database.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).where('incident_id', '=', incidentId).executeTakeFirstOrThrow()).n);
  const declare = async (name: string, extra: Record<string, unknown> = {}) => (await owner.post('/api/v1/incidents', { name, ...extra })).body.incident;

  beforeAll(async () => {
    fb = await startTestFirebreak(backend);
    owner = await ownerClient(fb);
    viewer = (await userClient(fb, owner, 'viewer')).client;
    responder = (await userClient(fb, owner, 'responder')).client;
  });
  afterAll(async () => fb?.destroy());

  it('a responder posts an update that moves status and severity: one record, one timeline item, names everywhere', async () => {
    const inc = await declare('Checkout errors', { severity_id: 'sev-minor', summary: 'Some card payments fail' });
    const before = await count('timeline_items', inc.id);
    const r = await responder.post(`/api/v1/incidents/${inc.reference}/updates`, { message: 'Rolled back deploy 4812', status_id: 'fixing', severity_id: 'sev-major', summary: 'Card payments fail after deploy 4812' });
    expect(r.status).toBe(201);
    expect(r.body.update).toMatchObject({ incident_id: inc.id, message: 'Rolled back deploy 4812', status: { id: 'fixing', name: 'Fixing', category: 'live' }, severity: { id: 'sev-major', name: 'Major' }, summary: 'Card payments fail after deploy 4812', deliveries: [] });
    expect(r.body.update.actor.user.name).toBe('A responder');

    const after = (await owner.get(`/api/v1/incidents/${inc.id}`)).body.incident;
    expect(after.status.name).toBe('Fixing');
    expect(after.severity.name).toBe('Major');
    expect(after.summary).toBe('Card payments fail after deploy 4812');

    const items = (await owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items as any[];
    expect(items).toHaveLength(before + 1);
    const item = items[items.length - 1];
    expect(item.kind).toBe('update_posted');
    expect(item.text).toBe('Update: Rolled back deploy 4812 (Fixing, Major)');
    expect(item.payload).toMatchObject({ updateId: r.body.update.id, message: 'Rolled back deploy 4812', status: 'Fixing', severity: 'Major', summary: 'Card payments fail after deploy 4812', fromStatus: 'Investigating', fromSeverity: 'Minor' });

    // The domain event, in the contract's shape.
    const ev = await fb.app.database.db.selectFrom('domain_events').selectAll().where('incident_id', '=', inc.id).where('type', '=', 'incident.update_posted').execute();
    expect(ev).toHaveLength(1);
    expect(JSON.parse(String(ev[0]!.payload)).data).toEqual({ updateId: r.body.update.id, message: 'Rolled back deploy 4812', status: 'Fixing', severity: 'Major', summary: 'Card payments fail after deploy 4812' });
  });

  it('lists updates newest first, with the actor, status and severity names', async () => {
    const inc = await declare('Search slow');
    await owner.post(`/api/v1/incidents/${inc.id}/updates`, { message: 'Looking at the index' });
    await owner.post(`/api/v1/incidents/${inc.id}/updates`, { message: 'Reindexing', status_id: 'monitoring' });
    const list = await viewer.get(`/api/v1/incidents/${inc.id}/updates`);
    expect(list.status).toBe(200);
    expect(list.body.updates.map((u: any) => u.message)).toEqual(['Reindexing', 'Looking at the index']);
    expect(list.body.updates[0]).toMatchObject({ status: { name: 'Monitoring' }, summary: null, actor: { kind: 'user', user: { name: 'Owner' } } });
    expect(list.body.updates[1]).toMatchObject({ status: { name: 'Investigating' }, summary: null });
  });

  it('the same idempotency key returns the same update, also when sent at once', async () => {
    const inc = await declare('Double submit');
    const body = { message: 'Paged the database team', idempotency_key: `upd-${backend}-1` };
    const results = await Promise.all([1, 2, 3, 4].map(() => owner.post(`/api/v1/incidents/${inc.id}/updates`, body)));
    expect(new Set(results.map((r) => r.body.update.id)).size).toBe(1);
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 200)).toHaveLength(3);
    const header = await owner.request('POST', `/api/v1/incidents/${inc.id}/updates`, { message: 'Paged the database team' }, { 'idempotency-key': `upd-${backend}-1` });
    expect(header.status).toBe(200);
    expect(header.body.update.id).toBe(results[0]!.body.update.id);
    expect(await count('incident_updates', inc.id)).toBe(1);
    // The key belongs to that incident.
    const other = await declare('Other');
    const reused = await owner.post(`/api/v1/incidents/${other.id}/updates`, body);
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe('idempotency_key_reused');
  });

  it('refuses bad input with the one error shape and writes nothing', async () => {
    const inc = await declare('Bad input');
    const items = await count('timeline_items', inc.id);
    const cases: [unknown, number, string][] = [
      [{}, 400, 'message'],
      [{ message: '   ' }, 400, 'message'],
      [{ message: 'x'.repeat(3001) }, 400, 'message'],
      [{ message: 'ok', extra: 1 }, 400, ''],
      [{ message: 'ok', severity_id: 'sev-nope' }, 400, 'severity_id'],
      [{ message: 'ok', status_id: 'nope' }, 400, 'status_id'],
      [{ message: 'ok', status_id: 'x'.repeat(65) }, 400, 'status_id'],
      [{ message: 'ok', status_id: 'triage' }, 409, ''],
    ];
    for (const [body, status, path] of cases) {
      const r = await owner.post(`/api/v1/incidents/${inc.id}/updates`, body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      expect(Object.keys(r.body.error).sort()).toEqual(['code', 'details', 'message']);
      if (path) expect(JSON.stringify(r.body.error)).toContain(path);
    }
    const illegal = await owner.post(`/api/v1/incidents/${inc.id}/updates`, { message: 'ok', status_id: 'triage' });
    expect(illegal.body.error.code).toBe('illegal_transition');
    expect((await owner.get(`/api/v1/incidents/${'x'.repeat(65)}/updates`)).status).toBe(400);
    expect((await owner.get('/api/v1/incidents/INC-99999/updates')).status).toBe(404);
    expect((await owner.post('/api/v1/incidents/INC-99999/updates', { message: 'ok' })).status).toBe(404);
    expect(await count('incident_updates', inc.id)).toBe(0);
    expect(await count('timeline_items', inc.id)).toBe(items);
    expect((await owner.get(`/api/v1/incidents/${inc.id}`)).body.incident.status.name).toBe('Investigating');
  });

  it('a viewer cannot post; an unsigned caller cannot read', async () => {
    const inc = await declare('Roles');
    const r = await viewer.post(`/api/v1/incidents/${inc.id}/updates`, { message: 'I see it' });
    expect(r.status).toBe(403);
    expect((await fetch(`${fb.baseUrl}/api/v1/incidents/${inc.id}/updates`)).status).toBe(401);
    expect(await count('incident_updates', inc.id)).toBe(0);
  });

  it('an update on a closed, declined or canceled incident is refused with 409 and nothing is written', async () => {
    const closed = await declare('Closed one');
    await owner.post(`/api/v1/incidents/${closed.id}/actions/close`, {});
    const declined = await declare('Declined one', { triage: true });
    await owner.post(`/api/v1/incidents/${declined.id}/actions/decline`, {});
    const canceled = await declare('Canceled one');
    await owner.post(`/api/v1/incidents/${canceled.id}/actions/cancel`, {});
    for (const inc of [closed, declined, canceled]) {
      const items = await count('timeline_items', inc.id);
      const r = await owner.post(`/api/v1/incidents/${inc.id}/updates`, { message: 'Still here', severity_id: 'sev-critical' });
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('incident_not_open');
      expect(r.body.error.message).toContain(inc.reference);
      expect(await count('incident_updates', inc.id)).toBe(0);
      expect(await count('timeline_items', inc.id)).toBe(items);
      expect((await owner.get(`/api/v1/incidents/${inc.id}`)).body.incident.severity.id).toBe(inc.severity.id);
    }
  });

  it('status moves follow the status rules: a triage incident cannot be closed by an update', async () => {
    const inc = await declare('Maybe broken', { triage: true });
    const r = await owner.post(`/api/v1/incidents/${inc.id}/updates`, { message: 'False alarm', status_id: 'closed' });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('illegal_transition');
    expect(r.body.error.message).toContain('it is Triage');
    expect(await count('incident_updates', inc.id)).toBe(0);
    expect((await owner.get(`/api/v1/incidents/${inc.id}`)).body.incident.status.name).toBe('Triage');
    // Accepting through an update is allowed (triage → live).
    const ok = await owner.post(`/api/v1/incidents/${inc.id}/updates`, { message: 'It is real', status_id: 'investigating' });
    expect(ok.status).toBe(201);
    expect((await owner.get(`/api/v1/incidents/${inc.id}`)).body.incident.status.name).toBe('Investigating');
  });

  it('an update may close the incident (the same rules as closing)', async () => {
    const inc = await declare('Close by update');
    const r = await owner.post(`/api/v1/incidents/${inc.id}/updates`, { message: 'All clear', status_id: 'closed' });
    expect(r.status).toBe(201);
    expect((await owner.get(`/api/v1/incidents/${inc.id}`)).body.incident.status.category).toBe('closed');
    const timestamps = (await owner.get(`/api/v1/incidents/${inc.id}`)).body.incident.status_timestamps.map((t: any) => t.status.name);
    expect(timestamps).toContain('Closed');
  });

  it('reminder settings: defaults for every severity, admins change them, bad input is refused', async () => {
    const got = await viewer.get('/api/v1/settings/update_reminders');
    expect(got.status).toBe(200);
    expect(got.body.update_reminders.enabled).toBe(true);
    expect(got.body.update_reminders.severities.map((s: any) => [s.name, s.minutes])).toEqual([['Critical', 30], ['Major', 30], ['Minor', 30], ['Low', 30]]);
    expect((await responder.request('PUT', '/api/v1/settings/update_reminders', { enabled: false })).status).toBe(403);
    for (const body of [{ enabled: true, minutes_by_severity: { 'sev-critical': 4 } }, { enabled: true, minutes_by_severity: { 'sev-critical': 1441 } }, { enabled: true, minutes_by_severity: { 'sev-nope': 10 } }, { enabled: 'yes' }, { enabled: true, other: 1 }]) {
      const r = await owner.request('PUT', '/api/v1/settings/update_reminders', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe('validation_failed');
    }
    expect((await owner.get('/api/v1/settings/update_reminders')).body.update_reminders.minutes_by_severity['sev-critical']).toBe(30);
    const put = await owner.request('PUT', '/api/v1/settings/update_reminders', { enabled: true, minutes_by_severity: { 'sev-critical': 15, 'sev-low': 120 } });
    expect(put.status).toBe(200);
    expect(put.body.update_reminders.minutes_by_severity).toEqual({ 'sev-critical': 15, 'sev-major': 30, 'sev-minor': 30, 'sev-low': 120 });
    const off = await owner.request('PUT', '/api/v1/settings/update_reminders', { enabled: false });
    expect(off.body.update_reminders).toMatchObject({ enabled: false, minutes_by_severity: { 'sev-critical': 15, 'sev-low': 120 } });
    await owner.request('PUT', '/api/v1/settings/update_reminders', { enabled: true });
  });
});
