// One contract for every JobQueue adapter. Each adapter supplies a harness that opens an isolated database
// for one test and makes queue instances on it; the same tests then run against each.
//
// - SQLite: a fresh database file in a temp directory per test.
// - PostgreSQL: runs only when TEST_DATABASE_URL is set (`npm test` creates a fresh database and sets it).
//   Each test uses its own graphile-worker schema, so tests never see each other's jobs, nor other test files'.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase, type DatabaseHandle, type Db } from '../db/index.js';
import { createPostgresJobQueue } from './postgres-queue.js';
import { createSqliteJobQueue } from './sqlite-queue.js';
import type { JobEvent, JobQueue } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const PG_URL = process.env.TEST_DATABASE_URL;

interface QueueOptions {
  concurrency?: number;
}

interface TestEnv {
  /** For transactions in the outbox tests. */
  db: Db;
  /** A new queue instance on this test's database, on its own connection(s) unless it is the first. */
  queue(opts?: QueueOptions): JobQueue;
  /** Smallest delay the adapter waits before retrying after failed attempt n. */
  minBackoffMs(attempt: number): number;
  /** Environment for queue.kill-fixture.ts. */
  childEnv: Record<string, string>;
  close(): Promise<void>;
}

interface Harness {
  name: 'sqlite' | 'postgres';
  open(): Promise<TestEnv>;
}

const SQLITE_BACKOFF_BASE_MS = 100;
/** Both adapters: a runner silent for this long is taken for dead and its jobs run again. */
const LOCK_TIMEOUT_MS = 1000;

