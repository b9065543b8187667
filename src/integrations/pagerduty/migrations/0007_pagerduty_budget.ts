import type { Kysely } from 'kysely';

// The PagerDuty request budget shared by every process (PostgreSQL deployments): a token bucket row per
// connection, refilled and debited atomically (see src/integrations/pagerduty/client/budget.ts).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('pagerduty_request_budget')
    .addColumn('connection', 'text', (c) => c.primaryKey())
    .addColumn('tokens', 'double precision', (c) => c.notNull())
    .addColumn('updated_ms', 'double precision', (c) => c.notNull())
    .addColumn('paused_until_ms', 'double precision', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('pagerduty_request_budget').ifExists().execute();
}
