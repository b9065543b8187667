import type { App as BoltApp, SlashCommand } from '@slack/bolt';
import { roleAllows } from '../../../users/users.service.js';
import { explain } from '../errors.js';
import { esc } from '../messages/header.js';
import { outsideChannelText, viewerText } from '../messages/replies.js';
import { actorFor } from '../people.js';
import type { SlackApi } from '../slack.api.js';
import type { SlackContext } from '../slack.context.js';
import type { LinkedIncidentView, PagerDutyLinksPort, PagerDutyNotice } from './port.js';
import { button, PD_ACTIONS, triageActions } from './triage.js';
import { incidentQueue, SLACK_JOBS, type ReplacePromptJob, type UpdateHeaderJob } from '../jobs.js';
import { announcementMessage } from '../messages/header.js';
import { clockTime, triageDecision, triageOutcome } from '../messages/outcome.js';
import { ConflictError } from '../../../platform/errors.js';
import type { User } from '../../../users/users.service.js';

// Slack's side of related PagerDuty incidents: `/incident pd link <url-or-id>`, the "Is this PagerDuty incident
// related?" buttons, Accept / Decline on incidents opened from PagerDuty (in the announcements channel), the
// "Acknowledge this PagerDuty incident?" button, "we've acknowledged it for you" DMs and the offer to resolve
// PagerDuty incidents when an incident is closed. Notices come from the port; a failed post is logged.

export { PD_ACTIONS };

type Say = (text: string) => Promise<void>;

const pdLabel = (p: LinkedIncidentView) => `PagerDuty incident${p.number ? ` #${p.number}` : ''}`;
const pdLink = (p: LinkedIncidentView) => (p.htmlUrl ? `<${p.htmlUrl}|${esc(pdLabel(p))}>` : esc(pdLabel(p)));
const describe = (p: LinkedIncidentView) =>
  `${pdLink(p)}: *${esc(p.title)}*\n${[p.service ? `Service: ${esc(p.service.name)}` : null, `Status: ${p.status}`, p.urgency ? `Urgency: ${p.urgency}` : null, p.assignees.length ? `Assigned: ${esc(p.assignees.map((a) => a.name).join(', '))}` : null].filter(Boolean).join(' · ')}`;

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });

/** `/incident pd link <url-or-id>` (called by the command router). */
export async function runPagerDutyCommand(ctx: SlackContext, port: PagerDutyLinksPort | undefined, cmd: SlashCommand, arg: string, say: Say): Promise<void> {
  const [verb, ...rest] = arg.split(/\s+/);
  const ref = rest.join(' ').trim();
  if ((verb ?? '').toLowerCase() !== 'link' || !ref) return say(`Attach a PagerDuty incident with \`${cmd.command} pd link <PagerDuty incident URL or id>\`.`);
  const row = await ctx.store.byChannel(cmd.channel_id);
  if (!row) return say(outsideChannelText(cmd.command, 'pd link', await ctx.store.latestChannel()));
  if (!port || !(await port.connected())) return say('PagerDuty is not connected to Firebreak. An admin can connect it in Settings → Integrations → PagerDuty.');
  const user = await ctx.people.resolve(cmd.user_id);
  if (!roleAllows(user.role, 'write')) return say(viewerText(user));
  const { link, created } = await port.attach(row.incident_id, ref.replace(/^<|>$/g, '').split('|')[0]!, actorFor(user));
  await say(created ? `Attached ${pdLabel(link.pagerduty)} (${link.pagerduty.title}). Its activity will show on the timeline.` : `${pdLabel(link.pagerduty)} was already attached.`);
}

type Person = User;
type Payload = { user: { id: string }; channel?: { id: string }; container?: { channel_id?: string; message_ts?: string }; message?: { ts?: string; text?: string; blocks?: unknown[] } };

/** The Slack time zone of the person who clicked, if Slack gives one. */
async function tzOfSlackUser(ctx: SlackContext, slackUserId: string): Promise<string | null> {
  const api = await ctx.connection.api();
  return (await api?.userInfo(slackUserId).catch(() => null))?.tz ?? null;
}

