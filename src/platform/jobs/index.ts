import type { DatabaseHandle } from '../db/index.js';
import { createPostgresJobQueue } from './postgres-queue.js';
import type { QueueLogger } from './shared.js';
import { createSqliteJobQueue } from './sqlite-queue.js';
import type { JobQueue } from './types.js';

export * from './types.js';
export { createSqliteJobQueue } from './sqlite-queue.js';
export { createPostgresJobQueue } from './postgres-queue.js';

/** The adapter that fits the database: in-process runner on SQLite, graphile-worker on PostgreSQL. */
export function createJobQueue(handle: DatabaseHandle, opts: { concurrency?: number; logger?: QueueLogger } = {}): JobQueue {
  if (handle.dialect === 'sqlite') return createSqliteJobQueue({ db: handle.db, concurrency: opts.concurrency, logger: opts.logger });
  return createPostgresJobQueue({ pool: handle.pgPool!, concurrency: opts.concurrency, logger: opts.logger });
}
