import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { waitFor } from '../escalations/helpers.js';
import type { Client } from '../helpers.js';
import { connect, type Setup } from '../pagerduty/helpers.js';

// Firebreak as a real operating-system process (`src/main.ts start`, configured by the environment only), so a
// test can SIGKILL it at any instant and start it again on the same data; and a small load balancer in front of
// several such processes, so PagerDuty's webhooks and the tests' API calls reach whichever process is alive,
// as they would in production. Everything else (signing in, connecting PagerDuty, declaring, escalating) goes
// through the REST API with the shared test helpers.

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = join(repoRoot, 'src', 'main.ts');

/** Environment a child must not inherit from the test run (it would configure another database or Slack). */
const SCRUBBED = /^(DATABASE_URL|PUBLIC_URL|FIREBREAK_|SLACK_|PORT$|HOST$|DATA_DIR$|LOG_LEVEL$|JOB_)/;

export interface ProcessOptions {
  name: string;
  /** Fixed, so that clients and the balancer find the process again after a restart. */
  port: number;
  /** DATA_DIR, DATABASE_URL, FIREBREAK_MASTER_KEY, PUBLIC_URL, FIREBREAK_PAGING_LEASE_MS, … */
  env: Record<string, string>;
}

export class FirebreakProcess {
  readonly name: string;
  readonly port: number;
  readonly baseUrl: string;
  /** The first owner's sign-in link, when this start printed one. */
  loginUrl: string | null = null;
  /** The last lines this process wrote (stdout and stderr), for failure messages. */
  readonly output: string[] = [];
  starts = 0;
  kills = 0;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ProcessOptions) {
    this.name = opts.name;
    this.port = opts.port;
    this.baseUrl = `http://127.0.0.1:${opts.port}`;
  }

  get alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts `firebreak start` and resolves once it prints that it is running (it is then listening). */
  async start(timeoutMs = 90_000): Promise<void> {
    if (this.alive) throw new Error(`${this.name} is already running`);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !SCRUBBED.test(k)) env[k] = v;
    Object.assign(env, { HOST: '127.0.0.1', PORT: String(this.port), LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: '2000' }, this.opts.env);
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'start'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.starts++;
    this.loginUrl = null;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    let ready: (() => void) | null = null;
    const readyP = new Promise<void>((r) => (ready = r));
    let signInNext = false;
    const onLine = (line: string) => {
      this.output.push(`[${this.name}#${this.starts}] ${line}`);
      if (this.output.length > 400) this.output.splice(0, this.output.length - 400);
      if (signInNext && /^\s+https?:\/\//.test(line)) {
        this.loginUrl = line.trim();
        signInNext = false;
      }
      if (line.startsWith('Sign in as the first owner')) signInNext = true;
      if (line.startsWith('Firebreak is running at ')) {
        // The sign-in link is printed right after; give it a moment to arrive on the same stream.
        setTimeout(() => ready?.(), 50);
      }
    };
    for (const stream of [child.stdout!, child.stderr!]) {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          onLine(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
    }
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${this.name} did not start within ${timeoutMs} ms:\n${this.tail()}`)), timeoutMs).unref());
    const died = this.exited.then(() => {
      throw new Error(`${this.name} exited during start (code ${child.exitCode}, signal ${child.signalCode}):\n${this.tail()}`);
    });
    await Promise.race([readyP, timeout, died]);
  }

  /** kill -9: no shutdown hook runs, nothing is released, the database keeps whatever the process left. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.child!.kill('SIGKILL');
    this.kills++;
    await this.exited;
  }

  /** A polite stop (SIGTERM), killed if it takes too long. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.alive) return;
    this.child!.kill('SIGTERM');
    const t = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(t);
  }

  tail(lines = 40): string {
    return this.output.slice(-lines).join('\n');
  }
}

/**
 * A load balancer in front of Firebreak processes: each request goes to the next live process; one that refuses
 * the connection (killed) is skipped. A request cut off mid-way answers 502, which PagerDuty retries.
 */
export class Balancer {
  private server: http.Server | null = null;
  private next = 0;
  /** Requests each backend answered, by name. */
  readonly served = new Map<string, number>();

  constructor(readonly port: number, readonly backends: FirebreakProcess[]) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    const s = this.server;
    this.server = null;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const order = this.backends.map((_, i) => this.backends[(this.next + i) % this.backends.length]!);
    this.next = (this.next + 1) % this.backends.length;
    for (const b of order) {
      if (!b.alive) continue;
      const outcome = await this.forward(b, req, body, res);
      if (outcome === 'refused') continue;
      return;
    }
    if (!res.headersSent) {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'no_backend', message: 'No Firebreak process is up.', details: {} } }));
    }
  }

  private forward(b: FirebreakProcess, req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): Promise<'done' | 'refused'> {
    return new Promise((resolve) => {
      const headers = { ...req.headers, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      const up = http.request({ host: '127.0.0.1', port: b.port, method: req.method, path: req.url, headers, agent: false }, (upRes) => {
        this.served.set(b.name, (this.served.get(b.name) ?? 0) + 1);
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
        upRes.on('end', () => resolve('done'));
        upRes.on('error', () => {
          res.destroy();
          resolve('done');
        });
      });
      up.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED') return resolve('refused');
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'bad_gateway', message: `${b.name}: ${err.message}`, details: {} } }));
        } else res.destroy();
        resolve('done');
      });
      up.end(body);
    });
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The emulator's seeded PRNG (mulberry32), so a chaos run can be repeated from its printed seed. */
export { createPrng as rng } from '../../emulators/pagerduty/seed.js';

export interface PagingSetup {
  /** Escalation policies some synced service uses. */
  policies: { id: string; name: string; serviceIds: string[] }[];
  /** Synced services, not ignored. */
  serviceIds: string[];
  fallbackServiceId: string;
}

/**
 * Connects PagerDuty through the API (the shared helper), waits for the first sync, and chooses a fallback
 * escalation service: what an admin does before anybody can escalate.
 */
/** Connects PagerDuty; `webhooks` keeps the subscription connecting makes (the cluster's workloads need it). */
export async function connectPagerDuty(owner: Client, pd: PagerDutyEmulator, opts: { webhooks?: boolean } = {}): Promise<PagingSetup> {
  await connect({ owner, pd } as unknown as Setup, { webhooks: opts.webhooks ?? false });
  const options = async (type: string) => (await owner.get(`/api/v1/integrations/pagerduty/escalation_options?type=${type}&limit=100`)).body.options.map((o: any) => o.id as string);
  const syncedPolicies = new Set(await options('escalation_policy'));
  const serviceIds: string[] = await options('service');
  const synced = new Set(serviceIds);
  const byPolicy = new Map<string, string[]>();
  for (const s of pd.state.services.values()) {
    if (!syncedPolicies.has(s.escalation_policy_id) || !synced.has(s.id)) continue;
    byPolicy.set(s.escalation_policy_id, [...(byPolicy.get(s.escalation_policy_id) ?? []), s.id]);
  }
  const policies = [...byPolicy.entries()].map(([id, ids]) => ({ id, name: pd.state.escalationPolicies.get(id)!.name, serviceIds: ids }));
  const fallbackServiceId = serviceIds[0]!;
  const set = await owner.patch('/api/v1/integrations/pagerduty/escalation_settings', { fallback_service_id: fallbackServiceId });
  if (set.status !== 200) throw new Error(`escalation settings: ${set.status} ${JSON.stringify(set.body)}`);
  return { policies, serviceIds, fallbackServiceId };
}

/** Polls an escalation until `done` holds for every target or the time is up; returns the last state either way. */
export async function escalationWhen(owner: Client, id: string, done: (t: any) => boolean, timeoutMs: number): Promise<{ escalation: any; settled: boolean; ms: number }> {
  const started = Date.now();
  let last: any = null;
  try {
    await waitFor(`escalation ${id}`, async () => {
      const r = await owner.get(`/api/v1/escalations/${id}`);
      if (r.status === 200) last = r.body.escalation;
      return last?.targets.every(done) ? last : null;
    }, timeoutMs);
    return { escalation: last, settled: true, ms: Date.now() - started };
  } catch {
    return { escalation: last, settled: false, ms: Date.now() - started };
  }
}

export const PAGED = new Set(['triggered', 'acknowledged', 'resolved']);

/**
 * The paging rule, for one target after a crash: paged exactly once (its PagerDuty incident is the only one with
 * its incident_key, and PagerDuty accepted one create for that key), or failed. Returns what is wrong, if anything.
 */
export function pagedOnceProblem(pd: PagerDutyEmulator, t: any): string | null {
  const mine = [...pd.state.incidents.values()].filter((i) => i.incident_key === t.incident_key);
  const created = pd.requestLog().filter((e) => e.method === 'POST' && e.path === '/incidents' && (e.body as any)?.incident?.incident_key === t.incident_key && e.status === 201);
  if (PAGED.has(t.status)) {
    if (mine.length !== 1) return `${t.name}: ${t.status} but PagerDuty holds ${mine.length} incidents with its key`;
    if (t.pagerduty_incident?.id !== mine[0]!.id) return `${t.name}: follows ${t.pagerduty_incident?.id} but PagerDuty's incident for its key is ${mine[0]!.id}`;
    if (created.length > 1) return `${t.name}: PagerDuty accepted ${created.length} creates for its key`;
    return null;
  }
  if (t.status === 'failed') return mine.length > 1 ? `${t.name}: failed, and PagerDuty holds ${mine.length} incidents with its key` : null;
  return `${t.name}: still ${t.status}${t.error ? ` (${t.error})` : ''}, PagerDuty holds ${mine.length} incident(s) with its key`;
}
