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
  /** Channel id of the announcement (chat.update needs the id; the setting may be a #name or change later). */
  announced_channel: string | null;
  /** What a PagerDuty announcement is about (mrkdwn), kept so each re-render still says it (0016). */
  announcement_detail: string | null;
  /** The channel topic Firebreak last set (set again only when it changes). */
  topic: string | null;
  /** When the channel was archived after the incident closed. */
  archived_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface SlackSeenRequestsTable {
  signature: string;
  seen_at: string;
}

/** A message with buttons Firebreak posted; answered once (the first click wins, later ones read the outcome). */
export interface SlackPromptsTable {
  channel_id: string;
  ts: string;
  incident_id: string;
  /** 'related' | 'ack_offer' | 'resolve' | 'all_resolved' */
  kind: string;
  /** Firebreak user id of who answered. */
  answered_by: string | null;
  answered_at: string | null;
  /** The outcome in words ("Marked as related by Ana Ortiz at 13:24 UTC"), once the answer took effect. */
  outcome: string | null;
  created_at: string;
}

export interface SlackSettingsTable {
  key: string;
  /** JSON. */
  value: string;
  updated_at: string;
}

/** What a workflow step did in Slack, by its idempotency key and target (0019; see workflows/port.ts). */
export interface SlackWorkflowPostsTable {
  idempotency_key: string;
  /** `channel:<id>`, `incident`, `dm:<slack user id>` or `invite`. */
  target: string;
  /** 'post' | 'invite' */
  kind: string;
  channel_id: string | null;
  ts: string | null;
  /** 'sending' (Slack may or may not have it) | 'done' */
  status: string;
  /** JSON: an invite's outcome. */
  result: string | null;
  created_at: string;
  updated_at: string;
}

/** What was posted in Slack for an incident update, per target (0021; see updates/posts.ts). */
export interface SlackUpdatePostsTable {
  update_id: string;
  /** 'channel' (the incident channel) | 'thread' (a reply to the announcement) */
  target: string;
  incident_id: string;
  channel_id: string;
  thread_ts: string | null;
  ts: string | null;
  /** 'sending' (Slack may or may not have it) | 'done' | 'failed' (Slack refused for good) */
  status: string;
  /** Slack's error code when it refused. */
  error: string | null;
  created_at: string;
  updated_at: string;
}

/** An update reminder sent to a lead: one per incident per quiet period (0021; see updates/reminders.ts). */
export interface SlackUpdateRemindersTable {
  incident_id: string;
  /** When the quiet period began: the last update, or the declaration. */
  quiet_since: string;
  lead_user_id: string;
  slack_user_id: string | null;
  channel_id: string | null;
  ts: string | null;
  /** 'sending' | 'done' | 'skipped' (the lead has no Slack account Firebreak can find) */
  status: string;
  created_at: string;
  updated_at: string;
}

declare module '../../platform/db/schema.js' {
  interface Database {
    slack_incidents: SlackIncidentsTable;
    slack_seen_requests: SlackSeenRequestsTable;
    slack_prompts: SlackPromptsTable;
    slack_settings: SlackSettingsTable;
    slack_workflow_posts: SlackWorkflowPostsTable;
    slack_update_posts: SlackUpdatePostsTable;
    slack_update_reminders: SlackUpdateRemindersTable;
  }
}
