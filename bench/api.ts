// Benchmark: create-then-read incidents through the HTTP API with 20 concurrent clients, on SQLite and (when
// reachable) PostgreSQL. Firebreak runs as its own process (`firebreak start`), so its peak memory (VmHWM) is
// measured alone. On PostgreSQL the same run also measures what the server itself can do with `pgbench` (TPC-B,
// and a transaction shaped like a declaration: five inserts between BEGIN and COMMIT), with as many clients, and
// prints Firebreak's rate as a fraction of it: a noisy machine slows both, so the ratio stays meaningful.
//
// Run: npm run bench:api [-- --clients 20 --per-client 200 --only sqlite|postgres --diagnose]
//   --diagnose  on PostgreSQL, also sample pg_stat_activity and pg_locks during the run (what busy backends wait
//               for) and count the statements Firebreak sends (pg's Client.query, patched by a preloaded probe):
//               per create+read, per transaction, and the most frequent ones.
// BENCH_SHORT=1 (npm run bench): fewer incidents and a shorter pgbench.
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { cpuBetween, postgresCpu, processCpuMs } from './cpu.js';
import { startFirebreakProcess } from './firebreak-process.js';
import { report, shortRun } from './report.js';

const args = process.argv.slice(2);
const arg = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const CLIENTS = arg('clients', 20);
const PER_CLIENT = arg('per-client', shortRun ? 40 : 200);
const WARMUP = 100;
const DIAGNOSE = args.includes('--diagnose');
const PGBENCH_SECONDS = shortRun ? 4 : 10;
const TARGET_RATE = 500;
const TARGET_P99_MS = 50;

interface Result {
  backend: string;
  creations: number;
  errors: number;
  seconds: number;
  createP50: number;
  createP99: number;
  readP50: number;
  readP99: number;
  peakRssMb: number;
  cpuMsPerPair: number;
  /** PostgreSQL's processes (backends and background work) and this process (the clients), per create+read. */
  pgCpuMsPerPair: number | null;
  clientCpuMsPerPair: number;
  diagnosis?: string[];
}

/** CPU time the server process has used (user + system), in ms: steadier than wall time on a shared machine. */
function cpuMs(pid: number): number {
  const ms = processCpuMs(pid);
  if (ms === null) throw new Error(`Firebreak (pid ${pid}) is gone`);
  return ms;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function apiKey(baseUrl: string, loginUrl: string): Promise<string> {
  const res = await fetch(loginUrl, { redirect: 'manual' });
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  const session = (await (await fetch(`${baseUrl}/api/v1/session`, { headers: { cookie } })).json()) as { csrf_token: string };
  const key = await fetch(`${baseUrl}/api/v1/api_keys`, {
    method: 'POST',
    headers: { cookie, 'x-csrf-token': session.csrf_token, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', scopes: ['write'] }),
  });
  return ((await key.json()) as { token: string }).token;
}

function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

// ---- diagnosis (PostgreSQL, --diagnose) ---------------------------------------------------------------------

/**
 * Preloaded into Firebreak: counts every statement a pg client sends, by its normalised text, and how many
 * statements each transaction took (BEGIN … COMMIT on one client). SIGUSR2 writes the counts to the file and
 * starts over. `pgUrl` is the pg module Firebreak itself loads, so the patched class is the one it uses.
 */
function statementProbe(pgUrl: string, file: string): string {
  return `
import pg from ${JSON.stringify(pgUrl)};
import { writeFileSync } from 'node:fs';
let counts = new Map(), txSizes = new Map(), total = 0;
const open = new WeakMap();
const norm = (t) => t.replace(/\\s+/g, ' ').replace(/\\$\\d+/g, '?').trim().toLowerCase().slice(0, 90);
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, ...rest) {
  const text = typeof config === 'string' ? config : (config && config.text) || '';
  const key = norm(text);
  total++;
  counts.set(key, (counts.get(key) || 0) + 1);
  if (key === 'begin') open.set(this, 1);
  else if (open.has(this)) {
    open.set(this, open.get(this) + 1);
    if (key === 'commit' || key === 'rollback') {
      const n = open.get(this);
      txSizes.set(n, (txSizes.get(n) || 0) + 1);
      open.delete(this);
    }
  }
  return query.call(this, config, ...rest);
};
process.on('SIGUSR2', () => {
  writeFileSync(${JSON.stringify(file)}, JSON.stringify({ total, counts: [...counts], txSizes: [...txSizes] }));
  counts = new Map(); txSizes = new Map(); total = 0;
});
`;
}

interface ProbeCounts {
  total: number;
  counts: [string, number][];
  txSizes: [number, number][];
}

async function readProbe(pid: number, file: string): Promise<ProbeCounts> {
  rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 200; i++) {
    await new Promise((r) => setTimeout(r, 10));
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as ProbeCounts;
    } catch {
      /* not written yet */
    }
  }
  throw new Error('the statement probe did not answer');
}

