import type { Executor } from '../../../platform/db/index.js';
import type { Actor } from '../../../platform/events.js';
import type { PdRef } from '../client/wire.js';
import type {
  PagerDutyEscalationTargetsTable, PagerDutyEscalationsTable, PagerDutyResponderRequestsTable, PagerDutyRespondersTable, ResponderRequestState, ResponderState, TargetKind, TargetStatus,
} from './tables.js';

// An escalation as the rest of Firebreak sees it (routes, Slack, links, auto-acknowledgement), made from its rows.
// Nothing outside escalations/ reads the escalation tables: other PagerDuty features ask through
// `EscalationLookup` (who was paged for a PagerDuty incident) and `get`.

/** Who acts when PagerDuty's own news is written to the timeline. */
export const PAGERDUTY_ACTOR: Actor = { kind: 'integration', ref: 'pagerduty' };

export type Urgency = 'high' | 'low';

export interface PersonAt {
  id: string;
  name: string;
  at: string;
}

export interface EscalationTarget {
  id: string;
  /** The PagerDuty account it is paged in ('default': the first account). */
  account: string;
  kind: TargetKind;
  targetId: string;
  name: string;
  service: { id: string; name: string } | null;
  incidentKey: string;
  from: string | null;
  status: TargetStatus;
  error: string | null;
  pagerduty: { incidentId: string; number: number | null; htmlUrl: string | null } | null;
  paged: PersonAt[];
  acknowledgedBy: PersonAt[];
  triggeredAt: string | null;
  acknowledgedAt: string | null;
  resolvedAt: string | null;
  failedAt: string | null;
}

/** 'new_incidents': one PagerDuty incident per target (the default); 'add_responders': people asked to join a linked one. */
export type EscalationMode = 'new_incidents' | 'add_responders';

export interface Responder {
  pdUserId: string;
  name: string;
  /** The escalation policy they were asked through, by name (null: asked by name). */
  via: string | null;
  state: ResponderState;
  stateAt: string;
}

/** An add-responders escalation: the PagerDuty incident, what was asked, whether PagerDuty took it, and who it asked. */
export interface ResponderRequest {
  pagerduty: { incidentId: string; number: number | null; title: string; htmlUrl: string | null };
  targets: { kind: TargetKind; targetId: string; name: string }[];
  state: ResponderRequestState;
  error: string | null;
  sentAt: string | null;
  responders: Responder[];
}

export interface Escalation {
  id: string;
  mode: EscalationMode;
  incidentId: string;
  requester: { kind: Actor['kind']; userId: string | null; name: string };
  message: string;
  urgency: Urgency;
  priority: { id: string; name: string } | null;
  source: string;
  slack: { channelId: string; messageTs: string | null } | null;
  createdAt: string;
  updatedAt: string;
  targets: EscalationTarget[];
  /** Set when `mode` is 'add_responders' (then `targets` is empty). */
  responderRequest: ResponderRequest | null;
}

export interface EscalateInput {
  /** Id or reference (INC-42). */
  incident: string;
  /** PagerDuty escalation policy ids. */
  policyIds?: string[];
  /** PagerDuty user ids. */
  userIds?: string[];
  /** People to page by email (e.g. Slack users), mapped to their PagerDuty user. */
  emails?: string[];
  message: string;
  urgency?: Urgency;
  priorityId?: string | null;
  idempotencyKey?: string;
  /** 'workflow': a workflow's escalate step (actor kind 'workflow'; paged as the bot account). */
  source: 'api' | 'web' | 'slack' | 'workflow';
  slackChannelId?: string | null;
  /** Default 'new_incidents'. */
  mode?: EscalationMode;
  /** add_responders: which linked PagerDuty incident (needed only when more than one is unresolved). */
  pagerdutyIncidentId?: string | null;
  /**
   * The person asking (the actor's user), as the caller has just read them (the session's user, the Slack person):
   * their name and email are then not read again. Ignored unless its id is the actor's.
   */
  requester?: { id: string; name: string; email: string };
}

/** A PagerDuty incident linked to a Firebreak incident, as escalations need it (given by links, which own them). */
export interface LinkedPdIncident {
  id: string;
  /** The PagerDuty account of the link ('default': the first account; absent means the first). */
  account?: string;
  number: number | null;
  title: string;
  status: string;
  htmlUrl: string | null;
}

