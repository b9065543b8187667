// The escalation module's tables, added to the shared Database type by module augmentation.

export type TargetKind = 'escalation_policy' | 'user';
export type TargetStatus = 'pending' | 'triggered' | 'acknowledged' | 'resolved' | 'failed';

export interface PagerDutyEscalationsTable {
  id: string;
  incident_id: string;
  requester_kind: 'user' | 'integration' | 'workflow' | 'system';
  requester_user_id: string | null;
  requester_ref: string | null;
  requester_name: string;
  message: string;
  urgency: 'high' | 'low';
  priority_id: string | null;
  priority_name: string | null;
  source: string;
  idempotency_key: string | null;
  slack_channel_id: string | null;
  slack_message_ts: string | null;
  created_at: string;
  updated_at: string;
}

export interface PagerDutyEscalationTargetsTable {
  id: string;
  /** The PagerDuty account paged ('default': the first account); migration 0030. */
  account_id?: string;
  escalation_id: string;
  position: number;
  kind: TargetKind;
  /** PagerDuty id of the escalation policy or user. */
  target_id: string;
  target_name: string;
  service_id: string | null;
  service_name: string | null;
  /** Also the job's idempotency key: PagerDuty refuses a second open incident with it on the service. */
  incident_key: string;
  from_email: string | null;
  status: TargetStatus;
  error: string | null;
  pd_incident_id: string | null;
  pd_incident_number: number | null;
  pd_html_url: string | null;
  paged: string; // JSON PersonAt[]
  acknowledged_by: string; // JSON PersonAt[]
  attempts: number;
  retries: number;
  lease_until: string | null;
  status_event_at: string | null;
  triggered_at: string | null;
  acknowledged_at: string | null;
  resolved_at: string | null;
  failed_at: string | null;
  created_at: string;
  updated_at: string;
}

export type ResponderRequestState = 'pending' | 'sent' | 'failed';
export type ResponderState = 'pending' | 'joined' | 'declined' | 'user_cancelled';

/** An escalation that asks people to join a PagerDuty incident already linked (add responders). */
export interface PagerDutyResponderRequestsTable {
  account_id?: string;
  escalation_id: string;
  pd_incident_id: string;
  pd_incident_number: number | null;
  pd_incident_title: string;
  pd_html_url: string | null;
  targets: string; // JSON {kind, id, name}[]
  message: string;
  from_email: string;
  requester_pd_id: string;
  state: ResponderRequestState;
  error: string | null;
  attempts: number;
  sending_at: string | null;
  sent_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface PagerDutyRespondersTable {
  id: string;
  escalation_id: string;
  pd_incident_id: string;
  pd_user_id: string;
  name: string;
  via: string | null;
  state: ResponderState;
  state_at: string;
  created_at: string;
  updated_at: string;
}

declare module '../../../platform/db/schema.js' {
  interface Database {
    pagerduty_responder_requests: PagerDutyResponderRequestsTable;
    pagerduty_responders: PagerDutyRespondersTable;
    pagerduty_escalations: PagerDutyEscalationsTable;
    pagerduty_escalation_targets: PagerDutyEscalationTargetsTable;
  }
}
