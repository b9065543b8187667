/**
 * PagerDuty wire shapes (REST API v2 and webhooks v3) as the emulator emits and accepts them,
 * plus the emulator's own internal record types. Wire types are named `Pd*`; records are named
 * after the PagerDuty object they model.
 */

// ---------- wire: common ----------
export interface PdReference {
  id: string;
  type: string;
  summary: string;
  self: string;
  html_url: string | null;
}

export interface PdErrorBody {
  error: { message: string; code: number; errors?: string[] };
}

export interface PdPagination {
  limit: number;
  offset: number;
  more: boolean;
  total: number | null;
}

// ---------- wire: objects ----------
export type PdUserRole =
  | 'admin' | 'limited_user' | 'observer' | 'owner' | 'read_only_user'
  | 'restricted_access' | 'read_only_limited_user' | 'user';

export interface PdUser extends PdReference {
  type: 'user';
  name: string;
  email: string;
  time_zone: string;
  color: string;
  role: PdUserRole;
  avatar_url: string;
  description: string | null;
  invitation_sent: boolean;
  job_title: string;
  teams: PdReference[] | PdTeam[];
  contact_methods: PdReference[];
  notification_rules: PdReference[];
}

export interface PdTeam extends PdReference {
  type: 'team';
  name: string;
  description: string;
  default_role: 'manager' | 'none';
  parent: PdReference | null;
}

export interface PdTeamMember { user: PdReference; role: TeamRole }

export interface PdService extends PdReference {
  type: 'service';
  name: string;
  description: string;
  status: ServiceStatus;
  created_at: string;
  updated_at: string;
  auto_resolve_timeout: number | null;
  acknowledgement_timeout: number | null;
  last_incident_timestamp: string | null;
  escalation_policy: PdReference | PdEscalationPolicy;
  teams: PdReference[] | PdTeam[];
  integrations: PdReference[];
  alert_creation: 'create_incidents' | 'create_alerts_and_incidents';
  incident_urgency_rule: { type: 'constant'; urgency: 'high' | 'low' };
}

export interface PdEscalationRule {
  id: string;
  escalation_delay_in_minutes: number;
  targets: PdReference[];
}

export interface PdEscalationPolicy extends PdReference {
  type: 'escalation_policy';
  name: string;
  description: string;
  num_loops: number;
  on_call_handoff_notifications: 'if_has_services' | 'always';
  escalation_rules: PdEscalationRule[];
  services: PdReference[];
  teams: PdReference[];
}

export interface PdScheduleLayerEntry { user: PdReference; start: string; end: string }
export interface PdScheduleLayer {
  id: string; name: string; start: string; end: string | null;
  rotation_virtual_start: string; rotation_turn_length_seconds: number;
  users: { user: PdReference }[];
  restrictions: ScheduleRestrictionRecord[];
  rendered_schedule_entries?: PdScheduleLayerEntry[];
  rendered_coverage_percentage?: number | null;
}
export interface PdSubSchedule { name: 'Final Schedule' | 'Overrides'; rendered_schedule_entries?: PdScheduleLayerEntry[]; rendered_coverage_percentage?: number | null }
export interface PdSchedule extends PdReference {
  type: 'schedule';
  name: string;
  description: string;
  time_zone: string;
  escalation_policies: PdReference[];
  users: PdReference[];
  teams: PdReference[];
  schedule_layers?: PdScheduleLayer[];
  final_schedule?: PdSubSchedule;
  overrides_subschedule?: PdSubSchedule;
}
export interface PdOverride { id: string; start: string; end: string; user: PdReference }
export interface PdOncall {
  escalation_policy: PdReference | PdEscalationPolicy;
  escalation_level: number;
  /** null for a user targeted directly by the escalation rule. */
  schedule: PdReference | PdSchedule | null;
  user: PdReference | PdUser;
  /** null (with end) for a user targeted directly: on call permanently. */
  start: string | null;
  end: string | null;
}

