import type { Kysely } from 'kysely';

// Two-way close (issue 17, part 4): one row per episode in which every related PagerDuty incident linked to an
// incident was resolved. An episode starts when the last one resolves and ends when one is open again (reopened, or
// a new one linked); the next time all are resolved is a new episode (`episode` + 1, unique per incident, so two
// checks racing record it once). The row is written before anyone is told, with what was resolved; the front that
// shows it (Slack) records where it posted (`notice_*`: 'sending' before the post, 'posted' with the message after),
// so a retry after a crash finds its message instead of posting twice.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('pagerduty_all_resolved')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
    .addColumn('episode', 'integer', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull()) // 'prompt' (people choose) | 'automatic' (the setting acted)
    .addColumn('pagerduty', 'text', (c) => c.notNull()) // JSON [{id, number, title, htmlUrl}] resolved in this episode
    .addColumn('choices', 'text', (c) => c.notNull()) // JSON [{choice, label}] offered when it started
    .addColumn('answer', 'text') // 'monitoring' | 'close' | 'keep_open' | 'automatic'
    .addColumn('answered_by', 'text') // users.id of who chose (null when automatic)
    .addColumn('answered_at', 'text')
    .addColumn('outcome', 'text') // what was done, in words
    .addColumn('ended_at', 'text') // set when a PagerDuty incident is open again
    .addColumn('ended_reason', 'text')
    .addColumn('notice_status', 'text', (c) => c.notNull()) // 'pending' | 'sending' | 'posted' | 'skipped'
    .addColumn('notice_channel', 'text')
    .addColumn('notice_ts', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('pagerduty_all_resolved_episode_idx').on('pagerduty_all_resolved').columns(['incident_id', 'episode']).unique().execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('pagerduty_all_resolved').ifExists().execute();
}
