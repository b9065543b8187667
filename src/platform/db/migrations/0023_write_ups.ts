import type { Kysely } from 'kysely';

// The post-incident write-up (issue 16, "After the incident"): one Markdown write-up per incident, generated from
// the admin's template (kept in `settings` under `write_ups.template`) and then edited by people, saved with
// optimistic concurrency (`version`); and the post-incident checklist: what people ticked (the review, or "no
// follow-ups needed"), and when the checklist was last found complete (its timeline item is written once per
// completion). "Write-up written" and "Follow-ups created" are derived when read, never stored as done.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('write_ups')
    .addColumn('incident_id', 'text', (c) => c.primaryKey().references('incidents.id'))
    .addColumn('markdown', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull()) // 1 when generated, +1 on every save or regeneration
    .addColumn('generated_at', 'text', (c) => c.notNull())
    .addColumn('generated_by_kind', 'text', (c) => c.notNull())
    .addColumn('generated_by_user_id', 'text', (c) => c.references('users.id'))
    .addColumn('generated_by_ref', 'text')
    .addColumn('edited_at', 'text') // the last save by a person after generation; null while it is the template's output
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('updated_by_kind', 'text', (c) => c.notNull())
    .addColumn('updated_by_user_id', 'text', (c) => c.references('users.id'))
    .addColumn('updated_by_ref', 'text')
    .execute();

  await db.schema
    .createTable('post_incident_items')
    .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
    .addColumn('item', 'text', (c) => c.notNull()) // review | follow_ups (follow_ups: "none needed")
    .addColumn('done', 'integer', (c) => c.notNull())
    .addColumn('note', 'text')
    .addColumn('actor_kind', 'text', (c) => c.notNull())
    .addColumn('actor_user_id', 'text', (c) => c.references('users.id'))
    .addColumn('actor_ref', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('post_incident_items_pk', ['incident_id', 'item'])
    .execute();

  await db.schema
    .createTable('post_incident_checklists')
    .addColumn('incident_id', 'text', (c) => c.primaryKey().references('incidents.id'))
    .addColumn('completed_at', 'text') // set when every item became done, cleared when one is undone
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['post_incident_checklists', 'post_incident_items', 'write_ups']) await db.schema.dropTable(t).ifExists().execute();
}
