import type { DbDialect } from './index.js';

// Row locks for read-modify-write use cases. On PostgreSQL several processes write at once, so a use case
// locks the rows it is about to change (SELECT … FOR UPDATE) and concurrent changes apply one after the other.
// SQLite transactions are already serialised (one writer at a time), and SQLite has no FOR UPDATE.

/** The query with `FOR UPDATE` on PostgreSQL; unchanged on SQLite. */
export function forUpdate<Q extends { forUpdate(): Q }>(q: Q, dialect: DbDialect): Q {
  return dialect === 'postgres' ? q.forUpdate() : q;
}
