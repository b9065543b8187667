// Benchmark: escalate one incident to 10 PagerDuty targets (4 escalation policies + 6 people) with the emulator
// answering every request after --latency ms (default 50). Firebreak runs as its own process (`firebreak
// start`); the PagerDuty emulator runs in this one, so neither's event loop delays the other. Prints one
// PagerDuty round trip, the time from submitting the escalation until all 10 PagerDuty incidents exist in the
// emulator, and the ratio (target: under 1.5 round trips, since the targets are paged side by side as soon as the
// escalation is recorded). BENCH_SHORT=1: 3 runs.
// Run: npm run bench:escalate [-- --runs 7 --latency 50 --db sqlite|postgres --trace [--statements] --profile DIR]
//   --trace  also say where the time goes, per run (bench/pg-trace-probe.mjs preloaded into Firebreak): Firebreak's
//            CPU per escalation (with its jobs) and, on PostgreSQL, the statements before, in and after the
//            escalation's transaction, and when it began and committed, when the first and last POST /incidents
//            reached PagerDuty, and when all 10 incidents existed, each in ms after the submit.
//            --statements lists the last run's statements until all were paged.
//   --profile DIR  write Firebreak's CPU profile (node --cpu-prof) to DIR and say where its CPU went from each submit
//            until that escalation's last page left, all runs together (busy near the window means the pages wait for
//            Firebreak's CPU; idle, for PostgreSQL or the machine)
//   (postgres: TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test; a fresh database is made and dropped)
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startPagerDutyEmulator } from '../emulators/pagerduty/index.js';
import { freshPostgresDatabase, signInWithLink, type Client } from '../test/helpers.js';
import { printSummary, summarize } from './cpuprofile-summary.js';
import { startFirebreakProcess } from './firebreak-process.js';
import { report, shortRun } from './report.js';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : def;
};
const RUNS = Number(arg('runs', shortRun ? '3' : '7'));
const LATENCY = Number(arg('latency', '50'));
const DB = arg('db', 'sqlite') as 'sqlite' | 'postgres';
const TRACE = args.includes('--trace');
const PROFILE_DIR = args.includes('--profile') ? resolve(arg('profile', '')) : undefined;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (n: number) => `${n.toFixed(1)} ms`;
const sleep = (n: number) => new Promise((r) => setTimeout(r, n));


