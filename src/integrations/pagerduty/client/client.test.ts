import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPagerDutyEmulator, type PagerDutyEmulator } from '../../../../emulators/pagerduty/index.js';
import { MemoryRequestBudget } from './budget.js';
import { encodeQuery, PagerDutyClient } from './client.js';
import { PagerDutyBadRequestError, PagerDutyInvalidKeyError, PagerDutyNetworkError, PagerDutyNotFoundError, PagerDutyRateLimitedError, PagerDutyReadOnlyKeyError, PagerDutyServerError, parseErrorBody } from './errors.js';

/** A fetch that answers from a list of canned responses and records what was asked. */
function fakeFetch(answers: (() => Response | Promise<Response>)[]) {
  const calls: { url: string; init: RequestInit; at: number }[] = [];
  const fn = (async (url: string, init: RequestInit) => {
    calls.push({ url, init, at: Date.now() });
    const next = answers.shift();
    if (!next) throw new Error('no more answers');
    return next();
  }) as unknown as typeof fetch;
  return { fn, calls };
}
const json = (status: number, body: unknown, headers: Record<string, string> = {}) => () => new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, headers });

describe('PagerDuty client', () => {
  let pd: PagerDutyEmulator;
  beforeAll(async () => {
    pd = await startPagerDutyEmulator({ seed: 'medium', rateLimitPerMinute: false });
  });
  afterAll(async () => pd.stop());
  const client = (key = pd.fullAccessKey, extra: Partial<ConstructorParameters<typeof PagerDutyClient>[0]> = {}) => new PagerDutyClient({ apiKey: key, baseUrl: pd.baseUrl, budget: new MemoryRequestBudget(), backoffBaseMs: 5, ...extra });

  it('picks the base URL by region unless overridden', () => {
    const b = new MemoryRequestBudget();
    expect(new PagerDutyClient({ apiKey: 'k', budget: b }).baseUrl).toBe('https://api.pagerduty.com');
    expect(new PagerDutyClient({ apiKey: 'k', region: 'eu', budget: b }).baseUrl).toBe('https://api.eu.pagerduty.com');
    expect(new PagerDutyClient({ apiKey: 'k', region: 'eu', baseUrl: 'http://127.0.0.1:9/', budget: b }).baseUrl).toBe('http://127.0.0.1:9');
    expect(JSON.stringify(new PagerDutyClient({ apiKey: 'secret-key', budget: b }))).not.toContain('secret-key');
  });

  it('encodes include[] and other arrays as repeated bracketed parameters', () => {
    expect(encodeQuery({ 'include[]': ['teams', 'escalation_policies'], team_ids: ['A', 'B'], limit: 100, skip: undefined })).toBe('?include%5B%5D=teams&include%5B%5D=escalation_policies&team_ids%5B%5D=A&team_ids%5B%5D=B&limit=100');
  });

  it('paginates with limit=100 and offset += limit, sending auth and the version header', async () => {
    pd.clearRequestLog();
    const users = await client().list('/users', 'users', { include: ['teams'] });
    expect(users).toHaveLength(pd.state.users.size);
    expect(new Set(users.map((u: any) => u.id)).size).toBe(pd.state.users.size);
    const log = pd.requestLog();
    expect(log.map((e) => [e.query.limit, e.query.offset])).toEqual([['100', '0'], ['100', '100']]);
    expect(log[0]!.query['include[]']).toBe('teams');
    expect(log[0]!.headers.authorization).toBe(`Token token=${pd.fullAccessKey}`);
    expect(log[0]!.headers.accept).toBe('application/vnd.pagerduty+json;version=2');
  });

  it('posts a status update as the From user; a 5xx is not resent (PagerDuty may have taken it), a 429 is', async () => {
    const from = [...pd.state.users.values()].find((u) => u.email === u.email.trim() && ['owner', 'admin', 'user'].includes(u.role))!.email;
    const inc = pd.admin.triggerIncident({ service_id: [...pd.state.services.values()][0]!.id, title: 'Status update client test' });
    const sent = await client().createStatusUpdate(inc.id, 'Rolled back.', { from });
    expect(sent).toMatchObject({ message: 'Rolled back.', sender: { type: 'user_reference' } });
    expect(pd.state.incidents.get(inc.id)!.status_updates!.map((u) => u.id)).toEqual([sent.id]);

    const failing = fakeFetch([json(500, { error: { message: 'Internal Server Error', code: 2000 } }), json(200, { status_update: { id: 'P2' } })]);
    await expect(client(pd.fullAccessKey, { fetch: failing.fn }).createStatusUpdate(inc.id, 'x', { from })).rejects.toBeInstanceOf(PagerDutyServerError);
    expect(failing.calls).toHaveLength(1);
    expect(JSON.parse(String(failing.calls[0]!.init.body))).toEqual({ message: 'x' });
    expect((failing.calls[0]!.init.headers as Record<string, string>).from).toBe(from);

    const throttled = fakeFetch([json(429, { error: { message: 'Rate Limit Exceeded', code: 2020 } }, { 'ratelimit-reset': '0' }), json(200, { status_update: { id: 'P3', message: 'y' } })]);
    expect((await client(pd.fullAccessKey, { fetch: throttled.fn }).createStatusUpdate(inc.id, 'y', { from })).id).toBe('P3');
    expect(throttled.calls).toHaveLength(2);
  });

  it('sends From on writes, and tells read-only from full-access keys without changing anything', async () => {
    const email = [...pd.state.users.values()][0]!.email.trim();
    pd.clearRequestLog();
    expect(await client().probeWriteAccess(email)).toBe('full');
    expect(await client(pd.readOnlyKey).probeWriteAccess(email)).toBe('read_only');
    const writes = pd.requestLog();
    expect(writes.map((e) => [e.method, e.path, e.from, e.status])).toEqual([
      ['PUT', '/incidents/PFIREBREAKPROBE', email, 404],
      ['PUT', '/incidents/PFIREBREAKPROBE', email, 403],
    ]);
  });

  it('maps statuses to typed errors', async () => {
    await expect(client('wrong').get('/users')).rejects.toBeInstanceOf(PagerDutyInvalidKeyError);
    await expect(client().get('/users/PNOPE00')).rejects.toBeInstanceOf(PagerDutyNotFoundError);
    await expect(client(pd.readOnlyKey).put('/incidents/PX', {}, { from: 'a@b.c' })).rejects.toBeInstanceOf(PagerDutyReadOnlyKeyError);
    const bad = (await client().get('/users', { limit: 'x' }).catch((e: unknown) => e)) as PagerDutyBadRequestError;
    expect(bad).toBeInstanceOf(PagerDutyBadRequestError);
    expect(bad.code).toBe(2001);
  });

  it('parses odd error bodies defensively', () => {
    expect(parseErrorBody('{"error":{"message":"Invalid Input Provided","code":2001,"errors":["Limit must be an integer."]}}')).toEqual({ message: 'Invalid Input Provided', code: 2001, details: ['Limit must be an integer.'] });
    expect(parseErrorBody('{"error":"Because this request was made using an account-level access token"}').message).toMatch(/account-level/);
    expect(parseErrorBody('{"error":{"message":"x","code":"2100","errors":"just a string"}}')).toEqual({ message: 'x', code: 2100, details: ['just a string'] });
    expect(parseErrorBody('<html>Bad gateway</html>')).toEqual({ message: '<html>Bad gateway</html>', code: null, details: [] });
    expect(parseErrorBody('')).toEqual({ message: 'no body', code: null, details: [] });
    expect(parseErrorBody('[1,2]').code).toBeNull();
  });

  it('on 429 waits exactly as long as ratelimit-reset says, then continues', async () => {
    const f = fakeFetch([json(429, { error: { message: 'Rate Limit Exceeded', code: 2020 } }, { 'ratelimit-reset': '1', 'ratelimit-remaining': '0' }), json(200, { ok: true })]);
    const c = new PagerDutyClient({ apiKey: 'k', baseUrl: 'http://x', budget: new MemoryRequestBudget(), fetch: f.fn });
    expect(await c.get('/ping')).toEqual({ ok: true });
    const waited = f.calls[1]!.at - f.calls[0]!.at;
    expect(waited).toBeGreaterThanOrEqual(990);
    expect(waited).toBeLessThan(1300);
  });

  it('gives up on 429 after its retries with a typed error', async () => {
    const f = fakeFetch([json(429, 'Too many', { 'ratelimit-reset': '0' }), json(429, 'Too many', { 'ratelimit-reset': '0' })]);
    const c = new PagerDutyClient({ apiKey: 'k', baseUrl: 'http://x', budget: new MemoryRequestBudget(), fetch: f.fn, maxRateLimitRetries: 1 });
    await expect(c.get('/ping')).rejects.toBeInstanceOf(PagerDutyRateLimitedError);
  });

  it('retries 5xx and dropped connections with jittered backoff, GETs only', async () => {
    const f = fakeFetch([json(502, '<html>bad gateway</html>'), () => Promise.reject(new TypeError('fetch failed')), json(200, { ok: 1 })]);
    const c = new PagerDutyClient({ apiKey: 'k', baseUrl: 'http://x', budget: new MemoryRequestBudget(), fetch: f.fn, backoffBaseMs: 5 });
    expect(await c.get('/ping')).toEqual({ ok: 1 });
    expect(f.calls).toHaveLength(3);
    const g = fakeFetch([json(500, { error: { message: 'Internal', code: 2000 } })]);
    const w = new PagerDutyClient({ apiKey: 'k', baseUrl: 'http://x', budget: new MemoryRequestBudget(), fetch: g.fn, backoffBaseMs: 5 });
    await expect(w.post('/incidents', {}, { from: 'bot@example.com' })).rejects.toBeInstanceOf(PagerDutyServerError);
    expect(g.calls).toHaveLength(1);
    expect((g.calls[0]!.init.headers as Record<string, string>).from).toBe('bot@example.com');
  });

  it('times out a hung request and reports a network error after its retries', async () => {
    const hang = () => new Promise<Response>(() => {});
    const f = fakeFetch([hang, hang]);
    const c = new PagerDutyClient({ apiKey: 'k', baseUrl: 'http://x', budget: new MemoryRequestBudget(), fetch: ((url: string, init: RequestInit) => {
      void f.fn(url, init);
      return new Promise((_, reject) => init.signal!.addEventListener('abort', () => reject(init.signal!.reason)));
    }) as unknown as typeof fetch, timeoutMs: 50, maxRetries: 1, backoffBaseMs: 1 });
    const err = (await c.get('/ping').catch((e: unknown) => e)) as PagerDutyNetworkError;
    expect(err).toBeInstanceOf(PagerDutyNetworkError);
    expect(err.message).toMatch(/timed out after 50 ms/);
    expect(f.calls).toHaveLength(2);
  });

  it('against the emulator: bursts of 429 and 5xx still return every page exactly once', async () => {
    pd.faults.set({ rateLimitBurst: 2, errorRate5xx: 0.3, dropConnectionRate: 0.1 });
    try {
      const services = await client().list('/services', 'services');
      expect(services.map((s: any) => s.id).sort()).toEqual([...pd.state.services.keys()].sort());
    } finally {
      pd.faults.clear();
    }
  });
});

