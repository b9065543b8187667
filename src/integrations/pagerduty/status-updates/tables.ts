// The status updates module's table, added to the shared Database type by module augmentation.

export type StatusUpdateState = 'pending' | 'sent' | 'failed' | 'skipped';

export interface PagerDutyStatusUpdatesTable {
  account_id?: string;
  id: string;
  update_id: string;
  incident_id: string;
  link_id: string | null;
  pd_incident_id: string;
  pd_number: number | null;
  pd_title: string;
  html_url: string | null;
  state: StatusUpdateState;
  pd_status_update_id: string | null;
  error: string | null;
  attempts: number;
  sending_at: string | null;
  created_at: string;
  updated_at: string;
  sent_at: string | null;
}

declare module '../../../platform/db/schema.js' {
  interface Database {
    pagerduty_status_updates: PagerDutyStatusUpdatesTable;
  }
}
