import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer, registeredRoutes } from '../src/platform/http/server.js';
import { Metrics } from '../src/platform/http/metrics.js';
import { createLogger } from '../src/platform/logger.js';
import { ensureWebBuilt } from './browser/web-build.js';
import { ownerClient, startTestFirebreak, type TestFirebreak } from './helpers.js';

// Every error the server can produce has the documented shape {"error":{"code","message","details"}}: errors
// of our routes, and those Fastify, its plugins (static files, docs) and Node's HTTP parser raise before a
// route runs. Found by sending odd URLs, methods, headers and bodies (a seeded fuzz plus the cases from the
// issue), through a real socket.

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

function raw(base: URL, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const framing = body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {};
    const req = http.request({ host: base.hostname, port: base.port, method, path, headers: { ...framing, ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Writes bytes on a socket as they are (for requests no HTTP client would send) and returns the reply. */
function rawSocket(base: URL, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(base.port), base.hostname, () => s.write(bytes));
    let got = '';
    s.on('data', (c) => (got += c.toString()));
    s.on('close', () => resolve(got));
    s.on('error', (err) => (got ? resolve(got) : reject(err)));
    setTimeout(() => s.destroy(), 3000);
  });
}

const snake = /^[a-z][a-z0-9_]*$/;

/** The documented error shape, checked strictly: nothing else at the top or inside `error`. */
function shapeProblem(r: Raw): string | null {
  if (!String(r.headers['content-type'] ?? '').startsWith('application/json')) return `content-type ${r.headers['content-type']}: ${r.text.slice(0, 120)}`;
  let body: any;
  try {
    body = JSON.parse(r.text);
  } catch {
    return `not JSON: ${r.text.slice(0, 120)}`;
  }
  if (!body || typeof body !== 'object' || Object.keys(body).join() !== 'error') return `top-level keys ${Object.keys(body ?? {}).join(',')}: ${r.text.slice(0, 160)}`;
  const e = body.error;
  if (!e || typeof e !== 'object' || Object.keys(e).sort().join() !== 'code,details,message') return `error keys ${Object.keys(e ?? {}).join(',')}`;
  if (typeof e.code !== 'string' || !snake.test(e.code)) return `code ${JSON.stringify(e.code)}`;
  if (typeof e.message !== 'string' || !e.message) return 'empty message';
  if (e.details !== null && (typeof e.details !== 'object' || Array.isArray(e.details))) return `details ${JSON.stringify(e.details)}`;
  return null;
}

function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

describe('every error has the documented shape', () => {
  let fb: TestFirebreak;
  let base: URL;
  let session: Record<string, string>;

  beforeAll(async () => {
    ensureWebBuilt(); // static-file errors only exist when the web app is served
    fb = await startTestFirebreak('sqlite', { bodyLimitBytes: 64 * 1024, logLevel: 'warn' });
    base = new URL(fb.baseUrl);
    const owner = await ownerClient(fb);
    session = { cookie: owner.cookie, 'x-csrf-token': owner.csrf };
  });
  afterAll(async () => fb?.destroy());

  const expectShape = (r: Raw, status: number, code: string) => {
    expect({ status: r.status, problem: shapeProblem(r) }).toEqual({ status, problem: null });
    expect(JSON.parse(r.text).error.code).toBe(code);
  };

  it('the issue’s cases: over-long ids, bad percent-encoding', async () => {
    expectShape(await raw(base, 'POST', `/api/v1/incidents/${'x'.repeat(500)}/actions/accept`, session), 414, 'uri_too_long');
    expectShape(await raw(base, 'GET', '/api/v1/incidents/%ff', session), 400, 'bad_url');
    // used to reach the static files' wildcard and answer 403 fst_static_forbidden_path
    expectShape(await raw(base, 'GET', `/api/v1/incidents/${'x'.repeat(5000)}`, session), 414, 'uri_too_long');
    // API paths never reach the file system (a GET there used to be served by the static wildcard)
    const noRoute = await raw(base, 'GET', '/api/v1/incidents/x/%00.js', session);
    expectShape(noRoute, 404, 'not_found');
    expect(JSON.parse(noRoute.text).error.message).toMatch(/^No route for GET \/api\/v1\/incidents\/x\//);
    expectShape(await raw(base, 'GET', `/${'x'.repeat(5000)}.js`), 404, 'not_found');
    expectShape(await raw(base, 'GET', '/assets/%00.js'), 404, 'not_found');
  });

  it('framework errors: unknown route and method, body too large, wrong media type, bad JSON, bad Content-Length', async () => {
    expectShape(await raw(base, 'PUT', '/api/v1/incidents', session), 404, 'not_found');
    expectShape(await raw(base, 'OPTIONS', '/api/v1/incidents'), 404, 'not_found');
    expectShape(await raw(base, 'POST', '/api/v1/incidents', { ...session, 'content-type': 'application/json' }, JSON.stringify({ name: 'x'.repeat(70_000) })), 413, 'body_too_large');
    expectShape(await raw(base, 'POST', '/api/v1/incidents', { ...session, 'content-type': 'text/plain' }, 'name=x'), 415, 'unsupported_media_type');
    expectShape(await raw(base, 'POST', '/api/v1/incidents', { ...session, 'content-type': 'multipart/form-data; boundary=x' }, '--x--'), 415, 'unsupported_media_type');
    expectShape(await raw(base, 'POST', '/api/v1/incidents', { ...session, 'content-type': 'application/json' }, '{"name":'), 400, 'invalid_json');
    expectShape(await raw(base, 'POST', '/api/v1/incidents', { ...session, 'content-type': 'application/json' }, ''), 400, 'invalid_json');
    const validation = await raw(base, 'POST', '/api/v1/incidents', { ...session, 'content-type': 'application/json' }, '{"name":42}');
    expectShape(validation, 400, 'validation_failed');
    expect(JSON.parse(validation.text).error.details.fields[0].path).toBe('name');
  });

  it('errors Node’s HTTP parser raises before Fastify: bad request line, unknown method, header overflow, bad Content-Length', async () => {
    const cases: [string, number, string][] = [
      ['GET /a b c HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'bad_request'],
      ['BREW /api/v1/incidents HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'bad_request'],
      [`GET /api/v1/incidents HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(20_000)}\r\n\r\n`, 431, 'headers_too_large'],
      ['POST /api/v1/incidents HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}', 400, 'bad_request'],
      ['POST /api/v1/incidents HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n', 400, 'bad_request'],
    ];
    for (const [bytes, status, code] of cases) {
      const reply = await rawSocket(base, bytes);
      const [head = '', body = ''] = reply.split('\r\n\r\n');
      const r: Raw = { status: Number(head.split(' ')[1]), headers: { 'content-type': /content-type: ([^\r\n]+)/i.exec(head)?.[1] }, text: body };
      expectShape(r, status, code);
    }
  });

  it('bytes after a request that said Connection: close get no second answer on the same stream', async () => {
    const reply = await rawSocket(base, 'DELETE /api/v1/incidents/%ff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"x"');
    expect(reply.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    const [head = '', body = ''] = reply.split('\r\n\r\n');
    expectShape({ status: Number(head.split(' ')[1]), headers: { 'content-type': /content-type: ([^\r\n]+)/i.exec(head)?.[1] }, text: body }, 400, 'bad_url');
  });

  it('a seeded fuzz over every route with odd ids, queries, methods, headers and bodies: errors in the shape, never 500', async () => {
    const random = rng(20261204);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    // The live stream answers 200 and never ends while signed in (test/live covers its refusals and its stream).
    const urls = [...new Set(registeredRoutes(fb.app.http).map((r) => r.url))].filter((u) => u !== '/api/v1/live');
    const odd = ['%ff', '%', '%zz', '%00', 'x'.repeat(101), 'x'.repeat(5000), '..%2f..%2fetc%2fpasswd', '%2e%2e', 'é', '%F0%9F%94%A5', '~', '%20', 'INC-0', 'INC-99999999999999999999', "1'or'1'='1", '<script>'];
    const extra = ['/', '//', '/api', '/api/', '/api/v1', '/api/v1/', '/auth/', '/slack/x', '/webhooks/x', '/assets/', '/assets/%ff', '/.env', '/index.html/..', '/%2e%2e/%2e%2e/etc/passwd', '/api/docs/%ff', '/api/docs/static/%00', '/api/docs/static/x'.repeat(300), '/x.js'];
    const queries = ['', '', '?limit=%ff', '?limit=-1', '?limit=1&limit=2', '?%ff=1', '?a[b][c]=1', '?type=' + 'x'.repeat(3000), `?${'a=1&'.repeat(2000)}`, '?query=%00'];
    const methods = ['GET', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND', 'SEARCH', 'LOCK'];
    const contentTypes = ['application/json', 'application/json', 'application/json; charset=utf-16', 'text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=z', '', 'application/json, text/plain'];
    const bodies = ['{}', '[]', 'null', '"x"', '{bad', '', '{"name":"' + 'x'.repeat(300) + '"}', '{"__proto__":{"admin":true}}', '[' .repeat(5000) + ']'.repeat(5000), '{"name":1e309}', '\u0000', Buffer.from([0xff, 0xfe, 0x00]).toString('latin1'), 'x'.repeat(70_000)];
    const auths: Record<string, string>[] = [{}, {}, { authorization: 'Bearer' }, { authorization: `Bearer ${'x'.repeat(5000)}` }, { authorization: 'Bearer fbk_%ff' }, { cookie: 'fb_session=%ff; fb_session=' }, { cookie: session.cookie! }];
    const problems: string[] = [];
    const seen = new Map<number, number>();
    // More routes spread the same draws thinner: 1,200 requests keep every error class reached.
    for (let i = 0; i < 1200; i++) {
      let path = random() < 0.85 ? pick(urls).replace(/\*$/, pick(['', 'x', '%ff', 'x'.repeat(300)])) : pick(extra);
      path = path.replace(/:[A-Za-z_]+/g, () => pick(odd)) + pick(queries);
      const method = pick(methods);
      const auth = random() < 0.5 ? session : pick(auths);
      const ct = pick(contentTypes);
      const body = method === 'GET' || method === 'OPTIONS' ? (random() < 0.1 ? '{}' : undefined) : random() < 0.8 ? pick(bodies) : undefined;
      const headers: Record<string, string> = { ...auth, ...(ct && body !== undefined ? { 'content-type': ct } : {}) };
      if (random() < 0.05) headers['accept'] = 'text/html';
      if (random() < 0.05) headers['content-encoding'] = 'gzip';
      let r: Raw;
      try {
        r = await raw(base, method, path, headers, body);
      } catch (err) {
        problems.push(`${method} ${path.slice(0, 80)} [${ct}] ${body?.slice(0, 30) ?? ''} → ${(err as Error).message}`);
        continue;
      }
      seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
      const where = `${method} ${path.slice(0, 80)} [${ct}] ${body?.slice(0, 30) ?? ''}`;
      // 500 is a crash path; other 5xx (Slack not connected: 503) are answers, and in the shape like any error
      if (r.status === 500) problems.push(`${where} → ${r.status} ${r.text.slice(0, 160)}`);
      else if (r.status >= 400) {
        const p = shapeProblem(r);
        if (p) problems.push(`${where} → ${r.status} ${p}`);
      }
    }
    expect(problems).toEqual([]);
    // the fuzz reached the errors it is meant to find, not only 404s
    for (const status of [400, 401, 404, 413, 414, 415]) expect({ status, seen: (seen.get(status) ?? 0) > 0 }).toEqual({ status, seen: true });
    const ready = await raw(base, 'GET', '/readyz');
    expect(ready.status).toBe(200);
  });

  it('the web app and its client routes are still served', async () => {
    const index = await raw(base, 'GET', '/incidents/INC-1');
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toContain('text/html');
    const asset = (/src="(\/assets\/[^"]+\.js)"/.exec(index.text) ?? [])[1];
    expect(asset).toBeTruthy();
    expect((await raw(base, 'GET', asset!)).status).toBe(200);
  });
});

describe('while shutting down', () => {
  it('requests that still arrive answer 503 in the documented shape', async () => {
    const app = await createHttpServer({ logger: createLogger('silent'), bodyLimitBytes: 1024, metrics: new Metrics(), webDist: '/nonexistent' });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    app.get('/slow', async () => {
      entered();
      await held;
      return { ok: true };
    });
    app.get('/fast', async () => ({ ok: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as net.AddressInfo;
    // a keep-alive connection busy with a request when the close starts stays open; a second request on it
    // arrives after the close began
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    sock.on('data', (c) => (got += c.toString()));
    sock.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    await inside;
    const closed = app.close();
    await new Promise((r) => setTimeout(r, 50));
    sock.write('GET /fast HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 50));
    release();
    await closed;
    await new Promise((r) => setTimeout(r, 100));
    sock.destroy();
    const responses = got.split(/(?=HTTP\/1\.1 )/);
    expect(responses[0]).toMatch(/^HTTP\/1\.1 200/);
    expect(responses[1]).toMatch(/^HTTP\/1\.1 503/);
    const body = JSON.parse(responses[1]!.split('\r\n\r\n')[1]!);
    expect(body).toEqual({ error: { code: 'shutting_down', message: expect.any(String), details: null } });
  });
});
