// Benchmark: sync the PagerDuty catalog of the `large` and `huge` emulator accounts into a fresh Firebreak,
// then sync again with no change. Prints wall time, PagerDuty requests against the minimum possible, rows
// written and peak memory, first with the emulator's rate limit off (and Firebreak's budget unbounded), then
// with PagerDuty's default 960 requests/minute (Firebreak's budget at 960) counting 429 answers.
//
// Two minimums are printed, so nobody is misled:
// - "issue minimum": the issue's definition, word for word: sum over types of ceil(count/100), plus the tag
//   lookups, plus the team-member pages (sum over teams of ceil(members/100)).
// - "strict minimum": the same without team-member pages, because every user object carries its `teams`, so a
//   sync that reads users needs no member pages at all. This is the one Firebreak is measured against.
// Neither is reachable for an account with more than 10,000 users: PagerDuty lists at most 10,000 items of a
// list, so the users past that window come through `team_ids[]` slices (each ends on a part page), and users
// past the window in no team cannot be listed by any request.
//
//   npm run bench:pagerduty-sync [-- --seeds large,huge] [-- --modes off,960] [-- --schedules 1500]
//   npm run bench:sync-schedules      (the huge account with 1,500 schedules, rate limit off)
//
// `--schedules N` gives the emulator's seed N schedules (with layers) instead of the size's own; the strict minimum
// then counts their pages too (one /schedules list with include[]=schedule_layers), and the run prints the requests
// against the strict minimum (target <= 1.05x) and the peak memory (target < 300 MB) beside their targets.
//
// Memory is measured as production runs the code: the bench compiles itself the way `npm run build` compiles the
// server (esbuild, scripts/build-lib.mjs) and runs that with --expose-gc, so every run starts from a collected heap
// and the figure is not the TypeScript loader's (tsx holds ~50 MB of its own). `--tsx` runs the sources through tsx
// instead, as in development. The emulator runs in a child process, and the bench keeps nothing of the emulator's
// export, so the memory figures are Firebreak's alone.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildFirebreak } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { PagerDutyIntegration } from '../src/integrations/pagerduty/index.js';
import { createLogger } from '../src/platform/logger.js';
import { report, shortRun } from './report.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
// BENCH_SHORT=1 (npm run bench): the large account only, rate limit off (the huge one takes minutes).
const { values } = parseArgs({ options: { seeds: { type: 'string', default: shortRun ? 'large' : 'large,huge' }, modes: { type: 'string', default: shortRun ? 'off' : 'off,960' }, schedules: { type: 'string' }, tsx: { type: 'boolean', default: false } } });
if (process.env.FIREBREAK_BENCH_INNER !== '1') {
  // The outer run only prepares the measured one: compiled (default) or through tsx, always with the GC exposed.
  let entry = [join(repo, 'bench/pagerduty-sync.ts')];
  if (!values.tsx) {
    // @ts-expect-error: plain JavaScript without declarations (it runs before anything is compiled)
    const { compileForNode } = await import('../scripts/build-lib.mjs');
    const outDir = join(repo, '.bench-build');
    rmSync(outDir, { recursive: true, force: true });
    await compileForNode(['bench/pagerduty-sync.ts'], outDir);
    entry = [join(outDir, 'pagerduty-sync.js')];
  } else entry = ['--import', 'tsx', ...entry];
  console.log(values.tsx ? 'Firebreak runs through tsx (development); the figures include the loader.' : 'Firebreak runs compiled, as `npm start` and `firebreak start` run it (`--tsx` for the development loader).');
  const inner = spawnSync(process.execPath, ['--expose-gc', ...entry, ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, FIREBREAK_BENCH_INNER: '1' } });
  process.exit(inner.status ?? 1);
}
const scheduleCount = values.schedules === undefined ? undefined : Number(values.schedules);
if (scheduleCount !== undefined && (!Number.isInteger(scheduleCount) || scheduleCount < 0)) throw new Error('--schedules must be a non-negative integer');
const seeds = values.seeds!.split(',');
const modes = values.modes!.split(',');

