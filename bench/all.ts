// `npm run bench`: every benchmark (each `bench:*` npm script), in its short mode (BENCH_SHORT=1), one after the
// other, then one table of every figure with its target. Each benchmark appends its figures as JSON lines to the
// file named by BENCH_REPORT (bench/report.ts `report()`); its own output goes to a log file, shown in part when it
// fails. A benchmark that fails, times out or reports nothing gets a row saying so: nothing is dropped silently.
//   npm run bench [-- --only api,start] [-- --timeout-min 20]
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Figure } from './report.js';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { only: { type: 'string' }, 'timeout-min': { type: 'string', default: '20' } } });
const timeoutMs = Number(values['timeout-min']) * 60_000;

const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
let benches = Object.keys(scripts)
  .filter((s) => s.startsWith('bench:'))
  .map((s) => s.slice('bench:'.length))
  .sort();
if (values.only) {
  const wanted = values.only.split(',').map((s) => s.trim());
  const unknown = wanted.filter((w) => !benches.includes(w));
  if (unknown.length) {
    console.error(`no benchmark named ${unknown.join(', ')}; there are: ${benches.join(', ')}`);
    process.exit(2);
  }
  benches = benches.filter((b) => wanted.includes(b));
}

interface Row {
  bench: string;
  figure: string;
  value: string;
  target: string;
  limit: string;
  met: string;
}

function fmt(v: number, unit: string): string {
  const n = Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
  return unit ? `${n} ${unit}` : n;
}

function run(bench: string, reportFile: string, logFile: string): Promise<{ code: number | null; timedOut: boolean; seconds: number }> {
  const started = performance.now();
  const log = createWriteStream(logFile);
  const child = spawn('npm', ['run', '--silent', `bench:${bench}`], {
    cwd: root,
    env: { ...process.env, BENCH_SHORT: '1', BENCH_REPORT: reportFile },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so a timeout stops whatever it started
  });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }, timeoutMs);
  return new Promise((res) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      log.end();
      res({ code, timedOut, seconds: (performance.now() - started) / 1000 });
    }),
  );
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'firebreak-bench-all-'));
  console.log(`npm run bench: ${benches.length} benchmarks in short mode (BENCH_SHORT=1), one after the other; logs in ${dir}`);
  const rows: Row[] = [];
  let broken = 0;
  for (const bench of benches) {
    const reportFile = join(dir, `${bench}.jsonl`);
    const logFile = join(dir, `${bench}.log`);
    process.stdout.write(`  ${bench} ... `);
    const r = await run(bench, reportFile, logFile);
    const figures: Figure[] = existsSync(reportFile)
      ? readFileSync(reportFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .flatMap((l) => {
            try {
              return [JSON.parse(l) as Figure];
            } catch {
              return [];
            }
          })
      : [];
    const failed = r.timedOut ? `timed out after ${values['timeout-min']} min` : r.code !== 0 ? `failed (exit code ${r.code})` : null;
    console.log(`${failed ?? 'done'} in ${r.seconds.toFixed(0)} s, ${figures.length} figure${figures.length === 1 ? '' : 's'}`);
    for (const f of figures) rows.push({ bench, figure: f.figure, value: fmt(f.value, f.unit), target: f.target, limit: f.limit ?? '', met: f.met ? 'met' : 'MISSED' });
    if (failed || figures.length === 0) {
      broken++;
      rows.push({ bench, figure: failed ? `(${failed}; see ${logFile})` : `(reported no figure; see ${logFile})`, value: '-', target: '-', limit: '', met: 'NO RESULT' });
      if (failed) {
        const tail = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-15);
        console.log(tail.map((l) => `      | ${l}`).join('\n'));
      }
    }
  }

  const cols: (keyof Row)[] = ['bench', 'figure', 'value', 'target', 'limit', 'met'];
  const widths = cols.map((c) => Math.min(c === 'limit' ? 80 : 90, Math.max(c.length, ...rows.map((r) => r[c].length))));
  const cut = (s: string, w: number) => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  console.log('');
  console.log(cols.map((c, i) => cut(c, widths[i]!)).join(' | '));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const r of rows) console.log(cols.map((c, i) => cut(r[c], widths[i]!)).join(' | '));
  const met = rows.filter((r) => r.met === 'met').length;
  const missed = rows.filter((r) => r.met === 'MISSED').length;
  console.log(`\n${met} met, ${missed} missed, ${broken} benchmark${broken === 1 ? '' : 's'} without a result. Load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} (2-core machines shared with other work give slower figures).`);
  process.exit(broken ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