/** Samples what Firebreak's backends are doing every 25 ms until stopped: state, wait event, statement. */
function sampleActivity(url: string) {
  const client = new pg.Client({ connectionString: url });
  const activity = new Map<string, number>();
  const locks = new Map<string, number>();
  let samples = 0;
  let busy = 0;
  let running = true;
  const loop = (async () => {
    await client.connect();
    while (running) {
      const { rows } = await client.query<{ state: string; wait: string | null; query: string; backend_type: string }>(
        `select state, wait_event_type || ':' || wait_event as wait, left(regexp_replace(query, '\\s+', ' ', 'g'), 70) as query
         from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'
           and state <> 'idle'`,
      );
      const waiting = await client.query<{ what: string }>(
        `select l.locktype || ' ' || l.mode || coalesce(' on ' || c.relname, '') as what
         from pg_locks l left join pg_class c on c.oid = l.relation
         join pg_stat_activity a on a.pid = l.pid
         where not l.granted and a.datname = current_database()`,
      );
      samples++;
      busy += rows.length;
      for (const r of rows) {
        const stmt = /^(begin|commit|rollback)$/i.test(r.query.trim()) ? r.query.trim().toUpperCase() : r.query;
        const key = r.state === 'active' ? `active, ${r.wait ?? 'on CPU'}: ${stmt}` : `${r.state} (last: ${stmt})`;
        activity.set(key, (activity.get(key) ?? 0) + 1);
      }
      for (const w of waiting.rows) locks.set(w.what, (locks.get(w.what) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 25));
    }
    await client.end();
  })();
  return {
    async stop(): Promise<string[]> {
      running = false;
      await loop;
      const out = [`pg_stat_activity, ${samples} samples: ${(busy / Math.max(1, samples)).toFixed(1)} busy backends on average (of Firebreak's pool)`];
      const byState = new Map<string, number>();
      for (const [k, n] of activity) {
        const state = k.startsWith('idle in transaction') ? 'idle in transaction (waiting for Firebreak)' : k.startsWith('active, on CPU') ? 'active, on CPU' : `active, waiting ${/^active, ([^:]+:[^:]+):/.exec(k)?.[1] ?? '?'}`;
        byState.set(state, (byState.get(state) ?? 0) + n);
      }
      for (const [k, n] of [...byState].sort((a, b) => b[1] - a[1])) out.push(`  ${share(n, busy)}  ${k}`);
      out.push('  most frequent (state, statement):');
      for (const [k, n] of [...activity].sort((a, b) => b[1] - a[1]).slice(0, 12)) out.push(`    ${share(n, busy)}  ${k}`);
      const waits = [...locks].sort((a, b) => b[1] - a[1]);
      out.push(`pg_locks: ${waits.reduce((s, [, n]) => s + n, 0)} ungranted lock waits seen in ${samples} samples${waits.length ? ':' : ''}`);
      for (const [k, n] of waits.slice(0, 6)) out.push(`    ${n}  ${k}`);
      return out;
    },
  };
}

