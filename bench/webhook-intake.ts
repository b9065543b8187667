// Benchmark: PagerDuty webhook intake. Firebreak runs as its own process (`firebreak start`) on SQLite and on
// PostgreSQL; this process sends signed deliveries (incident events spread over --incidents PagerDuty
// incidents) from --concurrency keep-alive clients, then sends a share of them again (redeliveries). Prints
// deliveries accepted and stored per second, client-side p50/p99/max latency, and checks in the database that
// none was lost and each was stored and applied exactly once.
// Targets: at least 1,000 deliveries/s with p99 under 50 ms on PostgreSQL, and every delivery applied within 1 s
// of intake ending (the drain keeps up with intake). BENCH_SHORT=1: 2,000 deliveries.
// Run: npm run bench:webhooks [-- --deliveries 10000 --concurrency 32 --incidents 500 --db sqlite,postgres --diagnose]
//   (postgres: TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test; a fresh database is made and dropped)
//   --diagnose  on PostgreSQL, count what Firebreak sends (pg's Client.query wrapped by a preloaded probe) and the
//               commits PostgreSQL counted (pg_stat_database), per delivery, from the first delivery until every
//               delivery is applied and the jobs the drain queued have run; and the most frequent statements.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { freshPostgresDatabase, signInWithLink } from '../test/helpers.js';
import { cpuBetween, postgresCpu, processCpuMs } from './cpu.js';
import { startFirebreakProcess } from './firebreak-process.js';
import { report, shortRun } from './report.js';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : def;
};
const N = Number(arg('deliveries', shortRun ? '2000' : '10000'));
const CONCURRENCY = Number(arg('concurrency', '32'));
const INCIDENTS = Number(arg('incidents', '500'));
const REDELIVER = Math.floor(N / 10);
const DIAGNOSE = args.includes('--diagnose');
const DBS = arg('db', process.env.TEST_DATABASE_URL ? 'sqlite,postgres' : 'sqlite').split(',') as ('sqlite' | 'postgres')[];
const sleep = (n: number) => new Promise((r) => setTimeout(r, n));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};


interface Delivery {
  id: string;
  body: string;
  signature: string;
}

function makeDeliveries(secret: string): Delivery[] {
  const types = ['incident.triggered', 'incident.acknowledged', 'incident.escalated', 'incident.resolved'];
  const out: Delivery[] = [];
  for (let i = 0; i < N; i++) {
    const incidentId = `PBENCH${(i % INCIDENTS).toString().padStart(5, '0')}`;
    const body = JSON.stringify({
      event: {
        id: randomUUID(),
        event_type: types[Math.floor(i / INCIDENTS) % types.length],
        resource_type: 'incident',
        occurred_at: new Date(Date.now() + i).toISOString(),
        agent: { id: 'PUSER01', type: 'user_reference', summary: 'Bench User' },
        client: { name: 'PagerDuty' },
        data: { id: incidentId, type: 'incident', number: i % INCIDENTS, status: 'acknowledged', title: 'Bench incident', urgency: 'high', incident_key: `bench-${incidentId}`, assignees: [{ id: 'PUSER01', type: 'user_reference', summary: 'Bench User' }] },
      },
    });
    out.push({ id: randomUUID(), body, signature: `v1=${createHmac('sha256', secret).update(body).digest('hex')}` });
  }
  return out;
}

async function send(url: string, list: Delivery[]): Promise<{ latencies: number[]; failures: number; wallMs: number; duplicates: number }> {
  const latencies: number[] = [];
  let failures = 0;
  let duplicates = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < list.length) {
        const d = list[next++]!;
        const t = performance.now();
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-pagerduty-signature': d.signature, 'x-webhook-id': d.id }, body: d.body });
        const answer = (await res.json()) as { duplicate?: boolean };
        latencies.push(performance.now() - t);
        if (res.status !== 200) failures++;
        else if (answer.duplicate) duplicates++;
      }
    }),
  );
  return { latencies, failures, wallMs: performance.now() - t0, duplicates };
}

