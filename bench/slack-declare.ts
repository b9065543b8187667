// Benchmark (issue 4): N people run `/incident declare` and submit the modal at the same moment. Target: every
// ack under 3 s, p99 under 100 ms.
//
// Three parties, so that each figure is measured where it means something:
//  - Firebreak: its own process (`firebreak start`), SQLite by default or PostgreSQL (--postgres URL), with a
//    preloaded probe (bench/firebreak-probe.mjs) reporting its CPU time and event-loop delay during the burst.
//  - The people and Slack's Web API: the Slack emulator and its driver in a worker thread
//    (bench/slack-people-worker.ts). It builds and signs Slack's requests, serves Firebreak's views.open,
//    conversations.create, chat.postMessage…, and watches for channels and pinned headers.
//  - Slack's edge: this thread does nothing during the burst but relay the driver's requests to Firebreak and
//    time each one from its own socket (request written → response fully read), over keep-alive connections
//    like Slack's. These are the ack latencies reported; this thread's own event-loop delay is printed too, so
//    a busy benchmark cannot hide in them.
//
// Run: npm run bench:slack [-- --people 50 --latency 0 --db sqlite|postgres --postgres postgres://…/db --profile DIR --cold --phased]
//   --latency  ms added to every Slack Web API call (emulator)
//   --db postgres  Firebreak on a fresh PostgreSQL database made (and dropped) on TEST_DATABASE_URL's server
//              (default postgres://postgres@127.0.0.1:5432/test)
//   --postgres Firebreak on that (fresh) PostgreSQL database instead of SQLite
//   --phased   everyone's command is acked and modal open, and Firebreak has finished what the commands started
//              (linking or creating the 50 people: users.info, their user rows), before anyone submits, as when
//              people take a few seconds to fill in the form: each phase's acks and Firebreak's CPU are then
//              reported on their own (CPU time does not depend on the machine's load as much as latencies do)
//   --profile  write Firebreak's CPU profile (node --cpu-prof) to DIR and summarise it for the burst
//   --cold     do not open the relay's connections to Firebreak before the burst (connection set-up is then
//              inside the acks of the first requests)
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { Agent, createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { postgresCpu } from './cpu.js';
import { printSummary, summarize } from './cpuprofile-summary.js';
import { startFirebreakProcess } from './firebreak-process.js';
import { report } from './report.js';
import type { FromWorker, PersonResult, ToWorker, WorkerInit } from './slack-people-worker.js';

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const PEOPLE = Number(opt('people') ?? 50);
const LATENCY = Number(opt('latency') ?? 0);
let POSTGRES = opt('postgres');
const DB = opt('db') ?? (POSTGRES ? 'postgres' : 'sqlite');
const PHASED = args.includes('--phased');
const PROFILE_DIR = opt('profile') ? resolve(opt('profile')!) : undefined;
const COLD = args.includes('--cold');

function pct(values: number[], p: number): number {
  const sorted = [...values].filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
const ms = (n: number) => (Number.isNaN(n) ? '—' : `${Math.round(n)} ms`);
const dist = (v: number[]) => `p50 ${ms(pct(v, 50))}  p99 ${ms(pct(v, 99))}  max ${ms(Math.max(...v))}`;
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** Server-side handling time of POST /slack/events from Firebreak's Prometheus histogram: bucket bounds at p50 / p99. */
async function serverSide(baseUrl: string): Promise<{ count: number; p50: string; p99: string; jobs: string }> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const buckets = new Map<number, number>();
  for (const line of text.split('\n')) {
    const m = /^firebreak_http_request_duration_seconds_bucket\{le="([^"]+)",method="POST",route="\/slack\/events",status="\d+"\} (\d+)/.exec(line);
    if (m) buckets.set(m[1] === '+Inf' ? Infinity : Number(m[1]), (buckets.get(m[1] === '+Inf' ? Infinity : Number(m[1])) ?? 0) + Number(m[2]));
  }
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const count = sorted[sorted.length - 1]?.[1] ?? 0;
  const at = (p: number) => {
    const hit = sorted.find(([, n]) => n >= (p / 100) * count);
    return hit ? (hit[0] === Infinity ? '> 5 s' : `≤ ${hit[0] * 1000} ms`) : '?';
  };
  const jobs = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^firebreak_jobs_processed_total\{name="([^"]+)",outcome="([^"]+)"\} (\d+)/.exec(line);
    if (m) {
      const key = m[2] === 'completed' ? m[1]! : `${m[1]} (${m[2]})`;
      jobs.set(key, (jobs.get(key) ?? 0) + Number(m[3]));
    }
  }
  return { count, p50: at(50), p99: at(99), jobs: [...jobs].sort((a, b) => b[1] - a[1]).map(([n, c]) => `${n} ${c}`).join(', ') };
}

