// The two-way close table (migration 0029), added to the shared Database type by module augmentation.

export interface PagerDutyAllResolvedTable {
  id: string;
  incident_id: string;
  episode: number;
  mode: 'prompt' | 'automatic';
  /** JSON ResolvedPd[]: the related PagerDuty incidents resolved in this episode. */
  pagerduty: string;
  /** JSON Choice[]: the buttons offered when the episode started. */
  choices: string;
  answer: string | null;
  answered_by: string | null;
  answered_at: string | null;
  outcome: string | null;
  ended_at: string | null;
  ended_reason: string | null;
  notice_status: 'pending' | 'sending' | 'posted' | 'skipped';
  notice_channel: string | null;
  notice_ts: string | null;
  created_at: string;
  updated_at: string;
}

declare module '../../../platform/db/schema.js' {
  interface Database {
    pagerduty_all_resolved: PagerDutyAllResolvedTable;
  }
}
