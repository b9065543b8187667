import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type MigrationResult, type Transaction } from 'kysely';
import type pg from 'pg';
import { loadPg } from './lazy-packages.js';
import { preparingClientClass } from './pg-prepared.js';
import type { Migrations } from './migration-list.js';
import type { Database } from './schema.js';

export type { Database } from './schema.js';
export { orderedMigrations, type Migrations } from './migration-list.js';
export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Anything queries can run on: the database or an open transaction. */
export type Executor = Kysely<Database> | Transaction<Database>;
export type DbDialect = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  db: Db;
  dialect: DbDialect;
  /** The pg pool when on PostgreSQL (the job queue shares it). */
  pgPool?: pg.Pool;
  /** A description safe to log (no password). */
  description: string;
  destroy(): Promise<void>;
}

export type DatabaseConfig =
  | { kind: 'sqlite'; file: string }
  | { kind: 'postgres'; url: string; poolSize?: number; /** Send hot statements as named prepared statements (pg-prepared.ts). Default true. */ preparedStatements?: boolean };

export function openDatabase(config: DatabaseConfig): DatabaseHandle {
  if (config.kind === 'sqlite') {
    // The data directory holds the database and (embedded mode) the master key: owner-only when we create it.
    if (config.file !== ':memory:') mkdirSync(dirname(config.file), { recursive: true, mode: 0o700 });
    const sqlite = new SqliteDatabase(config.file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
    return { db, dialect: 'sqlite', description: `sqlite:${config.file}`, destroy: () => db.destroy() };
  }
  const pgModule = loadPg();
  const pool = new pgModule.Pool({ connectionString: config.url, max: config.poolSize ?? 10, ...(config.preparedStatements === false ? {} : { Client: preparingClientClass(pgModule.Client) }) });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', pgPool: pool, description: `postgres:${safeUrl(config.url)}`, destroy: () => db.destroy() };
}

/**
 * Kysely prepares every query anew; preparing costs more than running most of ours. Statements are reusable,
 * so keep the most recent ones by SQL text (the SQL is parameterised, so the set is small and bounded).
 */
function withStatementCache(sqlite: SqliteDatabase.Database, max = 500): SqliteDatabase.Database {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return new Proxy(sqlite, {
    get(target, prop, receiver) {
      if (prop === 'prepare') {
        return (source: string) => {
          let stmt = cache.get(source);
          if (stmt) {
            cache.delete(source);
          } else {
            stmt = target.prepare(source);
            if (cache.size >= max) cache.delete(cache.keys().next().value!);
          }
          cache.set(source, stmt);
          return stmt;
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return `${u.host}${u.pathname}`;
  } catch {
    return '(unparseable url)';
  }
}

/** Applies what the database lacks of `migrations`, the one ordered list (src/migrations.ts; tests may pass a part). */
export async function migrateToLatest(db: Db, migrations: Migrations): Promise<MigrationResult[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? String(error)}`);
  }
  return results ?? [];
}

interface CommitHooks {
  before: (() => Promise<void>)[];
  /** Run once no `before` work is left (work they register runs next): writes that others' work may add to. */
  last: (() => Promise<void>)[];
  after: (() => void)[];
}
/** Transactions opened by inTransaction, while their callback runs: what to do just before and after commit. */
const commitHooks = new WeakMap<object, CommitHooks>();

/**
 * Run fn in a transaction, or inside the one already open. A transaction opened here runs, after fn and before
 * COMMIT, the work registered with `beforeCommit` (in order, including work registered meanwhile; work registered
 * as `last` once no other is left), and after COMMIT the callbacks registered with `afterCommit`. Nothing of either
 * runs when fn throws (the transaction rolls back).
 */
export async function inTransaction<T>(db: Executor, fn: (tx: Tx) => Promise<T>): Promise<T> {
  if (db.isTransaction) return fn(db as Tx);
  const hooks: CommitHooks = { before: [], last: [], after: [] };
  const result = await (db as Db).transaction().execute(async (tx) => {
    commitHooks.set(tx, hooks);
    try {
      const value = await fn(tx);
      for (let work = hooks.before.shift() ?? hooks.last.shift(); work; work = hooks.before.shift() ?? hooks.last.shift()) await work();
      return value;
    } finally {
      commitHooks.delete(tx);
    }
  });
  for (const callback of hooks.after) {
    try {
      callback();
    } catch {
      /* after commit nothing can undo the change; callbacks handle their own errors */
    }
  }
  return result;
}

/**
 * Work to run in `tx` just before it commits, so several writes of one kind made during a transaction can be sent
 * as one statement. `last`: after every other such work, including work registered while it runs (the job queue's
 * insert, which the domain events' own write adds to). Returns false, registering nothing, when `tx` is not a
 * transaction opened by inTransaction (whose callback is still running): the caller must then do the work at once.
 */
export function beforeCommit(tx: Executor, work: () => Promise<void>, opts: { last?: boolean } = {}): boolean {
  const hooks = commitHooks.get(tx);
  if (!hooks) return false;
  (opts.last ? hooks.last : hooks.before).push(work);
  return true;
}

/**
 * A callback to run once `tx` has committed (never when it rolls back), e.g. a wake-up that must not be sent
 * inside the transaction. Returns false, registering nothing, when `tx` is not a transaction opened by
 * inTransaction (whose callback is still running).
 */
export function afterCommit(tx: Executor, callback: () => void): boolean {
  const hooks = commitHooks.get(tx);
  if (!hooks) return false;
  hooks.after.push(callback);
  return true;
}
