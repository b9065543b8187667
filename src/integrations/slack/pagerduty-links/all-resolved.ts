import type { App as BoltApp } from '@slack/bolt';
import { esc } from '../messages/header.js';
import { actorFor } from '../people.js';
import { SlackApiError, type SlackApi } from '../slack.api.js';
import type { SlackContext } from '../slack.context.js';
import { answerOnce } from './pagerduty-links.handlers.js';
import type { AllResolvedNoticeView, AllResolvedSlackPort } from './port.js';
import { button } from './triage.js';

// Two-way close in Slack: "All linked PagerDuty incidents are resolved" in the incident channel, naming them, with
// Move to Monitoring / Close incident / Keep open (answered once, as the person who clicked; answerOnce), or, when
// the triage setting acted, what was done and why. The message follows the episode: when a PagerDuty incident is
// open again before anyone answered, its buttons go and it says so.
//
// Posted once across retries and crashes: the episode records 'sending' (with the channel) before chat.postMessage
// and 'posted' (with the ts) after; the message carries the episode id in Slack's message metadata, so an attempt
// that finds 'sending' (the last one stopped between Slack's answer and the record) looks for it in the channel
// before posting.

export const ALL_RESOLVED_EVENT = 'firebreak_pd_all_resolved';
export const ALL_RESOLVED_ACTIONS = { monitoring: 'pd_all_resolved_monitoring', close: 'pd_all_resolved_close', keep_open: 'pd_all_resolved_keep_open' } as const;

const pdLine = (p: AllResolvedNoticeView['pagerduty'][number]) => {
  const num = p.number ? `#${p.number}` : 'PagerDuty incident';
  return `• ${p.htmlUrl ? `<${p.htmlUrl}|${esc(num)}>` : esc(num)} "${esc(p.title)}"`;
};
const plainNames = (n: AllResolvedNoticeView) => n.pagerduty.map((p) => `${p.number ? `#${p.number}` : 'PagerDuty incident'} "${p.title}"`).join(', ');

/** The message for the episode as it is now: its buttons while open, else what happened to it. */
export function allResolvedMessage(n: AllResolvedNoticeView): { text: string; blocks: unknown[] } {
  const blocks: unknown[] = [{ type: 'section', text: { type: 'mrkdwn', text: `:white_check_mark: *All linked PagerDuty incidents are resolved*\n${n.pagerduty.map(pdLine).join('\n')}` } }];
  const text = `All linked PagerDuty incidents are resolved: ${plainNames(n)}`;
  if (n.mode === 'automatic') {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `:robot_face: ${esc(n.outcome ?? 'Being done automatically')}: they were resolved in PagerDuty while this incident was in triage, and an admin set such incidents to close by themselves.` }] });
  } else if (n.ended) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `:arrows_counterclockwise: No longer true: ${esc(n.ended)}. Firebreak will ask again once all are resolved.` }] });
  } else if (n.choices.length) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: 'Move the incident on, or keep it open while you check.' }] });
    blocks.push({ type: 'actions', elements: n.choices.map((c) => button(c.label, ALL_RESOLVED_ACTIONS[c.choice], `${n.incidentId}|${n.episodeId}`, c.choice === 'monitoring' ? 'primary' : undefined)) });
  }
  return { text, blocks };
}

async function show(ctx: SlackContext, api: SlackApi, port: AllResolvedSlackPort, n: AllResolvedNoticeView): Promise<void> {
  const msg = allResolvedMessage(n);
  const refresh = async (channel: string, ts: string) => {
    if (!n.ended || n.outcome) return; // only an unanswered message that no longer holds changes here (answers: answerOnce)
    try {
      await api.updateMessage(channel, ts, msg);
    } catch (err) {
      if (err instanceof SlackApiError && (err.code === 'message_not_found' || err.code === 'channel_not_found')) return;
      throw err;
    }
  };
  if (n.notice.status === 'skipped') return;
  if (n.notice.status === 'posted') {
    if (n.notice.channel && n.notice.ts) await refresh(n.notice.channel, n.notice.ts);
    return;
  }
  const row = await ctx.store.byIncident(n.incidentId);
  const channel = n.notice.channel ?? row?.channel_id ?? null;
  if (n.notice.status === 'sending' && channel) {
    const since = Math.floor(Date.parse(n.createdAt) / 1000) - 60;
    const found = await api.findByMetadata(channel, since, ALL_RESOLVED_EVENT, 'episode_id', n.episodeId);
    if (found) {
      await port.recordNotice(n.episodeId, 'posted', { channel: found.channel, ts: found.ts });
      await ctx.store.recordPrompt(found.channel, found.ts, n.incidentId, 'all_resolved');
      await refresh(found.channel, found.ts);
      return;
    }
  }
  // Never posted and no longer true, or nowhere to post: nothing to say.
  if ((n.ended && !n.outcome) || !channel || row?.archived_at) return port.recordNotice(n.episodeId, 'skipped');
  await port.recordNotice(n.episodeId, 'sending', { channel });
  let ref;
  try {
    ref = await api.postMessage(channel, { ...msg, metadata: { event_type: ALL_RESOLVED_EVENT, event_payload: { episode_id: n.episodeId } } });
  } catch (err) {
    if (err instanceof SlackApiError && err.permanent) {
      ctx.logger.warn({ err, incident: n.incidentId }, 'could not post "All linked PagerDuty incidents are resolved" in Slack');
      return port.recordNotice(n.episodeId, 'skipped');
    }
    throw err;
  }
  await port.recordNotice(n.episodeId, 'posted', { channel: ref.channel, ts: ref.ts });
  await ctx.store.recordPrompt(ref.channel, ref.ts, n.incidentId, 'all_resolved');
}

export function registerAllResolved(bolt: BoltApp, ctx: SlackContext, port: AllResolvedSlackPort | undefined): void {
  if (!port) return;
  port.onNotice(async (n) => {
    const api = await ctx.connection.api();
    if (!api) return;
    await show(ctx, api, port, n);
  });
  const split = (v: string) => {
    const [incidentId = '', episodeId = ''] = v.split('|');
    return { incidentId, episodeId };
  };
  for (const choice of ['monitoring', 'close', 'keep_open'] as const) {
    answerOnce(bolt, ctx, ALL_RESOLVED_ACTIONS[choice], 'all_resolved', (v) => split(v).incidentId, async (v, user) => port.answer(split(v).episodeId, choice, actorFor(user)));
  }
}
