// PagerDuty REST API v2 JSON shapes, as far as Firebreak reads them. These names never leave the
// PagerDuty module: catalog-source.ts converts them into catalog entries at the edge.

export interface PdRef {
  id: string;
  type: string;
  summary?: string;
  self?: string;
  html_url?: string | null;
}

export interface PdUser extends PdRef {
  name: string;
  email: string;
  role: string;
  job_title?: string | null;
  time_zone?: string | null;
  description?: string | null;
  teams?: PdRef[];
}

export interface PdTeam extends PdRef {
  name: string;
  description?: string | null;
}

export interface PdTeamMember {
  user: PdRef;
  role: string;
}

export interface PdService extends PdRef {
  name: string;
  description?: string | null;
  status: string;
  escalation_policy?: PdRef | null;
  teams?: PdRef[];
}

export interface PdEscalationPolicy extends PdRef {
  name: string;
  description?: string | null;
  teams?: PdRef[];
  /** Levels in order; targets are `user_reference` or `schedule_reference` (full objects with include[]=targets). */
  escalation_rules?: { id?: string; escalation_delay_in_minutes?: number; targets?: PdRef[] }[];
}

/** An on-call schedule (`schedule_layers` only with include[]=schedule_layers on lists). */
export interface PdSchedule extends PdRef {
  name: string;
  description?: string | null;
  time_zone?: string | null;
  teams?: PdRef[];
  /** Every user on the schedule's layers. */
  users?: PdRef[];
  escalation_policies?: PdRef[];
  schedule_layers?: { id?: string; name?: string; users?: { user?: PdRef }[] }[];
}

export interface PdPriority extends PdRef {
  name: string;
  description?: string | null;
}

export interface PdTag extends PdRef {
  label: string;
}

/** Classic pagination envelope. */
export interface PdPage {
  limit?: number;
  offset?: number;
  more?: boolean;
  total?: number | null;
}

// ---- incidents and their log (REST) ----

export type PdIncidentStatus = 'triggered' | 'acknowledged' | 'resolved';

export interface PdIncident extends PdRef {
  incident_number: number;
  title: string;
  status: PdIncidentStatus;
  urgency?: 'high' | 'low';
  incident_key?: string | null;
  created_at: string;
  last_status_change_at?: string;
  service?: PdRef | null;
  priority?: PdRef | null;
  teams?: PdRef[];
  assignments?: { at: string; assignee: PdRef }[];
  acknowledgements?: { at: string; acknowledger: PdRef }[];
  /** Only when the account has responder requests (`coordinated_responding`). */
  incidents_responders?: PdIncidentResponder[];
  responder_requests?: PdResponderRequest[];
}

export type PdResponderState = 'pending' | 'joined' | 'declined' | 'user_cancelled';

/** One person asked to join an incident (`IncidentsRespondersReference`). */
export interface PdIncidentResponder {
  state: PdResponderState;
  user: PdRef;
  incident?: PdRef;
  updated_at?: string;
  message?: string;
  requester?: PdRef;
  requested_at?: string;
  escalation_policy_requests?: string[];
}

/** `POST /incidents/{id}/responder_requests`'s answer and the incident's `responder_requests`. */
export interface PdResponderRequest {
  id?: string;
  incident?: PdRef;
  requester?: PdRef;
  requested_at?: string;
  message?: string;
  responder_request_targets?: { responder_request_target?: { type?: string; id: string; summary?: string; incidents_responders?: PdIncidentResponder[] } }[];
}

/** A responder request target as sent: a user or an escalation policy. */
export interface PdResponderTarget {
  id: string;
  type: 'user_reference' | 'escalation_policy_reference';
}

/** What `POST /incidents` takes: one escalation policy or assignments, never both. */
export interface PdIncidentCreate {
  type: 'incident';
  title: string;
  service: { id: string; type: 'service_reference' };
  urgency?: 'high' | 'low';
  incident_key?: string;
  body?: { type: 'incident_body'; details: string };
  priority?: { id: string; type: 'priority_reference' };
  escalation_policy?: { id: string; type: 'escalation_policy_reference' };
  assignments?: { assignee: { id: string; type: 'user_reference' } }[];
}

/** `POST /incidents/{id}/status_updates` answers `{status_update}` (200). */
export interface PdStatusUpdate {
  id: string;
  message: string;
  sender?: PdRef;
  created_at?: string;
  subject?: string;
  html_message?: string;
}

export interface PdLogEntry extends PdRef {
  type: string;
  created_at: string;
  agent: PdRef | null;
  channel?: { type?: string; summary?: string; [k: string]: unknown } | null;
  user?: PdRef;
  assignees?: PdRef[];
  note?: string;
  event_details?: { description?: string };
}

/** A webhook subscription as `POST /webhook_subscriptions` answers it (the secret only comes back here). */
export interface PdWebhookSubscription {
  id: string;
  delivery_method: { secret?: string | null; url?: string };
}

/** A change event (deploy, build, configuration change) as the REST API lists it. */
export interface PdChangeEvent {
  id: string;
  type?: string;
  summary: string;
  timestamp: string;
  source?: string | null;
  services?: PdRef[];
  integration?: PdRef;
  custom_details?: Record<string, unknown> | null;
  links?: { href: string; text?: string | null }[];
  /** Only on `/incidents/{id}/related_change_events`: why PagerDuty relates it to the incident. */
  correlation_reason?: { reason?: string } | null;
}

// ---- on call ----

/** One on-call entry of `GET /oncalls`: a user on call at an escalation level, through a schedule or directly (schedule null). */
export interface PdOncall {
  escalation_policy?: PdRef | null;
  user?: (PdRef & { name?: string; email?: string }) | null;
  schedule?: PdRef | null;
  escalation_level?: number;
  start?: string | null;
  end?: string | null;
}

/** A rendered schedule entry (`final_schedule.rendered_schedule_entries`). */
export interface PdScheduleEntry {
  user?: PdRef | null;
  start?: string;
  end?: string;
}

/** `GET /schedules/{id}` with `since`/`until`: the schedule and its final layer rendered over that range. */
export interface PdRenderedSchedule extends PdRef {
  name?: string;
  time_zone?: string | null;
  description?: string | null;
  final_schedule?: { name?: string; rendered_schedule_entries?: PdScheduleEntry[] } | null;
  escalation_policies?: PdRef[];
}
