import { PostgresAdapter, sql, type Kysely } from 'kysely';

// A version of the custom field definitions (issue 18): the `sequences` row `custom_fields`, raised by the database
// itself in the writing transaction whenever a definition is added, changed or deleted, or a catalog type is renamed
// or deleted (fields carry its name; type names never change today, the trigger keeps that from mattering). Each process keeps the definitions it read beside the version they were
// read at (custom-fields.service.ts), and a declaration reads the version in a statement it sends anyway (with the
// incident number on PostgreSQL), so a change made by any process, or by hand in SQL, is seen by the next
// declaration everywhere, without reading the definitions each time.

export async function up(db: Kysely<any>): Promise<void> {
  await db.insertInto('sequences').values({ name: 'custom_fields', value: 0 }).execute();
  const bump = `update sequences set value = value + 1 where name = 'custom_fields'`;
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql.raw(`create function firebreak_custom_fields_version() returns trigger language plpgsql as $$ begin ${bump}; return null; end $$`).execute(db);
    await sql.raw(`create trigger custom_fields_version after insert or update or delete on custom_fields for each statement execute function firebreak_custom_fields_version()`).execute(db);
    await sql
      .raw(`create trigger catalog_types_custom_fields_version after update of type_name on catalog_types for each row when (old.type_name is distinct from new.type_name) execute function firebreak_custom_fields_version()`)
      .execute(db);
    await sql.raw(`create trigger catalog_types_deleted_custom_fields_version after delete on catalog_types for each statement execute function firebreak_custom_fields_version()`).execute(db);
    return;
  }
  for (const op of ['insert', 'update', 'delete']) {
    await sql.raw(`create trigger custom_fields_version_${op} after ${op} on custom_fields begin ${bump}; end`).execute(db);
  }
  await sql.raw(`create trigger catalog_types_custom_fields_version after update of type_name on catalog_types when old.type_name is not new.type_name begin ${bump}; end`).execute(db);
  await sql.raw(`create trigger catalog_types_deleted_custom_fields_version after delete on catalog_types begin ${bump}; end`).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`drop trigger if exists catalog_types_custom_fields_version on catalog_types`.execute(db);
    await sql`drop trigger if exists catalog_types_deleted_custom_fields_version on catalog_types`.execute(db);
    await sql`drop trigger if exists custom_fields_version on custom_fields`.execute(db);
    await sql`drop function if exists firebreak_custom_fields_version()`.execute(db);
  } else {
    for (const t of ['custom_fields_version_insert', 'custom_fields_version_update', 'custom_fields_version_delete', 'catalog_types_custom_fields_version', 'catalog_types_deleted_custom_fields_version']) await sql.raw(`drop trigger if exists ${t}`).execute(db);
  }
  await db.deleteFrom('sequences').where('name', '=', 'custom_fields').execute();
}
