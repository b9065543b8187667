import type { UpdateDeliveries, UpdateDelivery } from '../../../incidents/updates/deliveries.js';
import type { IncidentUpdate, UpdatesService } from '../../../incidents/updates/service.js';
import type { Db } from '../../../platform/db/index.js';
import type { DomainEvent } from '../../../platform/events.js';
import { nowIso } from '../../../platform/ids.js';
import type { JobContext } from '../../../platform/jobs/types.js';
import type { LiveFeed } from '../../../platform/live.js';
import { esc } from '../messages/header.js';
import { actorName } from '../messages/outcome.js';
import { incidentQueue } from '../jobs.js';
import { SlackApiError, type SlackApi, type SlackMessageRef } from '../slack.api.js';
import type { SlackContext } from '../slack.context.js';
import '../slack.tables.js';

// Each incident update, in Slack: once in the incident channel and once as a reply to the announcement (when there
// is one), whatever made it (Slack's modal, the web app, the API). A subscriber to `incident.update_posted` queues
// one job per update on the incident's queue (after channel set-up). Exactly once across retries and crashes: each
// post is recorded in `slack_update_posts` ('sending') before Slack is called and completed ('done', with its ts)
// after; the message carries the update id in Slack's message metadata, so an attempt that finds 'sending' (the
// last one stopped between Slack's answer and the record) looks for it in the channel or thread before posting.

export const POST_UPDATE_JOB = 'slack.post_update';
/** Slack's message metadata event type marking Firebreak's update posts. */
export const UPDATE_POST_EVENT = 'firebreak_incident_update';

export interface PostUpdateJob {
  incidentId: string;
  updateId: string;
}

type Target = 'channel' | 'thread';

/** The update as people read it in Slack: names, never ids. */
export function updateMessage(u: IncidentUpdate, reference: string): { text: string; blocks: unknown[] } {
  const who = actorName(u);
  const state = `*Status:* ${esc(u.status.name)}  ·  *Severity:* ${esc(u.severity.name)}`;
  const text = `Update on ${reference} from ${who}: ${u.message} (${u.status.name}, ${u.severity.name})`;
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `:loudspeaker: *Update from ${esc(who)}*\n${esc(u.message)}` } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: state }] },
      ...(u.summary !== null ? [{ type: 'section', text: { type: 'mrkdwn', text: `*Summary:* ${esc(u.summary)}` } }] : []),
    ],
  };
}