async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function main() {
  const pd = await startPagerDutyEmulator({ seed: 'medium', rateLimitPerMinute: false });
  const dataDir = mkdtempSync(join(tmpdir(), 'firebreak-bench-'));
  const pg = DB === 'postgres' ? await freshPostgresDatabase() : null;
  const traceFile = join(dataDir, 'trace.json');
  const fb = await startFirebreakProcess(
    { DATA_DIR: dataDir, ...(pg ? { DATABASE_URL: pg.url, FIREBREAK_MASTER_KEY: randomBytes(32).toString('base64') } : {}), ...(TRACE ? { BENCH_TRACE_FILE: traceFile } : {}) },
    {
      ...(TRACE ? { preload: [new URL('./pg-trace-probe.mjs', import.meta.url).href] } : {}),
      ...(PROFILE_DIR ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR, '--cpu-prof-interval', '100'] } : {}),
    },
  );
  // --profile: each run's window from the submit until the last page left, in CLOCK_MONOTONIC µs (the profile's clock).
  const windows: { fromUs: number; toUs: number }[] = [];
  const readTrace = async (): Promise<Trace> => {
    rmSync(traceFile, { force: true });
    fb.child.kill('SIGUSR2');
    for (let i = 0; ; i++) {
      await sleep(10);
      try {
        return JSON.parse(readFileSync(traceFile, 'utf8')) as Trace;
      } catch (err) {
        if (i > 300) throw err;
      }
    }
  };
  const traces: string[] = [];
  let lastTrace: { trace: Trace; epoch0: number; all: number } | null = null;
  try {
    // The floor on this machine: the same 10 pages sent at once by a client that does nothing else (before Firebreak
    // is connected, so no webhook reaches it), timed like Firebreak's: until all 10 incidents exist.
    const floor = await tenPagesAtOnce(pd);
    const owner: Client = await signInWithLink(fb.baseUrl, fb.loginUrl);
    const bot = [...pd.state.users.values()][0]!;
    const c = await owner.request('PUT', '/api/v1/integrations/pagerduty', { region: 'us', base_url: pd.baseUrl, api_key: pd.fullAccessKey, bot_user_id: bot.id });
    if (c.status !== 200) throw new Error(`connect: ${c.status} ${JSON.stringify(c.body)}`);
    await waitFor('the first sync', async () => !['queued', 'running'].includes((await owner.get(`/api/v1/catalog_sync_runs/${c.body.last_run.id}`)).body.sync_run?.status));
    const policyIds = new Set<string>((await owner.get('/api/v1/integrations/pagerduty/escalation_options?type=escalation_policy&limit=100')).body.options.map((o: { id: string }) => o.id));
    const serviceIds = new Set<string>((await owner.get('/api/v1/integrations/pagerduty/escalation_options?type=service&limit=100')).body.options.map((o: { id: string }) => o.id));
    const policies = [...new Set([...pd.state.services.values()].filter((s) => serviceIds.has(s.id) && policyIds.has(s.escalation_policy_id)).map((s) => s.escalation_policy_id))].slice(0, 4);
    if (policies.length < 4) throw new Error('the seed has fewer than 4 policies used by synced services');
    await owner.patch('/api/v1/integrations/pagerduty/escalation_settings', { fallback_service_id: [...serviceIds][0] });
    const users = [...pd.state.users.values()].slice(20, 26);
    pd.faults.set({ latencyMs: LATENCY });

    // One PagerDuty round trip (same host, same latency).
    const rtts: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t = performance.now();
      await (await fetch(`${pd.baseUrl}/priorities`, { headers: { authorization: `Token token=${pd.fullAccessKey}`, accept: 'application/vnd.pagerduty+json;version=2' } })).text();
      rtts.push(performance.now() - t);
    }
    const rtt = median(rtts);

    const totals: number[] = [];
    const acks: number[] = [];
    let creates = 0;
    for (let run = 0; run < RUNS; run++) {
      const inc = (await owner.post('/api/v1/incidents', { name: `Bench ${run}` })).body.incident;
      pd.clearRequestLog();
      if (TRACE) await readTrace(); // start the trace here
      const t0 = performance.now();
      const epoch0 = performance.timeOrigin + t0;
      const us0 = Number(process.hrtime.bigint() / 1000n);
      const r = await owner.post(`/api/v1/incidents/${inc.id}/escalations`, { escalation_policy_ids: policies, user_ids: users.map((u) => u.id), message: 'Benchmark escalation' });
      acks.push(performance.now() - t0);
      if (r.status !== 201) throw new Error(`escalate: ${r.status} ${JSON.stringify(r.body)}`);
      const keys = new Set<string>(r.body.escalation.targets.map((t: { incident_key: string }) => t.incident_key));
      for (;;) {
        let found = 0;
        for (const i of pd.state.incidents.values()) if (keys.has(i.incident_key)) found++;
        if (found === keys.size) break;
        if (performance.now() - t0 > 30_000) throw new Error(`only ${found} of ${keys.size} PagerDuty incidents after 30 s`);
        await sleep(1);
      }
      totals.push(performance.now() - t0);
      await sleep(2500); // let the (delayed) jobs find nothing left to do before the next run
      const posts = pd.requestLog().filter((e) => e.method === 'POST' && e.path === '/incidents');
      creates += posts.length;
      if (PROFILE_DIR) windows.push({ fromUs: us0, toUs: us0 + (Math.max(...posts.map((p) => Date.parse(p.at))) - epoch0) * 1000 });
      if (TRACE) {
        const trace = await readTrace();
        traces.push(describeRun(trace, epoch0, { ack: acks.at(-1)!, all: totals.at(-1)!, posts: posts.map((p) => Date.parse(p.at) - epoch0), targets: keys.size }));
        lastTrace = { trace, epoch0, all: totals.at(-1)! };
      }
    }
    console.log(`Escalate to 10 targets (4 policies + 6 people), ${DB}, emulator latency ${LATENCY} ms, ${RUNS} runs, load average ${loadavg()[0]!.toFixed(1)}`);
    console.log(`  one PagerDuty round trip (median)      ${ms(rtt)}`);
    console.log(`  submit answered (median)               ${ms(median(acks))}`);
    console.log(`  all 10 PagerDuty incidents exist       median ${ms(median(totals))}, min ${ms(Math.min(...totals))}, max ${ms(Math.max(...totals))}`);
    console.log(`  ratio to one round trip                median ${(median(totals) / rtt).toFixed(2)}×, best ${(Math.min(...totals) / rtt).toFixed(2)}× (target < 1.5×)`);
    console.log(`  the floor: 10 pages sent at once by a bare client, all exist   median ${ms(floor)} = ${(floor / rtt).toFixed(2)}× one round trip`);
    console.log(`  POST /incidents sent                   ${creates} for ${RUNS * 10} targets (each paged once)`);
    if (TRACE) console.log(`  where the time goes (ms after the submit; statements as pg sent them):\n${traces.map((t, i) => `    run ${i + 1}: ${t}`).join('\n')}`);
    if (TRACE && lastTrace && args.includes('--statements')) {
      const { trace, epoch0, all } = lastTrace;
      console.log('  the last run\'s statements until all were paged (sent, answered in ms after the submit; connection):');
      for (const s of trace.trace.filter((x) => x.at <= epoch0 + all)) console.log(`    ${(s.at - epoch0).toFixed(1).padStart(7)} ${s.done === null ? '      -' : (s.done - epoch0).toFixed(1).padStart(7)}  c${s.conn}  ${s.sql}`);
    }
    const ratio = median(totals) / rtt;
    report({ bench: 'escalate', figure: `escalate to 10 targets, ${DB}, all paged (median of ${RUNS})`, value: ratio, unit: '× one round trip', target: '< 1.5×', met: ratio < 1.5 && creates === RUNS * 10, limit: `one PagerDuty round trip, ${rtt.toFixed(1)} ms; the same 10 pages from a bare client ${(floor / rtt).toFixed(2)}×` });
    if (PROFILE_DIR) {
      fb.child.kill('SIGTERM');
      await new Promise((r) => (fb.child.exitCode !== null ? r(null) : fb.child.once('exit', r)));
      const file = readdirSync(PROFILE_DIR)
        .filter((f) => f.endsWith('.cpuprofile') && f.includes(`.${fb.child.pid}.0.`)) // the main thread
        .map((f) => join(PROFILE_DIR, f))[0]!;
      const sums = windows.map((w) => summarize(file, w.fromUs, w.toUs));
      const groups = new Map<string, number>();
      for (const s of sums) for (const g of s.groups) groups.set(g.name, (groups.get(g.name) ?? 0) + g.ms);
      const total = (k: 'windowMs' | 'busyMs' | 'idleMs') => sums.reduce((a, s) => a + s[k], 0);
      console.log(`Firebreak CPU profile ${file}:`);
      printSummary(`from each submit until its last page left, ${windows.length} runs together`, { windowMs: total('windowMs'), busyMs: total('busyMs'), idleMs: total('idleMs'), groups: [...groups].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms) }, 30, windows.length, 'escalation');
    }
  } finally {
    pd.faults.clear();
    if (fb.child.exitCode === null) {
      fb.child.kill('SIGTERM');
      await new Promise((r) => fb.child.once('exit', r));
    }
    await pd.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await pg?.drop();
  }
}

