// Benchmark: how fast Firebreak serves after a (re)start, and how much memory an idle process holds (SQLite).
//
// 1. `npm start` with nothing changed (server and web app already built): spawn to the first 200 from /readyz.
//    Target < 2 s. This is the restart an operator sees; before the production build it rebuilt the web app and
//    compiled TypeScript through tsx every time (~13 s on an idle machine).
// 2. The compiled server alone (`node dist/main.js start`, what `firebreak start` runs): spawn to /readyz, beside
//    the same program through tsx (`node --import tsx src/main.ts start`, how it ran before), and the CPU time each
//    spent until ready (user + system, from /proc: steadier than wall time on a shared machine).
// 3. Idle memory: resident set (VmRSS) of the compiled server after IDLE_MS without requests. Target < 150 MB.
//    Beside it the tsx process's.
//
// Every run reuses one data directory (migrated and with its first owner after the warm-up run), so it measures a
// restart, not a first start. Several runs each, median. BENCH_SHORT=1: fewer runs.
//   npm run bench:start [-- --runs 5]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { processCpuMs } from './cpu.js';
import { report, shortRun } from './report.js';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { runs: { type: 'string' } } });
const RUNS = Number(values.runs ?? (shortRun ? 3 : 5));
const TSX_RUNS = shortRun ? 1 : 3;
const IDLE_MS = shortRun ? 3000 : 5000;

interface Run {
  readyMs: number;
  cpuMs: number;
  rssMb: number | null;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

/** The process whose command line runs Firebreak's server: the spawned one, or (npm start) its descendant. */
function serverPid(rootPid: number): number {
  const r = spawnSync('pgrep', ['-g', String(rootPid)], { encoding: 'utf8' });
  for (const pid of r.stdout.trim().split('\n').filter(Boolean).map(Number)) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (/^\S*node /.test(cmd) && /(dist\/main\.js|src\/main\.ts) start/.test(cmd)) return pid;
    } catch {
      /* gone */
    }
  }
  return rootPid;
}

const cpuMsOf = (pid: number) => {
  const ms = processCpuMs(pid);
  if (ms === null) throw new Error(`process ${pid} is gone`);
  return ms;
};
const rssMbOf = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

async function startOnce(cmd: string[], dataDir: string, opts: { idle: boolean }): Promise<Run> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(cmd[0]!, cmd.slice(1), {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: npm and the server it starts are stopped together
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  let exited = false;
  const exit = new Promise<void>((r) => child.once('exit', () => ((exited = true), r())));
  try {
    for (;;) {
      if (exited) throw new Error(`${cmd.join(' ')} exited before serving:\n${out}`);
      if (performance.now() - t0 > 120_000) throw new Error(`${cmd.join(' ')} did not serve within 120 s:\n${out}`);
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const readyMs = performance.now() - t0;
    const pid = serverPid(child.pid!);
    const cpuMs = cpuMsOf(pid);
    let rssMb: number | null = null;
    if (opts.idle) {
      await new Promise((r) => setTimeout(r, IDLE_MS));
      rssMb = rssMbOf(pid);
    }
    return { readyMs, cpuMs, rssMb };
  } finally {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* already gone */
    }
    await exit;
  }
}

async function series(label: string, cmd: string[], dataDir: string, runs: number, idle: boolean): Promise<Run[]> {
  const out: Run[] = [];
  for (let i = 0; i < runs; i++) out.push(await startOnce(cmd, dataDir, { idle }));
  const s = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
  console.log(
    `${label}: ready in ${s(out.map((r) => r.readyMs))} ms (median ${median(out.map((r) => r.readyMs)).toFixed(0)}); CPU until ready ${s(out.map((r) => r.cpuMs))} ms` +
      (idle ? `; idle RSS ${out.map((r) => r.rssMb!.toFixed(0)).join(', ')} MB` : ''),
  );
  return out;
}

async function main() {
  console.log(`bench:start: ${RUNS} runs each (${TSX_RUNS} through tsx), median; idle RSS after ${IDLE_MS / 1000} s; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
  const dataDir = mkdtempSync(join(tmpdir(), 'firebreak-bench-start-'));
  try {
    await startOnce([process.execPath, 'dist/main.js', 'start'], dataDir, { idle: false }); // first start: migrations, first owner
    const npmStart = await series('npm start (nothing changed)', ['npm', 'start', '--silent'], dataDir, RUNS, false);
    const compiled = await series('node dist/main.js start', [process.execPath, 'dist/main.js', 'start'], dataDir, RUNS, true);
    const viaTsx = await series('node --import tsx src/main.ts start', [process.execPath, '--import', 'tsx', 'src/main.ts', 'start'], dataDir, TSX_RUNS, true);

    const npmMs = median(npmStart.map((r) => r.readyMs));
    const compiledMs = median(compiled.map((r) => r.readyMs));
    const tsxMs = median(viaTsx.map((r) => r.readyMs));
    const compiledCpu = median(compiled.map((r) => r.cpuMs));
    const tsxCpu = median(viaTsx.map((r) => r.cpuMs));
    const compiledRss = median(compiled.map((r) => r.rssMb!));
    const tsxRss = median(viaTsx.map((r) => r.rssMb!));
    console.log('');
    report({ bench: 'start', figure: 'restart to serving, npm start, nothing changed', value: npmMs / 1000, unit: 's', target: '< 2 s', met: npmMs < 2000, limit: `the server alone starts in ${(compiledMs / 1000).toFixed(2)} s` });
    report({ bench: 'start', figure: 'cold start to /readyz, compiled server (firebreak start)', value: compiledMs / 1000, unit: 's', target: '< 2 s', met: compiledMs < 2000, limit: `through tsx ${(tsxMs / 1000).toFixed(2)} s; CPU until ready ${compiledCpu.toFixed(0)} ms vs ${tsxCpu.toFixed(0)} ms through tsx` });
    report({ bench: 'start', figure: 'idle memory (RSS), compiled server, SQLite', value: compiledRss, unit: 'MB', target: '< 150 MB', met: compiledRss < 150, limit: `through tsx ${tsxRss.toFixed(0)} MB` });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
