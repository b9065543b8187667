import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startFirebreak, type RunningFirebreak, type StartOptions } from '../src/main.js';

// Shared test fixtures: start Firebreak on SQLite or on a fresh PostgreSQL database, sign people in, make keys.

export const postgresAvailable = process.env.FIREBREAK_TEST_POSTGRES === '1' && !!process.env.TEST_DATABASE_URL;
export const backends: ('sqlite' | 'postgres')[] = postgresAvailable ? ['sqlite', 'postgres'] : ['sqlite'];

/** A database of its own on the test server, so test files running in parallel never share tables. */
export async function freshPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = process.env.TEST_DATABASE_URL!;
  const name = `fb_t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const d = new pg.Client({ connectionString: admin });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
    },
  };
}

export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.lines.push(...chunk.toString().split('\n').filter(Boolean));
    cb();
  }
  text(): string {
    return this.lines.join('\n');
  }
}

export interface TestFirebreak extends RunningFirebreak {
  dataDir: string;
  logs: LogCapture;
  /** Stops Firebreak and removes its data. */
  destroy(): Promise<void>;
}

export async function startTestFirebreak(backend: 'sqlite' | 'postgres' = 'sqlite', opts: StartOptions & { dataDir?: string; keepData?: boolean; pgUrl?: string } = {}): Promise<TestFirebreak> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'firebreak-test-'));
  const logs = new LogCapture();
  let pgDb: { url: string; drop(): Promise<void> } | null = null;
  let database: StartOptions['database'];
  if (backend === 'postgres') {
    if (opts.pgUrl) database = { kind: 'postgres', url: opts.pgUrl, poolSize: 10 };
    else {
      pgDb = await freshPostgresDatabase();
      database = { kind: 'postgres', url: pgDb.url, poolSize: 10 };
    }
  }
  const { keepData, pgUrl, ...rest } = opts;
  const fb = await startFirebreak({
    port: 0,
    host: '127.0.0.1',
    logLevel: 'info',
    logStream: logs,
    shutdownTimeoutMs: 2000,
    ...(backend === 'postgres' ? { masterKey: randomBytes(32) } : {}),
    ...rest,
    dataDir,
    ...(database ? { database } : {}),
  });
  return {
    ...fb,
    dataDir,
    logs,
    async destroy() {
      await fb.stop();
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
      if (pgDb && !pgUrl) await pgDb.drop();
    },
  };
}

export interface Client {
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  get(path: string): Promise<{ status: number; body: any }>;
  post(path: string, body?: unknown): Promise<{ status: number; body: any }>;
  patch(path: string, body?: unknown): Promise<{ status: number; body: any }>;
  del(path: string): Promise<{ status: number; body: any }>;
}

function makeClient(baseUrl: string, auth: Record<string, string>): Client {
  const request: Client['request'] = async (method, path, body, headers = {}) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      redirect: 'manual',
      headers: { ...auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as any, headers: res.headers };
  };
  return {
    request,
    get: (p) => request('GET', p),
    post: (p, b = {}) => request('POST', p, b),
    patch: (p, b = {}) => request('PATCH', p, b),
    del: (p) => request('DELETE', p),
  };
}

/** Follows a one-time sign-in link the way a browser would and returns a client carrying the session and CSRF token. */
export async function signInWithLink(baseUrl: string, loginUrl: string): Promise<Client & { csrf: string; cookie: string }> {
  const res = await fetch(loginUrl, { redirect: 'manual' });
  if (res.status !== 302) throw new Error(`sign-in link answered ${res.status}: ${await res.text()}`);
  const setCookie = res.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0]!;
  const session = await fetch(`${baseUrl}/api/v1/session`, { headers: { cookie } });
  const body = (await session.json()) as { csrf_token: string };
  return { ...makeClient(baseUrl, { cookie, 'x-csrf-token': body.csrf_token }), csrf: body.csrf_token, cookie };
}

export function apiKeyClient(baseUrl: string, token: string): Client {
  return makeClient(baseUrl, { authorization: `Bearer ${token}` });
}

export function anonymousClient(baseUrl: string): Client {
  return makeClient(baseUrl, {});
}

/** Signs in the first owner. */
export async function ownerClient(fb: RunningFirebreak) {
  if (!fb.initialLoginUrl) throw new Error('no initial sign-in link: the database already had someone signed in');
  return signInWithLink(fb.baseUrl, fb.initialLoginUrl);
}

/** Creates a user with a role and signs them in through an admin-made link. */
export async function userClient(fb: RunningFirebreak, owner: Client, role: 'admin' | 'responder' | 'viewer', email = `${role}-${Math.random().toString(36).slice(2, 7)}@example.com`) {
  const created = await owner.post('/api/v1/users', { name: `A ${role}`, email, role });
  if (created.status !== 201) throw new Error(`creating user: ${created.status} ${JSON.stringify(created.body)}`);
  const link = await owner.post(`/api/v1/users/${created.body.user.id}/login_link`);
  return { client: await signInWithLink(fb.baseUrl, link.body.url), user: created.body.user };
}