function share(n: number, of: number): string {
  return `${((100 * n) / Math.max(1, of)).toFixed(0).padStart(3)}%`;
}

async function databaseStats(url: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<Record<string, string>>(
      `select xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, tup_returned, tup_fetched
       from pg_stat_database where datname = current_database()`,
    );
    return Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, Number(v)]));
  } finally {
    await client.end();
  }
}

// ---- one Firebreak run -----------------------------------------------------------------------------------------

async function run(backend: string, env: Record<string, string>, pgUrl: string | null = null, diagnose = false): Promise<Result> {
  const probeDir = diagnose ? mkdtempSync(join(tmpdir(), 'fb-bench-probe-')) : null;
  const probeFile = probeDir ? join(probeDir, 'counts.json') : '';
  const preload: string[] = [];
  if (probeDir) {
    const module = join(probeDir, 'probe.mjs');
    writeFileSync(module, statementProbe(import.meta.resolve('pg'), probeFile));
    preload.push(pathToFileURL(module).href);
  }
  const { child, baseUrl, loginUrl } = await startFirebreakProcess(env, { preload });
  try {
    const token = await apiKey(baseUrl, loginUrl);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    let errors = 0;
    const createLat: number[] = [];
    const readLat: number[] = [];
    const one = async (record: boolean, n: number) => {
      let t = performance.now();
      const c = await fetch(`${baseUrl}/api/v1/incidents`, { method: 'POST', headers, body: JSON.stringify({ name: `Bench incident ${n}`, summary: 'Created by bench/api.ts' }) });
      const body = (await c.json()) as { incident?: { id: string } };
      if (c.status !== 201 || !body.incident) {
        errors++;
        return;
      }
      if (record) createLat.push(performance.now() - t);
      t = performance.now();
      const r = await fetch(`${baseUrl}/api/v1/incidents/${body.incident.id}`, { headers });
      await r.arrayBuffer();
      if (r.status !== 200) errors++;
      if (record) readLat.push(performance.now() - t);
    };
    // warm-up
    await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = 0; i < WARMUP / CLIENTS; i++) await one(false, c * 1000 + i);
    }));
    if (probeDir) await readProbe(child.pid!, probeFile); // counts start here
    const sampler = diagnose && pgUrl ? sampleActivity(pgUrl) : null;
    const stats0 = diagnose && pgUrl ? await databaseStats(pgUrl) : null;
    const pg0 = pgUrl ? await postgresCpu(pgUrl, { everyProcess: true }) : null;
    const clients0 = process.cpuUsage();
    const cpu0 = cpuMs(child.pid!);
    const start = performance.now();
    await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = 0; i < PER_CLIENT; i++) await one(true, c * 1000 + i);
    }));
    const seconds = (performance.now() - start) / 1000;
    const cpuUsed = cpuMs(child.pid!) - cpu0;
    const clients = process.cpuUsage(clients0);
    const pgUsed = pg0 ? cpuBetween(pg0, await postgresCpu(pgUrl!, { everyProcess: true })) : null;
    const diagnosis = diagnose && pgUrl ? await diagnosisLines(child.pid!, probeFile, pgUrl, stats0!, sampler!, createLat.length) : undefined;
    createLat.sort((a, b) => a - b);
    readLat.sort((a, b) => a - b);
    return {
      backend,
      creations: createLat.length,
      errors,
      seconds,
      createP50: pct(createLat, 50),
      createP99: pct(createLat, 99),
      readP50: pct(readLat, 50),
      readP99: pct(readLat, 99),
      peakRssMb: peakRss(child.pid!),
      cpuMsPerPair: cpuUsed / Math.max(1, createLat.length),
      pgCpuMsPerPair: pgUsed === null ? null : pgUsed / Math.max(1, createLat.length),
      clientCpuMsPerPair: (clients.user + clients.system) / 1000 / Math.max(1, createLat.length),
      diagnosis,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    if (probeDir) rmSync(probeDir, { recursive: true, force: true });
  }
}

