import type { Kysely } from 'kysely';

// Webhook deliveries not applied yet, in arrival order: what the drain job reads.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('pagerduty_webhook_events_pending_idx').on('pagerduty_webhook_events').columns(['applied_at', 'received_at', 'delivery_id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('pagerduty_webhook_events_pending_idx').ifExists().execute();
}
