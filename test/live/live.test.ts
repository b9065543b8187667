import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anonymousClient, apiKeyClient, backends, freshPostgresDatabase, ownerClient, postgresAvailable, startTestFirebreak, userClient, type Client, type TestFirebreak } from '../helpers.js';
import { openLive, type SseStream } from './sse.js';

// The live feed end to end: a change made through the REST API reaches a server-sent events client within a
// second; a dropped connection resumes with Last-Event-ID and misses nothing; a change is announced only when its
// transaction commits; the stream is authorised like the REST API and ends when the server shuts down.

const streams: SseStream[] = [];
async function live(baseUrl: string, headers: Record<string, string>) {
  const s = await openLive(baseUrl, headers);
  streams.push(s);
  return s;
}
const ofIncident = (topic: string, id: string) => (e: { data: { topic: string; incident_id: string | null } }) => e.data.topic === topic && e.data.incident_id === id;

describe.each(backends)('live feed on %s', (backend) => {
  let fb: TestFirebreak;
  let owner: Client & { cookie: string };
  let viewerCookie: string;

  beforeAll(async () => {
    fb = await startTestFirebreak(backend);
    owner = await ownerClient(fb);
    viewerCookie = (await userClient(fb, owner, 'viewer')).client.cookie;
  });
  afterAll(async () => {
    for (const s of streams.splice(0)) s.close();
    await fb?.destroy();
  });

  it('a viewer receives an API change within a second, as incident, list and timeline changes', async () => {
    const inc = (await owner.post('/api/v1/incidents', { name: 'Checkout is down' })).body.incident;
    const s = await live(fb.baseUrl, { cookie: viewerCookie });
    expect(s.status).toBe(200);
    const started = Date.now();
    expect((await owner.patch(`/api/v1/incidents/${inc.reference}`, { name: 'Checkout is down for everyone' })).status).toBe(200);
    const e = await s.waitFor(ofIncident('incident', inc.id), 1000);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(e.event).toBe('change');
    expect(e.id).toMatch(/^\d+$/);
    await s.waitFor((x) => x.data.topic === 'incidents', 1000);
    await owner.post(`/api/v1/incidents/${inc.reference}/timeline/notes`, { text: 'Rolling back the deploy' });
    await s.waitFor(ofIncident('timeline', inc.id), 1000);
    // ids only grow
    const ids = s.events.map((x) => Number(x.id));
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    s.close();
  });

  it('an API key with the read scope is let in; no credentials answer 401 in the one error shape', async () => {
    const token = (await owner.post('/api/v1/api_keys', { name: 'live reader', scopes: ['read'] })).body.token;
    const s = await live(fb.baseUrl, { authorization: `Bearer ${token}` });
    expect(s.status).toBe(200);
    const inc = (await owner.post('/api/v1/incidents', { name: 'Read by a key' })).body.incident;
    await s.waitFor(ofIncident('incident', inc.id));
    s.close();
    expect((await apiKeyClient(fb.baseUrl, token).get('/api/v1/incidents')).status).toBe(200);

    const anon = await openLive(fb.baseUrl);
    expect(anon.status).toBe(401);
    expect(anon.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String), details: null } });
    expect((await anonymousClient(fb.baseUrl).request('GET', '/api/v1/live')).status).toBe(401);
    const wrongKey = await openLive(fb.baseUrl, { authorization: 'Bearer fb_not_a_key' });
    expect(wrongKey.status).toBe(401);
    const badId = await openLive(fb.baseUrl, { cookie: viewerCookie, 'last-event-id': 'yesterday' });
    expect(badId.status).toBe(400);
    expect((badId.body as { error: { code: string } }).error.code).toBe('validation_failed');
  });

  it('a dropped connection resumes with Last-Event-ID and receives every change made while away, once', async () => {
    const first = (await owner.post('/api/v1/incidents', { name: 'Before the drop' })).body.incident;
    const s = await live(fb.baseUrl, { cookie: viewerCookie });
    await owner.post(`/api/v1/incidents/${first.reference}/timeline/notes`, { text: 'seen' });
    await s.waitFor(ofIncident('timeline', first.id));
    const lastSeen = s.lastId()!;
    s.close();

    // While away: changes to three incidents, through the API and from inside Firebreak.
    const away = [];
    for (const name of ['Away one', 'Away two', 'Away three']) away.push((await owner.post('/api/v1/incidents', { name })).body.incident);
    for (const inc of away) await owner.post(`/api/v1/incidents/${inc.reference}/timeline/notes`, { text: 'while you were away' });
    await fb.app.live.touch(null, { topic: 'settings' });

    const resumed = await live(fb.baseUrl, { cookie: viewerCookie, 'last-event-id': lastSeen });
    for (const inc of away) {
      await resumed.waitFor(ofIncident('incident', inc.id));
      await resumed.waitFor(ofIncident('timeline', inc.id));
    }
    await resumed.waitFor((e) => e.data.topic === 'settings');
    // Nothing from before the drop again, and no event twice.
    expect(resumed.events.every((e) => Number(e.id) > Number(lastSeen))).toBe(true);
    expect(new Set(resumed.events.map((e) => e.id)).size).toBe(resumed.events.length);
    expect(resumed.events.some((e) => e.data.incident_id === first.id)).toBe(false);
    resumed.close();
  });

  it('a touch is announced when its transaction commits, and never when it rolls back', async () => {
    const s = await live(fb.baseUrl, { cookie: viewerCookie });
    await expect(
      fb.app.database.db.transaction().execute(async (tx) => {
        await fb.app.live.touch(tx, { topic: 'incident', incidentId: 'rolled-back' });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');

    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const open = fb.app.database.db.transaction().execute(async (tx) => {
      await fb.app.live.touch(tx, { topic: 'incident', incidentId: 'committed' });
      await held;
    });
    try {
      await new Promise((r) => setTimeout(r, 400));
      expect(s.events.some((e) => e.data.incident_id === 'committed')).toBe(false);
    } finally {
      release();
      await open;
    }
    await s.waitFor((e) => e.data.incident_id === 'committed');
    await fb.app.live.touch(null, { topic: 'incident', incidentId: 'after' });
    await s.waitFor((e) => e.data.incident_id === 'after');
    expect(s.events.some((e) => e.data.incident_id === 'rolled-back')).toBe(false);
    s.close();
  });

  it('changes older than the retention are pruned; newer ones are kept', async () => {
    await fb.app.live.touch(null, { topic: 'settings' });
    const before = await fb.app.database.db.selectFrom('live_changes').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(before.n)).toBeGreaterThan(0);
    expect(await fb.app.live.prune(new Date(Date.now() - 60 * 60 * 1000))).toBe(0);
    expect(await fb.app.live.prune(new Date(Date.now() + 1000))).toBe(Number(before.n));
  });
});

