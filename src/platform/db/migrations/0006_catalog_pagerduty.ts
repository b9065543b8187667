import type { Kysely } from 'kysely';

// The catalog (types, entries, references for backlinks), its sync runs and the lock that keeps one sync per
// source running across processes.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('catalog_types')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('type_name', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('attributes', 'text', (c) => c.notNull())
    .addColumn('sync_interval_ms', 'integer')
    .addColumn('syncing', 'integer', (c) => c.notNull())
    .addColumn('last_synced_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('catalog_entries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('type_id', 'text', (c) => c.notNull().references('catalog_types.id').onDelete('cascade'))
    .addColumn('external_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('name_lower', 'text', (c) => c.notNull())
    .addColumn('aliases', 'text', (c) => c.notNull())
    .addColumn('attributes', 'text', (c) => c.notNull())
    .addColumn('external_url', 'text')
    .addColumn('archived_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('catalog_entries_external_uq', ['type_id', 'external_id'])
    .execute();
  await db.schema.createIndex('catalog_entries_type_name_idx').on('catalog_entries').columns(['type_id', 'name_lower', 'id']).execute();

  // One row per (entry, attribute, referenced entry): answers "what points at this entry" (backlinks).
  await db.schema
    .createTable('catalog_entry_refs')
    .addColumn('from_entry_id', 'text', (c) => c.notNull().references('catalog_entries.id').onDelete('cascade'))
    .addColumn('attribute_id', 'text', (c) => c.notNull())
    .addColumn('to_entry_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('catalog_entry_refs_pk', ['from_entry_id', 'attribute_id', 'to_entry_id'])
    .execute();
  await db.schema.createIndex('catalog_entry_refs_to_idx').on('catalog_entry_refs').column('to_entry_id').execute();

  await db.schema
    .createTable('catalog_sync_runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('forced', 'integer', (c) => c.notNull())
    .addColumn('types', 'text', (c) => c.notNull())
    .addColumn('stats', 'text', (c) => c.notNull())
    .addColumn('progress', 'text', (c) => c.notNull())
    .addColumn('requests', 'integer', (c) => c.notNull())
    .addColumn('errors', 'text', (c) => c.notNull())
    .addColumn('stop_reason', 'text')
    .addColumn('requested_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text')
    .addColumn('finished_at', 'text')
    .addColumn('heartbeat_at', 'text')
    .execute();
  await db.schema.createIndex('catalog_sync_runs_source_idx').on('catalog_sync_runs').columns(['source', 'created_at']).execute();

  await db.schema
    .createTable('catalog_sync_locks')
    .addColumn('source', 'text', (c) => c.primaryKey())
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['catalog_sync_locks', 'catalog_sync_runs', 'catalog_entry_refs', 'catalog_entries', 'catalog_types']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