export interface PdPriority extends PdReference { type: 'priority'; name: string; description: string }
export interface PdTag extends PdReference { type: 'tag'; label: string }

export interface PdIncident extends PdReference {
  type: 'incident';
  incident_number: number;
  title: string;
  description: string;
  created_at: string;
  updated_at: string;
  status: IncidentStatus;
  incident_key: string;
  service: PdReference;
  assignments: { at: string; assignee: PdReference }[];
  assigned_via: 'escalation_policy' | 'direct_assignment';
  acknowledgements: { at: string; acknowledger: PdReference }[];
  last_status_change_at: string;
  last_status_change_by: PdReference;
  first_trigger_log_entry: PdReference;
  escalation_policy: PdReference;
  teams: PdReference[];
  urgency: Urgency;
  priority: PdReference | null;
  resolved_at: string | null;
  resolve_reason: null;
  alert_counts: { all: number; triggered: number; resolved: number };
  is_mergeable: boolean;
  incident_type: { name: string };
  body?: { type: 'incident_body'; details: unknown };
  incidents_responders?: PdIncidentResponder[];
  responder_requests?: PdResponderRequest[];
}

/** `IncidentsRespondersReference` in PagerDuty's document. */
export interface PdIncidentResponder {
  state: ResponderState; user: PdReference; incident: PdReference; updated_at: string; message: string;
  requester: PdReference; requested_at: string; escalation_policy_requests?: string[];
}
export interface PdResponderRequest {
  id: string; incident: PdReference; requester: PdReference; requested_at: string; message: string;
  responder_request_targets: { responder_request_target: { type: 'user' | 'escalation_policy'; id: string; summary: string; incidents_responders: PdIncidentResponder[] } }[];
}

export interface PdNote {
  id: string;
  user: PdReference;
  channel: { summary: string };
  content: string;
  created_at: string;
  updated_at: string;
}

export interface PdStatusUpdate {
  id: string;
  message: string;
  sender: PdReference;
  created_at: string;
  subject?: string;
  html_message?: string;
}

export interface PdLogEntry extends PdReference {
  type: LogEntryType;
  created_at: string;
  agent: PdReference | null;
  channel: { type: string; summary?: string; [k: string]: unknown };
  service: PdReference;
  incident: PdReference;
  teams: PdReference[];
  contexts: unknown[];
  event_details?: { description: string };
  assignees?: PdReference[];
  user?: PdReference;
  note?: string;
}

export interface PdChangeEvent {
  id: string;
  type: 'change_event';
  summary: string;
  timestamp: string;
  /** Absent when the sender gave none. */
  source?: string;
  integration: PdReference;
  services: PdReference[];
  custom_details: Record<string, unknown>;
  links: { href: string; text?: string }[];
  images: { src: string; href?: string; alt?: string }[];
  correlation_reason?: { reason: 'most_recent' | 'related_service' | 'intelligent' };
}

export interface PdWebhookSubscription {
  id: string;
  type: 'webhook_subscription';
  active: boolean;
  delivery_method: {
    id: string;
    secret: string | null;
    temporarily_disabled: boolean;
    type: 'http_delivery_method';
    url: string;
    custom_headers: { name: string; value: string }[];
  };
  description: string;
  events: string[];
  filter: { id?: string; type: WebhookFilterType };
}

export interface PdWebhookEvent {
  event: {
    id: string;
    event_type: string;
    resource_type: string;
    occurred_at: string;
    agent: PdReference | null;
    client: { name: string } | null;
    data: unknown;
  };
}

// ---------- internal records ----------
export type TeamRole = 'manager' | 'responder' | 'observer';
export type ServiceStatus = 'active' | 'warning' | 'critical' | 'maintenance' | 'disabled';
export type IncidentStatus = 'triggered' | 'acknowledged' | 'resolved';
export type Urgency = 'high' | 'low';
export type WebhookFilterType = 'account_reference' | 'service_reference' | 'team_reference';
export type LogEntryType =
  | 'trigger_log_entry' | 'assign_log_entry' | 'notify_log_entry' | 'acknowledge_log_entry'
  | 'unacknowledge_log_entry' | 'annotate_log_entry' | 'escalate_log_entry' | 'resolve_log_entry';