describe.each(backends)('live feed shutdown on %s', (backend) => {
  it('open streams end when the server stops, and stopping does not wait for them', async () => {
    const fb = await startTestFirebreak(backend);
    try {
      const owner = await ownerClient(fb);
      const s = await openLive(fb.baseUrl, { cookie: owner.cookie });
      expect(s.status).toBe(200);
      const started = Date.now();
      await fb.stop();
      expect(Date.now() - started).toBeLessThan(1500);
      await s.ended;
    } finally {
      await fb.destroy();
    }
  });
});

describe.runIf(postgresAvailable)('live feed across two processes on PostgreSQL', () => {
  let db: { url: string; drop(): Promise<void> };
  let a: TestFirebreak;
  let b: TestFirebreak;
  let ownerA: Client;
  let cookieB: string;

  beforeAll(async () => {
    db = await freshPostgresDatabase();
    a = await startTestFirebreak('postgres', { pgUrl: db.url });
    ownerA = await ownerClient(a);
    b = await startTestFirebreak('postgres', { pgUrl: db.url, masterKey: a.app.config.masterKey ?? undefined });
    cookieB = (await userClient(a, ownerA, 'viewer')).client.cookie; // sessions live in the shared database
  });
  afterAll(async () => {
    for (const s of streams.splice(0)) s.close();
    await b?.destroy();
    await a?.destroy();
    await db?.drop();
  });

  it('a change made through process A reaches an SSE client of process B within a second', async () => {
    const s = await live(b.baseUrl, { cookie: cookieB });
    expect(s.status).toBe(200);
    const inc = (await ownerA.post('/api/v1/incidents', { name: 'Made on A' })).body.incident;
    const started = Date.now();
    await ownerA.post(`/api/v1/incidents/${inc.reference}/timeline/notes`, { text: 'also from A' });
    await s.waitFor(ofIncident('timeline', inc.id), 1000);
    expect(Date.now() - started).toBeLessThan(1000);
    s.close();
  });

  it('when B loses its LISTEN connection it reconnects and delivers what A changed meanwhile', async () => {
    const s = await live(b.baseUrl, { cookie: cookieB });
    b.app.live.dropListenerConnection();
    const inc = (await ownerA.post('/api/v1/incidents', { name: 'Made while B was deaf' })).body.incident;
    await s.waitFor(ofIncident('incident', inc.id), 3000);
    const later = (await ownerA.post('/api/v1/incidents', { name: 'After B reconnected' })).body.incident;
    await s.waitFor(ofIncident('incident', later.id), 1000);
    s.close();
  });

  it('changes committed out of order in two processes all reach a client, none skipped', async () => {
    const s = await live(b.baseUrl, { cookie: cookieB });
    // A transaction in A touches first but commits last; B's changes commit in between.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const slow = a.app.database.db.transaction().execute(async (tx) => {
      await a.app.live.touch(tx, { topic: 'incident', incidentId: 'slow' });
      await held;
    });
    await new Promise((r) => setTimeout(r, 100));
    await b.app.live.touch(null, { topic: 'incident', incidentId: 'quick' });
    await s.waitFor((e) => e.data.incident_id === 'quick');
    release();
    await slow;
    await s.waitFor((e) => e.data.incident_id === 'slow');
    s.close();
  });
});