describe('request budget', () => {
  it('never lets more than the limit through in a minute: burst then a steady rate', async () => {
    const b = new MemoryRequestBudget({ limitPerMinute: 120 });
    const t0 = Date.now();
    for (let i = 0; i < 15; i++) await b.acquire('interactive');
    // capacity is 15 for 120/min; the 16th waits for the refill ((120-15)/60 = 1.75 per second)
    expect(Date.now() - t0).toBeLessThan(100);
    await b.acquire('interactive');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
  });

  it('serves interactive calls before waiting background ones, and keeps a reserve for them', async () => {
    const b = new MemoryRequestBudget({ limitPerMinute: 120 });
    const order: string[] = [];
    const bg = Array.from({ length: 20 }, (_, i) => b.acquire('background').then(() => order.push(`bg${i}`)));
    await new Promise((r) => setTimeout(r, 20));
    const t = Date.now();
    await b.acquire('interactive');
    order.push('page');
    // The page did not wait behind the queued sync requests.
    expect(Date.now() - t).toBeLessThan(50);
    expect(order.indexOf('page')).toBeLessThan(15);
    void Promise.all(bg);
  });

  it('pauses everyone until the reset after a 429', async () => {
    const b = new MemoryRequestBudget();
    b.observe({ status: 429, remaining: 0, resetMs: 300 });
    const t = Date.now();
    await b.acquire('interactive');
    expect(Date.now() - t).toBeGreaterThanOrEqual(280);
  });
});

describe('PagerDuty client pagination with filters', () => {
  it('advances the offset when the list is filtered (query options do not replace limit/offset)', async () => {
    const pd = await startPagerDutyEmulator({ seed: 'medium', rateLimitPerMinute: false });
    try {
      const c = new PagerDutyClient({ apiKey: pd.fullAccessKey, baseUrl: pd.baseUrl, budget: new MemoryRequestBudget() });
      const teams = [...pd.state.teams.keys()];
      const users = await c.list<{ id: string }>('/users', 'users', { query: { 'team_ids[]': teams } });
      const members = new Set([...pd.state.teams.values()].flatMap((t) => t.members.map((m) => m.user_id)));
      expect(new Set(users.map((u) => u.id))).toEqual(members);
      expect(users.length).toBe(members.size);
      expect(pd.requestLog().map((e) => e.query.offset)).toEqual(['0', '100']);
    } finally {
      await pd.stop();
    }
  });
});
