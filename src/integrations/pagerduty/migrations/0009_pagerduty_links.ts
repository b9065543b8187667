import type { Kysely } from 'kysely';

// PagerDuty incidents attached to Firebreak incidents (why, latest known state, mirroring switch), the
// auto-acknowledgement claims, decisions and offers, and the auto-create rules and their settings.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('pagerduty_incident_links')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
    .addColumn('pd_incident_id', 'text', (c) => c.notNull())
    .addColumn('pd_number', 'integer')
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('service_id', 'text')
    .addColumn('service_name', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('urgency', 'text')
    .addColumn('priority_id', 'text')
    .addColumn('priority_name', 'text')
    .addColumn('assignees', 'text', (c) => c.notNull())
    .addColumn('html_url', 'text')
    .addColumn('incident_key', 'text')
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('related', 'text')
    .addColumn('mirror', 'integer', (c) => c.notNull())
    .addColumn('created_by_kind', 'text', (c) => c.notNull())
    .addColumn('created_by_user_id', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('pagerduty_incident_links_uniq', ['incident_id', 'pd_incident_id'])
    .execute();
  await db.schema.createIndex('pagerduty_incident_links_pd_idx').on('pagerduty_incident_links').column('pd_incident_id').execute();
  await db.schema.createIndex('pagerduty_incident_links_key_idx').on('pagerduty_incident_links').column('incident_key').execute();
  await db.schema.createIndex('pagerduty_incident_links_svc_idx').on('pagerduty_incident_links').columns(['service_id', 'created_at']).execute();

  // One row per PagerDuty incident Firebreak acknowledges on someone's behalf: whoever inserts it acts.
  await db.schema
    .createTable('pagerduty_auto_acks')
    .addColumn('pd_incident_id', 'text', (c) => c.primaryKey())
    .addColumn('link_id', 'text', (c) => c.notNull())
    .addColumn('incident_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('pd_user_id', 'text', (c) => c.notNull())
    .addColumn('claimed_by', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('note_added', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('pagerduty_auto_ack_decisions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('link_id', 'text', (c) => c.notNull())
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('actor_kind', 'text', (c) => c.notNull())
    .addColumn('actor_user_id', 'text')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('pagerduty_auto_ack_decisions_link_idx').on('pagerduty_auto_ack_decisions').columns(['link_id', 'id']).execute();

  await db.schema
    .createTable('pagerduty_ack_offers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('link_id', 'text', (c) => c.notNull())
    .addColumn('incident_id', 'text', (c) => c.notNull())
    .addColumn('pd_incident_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('pagerduty_ack_offers_uniq', ['link_id', 'user_id'])
    .execute();

  await db.schema
    .createTable('pagerduty_auto_create_rules')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('service_ids', 'text')
    .addColumn('team_ids', 'text')
    .addColumn('urgencies', 'text')
    .addColumn('priority_ids', 'text')
    .addColumn('create_as', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('pagerduty_auto_create_settings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('severity_map', 'text', (c) => c.notNull())
    .addColumn('grouping_window_minutes', 'integer', (c) => c.notNull())
    .addColumn('auto_decline_on_resolve', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['pagerduty_auto_create_settings', 'pagerduty_auto_create_rules', 'pagerduty_ack_offers', 'pagerduty_auto_ack_decisions', 'pagerduty_auto_acks', 'pagerduty_incident_links']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
