import type { Kysely } from 'kysely';

// Webhook health on the PagerDuty settings page: the last delivery is read from the deliveries by arrival time
// (indexed here); the last signature failure and the test ping (sent, arrived) are kept on the settings row.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('pagerduty_webhook_events_received_idx').on('pagerduty_webhook_events').columns(['received_at']).execute();
  await db.schema.alterTable('pagerduty_escalation_settings').addColumn('webhook_signature_failed_at', 'text').execute();
  await db.schema.alterTable('pagerduty_escalation_settings').addColumn('webhook_ping_sent_at', 'text').execute();
  await db.schema.alterTable('pagerduty_escalation_settings').addColumn('webhook_ping_received_at', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('pagerduty_webhook_events_received_idx').ifExists().execute();
  for (const c of ['webhook_signature_failed_at', 'webhook_ping_sent_at', 'webhook_ping_received_at']) await db.schema.alterTable('pagerduty_escalation_settings').dropColumn(c).execute();
}
