import type { Db } from '../../platform/db/index.js';
import { nowIso } from '../../platform/ids.js';
import type { SlackIncidentsTable, SlackPromptsTable } from './slack.tables.js';
import './slack.tables.js';

// The Slack module's own rows: an incident's channel, its header message, and the announcement. Each step of
// channel set-up is recorded as it happens, so a retried job continues where the last attempt stopped.

export type SlackIncidentRow = SlackIncidentsTable;

export class SlackStore {
  constructor(private readonly db: Db) {}

  async byIncident(incidentId: string): Promise<SlackIncidentRow | null> {
    return (await this.db.selectFrom('slack_incidents').selectAll().where('incident_id', '=', incidentId).executeTakeFirst()) ?? null;
  }

  async byChannel(channelId: string): Promise<SlackIncidentRow | null> {
    return (await this.db.selectFrom('slack_incidents').selectAll().where('channel_id', '=', channelId).executeTakeFirst()) ?? null;
  }

  /** The most recently created incident channel, to point people at an example. */
  async latestChannel(): Promise<string | null> {
    const row = await this.db.selectFrom('slack_incidents').select('channel_id').where('channel_id', 'is not', null).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
    return row?.channel_id ?? null;
  }

  async ensure(incidentId: string): Promise<SlackIncidentRow> {
    const now = nowIso();
    await this.db
      .insertInto('slack_incidents')
      .values({ incident_id: incidentId, channel_id: null, channel_name: null, header_ts: null, header_pinned: 0, announced_ts: null, declarer_slack_id: null, origin_channel_id: null, announced_channel: null, announcement_detail: null, topic: null, archived_at: null, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('incident_id').doNothing())
      .execute();
    return (await this.byIncident(incidentId))!;
  }

  /** Who declared the incident from Slack and where: one statement (the row may exist already, from a job). */
  async recordDeclaration(incidentId: string, declarerSlackId: string, originChannelId: string | null): Promise<void> {
    const now = nowIso();
    await this.db
      .insertInto('slack_incidents')
      .values({ incident_id: incidentId, channel_id: null, channel_name: null, header_ts: null, header_pinned: 0, announced_ts: null, declarer_slack_id: declarerSlackId, origin_channel_id: originChannelId, announced_channel: null, announcement_detail: null, topic: null, archived_at: null, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('incident_id').doUpdateSet({ declarer_slack_id: declarerSlackId, origin_channel_id: originChannelId, updated_at: now }))
      .execute();
  }

  async update(incidentId: string, patch: Partial<Omit<SlackIncidentRow, 'incident_id' | 'created_at' | 'updated_at'>>): Promise<void> {
    await this.db.updateTable('slack_incidents').set({ ...patch, updated_at: nowIso() }).where('incident_id', '=', incidentId).execute();
  }

  // ----- questions with buttons: the first click answers, later clicks read the outcome -----

  async recordPrompt(channelId: string, ts: string, incidentId: string, kind: string): Promise<void> {
    await this.db
      .insertInto('slack_prompts')
      .values({ channel_id: channelId, ts, incident_id: incidentId, kind, answered_by: null, answered_at: null, outcome: null, created_at: nowIso() })
      .onConflict((oc) => oc.columns(['channel_id', 'ts']).doNothing())
      .execute();
  }

  /** Claims the answer for this person; null when someone answered first (then `prompt` says who and what). */
  async claimPrompt(channelId: string, ts: string, incidentId: string, kind: string, userId: string): Promise<{ claimed: true } | { claimed: false; prompt: SlackPromptsTable }> {
    const now = nowIso();
    const won = await this.db
      .insertInto('slack_prompts')
      .values({ channel_id: channelId, ts, incident_id: incidentId, kind, answered_by: userId, answered_at: now, outcome: null, created_at: now })
      .onConflict((oc) => oc.columns(['channel_id', 'ts']).doUpdateSet({ answered_by: userId, answered_at: now }).where('slack_prompts.answered_at', 'is', null))
      .returning('ts')
      .executeTakeFirst();
    if (won) return { claimed: true };
    const prompt = await this.db.selectFrom('slack_prompts').selectAll().where('channel_id', '=', channelId).where('ts', '=', ts).executeTakeFirstOrThrow();
    return { claimed: false, prompt };
  }

  /** The answer did not take effect: the question is open again. */
  async releasePrompt(channelId: string, ts: string): Promise<void> {
    await this.db.updateTable('slack_prompts').set({ answered_by: null, answered_at: null }).where('channel_id', '=', channelId).where('ts', '=', ts).where('outcome', 'is', null).execute();
  }

  async settlePrompt(channelId: string, ts: string, outcome: string): Promise<void> {
    await this.db.updateTable('slack_prompts').set({ outcome }).where('channel_id', '=', channelId).where('ts', '=', ts).execute();
  }

  // ----- settings -----

  async archiveAfterCloseMinutes(): Promise<number | null> {
    const row = await this.db.selectFrom('slack_settings').select('value').where('key', '=', 'archive_after_close_minutes').executeTakeFirst();
    const v = row ? (JSON.parse(row.value) as unknown) : null;
    return typeof v === 'number' ? v : null;
  }

  async setArchiveAfterCloseMinutes(minutes: number | null): Promise<void> {
    const now = nowIso();
    const value = JSON.stringify(minutes);
    await this.db
      .insertInto('slack_settings')
      .values({ key: 'archive_after_close_minutes', value, updated_at: now })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: now }))
      .execute();
  }
}
