import { describe, expect, it } from 'vitest';
import { postgresAvailable } from '../helpers.js';
import { runChaos, WORKLOADS, type WorkloadName } from './chaos.js';

// The chaos suite (issue 11): two Firebreak processes on PostgreSQL, one PagerDuty emulator injecting latency,
// 5xx and 429s, a SIGKILL per round at a chosen or a random point during escalations, webhook drains,
// auto-create storms and catalog syncs; after each round every invariant must hold. `npm test` runs one round
// of each workload; `npm run chaos -- --rounds N [--seed S]` runs more. The seed is printed to repeat a run.

const rounds = Number(process.env.CHAOS_ROUNDS ?? 4);
const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ci = process.env.CI === 'true';
const workloads = (process.env.CHAOS_WORKLOADS ?? WORKLOADS.join(',')).split(',').map((w) => w.trim()) as WorkloadName[];
for (const w of workloads) if (!WORKLOADS.includes(w)) throw new Error(`CHAOS_WORKLOADS: unknown workload ${w} (known: ${WORKLOADS.join(', ')})`);

if (!postgresAvailable) {
  const why = 'chaos suite needs PostgreSQL (TEST_DATABASE_URL and FIREBREAK_TEST_POSTGRES=1, as scripts/test.mjs sets them)';
  if (ci) {
    describe('chaos (PostgreSQL, two processes)', () => {
      it('runs: PostgreSQL is required under CI', () => {
        expect.fail(`${why}; CI=true, so this fails instead of skipping`);
      });
    });
  } else {
    console.warn(`[chaos] SKIPPED: ${why}`);
    describe.skip(`chaos (PostgreSQL, two processes) — skipped: ${why}`, () => {
      it('needs PostgreSQL', () => {});
    });
  }
} else {
  describe('chaos (PostgreSQL, two processes)', () => {
    it(`${rounds} rounds of kill -9 under injected faults keep every invariant`, async () => {
      const lines: string[] = [];
      const print = (s: string) => {
        lines.push(s);
        console.log(s);
      };
      const results = await runChaos({ rounds, seed, workloads, print });
      expect(results).toHaveLength(rounds);
      const failed = results.flatMap((r) => r.checks.filter((c) => !c.ok).map((c) => `round ${r.round} (${r.workload}, kill ${r.kill.process} ${r.kill.point}): ${c.name}: ${c.detail}`));
      expect(failed, `seed ${seed}\n${lines.join('\n')}`).toEqual([]);
    }, 150_000 + rounds * 120_000);
  });
}