export interface UserRecord {
  id: string; name: string; email: string; role: PdUserRole; job_title: string; time_zone: string;
  description: string | null; color: string;
}
export interface TeamRecord {
  id: string; name: string; description: string; default_role: 'manager' | 'none';
  members: { user_id: string; role: TeamRole }[];
}
export interface ServiceRecord {
  id: string; name: string; description: string; status: ServiceStatus; escalation_policy_id: string;
  team_ids: string[]; created_at: string; updated_at: string;
  auto_resolve_timeout: number | null; acknowledgement_timeout: number | null;
  /** Events API v2 integrations (routing keys); one is added on load when a seed has none. */
  integrations?: IntegrationRecord[];
}
/** An Events API v2 integration on a service: its `integration_key` is the routing key events are sent with. */
export interface IntegrationRecord { id: string; name: string; integration_key: string }
/** A change event (a deploy, a build, a config change) sent to a service's integration through the Events API v2. */
export interface ChangeEventRecord {
  id: string; integration_id: string; service_id: string; summary: string; source: string | null;
  /** When the sending tool says the change happened (payload.timestamp, else when it arrived), ISO-8601 UTC. */
  timestamp: string; received_at: string;
  custom_details: Record<string, unknown> | null;
  links: { href: string; text?: string }[];
  images: { src: string; href?: string; alt?: string }[];
}
export interface EscalationTargetRecord { type: 'user' | 'schedule'; id: string }
export interface EscalationRuleRecord { id: string; escalation_delay_in_minutes: number; targets: EscalationTargetRecord[] }
export interface EscalationPolicyRecord {
  id: string; name: string; description: string; num_loops: number;
  escalation_rules: EscalationRuleRecord[]; team_ids: string[];
}
export interface ScheduleRestrictionRecord {
  type: 'daily_restriction' | 'weekly_restriction';
  /** `HH:mm:ss` in the schedule's time zone. */
  start_time_of_day: string;
  duration_seconds: number;
  /** ISO day of the week (1 = Monday), weekly restrictions only. */
  start_day_of_week?: number;
}
export interface ScheduleLayerRecord {
  id: string; name: string; start: string; end: string | null;
  rotation_virtual_start: string; rotation_turn_length_seconds: number;
  /** Ordered: turn k belongs to user_ids[k mod n]. */
  user_ids: string[];
  restrictions: ScheduleRestrictionRecord[];
}
export interface ScheduleOverrideRecord { id: string; start: string; end: string; user_id: string }
/**
 * An on-call schedule: layers (later layers sit above earlier ones), overrides above every layer, a time zone for
 * restrictions and rendering, teams. `user_ids` is derived: every user on a layer, in first-seen order.
 */
export interface ScheduleRecord {
  id: string; name: string; description: string; time_zone: string; team_ids: string[];
  layers: ScheduleLayerRecord[]; overrides: ScheduleOverrideRecord[];
  user_ids: string[];
}
/**
 * A schedule as seed data may give it. Seeds saved before layers existed carry only `user_ids`: they load as one
 * layer rotating daily through those users from 1970-01-01T00:00:00Z (the emulator's former rule).
 */
