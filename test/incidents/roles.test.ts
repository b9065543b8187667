import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anonymousClient, apiKeyClient, backends, ownerClient, startTestFirebreak, userClient, type Client, type TestFirebreak } from '../helpers.js';
import { openLive } from '../live/sse.js';

// Incident roles through the REST API: an admin defines Communications, Scribe and Operations; responders give
// them to people on an incident; the incident JSON shows them by name in rank order, the timeline tells each
// change. Every refusal leaves nothing written.

describe.each(backends)('incident roles on %s', (backend) => {
  let fb: TestFirebreak;
  let owner: Client;
  let responder: { client: Client; user: any };
  let viewer: { client: Client; user: any };
  let admin: { client: Client; user: any };

  const db = () => fb.app.database.db;
  const roleRows = () => db().selectFrom('incident_roles').selectAll().orderBy('id').execute();
  const assignmentRows = () => db().selectFrom('incident_role_assignments').selectAll().orderBy('role_id').execute();
  const audit = () => db().selectFrom('audit_events').select(['action', 'target_id', 'details']).where('target_kind', '=', 'incident_role').orderBy('id').execute();
  const define = async (body: Record<string, unknown>) => {
    const r = await owner.post('/api/v1/incident_roles', body);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.incident_role;
  };
  const put = (c: Client, incident: string, role: string, body: unknown) => c.request('PUT', `/api/v1/incidents/${incident}/roles/${role}`, body);

  beforeAll(async () => {
    fb = await startTestFirebreak(backend);
    owner = await ownerClient(fb);
    responder = await userClient(fb, owner, 'responder', `resp-${backend}@example.com`);
    viewer = await userClient(fb, owner, 'viewer', `view-${backend}@example.com`);
    admin = await userClient(fb, owner, 'admin', `adm-${backend}@example.com`);
    await owner.patch(`/api/v1/users/${responder.user.id}`, { name: 'Rosa Responder' });
  });
  afterAll(async () => fb?.destroy());

  it('an admin defines roles with descriptions, in rank order; each change is audited and reaches the settings pages', async () => {
    const live = await openLive(fb.baseUrl, { cookie: (owner as any).cookie });
    try {
      const comms = await define({ name: 'Communications', description: 'Keeps stakeholders informed' });
      await live.waitFor((e) => e.data.topic === 'settings', 3000);
      const scribe = await define({ name: ' Scribe ', description: 'Keeps the timeline' });
      const ops = await define({ name: 'Operations', description: 'Hands on keyboard', rank: 1 });
      expect(scribe.name).toBe('Scribe');
      const list = (await responder.client.get('/api/v1/incident_roles')).body.incident_roles;
      expect(list.map((r: any) => [r.name, r.rank])).toEqual([['Operations', 1], ['Communications', 2], ['Scribe', 3]]);
      // Reorder: Communications first, the others shift.
      const moved = await admin.client.patch(`/api/v1/incident_roles/${comms.id}`, { rank: 1, description: 'Tells the world' });
      expect(moved.status, JSON.stringify(moved.body)).toBe(200);
      expect(moved.body.incident_role).toMatchObject({ name: 'Communications', rank: 1, description: 'Tells the world' });
      const after = (await owner.get('/api/v1/incident_roles')).body.incident_roles;
      expect(after.map((r: any) => r.name)).toEqual(['Communications', 'Operations', 'Scribe']);
      expect(after.map((r: any) => r.rank)).toEqual([1, 2, 3]);
      const entries = await audit();
      expect(entries.map((e) => e.action)).toEqual(['incident_role.created', 'incident_role.created', 'incident_role.created', 'incident_role.updated']);
      expect(JSON.parse(entries[3]!.details)).toMatchObject({ name: 'Communications', changed: { rank: { from: 2, to: 1 }, description: { to: 'Tells the world' } } });
      expect(ops.id).toBeTruthy();
    } finally {
      live.close();
    }
  });

  it('names are unique whatever their case, and "Lead" is built in: 409 with a clear message, nothing written', async () => {
    const before = await roleRows();
    const auditBefore = (await audit()).length;
    const dup = await owner.post('/api/v1/incident_roles', { name: 'communications' });
    expect(dup.status).toBe(409);
    expect(dup.body.error).toMatchObject({ code: 'role_name_taken' });
    expect(dup.body.error.message).toBe('A role named "Communications" already exists; role names are unique (whatever their case).');
    const lead = await owner.post('/api/v1/incident_roles', { name: 'LEAD' });
    expect(lead.status).toBe(409);
    expect(lead.body.error.message).toMatch(/Lead is built in/);
    const scribe = (await owner.get('/api/v1/incident_roles')).body.incident_roles.find((r: any) => r.name === 'Scribe');
    const rename = await owner.patch(`/api/v1/incident_roles/${scribe.id}`, { name: 'OPERATIONS' });
    expect(rename.status).toBe(409);
    expect(rename.body.error.message).toMatch(/"Operations" already exists/);
    expect(await roleRows()).toEqual(before);
    expect((await audit()).length).toBe(auditBefore);
  });

  it('two admins adding the same name at once: one role, the others the same 409', async () => {
    const answers = await Promise.all(['Bridge', 'bridge', 'BRIDGE', 'Bridge'].map((name, i) => (i % 2 ? admin.client : owner).post('/api/v1/incident_roles', { name })));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409]);
    for (const a of answers.filter((x) => x.status === 409)) expect(a.body.error.code).toBe('role_name_taken');
    const live = (await roleRows()).filter((r) => r.deleted_at === null && r.name.toLowerCase() === 'bridge');
    expect(live).toHaveLength(1);
    expect((await owner.del(`/api/v1/incident_roles/${live[0]!.id}`)).status).toBe(204);
  });

  it('refuses bad input in the one error shape, writing nothing', async () => {
    const before = await roleRows();
    const cases: [string, string, unknown, number, string][] = [
      ['POST', '/api/v1/incident_roles', { name: '' }, 400, 'name'],
      ['POST', '/api/v1/incident_roles', { name: '   ' }, 400, 'name'],
      ['POST', '/api/v1/incident_roles', { name: 'X'.repeat(61) }, 400, 'name'],
      ['POST', '/api/v1/incident_roles', { name: 'Liaison', colour: 'red' }, 400, ''],
      ['POST', '/api/v1/incident_roles', { name: 'Liaison', rank: 0 }, 400, 'rank'],
      ['POST', '/api/v1/incident_roles', { name: 'Liaison', description: 'd'.repeat(1001) }, 400, 'description'],
      ['PATCH', `/api/v1/incident_roles/${'x'.repeat(65)}`, { name: 'Y' }, 400, 'id'],
      ['PATCH', '/api/v1/incident_roles/nope', { name: 'Y' }, 404, ''],
      ['DELETE', '/api/v1/incident_roles/nope', undefined, 404, ''],
    ];
    for (const [method, path, body, status, field] of cases) {
      const r = await owner.request(method, path, body);
      expect(r.status, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`).toBe(status);
      expect(Object.keys(r.body.error).sort()).toEqual(['code', 'details', 'message']);
      if (field) expect(JSON.stringify(r.body.error.details)).toContain(field);
    }
    expect(await roleRows()).toEqual(before);
  });

  it('keeps roles in their lane: viewers and responders cannot change definitions, viewers cannot assign, API keys by scope', async () => {
    const before = await roleRows();
    const scribe = (await owner.get('/api/v1/incident_roles')).body.incident_roles.find((r: any) => r.name === 'Scribe');
    for (const c of [responder.client, viewer.client]) {
      expect((await c.post('/api/v1/incident_roles', { name: 'Liaison' })).status).toBe(403);
      expect((await c.patch(`/api/v1/incident_roles/${scribe.id}`, { name: 'Liaison' })).status).toBe(403);
      expect((await c.del(`/api/v1/incident_roles/${scribe.id}`)).status).toBe(403);
      expect((await c.get('/api/v1/incident_roles')).status).toBe(200);
    }
    const inc = (await owner.post('/api/v1/incidents', { name: 'Lane check' })).body.incident;
    const refused = await put(viewer.client, inc.id, scribe.id, { user_id: viewer.user.id });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/you can see incidents but not change them/);
    const key = await owner.post('/api/v1/api_keys', { name: 'roles-writer', scopes: ['write'] });
    const writerKey = apiKeyClient(fb.baseUrl, key.body.token);
    expect((await writerKey.post('/api/v1/incident_roles', { name: 'Liaison' })).status).toBe(403);
    const viaKey = await writerKey.request('PUT', `/api/v1/incidents/${inc.reference}/roles/${scribe.id}`, { user_id: responder.user.id });
    expect(viaKey.status, JSON.stringify(viaKey.body)).toBe(200);
    expect(await roleRows()).toEqual(before);
    expect((await fb.app.database.db.selectFrom('incident_role_assignments').select('user_id').where('incident_id', '=', inc.id).execute()).map((r) => r.user_id)).toEqual([responder.user.id]);
    expect((await put(anonymousClient(fb.baseUrl), inc.id, scribe.id, { user_id: null })).status).toBe(401);
  });

  it('a responder gives roles on an incident: JSON shows lead and roles by name in rank order, one timeline item per change', async () => {
    const roles = (await owner.get('/api/v1/incident_roles')).body.incident_roles;
    const [comms, ops, scribe] = roles;
    const inc = (await responder.client.post('/api/v1/incidents', { name: 'Checkout is down' })).body.incident;
    expect(inc.lead).toEqual({ id: responder.user.id, name: 'Rosa Responder' });
    expect(inc.roles).toEqual(roles.map((r: any) => ({ role: { id: r.id, name: r.name, description: r.description }, user: null })));

    const live = await openLive(fb.baseUrl, { cookie: (owner as any).cookie });
    try {
      const given = await put(responder.client, inc.id, comms.id, { user_id: responder.user.id });
      expect(given.status, JSON.stringify(given.body)).toBe(200);
      expect(given.body.incident.roles[0]).toEqual({ role: { id: comms.id, name: 'Communications', description: 'Tells the world' }, user: { id: responder.user.id, name: 'Rosa Responder' } });
      await live.waitFor((e) => e.data.topic === 'incident' && e.data.incident_id === inc.id, 3000);
      await live.waitFor((e) => e.data.topic === 'timeline' && e.data.incident_id === inc.id, 3000);
    } finally {
      live.close();
    }
    const owners = (await owner.get('/api/v1/session')).body.user;
    expect((await put(responder.client, inc.reference, comms.id, { user_id: owners.id })).status).toBe(200);
    // The same person again changes nothing (no item).
    expect((await put(responder.client, inc.id, comms.id, { user_id: owners.id })).status).toBe(200);
    expect((await put(responder.client, inc.id, scribe.id, { user_id: responder.user.id })).status).toBe(200);
    const cleared = await put(responder.client, inc.id, comms.id, { user_id: null });
    expect(cleared.body.incident.roles.map((r: any) => [r.role.name, r.user?.name ?? null])).toEqual([
      ['Communications', null],
      ['Operations', null],
      ['Scribe', 'Rosa Responder'],
    ]);
    const items = (await owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items.filter((i: any) => i.kind === 'role_assigned');
    expect(items.map((i: any) => i.text)).toEqual([
      'Communications given to Rosa Responder',
      `Communications changed from Rosa Responder to ${owners.name}`,
      'Scribe given to Rosa Responder',
      `Communications removed (was ${owners.name})`,
    ]);
    expect(items[1].payload).toMatchObject({ roleId: comms.id, role: 'Communications', userId: owners.id, user: owners.name, previousUserId: responder.user.id, previous: 'Rosa Responder' });
    expect(items[0].actor.user).toEqual({ id: responder.user.id, name: 'Rosa Responder' });
    const events = await db().selectFrom('domain_events').select(['payload']).where('type', '=', 'incident.role_assigned').where('incident_id', '=', inc.id).execute();
    expect(events).toHaveLength(4);
    expect(ops).toBeDefined();
  });

  it('refuses a person who is not a user, an unknown or deleted role, and a merged or canceled incident: clear 4xx, nothing written', async () => {
    const roles = (await owner.get('/api/v1/incident_roles')).body.incident_roles;
    const ops = roles.find((r: any) => r.name === 'Operations');
    const inc = (await owner.post('/api/v1/incidents', { name: 'Bad input' })).body.incident;
    const snapshot = async () => ({
      a: await assignmentRows(),
      t: (await db().selectFrom('timeline_items').select('id').where('incident_id', '=', inc.id).execute()).length,
      e: (await db().selectFrom('domain_events').select('id').where('incident_id', '=', inc.id).execute()).length,
      u: (await db().selectFrom('incidents').select('updated_at').where('id', '=', inc.id).executeTakeFirstOrThrow()).updated_at,
    });
    const before = await snapshot();

    const notUser = await put(owner, inc.id, ops.id, { user_id: 'someone-else' });
    expect(notUser.status).toBe(400);
    expect(notUser.body.error.message).toBe('Unknown user "someone-else": Operations can only be given to a Firebreak user.');
    expect(notUser.body.error.details.fields).toEqual([{ path: 'user_id', message: 'must be the id of a Firebreak user' }]);

    const noRole = await put(owner, inc.id, 'no-such-role', { user_id: responder.user.id });
    expect(noRole.status).toBe(400);
    expect(noRole.body.error.details.fields[0].path).toBe('role_id');
    expect(noRole.body.error.details.fields[0].message).toMatch(/one of: Communications \(.*\), Operations/);

    for (const [body, what] of [[{}, 'user_id'], [{ user_id: 42 }, 'user_id'], [{ user_id: '' }, 'user_id'], [{ user_id: 'x'.repeat(65) }, 'user_id'], [{ user_id: null, extra: 1 }, '']] as const) {
      const r = await put(owner, inc.id, ops.id, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(r.body.error.details)).toContain(what);
    }
    expect((await put(owner, 'INC-999999', ops.id, { user_id: null })).status).toBe(404);
    expect((await put(owner, inc.id, ops.id, 'not json')).status).toBe(400);
    expect(await snapshot()).toEqual(before);

    // A merged incident: refused, naming where to go.
    const target = (await owner.post('/api/v1/incidents', { name: 'Merge target' })).body.incident;
    expect((await owner.post(`/api/v1/incidents/${inc.id}/actions/merge`, { into: target.reference })).status).toBe(200);
    const merged = await snapshot();
    const onMerged = await put(owner, inc.id, ops.id, { user_id: responder.user.id });
    expect(onMerged.status).toBe(409);
    expect(onMerged.body.error).toMatchObject({ code: 'roles_closed' });
    expect(onMerged.body.error.message).toMatch(new RegExp(`${inc.reference} is Merged; its roles can no longer change. It was merged into ${target.reference}: assign roles there.`));
    expect(await snapshot()).toEqual(merged);

    // A closed incident still takes roles (the write-up records who did what).
    const closed = (await owner.post('/api/v1/incidents', { name: 'Closed one' })).body.incident;
    expect((await owner.post(`/api/v1/incidents/${closed.id}/actions/close`, {})).status).toBe(200);
    expect((await put(owner, closed.id, ops.id, { user_id: responder.user.id })).status).toBe(200);
    const canceled = (await owner.post('/api/v1/incidents', { name: 'Oops' })).body.incident;
    expect((await owner.post(`/api/v1/incidents/${canceled.id}/actions/cancel`, {})).status).toBe(200);
    expect((await put(owner, canceled.id, ops.id, { user_id: responder.user.id })).status).toBe(409);
  });

  it('deleting a role takes it out of the list and the pickers; incidents where someone held it keep showing it', async () => {
    const liaison = await define({ name: 'Liaison', description: 'Talks to the vendor' });
    const inc = (await owner.post('/api/v1/incidents', { name: 'Vendor outage' })).body.incident;
    expect((await put(owner, inc.id, liaison.id, { user_id: responder.user.id })).status).toBe(200);
    const other = (await owner.post('/api/v1/incidents', { name: 'Unrelated' })).body.incident;

    expect((await admin.client.del(`/api/v1/incident_roles/${liaison.id}`)).status).toBe(204);
    const list = (await owner.get('/api/v1/incident_roles')).body.incident_roles;
    expect(list.map((r: any) => r.name)).not.toContain('Liaison');
    expect(list.map((r: any) => r.rank)).toEqual(list.map((_: unknown, i: number) => i + 1));
    const all = (await owner.get('/api/v1/incident_roles?include_deleted=true')).body.incident_roles;
    expect(all[all.length - 1]).toMatchObject({ name: 'Liaison', deleted_at: expect.any(String) });

    const held = (await owner.get(`/api/v1/incidents/${inc.id}`)).body.incident.roles;
    expect(held[held.length - 1]).toEqual({ role: { id: liaison.id, name: 'Liaison', description: 'Talks to the vendor' }, user: { id: responder.user.id, name: 'Rosa Responder' } });
    expect((await owner.get(`/api/v1/incidents/${other.id}`)).body.incident.roles.map((r: any) => r.role.name)).not.toContain('Liaison');

    const give = await put(owner, other.id, liaison.id, { user_id: responder.user.id });
    expect(give.status).toBe(400);
    expect(give.body.error.message).toBe('The role Liaison was deleted; it can no longer be given.');
    expect((await owner.patch(`/api/v1/incident_roles/${liaison.id}`, { name: 'Back' })).status).toBe(409);
    expect((await owner.del(`/api/v1/incident_roles/${liaison.id}`)).status).toBe(404);
    // Its name is free again.
    await define({ name: 'liaison' });
    // Two deletions in one millisecond have ids in no particular order: compared by name.
    const deleted = (await audit()).filter((e) => e.action === 'incident_role.deleted').map((e) => JSON.parse(e.details) as { name: string; incidents: number });
    // Whichever of the concurrent "Bridge" spellings won its race (the test above) is the one deleted: compared without case.
    expect(deleted.map((d) => ({ ...d, name: d.name.toLowerCase() })).sort((a, b) => a.name.localeCompare(b.name))).toEqual([{ name: 'bridge', incidents: 0 }, { name: 'liaison', incidents: 1 }]);
  });

  it('the incidents list carries roles too', async () => {
    const r = await owner.get('/api/v1/incidents?q=Checkout');
    expect(r.status).toBe(200);
    const inc = r.body.incidents.find((i: any) => i.name === 'Checkout is down');
    expect(inc.roles.find((x: any) => x.role.name === 'Scribe').user.name).toBe('Rosa Responder');
  });
});
