// Table types of the Slack module (created by migration 0005_slack), added to the shared Database type.

export interface SlackIncidentsTable {
  incident_id: string;
  channel_id: string | null;
  channel_name: string | null;
  /** ts of the pinned header message in the incident channel. */
  header_ts: string | null;
  header_pinned: number; // 0 | 1
  /** ts of the announcement in the announcements channel. */
  announced_ts: string | null;
  /** Slack user who declared the incident from Slack (invited first), and where they typed the command. */
  declarer_slack_id: string | null;
  origin_channel_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface SlackSeenRequestsTable {
  signature: string;
  seen_at: string;
}

declare module '../../platform/db/schema.js' {
  interface Database {
    slack_incidents: SlackIncidentsTable;
    slack_seen_requests: SlackSeenRequestsTable;
  }
}
