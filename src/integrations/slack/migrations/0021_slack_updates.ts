import type { Kysely } from 'kysely';

// Incident updates in Slack (issue 16): what was posted for each update (one row per target: the incident channel,
// the thread under the announcement), and the update reminders sent to leads (one per incident per quiet period,
// the period named by when it began: the last update, or the declaration). Rows are written before Slack is called
// ('sending') and completed with Slack's answer ('done'), so a retried job posts nothing twice.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('slack_update_posts')
    .addColumn('update_id', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull()) // 'channel' | 'thread'
    .addColumn('incident_id', 'text', (c) => c.notNull())
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('thread_ts', 'text')
    .addColumn('ts', 'text')
    .addColumn('status', 'text', (c) => c.notNull()) // 'sending' | 'done' | 'failed'
    .addColumn('error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('slack_update_posts_pk', ['update_id', 'target'])
    .execute();

  await db.schema
    .createTable('slack_update_reminders')
    .addColumn('incident_id', 'text', (c) => c.notNull())
    .addColumn('quiet_since', 'text', (c) => c.notNull())
    .addColumn('lead_user_id', 'text', (c) => c.notNull())
    .addColumn('slack_user_id', 'text')
    .addColumn('channel_id', 'text')
    .addColumn('ts', 'text')
    .addColumn('status', 'text', (c) => c.notNull()) // 'sending' | 'done' | 'skipped'
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('slack_update_reminders_pk', ['incident_id', 'quiet_since'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('slack_update_reminders').ifExists().execute();
  await db.schema.dropTable('slack_update_posts').ifExists().execute();
}