/** Server-side handling time of POST /webhooks/pagerduty from Firebreak's Prometheus histogram (bucket bounds). */
async function serverSide(baseUrl: string): Promise<{ count: number; p50: string; p99: string }> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const buckets = new Map<number, number>();
  for (const line of text.split('\n')) {
    const m = /^firebreak_http_request_duration_seconds_bucket\{le="([^"]+)",method="POST",route="\/webhooks\/pagerduty",status="200"\} (\d+)/.exec(line);
    if (m) {
      const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
      buckets.set(le, (buckets.get(le) ?? 0) + Number(m[2]));
    }
  }
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const count = sorted[sorted.length - 1]?.[1] ?? 0;
  const at = (p: number) => {
    const hit = sorted.find(([, n]) => n >= (p / 100) * count);
    return hit ? (hit[0] === Infinity ? '> 10 s' : `≤ ${hit[0] * 1000} ms`) : '?';
  };
  return { count, p50: at(50), p99: at(99) };
}

/** CPU seconds (user + system) a process has used so far (Linux /proc; NaN elsewhere). */
const cpuSeconds = (pid: number | undefined): number => (pid === undefined ? NaN : (processCpuMs(pid) ?? NaN) / 1000);

async function counts(db: 'sqlite' | 'postgres', where: { file?: string; url?: string }): Promise<{ stored: number; applied: number }> {
  const q = 'select count(*) as stored, count(applied_at) as applied from pagerduty_webhook_events';
  if (db === 'sqlite') {
    const s = new SqliteDatabase(where.file!, { readonly: true });
    try {
      const r = s.prepare(q).get() as { stored: number; applied: number };
      return { stored: Number(r.stored), applied: Number(r.applied) };
    } finally {
      s.close();
    }
  }
  const c = new pg.Client({ connectionString: where.url });
  await c.connect();
  try {
    const r = await c.query(q);
    return { stored: Number(r.rows[0].stored), applied: Number(r.rows[0].applied) };
  } finally {
    await c.end();
  }
}

// ---- --diagnose: statements Firebreak sends (a probe preloaded into its process) and commits PostgreSQL counts ----

/** A module preloaded into Firebreak: counts pg queries by their text (numbers and parameters folded) and
 * the statements inside BEGIN…COMMIT; SIGUSR2 writes the counts to `file` and starts over. */
function probeModule(pgUrl: string, file: string): string {
  return `
import pg from ${JSON.stringify(pgUrl)};
import { writeFileSync } from 'node:fs';
let byText = new Map(), total = 0, transactions = 0, inTx = 0;
const inside = new WeakSet();
const fold = (t) => t.replace(/\\s+/g, ' ').replace(/\\$\\d+/g, '?').replace(/\\d+/g, 'N').trim().toLowerCase().slice(0, 100);
const original = pg.Client.prototype.query;
pg.Client.prototype.query = function (q, ...rest) {
  const key = fold(typeof q === 'string' ? q : (q && q.text) || '');
  total++;
  byText.set(key, (byText.get(key) || 0) + 1);
  if (key === 'begin') inside.add(this);
  else if (key === 'commit' || key === 'rollback') { inside.delete(this); transactions++; }
  else if (inside.has(this)) inTx++;
  return original.call(this, q, ...rest);
};
process.on('SIGUSR2', () => {
  writeFileSync(${JSON.stringify(file)}, JSON.stringify({ total, transactions, inTx, byText: [...byText] }));
  byText = new Map(); total = 0; transactions = 0; inTx = 0;
});
`;
}

interface ProbeCounts {
  total: number;
  transactions: number;
  inTx: number;
  byText: [string, number][];
}

async function readProbe(pid: number, file: string): Promise<ProbeCounts> {
  rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 300; i++) {
    await sleep(10);
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as ProbeCounts;
    } catch {
      /* not written yet */
    }
  }
  throw new Error('the statement probe did not answer');
}

async function pgQuery<T>(url: string, q: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(q)).rows as T[];
  } finally {
    await c.end();
  }
}

