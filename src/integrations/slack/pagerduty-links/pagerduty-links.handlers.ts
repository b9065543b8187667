import type { App as BoltApp, SlashCommand } from '@slack/bolt';
import { roleAllows } from '../../../users/users.service.js';
import { explain } from '../errors.js';
import { esc } from '../messages/header.js';
import { outsideChannelText, viewerText } from '../messages/replies.js';
import { actorFor } from '../people.js';
import type { SlackApi } from '../slack.api.js';
import type { SlackContext } from '../slack.context.js';
import type { LinkedIncidentView, PagerDutyLinksPort, PagerDutyNotice } from './port.js';

// Slack's side of related PagerDuty incidents: `/incident pd link <url-or-id>`, the "Is this PagerDuty incident
// related?" buttons, Accept / Decline on incidents opened from PagerDuty (in the announcements channel), the
// "Acknowledge this PagerDuty incident?" button, "we've acknowledged it for you" DMs and the offer to resolve
// PagerDuty incidents when an incident is closed. Notices come from the port; a failed post is logged.

export const PD_ACTIONS = {
  relatedYes: 'pd_related_yes',
  relatedNo: 'pd_related_no',
  ackOffer: 'pd_ack_offer',
  accept: 'pd_triage_accept',
  decline: 'pd_triage_decline',
  resolve: 'pd_resolve_linked',
  merge: 'pd_triage_merge',
} as const;

type Say = (text: string) => Promise<void>;

const pdLabel = (p: LinkedIncidentView) => `PagerDuty incident${p.number ? ` #${p.number}` : ''}`;
const pdLink = (p: LinkedIncidentView) => (p.htmlUrl ? `<${p.htmlUrl}|${esc(pdLabel(p))}>` : esc(pdLabel(p)));
const describe = (p: LinkedIncidentView) =>
  `${pdLink(p)}: *${esc(p.title)}*\n${[p.service ? `Service: ${esc(p.service.name)}` : null, `Status: ${p.status}`, p.urgency ? `Urgency: ${p.urgency}` : null, p.assignees.length ? `Assigned: ${esc(p.assignees.map((a) => a.name).join(', '))}` : null].filter(Boolean).join(' · ')}`;

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
const button = (text: string, action_id: string, value: string, style?: 'primary' | 'danger') => ({ type: 'button', text: { type: 'plain_text', text }, action_id, value, ...(style ? { style } : {}) });

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