interface Timed {
  kind: 'command' | 'submission' | 'other';
  startUs: number;
  ackMs: number;
  status: number;
  reused: boolean;
}

/** Slack's edge: forwards the driver's requests to Firebreak and times them from this thread's socket. */
async function startRelay(target: () => URL) {
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  let record = false;
  const timed: Timed[] = [];
  const forward = (path: string, headers: IncomingMessage['headers'], body: Buffer) =>
    new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer; startUs: number; ackMs: number; reused: boolean }>((ok, fail) => {
      const t = target();
      const out = request({ host: t.hostname, port: t.port, path, method: 'POST', agent, headers: { ...headers, host: t.host, connection: 'keep-alive' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), startUs, ackMs: performance.now() - started, reused: out.reusedSocket }));
      });
      out.on('error', fail);
      const startUs = nowUs();
      const started = performance.now();
      out.end(body);
    });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const text = body.toString('utf8');
      const kind = text.startsWith('payload=') ? (decodeURIComponent(text.slice(8, 80)).includes('"type":"view_submission"') ? 'submission' : 'other') : /(^|&)command=/.test(text) ? 'command' : 'other';
      forward(req.url ?? '/', req.headers, body).then(
        (r) => {
          if (record) timed.push({ kind, startUs: r.startUs, ackMs: r.ackMs, status: r.status, reused: r.reused });
          const { connection: _c, 'keep-alive': _k, 'transfer-encoding': _t, ...headers } = r.headers;
          res.writeHead(r.status, headers).end(r.body);
        },
        (err: Error) => res.writeHead(502).end(String(err.message)),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  /** Opens `n` idle keep-alive connections to Firebreak, as a busy Slack would already have. */
  const prewarm = async (n: number) => {
    await Promise.all(
      Array.from({ length: n }, () =>
        new Promise<void>((ok, fail) => {
          const t = target();
          request({ host: t.hostname, port: t.port, path: '/healthz', agent }, (res) => res.resume().on('end', ok)).on('error', fail).end();
        }),
      ),
    );
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`,
    timed,
    prewarm,
    record: (on: boolean) => (record = on),
    stop: () => {
      agent.destroy();
      server.closeAllConnections();
      server.close();
    },
  };
}


interface ProbeReading {
  at: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  loopDelay: { p50: number; p99: number; max: number };
}
/** Asks the preloaded probe for Firebreak's CPU and event-loop delay since the last reading. */
async function probe(pid: number, file: string): Promise<ProbeReading> {
  const before = (() => {
    try {
      return statSync(file).mtimeMs;
    } catch {
      return 0;
    }
  })();
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 200; i++) {
    await new Promise((r) => setTimeout(r, 10));
    try {
      if (statSync(file).mtimeMs !== before) {
        const text = readFileSync(file, 'utf8');
        if (text.endsWith('}')) return JSON.parse(text) as ProbeReading;
      }
    } catch {
      /* not written yet */
    }
  }
  throw new Error('the Firebreak probe did not answer');
}

async function main() {
  // The worker registers tsx itself (Node 20 does not pass the main thread's loader hooks on to workers).
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./slack-people-worker.ts', import.meta.url).href;
  const worker = new Worker(`import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`, {
    eval: true,
    workerData: { latencyMs: LATENCY } satisfies WorkerInit,
  });
  worker.on('error', (err) => {
    console.error(err);
    process.exit(1);
  });
  const next = () => new Promise<FromWorker>((r) => worker.once('message', r));
  const tell = (m: ToWorker) => worker.postMessage(m);
  const ready = await next();
  if (ready.kind !== 'ready') throw new Error('worker did not start');

  let dropDb: (() => Promise<void>) | null = null;
  if (DB === 'postgres' && !POSTGRES) {
    process.env.TEST_DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/test';
    const { freshPostgresDatabase } = await import('../test/helpers.js');
    const fresh = await freshPostgresDatabase();
    POSTGRES = fresh.url;
    dropDb = fresh.drop;
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'firebreak-bench-slack-'));
  const probeFile = join(dataDir, 'probe.json');
  let base = new URL('http://127.0.0.1/');
  const relay = await startRelay(() => base);
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    SLACK_BOT_TOKEN: ready.botToken,
    SLACK_SIGNING_SECRET: ready.signingSecret,
    SLACK_API_URL: ready.apiUrl,
    SLACK_ANNOUNCEMENTS_CHANNEL: ready.announcementsId,
    JOB_CONCURRENCY: '8',
    BENCH_PROBE_FILE: probeFile,
  };
  if (POSTGRES) {
    env.DATABASE_URL = POSTGRES;
    env.FIREBREAK_MASTER_KEY ??= Buffer.alloc(32, 7).toString('base64');
  }
  const { child, baseUrl } = await startFirebreakProcess(env, {
    preload: [new URL('./firebreak-probe.mjs', import.meta.url).href],
    nodeArgs: PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR, '--cpu-prof-interval', '250'] : [],
  });
  base = new URL(baseUrl);
  tell({ kind: 'app-url', url: relay.url });
  let childExited = false;
  child.once('exit', () => (childExited = true));
  try {
    // Warm-up: one declaration, so module loading and the first auth.test are not measured.
    tell({ kind: 'run', from: 0, count: 1 });
    const warm = await next();
    if (warm.kind !== 'done' || warm.results[0]!.cmdStatus !== 200) throw new Error(`warm-up failed: ${JSON.stringify(warm)}`);
    if (!COLD) await relay.prewarm(PEOPLE);
    await probe(child.pid!, probeFile); // starts Firebreak's measurement window
    const load = loadavg();
    const lag = monitorEventLoopDelay({ resolution: 1 });
    const health: number[] = [];
    let probing = true;
    relay.record(true);
    lag.enable();
    const pgBefore = POSTGRES ? await postgresCpu(POSTGRES) : null;
    const benchCpu = process.cpuUsage();
    const startedUs = nowUs();
    const started = performance.now();
    tell({ kind: 'run', from: 1, count: PEOPLE, phased: PHASED });
    const probeLoop = (async () => {
      while (probing) {
        const t = performance.now();
        await fetch(`${baseUrl}/healthz`).then((r) => r.text());
        health.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    let phase: { cpuMs: number } | null = null;
    let msg = await next();
    if (msg.kind === 'modals-open') {
      // The commands' work goes on after the modals open (people met for the first time are looked up and linked
      // or created); a person filling in the form takes longer than that, so the submissions start once Firebreak
      // is quiet: under 5% of a core over 250 ms (at most 10 s).
      let commandsCpuMs = 0;
      const settleBy = performance.now() + 10_000;
      for (;;) {
        const r = await probe(child.pid!, probeFile);
        const used = r.cpuUserMs + r.cpuSystemMs;
        commandsCpuMs += used;
        if (used < 12.5 || performance.now() > settleBy) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      phase = { cpuMs: commandsCpuMs };
      tell({ kind: 'submit' });
      msg = await next();
    }
    const done = msg;
    const wall = performance.now() - started;
    const benchCpuMs = (({ user, system }) => (user + system) / 1000)(process.cpuUsage(benchCpu));
    lag.disable();
    relay.record(false);
    probing = false;
    await probeLoop;
    if (done.kind !== 'done') throw new Error('worker failed');
    const fb = await probe(child.pid!, probeFile);
    const pgAfter = POSTGRES ? await postgresCpu(POSTGRES) : null;
    const pgCpuMs = pgAfter ? [...pgAfter].reduce((sum, [pid, cpu]) => sum + cpu - (pgBefore!.get(pid) ?? 0), 0) : null;
    const server = await serverSide(baseUrl);

    const results: PersonResult[] = done.results;
    const cmds = relay.timed.filter((t) => t.kind === 'command');
    const subs = relay.timed.filter((t) => t.kind === 'submission');
    const missed = relay.timed.filter((t) => t.kind !== 'other' && (t.status !== 200 || t.ackMs > 3000)).length + results.filter((r) => r.cmdTimedOut || r.submitTimedOut || r.submitStatus === null).length;
    const channels = results.map((r) => r.channelMs).filter((n) => !Number.isNaN(n));
    const headers = results.map((r) => r.headerMs).filter((n) => !Number.isNaN(n));
    const lastAckUs = (list: Timed[]) => Math.max(...list.map((t) => t.startUs + t.ackMs * 1000));
    const cpuMs = fb.cpuUserMs + fb.cpuSystemMs + (phase?.cpuMs ?? 0);
    const db = POSTGRES ? 'PostgreSQL' : 'SQLite';
    const calls = Object.entries(done.webApiCalls).sort((a, b) => b[1] - a[1]).map(([m, n]) => `${m} ${n}`).join(', ');

    console.log(`\n/incident declare: ${PEOPLE} people at once${PHASED ? ' (phased: all commands, then all submissions)' : ''}, Slack API latency ${LATENCY} ms, Firebreak on ${db} (own process, pid ${child.pid})`);
    console.log(`  load average before  ${load.map((n) => n.toFixed(2)).join(' ')}   (${(await import('node:os')).cpus().length} CPUs; Firebreak, the emulator worker and this thread share them)`);
    console.log(`Acks, timed by Slack's edge (this thread: request written → response read, ${COLD ? 'new connections' : `${PEOPLE} keep-alive connections opened before the burst`}):`);
    console.log(`  slash command ack    ${dist(cmds.map((t) => t.ackMs))}   (${cmds.length} requests, ${cmds.filter((t) => !t.reused).length} on new connections)`);
    console.log(`  modal submit ack     ${dist(subs.map((t) => t.ackMs))}   (${subs.length} requests, ${subs.filter((t) => !t.reused).length} on new connections)`);
    console.log(`  missed 3 s ack       ${missed} of ${PEOPLE * 2} requests`);
    console.log(`  this thread's event-loop delay during the burst  p99 ${ms(lag.percentile(99) / 1e6)}  max ${ms(lag.max / 1e6)}   (what the acks above may be inflated by)`);
    console.log(`Firebreak (probe inside its process, from the burst's start until the last channel is set up):`);
    console.log(`  CPU                  ${Math.round(cpuMs)} ms (user ${Math.round(fb.cpuUserMs)}, system ${Math.round(fb.cpuSystemMs)}) = ${(cpuMs / PEOPLE).toFixed(1)} ms per declaration (command + modal + channel set-up jobs)`);
    if (phase) {
      console.log(`  phased: commands (acks, views.open, users.info, new users) ${Math.round(phase.cpuMs)} ms = ${(phase.cpuMs / PEOPLE).toFixed(1)} ms per person; submissions and everything after ${Math.round(cpuMs - phase.cpuMs)} ms = ${((cpuMs - phase.cpuMs) / PEOPLE).toFixed(1)} ms per declaration`);
    }
    console.log(`  event-loop delay     p50 ${ms(fb.loopDelay.p50)}  p99 ${ms(fb.loopDelay.p99)}  max ${ms(fb.loopDelay.max)}`);
    console.log(`  server handling      p50 ${server.p50}  p99 ${server.p99}   (Fastify's timer, ${server.count} /slack/events requests in all, from /metrics: starts after the request is read, so it leaves out queueing)`);
    console.log(`  jobs run            ${server.jobs}   (since start, the warm-up's included)`);
    console.log(`  GET /healthz         ${dist(health)}   (${health.length} probes from this thread during the burst)`);
    console.log(`  all acks sent within ${ms((Math.max(lastAckUs(cmds), lastAckUs(subs)) - startedUs) / 1000)} of the burst's start; slash commands within ${ms((lastAckUs(cmds) - startedUs) / 1000)}`);
    console.log(`The people (emulator worker thread: the driver, and Slack's Web API serving Firebreak):`);
    console.log(`  command → modal open ${dist(results.map((r) => r.modalMs))}   (ack, then Firebreak's views.open)`);
    console.log(`  submit → channel     ${dist(channels)}   (${channels.length}/${PEOPLE} created)`);
    console.log(`  submit → pinned hdr  ${dist(headers)}   (${headers.length}/${PEOPLE} pinned)`);
    console.log(`  announcements        ${done.announced - 1}/${PEOPLE}`);
    console.log(`  acks as the driver saw them: command ${dist(results.map((r) => r.cmdDriverMs))}; submit ${dist(results.map((r) => r.submitDriverMs))}   (adds the relay hop and the worker's scheduling)`);
    console.log(`  worker event-loop delay p99 ${ms(done.loopDelay.p99)}  max ${ms(done.loopDelay.max)}`);
    console.log(`  Web API calls        ${calls}`);
    console.log(`  bench process CPU    ${Math.round(benchCpuMs)} ms during the burst (this thread, the emulator worker and the healthz probe), competing with Firebreak for the same CPUs`);
    if (pgCpuMs !== null) console.log(`  PostgreSQL CPU       ${Math.round(pgCpuMs)} ms in the backends serving Firebreak's database (/proc, 10 ms ticks), on the same CPUs`);
    console.log(`  wall time            ${ms(wall)}\n`);
    for (const [what, list] of [['slash command ack', cmds], ['modal submit ack', subs]] as const) {
      const p99 = pct(list.map((t) => t.ackMs), 99);
      report({ bench: 'slack', figure: `${what} p99, ${PEOPLE} people at once, ${db}`, value: p99, unit: 'ms', target: '< 100 ms', met: p99 < 100, limit: "Slack's 3 s" });
    }
    if (missed > 0 || channels.length < PEOPLE) process.exitCode = 1;

    if (PROFILE_DIR) {
      child.kill('SIGTERM');
      await new Promise((r) => (childExited ? r(null) : child.once('exit', r)));
      childExited = true;
      const file = readdirSync(PROFILE_DIR)
        .filter((f) => f.endsWith('.cpuprofile') && f.includes(`.${child.pid}.0.`)) // the main thread (thread 1+ are loader workers)
        .map((f) => join(PROFILE_DIR, f))[0]!;
      console.log(`Firebreak CPU profile ${file}:`);
      printSummary('until the last slash-command ack', summarize(file, startedUs, lastAckUs(cmds)), 25);
      printSummary('until the last modal-submit ack', summarize(file, startedUs, lastAckUs(subs)), 25);
      // Phased, the submissions' own window: busy near 100% means the acks wait for CPU, idle means they wait for something else.
      if (PHASED) printSummary('the submissions alone (first submit sent → last submit acked)', summarize(file, Math.min(...subs.map((t) => t.startUs)), lastAckUs(subs)), 25);
      printSummary('whole burst (until the last channel is set up)', summarize(file, startedUs, fb.at), 30, PEOPLE);
    }
  } finally {
    if (!childExited) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    relay.stop();
    tell({ kind: 'stop' });
    await next();
    await worker.terminate();
    rmSync(dataDir, { recursive: true, force: true });
    await dropDb?.();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
