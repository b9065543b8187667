import { sql, type Kysely } from 'kysely';

// Tables of the in-process job runner used with SQLite. With PostgreSQL, graphile-worker keeps its own
// schema (graphile_worker.*) and these tables stay empty.
//
// - A job key dedupes only while its job is pending or running (a partial unique index), so a dead job
//   keeps its key for inspection and the same key can be enqueued again once the job is done or dead.
// - Completed jobs are deleted; dead jobs stay (state 'dead', attempts, last_error).
// - Enqueue order within a queue is the table's rowid (SQLite assigns increasing rowids).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('job_key', 'text')
    .addColumn('queue', 'text')
    .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('run_at', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('locked_by', 'text')
    .addColumn('locked_at', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('jobs_ready_idx').on('jobs').columns(['state', 'run_at', 'priority']).execute();
  await db.schema
    .createIndex('jobs_active_key_idx')
    .on('jobs')
    .column('job_key')
    .unique()
    .where(sql.ref('state'), 'in', sql`('pending', 'running')`)
    .execute();
  await db.schema.createIndex('jobs_queue_idx').on('jobs').columns(['queue', 'state']).execute();

  await db.schema
    .createTable('job_schedules')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('task', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('interval_ms', 'integer', (c) => c.notNull())
    .addColumn('next_run_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('job_schedules').ifExists().execute();
  await db.schema.dropTable('jobs').ifExists().execute();
}