async function diagnosisLines(
  pid: number,
  probeFile: string,
  url: string,
  stats0: Record<string, number>,
  sampler: ReturnType<typeof sampleActivity>,
  pairs: number,
): Promise<string[]> {
  const activity = await sampler.stop();
  const counts = await readProbe(pid, probeFile);
  const stats1 = await databaseStats(url);
  const per = (n: number) => (n / Math.max(1, pairs)).toFixed(2);
  const d = (k: string) => stats1[k]! - stats0[k]!;
  const out = [
    `statements Firebreak sent: ${per(counts.total)} per create+read (request handling and job workers together; ${counts.total} in all)`,
    `database: ${per(d('xact_commit'))} commits, ${per(d('tup_inserted'))} rows inserted, ${per(d('tup_updated'))} updated, ${per(d('tup_deleted'))} deleted per create+read`,
    `transactions by statements sent (BEGIN … COMMIT): ${counts.txSizes.sort((a, b) => b[1] - a[1]).slice(0, 6).map(([n, c]) => `${n} statements × ${c}`).join(', ')}`,
    'most frequent statements (per create+read):',
    ...counts.counts.sort((a, b) => b[1] - a[1]).slice(0, 18).map(([k, n]) => `  ${per(n).padStart(6)}  ${k}`),
    ...activity,
  ];
  return out;
}

// ---- PostgreSQL: fresh databases, and pgbench -----------------------------------------------------------------

const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function freshDatabase(prefix: string): Promise<{ url: string; drop: () => Promise<void> } | null> {
  const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
  } catch {
    return null;
  }
  const name = `${prefix}_${Date.now()}`;
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const d = new pg.Client({ connectionString: adminUrl });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
    },
  };
}

/** A declaration's writes without Firebreak: an incident, its timeline item, two events and a job, in one transaction. */
const DECLARATION_TABLES = `
create sequence decl_number;
create table decl_incidents (id text primary key, number bigint not null unique, name text not null, summary text not null, created_at timestamptz not null);
create table decl_timeline (id text primary key, incident_id text not null, kind text not null, payload text not null, created_at timestamptz not null);
create table decl_events (id text primary key, incident_id text not null, type text not null, payload text not null, created_at timestamptz not null);
create table decl_jobs (id bigserial primary key, queue text, payload text not null, created_at timestamptz not null);
`;
const DECLARATION_SCRIPT = `
\\set n random(1, 1000000000)
BEGIN;
INSERT INTO decl_incidents (id, number, name, summary, created_at) VALUES ('i' || :client_id || '-' || :n, nextval('decl_number'), 'Bench incident', 'Created by pgbench', now());
INSERT INTO decl_timeline (id, incident_id, kind, payload, created_at) VALUES ('t' || :client_id || '-' || :n, 'i' || :client_id || '-' || :n, 'incident_declared', '{"name":"Bench incident","severity":"Minor","status":"Investigating"}', now());
INSERT INTO decl_events (id, incident_id, type, payload, created_at) VALUES ('e1' || :client_id || '-' || :n, 'i' || :client_id || '-' || :n, 'incident.timeline_item_added', '{"kind":"incident_declared"}', now());
INSERT INTO decl_events (id, incident_id, type, payload, created_at) VALUES ('e2' || :client_id || '-' || :n, 'i' || :client_id || '-' || :n, 'incident.created', '{"reference":"INC-1"}', now());
INSERT INTO decl_jobs (queue, payload, created_at) VALUES ('ev:slack:' || :client_id || '-' || :n, '{"event":"e2"}', now());
COMMIT;
`;

interface PgbenchResult {
  tpcb: number;
  declaration: number;
}

