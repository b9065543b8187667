import type { Kysely } from 'kysely';

// What workflow steps did in Slack, by the step's idempotency key and target (one row per channel or DM posted to,
// one per invite): written before Slack is called ('sending') and completed with Slack's answer ('done'), so a
// retried step returns what was done instead of doing it again.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('slack_workflow_posts')
    .addColumn('idempotency_key', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('channel_id', 'text')
    .addColumn('ts', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('result', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('slack_workflow_posts_pk', ['idempotency_key', 'target'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('slack_workflow_posts').ifExists().execute();
}
