// The JobQueue contract, run against every adapter (queue.contract.harness.ts): retries with backoff, dead jobs,
// and recovery when a process dies mid-job.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { inTransaction } from '../db/index.js';
import { describeContract, here, LOCK_TIMEOUT_MS, sleep, waitFor } from './queue.contract.harness.js';
import type { JobEvent } from './types.js';

describeContract('retries', (t) => {
  const { queue } = t;

  it('retries a failed job after a backoff, then it succeeds', async () => {
    const q = queue();
    const attempts: Array<{ attempt: number; at: number }> = [];
    const events: JobEvent[] = [];
    q.onEvent((e) => events.push(e));
    q.define('flaky', async (_p, ctx) => {
      attempts.push({ attempt: ctx.attempt, at: Date.now() });
      if (ctx.attempt < 2) throw new Error(`flaky failure on attempt ${ctx.attempt}`);
    });
    await q.start();
    await q.enqueue('flaky', {}, { maxAttempts: 5 });
    await waitFor('the retry to succeed', () => events.some((e) => e.type === 'completed'), 15_000);
    await q.drain();
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2]);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(t.env.minBackoffMs(1) - 15);
    expect(events.map((e) => e.type)).toEqual(['failed', 'completed']);
    expect(events[0]!.error).toContain('flaky failure on attempt 1');
    expect(await q.stats()).toEqual({ pending: 0, running: 0, dead: 0 });
    expect(await q.deadJobs()).toEqual([]);
  });

  it('keeps a job that used up its attempts as dead, with its last error', async () => {
    const q = queue();
    const events: JobEvent[] = [];
    q.onEvent((e) => events.push(e));
    let runs = 0;
    q.define<{ order: number }>('doomed', async (_p, ctx) => {
      runs++;
      throw new Error(`boom on attempt ${ctx.attempt}`);
    }, { maxAttempts: 2 });
    await q.start();
    await q.enqueue('doomed', { order: 7 });
    await waitFor('the job to die', () => events.some((e) => e.type === 'dead'), 15_000);
    await q.drain();
    expect(runs).toBe(2);
    expect(events.map((e) => e.type)).toEqual(['failed', 'dead']);
    const dead = await q.deadJobs();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ name: 'doomed', payload: { order: 7 }, attempts: 2 });
    expect(dead[0]!.lastError).toContain('boom on attempt 2');
    expect(typeof dead[0]!.id).toBe('string');
    expect(await q.stats()).toEqual({ pending: 0, running: 0, dead: 1 });
    // A dead job does not block its key.
    await q.enqueue('doomed', { order: 8 }, { jobKey: 'dead-key', maxAttempts: 1 });
    await q.enqueue('doomed', { order: 9 }, { jobKey: 'dead-key', maxAttempts: 1 });
    await waitFor('the keyed job to die', () => events.filter((e) => e.type === 'dead').length === 2, 15_000);
    // The event may come before the job's row is written; a job still being failed counts as running.
    await waitFor('the keyed job to be stored as dead', async () => (await q.deadJobs()).length === 2);
    // In a transaction's batch too (enqueueMany), a dead job's key is free.
    await inTransaction(t.env.db, (tx) => q.enqueueMany([{ name: 'doomed', payload: { order: 10 }, opts: { jobKey: 'dead-key', maxAttempts: 1 } }], tx));
    await waitFor('the re-enqueued keyed job to die', () => events.filter((e) => e.type === 'dead').length === 3, 15_000);
    await q.drain();
    expect(runs).toBe(4);
    expect((await q.deadJobs()).map((d) => d.payload).sort((a, b) => (a as { order: number }).order - (b as { order: number }).order)).toEqual([
      { order: 7 },
      { order: 8 },
      { order: 10 },
    ]);
  });

  it('does not take over a job that runs longer than the lock timeout on a live runner', async () => {
    const a = queue();
    const b = queue();
    const runs: string[] = [];
    a.define('marathon', async () => {
      runs.push('a');
      await sleep(LOCK_TIMEOUT_MS * 3);
    });
    b.define('marathon', async () => {
      runs.push('b');
    });
    await a.start();
    await a.enqueue('marathon', {});
    await waitFor('a to start the job', () => runs.length === 1);
    await b.start();
    await a.drain(15_000);
    expect(runs).toEqual(['a']);
    expect(await b.stats()).toEqual({ pending: 0, running: 0, dead: 0 });
  });

  it('a process killed mid-job leaves the job to be retried, never lost', async () => {
    // Enqueue from here, run it in a child process, SIGKILL the child mid-job.
    const seeder = queue();
    await seeder.enqueue('slow', { n: 1234 }, { maxAttempts: 5 });
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'queue.kill-fixture.ts')], {
      cwd: join(here, '..', '..', '..'),
      env: { ...process.env, ...t.env.childEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.children.push(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await waitFor(`the child to start the job (stderr: ${err})`, () => /STARTED \S+ 1\n/.test(out), 20_000);
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => r(signal)));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    // The job is still there, held by the dead process.
    expect(await seeder.stats()).toEqual({ pending: 0, running: 1, dead: 0 });

    // Recovery is real, not simulated: the survivor unlocks the job once the dead process's lock (SQLite:
    // locked_at, refreshed while a job runs) or heartbeat (PostgreSQL) is older than LOCK_TIMEOUT_MS.
    const survivor = queue();
    const runs: Array<{ payload: unknown; attempt: number }> = [];
    survivor.define('slow', async (payload, ctx) => {
      runs.push({ payload, attempt: ctx.attempt });
    });
    await survivor.start();
    await waitFor('the job to be recovered and retried', () => runs.length === 1, 20_000);
    await survivor.drain();
    // The killed run counted as attempt 1.
    expect(runs).toEqual([{ payload: { n: 1234 }, attempt: 2 }]);
    expect(await survivor.stats()).toEqual({ pending: 0, running: 0, dead: 0 });
    expect(await survivor.deadJobs()).toEqual([]);
  });
});
