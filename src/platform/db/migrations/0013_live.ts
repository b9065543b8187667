import { PostgresAdapter, sql, type Kysely } from 'kysely';

// The live feed (src/platform/live.ts): one row per change a page shows, kept about an hour so a browser that
// lost its connection resumes from the last change it saw. `id` is the insertion order; `seq` is the order in
// which changes became visible (committed), the one clients resume from. SQLite serialises writers, so there
// seq = id; PostgreSQL commits out of insertion order, so a sequencer hands seq out after commit (see live.ts).
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema
    .createTable('live_changes')
    .addColumn('id', postgres ? 'bigserial' : 'integer', (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('seq', 'bigint')
    .addColumn('topic', 'text', (c) => c.notNull())
    .addColumn('incident_id', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('live_changes_seq_uq').on('live_changes').column('seq').unique().execute();
  await db.schema.createIndex('live_changes_created_idx').on('live_changes').column('created_at').execute();
  if (postgres) {
    await db.schema.createIndex('live_changes_unsequenced_idx').on('live_changes').column('id').where(sql.ref('seq'), 'is', null).execute();
    await sql`create sequence live_changes_seq_no start 1`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) await sql`drop sequence if exists live_changes_seq_no`.execute(db);
  await db.schema.dropTable('live_changes').ifExists().execute();
}
