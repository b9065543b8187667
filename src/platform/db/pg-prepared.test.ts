import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPostgresDatabase, postgresAvailable } from '../../../test/helpers.js';
import { openDatabase, type DatabaseHandle } from './index.js';
import { HOT_AFTER, StatementNames } from './pg-prepared.js';

describe('which statements are prepared', () => {
  it('names a query once this process has sent it often, the same name every time', () => {
    const names = new StatementNames({ hotAfter: 3 });
    const text = 'select * from "incidents" where "id" = $1';
    expect(names.nameFor(text)).toBeNull();
    expect(names.nameFor(text)).toBeNull();
    const name = names.nameFor(text);
    expect(name).toMatch(/^fb_[0-9a-f]{24}$/);
    expect(names.nameFor(text)).toBe(name);
    expect(names.nameFor(`${text} limit 1`)).toBeNull();
  });

  it('never names transaction control or schema changes, however often they are sent', () => {
    const names = new StatementNames({ hotAfter: 1 });
    for (const text of ['begin', 'commit', 'rollback', 'create table t (a int)', 'alter table t add column b int', 'DEALLOCATE ALL', 'LISTEN "jobs:insert"']) {
      for (let i = 0; i < 5; i++) expect(names.nameFor(text)).toBeNull();
    }
    expect(names.nameFor('with j as (select 1) select * from j')).not.toBeNull();
    expect(names.nameFor('  INSERT INTO t VALUES ($1)')).not.toBeNull();
  });

  it('names at most maxNamed texts, so no connection holds more prepared statements than that', () => {
    const names = new StatementNames({ hotAfter: 1, maxNamed: 2 });
    expect(names.nameFor('select 1')).not.toBeNull();
    expect(names.nameFor('select 2')).not.toBeNull();
    expect(names.nameFor('select 3')).toBeNull();
    expect(names.nameFor('select 1')).not.toBeNull();
    expect(names.size).toBe(2);
  });
});

describe.skipIf(!postgresAvailable)('prepared statements on PostgreSQL', () => {
  let drop: () => Promise<void>;
  let url: string;
  let handle: DatabaseHandle;
  /** Prepared statements of the session the (one-connection) pool uses. */
  const prepared = async (h: DatabaseHandle) => (await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(h.db)).rows.map((r) => r.statement);
  const other = async (statement: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(statement);
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    const d = await freshPostgresDatabase();
    url = d.url;
    drop = d.drop;
    handle = openDatabase({ kind: 'postgres', url, poolSize: 1 });
    await sql`create table things (id int primary key, name text)`.execute(handle.db);
    await sql`insert into things values (1, 'one'), (2, 'two'), (3, 'three')`.execute(handle.db);
  });
  afterAll(async () => {
    await handle?.destroy();
    await drop?.();
  });

  const byId = (h: DatabaseHandle, id: number) => sql<Record<string, unknown>>`select * from things where id = ${id}`.execute(h.db).then((r) => r.rows);

  it('a statement sent often is prepared once on the connection, and still answers each call with its own values', async () => {
    for (let i = 0; i < HOT_AFTER + 3; i++) expect(await byId(handle, (i % 3) + 1)).toEqual([{ id: (i % 3) + 1, name: ['one', 'two', 'three'][i % 3] }]);
    expect(await prepared(handle)).toContain('select * from things where id = $1');
  });

  it("pg's Pool.query (the job queue's own SQL) is prepared too", async () => {
    for (let i = 0; i < HOT_AFTER + 1; i++) expect((await handle.pgPool!.query('select name from things where id = $1', [2])).rows).toEqual([{ name: 'two' }]);
    expect(await prepared(handle)).toContain('select name from things where id = $1');
  });

  it('another process changing the table under a prepared statement: the call is answered with the new columns, and the statement is prepared afresh', async () => {
    for (let i = 0; i < HOT_AFTER + 1; i++) await byId(handle, 1);
    const preparedAt = async () => (await sql<{ at: Date }>`select prepare_time as at from pg_prepared_statements where statement = 'select * from things where id = $1'`.execute(handle.db)).rows[0]?.at;
    const before = await preparedAt();
    expect(before).toBeInstanceOf(Date);
    await other('alter table things add column colour text');
    // PostgreSQL refuses the prepared statement (its result columns changed); outside a transaction it is sent again.
    expect(await byId(handle, 1)).toEqual([{ id: 1, name: 'one', colour: null }]);
    expect(await byId(handle, 2)).toEqual([{ id: 2, name: 'two', colour: null }]);
    // The connection dropped its out-of-date statements and prepared this one again.
    expect((await preparedAt())!.getTime()).toBeGreaterThan(before!.getTime());
    for (let i = 0; i < 3; i++) expect(await byId(handle, 3)).toEqual([{ id: 3, name: 'three', colour: null }]);
  });

  it('inside a transaction the refusal fails that transaction only; the next one works', async () => {
    for (let i = 0; i < HOT_AFTER + 1; i++) await byId(handle, 1);
    await other('alter table things add column size int');
    await expect(handle.db.transaction().execute(async (tx) => (await sql`select * from things where id = ${1}`.execute(tx)).rows)).rejects.toMatchObject({ code: '0A000' });
    const rows = await handle.db.transaction().execute(async (tx) => (await sql`select * from things where id = ${1}`.execute(tx)).rows);
    expect(rows).toEqual([{ id: 1, name: 'one', colour: null, size: null }]);
  });

  it('DB_PREPARED_STATEMENTS=off prepares nothing', async () => {
    const off = openDatabase({ kind: 'postgres', url, poolSize: 1, preparedStatements: false });
    try {
      for (let i = 0; i < HOT_AFTER + 3; i++) await byId(off, 1);
      expect(await prepared(off)).toEqual([]);
    } finally {
      await off.destroy();
    }
  });
});
