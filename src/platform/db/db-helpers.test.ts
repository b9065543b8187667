// The database helpers use cases share (platform/db errors.ts, locks.ts, index.ts's commit hooks), on each backend's real driver.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, freshPostgresDatabase } from '../../../test/helpers.js';
import { isUniqueViolation } from './errors.js';
import { afterCommit, beforeCommit, inTransaction, openDatabase, type DatabaseHandle } from './index.js';
import { forUpdate } from './locks.js';

describe.each(backends)('isUniqueViolation on %s', (backend) => {
  let handle: DatabaseHandle;
  let cleanup: () => Promise<void>;
  // Kysely<any>: a scratch table that is not part of Firebreak's schema.
  let db: Kysely<any>;

  beforeAll(async () => {
    if (backend === 'postgres') {
      const pgDb = await freshPostgresDatabase();
      handle = openDatabase({ kind: 'postgres', url: pgDb.url });
      cleanup = pgDb.drop;
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'fb-db-helpers-'));
      handle = openDatabase({ kind: 'sqlite', file: join(dir, 'db.sqlite') });
      cleanup = async () => rmSync(dir, { recursive: true, force: true });
    }
    db = handle.db as unknown as Kysely<any>;
    await db.schema.createTable('things').addColumn('id', 'text', (c) => c.primaryKey()).addColumn('name', 'text', (c) => c.notNull().unique()).execute();
    await db.insertInto('things').values({ id: 'a', name: 'first' }).execute();
  });
  afterAll(async () => {
    await handle.destroy();
    await cleanup();
  });

  async function errorOf(p: Promise<unknown>): Promise<unknown> {
    return p.then(
      () => expect.fail('the insert was accepted'),
      (err: unknown) => err,
    );
  }

  it('recognises a second row with the same unique value', async () => {
    expect(isUniqueViolation(await errorOf(db.insertInto('things').values({ id: 'b', name: 'first' }).execute()))).toBe(true);
    expect(isUniqueViolation(await errorOf(db.insertInto('things').values({ id: 'a', name: 'other' }).execute()))).toBe(true);
  });

  it('does not mistake other constraint failures or errors for it', async () => {
    expect(isUniqueViolation(await errorOf(db.insertInto('things').values({ id: 'c', name: null }).execute()))).toBe(false);
    expect(isUniqueViolation(await errorOf(db.insertInto('no_such_table').values({ id: 'c' }).execute()))).toBe(false);
    expect(isUniqueViolation(new Error('timeout'))).toBe(false);
    expect(isUniqueViolation(undefined)).toBe(false);
  });
});

describe('forUpdate', () => {
  it('locks the selected rows on PostgreSQL', () => {
    // Compiling needs no connection: the pool connects on first query only.
    const pgDb = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool() }) });
    const q = pgDb.selectFrom('incidents').selectAll().where('id', '=', 'x');
    expect(forUpdate(q, 'postgres').compile().sql).toMatch(/ for update$/);
  });

  it('leaves the query unchanged on SQLite, which has no FOR UPDATE and serialises writers anyway', async () => {
    const handle = openDatabase({ kind: 'sqlite', file: ':memory:' });
    try {
      const db = handle.db as unknown as Kysely<any>;
      await db.schema.createTable('things').addColumn('id', 'text', (c) => c.primaryKey()).execute();
      const q = db.selectFrom('things').selectAll().where('id', '=', 'x');
      expect(forUpdate(q, 'sqlite').compile().sql).toBe(q.compile().sql);
      expect(await forUpdate(q, 'sqlite').execute()).toEqual([]);
    } finally {
      await handle.destroy();
    }
  });
});

describe('inTransaction commit hooks', () => {
  it('runs work registered as last after every other work before COMMIT, work registered meanwhile included, then the after-commit callbacks', async () => {
    const handle = openDatabase({ kind: 'sqlite', file: ':memory:' });
    try {
      const order: string[] = [];
      await inTransaction(handle.db, async (tx) => {
        beforeCommit(tx, async () => void order.push('last, registered first'), { last: true });
        beforeCommit(tx, async () => {
          order.push('before 1');
          beforeCommit(tx, async () => void order.push('before, registered by before 1'));
        });
        afterCommit(tx, () => void order.push('after commit'));
        beforeCommit(tx, async () => {
          order.push('before 2');
          beforeCommit(tx, async () => {
            order.push('last, registered by before 2');
            beforeCommit(tx, async () => void order.push('before, registered by a last'));
          }, { last: true });
        });
      });
      expect(order).toEqual([
        'before 1',
        'before 2',
        'before, registered by before 1',
        'last, registered first',
        'last, registered by before 2',
        'before, registered by a last',
        'after commit',
      ]);
    } finally {
      await handle.destroy();
    }
  });
});