/** What links and auto-acknowledgement ask escalations about a PagerDuty incident; they never read its tables. */
export interface EscalationLookup {
  /** The escalation and target that created this PagerDuty incident (by its id, or our incident key), or null. */
  targetFor(pdIncidentId: string, incidentKey: string | null, account?: string): Promise<{ escalation: Escalation; target: EscalationTarget } | null>;
  get(escalationId: string, db?: Executor): Promise<Escalation>;
  /**
   * Firebreak itself acknowledged or resolved this PagerDuty incident and PagerDuty accepted it: the target
   * following it (if any) records the new status now, in `db`'s transaction, rather than at the next webhook or poll.
   */
  statusChanged(pdIncidentId: string, status: 'acknowledged' | 'resolved', by: { id: string; name: string } | null, db?: Executor): Promise<void>;
}

export const parsePeople = (s: string): PersonAt[] => JSON.parse(s) as PersonAt[];
export const personOf = (r: PdRef | null | undefined, at: string): PersonAt | null => (r?.id ? { id: r.id, name: r.summary ?? r.id, at } : null);

export function mergePeople(a: PersonAt[], b: PersonAt[]): PersonAt[] {
  const out = [...a];
  for (const p of b) if (!out.some((x) => x.id === p.id)) out.push(p);
  return out;
}

export function targetFromRow(r: PagerDutyEscalationTargetsTable): EscalationTarget {
  return {
    id: r.id,
    account: r.account_id ?? 'default',
    kind: r.kind,
    targetId: r.target_id,
    name: r.target_name,
    service: r.service_id ? { id: r.service_id, name: r.service_name ?? r.service_id } : null,
    incidentKey: r.incident_key,
    from: r.from_email,
    status: r.status,
    error: r.error,
    pagerduty: r.pd_incident_id ? { incidentId: r.pd_incident_id, number: r.pd_incident_number === null ? null : Number(r.pd_incident_number), htmlUrl: r.pd_html_url } : null,
    paged: parsePeople(r.paged),
    acknowledgedBy: parsePeople(r.acknowledged_by),
    triggeredAt: r.triggered_at,
    acknowledgedAt: r.acknowledged_at,
    resolvedAt: r.resolved_at,
    failedAt: r.failed_at,
  };
}

export function responderRequestFromRows(r: PagerDutyResponderRequestsTable, responders: PagerDutyRespondersTable[]): ResponderRequest {
  return {
    pagerduty: { incidentId: r.pd_incident_id, number: r.pd_incident_number === null ? null : Number(r.pd_incident_number), title: r.pd_incident_title, htmlUrl: r.pd_html_url },
    targets: (JSON.parse(r.targets) as { kind: TargetKind; id: string; name: string }[]).map((t) => ({ kind: t.kind, targetId: t.id, name: t.name })),
    state: r.state,
    error: r.error,
    sentAt: r.sent_at,
    responders: [...responders].sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : 1)).map((x) => ({ pdUserId: x.pd_user_id, name: x.name, via: x.via, state: x.state, stateAt: x.state_at })),
  };
}

export function escalationFromRows(e: PagerDutyEscalationsTable, targets: PagerDutyEscalationTargetsTable[], request?: { row: PagerDutyResponderRequestsTable; responders: PagerDutyRespondersTable[] } | null): Escalation {
  return {
    id: e.id,
    mode: request ? 'add_responders' : 'new_incidents',
    incidentId: e.incident_id,
    requester: { kind: e.requester_kind, userId: e.requester_user_id, name: e.requester_name },
    message: e.message,
    urgency: e.urgency,
    priority: e.priority_id ? { id: e.priority_id, name: e.priority_name ?? e.priority_id } : null,
    source: e.source,
    slack: e.slack_channel_id ? { channelId: e.slack_channel_id, messageTs: e.slack_message_ts } : null,
    createdAt: e.created_at,
    updatedAt: e.updated_at,
    targets: targets.sort((a, b) => a.position - b.position).map(targetFromRow),
    responderRequest: request ? responderRequestFromRows(request.row, request.responders) : null,
  };
}


/** Called in the transaction that changed an escalation (e.g. Slack queues an update of its message). */
export type EscalationListener = (escalationId: string, tx: Executor) => Promise<void>;

/** Knobs tests and benchmarks turn; production uses the defaults (the lease from FIREBREAK_PAGING_LEASE_MS). */
export interface EscalationTuning {
  /** First poll of an open PagerDuty incident when no webhook subscription exists; doubles each time. */
  pollBaseMs: number;
  pollCapMs: number;
  /** How long a worker holds a target while talking to PagerDuty (renewed every third of it while it works). */
  leaseMs: number;
  faults: {
    afterCreate?: (targetId: string) => void | Promise<void>;
    /** Tests: return true to stop paging the target at that point as a killed process would (no release, no renewal). */
    crash?: (targetId: string, point: 'before_create' | 'after_create') => boolean;
    /** Tests: return true to stop an add-responders request where a killed process would (PagerDuty took it, nothing recorded). */
    responderCrash?: (escalationId: string, point: 'after_send') => boolean;
  };
}
