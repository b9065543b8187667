import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteOptions } from 'fastify';
import { registeredRoutes } from '../src/platform/http/server.js';
import { accessOf } from '../src/users/auth.js';
import { anonymousClient, apiKeyClient, ownerClient, startTestFirebreak, userClient, type Client, type TestFirebreak } from './helpers.js';

// Who you are is checked before what you sent: on every route the server registers, no credentials answer 401
// and a role or key scope that may not do it answers 403, even when the params, query or body are invalid.
// The routes come from the server itself (every route as registered, hidden ones included), so a route added
// later is covered without touching this file.

// Routes outside /api/v1 that are open on purpose, or authenticate by other means (signatures, one-time links).
// A new one must be added here deliberately, or the last test fails.
const openRoutes = new Set([
  'GET /',
  'GET /*',
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /api/openapi.json',
  'GET /auth/login',
  'POST /auth/logout',
  'GET /auth/sso/start',
  'GET /auth/sso/callback',
  'GET /auth/sso/status',
  'POST /slack/events',
  'POST /webhooks/pagerduty',
  'POST /webhooks/pagerduty/accounts/:account',
]);
const isDocsRoute = (url: string) => url === '/api/docs' || url.startsWith('/api/docs/');

interface Case {
  method: string;
  url: string;
  need: 'read' | 'write' | 'admin' | null;
  path: string;
  body: unknown;
  validates: boolean;
}

const methodsOf = (r: RouteOptions) => ([] as string[]).concat(r.method).filter((m) => m !== 'HEAD');

/** A request to this route that its schemas refuse: blank over-long ids, an unknown query key, a body that is not an object. */
function invalidRequest(r: RouteOptions, method: string): Case {
  const schema = (r.schema ?? {}) as Record<string, unknown>;
  // 80 spaces: too long for a 64-character id, and empty once trimmed for the rest
  let path = r.url.replace(/:[A-Za-z_]+/g, '%20'.repeat(80));
  if (schema.querystring) path += '?__not_a_parameter__=1&limit=-1';
  const hasBody = method === 'POST' || method === 'PUT' || method === 'PATCH';
  return {
    method,
    url: r.url,
    need: accessOf(r),
    path,
    body: hasBody ? ['not', 'an', 'object'] : undefined,
    validates: !!(schema.querystring || schema.params || schema.body),
  };
}

const expectErrorShape = (res: { status: number; body: any }, status: number, code: string, what: string) => {
  expect({ what, status: res.status, code: res.body?.error?.code }).toEqual({ what, status, code });
  expect(res.body).toEqual({ error: { code, message: expect.any(String), details: null } });
};

