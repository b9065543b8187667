import type { Kysely } from 'kysely';

// PagerDuty status updates (issue 16): one row per (incident update, PagerDuty incident) it is posted to, written
// with its job in the transaction that handles the update's event, so each is sent at most once by a run that saw
// it pending, and its outcome (sent with PagerDuty's id, failed with PagerDuty's message, skipped) is shown on the
// update. Not a foreign key to the link: a detached link goes, its delivery record stays.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('pagerduty_status_updates')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('update_id', 'text', (c) => c.notNull().references('incident_updates.id'))
    .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
    .addColumn('link_id', 'text') // pagerduty_incident_links.id when recorded
    .addColumn('pd_incident_id', 'text', (c) => c.notNull())
    .addColumn('pd_number', 'integer')
    .addColumn('pd_title', 'text', (c) => c.notNull())
    .addColumn('html_url', 'text')
    .addColumn('state', 'text', (c) => c.notNull()) // pending | sent | failed | skipped
    .addColumn('pd_status_update_id', 'text') // PagerDuty's id once sent
    .addColumn('error', 'text') // PagerDuty's message when refused (or why skipped); the last retryable error while pending
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('sending_at', 'text') // set while a request is out, cleared when PagerDuty answers
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('sent_at', 'text')
    .execute();
  // One status update per update and PagerDuty incident, whatever redelivers the event.
  await db.schema.createIndex('pagerduty_status_updates_update_pd_idx').on('pagerduty_status_updates').columns(['update_id', 'pd_incident_id']).unique().execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('pagerduty_status_updates').ifExists().execute();
}