async function startEmulator(seed: string, rateLimit: string): Promise<{ baseUrl: string; key: string; proc: ChildProcess }> {
  const key = `bench_full_${Date.now()}`;
  const proc = spawn(process.execPath, ['--import', 'tsx', join(repo, 'emulators/pagerduty/cli.ts'), '--port', '0', '--seed', seed, '--rate-limit', rateLimit, '--full-access-key', key, '--read-only-key', `${key}_ro`, ...(scheduleCount !== undefined ? ['--schedules', String(scheduleCount)] : [])], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
  const baseUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Base URL\s+(\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.on('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
  });
  return { baseUrl, key, proc };
}

interface Figures {
  /** The process's peak RSS so far (getrusage), which includes earlier runs. */
  maxRssMb: number;
  startRssMb: number;
  seconds: number;
  requests: number;
  rows: number;
  status: string;
  peakRssMb: number;
  peakHeapMb: number;
  errors: string[];
  statuses: Map<string, number>;
}

async function measure(run: () => Promise<{ requests: number; rowsWritten?: number; status: string; errors: string[]; stats: Record<string, { warnings?: string[] }> }>, statuses: Map<string, number>): Promise<Figures> {
  statuses.clear();
  globalThis.gc?.();
  const startRss = process.memoryUsage().rss;
  let peakRss = startRss;
  let peakHeap = process.memoryUsage().heapUsed;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 20);
  const t0 = performance.now();
  const r = await run();
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(timer);
  // The sampler cannot run while synchronous SQLite work blocks the event loop: take a last sample, and report
  // the kernel's high-water mark for the whole process too (it only ever grows).
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const warnings = Object.entries(r.stats).flatMap(([k, t]) => (t.warnings ?? []).map((w) => `${k}: ${w}`));
  return { maxRssMb: process.resourceUsage().maxRSS / 1024, startRssMb: startRss / 2 ** 20, seconds, requests: r.requests, rows: r.rowsWritten ?? 0, status: r.status, peakRssMb: peakRss / 2 ** 20, peakHeapMb: peakHeap / 2 ** 20, errors: [...r.errors, ...warnings.map((w) => `warning ${w}`)], statuses: new Map(statuses) };
}

const pages = (n: number) => Math.max(1, Math.ceil(n / 100));

/** The emulator's counts and the two minimums; the export they are computed from is let go before anything is measured. */
async function minimumRequests(baseUrl: string): Promise<{ counts: Record<string, number>; minimum: number; memberPages: number }> {
  const counts = ((await (await fetch(`${baseUrl}/_emulator/state`)).json()) as { counts: Record<string, number> }).counts;
  const exported = (await (await fetch(`${baseUrl}/_emulator/export`)).json()) as { tags: { label: string; escalation_policies: string[] }[]; teams: { members: { user_id: string }[] }[]; users: { id: string }[] };
  const ignoredPolicies = exported.tags.find((t) => t.label === 'incident-io-ignore')?.escalation_policies.length ?? 0;
  // Strict: one list per type and the two tag lookups (GET /tags?query=, then its escalation policies).
  const minimum = pages(counts.users!) + pages(counts.teams!) + pages(counts.services!) + pages(counts.priorities!) + pages(counts.escalation_policies!) + pages(counts.schedules!) + 1 + pages(ignoredPolicies);
  // The issue's definition adds the team-member pages: sum over teams of ceil(members/100).
  const userIds = new Set(exported.users.map((u) => u.id));
  const memberPages = exported.teams.reduce((n, t) => n + Math.ceil(t.members.filter((m) => userIds.has(m.user_id)).length / 100), 0);
  return { counts, minimum, memberPages };
}

