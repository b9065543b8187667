import type { Kysely } from 'kysely';

// Several PagerDuty accounts (issue 17, part 5). The existing connection is the first account, `default`; every row
// that acts on PagerDuty later (an escalation target paged, a link followed, a webhook delivery applied, a responder
// request sent) records the account it belongs to, so later calls use that account's key and bot. Rows made before
// this migration belong to the first account, which is what the default says.
const TABLES = ['pagerduty_escalation_targets', 'pagerduty_incident_links', 'pagerduty_webhook_events', 'pagerduty_responder_requests', 'pagerduty_status_updates'];

export async function up(db: Kysely<any>): Promise<void> {
  for (const t of TABLES) await db.schema.alterTable(t).addColumn('account_id', 'text', (c) => c.notNull().defaultTo('default')).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of TABLES) await db.schema.alterTable(t).dropColumn('account_id').execute();
}
