import type { Kysely } from 'kysely';

// Escalations to PagerDuty (one row per request, one per target paged), their settings, and every PagerDuty
// webhook delivery stored once by its delivery id before it is applied.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('pagerduty_escalations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
    .addColumn('requester_kind', 'text', (c) => c.notNull())
    .addColumn('requester_user_id', 'text')
    .addColumn('requester_ref', 'text')
    .addColumn('requester_name', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('urgency', 'text', (c) => c.notNull())
    .addColumn('priority_id', 'text')
    .addColumn('priority_name', 'text')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'text', (c) => c.unique())
    .addColumn('slack_channel_id', 'text')
    .addColumn('slack_message_ts', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('pagerduty_escalations_incident_idx').on('pagerduty_escalations').columns(['incident_id', 'id']).execute();

  await db.schema
    .createTable('pagerduty_escalation_targets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('escalation_id', 'text', (c) => c.notNull().references('pagerduty_escalations.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text', (c) => c.notNull())
    .addColumn('target_name', 'text', (c) => c.notNull())
    .addColumn('service_id', 'text')
    .addColumn('service_name', 'text')
    .addColumn('incident_key', 'text', (c) => c.notNull().unique())
    .addColumn('from_email', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('pd_incident_id', 'text')
    .addColumn('pd_incident_number', 'integer')
    .addColumn('pd_html_url', 'text')
    .addColumn('paged', 'text', (c) => c.notNull())
    .addColumn('acknowledged_by', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('retries', 'integer', (c) => c.notNull())
    .addColumn('lease_until', 'text')
    .addColumn('status_event_at', 'text')
    .addColumn('triggered_at', 'text')
    .addColumn('acknowledged_at', 'text')
    .addColumn('resolved_at', 'text')
    .addColumn('failed_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('pagerduty_escalation_targets_esc_idx').on('pagerduty_escalation_targets').columns(['escalation_id', 'position']).execute();
  await db.schema.createIndex('pagerduty_escalation_targets_pd_idx').on('pagerduty_escalation_targets').column('pd_incident_id').execute();

  await db.schema
    .createTable('pagerduty_escalation_settings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('fallback_service_id', 'text')
    .addColumn('fallback_service_name', 'text')
    .addColumn('always_use_bot', 'integer', (c) => c.notNull())
    .addColumn('webhook_subscription_id', 'text')
    .addColumn('webhook_url', 'text')
    .addColumn('webhook_secrets', 'text', (c) => c.notNull())
    .addColumn('webhook_error', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('pagerduty_webhook_events')
    .addColumn('delivery_id', 'text', (c) => c.primaryKey())
    .addColumn('event_id', 'text', (c) => c.notNull().unique())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('resource_type', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text')
    .addColumn('occurred_at', 'text')
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('received_at', 'text', (c) => c.notNull())
    .addColumn('applied_at', 'text')
    .addColumn('outcome', 'text')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['pagerduty_webhook_events', 'pagerduty_escalation_settings', 'pagerduty_escalation_targets', 'pagerduty_escalations']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
