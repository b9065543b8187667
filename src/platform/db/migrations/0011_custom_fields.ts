import { sql, type Kysely } from 'kysely';

// Custom fields on incidents: the field definitions (soft-deleted, so timelines keep naming them) and their
// values, one row per incident, field and value, so `custom_field=<key>:<value>` is an index lookup.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('custom_fields')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('options', 'text', (c) => c.notNull()) // JSON: { id, label }[]
    // No foreign key: the catalog decides whether a type may go; a field whose type went shows its entries as missing.
    .addColumn('catalog_type_id', 'text')
    .addColumn('multiple', 'integer', (c) => c.notNull())
    .addColumn('required_at_declaration', 'integer', (c) => c.notNull())
    .addColumn('required_before_close', 'integer', (c) => c.notNull())
    .addColumn('show_in_declare', 'integer', (c) => c.notNull())
    .addColumn('default_value', 'text') // JSON: the stored (normalized) value, or null
    .addColumn('rank', 'integer', (c) => c.notNull())
    .addColumn('deleted_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  // A key names one live field; a deleted field's key may be taken again by a new field.
  await db.schema.createIndex('custom_fields_key_live_uq').on('custom_fields').column('key').unique().where(sql.ref('deleted_at'), 'is', null).execute();

  // value_key: what filters compare (option id, entry id, the text, the number as text; long texts by hash).
  // value: the stored value itself as JSON (a string or a number). position keeps the order of many values.
  await db.schema
    .createTable('incident_custom_field_values')
    .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
    .addColumn('field_id', 'text', (c) => c.notNull().references('custom_fields.id').onDelete('cascade'))
    .addColumn('value_key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('incident_custom_field_values_pk', ['incident_id', 'field_id', 'value_key'])
    .execute();
  await db.schema.createIndex('incident_custom_field_values_lookup_idx').on('incident_custom_field_values').columns(['field_id', 'value_key', 'incident_id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['incident_custom_field_values', 'custom_fields']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
