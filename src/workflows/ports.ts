import type { Executor } from '../platform/db/index.js';
import type { Actor } from '../platform/events.js';
import type { FormField, WorkflowRun } from './model.js';

// What workflows need from integrations, and what integrations need from workflows. The core never imports an
// integration: src/app.ts connects the implementations (PagerDuty's escalations, Slack) to these shapes.

/** An upstream refused a step: its own message, kept on the run. */
export class StepUpstreamError extends Error {
  constructor(
    readonly source: 'pagerduty' | 'slack' | 'http',
    message: string,
    readonly code: string | number | null = null,
    readonly status: number | null = null,
    /** False when retrying cannot help (a 4xx, channel_not_found): the step fails at once. */
    readonly retryable = false,
  ) {
    super(message);
  }
}

export interface WorkflowEscalationPort {
  connected(): Promise<boolean>;
  /** Names for preview and records: PagerDuty policy and user ids → names (from the synced catalog). */
  describePolicies(ids: string[]): Promise<{ id: string; name: string | null }[]>;
  describeUsers(ids: string[]): Promise<{ id: string; name: string | null; email: string | null }[]>;
  /**
   * Page as the bot account (the actor is the workflow). `idempotencyKey` makes a retry or a restart return the
   * escalation already made instead of paging again. Throws StepUpstreamError when PagerDuty refuses.
   */
  escalate(
    input: { incident: string; policyIds: string[]; userIds: string[]; emails: string[]; message: string; urgency?: 'high' | 'low'; idempotencyKey: string },
    actor: Actor,
  ): Promise<{ escalationId: string; targets: { kind: 'policy' | 'user'; pagerdutyId: string; name: string | null; status: string; pagerdutyIncidentId: string | null }[] }>;
}

export type SlackPostDestination = { kind: 'incident_channel' } | { kind: 'channel'; channelId: string } | { kind: 'dm'; userIds: string[] };

export interface WorkflowSlackPort {
  connected(): Promise<boolean>;
  /** `#name` of a channel for preview and records (null when unknown). */
  channelName(channelId: string): Promise<string | null>;
  /** The incident's channel, if it has one. */
  incidentChannel(incidentId: string): Promise<{ id: string; name: string | null } | null>;
  /**
   * Post mrkdwn text. `idempotencyKey` names this post: a retry after a post Slack accepted does not post again.
   * Throws StepUpstreamError('slack', …, <Slack error code>) when Slack refuses (channel_not_found, not_in_channel…).
   */
  post(input: { incidentId: string; destination: SlackPostDestination; text: string; idempotencyKey: string }): Promise<{ posted: { channel: string; ts: string }[] }>;
  /** Invite people (Firebreak user ids) and/or a Slack user group's members to the incident channel. */
  invite(input: { incidentId: string; userIds: string[]; usergroupId: string | null; idempotencyKey: string }): Promise<{ invited: string[]; skipped: { who: string; reason: string }[] }>;
}

/** How the PagerDuty wing tells workflows about its triggers, inside its own transaction (an outbox). */
export interface WorkflowTriggerPort {
  fire(
    tx: Executor,
    trigger:
      | { type: 'pagerduty.incident_linked'; incidentId: string; eventId: string; data: { pagerdutyIncidentId: string; title?: string | null; serviceId?: string | null } }
      | { type: 'pagerduty.escalation_target_changed'; incidentId: string; eventId: string; data: { status: 'acknowledged' | 'resolved'; pagerdutyIncidentId: string | null; targetName: string | null } },
  ): Promise<void>;
}

/** What Slack (and the web app, through the API) use to run a workflow by hand. */
export interface WorkflowsPort {
  manualWorkflows(incidentId: string): Promise<{ id: string; name: string; description: string | null; form: FormField[] }[]>;
  runManual(workflowId: string, incident: string, inputs: Record<string, unknown>, actor: Actor): Promise<WorkflowRun>;
}
