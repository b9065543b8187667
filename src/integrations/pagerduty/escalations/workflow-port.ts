import type { Actor } from '../../../platform/events.js';
import { StepUpstreamError, type WorkflowEscalationPort } from '../../../workflows/ports.js';
import type { PagerDutyIntegration } from '../connect.js';
import { TYPE, type PagerDutyDirectory } from '../directory.js';
import type { EscalateUseCase } from './escalate.js';
import type { Escalation } from './model.js';
import type { EscalationStore } from './store.js';

// Workflows page through the escalate use case like people do, as the bot account (actor kind 'workflow', source
// 'workflow'). The workflow's idempotency key becomes the escalation's: a retried or restarted step finds the
// escalation it made (same targets, same PagerDuty incident_keys) instead of paging again. The step waits until
// PagerDuty answered for every target, so a refusal is recorded on the run with PagerDuty's own message.

export function createWorkflowEscalationPort(deps: {
  escalate: EscalateUseCase;
  store: EscalationStore;
  directory: PagerDutyDirectory;
  integration: PagerDutyIntegration;
  /** How long a step waits for PagerDuty's answer before letting its job retry (the retry finds the same escalation). */
  settleTimeoutMs?: number;
}): WorkflowEscalationPort {
  const settleMs = deps.settleTimeoutMs ?? 30_000;
  return {
    connected: async () => (await deps.integration.settings()) !== null,
    async describePolicies(ids) {
      return Promise.all(ids.map(async (id) => ({ id, name: (await deps.directory.entry(TYPE.policies, id))?.name ?? null })));
    },
    async describeUsers(ids) {
      return Promise.all(
        ids.map(async (id) => {
          const e = await deps.directory.entry(TYPE.users, id);
          const email = e?.attributes.email;
          return { id, name: e?.name ?? null, email: typeof email === 'string' ? email : null };
        }),
      );
    },
    async escalate(input, actor: Actor) {
      const { escalation } = await deps.escalate.escalate(
        { incident: input.incident, policyIds: input.policyIds, userIds: input.userIds, emails: input.emails, message: input.message, urgency: input.urgency, idempotencyKey: input.idempotencyKey, source: 'workflow' },
        actor,
      );
      let esc: Escalation = escalation;
      for (const until = Date.now() + settleMs; esc.targets.some((t) => t.status === 'pending'); ) {
        if (Date.now() > until) throw new StepUpstreamError('pagerduty', 'PagerDuty has not answered for every target yet; the step will look again', 'pending', null, true);
        await new Promise((r) => setTimeout(r, 100));
        esc = await deps.store.get(esc.id);
      }
      const failed = esc.targets.filter((t) => t.status === 'failed');
      if (failed.length > 0) {
        const status = /\b([45]\d\d)\b/.exec(failed[0]!.error ?? '')?.[1];
        throw new StepUpstreamError('pagerduty', failed.map((t) => `${t.name}: ${t.error ?? 'failed'}`).join('; '), 'incident_refused', status ? Number(status) : null, false);
      }
      return {
        escalationId: esc.id,
        targets: esc.targets.map((t) => ({ kind: t.kind === 'escalation_policy' ? ('policy' as const) : ('user' as const), pagerdutyId: t.targetId, name: t.name, status: t.status, pagerdutyIncidentId: t.pagerduty?.incidentId ?? null })),
      };
    },
  };
}
