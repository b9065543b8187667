import type { Executor } from '../../../platform/db/index.js';
import type { Actor } from '../../../platform/events.js';
import type { PdRef } from '../client/wire.js';
import type { PagerDutyEscalationTargetsTable, PagerDutyEscalationsTable, TargetKind, TargetStatus } from './tables.js';

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

export interface Escalation {
  id: string;
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
}

/** What links and auto-acknowledgement ask escalations about a PagerDuty incident; they never read its tables. */
export interface EscalationLookup {
  /** The escalation and target that created this PagerDuty incident (by its id, or our incident key), or null. */
  targetFor(pdIncidentId: string, incidentKey: string | null): Promise<{ escalation: Escalation; target: EscalationTarget } | null>;
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

export function escalationFromRows(e: PagerDutyEscalationsTable, targets: PagerDutyEscalationTargetsTable[]): Escalation {
  return {
    id: e.id,
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
  };
}
