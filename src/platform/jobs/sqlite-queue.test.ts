// SQLite-only behaviour beyond the shared contract (queue.contract.*.test.ts): what start-up does with jobs that
// a previous process left `running`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../db/index.js';
import { coreMigrations } from '../db/migrations/index.js';
import { ABANDONED_ERROR, createSqliteJobQueue } from './sqlite-queue.js';
import type { JobQueue } from './types.js';

describe('SQLite job runner start-up', () => {
  let dir: string;
  let handle: DatabaseHandle;
  let queue: JobQueue | undefined;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fb-sqlite-jobs-'));
    handle = openDatabase({ kind: 'sqlite', file: join(dir, 'db.sqlite') });
    await migrateToLatest(handle.db, coreMigrations);
    queue = undefined;
  });
  afterEach(async () => {
    await queue?.stop({ timeoutMs: 500 });
    await handle.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A row as a process that died mid-job leaves it: running, freshly locked by someone else. */
  async function leftRunning(id: string, attempts: number, maxAttempts: number): Promise<void> {
    const now = new Date().toISOString();
    await handle.db
      .insertInto('jobs')
      .values({
        id, name: 'work', payload: JSON.stringify({ id }), job_key: null, queue: null, priority: 0, run_at: now,
        attempts, max_attempts: maxAttempts, state: 'running', locked_by: 'previous-process', locked_at: now,
        last_error: null, created_at: now, updated_at: now,
      })
      .execute();
  }

  it('releases every running job at start by default (one process owns the file), and retries it', async () => {
    await leftRunning('j1', 1, 5);
    queue = createSqliteJobQueue({ db: handle.db, pollIntervalMs: 20 });
    const runs: Array<{ payload: unknown; attempt: number }> = [];
    queue.define('work', async (payload, ctx) => {
      runs.push({ payload, attempt: ctx.attempt });
    });
    await queue.start();
    await queue.drain();
    expect(runs).toEqual([{ payload: { id: 'j1' }, attempt: 2 }]);
  });

  it('a job interrupted on its last attempt is dead, with the interruption as its last error', async () => {
    await leftRunning('j2', 3, 3);
    queue = createSqliteJobQueue({ db: handle.db, pollIntervalMs: 20 });
    let runs = 0;
    queue.define('work', async () => {
      runs++;
    });
    await queue.start();
    await queue.drain();
    expect(runs).toBe(0);
    expect(await queue.deadJobs()).toMatchObject([{ id: 'j2', attempts: 3, lastError: ABANDONED_ERROR }]);
  });

  it('with releaseRunningOnStart false, leaves a freshly locked job to its owner until the lock times out', async () => {
    await leftRunning('j3', 1, 5);
    queue = createSqliteJobQueue({ db: handle.db, pollIntervalMs: 20, releaseRunningOnStart: false, lockTimeoutMs: 600 });
    const runsAt: number[] = [];
    queue.define('work', async () => {
      runsAt.push(Date.now());
    });
    const t0 = Date.now();
    await queue.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(runsAt).toEqual([]);
    expect(await queue.stats()).toEqual({ pending: 0, running: 1, dead: 0 });
    await queue.drain(5000);
    expect(runsAt).toHaveLength(1);
    expect(runsAt[0]! - t0).toBeGreaterThanOrEqual(600 - 50);
  });
});
