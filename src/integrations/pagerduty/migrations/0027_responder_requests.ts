import type { Kysely } from 'kysely';

// Escalations that add responders to a PagerDuty incident already linked (issue 17, part 2) instead of opening one
// per target. One request row per such escalation, written before PagerDuty is called (its state says whether
// PagerDuty took it; `sending_at` that a request may be out), and one row per person PagerDuty asked, with the state
// the webhooks report (pending, joined, declined). Both keyed to the escalation, which they are deleted with.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('pagerduty_responder_requests')
    .addColumn('escalation_id', 'text', (c) => c.primaryKey().references('pagerduty_escalations.id').onDelete('cascade'))
    .addColumn('pd_incident_id', 'text', (c) => c.notNull())
    .addColumn('pd_incident_number', 'integer')
    .addColumn('pd_incident_title', 'text', (c) => c.notNull())
    .addColumn('pd_html_url', 'text')
    .addColumn('targets', 'text', (c) => c.notNull()) // JSON {kind, id, name}[]
    .addColumn('message', 'text', (c) => c.notNull()) // exactly what PagerDuty is sent (how a retry recognises it)
    .addColumn('from_email', 'text', (c) => c.notNull())
    .addColumn('requester_pd_id', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull()) // pending | sent | failed
    .addColumn('error', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('sending_at', 'text')
    .addColumn('sent_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('pagerduty_responder_requests_pd_idx').on('pagerduty_responder_requests').column('pd_incident_id').execute();

  await db.schema
    .createTable('pagerduty_responders')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('escalation_id', 'text', (c) => c.notNull().references('pagerduty_escalations.id').onDelete('cascade'))
    .addColumn('pd_incident_id', 'text', (c) => c.notNull())
    .addColumn('pd_user_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('via', 'text') // the escalation policy they were asked through, by name
    .addColumn('state', 'text', (c) => c.notNull()) // pending | joined | declined | user_cancelled
    .addColumn('state_at', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('pagerduty_responders_esc_user_idx').on('pagerduty_responders').columns(['escalation_id', 'pd_user_id']).unique().execute();
  await db.schema.createIndex('pagerduty_responders_pd_idx').on('pagerduty_responders').columns(['pd_incident_id', 'pd_user_id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('pagerduty_responders').ifExists().execute();
  await db.schema.dropTable('pagerduty_responder_requests').ifExists().execute();
}
