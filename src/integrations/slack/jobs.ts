import type { Incident } from '../../incidents/incidents.service.js';
import { addTimelineItem } from '../../incidents/timeline.js';
import { inTransaction } from '../../platform/db/index.js';
import type { Actor } from '../../platform/events.js';
import type { JobContext } from '../../platform/jobs/types.js';
import { announcementMessage, esc, headerFields, headerMessage, topicText } from './messages/header.js';
import { actorName, triageDecision, triageOutcome } from './messages/outcome.js';
import { triageActions } from './pagerduty-links/triage.js';
import { actorFor } from './people.js';
import { SlackApiError, type SlackApi } from './slack.api.js';
import type { SlackContext } from './slack.context.js';

// The slow half of the Slack app: every outbound call happens here, in durable jobs that are retried with
// backoff. Each step records what it did (slack_incidents), so a retry never posts, pins or announces twice.
// Failures that a retry cannot fix (archived or deleted channel, missing scope, revoked token) are told to the
// person concerned in a direct message, and logged; they are never dropped silently.

export const SLACK_JOBS = {
  createChannel: 'slack.create_channel',
  updateHeader: 'slack.update_header',
  postNote: 'slack.post_note',
  recordPin: 'slack.record_pin',
  respond: 'slack.respond',
  replacePrompt: 'slack.replace_prompt',
  archiveChannel: 'slack.archive_channel',
} as const;

/** Timeline kinds that are worth a line in the incident channel. */
export const CHANNEL_NOTE_KINDS = new Set(['status_changed', 'severity_changed', 'name_changed', 'summary_updated', 'lead_changed', 'note_added', 'incident_merged_in', 'custom_field_changed', 'role_assigned']);

/**
 * Actor ref of the changes one `/incident update` submission makes (`slack:update:<view id>`): the channel gets
 * one message for them all, not one per change.
 */
export const UPDATE_BATCH_REF = 'slack:update:';

export interface ReplacePromptJob {
  incidentId: string;
  channel: string;
  ts: string;
  /** The question's blocks without its buttons; the outcome goes below them. */
  blocks: unknown[];
  text: string;
  outcome: string;
}

export interface ArchiveChannelJob {
  incidentId: string;
  /** How many times the incident had been closed when this archive was planned: a reopen (and close) since skips it. */
  closeCount: number;
}

export interface RespondJob {
  /** A response_url Slack gave us with a command (valid 30 minutes, 5 uses). */
  url: string;
  text: string;
}

export interface CreateChannelJob {
  incidentId: string;
}
export interface UpdateHeaderJob {
  incidentId: string;
  actorUserId: string | null;
  /** The lead changed: bring them into the channel. */
  inviteLead?: boolean;
  /** Firebreak users to bring into the channel (whoever accepted a triage incident). */
  inviteUserIds?: string[];
}
/** One timeline item (`itemId`), or every change one `/incident update` submission made (`batchRef`). */
export type PostNoteJob = { incidentId: string; itemId: string; batchRef?: never } | { incidentId: string; batchRef: string; itemId?: never };
export interface RecordPinJob {
  channelId: string;
  ts: string;
  /** Slack user who pinned or reacted. */
  by: string;
  via: 'pin' | 'reaction';
  message: { user: string | null; botId: string | null; text: string } | null;
}

/** How many times an incident has been closed (status changes into the closed category). */
export function closeCountOf(timeline: { kind: string; payload: Record<string, unknown> }[]): number {
  // An update that closes the incident counts too (its one item says where the status went).
  return timeline.filter((i) => (i.kind === 'status_changed' || i.kind === 'update_posted') && i.payload.toCategory === 'closed').length;
}

/** Per-incident queue: channel creation, header updates and notes for one incident run in order. */
export function incidentQueue(incidentId: string): string {
  return `slack:${incidentId}`;
}

const SLUG_MAX = 50;

/** `inc-42-checkout-is-down`: lower case, Slack's allowed characters, at most 80 characters. */
export function channelName(number: number, name: string, attempt = 1): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '');
  const base = `inc-${number}`;
  const tail = attempt > 1 ? `-${attempt}` : '';
  const room = Math.min(SLUG_MAX, 80 - base.length - tail.length - 1);
  const cut = slug.slice(0, Math.max(0, room)).replace(/[-_]+$/g, '');
  return `${base}${cut ? `-${cut}` : ''}${tail}`;
}

const NAME_ATTEMPTS = 20;

