import { StepUpstreamError } from '../ports.js';
import type { Step } from '../model.js';
import { asList, isEntry, listWords, quote, type StepKind } from './types.js';

type Escalate = Extract<Step, { type: 'escalate' }>;

// Page PagerDuty as the bot account: policies and people from fixed ids and/or expressions (catalog entries of the
// PagerDuty types, PagerDuty ids, emails), named from the synced catalog.

export const escalateStep: StepKind<Escalate> = {
  async resolve(step, ctx) {
    const policyIds = new Set(step.policy_ids ?? []);
    const userIds = new Set(step.user_ids ?? []);
    const emails = new Set<string>();
    const collect = async (source: string, into: Set<string>, kind: 'policy' | 'user') => {
      const values = asList(await ctx.evaluate(source));
      const entryIds = values.filter(isEntry).map((e) => e.id);
      const ext = await ctx.externalIds(entryIds);
      for (const v of values) {
        if (isEntry(v)) {
          const e = ext.get(v.id);
          if (e) into.add(e.externalId);
        } else if (typeof v === 'string') {
          if (kind === 'user' && v.includes('@')) emails.add(v.trim().toLowerCase());
          else if (v.trim()) into.add(v.trim());
        } else if (kind === 'user' && v && typeof v === 'object' && typeof (v as { email?: unknown }).email === 'string') {
          emails.add((v as { email: string }).email.toLowerCase());
        }
      }
    };
    if (step.policies_expression) await collect(step.policies_expression, policyIds, 'policy');
    if (step.users_expression) await collect(step.users_expression, userIds, 'user');
    const message = (await ctx.render(step.message)).trim() || `${ctx.incident.reference} ${ctx.incident.name}`;
    const [policies, users] = await Promise.all([
      ctx.escalation ? ctx.escalation.describePolicies([...policyIds]) : Promise.resolve([...policyIds].map((id) => ({ id, name: null }))),
      ctx.escalation ? ctx.escalation.describeUsers([...userIds]) : Promise.resolve([...userIds].map((id) => ({ id, name: null, email: null }))),
    ]);
    const named = [
      ...policies.map((p) => `PagerDuty escalation policy ${p.name ?? 'unknown'} (${p.id})`),
      ...users.map((u) => `PagerDuty user ${u.name ?? 'unknown'} (${u.id})`),
      ...[...emails].map((e) => `the PagerDuty user with email ${e}`),
    ];
    const would = named.length === 0 ? 'Page nobody: no escalation policy or person was found for this incident' : `Page ${listWords(named)} as the bot account with ${quote(`${ctx.incident.reference} ${message}`)}`;
    return { inputs: { policies, users, emails: [...emails], message, urgency: step.urgency ?? 'high' }, would };
  },

  async execute(inputs, ctx) {
    if (!ctx.escalation || !(await ctx.escalation.connected())) throw new StepUpstreamError('pagerduty', 'PagerDuty is not connected', 'not_connected');
    const policies = inputs.policies as { id: string }[];
    const users = inputs.users as { id: string }[];
    const emails = inputs.emails as string[];
    if (policies.length + users.length + emails.length === 0) return { escalation_id: null, targets: [], note: 'nobody to page' };
    const r = await ctx.escalation.escalate(
      { incident: ctx.incidentId, policyIds: policies.map((p) => p.id), userIds: users.map((u) => u.id), emails, message: inputs.message as string, urgency: inputs.urgency as 'high' | 'low', idempotencyKey: ctx.idempotencyKey },
      ctx.actor,
    );
    return { escalation_id: r.escalationId, targets: r.targets.map((t) => ({ kind: t.kind, pagerduty_id: t.pagerdutyId, name: t.name, status: t.status, pagerduty_incident_id: t.pagerdutyIncidentId })) };
  },
};