/** "INC-4 was already accepted by Valentina Ruiz at 13:24 UTC.", or what the incident is now. */
async function alreadyTriaged(ctx: SlackContext, incidentId: string): Promise<string> {
  const inc = await ctx.incidents.getIncident(incidentId);
  const decision = triageDecision(await ctx.incidents.timeline(inc.id));
  if (!decision) return `${inc.reference} is ${inc.status.name} now: there is nothing left to triage.`;
  const tz = await tzOfSlackUser(ctx, (await ctx.users.get(decision.actor.user?.id ?? '').catch(() => null))?.slackUserId ?? '');
  const outcome = triageOutcome(decision, tz);
  return `${inc.reference} was already ${outcome.charAt(0).toLowerCase()}${outcome.slice(1)}.`;
}

const tellEphemeral = (ctx: SlackContext, respond: (m: Record<string, unknown>) => Promise<unknown>, text: string) =>
  respond({ response_type: 'ephemeral', replace_original: false, text }).catch((err: unknown) => ctx.logger.error({ err }, 'could not answer a Slack button'));

/**
 * A question with buttons, answered once: the first click claims it, acts, and the message is replaced by the
 * outcome in words (a job: chat.update); a later click is told what was answered, by whom and when. Viewers are
 * told they cannot answer.
 */
export function answerOnce(bolt: BoltApp, ctx: SlackContext, actionId: string, kind: string, incidentOf: (value: string) => string, run: (value: string, user: Person) => Promise<{ done: string; note?: string }>): void {
  const tell = (respond: (m: Record<string, unknown>) => Promise<unknown>, text: string) => tellEphemeral(ctx, respond, text);
  bolt.action(actionId, async ({ ack, body, action, respond }) => {
    await ack();
    const value = (action as { value?: string }).value ?? '';
    const b = body as unknown as Payload;
    const channel = b.channel?.id ?? b.container?.channel_id ?? '';
    const ts = b.container?.message_ts ?? b.message?.ts ?? '';
    const incidentId = incidentOf(value);
    try {
      const user = await ctx.people.resolve(b.user.id);
      if (!roleAllows(user.role, 'write')) return void (await tell(respond, viewerText(user)));
      const claim = await ctx.store.claimPrompt(channel, ts, incidentId, kind, user.id);
      if (!claim.claimed) {
        const p = claim.prompt;
        const who = p.answered_by === user.id ? 'You' : ((await ctx.users.get(p.answered_by ?? '').catch(() => null))?.name ?? 'Someone');
        return void (await tell(respond, p.outcome ? `This was already answered: ${p.outcome}.` : `${who} answered this a moment ago; it is being done.`));
      }
      let outcome: { done: string; note?: string };
      try {
        outcome = await run(value, user);
      } catch (err) {
        await ctx.store.releasePrompt(channel, ts);
        throw err;
      }
      const full = `${outcome.done} by ${user.name} at ${clockTime(new Date().toISOString(), await tzOfSlackUser(ctx, b.user.id))}${outcome.note ? `: ${outcome.note}` : ''}`;
      await ctx.store.settlePrompt(channel, ts, full);
      const kept = (b.message?.blocks ?? []).filter((x) => (x as { type?: string }).type !== 'actions');
      await ctx.jobs.enqueue(SLACK_JOBS.replacePrompt, { incidentId, channel, ts, blocks: kept, text: b.message?.text ?? '', outcome: full } satisfies ReplacePromptJob, { queue: incidentQueue(incidentId) });
    } catch (err) {
      await tell(respond, explain(err, ctx.logger));
    }
  });
}

