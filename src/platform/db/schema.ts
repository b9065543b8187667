// Table types for every module. Each module queries only its own tables; this file is the single
// description of what the migrations create. Times are ISO-8601 UTC strings in both backends, JSON
// columns are text holding JSON, ids are text (UUIDs) unless stated.
export interface UsersTable {
  id: string;
  email: string;
  email_normalized: string;
  name: string;
  role: 'owner' | 'admin' | 'responder' | 'viewer';
  slack_user_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface SessionsTable {
  id_hash: string;
  user_id: string;
  csrf_token: string;
  created_at: string;
  expires_at: string;
}

export interface LoginTokensTable {
  token_hash: string;
  user_id: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface ApiKeysTable {
  id: string;
  name: string;
  prefix: string;
  key_hash: string;
  scopes: string; // JSON array of 'read' | 'write' | 'admin'
  created_by: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface SeveritiesTable {
  id: string;
  name: string;
  description: string;
  rank: number; // 1 = least severe
  created_at: string;
}

export interface IncidentStatusesTable {
  id: string;
  name: string;
  description: string;
  category: 'triage' | 'live' | 'closed' | 'declined' | 'merged' | 'canceled';
  rank: number; // order within live statuses
}

export interface SequencesTable {
  name: string;
  value: number;
}

export interface IncidentsTable {
  id: string;
  number: number;
  reference: string;
  name: string;
  summary: string;
  severity_id: string;
  status_id: string;
  mode: 'standard' | 'test' | 'retrospective';
  source: string; // declared | api | slack | pagerduty | ...
  creator_kind: 'user' | 'integration' | 'workflow' | 'system';
  creator_user_id: string | null;
  creator_ref: string | null;
  lead_user_id: string | null;
  merged_into_id: string | null;
  slack_channel_id: string | null;
  idempotency_key: string | null;
  created_at: string;
  updated_at: string;
}

export interface IncidentStatusTimestampsTable {
  incident_id: string;
  status_id: string;
  first_at: string;
  last_at: string;
}

export interface TimelineItemsTable {
  id: string;
  incident_id: string;
  kind: string;
  occurred_at: string;
  created_at: string;
  actor_kind: 'user' | 'integration' | 'workflow' | 'system';
  actor_user_id: string | null;
  actor_ref: string | null;
  payload: string; // JSON
  dedupe_key: string | null;
}

export interface DomainEventsTable {
  id: string;
  type: string;
  incident_id: string | null;
  payload: string; // JSON
  created_at: string;
}

export interface AuditEventsTable {
  id: string;
  actor_kind: string;
  actor_id: string | null;
  action: string;
  target_kind: string;
  target_id: string | null;
  details: string; // JSON
  ip: string | null;
  created_at: string;
}

export interface SettingsTable {
  key: string;
  value: string; // JSON
  updated_at: string;
}

export interface JobsTable {
  id: string;
  name: string;
  payload: string; // JSON
  job_key: string | null;
  queue: string | null;
  priority: number;
  run_at: string;
  attempts: number;
  max_attempts: number;
  state: 'pending' | 'running' | 'dead'; // completed jobs are deleted
  locked_by: string | null;
  locked_at: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

export interface JobSchedulesTable {
  name: string;
  task: string;
  payload: string;
  interval_ms: number;
  next_run_at: string;
  updated_at: string;
}

export interface IntegrationConnectionsTable {
  kind: string;
  status: 'connected' | 'error';
  settings: string; // JSON
  secrets: string; // JSON: name -> ciphertext (SecretBox)
  connected_by: string | null;
  connected_at: string;
  updated_at: string;
}

export interface IncidentRolesTable {
  id: string;
  name: string;
  description: string;
  rank: number;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

export interface IncidentRoleAssignmentsTable {
  incident_id: string;
  role_id: string;
  user_id: string;
  assigned_at: string;
}

export interface IncidentUpdatesTable {
  id: string;
  incident_id: string;
  message: string;
  status_id: string;
  severity_id: string;
  summary: string | null;
  actor_kind: string;
  actor_user_id: string | null;
  actor_ref: string | null;
  idempotency_key: string | null;
  created_at: string;
}

export type FollowUpPriority = 'urgent' | 'high' | 'medium' | 'low';
export type FollowUpStatus = 'open' | 'done' | 'wont_do';

export interface FollowUpsTable {
  id: string;
  incident_id: string;
  title: string;
  description: string;
  owner_user_id: string | null;
  priority: FollowUpPriority;
  status: FollowUpStatus;
  link: string | null;
  source: 'web' | 'api' | 'slack';
  source_ref: string | null;
  created_by_kind: string;
  created_by_user_id: string | null;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

/** In the order they normally happen; durations are derived from them. */
export const INCIDENT_TIMESTAMP_KINDS = ['reported', 'impact_started', 'identified', 'fixed', 'resolved', 'pagerduty_first_triggered', 'pagerduty_first_acknowledged'] as const;
export type IncidentTimestampKind = (typeof INCIDENT_TIMESTAMP_KINDS)[number];

export interface IncidentTimestampsTable {
  incident_id: string;
  kind: IncidentTimestampKind;
  at: string;
  source: 'auto' | 'pagerduty' | 'user';
  reason: string | null;
  set_by_user_id: string | null;
  updated_at: string;
}

/**
 * Integrations add their own tables by augmenting this interface from their module
 * (`declare module '../../platform/db/schema.js' { interface Database { ... } }`).
 */
export interface Database {
  integration_connections: IntegrationConnectionsTable;
  users: UsersTable;
  sessions: SessionsTable;
  login_tokens: LoginTokensTable;
  api_keys: ApiKeysTable;
  severities: SeveritiesTable;
  incident_statuses: IncidentStatusesTable;
  sequences: SequencesTable;
  incidents: IncidentsTable;
  incident_status_timestamps: IncidentStatusTimestampsTable;
  timeline_items: TimelineItemsTable;
  domain_events: DomainEventsTable;
  audit_events: AuditEventsTable;
  settings: SettingsTable;
  jobs: JobsTable;
  job_schedules: JobSchedulesTable;
  incident_roles: IncidentRolesTable;
  incident_role_assignments: IncidentRoleAssignmentsTable;
  incident_updates: IncidentUpdatesTable;
  follow_ups: FollowUpsTable;
  incident_timestamps: IncidentTimestampsTable;
}