/**
 * pgbench against the same server, with as many clients: TPC-B (scale = clients, so branches are not a shared
 * hot row) and the declaration-shaped script, each for PGBENCH_SECONDS. Null when pgbench is not installed.
 */
async function runPgbench(): Promise<PgbenchResult | null> {
  const exec = promisify(execFile);
  try {
    await exec('pgbench', ['--version']);
  } catch {
    console.log('pgbench not found (Debian: postgresql-client): the limit beside the figure is skipped');
    return null;
  }
  const db = await freshDatabase('fb_bench_pgbench');
  if (!db) return null;
  const dir = mkdtempSync(join(tmpdir(), 'fb-pgbench-'));
  try {
    const u = new URL(db.url);
    const conn = ['-h', u.hostname, '-p', u.port || '5432', '-U', decodeURIComponent(u.username || 'postgres')];
    const env = { ...process.env, ...(u.password ? { PGPASSWORD: decodeURIComponent(u.password) } : {}) };
    const name = u.pathname.slice(1);
    await exec('pgbench', [...conn, '-i', '-q', '-s', String(CLIENTS), '-I', 'dtGvp', name], { env });
    const tps = (out: string) => Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1] ?? NaN);
    const common = [...conn, '-n', '-c', String(CLIENTS), '-j', '2', '-T', String(PGBENCH_SECONDS)];
    const tpcb = tps((await exec('pgbench', [...common, name], { env })).stdout);
    const setup = new pg.Client({ connectionString: db.url });
    await setup.connect();
    await setup.query(DECLARATION_TABLES);
    await setup.end();
    writeFileSync(join(dir, 'declaration.sql'), DECLARATION_SCRIPT);
    const declaration = tps((await exec('pgbench', [...common, '-f', join(dir, 'declaration.sql'), name], { env })).stdout);
    return { tpcb, declaration };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
  }
}

// ---- main ------------------------------------------------------------------------------------------------------