const commitsSoFar = async (url: string) => Number((await pgQuery<{ n: string }>(url, 'select xact_commit as n from pg_stat_database where datname = current_database()'))[0]!.n);
const jobsLeft = async (url: string) => Number((await pgQuery<{ n: string }>(url, 'select count(*) as n from graphile_worker._private_jobs where attempts < max_attempts'))[0]!.n);

async function run(db: 'sqlite' | 'postgres') {
  const dataDir = mkdtempSync(join(tmpdir(), 'firebreak-bench-'));
  const pgDb = db === 'postgres' ? await freshPostgresDatabase() : null;
  const diagnose = DIAGNOSE && pgDb ? { file: join(dataDir, 'probe.json'), module: join(dataDir, 'probe.mjs') } : null;
  if (diagnose) writeFileSync(diagnose.module, probeModule(import.meta.resolve('pg'), diagnose.file));
  const fb = await startFirebreakProcess(
    { DATA_DIR: dataDir, ...(pgDb ? { DATABASE_URL: pgDb.url, FIREBREAK_MASTER_KEY: randomBytes(32).toString('base64'), DB_POOL_SIZE: '20' } : {}) },
    { preload: diagnose ? [pathToFileURL(diagnose.module).href] : [] },
  );
  try {
    const owner = await signInWithLink(fb.baseUrl, fb.loginUrl);
    const secret = randomBytes(24).toString('base64url');
    const put = await owner.request('PUT', '/api/v1/integrations/pagerduty/webhook_secret', { secret });
    if (put.status !== 200) throw new Error(`webhook secret: ${put.status} ${JSON.stringify(put.body)}`);
    await sleep(1100); // the receiver caches secrets for a second
    const deliveries = makeDeliveries(secret);
    const url = `${fb.baseUrl}/webhooks/pagerduty`;
    await send(url, makeDeliveries(secret).slice(0, 200)); // warm-up (JIT, pools)
    if (diagnose) {
      // Counts start once the warm-up's deliveries are applied and their jobs have run.
      for (let i = 0; i < 400 && ((await counts(db, { url: pgDb!.url })).applied < 200 || (await jobsLeft(pgDb!.url)) > 0); i++) await sleep(100);
      await readProbe(fb.child.pid!, diagnose.file);
    }
    const commits0 = diagnose ? await commitsSoFar(pgDb!.url) : 0;
    const pg0 = pgDb ? await postgresCpu(pgDb.url, { everyProcess: true }) : null;
    const clients0 = process.cpuUsage();
    const cpu0 = cpuSeconds(fb.child.pid);
    const first = await send(url, deliveries);
    const cpuMs = ((cpuSeconds(fb.child.pid) - cpu0) * 1000) / N;
    const clientsUsed = process.cpuUsage(clients0);
    const clientMs = (clientsUsed.user + clientsUsed.system) / 1000 / N;
    const pgMs = pg0 ? cpuBetween(pg0, await postgresCpu(pgDb!.url, { everyProcess: true })) / N : 0;
    // Every delivery costs CPU in Firebreak, PostgreSQL and the senders, all on this machine's cores: no server could
    // accept more than the cores divided by that sum.
    const ceiling = (availableParallelism() * 1000) / (cpuMs + pgMs + clientMs);
    const again = await send(url, deliveries.slice(0, REDELIVER));
    const server = await serverSide(fb.baseUrl);
    const where = { file: join(dataDir, 'firebreak.sqlite'), url: pgDb?.url };
    const stored = await counts(db, where);
    const t = performance.now();
    let c = stored;
    while (c.applied < c.stored && performance.now() - t < 300_000) {
      await sleep(250);
      c = await counts(db, where);
    }
    const applyMs = performance.now() - t;
    let diagnosis: string[] = [];
    if (diagnose) {
      // Everything the deliveries caused: intake, the drain and the jobs it queued (link jobs), then the counts.
      const t1 = performance.now();
      while ((await jobsLeft(pgDb!.url)) > 0 && performance.now() - t1 < 120_000) await sleep(100);
      const jobsMs = applyMs + performance.now() - t1;
      const p = await readProbe(fb.child.pid!, diagnose.file);
      const commits = (await commitsSoFar(pgDb!.url)) - commits0;
      const per = (n: number) => (n / (N + REDELIVER)).toFixed(2);
      diagnosis = [
        `  statements (--diagnose)  ${per(p.total)} per delivery sent (${p.total} for ${N + REDELIVER}, redeliveries included), ${per(p.inTx)} of them inside ${per(p.transactions)} BEGIN…COMMIT; PostgreSQL counted ${per(commits)} commits per delivery; queued jobs done ${(jobsMs / 1000).toFixed(1)} s after intake ended`,
        ...p.byText.sort((a, b) => b[1] - a[1]).slice(0, 12).map(([text, n]) => `      ${per(n).padStart(6)}  ${text}`),
      ];
    }
    const expected = N + 200;
    console.log(`${db}: ${N} signed deliveries from ${CONCURRENCY} clients over ${INCIDENTS} PagerDuty incidents (load average ${loadavg()[0]!.toFixed(1)})`);
    console.log(`  accepted and stored      ${Math.round((N / first.wallMs) * 1000)} deliveries/s (${(first.wallMs / 1000).toFixed(2)} s), failures ${first.failures}`);
    console.log(`  latency                  p50 ${pct(first.latencies, 50).toFixed(1)} ms, p99 ${pct(first.latencies, 99).toFixed(1)} ms, max ${Math.max(...first.latencies).toFixed(1)} ms`);
    console.log(`  Firebreak CPU            ${cpuMs.toFixed(2)} ms per delivery (intake and the drain running meanwhile) → about ${Math.round(1000 / cpuMs)} deliveries/s per free core`);
    console.log(`  CPU per delivery, all    Firebreak ${cpuMs.toFixed(2)} ms${pg0 ? ` + PostgreSQL ${pgMs.toFixed(2)} ms` : ''} + the ${CONCURRENCY} senders ${clientMs.toFixed(2)} ms on ${availableParallelism()} cores → at most ${Math.round(ceiling)} deliveries/s on this machine (${Math.round((100 * ((N / first.wallMs) * 1000)) / ceiling)}% reached)`);
    console.log(`  server-side handling     p50 ${server.p50}, p99 ${server.p99} (${server.count} requests, Prometheus buckets)`);
    console.log(`  redeliveries             ${REDELIVER} sent again: ${again.duplicates} answered as duplicates, p99 ${pct(again.latencies, 99).toFixed(1)} ms`);
    console.log(`  stored                   ${stored.stored} rows for ${expected} distinct deliveries (${stored.stored === expected ? 'none lost, none doubled' : 'MISMATCH'})`);
    console.log(`  applied                  ${c.applied} of ${c.stored} (each once: the drain sets applied_at in the transaction that queues its follow-up jobs), all applied ${(applyMs / 1000).toFixed(1)} s after intake ended`);
    for (const line of diagnosis) console.log(line);
    const bench = 'webhooks';
    const rate = (N / first.wallMs) * 1000;
    const p99 = pct(first.latencies, 99);
    report({ bench, figure: `webhook deliveries accepted/s, ${db}, ${CONCURRENCY} clients`, value: rate, unit: '/s', target: '≥ 1,000/s', met: rate >= 1000, limit: `about ${Math.round(1000 / cpuMs)}/s per free core of Firebreak CPU; this machine's CPU ceiling ${Math.round(ceiling)}/s` });
    report({ bench, figure: `webhook delivery p99, ${db}`, value: p99, unit: 'ms', target: '< 50 ms', met: p99 < 50 });
    report({ bench, figure: `all applied after intake ended, ${db}`, value: applyMs / 1000, unit: 's', target: '≤ 1 s', met: applyMs <= 1000 && c.applied === c.stored, limit: 'the drain reads once its 50 ms slot ends' });
  } finally {
    fb.child.kill('SIGTERM');
    await new Promise((r) => fb.child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
    await pgDb?.drop();
  }
}

async function main() {
  for (const db of DBS) await run(db);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
