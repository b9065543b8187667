import type { Kysely } from 'kysely';

// Slack messages that stay true: what the announcement shows besides the incident (the PagerDuty incident a
// triage announcement is about), the channel topic last set, when the channel was archived after close, and
// the questions with buttons Firebreak asked (answered once: later clicks get the recorded outcome).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('slack_incidents')
    .addColumn('announcement_detail', 'text')
    .execute();
  await db.schema.alterTable('slack_incidents').addColumn('announced_channel', 'text').execute();
  await db.schema.alterTable('slack_incidents').addColumn('topic', 'text').execute();
  await db.schema.alterTable('slack_incidents').addColumn('archived_at', 'text').execute();
  await db.schema
    .createTable('slack_prompts')
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('ts', 'text', (c) => c.notNull())
    .addColumn('incident_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('answered_by', 'text')
    .addColumn('answered_at', 'text')
    .addColumn('outcome', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('slack_prompts_pk', ['channel_id', 'ts'])
    .execute();
  // Slack settings that hold whatever the credentials' source (environment or the Integrations page).
  await db.schema
    .createTable('slack_settings')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('slack_settings').ifExists().execute();
  await db.schema.dropTable('slack_prompts').ifExists().execute();
  await db.schema.alterTable('slack_incidents').dropColumn('archived_at').execute();
  await db.schema.alterTable('slack_incidents').dropColumn('topic').execute();
  await db.schema.alterTable('slack_incidents').dropColumn('announced_channel').execute();
  await db.schema.alterTable('slack_incidents').dropColumn('announcement_detail').execute();
}
