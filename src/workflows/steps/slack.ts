import { StepUpstreamError, type SlackPostDestination } from '../ports.js';
import type { Step } from '../model.js';
import { asList, listWords, quote, type ExecuteContext, type ResolveContext, type StepKind } from './types.js';

type SlackMessage = Extract<Step, { type: 'slack_message' }>;
type Invite = Extract<Step, { type: 'invite' }>;

// Slack steps go through WorkflowSlackPort (the Slack integration implements it); without Slack they fail with a
// clear error rather than silently doing nothing.

function requireSlack(ctx: ExecuteContext) {
  if (!ctx.slack) throw new StepUpstreamError('slack', 'Slack is not connected', 'not_connected');
  return ctx.slack;
}

/** People from ids and an expression (people/emails) → Firebreak users, with names. */
async function people(ctx: ResolveContext, ids: string[], expression: string | undefined): Promise<{ id: string; name: string; email: string }[]> {
  const emails = new Set<string>();
  if (expression) {
    for (const v of asList(await ctx.evaluate(expression))) {
      if (typeof v === 'string' && v.includes('@')) emails.add(v.toLowerCase());
      else if (v && typeof v === 'object' && typeof (v as { email?: unknown }).email === 'string') emails.add((v as { email: string }).email.toLowerCase());
      else if (typeof v === 'string') ids.push(v);
    }
  }
  const out = new Map<string, { id: string; name: string; email: string }>();
  if (ids.length) for (const u of await ctx.db.selectFrom('users').select(['id', 'name', 'email']).where('id', 'in', ids).execute()) out.set(u.id, u);
  if (emails.size) for (const u of await ctx.db.selectFrom('users').select(['id', 'name', 'email']).where('email', 'in', [...emails]).execute()) out.set(u.id, u);
  return [...out.values()];
}

export const slackMessageStep: StepKind<SlackMessage> = {
  async resolve(step, ctx) {
    const text = await ctx.render(step.text);
    const d = step.destination;
    let destination: Record<string, unknown>;
    let where: string;
    if (d.kind === 'incident_channel') {
      const ch = ctx.slack ? await ctx.slack.incidentChannel(ctx.incident.id) : null;
      destination = { kind: 'incident_channel', channel: ch };
      where = ch ? `the incident channel #${ch.name ?? ch.id}` : 'the incident channel (it has none yet)';
    } else if (d.kind === 'channel') {
      const name = ctx.slack ? await ctx.slack.channelName(d.channel_id) : null;
      destination = { kind: 'channel', channel: { id: d.channel_id, name } };
      where = name ? `#${name.replace(/^#/, '')}` : `channel ${d.channel_id}`;
    } else {
      const who = await people(ctx, [...(d.user_ids ?? [])], d.users_expression);
      destination = { kind: 'dm', users: who };
      where = who.length ? `a direct message to ${listWords(who.map((u) => u.name))}` : 'a direct message to nobody (no person found)';
    }
    return { inputs: { destination, text }, would: `Post ${quote(text, 120)} to ${where} in Slack` };
  },
  async execute(inputs, ctx) {
    const slack = requireSlack(ctx);
    const d = inputs.destination as { kind: string; channel?: { id: string } | null; users?: { id: string }[] };
    const destination: SlackPostDestination =
      d.kind === 'channel' ? { kind: 'channel', channelId: d.channel!.id } : d.kind === 'dm' ? { kind: 'dm', userIds: (d.users ?? []).map((u) => u.id) } : { kind: 'incident_channel' };
    const r = await slack.post({ incidentId: ctx.incidentId, destination, text: inputs.text as string, idempotencyKey: ctx.idempotencyKey });
    return { posted: r.posted };
  },
};

export const inviteStep: StepKind<Invite> = {
  async resolve(step, ctx) {
    const who = await people(ctx, [...(step.user_ids ?? [])], step.users_expression);
    const parts = who.map((u) => u.name);
    if (step.slack_usergroup_id) parts.push(`the members of Slack user group ${step.slack_usergroup_id}`);
    const ch = ctx.slack ? await ctx.slack.incidentChannel(ctx.incident.id) : null;
    return {
      inputs: { users: who, slack_usergroup_id: step.slack_usergroup_id ?? null },
      would: parts.length ? `Invite ${listWords(parts)} to ${ch ? `#${ch.name ?? ch.id}` : 'the incident channel'}` : 'Invite nobody (no person found)',
    };
  },
  async execute(inputs, ctx) {
    const slack = requireSlack(ctx);
    const r = await slack.invite({ incidentId: ctx.incidentId, userIds: (inputs.users as { id: string }[]).map((u) => u.id), usergroupId: (inputs.slack_usergroup_id as string | null) ?? null, idempotencyKey: ctx.idempotencyKey });
    return { invited: r.invited, skipped: r.skipped };
  },
};
