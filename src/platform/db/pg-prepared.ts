import { createHash } from 'node:crypto';
import type pg from 'pg';

// PostgreSQL parses and plans every statement Kysely sends (each is an unnamed statement of the extended protocol),
// and for our short statements that costs PostgreSQL more than running them: bench/api.ts measured about half of
// PostgreSQL's CPU per declaration going away when they are prepared once per connection. So a statement this process
// keeps sending is sent as a named prepared statement: each connection parses and plans it once, then only binds
// and executes it (PostgreSQL still re-plans it by itself when a table it uses changes). The SQLite side does the same
// with its statement cache (index.ts).
//
// Bounded: a statement is named only once this process has sent its text HOT_AFTER times (one-off statements and
// IN lists of every length stay unnamed), and at most MAX_NAMED texts are ever named, so no connection holds more
// prepared statements than that. Only queries and data changes are named, never BEGIN, COMMIT or schema changes.
//
// A schema change that alters the columns a prepared statement returns (another process migrating the database)
// makes PostgreSQL refuse to run it ("cached plan must not change result type", SQLSTATE 0A000). That connection
// then drops its prepared statements (DEALLOCATE ALL) before its next statement outside a transaction; the failed
// statement is sent again unnamed at once when no transaction is open, and inside one the error fails the
// transaction like any other error (the caller's retry prepares afresh).
//
// Poolers that do not keep prepared statements across transactions (PgBouncer in transaction mode before 1.21)
// need DB_PREPARED_STATEMENTS=off.

export const HOT_AFTER = 5;
export const MAX_NAMED = 300;
/** Texts counted before being named; the count is forgotten when more distinct texts arrive (cheap, and rare). */
const MAX_COUNTED = 5_000;
const NAMEABLE = /^\s*(select|insert|update|delete|with)\b/i;
const CACHED_PLAN_CHANGED = '0A000';

/** Which statement texts are sent as named prepared statements, for every connection of one pool. */
export class StatementNames {
  private readonly counts = new Map<string, number>();
  private readonly names = new Map<string, string>();

  constructor(private readonly opts: { hotAfter?: number; maxNamed?: number } = {}) {}

  /** The name to prepare `text` under, or null to send it unnamed (not yet sent often enough, not nameable, or full). */
  nameFor(text: string): string | null {
    const known = this.names.get(text);
    if (known) return known;
    if (!NAMEABLE.test(text) || this.names.size >= (this.opts.maxNamed ?? MAX_NAMED)) return null;
    const n = (this.counts.get(text) ?? 0) + 1;
    if (n < (this.opts.hotAfter ?? HOT_AFTER)) {
      if (this.counts.size >= MAX_COUNTED) this.counts.clear();
      this.counts.set(text, n);
      return null;
    }
    this.counts.delete(text);
    const name = `fb_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    this.names.set(text, name);
    return name;
  }

  get size(): number {
    return this.names.size;
  }
}

type PgClientClass = typeof pg.Client;

/**
 * A pg Client class for `new pg.Pool({ Client })` that sends hot statements as named prepared statements, so every
 * user of the pool gains (Kysely, the job queue's own SQL, graphile-worker's statements that are not prepared already).
 * Only `query(text, values?, callback?)` calls are touched; query objects and cursors pass through.
 */
export function preparingClientClass(Base: PgClientClass, names = new StatementNames()): PgClientClass {
  return class PreparingClient extends Base {
    private inTransaction = false;
    /** A schema change made this connection's prepared statements out of date: they are dropped before the next statement outside a transaction. */
    private stale = false;

    // pg's query has many overloads; only (text, values?, callback?) is changed (pg's Pool.query calls it with a callback).
    override query(...args: unknown[]): never {
      let [text, values, callback] = args;
      if (typeof values === 'function' && callback === undefined) [values, callback] = [undefined, values];
      if (typeof text !== 'string' || (values !== undefined && !Array.isArray(values)) || (callback !== undefined && typeof callback !== 'function')) {
        return (super.query as (...a: unknown[]) => never)(...args);
      }
      const result = this.run(text, (values as unknown[] | undefined) ?? []);
      if (!callback) return result as never;
      const cb = callback as (err: unknown, res?: unknown) => void;
      result.then((res) => cb(null, res), (err: unknown) => cb(err));
      return undefined as never;
    }

    private async run(text: string, values: unknown[]): Promise<unknown> {
      const plain = (): Promise<unknown> => (super.query as (t: string, v: unknown[]) => Promise<unknown>).call(this, text, values);
      if (/^\s*(begin|start transaction)\b/i.test(text)) {
        this.inTransaction = true;
        return plain();
      }
      if (/^\s*(commit|rollback|end|abort)\b/i.test(text) && !/^\s*rollback\s+to\b/i.test(text)) {
        this.inTransaction = false;
        return plain();
      }
      if (this.stale) {
        if (this.inTransaction) return plain();
        await (super.query as (t: string) => Promise<unknown>).call(this, 'DEALLOCATE ALL');
        (this as unknown as { connection: { parsedStatements: Record<string, string> } }).connection.parsedStatements = {};
        this.stale = false;
      }
      const name = names.nameFor(text);
      if (!name) return plain();
      try {
        return await (super.query as (c: object) => Promise<unknown>).call(this, { name, text, values });
      } catch (err) {
        if ((err as { code?: string })?.code !== CACHED_PLAN_CHANGED) throw err;
        // A schema change altered what this prepared statement returns: this connection's prepared statements are
        // out of date. Inside a transaction the error fails it (it is aborted already); outside, the statement is
        // sent again unnamed, and the prepared statements are dropped before the next one.
        this.stale = true;
        if (this.inTransaction) throw err;
        return plain();
      }
    }
  } as unknown as PgClientClass;
}