/** Median over 7 runs of: 10 POST /incidents sent at once (one per seeded user), until the emulator holds all 10. */
async function tenPagesAtOnce(pd: Awaited<ReturnType<typeof startPagerDutyEmulator>>): Promise<number> {
  pd.faults.set({ latencyMs: LATENCY });
  const headers = { authorization: `Token token=${pd.fullAccessKey}`, accept: 'application/vnd.pagerduty+json;version=2', 'content-type': 'application/json', from: [...pd.state.users.values()][0]!.email };
  const service = [...pd.state.services.values()][0]!;
  const assignees = [...pd.state.users.values()].slice(0, 10);
  const times: number[] = [];
  for (let run = 0; run < 7; run++) {
    const keys = new Set(assignees.map((_, i) => `bench-floor-${run}-${i}-${randomBytes(4).toString('hex')}`));
    const t0 = performance.now();
    [...keys].forEach((key, i) => {
      const incident = { type: 'incident', title: 'Benchmark floor', service: { id: service.id, type: 'service_reference' }, urgency: 'high', incident_key: key, body: { type: 'incident_body', details: 'Benchmark floor' }, assignments: [{ assignee: { id: assignees[i]!.id, type: 'user_reference' } }] };
      void fetch(`${pd.baseUrl}/incidents`, { method: 'POST', headers, body: JSON.stringify({ incident }) }).then((r) => r.text());
    });
    // Polled every millisecond, as the escalations are below.
    while ([...pd.state.incidents.values()].filter((i) => keys.has(i.incident_key)).length < keys.size) {
      if (performance.now() - t0 > 30_000) throw new Error('the floor\'s 10 incidents did not all appear in 30 s');
      await sleep(1);
    }
    times.push(performance.now() - t0);
    await sleep(200);
  }
  pd.faults.clear();
  return median(times);
}

