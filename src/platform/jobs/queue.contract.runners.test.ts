// The JobQueue contract, run against every adapter (queue.contract.harness.ts): several queue instances on one
// database (schedules, shared work) and graceful stop.
import { expect, it } from 'vitest';
import { describeContract, sleep, waitFor } from './queue.contract.harness.js';

describeContract('runners', (t) => {
  const { queue } = t;

  it('runs a schedule repeatedly, once per interval, with two queue instances on one database', async () => {
    const intervalMs = 300;
    const runs: Array<{ at: number; payload: unknown }> = [];
    const a = queue();
    const b = queue();
    for (const q of [a, b]) {
      q.define('tick', async (payload) => {
        runs.push({ at: Date.now(), payload });
      });
    }
    // Started first, so that start-up time cannot make the first run late and the gap to the second short.
    await Promise.all([a.start(), b.start()]);
    const t0 = Date.now();
    await a.schedule('heartbeat', 'tick', intervalMs, { tag: 'scheduled' });
    await b.schedule('heartbeat', 'tick', intervalMs, { tag: 'scheduled' });
    await sleep(2000);
    await Promise.all([a.stop(), b.stop()]);
    const elapsed = Date.now() - t0;
    // Slots are t0, t0+300, …: at most one run per slot that came due.
    expect(runs.length).toBeLessThanOrEqual(Math.floor(elapsed / intervalMs) + 1);
    expect(runs.length).toBeGreaterThanOrEqual(4);
    expect(runs.every((r) => JSON.stringify(r.payload) === '{"tag":"scheduled"}')).toBe(true);
    const times = runs.map((r) => r.at).sort((x, y) => x - y);
    for (let i = 1; i < times.length; i++) {
      // Polling makes a run late by up to a poll interval, never early: no two runs share a slot.
      expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(intervalMs / 2);
    }
  });

  it('shares work between two queue instances and runs each job exactly once', async () => {
    const a = queue({ concurrency: 4 });
    const b = queue({ concurrency: 4 });
    const count = new Map<number, number>();
    const by = [0, 0];
    for (const [i, q] of [a, b].entries()) {
      q.define<{ n: number }>('work', async (p) => {
        count.set(p.n, (count.get(p.n) ?? 0) + 1);
        by[i]!++;
        await sleep(2);
      });
    }
    await Promise.all([a.start(), b.start()]);
    for (let n = 0; n < 200; n++) await (n % 2 ? a : b).enqueue('work', { n });
    await waitFor('all 200 jobs', () => count.size === 200, 25_000);
    await a.drain(10_000);
    await b.drain(10_000);
    expect(count.size).toBe(200);
    expect([...count.values()].every((c) => c === 1)).toBe(true);
    expect(by[0]! + by[1]!).toBe(200);
    expect(by[0]).toBeGreaterThan(0);
    expect(by[1]).toBeGreaterThan(0);
  });

  it('graceful stop lets a running job finish within the timeout', async () => {
    const q = queue();
    let finished = 0;
    let started = 0;
    q.define('short', async () => {
      started++;
      await sleep(300);
      finished++;
    });
    await q.start();
    await q.enqueue('short', {});
    await waitFor('the job to start', () => started === 1);
    await q.stop({ timeoutMs: 5000 });
    expect(finished).toBe(1);
    expect(await q.stats()).toEqual({ pending: 0, running: 0, dead: 0 });
  });

  it('graceful stop releases an unfinished job, which another queue then retries', async () => {
    const first = queue();
    let aborted = false;
    let firstStarted = false;
    first.define<{ id: string }>('long', async (_p, ctx) => {
      firstStarted = true;
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      aborted = true;
      throw new Error('stopped by shutdown');
    });
    await first.start();
    await first.enqueue('long', { id: 'L1' });
    await waitFor('the long job to start', () => firstStarted);
    const t = Date.now();
    await first.stop({ timeoutMs: 200 });
    expect(Date.now() - t).toBeLessThan(5000);
    await waitFor('the abort signal', () => aborted);
    // Released, not lost and not failed.
    expect(await first.stats()).toEqual({ pending: 1, running: 0, dead: 0 });

    const second = queue();
    const retried: Array<{ payload: unknown; attempt: number }> = [];
    second.define('long', async (payload, ctx) => {
      retried.push({ payload, attempt: ctx.attempt });
    });
    await second.start();
    await waitFor('the retry', () => retried.length === 1);
    await second.drain();
    // The interrupted attempt does not count against the job.
    expect(retried).toEqual([{ payload: { id: 'L1' }, attempt: 1 }]);
    expect(await second.stats()).toEqual({ pending: 0, running: 0, dead: 0 });
  });
});
