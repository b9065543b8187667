// Benchmark: 50 people run `/incident declare` and submit the modal at the same moment. Firebreak runs as its
// own process (`firebreak start`, SQLite, Slack configured through the environment) against the in-process
// Slack emulator. Prints the ack latency Slack would see (p50/p99 of the slash command and of the modal
// submission, against Slack's 3 s limit) and how long until each incident's channel exists and its header is
// pinned. Run: npm run bench:slack [-- --people 50 --latency 0]   (--latency: ms added to every Slack Web API call)
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { startSlackEmulator, type SlackEmulator } from '../emulators/slack/index.js';
import { startFirebreakProcess } from './firebreak-process.js';

const args = process.argv.slice(2);
const arg = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const PEOPLE = arg('people', 50);
const LATENCY = arg('latency', 0);

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
const ms = (n: number) => `${Math.round(n)} ms`;


/** Server-side handling time of POST /slack/events from Firebreak's Prometheus histogram: bucket bounds at p50 / p99. */
async function serverSide(baseUrl: string): Promise<{ count: number; p50: string; p99: string }> {
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
    return hit ? (hit[0] === Infinity ? '> 10 s' : `≤ ${hit[0] * 1000} ms`) : '?';
  };
  return { count, p50: at(50), p99: at(99) };
}

async function waitFor<T>(fn: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (performance.now() > until) return undefined;
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function declareOne(emu: SlackEmulator, i: number, channelId: string) {
  const user = emu.addUser({ name: `bench${i}`, realName: `Bench Person ${i}`, email: `bench${i}@example.com` });
  const cmd = await emu.driver.slashCommand({ userId: user.id, channelId, command: '/incident', text: 'declare' });
  const view = cmd.status === 200 ? await waitFor(() => emu.openViews(user.id)[0], 10_000) : undefined;
  if (!view) return { cmd, submit: null, channelMs: NaN, headerMs: NaN };
  const submittedAt = performance.now();
  const submit = await emu.driver.submitView({ userId: user.id, viewId: view.id, values: { name: { value: `Bench ${i}` } } });
  const suffix = `-bench-${i}`;
  const channel = await waitFor(() => [...emu.state.channels.values()].find((c) => c.name.endsWith(suffix)), 60_000);
  const channelMs = performance.now() - submittedAt;
  const pinned = channel ? await waitFor(() => emu.messagesIn(channel.id).find((m) => m.pinned) ?? undefined, 60_000) : undefined;
  const headerMs = performance.now() - submittedAt;
  return { cmd, submit, channelMs: channel ? channelMs : NaN, headerMs: pinned ? headerMs : NaN };
}

async function main() {
  const emu = await startSlackEmulator();
  const announcements = emu.addChannel('incidents');
  if (LATENCY > 0) emu.faults.latencyMs('*', LATENCY);
  const dataDir = mkdtempSync(join(tmpdir(), 'firebreak-bench-slack-'));
  const { child, baseUrl } = await startFirebreakProcess({
    DATA_DIR: dataDir,
    SLACK_BOT_TOKEN: emu.botToken,
    SLACK_SIGNING_SECRET: emu.signingSecret,
    SLACK_API_URL: emu.apiUrl,
    SLACK_ANNOUNCEMENTS_CHANNEL: announcements.id,
    JOB_CONCURRENCY: '8',
  });
  emu.setAppUrl(`${baseUrl}/slack/events`);
  const general = [...emu.state.channels.values()].find((c) => c.isGeneral)!;
  try {
    // Warm-up: one declaration, so module loading and the first auth.test are not measured.
    await declareOne(emu, 0, general.id);
    const load = loadavg();
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const health: number[] = [];
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const t = performance.now();
        await fetch(`${baseUrl}/healthz`).then((r) => r.text());
        health.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: PEOPLE }, (_, k) => declareOne(emu, k + 1, general.id)));
    const wall = performance.now() - started;
    probing = false;
    await probe;
    lag.disable();
    const cmdAcks = results.map((r) => r.cmd.ackMs);
    const submitAcks = results.flatMap((r) => (r.submit ? [r.submit.ackMs] : []));
    const channels = results.map((r) => r.channelMs).filter((n) => !Number.isNaN(n));
    const headers = results.map((r) => r.headerMs).filter((n) => !Number.isNaN(n));
    const missed = results.reduce((n, r) => n + (r.cmd.timedOut || r.cmd.status !== 200 ? 1 : 0) + (!r.submit || r.submit.timedOut || r.submit.status !== 200 ? 1 : 0), 0);
    await waitFor(() => (emu.messagesIn(announcements.id).length >= PEOPLE + 1 ? true : undefined), 30_000);
    const announced = emu.messagesIn(announcements.id).length;
    const server = await serverSide(baseUrl);
    console.log(`\n/incident declare: ${PEOPLE} people at once, Slack API latency ${LATENCY} ms, Firebreak on SQLite (separate process)`);
    console.log(`  slash command ack    p50 ${ms(pct(cmdAcks, 50))}  p99 ${ms(pct(cmdAcks, 99))}  max ${ms(Math.max(...cmdAcks))}`);
    console.log(`  modal submit ack     p50 ${ms(pct(submitAcks, 50))}  p99 ${ms(pct(submitAcks, 99))}  max ${ms(Math.max(...submitAcks))}`);
    console.log(`  missed 3 s ack       ${missed} of ${PEOPLE * 2} requests`);
    console.log(`  server handling      p50 ${server.p50}  p99 ${server.p99}  (all ${server.count} /slack/events requests, from /metrics; the acks above add the network and both processes' scheduling)`);
    console.log(`  submit → channel     p50 ${ms(pct(channels, 50))}  p99 ${ms(pct(channels, 99))}  max ${ms(Math.max(...channels))}  (${channels.length}/${PEOPLE} created)`);
    console.log(`  submit → pinned hdr  p50 ${ms(pct(headers, 50))}  p99 ${ms(pct(headers, 99))}  max ${ms(Math.max(...headers))}  (${headers.length}/${PEOPLE} pinned)`);
    console.log(`  announcements        ${announced - 1}/${PEOPLE}`);
    console.log(`  GET /healthz meanwhile p50 ${ms(pct(health, 50))}  max ${ms(Math.max(...health))}   (Firebreak's responsiveness during the burst)`);
    console.log(`  this process's event-loop delay  p99 ${ms(lag.percentile(99) / 1e6)}  max ${ms(lag.max / 1e6)}`);
    console.log(`  wall time            ${ms(wall)}   (load average before: ${load.map((n) => n.toFixed(1)).join(' ')}, ${PEOPLE} people + emulator in this process)\n`);
    if (missed > 0 || channels.length < PEOPLE) process.exitCode = 1;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await emu.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