describe('authentication and authorisation come before validation, on every route', () => {
  let fb: TestFirebreak;
  let owner: Client;
  let anon: Client;
  let viewer: Client;
  let responder: Client;
  let readKey: Client;
  let adminKey: Client;
  let cases: Case[];

  beforeAll(async () => {
    fb = await startTestFirebreak('sqlite', { logLevel: 'warn' });
    owner = await ownerClient(fb);
    anon = anonymousClient(fb.baseUrl);
    viewer = (await userClient(fb, owner, 'viewer')).client;
    responder = (await userClient(fb, owner, 'responder')).client;
    const rk = await owner.post('/api/v1/api_keys', { name: 'reader', scopes: ['read'] });
    const ak = await owner.post('/api/v1/api_keys', { name: 'automation', scopes: ['admin'] });
    readKey = apiKeyClient(fb.baseUrl, rk.body.token);
    adminKey = apiKeyClient(fb.baseUrl, ak.body.token);
    cases = registeredRoutes(fb.app.http)
      .filter((r) => r.url.startsWith('/api/v1/'))
      .flatMap((r) => methodsOf(r).map((m) => invalidRequest(r, m)));
  });
  afterAll(async () => fb?.destroy());

  it('finds every API route, each with a declared guard', () => {
    expect(cases.length).toBeGreaterThan(60);
    expect(cases.filter((c) => c.method !== 'GET').length).toBeGreaterThan(40);
    expect(cases.filter((c) => c.need === null).map((c) => `${c.method} ${c.url}`)).toEqual([]);
    expect(cases.some((c) => c.url === '/api/v1/integrations/pagerduty/escalation_options')).toBe(true);
  });

  it('the requests below are really invalid: a signed-in owner gets 400 validation_failed for each', async () => {
    const notRefused: string[] = [];
    for (const c of cases.filter((c) => c.validates)) {
      const r = await owner.request(c.method, c.path, c.body);
      // A workflow definition that does not parse is refused like one that does not check: invalid_workflow, naming the part.
      const code = ['/api/v1/workflows', '/api/v1/workflows/:id', '/api/v1/workflows/check'].includes(c.url) && c.method !== 'GET' && c.method !== 'DELETE' ? 'invalid_workflow' : 'validation_failed';
      if (r.status !== 400 || r.body?.error?.code !== code) notRefused.push(`${c.method} ${c.url} → ${r.status}`);
    }
    expect(notRefused).toEqual([]);
  });

  it('no credentials → 401 unauthorized, whatever the params, query and body', async () => {
    for (const c of cases) expectErrorShape(await anon.request(c.method, c.path, c.body), 401, 'unauthorized', `${c.method} ${c.url}`);
  });

  it('an unknown API key or a malformed Authorization header → 401 before validation', async () => {
    const unknown = apiKeyClient(fb.baseUrl, 'fbk_not-a-real-key');
    for (const c of cases) {
      expectErrorShape(await unknown.request(c.method, c.path, c.body), 401, 'unauthorized', `${c.method} ${c.url}`);
      expectErrorShape(await anon.request(c.method, c.path, c.body, { authorization: 'Basic b3duZXI6aHVudGVyMg==' }), 401, 'unauthorized', `${c.method} ${c.url} (Basic)`);
    }
  });

  it('a viewer (read-only) on a write or admin route → 403 before validation', async () => {
    const writes = cases.filter((c) => c.need === 'write' || c.need === 'admin');
    // POSTs that change nothing (their body is a question: an expression to check or preview) need only read.
    const readPosts = ['/api/v1/expressions/check', '/api/v1/expressions/preview', '/api/v1/workflows/check', '/api/v1/workflows/preview'];
    expect(cases.filter((c) => readPosts.includes(c.url)).map((c) => c.need)).toEqual(['read', 'read', 'read', 'read']);
    expect(writes.filter((c) => c.method !== 'GET').length).toBe(cases.filter((c) => c.method !== 'GET' && !readPosts.includes(c.url)).length);
    for (const c of writes) expectErrorShape(await viewer.request(c.method, c.path, c.body), 403, 'forbidden', `${c.method} ${c.url}`);
  });

  it('a responder on an admin route → 403 before validation; on a read or write route the request reaches validation', async () => {
    for (const c of cases.filter((c) => c.need === 'admin')) expectErrorShape(await responder.request(c.method, c.path, c.body), 403, 'forbidden', `${c.method} ${c.url}`);
    for (const c of cases.filter((c) => c.validates && c.need !== 'admin')) {
      const r = await responder.request(c.method, c.path, c.body);
      expect({ route: `${c.method} ${c.url}`, status: r.status }).toEqual({ route: `${c.method} ${c.url}`, status: 400 });
    }
  });

  it('a read-scope API key on a write or admin route → 403 before validation', async () => {
    for (const c of cases.filter((c) => c.need === 'write' || c.need === 'admin')) {
      expectErrorShape(await readKey.request(c.method, c.path, c.body), 403, 'forbidden', `${c.method} ${c.url}`);
    }
  });

  it('a session without its CSRF token on a write → 403 before validation', async () => {
    const cookieOnly = anonymousClient(fb.baseUrl);
    const cookie = (owner as unknown as { cookie: string }).cookie;
    for (const c of cases.filter((c) => c.method !== 'GET')) {
      expectErrorShape(await cookieOnly.request(c.method, c.path, c.body, { cookie }), 403, 'forbidden', `${c.method} ${c.url}`);
    }
  });

  it('what only a signed-in person may do (API keys) refuses an admin-scope API key before validation', async () => {
    expectErrorShape(await adminKey.request('POST', '/api/v1/api_keys', { scopes: 'all' }), 403, 'forbidden', 'POST /api/v1/api_keys');
    expectErrorShape(await adminKey.request('DELETE', `/api/v1/api_keys/${'%20'.repeat(80)}`), 403, 'forbidden', 'DELETE /api/v1/api_keys/:id');
  });

  it('the issue’s examples: a write with a bad body and a search with a bad query answer 401 without credentials', async () => {
    expectErrorShape(await anon.post('/api/v1/incidents', { name: 42, triage: 'yes' }), 401, 'unauthorized', 'POST /api/v1/incidents');
    expectErrorShape(await anon.get('/api/v1/integrations/pagerduty/escalation_options?type=nonsense'), 401, 'unauthorized', 'escalation_options');
    expectErrorShape(await viewer.get('/api/v1/integrations/pagerduty/users?unknown=1'), 403, 'forbidden', 'pagerduty users as viewer');
  });

  it('routes outside the guarded API are exactly the known open ones, and still behave as before', async () => {
    const others = registeredRoutes(fb.app.http)
      .filter((r) => !r.url.startsWith('/api/v1/') && !isDocsRoute(r.url))
      .flatMap((r) => methodsOf(r).map((m) => `${m} ${r.url}`));
    expect(new Set(others)).toEqual(openRoutes);
    expect((await anon.get('/healthz')).status).toBe(200);
    expect((await anon.get('/api/openapi.json')).status).toBe(200);
    // signatures are still checked on the raw body, not skipped or preceded by a session check
    expectErrorShape(await anon.request('POST', '/webhooks/pagerduty', '{"event":{}}', { 'content-type': 'application/json' }), 401, 'webhooks_not_configured', 'webhooks');
    const forged = await fetch(`${fb.baseUrl}/auth/login?token=forged`, { redirect: 'manual' });
    expect(forged.status).toBe(400);
    expect((await anon.request('POST', '/auth/logout')).status).toBe(204);
  });
});