const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
const results: Result[] = [];
const dataDir = mkdtempSync(join(tmpdir(), 'fb-bench-'));
try {
  if (only !== 'postgres') results.push(await run('sqlite', { DATA_DIR: dataDir }));
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
let limits: PgbenchResult | null = null;
const pgDb = only === 'sqlite' ? null : await freshDatabase('fb_bench');
if (pgDb) {
  const pgDataDir = mkdtempSync(join(tmpdir(), 'fb-bench-pg-'));
  try {
    results.push(
      await run('postgres', { DATABASE_URL: pgDb.url, FIREBREAK_MASTER_KEY: randomBytes(32).toString('base64'), DATA_DIR: pgDataDir }, pgDb.url, DIAGNOSE),
    );
  } finally {
    await pgDb.drop();
    rmSync(pgDataDir, { recursive: true, force: true });
  }
  limits = await runPgbench();
} else if (only !== 'sqlite') {
  console.log('PostgreSQL not reachable (TEST_DATABASE_URL or 127.0.0.1:5432/test): PostgreSQL run skipped');
}

console.log(`\nload average at the end: ${readFileSync('/proc/loadavg', 'utf8').trim()} (2 cores; other work on the machine skews wall-clock figures, CPU per pair and the ratio to pgbench less so)`);
console.log(`\nCreate-then-read through the HTTP API, ${CLIENTS} concurrent clients x ${PER_CLIENT} incidents (after ${WARMUP} warm-up)`);
console.log('backend   | creations/s | requests/s | create p50 / p99 ms | read p50 / p99 ms | errors | server peak RSS MB | server CPU ms per create+read');
for (const r of results) {
  console.log(
    `${r.backend.padEnd(9)} | ${(r.creations / r.seconds).toFixed(0).padStart(11)} | ${((2 * r.creations) / r.seconds).toFixed(0).padStart(10)} | ${r.createP50.toFixed(1).padStart(8)} / ${r.createP99.toFixed(1).padEnd(9)} | ${r.readP50.toFixed(1).padStart(7)} / ${r.readP99.toFixed(1).padEnd(8)} | ${String(r.errors).padStart(6)} | ${r.peakRssMb.toFixed(0).padStart(18)} | ${r.cpuMsPerPair.toFixed(2)}`,
  );
}
// The machine's ceiling: every create+read costs CPU in Firebreak, in PostgreSQL and in the clients, all on this
// machine's cores; no server could go faster than the cores divided by that sum. Counts of CPU, not wall time.
const cores = availableParallelism();
const ceilings = new Map<string, number>();
console.log(`\nCPU per create+read (from /proc and process.cpuUsage; on ${cores} cores shared by all three):`);
for (const r of results) {
  const total = r.cpuMsPerPair + (r.pgCpuMsPerPair ?? 0) + r.clientCpuMsPerPair;
  ceilings.set(r.backend, (cores * 1000) / total);
  console.log(
    `  ${r.backend.padEnd(9)} Firebreak ${r.cpuMsPerPair.toFixed(2)} ms${r.pgCpuMsPerPair === null ? '' : ` + PostgreSQL ${r.pgCpuMsPerPair.toFixed(2)} ms`} + the ${CLIENTS} clients ${r.clientCpuMsPerPair.toFixed(2)} ms = ${total.toFixed(2)} ms: at most ${((cores * 1000) / total).toFixed(0)} creations/s on this machine; reached ${(r.creations / r.seconds).toFixed(0)}/s (${((r.creations / r.seconds / ((cores * 1000) / total)) * 100).toFixed(0)}% of that ceiling)`,
  );
}
const pgResult = results.find((r) => r.backend === 'postgres');
if (limits) {
  console.log(`\npgbench against the same server, ${CLIENTS} clients, ${PGBENCH_SECONDS} s each: TPC-B ${limits.tpcb.toFixed(0)} transactions/s; declaration-shaped (5 inserts in one transaction) ${limits.declaration.toFixed(0)}/s`);
}
if (pgResult?.diagnosis) {
  console.log('\nWhere PostgreSQL time goes during the run (--diagnose):');
  for (const line of pgResult.diagnosis) console.log(`  ${line}`);
}
if (pgResult) {
  console.log('');
  const rate = pgResult.creations / pgResult.seconds;
  const fraction = limits ? rate / limits.declaration : null;
  report({
    bench: 'api',
    figure: `incident creations/s, PostgreSQL, ${CLIENTS} clients`,
    value: rate,
    unit: '/s',
    target: `≥ ${TARGET_RATE}/s`,
    met: rate >= TARGET_RATE && pgResult.errors === 0,
    limit: `${limits ? `pgbench TPC-B ${limits.tpcb.toFixed(0)}/s (Firebreak ${(rate / limits.tpcb).toFixed(2)}×), declaration-shaped ${limits.declaration.toFixed(0)}/s (${fraction!.toFixed(2)}×); ` : ''}this machine's CPU ceiling at the measured cost ${ceilings.get('postgres')!.toFixed(0)}/s`,
  });
  report({
    bench: 'api',
    figure: `create p99, PostgreSQL, ${CLIENTS} clients`,
    value: pgResult.createP99,
    unit: 'ms',
    target: `< ${TARGET_P99_MS} ms`,
    met: pgResult.createP99 < TARGET_P99_MS,
  });
  if (fraction !== null) {
    // The issue's targets side by side: 500/s against pgbench's ~2,490 declaration-shaped transactions/s on the
    // machine it was measured on, about a fifth. As a fraction it holds on a busier machine too.
    report({
      bench: 'api',
      figure: 'creations as a fraction of pgbench declaration-shaped transactions',
      value: fraction,
      unit: '×',
      target: '≥ 0.2×',
      met: fraction >= 0.2,
    });
  }
}
if (results.some((r) => r.errors > 0)) process.exitCode = 1;