for (const seed of seeds) {
  for (const mode of modes) {
    const emu = await startEmulator(seed, mode);
    const dataDir = mkdtempSync(join(tmpdir(), 'firebreak-bench-'));
    const fb = await buildFirebreak(loadConfig({}, { dataDir }), createLogger('warn', process.stderr));
    try {
      const { counts, minimum, memberPages } = await minimumRequests(emu.baseUrl);
      const issueMinimum = minimum + memberPages;
      const statuses = new Map<string, number>();
      const integration = new PagerDutyIntegration({
        db: fb.database.db,
        dialect: fb.database.dialect,
        connections: fb.connections,
        catalog: fb.catalog.service,
        runs: fb.catalog.runs,
        jobs: fb.jobs,
        logger: fb.logger,
        observeRequest: (i) => statuses.set(String(i.status), (statuses.get(String(i.status)) ?? 0) + 1),
      });
      const bot = ((await (await fetch(`${emu.baseUrl}/users?limit=1`, { headers: { authorization: `Token token=${emu.key}` } })).json()) as { users: { email: string }[] }).users[0]!;
      await integration.connect({ region: 'us', baseUrl: emu.baseUrl, apiKey: emu.key, botEmail: bot.email }, { kind: 'system', ref: 'bench' });
      await fb.connections.updateSettings('pagerduty', { rateLimitPerMinute: mode === 'off' ? 1_000_000 : Number(mode) });
      const sync = async () => integration.runSync((await integration.requestSync({ trigger: 'bench', enqueue: false })).id);
      const first = await measure(sync, statuses);
      const second = await measure(sync, statuses);
      const line = (name: string, f: Figures) =>
        `  ${name.padEnd(18)} ${f.status.padEnd(9)} ${f.seconds.toFixed(2).padStart(7)} s  requests ${String(f.requests).padStart(5)} (issue minimum incl. ${memberPages} team-member pages ${issueMinimum}: ${(f.requests / issueMinimum).toFixed(3)}x; strict minimum ${minimum}: ${(f.requests / minimum).toFixed(3)}x)  rows written ${String(f.rows).padStart(6)}  peak RSS ${f.peakRssMb.toFixed(0)} MB (${f.startRssMb.toFixed(0)} MB before; process high-water ${f.maxRssMb.toFixed(0)} MB), heap ${f.peakHeapMb.toFixed(0)} MB  429s ${f.statuses.get('429') ?? 0}  5xx/dropped ${[...f.statuses].filter(([s]) => s === 'null' || s.startsWith('5')).reduce((n, [, c]) => n + c, 0)}`;
      console.log(`\nseed ${seed}: ${counts.users} users, ${counts.teams} teams, ${counts.services} services, ${counts.escalation_policies} escalation policies, ${counts.schedules} schedules, ${counts.priorities} priorities; emulator rate limit ${mode === 'off' ? 'off' : `${mode}/min`}, Firebreak budget ${mode === 'off' ? 'unbounded' : `${mode}/min`}`);
      console.log(line('first sync', first));
      console.log(line('no-change re-sync', second));
      for (const e of new Set([...first.errors, ...second.errors])) console.log(`  note: ${e}`);
      // Schedules: their own pages against their own minimum, then the whole run's figures beside their targets.
      const requestLog = ((await (await fetch(`${emu.baseUrl}/_emulator/requests?path=/schedules`)).json()) as { requests: unknown[] }).requests.length;
      console.log(`  schedules: ${requestLog} /schedules requests over both runs (${pages(counts.schedules!)} pages of 100 per run), none per schedule`);
      const ratio = first.requests / minimum;
      // The process's high-water mark over both runs (the sampler cannot see inside synchronous SQLite work).
      const peak = Math.max(first.peakRssMb, second.peakRssMb, second.maxRssMb);
      console.log(`  figure vs target: requests ${first.requests} / strict minimum ${minimum} = ${ratio.toFixed(3)}x (target <= 1.05x: ${ratio <= 1.05 ? 'met' : 'NOT met'}); peak RSS ${peak.toFixed(0)} MB (target < 300 MB: ${peak < 300 ? 'met' : 'NOT met'})`);
      const tag = `${seed} account${scheduleCount !== undefined ? ` with ${scheduleCount} schedules` : ''}, rate limit ${mode === 'off' ? 'off' : `${mode}/min`}`;
      if (scheduleCount !== undefined) {
        report({ bench: 'pagerduty-sync', figure: `requests against the strict minimum, ${tag}`, value: Number(ratio.toFixed(3)), unit: '×', target: '<= 1.05×', met: ratio <= 1.05, limit: `${first.requests} of ${minimum}` });
        report({ bench: 'pagerduty-sync', figure: `peak RSS, ${tag}`, value: Math.round(peak), unit: 'MB', target: '< 300 MB', met: peak < 300 });
      }
      report({ bench: 'pagerduty-sync', figure: `first sync, ${tag}`, value: first.seconds, unit: 's', target: 'succeeds', met: first.status === 'succeeded', limit: `${first.requests} requests, ${(first.requests / minimum).toFixed(2)}× the strict minimum` });
      report({ bench: 'pagerduty-sync', figure: `rows written by a no-change re-sync, ${tag}`, value: second.rows, unit: 'rows', target: '0, and succeeds', met: second.rows === 0 && second.status === 'succeeded' });
      if (mode !== 'off') report({ bench: 'pagerduty-sync', figure: `429 answers within Firebreak's budget, ${tag}`, value: (first.statuses.get('429') ?? 0) + (second.statuses.get('429') ?? 0), unit: '', target: '0', met: (first.statuses.get('429') ?? 0) + (second.statuses.get('429') ?? 0) === 0 });
    } finally {
      await fb.http.close();
      await fb.database.destroy();
      emu.proc.kill('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
}
process.exit(0);
