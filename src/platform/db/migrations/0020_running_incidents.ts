import { sql, type Kysely } from 'kysely';

// Running the whole incident (issue 16): roles an admin defines and who holds them on each incident; updates
// (each its own record and timeline item, never an overwrite of the summary); follow-ups across incidents; the
// incident's timestamps (reported, impact started, identified, fixed, resolved, and PagerDuty's first triggered
// and first acknowledged), set automatically and editable with a reason. The lead stays `incidents.lead_user_id`.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('incident_roles')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('rank', 'integer', (c) => c.notNull()) // display order, 1 first
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('deleted_at', 'text') // soft delete: past assignments keep their name
    .execute();
  await db.schema.createIndex('incident_roles_name_live_uq').on('incident_roles').expression(sql`lower(name)`).unique().where(sql.ref('deleted_at'), 'is', null).execute();

  await db.schema
    .createTable('incident_role_assignments')
    .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
    .addColumn('role_id', 'text', (c) => c.notNull().references('incident_roles.id'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('assigned_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('incident_role_assignments_pk', ['incident_id', 'role_id'])
    .execute();
  await db.schema.createIndex('incident_role_assignments_user_idx').on('incident_role_assignments').column('user_id').execute();

  await db.schema
    .createTable('incident_updates')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
    .addColumn('message', 'text', (c) => c.notNull()) // "what changed", as the person wrote it
    .addColumn('status_id', 'text', (c) => c.notNull()) // the status after this update
    .addColumn('severity_id', 'text', (c) => c.notNull()) // the severity after this update
    .addColumn('summary', 'text') // the summary after this update, null when it did not change
    .addColumn('actor_kind', 'text', (c) => c.notNull())
    .addColumn('actor_user_id', 'text', (c) => c.references('users.id'))
    .addColumn('actor_ref', 'text')
    .addColumn('idempotency_key', 'text', (c) => c.unique())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('incident_updates_incident_idx').on('incident_updates').columns(['incident_id', 'created_at']).execute();

  await db.schema
    .createTable('follow_ups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('owner_user_id', 'text', (c) => c.references('users.id'))
    .addColumn('priority', 'text', (c) => c.notNull()) // urgent | high | medium | low
    .addColumn('status', 'text', (c) => c.notNull()) // open | done | wont_do
    .addColumn('link', 'text') // an http(s) URL, e.g. the ticket
    .addColumn('source', 'text', (c) => c.notNull()) // web | api | slack
    .addColumn('source_ref', 'text') // e.g. the Slack message permalink it was made from
    .addColumn('created_by_kind', 'text', (c) => c.notNull())
    .addColumn('created_by_user_id', 'text', (c) => c.references('users.id'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('completed_at', 'text') // when it became done or wont_do
    .execute();
  await db.schema.createIndex('follow_ups_incident_idx').on('follow_ups').columns(['incident_id', 'created_at']).execute();
  await db.schema.createIndex('follow_ups_status_idx').on('follow_ups').columns(['status', 'created_at']).execute();

  await db.schema
    .createTable('incident_timestamps')
    .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
    .addColumn('kind', 'text', (c) => c.notNull()) // IncidentTimestampKind
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull()) // auto | pagerduty | user
    .addColumn('reason', 'text') // required when a person edits it
    .addColumn('set_by_user_id', 'text', (c) => c.references('users.id'))
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('incident_timestamps_pk', ['incident_id', 'kind'])
    .execute();
  await db.schema.createIndex('incident_timestamps_kind_at_idx').on('incident_timestamps').columns(['kind', 'at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['incident_timestamps', 'follow_ups', 'incident_updates', 'incident_role_assignments', 'incident_roles']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