const sqliteHarness: Harness = {
  name: 'sqlite',
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'fb-jobs-'));
    const file = join(dir, 'jobs.db');
    const main = openDatabase({ kind: 'sqlite', file });
    await migrateToLatest(main.db);
    const handles: DatabaseHandle[] = [main];
    let made = 0;
    return {
      db: main.db,
      queue(opts = {}) {
        // The first queue shares the test's handle (as in the app: one handle per process); later ones open
        // their own connection to the same file, like another runner would.
        const first = made++ === 0;
        let handle = main;
        if (!first) {
          handle = openDatabase({ kind: 'sqlite', file });
          handles.push(handle);
        }
        return createSqliteJobQueue({
          db: handle.db,
          pollIntervalMs: 20,
          backoffBaseMs: SQLITE_BACKOFF_BASE_MS,
          concurrency: opts.concurrency,
          lockTimeoutMs: LOCK_TIMEOUT_MS,
          // Several runners share the file here, so only the first may assume that every running job is
          // abandoned; the others rely on the lock timeout like the PostgreSQL adapter.
          releaseRunningOnStart: first,
        });
      },
      minBackoffMs: (attempt) => SQLITE_BACKOFF_BASE_MS * 2 ** (attempt - 1),
      childEnv: { FB_KILL_ADAPTER: 'sqlite', FB_KILL_SQLITE_FILE: file, FB_KILL_LOCK_TIMEOUT_MS: String(LOCK_TIMEOUT_MS) },
      async close() {
        for (const h of handles) await h.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

// graphile-worker computes its own retry delay: exp(min(attempts, 10)) seconds after a failure.
const postgresHarness: Harness = {
  name: 'postgres',
  async open() {
    const url = PG_URL!;
    const schema = `fb_jobs_test_${randomBytes(5).toString('hex')}`;
    const main = openDatabase({ kind: 'postgres', url, poolSize: 4 });
    const handles: DatabaseHandle[] = [main];
    return {
      db: main.db,
      queue(opts = {}) {
        const handle = openDatabase({ kind: 'postgres', url, poolSize: 6 });
        handles.push(handle);
        return createPostgresJobQueue({
          pool: handle.pgPool!,
          schema,
          pollIntervalMs: 50,
          lockTimeoutMs: LOCK_TIMEOUT_MS,
          concurrency: opts.concurrency,
        });
      },
      minBackoffMs: (attempt) => Math.exp(Math.min(attempt, 10)) * 1000,
      childEnv: {
        FB_KILL_ADAPTER: 'postgres',
        FB_KILL_PG_URL: url,
        FB_KILL_PG_SCHEMA: schema,
        FB_KILL_LOCK_TIMEOUT_MS: String(LOCK_TIMEOUT_MS),
      },
      async close() {
        await main.pgPool!.query(`drop schema if exists "${schema}" cascade`);
        for (const h of handles) await h.destroy();
      },
    };
  },
};

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function contract(h: Harness) {
  let env: TestEnv;
  let queues: JobQueue[] = [];
  let children: ChildProcess[] = [];

  beforeEach(async () => {
    env = await h.open();
    queues = [];
    children = [];
  });
  afterEach(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const q of queues) await q.stop({ timeoutMs: 1000 });
    await env.close();
  });

  function queue(opts?: QueueOptions): JobQueue {
    const q = env.queue(opts);
    queues.push(q);
    return q;
  }

  it('runs a job with its payload intact and reports it', async () => {
    const q = queue();
    const seen: Array<{ payload: unknown; attempt: number; maxAttempts: number; name: string }> = [];
    const events: JobEvent[] = [];
    q.onEvent((e) => events.push(e));
    q.define('echo', async (payload, ctx) => {
      seen.push({ payload, attempt: ctx.attempt, maxAttempts: ctx.maxAttempts, name: ctx.name });
    }, { maxAttempts: 3 });
    await q.start();
    const payload = { s: 'héllo ✓ "quoted"', n: 42.5, neg: -1, b: false, nil: null, list: [1, 'two', { three: 3 }], nested: { deep: { x: [] } } };
    await q.enqueue('echo', payload);
    await q.drain();
    expect(seen).toEqual([{ payload, attempt: 1, maxAttempts: 3, name: 'echo' }]);
    expect(events.map((e) => [e.type, e.name, e.attempt])).toEqual([['completed', 'echo', 1]]);
    expect(await q.stats()).toEqual({ pending: 0, running: 0, dead: 0 });
    expect(await q.healthy()).toBe(true);
  });

  it('dedupes by job key while the job is pending or running, and not after it finished', async () => {
    const q = queue();
    const runs: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    q.define<{ v: string }>('keyed', async (p) => {
      runs.push(p.v);
      if (p.v === 'while-pending-1') await gate;
    });
    // Pending: three enqueues with one key before the queue runs anything.
    await q.enqueue('keyed', { v: 'while-pending-1' }, { jobKey: 'k1' });
    await q.enqueue('keyed', { v: 'while-pending-2' }, { jobKey: 'k1' });
    await q.enqueue('keyed', { v: 'while-pending-3' }, { jobKey: 'k1' });
    expect((await q.stats()).pending).toBe(1);
    await q.start();
    await waitFor('the keyed job to start', () => runs.length === 1);
    // Running: still deduped.
    await q.enqueue('keyed', { v: 'while-running' }, { jobKey: 'k1' });
    release();
    await q.drain();
    expect(runs).toEqual(['while-pending-1']);
    // Finished: the key is free again.
    await q.enqueue('keyed', { v: 'after-done' }, { jobKey: 'k1' });
    await q.drain();
    expect(runs).toEqual(['while-pending-1', 'after-done']);
  });

  it('does not run a delayed job before its time', async () => {
    const q = queue();
    const ranAt: Record<string, number> = {};
    q.define<{ id: string }>('later', async (p) => {
      ranAt[p.id] = Date.now();
    });
    await q.start();
    const t0 = Date.now();
    await q.enqueue('later', { id: 'delay' }, { delayMs: 600 });
    await q.enqueue('later', { id: 'runAt' }, { runAt: new Date(t0 + 900) });
    await q.enqueue('later', { id: 'now' }, {});
    await sleep(400);
    expect(Object.keys(ranAt)).toEqual(['now']);
    await waitFor('both delayed jobs', () => ranAt.delay !== undefined && ranAt.runAt !== undefined);
    // 15 ms tolerance: PostgreSQL and Node read the same clock, but round differently.
    expect(ranAt.delay! - t0).toBeGreaterThanOrEqual(600 - 15);
    expect(ranAt.runAt! - t0).toBeGreaterThanOrEqual(900 - 15);
  });

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
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(env.minBackoffMs(1) - 15);
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
    await q.enqueue('doomed', { order: 10 }, { jobKey: 'dead-key', maxAttempts: 1 });
    await waitFor('the re-enqueued keyed job to die', () => events.filter((e) => e.type === 'dead').length === 3, 15_000);
    await q.drain();
    expect(runs).toBe(4);
    expect((await q.deadJobs()).map((d) => d.payload).sort((a, b) => (a as { order: number }).order - (b as { order: number }).order)).toEqual([
      { order: 7 },
      { order: 8 },
      { order: 10 },
    ]);
  });

  it('outbox: a job enqueued in a transaction exists exactly when the transaction commits', async () => {
    const q = queue();
    const ran: string[] = [];
    q.define<{ v: string }>('outbox', async (p) => {
      ran.push(p.v);
    });
    await q.start();
    await expect(
      env.db.transaction().execute(async (tx) => {
        await q.enqueue('outbox', { v: 'rolled-back' }, {}, tx);
        throw new Error('abort the transaction');
      }),
    ).rejects.toThrow('abort the transaction');
    await env.db.transaction().execute(async (tx) => {
      await q.enqueue('outbox', { v: 'committed' }, {}, tx);
      // Not visible (so not runnable) before commit.
      await sleep(150);
      expect(ran).toEqual([]);
    });
    await waitFor('the committed job', () => ran.length > 0);
    await sleep(150);
    await q.drain();
    expect(ran).toEqual(['committed']);
    expect(await q.stats()).toEqual({ pending: 0, running: 0, dead: 0 });
  });

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

  it('runs jobs of one queue name one at a time, in enqueue order', async () => {
    const q = queue({ concurrency: 4 });
    const order: number[] = [];
    let active = 0;
    let maxActive = 0;
    q.define<{ i: number }>('serial', async (p) => {
      active++;
      maxActive = Math.max(maxActive, active);
      order.push(p.i);
      await sleep(5 + ((p.i * 7) % 11));
      active--;
    });
    for (let i = 0; i < 12; i++) await q.enqueue('serial', { i }, { queue: 'incident-42' });
    await q.start();
    await q.drain(20_000);
    expect(order).toEqual([...Array(12).keys()]);
    expect(maxActive).toBe(1);
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
      env: { ...process.env, ...env.childEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
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
}

describe('JobQueue contract: sqlite', () => {
  contract(sqliteHarness);
});

describe.skipIf(!PG_URL)('JobQueue contract: postgres (graphile-worker)', () => {
  contract(postgresHarness);
});