interface Trace {
  cpuMs: number;
  trace: { at: number; done: number | null; conn: number; sql: string }[];
}

/**
 * One run's trace in one line: Firebreak's CPU for the escalation and its jobs; on PostgreSQL the statements
 * before the escalation's transaction (the request's reads), in it, after its commit until all targets were
 * paged, and later (the safety-net jobs), with when the transaction began and committed and when the PagerDuty
 * calls arrived. Times in ms after the submit.
 */
function describeRun(t: Trace, epoch0: number, r: { ack: number; all: number; posts: number[]; targets: number }): string {
  const rel = (x: number) => (x - epoch0).toFixed(0);
  const cpu = `CPU ${t.cpuMs.toFixed(0)} ms`;
  const posts = [...r.posts].sort((a, b) => a - b);
  const pdCalls = `POST /incidents at ${posts.length ? `${posts[0]!.toFixed(0)}–${posts.at(-1)!.toFixed(0)}` : '-'}`;
  const tail = `answered ${r.ack.toFixed(0)}, all exist ${r.all.toFixed(0)}`;
  const begin = t.trace.findIndex((s, i) => s.sql === 'begin' && t.trace.slice(i + 1).find((x) => x.conn === s.conn && (x.sql === 'commit' || x.sql.startsWith('insert into "pagerduty_escalations"')))?.sql.startsWith('insert'));
  if (begin < 0) return `${cpu}; ${pdCalls}; ${tail}`;
  const conn = t.trace[begin]!.conn;
  const commit = t.trace.findIndex((s, i) => i > begin && s.conn === conn && s.sql === 'commit');
  const inTx = t.trace.slice(begin, commit + 1).filter((s) => s.conn === conn);
  const commitDone = t.trace[commit]!.done ?? t.trace[commit]!.at;
  const allAt = epoch0 + r.all;
  const before = t.trace.filter((s) => s.at < t.trace[begin]!.at).length;
  const pagingAfter = t.trace.filter((s) => s.at >= commitDone && s.at <= allAt).length;
  const later = t.trace.filter((s) => s.at > allAt).length;
  return `${cpu}; ${before} statements before the transaction, ${inTx.length} in it (begin ${rel(t.trace[begin]!.at)}, committed ${rel(commitDone)}), ${pagingAfter} from commit to all paged (${(pagingAfter / r.targets).toFixed(1)}/target), ${later} later (${(later / r.targets).toFixed(1)}/target); ${pdCalls}; ${tail}`;
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
