import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anonymousClient, apiKeyClient, backends, ownerClient, startTestFirebreak, userClient, type Client, type TestFirebreak } from '../helpers.js';

// Follow-ups through the REST API on each backend: a responder adds the work an incident leaves behind, changes
// it, lists it across incidents with filters and pages, and downloads it as CSV; bad input and viewers change
// nothing.

describe.each(backends)('follow-ups API on %s', (backend) => {
  let fb: TestFirebreak;
  let owner: Client;
  let responder: Client;
  let viewer: Client;
  let alice: { id: string; name: string; email: string };
  let checkout: any;
  let search: any;

  const count = async () => Number((await fb.app.database.db.selectFrom('follow_ups').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const timelineCount = async (incidentId: string) => (await owner.get(`/api/v1/incidents/${incidentId}/timeline`)).body.items.length;
  const events = async () => (await fb.app.database.db.selectFrom('domain_events').select(['type', 'payload']).where('type', '=', 'incident.follow_up_changed').execute()).map((e) => JSON.parse(e.payload).data);

  beforeAll(async () => {
    fb = await startTestFirebreak(backend);
    owner = await ownerClient(fb);
    const r = await userClient(fb, owner, 'responder');
    responder = r.client;
    const a = await owner.post('/api/v1/users', { name: 'Alice Owner', email: `alice-${backend}@example.com`, role: 'responder' });
    alice = a.body.user;
    viewer = (await userClient(fb, owner, 'viewer')).client;
    checkout = (await owner.post('/api/v1/incidents', { name: 'Checkout is down' })).body.incident;
    search = (await owner.post('/api/v1/incidents', { name: 'Search is slow' })).body.incident;
  });
  afterAll(async () => fb?.destroy());

  it('a responder adds a follow-up: names in the answer, a timeline item and an event in the same change', async () => {
    const before = await timelineCount(checkout.id);
    const r = await responder.post(`/api/v1/incidents/${checkout.reference}/follow_ups`, {
      title: '  Alert on disk usage above 80%  ',
      description: 'db-3 filled up without warning',
      owner_user_id: alice.id,
      priority: 'high',
      link: 'https://tickets.example.com/OPS-12',
    });
    expect(r.status).toBe(201);
    const f = r.body.follow_up;
    expect(f).toMatchObject({
      incident: { id: checkout.id, reference: checkout.reference, name: 'Checkout is down' },
      title: 'Alert on disk usage above 80%',
      description: 'db-3 filled up without warning',
      owner: { id: alice.id, name: 'Alice Owner', email: alice.email },
      priority: 'high',
      status: 'open',
      link: 'https://tickets.example.com/OPS-12',
      source: 'web',
      source_ref: null,
      completed_at: null,
      created_by: { kind: 'user', user: { name: 'A responder' } },
    });
    const items = (await owner.get(`/api/v1/incidents/${checkout.id}/timeline`)).body.items;
    expect(items).toHaveLength(before + 1);
    const item = items.find((i: any) => i.kind === 'follow_up_created');
    expect(item.text).toBe('Follow-up added: "Alert on disk usage above 80%" (owner Alice Owner, high priority)');
    expect(item.actor.user.name).toBe('A responder');
    expect(await events()).toContainEqual({ followUpId: f.id, change: 'created' });

    // Defaults: medium, open, no owner, no link.
    const d = await responder.post(`/api/v1/incidents/${checkout.id}/follow_ups`, { title: 'Write the runbook' });
    expect(d.status).toBe(201);
    expect(d.body.follow_up).toMatchObject({ priority: 'medium', status: 'open', owner: null, link: null, description: '' });
  });

  it('changing status sets and clears completed_at, and the timeline says what changed with names', async () => {
    const f = (await responder.post(`/api/v1/incidents/${checkout.id}/follow_ups`, { title: 'Add a canary for payments' })).body.follow_up;
    const done = await responder.patch(`/api/v1/follow_ups/${f.id}`, { status: 'done', owner_user_id: alice.id });
    expect(done.status).toBe(200);
    expect(done.body.follow_up.status).toBe('done');
    expect(done.body.follow_up.completed_at).toEqual(expect.any(String));
    expect(done.body.follow_up.owner.name).toBe('Alice Owner');
    const items = (await owner.get(`/api/v1/incidents/${checkout.id}/timeline`)).body.items.filter((i: any) => i.kind === 'follow_up_updated');
    expect(items.at(-1).text).toBe('Follow-up "Add a canary for payments": owner none → Alice Owner; status open → done');

    const wont = await responder.patch(`/api/v1/follow_ups/${f.id}`, { status: 'wont_do' });
    expect(wont.body.follow_up.completed_at).toEqual(expect.any(String));
    const reopened = await responder.patch(`/api/v1/follow_ups/${f.id}`, { status: 'open', priority: 'urgent', owner_user_id: null });
    expect(reopened.body.follow_up).toMatchObject({ status: 'open', completed_at: null, priority: 'urgent', owner: null });
    const last = (await owner.get(`/api/v1/incidents/${checkout.id}/timeline`)).body.items.filter((i: any) => i.kind === 'follow_up_updated').at(-1);
    expect(last.text).toBe(`Follow-up "Add a canary for payments": owner Alice Owner → none; priority medium → urgent; status won't do → open`);

    // Nothing to change: no item, no event.
    const tl = await timelineCount(checkout.id);
    const ev = (await events()).length;
    expect((await responder.patch(`/api/v1/follow_ups/${f.id}`, { status: 'open' })).status).toBe(200);
    expect(await timelineCount(checkout.id)).toBe(tl);
    expect((await events()).length).toBe(ev);

    expect((await owner.get(`/api/v1/follow_ups/${f.id}`)).body.follow_up.priority).toBe('urgent');
    const list = (await viewer.get(`/api/v1/incidents/${checkout.reference}/follow_ups`)).body.follow_ups;
    expect(list.map((x: any) => x.title)).toEqual(['Alert on disk usage above 80%', 'Write the runbook', 'Add a canary for payments']);
  });

  it('concurrent changes to one follow-up apply one after the other: each timeline item changes from what the last one left', async () => {
    const f = (await responder.post(`/api/v1/incidents/${search.id}/follow_ups`, { title: 'Race me' })).body.follow_up;
    const statuses = ['done', 'open', 'wont_do', 'open', 'done', 'wont_do', 'open', 'done'];
    const results = await Promise.all(statuses.map((status) => responder.patch(`/api/v1/follow_ups/${f.id}`, { status })));
    expect(results.map((r) => r.status)).toEqual(statuses.map(() => 200));
    const items = ((await owner.get(`/api/v1/incidents/${search.id}/timeline`)).body.items as any[]).filter((i) => i.kind === 'follow_up_updated' && i.payload.followUpId === f.id);
    let current = 'open';
    for (const item of items) {
      const change = item.payload.changes.find((c: any) => c.field === 'status');
      expect(change.from).toBe(current);
      current = change.to;
    }
    expect((await owner.get(`/api/v1/follow_ups/${f.id}`)).body.follow_up.status).toBe(current);
    // Not part of the lists below.
    await fb.app.database.db.deleteFrom('follow_ups').where('id', '=', f.id).execute();
  });

  it('the same Idempotency-Key makes one follow-up, also under concurrency (a double submit)', async () => {
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => responder.request('POST', `/api/v1/incidents/${search.id}/follow_ups`, { title: 'Only once' }, { 'idempotency-key': `once-${backend}` })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.follow_up.id)).size).toBe(1);
    const id = results[0]!.body.follow_up.id;
    const items = ((await owner.get(`/api/v1/incidents/${search.id}/timeline`)).body.items as any[]).filter((i) => i.kind === 'follow_up_created' && i.payload.followUpId === id);
    expect(items).toHaveLength(1);
    expect((await events()).filter((e) => e.followUpId === id)).toHaveLength(1);
    // Another key is another follow-up.
    const other = await responder.request('POST', `/api/v1/incidents/${search.id}/follow_ups`, { title: 'Only once' }, { 'idempotency-key': `twice-${backend}` });
    expect(other.status).toBe(201);
    expect(other.body.follow_up.id).not.toBe(id);
    await fb.app.database.db.deleteFrom('follow_ups').where('id', 'in', [id, other.body.follow_up.id]).execute();
  });

  it('closed incidents take follow-ups; merged and canceled ones answer 409 and nothing is written', async () => {
    const closed = (await owner.post('/api/v1/incidents', { name: 'Login outage' })).body.incident;
    expect((await owner.post(`/api/v1/incidents/${closed.id}/actions/close`, {})).status).toBe(200);
    expect((await responder.post(`/api/v1/incidents/${closed.id}/follow_ups`, { title: 'Retro action: rate-limit logins' })).status).toBe(201);

    const canceled = (await owner.post('/api/v1/incidents', { name: 'Declared by mistake' })).body.incident;
    await owner.post(`/api/v1/incidents/${canceled.id}/actions/cancel`, {});
    const merged = (await owner.post('/api/v1/incidents', { name: 'Checkout again' })).body.incident;
    await owner.post(`/api/v1/incidents/${merged.id}/actions/merge`, { into: checkout.id });
    const n = await count();
    const c = await responder.post(`/api/v1/incidents/${canceled.id}/follow_ups`, { title: 'x' });
    expect(c.status).toBe(409);
    expect(c.body.error.code).toBe('incident_not_open_for_follow_ups');
    expect(c.body.error.message).toContain(canceled.reference);
    const m = await responder.post(`/api/v1/incidents/${merged.id}/follow_ups`, { title: 'x' });
    expect(m.status).toBe(409);
    expect(m.body.error.message).toContain(`add it to ${checkout.reference}`);
    expect(await count()).toBe(n);
  });

  it('bad input is refused with a clear 400 in the one error shape, and nothing is written', async () => {
    const n = await count();
    const tl = await timelineCount(search.id);
    const bad: [unknown, string][] = [
      [{}, 'title'],
      [{ title: '   ' }, 'title'],
      [{ title: 'x'.repeat(201) }, 'title'],
      [{ title: 'ok', description: 'x'.repeat(10_001) }, 'description'],
      [{ title: 'ok', owner_user_id: 'nobody-here' }, 'owner_user_id'],
      [{ title: 'ok', owner_user_id: 'x'.repeat(65) }, 'owner_user_id'],
      [{ title: 'ok', priority: 'p1' }, 'priority'],
      [{ title: 'ok', status: 'closed' }, 'status'],
      [{ title: 'ok', link: 'javascript:alert(1)' }, 'link'],
      [{ title: 'ok', link: 'ftp://files.example.com/x' }, 'link'],
      [{ title: 'ok', link: 'not a url' }, 'link'],
      [{ title: 'ok', incident_id: search.id }, 'incident_id'],
    ];
    for (const [body, field] of bad) {
      const r = await responder.post(`/api/v1/incidents/${search.id}/follow_ups`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(Object.keys(r.body.error).sort()).toEqual(['code', 'details', 'message']);
      expect(JSON.stringify(r.body.error), JSON.stringify(body)).toContain(field);
    }
    const unknownOwner = await responder.post(`/api/v1/incidents/${search.id}/follow_ups`, { title: 'ok', owner_user_id: 'nobody-here' });
    expect(unknownOwner.body.error.message).toContain('"nobody-here"');
    expect((await responder.post('/api/v1/incidents/INC-99999/follow_ups', { title: 'ok' })).status).toBe(404);
    expect((await responder.post(`/api/v1/incidents/${'x'.repeat(65)}/follow_ups`, { title: 'ok' })).status).toBe(400);
    expect((await responder.request('POST', `/api/v1/incidents/${search.id}/follow_ups`, 'title=ok', { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);

    const f = (await owner.get(`/api/v1/incidents/${checkout.id}/follow_ups`)).body.follow_ups[0];
    for (const body of [{ title: '' }, { owner_user_id: 'ghost' }, { status: 'finished' }, { link: 'mailto:a@b.c' }, { colour: 'red' }]) {
      const r = await responder.patch(`/api/v1/follow_ups/${f.id}`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    expect((await owner.get(`/api/v1/follow_ups/${f.id}`)).body.follow_up).toEqual(f);
    expect((await responder.patch('/api/v1/follow_ups/00000000-0000-7000-8000-000000000000', { status: 'done' })).status).toBe(404);
    expect((await owner.get('/api/v1/follow_ups/nope')).status).toBe(404);
    expect(await count()).toBe(n);
    expect(await timelineCount(search.id)).toBe(tl);
  });

  it('viewers read but cannot write; strangers are asked to sign in; API keys write as the API', async () => {
    const n = await count();
    const f = (await owner.get(`/api/v1/incidents/${checkout.id}/follow_ups`)).body.follow_ups[0];
    const post = await viewer.post(`/api/v1/incidents/${checkout.id}/follow_ups`, { title: 'sneaky' });
    expect(post.status).toBe(403);
    expect(post.body.error.message).toContain('viewer');
    expect((await viewer.patch(`/api/v1/follow_ups/${f.id}`, { status: 'done' })).status).toBe(403);
    expect((await owner.get(`/api/v1/follow_ups/${f.id}`)).body.follow_up.status).toBe(f.status);
    expect((await viewer.get('/api/v1/follow_ups')).status).toBe(200);
    expect((await viewer.request('GET', '/api/v1/follow_ups/export.csv')).status).toBe(200);
    const anon = anonymousClient(fb.baseUrl);
    expect((await anon.get('/api/v1/follow_ups')).status).toBe(401);
    expect((await anon.get('/api/v1/follow_ups/export.csv')).status).toBe(401);
    expect(await count()).toBe(n);

    const readKey = apiKeyClient(fb.baseUrl, (await owner.post('/api/v1/api_keys', { name: 'reports', scopes: ['read'] })).body.token);
    expect((await readKey.post(`/api/v1/incidents/${checkout.id}/follow_ups`, { title: 'x' })).status).toBe(403);
    const writeKey = apiKeyClient(fb.baseUrl, (await owner.post('/api/v1/api_keys', { name: 'jira-sync', scopes: ['write'] })).body.token);
    const made = await writeKey.post(`/api/v1/incidents/${search.id}/follow_ups`, { title: 'Tune the search cache', priority: 'low' });
    expect(made.status).toBe(201);
    expect(made.body.follow_up).toMatchObject({ source: 'api', created_by: { kind: 'integration', user: null } });
  });

  it('lists across incidents with filters and keyset pages that never repeat or skip', async () => {
    const all = (await owner.get('/api/v1/follow_ups?limit=100')).body.follow_ups;
    expect(all).toHaveLength(5);
    // newest first
    expect(all.map((f: any) => f.id)).toEqual([...all.map((f: any) => f.id)].sort().reverse());

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await owner.get(`/api/v1/follow_ups?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.follow_ups.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.follow_ups.map((f: any) => f.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(all.map((f: any) => f.id));

    const titles = async (qs: string) => ((await owner.get(`/api/v1/follow_ups?${qs}`)).body.follow_ups as any[]).map((f) => f.title).sort();
    expect(await titles(`incident=${search.reference}`)).toEqual(['Tune the search cache']);
    expect(await titles(`owner_user_id=${alice.id}`)).toEqual(['Alert on disk usage above 80%']);
    expect(await titles('priority=urgent,low')).toEqual(['Add a canary for payments', 'Tune the search cache']);
    expect(await titles('priority=urgent&priority=high')).toEqual(['Add a canary for payments', 'Alert on disk usage above 80%']);
    expect(await titles('q=DISK%2080')).toEqual(['Alert on disk usage above 80%']);
    expect(await titles('q=db-3')).toEqual(['Alert on disk usage above 80%']);
    expect(await titles('q=100%25')).toEqual([]);
    await owner.patch(`/api/v1/follow_ups/${all.find((f: any) => f.title === 'Write the runbook').id}`, { status: 'done' });
    expect(await titles('status=done')).toEqual(['Write the runbook']);
    expect((await titles('status=open,wont_do')).includes('Write the runbook')).toBe(false);

    for (const qs of ['status=closed', 'priority=p1', 'limit=0', 'limit=101', 'cursor=bm9wZQ', 'incident=INC-99999', 'colour=red', `owner_user_id=${'x'.repeat(65)}`]) {
      const r = await owner.get(`/api/v1/follow_ups?${qs}`);
      expect(r.status, qs).toBe(400);
      expect(r.body.error.code).toEqual(expect.any(String));
    }
  });

  it('exports the same filters as CSV, with names not ids, and escapes commas, quotes, new lines and formulas', async () => {
    const tricky = await responder.post(`/api/v1/incidents/${search.id}/follow_ups`, {
      title: '=HYPERLINK("http://evil.example","click"), then "quote"',
      description: 'line one\nline two, with a comma',
      owner_user_id: alice.id,
      priority: 'high',
    });
    expect(tricky.status).toBe(201);
    const r = await owner.request('GET', `/api/v1/follow_ups/export.csv?incident=${search.reference}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(r.headers.get('content-disposition')).toMatch(/^attachment; filename="follow-ups-\d{4}-\d{2}-\d{2}\.csv"$/);
    const text = r.body as string;
    const lines = text.split('\n');
    expect(lines[0]).toBe('Incident,Incident name,Title,Status,Priority,Owner,Owner email,Link,Description,Created by,Created at,Completed at,Source');
    // Newest first: the tricky one, then the one the API key made.
    expect(text).toContain(`${search.reference},Search is slow,"'=HYPERLINK(""http://evil.example"",""click""), then ""quote""",Open,high,Alice Owner,${alice.email},,"line one\nline two, with a comma",A responder,`);
    expect(text).toContain(`${search.reference},Search is slow,Tune the search cache,Open,low,,,,,integration,`);
    expect(text).not.toContain(search.id);
    expect(text).not.toContain(alice.id);
    // Only that incident's rows (the tricky row spans two lines).
    expect(text.trim().split('\n')).toHaveLength(1 + 2 + 1);

    const done = (await owner.request('GET', '/api/v1/follow_ups/export.csv?status=done')).body as string;
    expect(done.trim().split('\n').slice(1).map((l) => l.split(',')[2])).toEqual(['Write the runbook']);
    expect(done).toContain(',Done,');
    expect((await owner.request('GET', '/api/v1/follow_ups/export.csv?status=nope')).status).toBe(400);
  });
});
