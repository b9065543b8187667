// The JobQueue contract's shared part: each adapter supplies a harness that opens an isolated database for one
// test and makes queue instances on it; `describeContract` runs a file's tests against every adapter. The tests
// themselves are in queue.contract.*.test.ts, by theme.
//
// - SQLite: a fresh database file in a temp directory per test.
// - PostgreSQL: runs only when TEST_DATABASE_URL is set (`npm test` creates a fresh database and sets it).
//   Each test uses its own graphile-worker schema, so tests never see each other's jobs, nor other test files'.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe } from 'vitest';
import { migrateToLatest, openDatabase, type DatabaseHandle, type Db } from '../db/index.js';
import { coreMigrations } from '../db/migrations/index.js';
import { createPostgresJobQueue } from './postgres-queue.js';
import { createSqliteJobQueue } from './sqlite-queue.js';
import type { JobQueue } from './types.js';

export const here = dirname(fileURLToPath(import.meta.url));
const PG_URL = process.env.TEST_DATABASE_URL;

export interface QueueOptions {
  concurrency?: number;
}

export interface TestEnv {
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

export interface Harness {
  name: 'sqlite' | 'postgres';
  open(): Promise<TestEnv>;
}

const SQLITE_BACKOFF_BASE_MS = 100;
/** Both adapters: a runner silent for this long is taken for dead and its jobs run again. */
export const LOCK_TIMEOUT_MS = 1000;

const sqliteHarness: Harness = {
  name: 'sqlite',
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'fb-jobs-'));
    const file = join(dir, 'jobs.db');
    const main = openDatabase({ kind: 'sqlite', file });
    await migrateToLatest(main.db, coreMigrations);
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

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What a contract test uses; `env` and `children` are fresh for every test. */
export interface ContractTest {
  readonly env: TestEnv;
  /** Child processes to SIGKILL after the test if still alive. */
  readonly children: ChildProcess[];
  /** A new queue on this test's database, stopped after the test. */
  queue(opts?: QueueOptions): JobQueue;
}

function contract(h: Harness, body: (t: ContractTest) => void): void {
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

  body({
    get env() {
      return env;
    },
    get children() {
      return children;
    },
    queue(opts) {
      const q = env.queue(opts);
      queues.push(q);
      return q;
    },
  });
}

/** The same tests against SQLite and, when TEST_DATABASE_URL is set, PostgreSQL (graphile-worker). */
export function describeContract(theme: string, body: (t: ContractTest) => void): void {
  describe(`JobQueue contract (${theme}): sqlite`, () => {
    contract(sqliteHarness, body);
  });
  describe.skipIf(!PG_URL)(`JobQueue contract (${theme}): postgres (graphile-worker)`, () => {
    contract(postgresHarness, body);
  });
}