export function defineSlackJobs(ctx: SlackContext): void {
  const { store, incidents, users, logger, connection } = ctx;
  // Every Slack job starts once the Slack requests already received are acknowledged: in a burst (50 people
  // declaring at once) channel set-up otherwise took the event loop from the modal submissions waiting for
  // their acks (PostgreSQL: submit ack p99 ~570 → ~350 ms).
  const jobs = {
    define<T>(name: string, handler: (payload: T, jctx: JobContext) => Promise<void>, opts?: { maxAttempts?: number }) {
      ctx.jobs.define<T>(name, async (payload, jctx) => {
        await ctx.afterPendingAcks();
        return handler(payload, jctx);
      }, opts);
    },
  };

  const slackIdOf = async (userId: string | null | undefined): Promise<string | null> => {
    if (!userId) return null;
    try {
      return (await users.get(userId)).slackUserId;
    } catch {
      return null;
    }
  };

  /** Tells a person (by DM) what went wrong, or logs it when there is nobody to tell. */
  const report = async (api: SlackApi, slackUserId: string | null, text: string, err: unknown): Promise<void> => {
    logger.error({ err }, text);
    if (!slackUserId) return;
    try {
      await api.dm(slackUserId, `:warning: ${text}`);
    } catch (dmErr) {
      logger.error({ err: dmErr, slackUserId }, 'could not tell the person about a Slack failure either');
    }
  };

  /** Permanent failure or last attempt: report and stop; otherwise let the queue retry. */
  const failOrRetry = async (api: SlackApi, jctx: JobContext, err: unknown, tell: string | null, text: string): Promise<void> => {
    const permanent = err instanceof SlackApiError && err.permanent;
    if (permanent || jctx.attempt >= jctx.maxAttempts) {
      await report(api, tell, `${text} (${err instanceof SlackApiError ? err.code : (err as Error).message})`, err);
      if (!permanent) throw err;
      return;
    }
    throw err;
  };

  // Custom fields shown in the declare form are the ones worth a place in the header too.
  const shownFields = async () => new Set((await ctx.customFields.listFields()).filter((f) => f.showInDeclare).map((f) => f.id));
  const header = async (incident: Incident) => {
    const holders = new Map<string, string>();
    for (const r of incident.roles) {
      const slackId = r.user ? await slackIdOf(r.user.id) : null;
      if (r.user && slackId) holders.set(r.user.id, slackId);
    }
    return headerMessage(incident, ctx.publicUrl(), await slackIdOf(incident.lead?.id), await shownFields(), holders);
  };

  /** The Slack time zone of a Firebreak user, when Slack tells us one. */
  const tzOf = async (api: SlackApi, userId: string | null | undefined): Promise<string | null> => {
    const slackId = await ctx.people.slackIdFor(userId).catch(() => null);
    if (!slackId) return null;
    return (await api.userInfo(slackId).catch(() => null))?.tz ?? null;
  };

  /** The announcement as it should read now: current state, triage buttons while in triage, else the decision. */
  const announcement = async (api: SlackApi, incident: Incident, row: { channel_id: string | null; announcement_detail: string | null }) => {
    const decision = incident.status.category === 'triage' ? null : triageDecision(await incidents.timeline(incident.id));
    return announcementMessage(incident, ctx.publicUrl(), row.channel_id, {
      detail: row.announcement_detail,
      triageActions: incident.status.category === 'triage' && row.announcement_detail ? await triageActions(incidents, incident) : null,
      outcome: decision ? triageOutcome(decision, await tzOf(api, decision.actor.user?.id)) : null,
      fields: headerFields(incident, await shownFields()),
    });
  };

  /** Sets the channel topic when it differs from the one last set (each change shows a line in Slack). */
  const keepTopic = async (api: SlackApi, incident: Incident, row: { channel_id: string | null; topic: string | null }) => {
    const topic = topicText(incident);
    if (!row.channel_id || row.topic === topic) return;
    await api.setTopic(row.channel_id, topic);
    await store.update(incident.id, { topic });
  };

  jobs.define<CreateChannelJob>(
    SLACK_JOBS.createChannel,
    async ({ incidentId }, jctx) => {
      const api = await connection.api();
      if (!api) return; // disconnected since the incident was declared
      const creds = await connection.credentials();
      const incident = await incidents.getIncident(incidentId);
      const declarer = (await store.byIncident(incidentId))?.declarer_slack_id ?? (await slackIdOf(incident.creator.user?.id));
      let row = await store.ensure(incidentId);
      try {
        if (!row.channel_id) {
          let created: { id: string; name: string } | null = null;
          if (incident.slackChannelId) created = { id: incident.slackChannelId, name: '' };
          for (let n = 1; !created && n <= NAME_ATTEMPTS; n++) {
            try {
              created = await api.createChannel(channelName(incident.number, incident.name, n));
            } catch (err) {
              if (!(err instanceof SlackApiError) || err.code !== 'name_taken') throw err;
              logger.info({ incident: incident.reference, attempt: n }, 'Slack channel name taken; trying the next suffix');
            }
          }
          if (!created) throw new SlackApiError('conversations.create', 'name_taken', { attempts: NAME_ATTEMPTS });
          await store.update(incidentId, { channel_id: created.id, channel_name: created.name || null });
          if (!incident.slackChannelId) await incidents.setSlackChannel(incidentId, created.id);
          row = (await store.byIncident(incidentId))!;
        }
        const channel = row.channel_id!;
        const invitees = new Set<string>();
        if (declarer) invitees.add(declarer);
        const lead = await slackIdOf(incident.lead?.id);
        if (lead) invitees.add(lead);
        await api.invite(channel, [...invitees]);
        if (!row.header_ts) {
          const posted = await api.postMessage(channel, await header(incident));
          await store.update(incidentId, { header_ts: posted.ts });
          row = (await store.byIncident(incidentId))!;
        } else {
          // A change may have landed while the header was being posted: show the current state.
          await api.updateMessage(channel, row.header_ts, await header(await incidents.getIncident(incidentId)));
        }
        if (!row.header_pinned) {
          await api.pin(channel, row.header_ts!);
          await store.update(incidentId, { header_pinned: 1 });
        }
        await keepTopic(api, await incidents.getIncident(incidentId), row);
      } catch (err) {
        return failOrRetry(api, jctx, err, declarer, `Firebreak declared ${incident.reference} but could not set up its Slack channel`);
      }
      const announce = creds?.announcementsChannel;
      // An incident opened from PagerDuty is announced by the PagerDuty module instead, with Accept / Decline /
      // Merge (pagerduty-links.handlers.ts): one announcement per incident, not two.
      const announcedElsewhere = incident.source === 'pagerduty' && !!ctx.pagerdutyLinks;
      if (announce && !row.announced_ts && !announcedElsewhere) {
        try {
          const posted = await api.postMessage(announce, await announcement(api, await incidents.getIncident(incidentId), row));
          await store.update(incidentId, { announced_ts: posted.ts, announced_channel: posted.channel });
        } catch (err) {
          return failOrRetry(api, jctx, err, declarer, `Firebreak could not announce ${incident.reference} in ${announce}`);
        }
      }
    },
    { maxAttempts: 8 },
  );

  jobs.define<UpdateHeaderJob>(
    SLACK_JOBS.updateHeader,
    async ({ incidentId, actorUserId, inviteLead, inviteUserIds }, jctx) => {
      const api = await connection.api();
      const row = await store.byIncident(incidentId);
      if (!api || !row) return; // no channel (yet): channel set-up posts the current state
      const incident = await incidents.getIncident(incidentId);
      // The channel: header, topic, people to bring in (not once it is archived: nobody reads it there).
      if (row.channel_id && row.header_ts && !row.archived_at) {
        try {
          const invitees = new Set<string>();
          const lead = inviteLead ? await slackIdOf(incident.lead?.id) : null;
          if (lead) invitees.add(lead);
          for (const id of inviteUserIds ?? []) {
            const slackId = await ctx.people.slackIdFor(id);
            if (slackId) invitees.add(slackId);
          }
          if (invitees.size) await api.invite(row.channel_id, [...invitees]);
          await api.updateMessage(row.channel_id, row.header_ts, await header(incident));
          await keepTopic(api, incident, row);
        } catch (err) {
          return failOrRetry(api, jctx, err, await slackIdOf(actorUserId), `${incident.reference} changed, but Firebreak could not update the header message in its Slack channel`);
        }
      }
      // The announcement, in place.
      const announcedIn = row.announced_channel ?? (await connection.credentials())?.announcementsChannel;
      if (row.announced_ts && announcedIn) {
        try {
          await api.updateMessage(announcedIn, row.announced_ts, await announcement(api, incident, row));
        } catch (err) {
          if (err instanceof SlackApiError && (err.code === 'message_not_found' || err.code === 'channel_not_found')) {
            logger.warn({ incident: incident.reference, code: err.code }, 'the announcement is gone from Slack; nothing to update');
            return;
          }
          return failOrRetry(api, jctx, err, await slackIdOf(actorUserId), `${incident.reference} changed, but Firebreak could not update its announcement in Slack`);
        }
      }
    },
    { maxAttempts: 8 },
  );

  jobs.define<ReplacePromptJob>(
    SLACK_JOBS.replacePrompt,
    async ({ channel, ts, blocks, text, outcome }, jctx) => {
      const api = await connection.api();
      if (!api) return;
      try {
        await api.updateMessage(channel, ts, { text: `${text} ${outcome}.`, blocks: [...blocks, { type: 'context', block_id: 'outcome', elements: [{ type: 'mrkdwn', text: `:white_check_mark: ${esc(outcome)}` }] }] });
      } catch (err) {
        if (err instanceof SlackApiError && (err.code === 'message_not_found' || err.code === 'channel_not_found')) return; // deleted meanwhile
        return failOrRetry(api, jctx, err, null, `Firebreak could not replace the buttons of a Slack message with "${outcome}"`);
      }
    },
    { maxAttempts: 8 },
  );

  jobs.define<ArchiveChannelJob>(
    SLACK_JOBS.archiveChannel,
    async ({ incidentId, closeCount }, jctx) => {
      const api = await connection.api();
      const row = await store.byIncident(incidentId);
      if (!api || !row?.channel_id || row.archived_at) return;
      const incident = await incidents.getIncident(incidentId);
      if (incident.status.category !== 'closed') return; // reopened meanwhile
      if (closeCountOf(await incidents.timeline(incidentId)) !== closeCount) return; // reopened and closed again: that close's own archive decides
      try {
        await api.archive(row.channel_id);
        await store.update(incidentId, { archived_at: new Date().toISOString() });
      } catch (err) {
        return failOrRetry(api, jctx, err, null, `Firebreak could not archive the Slack channel of ${incident.reference}`);
      }
    },
    { maxAttempts: 8 },
  );

  jobs.define<PostNoteJob>(
    SLACK_JOBS.postNote,
    async ({ incidentId, itemId, batchRef }, jctx) => {
      const api = await connection.api();
      const row = await store.byIncident(incidentId);
      if (!api || !row?.channel_id) return;
      const timeline = await incidents.timeline(incidentId);
      // One /incident update, one message: the submission queues this job once all its changes are written
      // (their own items queue nothing, see core-events.ts).
      const items = batchRef ? timeline.filter((i) => i.actor.ref === batchRef && CHANNEL_NOTE_KINDS.has(i.kind)) : timeline.filter((i) => i.id === itemId);
      const item = items[0];
      if (!item) return;
      const who = actorName(item);
      const text = item.kind === 'note_added' && !batchRef ? `:memo: *${esc(who)}* added a note: ${esc(item.text)}` : `:arrows_counterclockwise: ${items.map((i) => esc(i.text)).join(' · ')} (by ${esc(who)})`;
      try {
        await api.postMessage(row.channel_id, { text });
      } catch (err) {
        const incident = await incidents.getIncident(incidentId);
        return failOrRetry(api, jctx, err, await slackIdOf(item.actor.user?.id), `${incident.reference} changed, but Firebreak could not post the change in its Slack channel`);
      }
    },
    { maxAttempts: 8 },
  );

  jobs.define<RespondJob>(
    SLACK_JOBS.respond,
    async ({ url, text }) => {
      const api = await connection.api();
      if (!api) return;
      await api.respond(url, { response_type: 'ephemeral', text });
    },
    { maxAttempts: 5 },
  );

  jobs.define<RecordPinJob>(
    SLACK_JOBS.recordPin,
    async (job, jctx) => {
      const api = await connection.api();
      const row = await store.byChannel(job.channelId);
      if (!api || !row) return;
      if (row.header_ts === job.ts) return; // our own header
      try {
        const message = job.message ?? (await api.message(job.channelId, job.ts));
        if (!message) return; // deleted before we looked
        const identity = await connection.identity();
        if (identity && (message.user === identity.botUserId || message.botId === identity.botId)) return;
        const [permalink, author] = await Promise.all([
          api.permalink(job.channelId, job.ts),
          message.user ? api.userInfo(message.user).then((u) => ({ slackUserId: u.id, name: u.realName || u.name }), () => ({ slackUserId: message.user, name: message.user })) : Promise.resolve(null),
        ]);
        let actor: Actor = { kind: 'integration', ref: 'slack' };
        try {
          actor = actorFor(await ctx.people.resolve(job.by));
        } catch (err) {
          logger.warn({ err, slackUserId: job.by }, 'pinned by a Slack person Firebreak cannot identify; recording the pin as Slack');
        }
        await inTransaction(ctx.db, (tx) =>
          addTimelineItem(tx, ctx.events, {
            incidentId: row.incident_id,
            kind: 'slack.message_pinned',
            actor,
            payload: { text: message.text, author, permalink, channelId: job.channelId, ts: job.ts, via: job.via },
            dedupeKey: `slack:${job.channelId}:${job.ts}`,
          }),
        );
      } catch (err) {
        return failOrRetry(api, jctx, err, job.by, 'Firebreak could not add the pinned message to the incident timeline');
      }
    },
    { maxAttempts: 8 },
  );
}
