import type { DatabaseHandle } from '../db/index.js';
import { createPostgresJobQueue } from './postgres-queue.js';
import type { QueueLogger } from './shared.js';
import { createSqliteJobQueue } from './sqlite-queue.js';
import type { JobQueue } from './types.js';

export * from './types.js';
export type { QueueLogger } from './shared.js';
export { createSqliteJobQueue, type SqliteJobQueueOptions } from './sqlite-queue.js';
export { createPostgresJobQueue, type PostgresJobQueueOptions } from './postgres-queue.js';

export interface JobQueueOptions {
  /** Jobs run at the same time in this process. Default 4. */
  concurrency?: number;
  logger?: QueueLogger;
  /** How often to look for due delayed jobs and schedules. Default 250 ms (SQLite), 1000 ms (PostgreSQL). */
  pollIntervalMs?: number;
  /** After how long a job locked by a process that died is run again. Default 60 s. */
  lockTimeoutMs?: number;
  /** SQLite only: base of the retry backoff (PostgreSQL uses graphile-worker's). Default 1000 ms. */
  backoffBaseMs?: number;
  /** PostgreSQL only: graphile-worker's schema. Default 'graphile_worker'. */
  schema?: string;
}

/** The queue for this database: the in-process runner on SQLite, graphile-worker on PostgreSQL. */
export function createJobQueue(handle: DatabaseHandle, opts: JobQueueOptions = {}): JobQueue {
  if (handle.dialect === 'sqlite') {
    return createSqliteJobQueue({
      db: handle.db,
      concurrency: opts.concurrency,
      logger: opts.logger,
      pollIntervalMs: opts.pollIntervalMs,
      lockTimeoutMs: opts.lockTimeoutMs,
      backoffBaseMs: opts.backoffBaseMs,
    });
  }
  if (!handle.pgPool) throw new Error('a PostgreSQL database handle without its pg pool');
  return createPostgresJobQueue({
    pool: handle.pgPool,
    concurrency: opts.concurrency,
    logger: opts.logger,
    pollIntervalMs: opts.pollIntervalMs,
    lockTimeoutMs: opts.lockTimeoutMs,
    schema: opts.schema,
  });
}
