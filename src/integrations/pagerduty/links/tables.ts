// The links module's tables (and auto-ack's, auto-create's), added to the shared Database type by module augmentation.

export type LinkReason = 'escalation' | 'related' | 'source' | 'grouped';
export type RelatedState = 'pending' | 'confirmed' | 'rejected';

export interface PagerDutyIncidentLinksTable {
  /** The PagerDuty account of the linked incident ('default': the first account). */
  account_id?: string;
  id: string;
  incident_id: string;
  pd_incident_id: string;
  pd_number: number | null;
  title: string;
  service_id: string | null;
  service_name: string | null;
  status: string;
  urgency: string | null;
  priority_id: string | null;
  priority_name: string | null;
  assignees: string; // JSON {id,name}[]
  html_url: string | null;
  incident_key: string | null;
  reason: LinkReason;
  related: RelatedState | null;
  mirror: number;
  created_by_kind: string;
  created_by_user_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface PagerDutyAutoAcksTable {
  pd_incident_id: string;
  link_id: string;
  incident_id: string;
  user_id: string;
  pd_user_id: string;
  /** The trigger that won the claim; only it (or its retry) acts. */
  claimed_by: string;
  state: 'claimed' | 'acknowledged' | 'abandoned';
  note_added: number;
  created_at: string;
  updated_at: string;
}

export interface PagerDutyAutoAckDecisionsTable {
  id: string;
  link_id: string;
  trigger: string;
  actor_kind: string;
  actor_user_id: string | null;
  outcome: string;
  detail: string;
  created_at: string;
}

export interface PagerDutyAckOffersTable {
  id: string;
  link_id: string;
  incident_id: string;
  pd_incident_id: string;
  user_id: string;
  reason: 'not_paged' | 'unmatched';
  status: 'open' | 'acknowledged' | 'failed';
  error: string | null;
  created_at: string;
  updated_at: string;
}

export interface PagerDutyAutoCreateRulesTable {
  id: string;
  name: string;
  enabled: number;
  position: number;
  service_ids: string | null; // JSON string[]; null = every service
  team_ids: string | null;
  urgencies: string | null;
  priority_ids: string | null;
  create_as: 'triage' | 'live';
  created_at: string;
  updated_at: string;
}

export interface PagerDutyAutoCreateSettingsTable {
  id: string;
  severity_map: string; // JSON { [pdPriorityId]: severityId }
  grouping_window_minutes: number;
  auto_decline_on_resolve: number;
  updated_at: string;
}

declare module '../../../platform/db/schema.js' {
  interface Database {
    pagerduty_incident_links: PagerDutyIncidentLinksTable;
    pagerduty_auto_acks: PagerDutyAutoAcksTable;
    pagerduty_auto_ack_decisions: PagerDutyAutoAckDecisionsTable;
    pagerduty_ack_offers: PagerDutyAckOffersTable;
    pagerduty_auto_create_rules: PagerDutyAutoCreateRulesTable;
    pagerduty_auto_create_settings: PagerDutyAutoCreateSettingsTable;
  }
}
