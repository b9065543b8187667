import type { Actor } from '../../../platform/events.js';
import type { Executor } from '../../../platform/db/index.js';

// What the Slack app needs to escalate: a port, passed in from the composition root. Slack never imports the
// PagerDuty integration; any escalation provider that offers these functions will do.

export interface EscalationOption {
  id: string;
  name: string;
  email?: string;
}

export type EscalationTargetStatus = 'pending' | 'triggered' | 'acknowledged' | 'resolved' | 'failed';

/** A PagerDuty incident linked to the Firebreak incident, that people can be asked to join. */
export interface LinkedPagerDutyIncident {
  id: string;
  number: number | null;
  title: string;
  htmlUrl: string | null;
}

export interface EscalationView {
  id: string;
  mode: 'new_incidents' | 'add_responders';
  incidentId: string;
  requester: { name: string };
  message: string;
  urgency: 'high' | 'low';
  slack: { channelId: string; messageTs: string | null } | null;
  targets: {
    id: string;
    kind: 'escalation_policy' | 'user';
    name: string;
    status: EscalationTargetStatus;
    error: string | null;
    pagerduty: { number: number | null; htmlUrl: string | null } | null;
    paged: { name: string }[];
    acknowledgedBy: { name: string }[];
  }[];
  /** add_responders: the PagerDuty incident, whether PagerDuty took the request, and each responder's state. */
  responderRequest: {
    pagerduty: { number: number | null; title: string; htmlUrl: string | null };
    targets: { name: string }[];
    state: 'pending' | 'sent' | 'failed';
    error: string | null;
    responders: { name: string; via: string | null; state: 'pending' | 'joined' | 'declined' | 'user_cancelled' }[];
  } | null;
}

export interface EscalationRequest {
  incident: string;
  policyIds?: string[];
  userIds?: string[];
  emails?: string[];
  message: string;
  urgency?: 'high' | 'low';
  priorityId?: string | null;
  idempotencyKey?: string;
  source: 'slack';
  slackChannelId?: string | null;
  mode?: 'new_incidents' | 'add_responders';
  pagerdutyIncidentId?: string | null;
  /** The person asking as just read (their Firebreak user), so the provider need not read them again. */
  requester?: { id: string; name: string; email: string };
}

export interface EscalationPort {
  connected(): Promise<boolean>;
  searchPolicies(query: string): Promise<EscalationOption[]>;
  searchUsers(query: string): Promise<EscalationOption[]>;
  listPriorities(): Promise<EscalationOption[]>;
  /** Policies worth pre-filling for an incident (those of services linked to it). */
  suggestedPolicies(incidentId: string): Promise<EscalationOption[]>;
  /** Unresolved PagerDuty incidents linked to the incident (what "add responders" can target). */
  openPagerDutyIncidents(incidentId: string): Promise<LinkedPagerDutyIncident[]>;
  escalate(input: EscalationRequest, actor: Actor): Promise<EscalationView>;
  get(id: string): Promise<EscalationView>;
  retry(id: string, actor: Actor): Promise<EscalationView>;
  setSlackMessage(id: string, channelId: string, ts: string): Promise<void>;
  /** Called in the transaction that changed an escalation. */
  onChange(listener: (escalationId: string, tx: Executor) => Promise<void>): void;
}
