import { appendFileSync } from 'node:fs';

// One line per figure for `npm run bench` (bench/all.ts): a benchmark calls `report(...)` for each figure it
// measures against a target. Run alone, it only prints the line; under `npm run bench` (BENCH_REPORT names a file)
// it also appends the figure as JSON so one table can show every benchmark. BENCH_SHORT=1 asks for a short run.

export interface Figure {
  bench: string;
  /** What is measured, e.g. "incident creations/s, PostgreSQL, 20 clients". */
  figure: string;
  value: number;
  unit: string;
  /** The target in words ("≥ 500/s", "< 50 ms"), and whether the value meets it. */
  target: string;
  met: boolean;
  /** The limit beside the figure when there is one (pgbench's rate, one PagerDuty round trip), in words. */
  limit?: string;
}

export const shortRun = process.env.BENCH_SHORT === '1';

export function report(f: Figure): void {
  console.log(`  [${f.met ? 'met' : 'MISSED'}] ${f.figure}: ${round(f.value)} ${f.unit} (target ${f.target}${f.limit ? `; limit ${f.limit}` : ''})`);
  const file = process.env.BENCH_REPORT;
  if (file) appendFileSync(file, `${JSON.stringify(f)}\n`);
}

function round(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}
