import type { App as BoltApp } from '@slack/bolt';
import { SLACK_JOBS, type RecordPinJob } from './jobs.js';
import type { SlackContext } from './slack.context.js';

// Timeline from Slack: a message pinned in an incident channel, or given a 📌 (:pushpin:) reaction, becomes a
// `slack.message_pinned` timeline item. Bolt acknowledges Events API deliveries before listeners run; the
// listener only records a job. Redeliveries and a pin plus a reaction on one message add one item: the job
// key dedupes while pending, the timeline's dedupe key (channel + ts) afterwards.

export function registerPinEvents(bolt: BoltApp, ctx: SlackContext): void {
  const record = async (job: RecordPinJob) => {
    if (!(await ctx.store.byChannel(job.channelId))) return; // not an incident channel
    await ctx.jobs.enqueue(SLACK_JOBS.recordPin, job, { jobKey: `slack.pin:${job.channelId}:${job.ts}` });
  };

  bolt.event('pin_added', async ({ event }) => {
    const e = event as unknown as { user: string; channel_id: string; item?: { type?: string; message?: { ts?: string; user?: string; bot_id?: string; text?: string } } };
    const m = e.item?.message;
    if (e.item?.type !== 'message' || !m?.ts) return;
    await record({ channelId: e.channel_id, ts: m.ts, by: e.user, via: 'pin', message: { user: m.user ?? null, botId: m.bot_id ?? null, text: m.text ?? '' } });
  });

  bolt.event('reaction_added', async ({ event }) => {
    if (event.reaction !== 'pushpin' || event.item.type !== 'message') return;
    await record({ channelId: event.item.channel, ts: event.item.ts, by: event.user, via: 'reaction', message: null });
  });
}