export function registerPagerDutyLinks(bolt: BoltApp, ctx: SlackContext, port: PagerDutyLinksPort | undefined): void {
  if (!port) return;

  const act = (actionId: string, run: (value: string, user: Awaited<ReturnType<SlackContext['people']['resolve']>>) => Promise<string | null>) => {
    bolt.action(actionId, async ({ ack, body, action, respond }) => {
      await ack();
      const value = (action as { value?: string }).value ?? '';
      try {
        const user = await ctx.people.resolve(body.user.id);
        if (!roleAllows(user.role, 'write')) {
          await respond({ response_type: 'ephemeral', replace_original: false, text: viewerText(user) });
          return;
        }
        const text = await run(value, user);
        if (text) await respond({ response_type: 'ephemeral', replace_original: false, text });
      } catch (err) {
        await respond({ response_type: 'ephemeral', replace_original: false, text: explain(err, ctx.logger) }).catch(() => {});
      }
    });
  };
  const split = (v: string) => {
    const [a = '', b = ''] = v.split('|');
    return [a, b] as const;
  };

  act(PD_ACTIONS.relatedYes, async (v, user) => {
    const [incidentId, linkId] = split(v);
    await port.confirmRelated(incidentId, linkId, true, actorFor(user));
    return 'Thanks: marked as related. If PagerDuty paged you for it, Firebreak acknowledges it for you.';
  });
  act(PD_ACTIONS.relatedNo, async (v, user) => {
    const [incidentId, linkId] = split(v);
    await port.confirmRelated(incidentId, linkId, false, actorFor(user));
    return 'Marked as not related.';
  });
  act(PD_ACTIONS.ackOffer, async (offerId, user) => {
    const r = await port.acknowledgeOffer(offerId, actorFor(user));
    return r.status === 'acknowledged' ? 'Acknowledged in PagerDuty as you.' : r.status === 'resolved' ? 'It is already resolved in PagerDuty.' : 'Someone has already acknowledged it in PagerDuty.';
  });
  act(PD_ACTIONS.accept, async (incidentId, user) => {
    const inc = await ctx.incidents.accept(incidentId, {}, actorFor(user));
    return `${inc.reference} accepted.`;
  });
  act(PD_ACTIONS.decline, async (incidentId, user) => {
    const inc = await ctx.incidents.decline(incidentId, { reason: 'Declined from the announcement' }, actorFor(user));
    return `${inc.reference} declined.`;
  });
  bolt.action(PD_ACTIONS.merge, async ({ ack, body, action, respond }) => {
    await ack();
    const picked = (action as { selected_option?: { value?: string } }).selected_option?.value ?? '';
    const [incidentId, intoId] = split(picked);
    try {
      const user = await ctx.people.resolve(body.user.id);
      if (!roleAllows(user.role, 'write')) {
        await respond({ response_type: 'ephemeral', replace_original: false, text: viewerText(user) });
        return;
      }
      const inc = await ctx.incidents.merge(incidentId, intoId, actorFor(user));
      await respond({ response_type: 'ephemeral', replace_original: false, text: `${inc.reference} merged into ${inc.mergedInto?.reference ?? 'the chosen incident'}.` });
    } catch (err) {
      await respond({ response_type: 'ephemeral', replace_original: false, text: explain(err, ctx.logger) }).catch(() => {});
    }
  });
  act(PD_ACTIONS.resolve, async (incidentId, user) => {
    const r = await port.resolveInPagerDuty(incidentId, actorFor(user), user.email);
    return `Resolved ${r.resolved.length} PagerDuty incident${r.resolved.length === 1 ? '' : 's'}${r.skipped.length ? ` (${r.skipped.length} skipped: ${r.skipped.map((x) => x.reason).join('; ')})` : ''}.`;
  });

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
      await api.postMessage(channel, {
        text: `Is ${pdLabel(n.pagerduty)} related to this incident?`,
        blocks: [section(`Is this PagerDuty incident related to this incident?\n${describe(n.pagerduty)}`), { type: 'actions', elements: [button('Yes, related', PD_ACTIONS.relatedYes, v, 'primary'), button('No', PD_ACTIONS.relatedNo, v)] }],
      });
      return;
    }
    case 'ack_offer': {
      const to = await slackIdOf(ctx, n.userId);
      if (!to) return;
      const text = `${n.explanation} Acknowledge this PagerDuty incident?`;
      const posted = await api.dm(to, text);
      await api.updateMessage(posted.channel, posted.ts, { text, blocks: [section(`${esc(n.explanation)}\n${describe(n.pagerduty)}`), { type: 'actions', elements: [button('Acknowledge this PagerDuty incident?', PD_ACTIONS.ackOffer, n.offerId, 'primary')] }] });
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
      const announce = (await ctx.connection.credentials())?.announcementsChannel;
      if (!announce) return;
      const inc = await ctx.incidents.getIncident(n.incidentId);
      if (inc.status.category !== 'triage') {
        await api.postMessage(announce, { text: `${inc.reference} was opened from ${pdLabel(n.pagerduty)}: ${inc.name}`, blocks: [section(`*${esc(inc.reference)}* was opened from PagerDuty.\n${describe(n.pagerduty)}`)] });
        return;
      }
      const open = (await ctx.incidents.listIncidents({ statusCategories: ['triage', 'live'], limit: 26 })).incidents.filter((i) => i.id !== inc.id).slice(0, 25);
      const merge = open.length
        ? [{ type: 'static_select', action_id: PD_ACTIONS.merge, placeholder: { type: 'plain_text', text: 'Merge into…' }, options: open.map((o) => ({ text: { type: 'plain_text', text: `${o.reference} ${o.name}`.slice(0, 75) }, value: `${inc.id}|${o.id}` })) }]
        : [];
      await api.postMessage(announce, {
        text: `${inc.reference} opened from ${pdLabel(n.pagerduty)} needs triage: ${inc.name}`,
        blocks: [
          section(`*${esc(inc.reference)}* was opened from PagerDuty and needs triage.\n${describe(n.pagerduty)}`),
          { type: 'actions', elements: [button('Accept', PD_ACTIONS.accept, inc.id, 'primary'), button('Decline', PD_ACTIONS.decline, inc.id, 'danger'), ...merge] },
        ],
      });
      return;
    }
    case 'resolve_offer': {
      const channel = (await ctx.store.byIncident(n.incidentId))?.channel_id;
      if (!channel) return;
      const list = n.open.map((o) => `• ${describe(o.pagerduty)}`).join('\n');
      await api.postMessage(channel, {
        text: `This incident has ${n.open.length} open PagerDuty incident${n.open.length === 1 ? '' : 's'}. Resolve them in PagerDuty too?`,
        blocks: [section(`This incident is closed, but these PagerDuty incidents are still open:\n${list}`), { type: 'actions', elements: [button('Also resolve in PagerDuty', PD_ACTIONS.resolve, n.incidentId)] }],
      });
      return;
    }
  }
}
