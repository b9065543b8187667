import type { Db } from '../../platform/db/index.js';
import { nowIso } from '../../platform/ids.js';
import type { SlackIncidentsTable } from './slack.tables.js';
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
      .values({ incident_id: incidentId, channel_id: null, channel_name: null, header_ts: null, header_pinned: 0, announced_ts: null, declarer_slack_id: null, origin_channel_id: null, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('incident_id').doNothing())
      .execute();
    return (await this.byIncident(incidentId))!;
  }

  /** Who declared the incident from Slack and where: one statement (the row may exist already, from a job). */
  async recordDeclaration(incidentId: string, declarerSlackId: string, originChannelId: string | null): Promise<void> {
    const now = nowIso();
    await this.db
      .insertInto('slack_incidents')
      .values({ incident_id: incidentId, channel_id: null, channel_name: null, header_ts: null, header_pinned: 0, announced_ts: null, declarer_slack_id: declarerSlackId, origin_channel_id: originChannelId, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('incident_id').doUpdateSet({ declarer_slack_id: declarerSlackId, origin_channel_id: originChannelId, updated_at: now }))
      .execute();
  }

  async update(incidentId: string, patch: Partial<Omit<SlackIncidentRow, 'incident_id' | 'created_at' | 'updated_at'>>): Promise<void> {
    await this.db.updateTable('slack_incidents').set({ ...patch, updated_at: nowIso() }).where('incident_id', '=', incidentId).execute();
  }
}