export function registerUpdatePosts(ctx: SlackContext, deps: { updates: UpdatesService; live: LiveFeed; deliveries: UpdateDeliveries }): void {
  const { db, connection, store, logger } = ctx;

  ctx.events.subscribe('slack.updates', ['incident.update_posted'], async (event: DomainEvent) => {
    await ctx.afterPendingAcks();
    if (!event.incidentId || !(await connection.credentials())) return; // Slack not connected: nothing to post
    const updateId = String(event.data.updateId);
    await ctx.jobs.enqueue(POST_UPDATE_JOB, { incidentId: event.incidentId, updateId } satisfies PostUpdateJob, { jobKey: `slack.update:${updateId}`, queue: incidentQueue(event.incidentId) });
  });

  const record = async (updateId: string, target: Target) =>
    (await db.selectFrom('slack_update_posts').selectAll().where('update_id', '=', updateId).where('target', '=', target).executeTakeFirst()) ?? null;

  const save = async (row: { update_id: string; target: Target; incident_id: string; channel_id: string; thread_ts: string | null; ts: string | null; status: string; error: string | null }) => {
    const now = nowIso();
    await db
      .insertInto('slack_update_posts')
      .values({ ...row, created_at: now, updated_at: now })
      .onConflict((oc) => oc.columns(['update_id', 'target']).doUpdateSet({ ts: row.ts, status: row.status, error: row.error, updated_at: now }))
      .execute();
    await deps.live.touch(null, { topic: 'timeline', incidentId: row.incident_id });
  };

  /** Posts once per (update, target); see the comment at the top for what a retry does. */
  const postOnce = async (api: SlackApi, u: IncidentUpdate, target: Target, channelId: string, threadTs: string | null, msg: { text: string; blocks: unknown[] }): Promise<void> => {
    const prior = await record(u.id, target);
    if (prior && prior.status !== 'sending') return; // done, or refused for good
    const base = { update_id: u.id, target, incident_id: u.incidentId, channel_id: prior?.channel_id ?? channelId, thread_ts: prior?.thread_ts ?? threadTs };
    if (prior) {
      const since = Math.floor(Date.parse(prior.created_at) / 1000) - 60;
      const found = base.thread_ts
        ? await api.findReplyByMetadata(base.channel_id, base.thread_ts, UPDATE_POST_EVENT, 'update_id', u.id)
        : await api.findByMetadata(base.channel_id, since, UPDATE_POST_EVENT, 'update_id', u.id);
      if (found) return save({ ...base, ts: found.ts, status: 'done', error: null });
    } else {
      await save({ ...base, ts: null, status: 'sending', error: null });
    }
    let ref: SlackMessageRef;
    try {
      ref = await api.postMessage(base.channel_id, { ...msg, metadata: { event_type: UPDATE_POST_EVENT, event_payload: { update_id: u.id } }, ...(base.thread_ts ? { threadTs: base.thread_ts } : {}) });
    } catch (err) {
      if (err instanceof SlackApiError && err.permanent) await save({ ...base, ts: null, status: 'failed', error: err.code });
      throw err;
    }
    await save({ ...base, ts: ref.ts, status: 'done', error: null });
  };

  ctx.jobs.define<PostUpdateJob>(
    POST_UPDATE_JOB,
    async ({ incidentId, updateId }, jctx: JobContext) => {
      await ctx.afterPendingAcks();
      const api = await connection.api();
      const row = await store.byIncident(incidentId);
      if (!api || !row) return;
      const update = await deps.updates.get(updateId);
      const incident = await ctx.incidents.getIncident(incidentId);
      const msg = updateMessage(update, incident.reference);
      const announcedIn = row.announced_channel ?? (await connection.credentials())?.announcementsChannel ?? null;
      const targets: [Target, string | null, string | null][] = [
        ['channel', row.channel_id, null],
        ['thread', row.announced_ts ? announcedIn : null, row.announced_ts],
      ];
      let failure: unknown = null;
      for (const [target, channelId, threadTs] of targets) {
        if (!channelId) continue;
        if (target === 'channel' && row.archived_at) continue;
        try {
          await postOnce(api, update, target, channelId, threadTs, msg);
        } catch (err) {
          failure ??= err;
        }
      }
      if (!failure) return;
      const permanent = failure instanceof SlackApiError && failure.permanent;
      if (permanent || jctx.attempt >= jctx.maxAttempts) {
        logger.error({ err: failure, incident: incident.reference }, 'could not post an incident update in Slack');
        const who = await ctx.people.slackIdFor(update.actor.user?.id).catch(() => null);
        if (who) await api.dm(who, `:warning: Your update on ${incident.reference} is saved, but Firebreak could not post it in Slack (${failure instanceof SlackApiError ? failure.code : (failure as Error).message}).`).catch(() => undefined);
        if (permanent) return;
      }
      throw failure;
    },
    { maxAttempts: 8 },
  );

  // Where each update went in Slack, shown with the update (the web page, the API).
  deps.deliveries.use(async (updateIds) => {
    const rows = await db
      .selectFrom('slack_update_posts as p')
      .leftJoin('slack_incidents as s', 's.incident_id', 'p.incident_id')
      .select(['p.update_id', 'p.target', 'p.channel_id', 'p.ts', 'p.status', 'p.error', 'p.updated_at', 's.channel_name'])
      .where('p.update_id', 'in', updateIds)
      .orderBy('p.target')
      .execute();
    const out = new Map<string, UpdateDelivery[]>();
    for (const r of rows) {
      const label = r.target === 'channel' ? `Slack channel ${r.channel_name ? `#${r.channel_name}` : 'of the incident'}` : 'Slack: reply to the announcement';
      const state: UpdateDelivery['state'] = r.status === 'done' ? 'sent' : r.status === 'failed' ? 'failed' : 'pending';
      out.set(r.update_id, [...(out.get(r.update_id) ?? []), { target: 'slack', ref: `${r.channel_id}:${r.ts ?? ''}`, label, url: null, state, message: r.error, at: r.status === 'done' ? r.updated_at : null }]);
    }
    return out;
  });
}
