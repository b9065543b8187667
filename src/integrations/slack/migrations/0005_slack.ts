import type { Kysely } from 'kysely';

// The Slack integration's tables: which channel and header message belong to an incident, and the signatures
// of Slack requests already accepted (replay protection shared by every Firebreak process).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('slack_incidents')
    .addColumn('incident_id', 'text', (c) => c.primaryKey())
    .addColumn('channel_id', 'text', (c) => c.unique())
    .addColumn('channel_name', 'text')
    .addColumn('header_ts', 'text')
    .addColumn('header_pinned', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('announced_ts', 'text')
    .addColumn('declarer_slack_id', 'text')
    .addColumn('origin_channel_id', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('slack_seen_requests')
    .addColumn('signature', 'text', (c) => c.primaryKey())
    .addColumn('seen_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('slack_seen_requests_seen_at').on('slack_seen_requests').column('seen_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('slack_seen_requests').ifExists().execute();
  await db.schema.dropTable('slack_incidents').ifExists().execute();
}