export type ScheduleSeed = Pick<ScheduleRecord, 'id' | 'name'> & Partial<Omit<ScheduleRecord, 'id' | 'name'>>;
export interface PriorityRecord { id: string; name: string; description: string }
export interface TagRecord {
  id: string; label: string;
  users: string[]; teams: string[]; escalation_policies: string[];
}
export interface NoteRecord { id: string; user_id: string; content: string; created_at: string }
export interface StatusUpdateRecord { id: string; user_id: string; message: string; subject?: string; html_message?: string; created_at: string }
export interface IncidentRecord {
  id: string; incident_number: number; title: string; status: IncidentStatus; urgency: Urgency;
  incident_key: string; service_id: string; escalation_policy_id: string; priority_id: string | null;
  escalation_level: number; assigned_via: 'escalation_policy' | 'direct_assignment';
  assignments: { user_id: string; at: string }[];
  acknowledgements: { user_id: string; at: string }[];
  created_at: string; updated_at: string; last_status_change_at: string; last_status_change_by: string | null;
  resolved_at: string | null; details: unknown; notes: NoteRecord[]; first_trigger_log_entry_id: string;
  /** Status updates sent to the incident's subscribers (absent in seeds saved before they existed). */
  status_updates?: StatusUpdateRecord[];
  /** Responder requests made on the incident, and the responders they added (absent in older seeds). */
  responder_requests?: ResponderRequestRecord[];
  responders?: ResponderRecord[];
}
export type ResponderState = 'pending' | 'joined' | 'declined' | 'user_cancelled';
export interface ResponderRequestRecord {
  id: string; requester_id: string; message: string; requested_at: string;
  targets: { type: 'user' | 'escalation_policy'; id: string }[];
}
/** One person asked to join an incident; `policy_ids`: the escalation policies they were requested through. */
export interface ResponderRecord {
  user_id: string; state: ResponderState; requester_id: string; message: string; requested_at: string; updated_at: string;
  policy_ids: string[];
}
export interface LogEntryRecord {
  id: string; type: LogEntryType; incident_id: string; created_at: string;
  agent: { type: 'user' | 'service'; id: string } | null;
  channel: string;
  assignee_ids?: string[]; user_id?: string; note?: string;
}
export interface WebhookSubscriptionRecord {
  id: string; delivery_method_id: string; url: string; custom_headers: { name: string; value: string }[];
  description: string; events: string[]; filter: { type: WebhookFilterType; id?: string };
  active: boolean; temporarily_disabled: boolean; secret: string; rotating_secrets: string[];
  consecutive_drops: number;
}

/** The JSON accepted by `seedFile` / `POST /_emulator/seed` and produced by `GET /_emulator/export`. */
export interface SeedData {
  users: UserRecord[];
  teams: TeamRecord[];
  schedules: ScheduleSeed[];
  escalation_policies: EscalationPolicyRecord[];
  services: ServiceRecord[];
  priorities: PriorityRecord[];
  tags: TagRecord[];
  incidents?: IncidentRecord[];
  log_entries?: LogEntryRecord[];
  change_events?: ChangeEventRecord[];
}

export type SeedSize = 'small' | 'medium' | 'large' | 'huge' | 'none';

export interface RequestLogEntry {
  at: string;
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string>;
  from: string | null;
  body: unknown;
  /** Response status; -1 when fault injection dropped the connection. */
  status: number;
}

export interface DeliveryAttempt { at: string; status: number | null; error: string | null; duration_ms: number }
export interface DeliveryRecord {
  /** Also the `X-Webhook-Id` header; stays the same across retries. */
  id: string;
  subscription_id: string;
  event_id: string;
  event_type: string;
  /** The key ordering is kept on: incident id, service id, or subscription id for pings. */
  ordering_key: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  status: 'pending' | 'delivered' | 'dropped' | 'failed';
  attempts: DeliveryAttempt[];
}

export interface Faults {
  latencyMs?: number;
  /** Delays each answer after the request was applied (PagerDuty made the change; the caller is still waiting). */
  answerDelayMs?: number;
  errorRate5xx?: number;
  rateLimitBurst?: number;
  /** Whether burst 429s carry ratelimit-* headers (default true; PagerDuty sometimes omits them). */
  rateLimitBurstHeaders?: boolean;
  dropConnectionRate?: number;
  webhookReceiverTimeoutMs?: number;
  /**
   * Extra latency per path template (a `{name}` segment matches any one segment), e.g.
   * `{ "/services/{id}/change_events": 3000 }`: one kind of request is slow (a listing that times out) while the
   * rest of the account answers at once.
   */
  pathLatencyMs?: Record<string, number>;
}