export function registerPagerDutyLinks(bolt: BoltApp, ctx: SlackContext, port: PagerDutyLinksPort | undefined): void {
  if (!port) return;

  const tell = (respond: (m: Record<string, unknown>) => Promise<unknown>, text: string) => respond({ response_type: 'ephemeral', replace_original: false, text }).catch((err: unknown) => ctx.logger.error({ err }, 'could not answer a Slack button'));

  const answer = (actionId: string, kind: string, incidentOf: (value: string) => string, run: (value: string, user: Person) => Promise<{ done: string; note?: string }>) =>
    answerOnce(bolt, ctx, actionId, kind, incidentOf, run);
  const split = (v: string) => {
    const [a = '', b = ''] = v.split('|');
    return [a, b] as const;
  };

  answer(PD_ACTIONS.relatedYes, 'related', (v) => split(v)[0], async (v, user) => {
    const [incidentId, linkId] = split(v);
    await port.confirmRelated(incidentId, linkId, true, actorFor(user));
    return { done: 'Marked as related' };
  });
  answer(PD_ACTIONS.relatedNo, 'related', (v) => split(v)[0], async (v, user) => {
    const [incidentId, linkId] = split(v);
    await port.confirmRelated(incidentId, linkId, false, actorFor(user));
    return { done: 'Marked as not related' };
  });
  answer(PD_ACTIONS.ackOffer, 'ack_offer', (v) => split(v)[1] || split(v)[0], async (v, user) => {
    const r = await port.acknowledgeOffer(split(v)[0], actorFor(user));
    if (r.status === 'acknowledged') return { done: 'Acknowledged in PagerDuty' };
    return { done: 'Checked', note: `it was already ${r.status === 'resolved' ? 'resolved' : 'acknowledged'} in PagerDuty` };
  });
  answer(PD_ACTIONS.resolve, 'resolve', (v) => v, async (incidentId, user) => {
    const r = await port.resolveInPagerDuty(incidentId, actorFor(user), user.email);
    const n = r.resolved.length;
    return { done: `Resolved ${n} PagerDuty incident${n === 1 ? '' : 's'}`, ...(r.skipped.length ? { note: `${r.skipped.length} skipped (${r.skipped.map((x) => x.reason).join('; ')})` } : {}) };
  });

  /** Accept / Decline / Merge: the announcement follows the incident (jobs.ts); a stale click is told what happened. */
  const triage = (actionId: string, pick: (action: unknown) => string, run: (value: string, user: Person) => Promise<unknown>) => {
    bolt.action(actionId, async ({ ack, body, action, respond }) => {
      await ack();
      const value = pick(action);
      const incidentId = split(value)[0];
      try {
        const user = await ctx.people.resolve(body.user.id);
        if (!roleAllows(user.role, 'write')) return void (await tell(respond, viewerText(user)));
        if ((await ctx.incidents.getIncident(incidentId)).status.category !== 'triage') return void (await tell(respond, await alreadyTriaged(ctx, incidentId)));
        try {
          await run(value, user);
        } catch (err) {
          // Someone else decided a moment earlier: say what they decided rather than which moves are allowed.
          if (err instanceof ConflictError && (await ctx.incidents.getIncident(incidentId)).status.category !== 'triage') return void (await tell(respond, await alreadyTriaged(ctx, incidentId)));
          throw err;
        }
      } catch (err) {
        await tell(respond, explain(err, ctx.logger));
      }
    });
  };
  const buttonValue = (a: unknown) => (a as { value?: string }).value ?? '';
  triage(PD_ACTIONS.accept, buttonValue, (id, user) => ctx.incidents.accept(id, {}, actorFor(user)));
  triage(PD_ACTIONS.decline, buttonValue, (id, user) => ctx.incidents.decline(id, { reason: 'Declined from the announcement' }, actorFor(user)));
  triage(
    PD_ACTIONS.merge,
    (a) => (a as { selected_option?: { value?: string } }).selected_option?.value ?? '',
    (v, user) => ctx.incidents.merge(split(v)[0], split(v)[1], actorFor(user)),
  );

  port.onNotification(async (n) => {
    const api = await ctx.connection.api();
    if (!api) return;
    await deliver(ctx, api, n);
  });
}

async function slackIdOf(ctx: SlackContext, userId: string | null): Promise<string | null> {
  if (!userId) return null;
  return (await ctx.users.get(userId).catch(() => null))?.slackUserId ?? null;
}

async function deliver(ctx: SlackContext, api: SlackApi, n: PagerDutyNotice): Promise<void> {
  switch (n.type) {
    case 'related_question': {
      const channel = (await ctx.store.byIncident(n.incidentId))?.channel_id;
      if (!channel) return;
      const v = `${n.incidentId}|${n.linkId}`;
      const asked = await api.postMessage(channel, {
        text: `Is ${pdLabel(n.pagerduty)} related to this incident?`,
        blocks: [section(`Is this PagerDuty incident related to this incident?\n${describe(n.pagerduty)}`), { type: 'actions', elements: [button('Yes, related', PD_ACTIONS.relatedYes, v, 'primary'), button('No', PD_ACTIONS.relatedNo, v)] }],
      });
      await ctx.store.recordPrompt(asked.channel, asked.ts, n.incidentId, 'related');
      return;
    }
    case 'ack_offer': {
      const to = await slackIdOf(ctx, n.userId);
      if (!to) return;
      const text = `${n.explanation} Acknowledge this PagerDuty incident?`;
      const posted = await api.dm(to, text);
      await api.updateMessage(posted.channel, posted.ts, { text, blocks: [section(`${esc(n.explanation)}\n${describe(n.pagerduty)}`), { type: 'actions', elements: [button('Acknowledge this PagerDuty incident?', PD_ACTIONS.ackOffer, `${n.offerId}|${n.incidentId}`, 'primary')] }] });
      await ctx.store.recordPrompt(posted.channel, posted.ts, n.incidentId, 'ack_offer');
      return;
    }
    case 'acknowledged_for_you': {
      const to = await slackIdOf(ctx, n.userId);
      if (!to) return;
      const inc = await ctx.incidents.getIncident(n.incidentId);
      await api.dm(to, `We've acknowledged ${pdLabel(n.pagerduty)} for you (${n.pagerduty.title}), as you're working on ${inc.reference}: ${ctx.publicUrl().replace(/\/$/, '')}/incidents/${inc.reference}`);
      return;
    }
    case 'auto_created': {
      // The one announcement of an incident opened from PagerDuty (jobs.ts skips its own): recorded, so a retry
      // does not post it twice and every later change updates it in place (jobs.ts, updateHeader).
      const announce = (await ctx.connection.credentials())?.announcementsChannel;
      if (!announce) return;
      const row = await ctx.store.ensure(n.incidentId);
      if (row.announced_ts) return;
      const inc = await ctx.incidents.getIncident(n.incidentId);
      // What does not change (its live status and assignees are on the incident page; a kept snapshot would go stale).
      const p = n.pagerduty;
      const detail = `Opened from ${pdLink(p)}: *${esc(p.title)}*${p.service || p.urgency ? `\n${[p.service ? `Service: ${esc(p.service.name)}` : null, p.urgency ? `Urgency: ${p.urgency}` : null].filter(Boolean).join(' · ')}` : ''}`;
      const actions = inc.status.category === 'triage' ? await triageActions(ctx.incidents, inc) : null;
      const decision = inc.status.category === 'triage' ? null : triageDecision(await ctx.incidents.timeline(inc.id));
      const posted = await api.postMessage(announce, announcementMessage(inc, ctx.publicUrl(), row.channel_id, { detail, triageActions: actions, outcome: decision ? triageOutcome(decision, null) : null }));
      await ctx.store.update(n.incidentId, { announced_ts: posted.ts, announced_channel: posted.channel, announcement_detail: detail });
      // Whatever changed while it was being posted (its channel created, accepted already) shows at once.
      await ctx.jobs.enqueue(SLACK_JOBS.updateHeader, { incidentId: n.incidentId, actorUserId: null } satisfies UpdateHeaderJob, { queue: incidentQueue(n.incidentId) });
      return;
    }
    case 'resolve_offer': {
      const channel = (await ctx.store.byIncident(n.incidentId))?.channel_id;
      if (!channel) return;
      const list = n.open.map((o) => `• ${describe(o.pagerduty)}`).join('\n');
      const offer = await api.postMessage(channel, {
        text: `This incident has ${n.open.length} open PagerDuty incident${n.open.length === 1 ? '' : 's'}. Resolve them in PagerDuty too?`,
        blocks: [section(`This incident is closed, but these PagerDuty incidents are still open:\n${list}`), { type: 'actions', elements: [button('Also resolve in PagerDuty', PD_ACTIONS.resolve, n.incidentId)] }],
      });
      await ctx.store.recordPrompt(offer.channel, offer.ts, n.incidentId, 'resolve');
      return;
    }
  }
}
