import { StepUpstreamError, type SlackPostDestination, type WorkflowSlackPort } from '../../../workflows/ports.js';
import type { Db } from '../../../platform/db/index.js';
import { nowIso } from '../../../platform/ids.js';
import type { Logger } from '../../../platform/logger.js';
import type { IncidentsService } from '../../../incidents/incidents.service.js';
import type { UsersService } from '../../../users/users.service.js';
import type { SlackPeople } from '../people.js';
import { SlackApiError, type SlackApi, type SlackMessageRef } from '../slack.api.js';
import type { SlackConnection } from '../slack.connection.js';
import type { SlackStore } from '../slack.store.js';
import '../slack.tables.js';

// What workflow steps do in Slack (WorkflowSlackPort, src/workflows/ports.ts): post to the incident's channel, a
// channel or people's DMs, and invite people or a user group's members to the incident's channel.
//
// Done once per idempotency key: each post is recorded in `slack_workflow_posts` ('sending') before Slack is
// called and completed ('done', with Slack's ts) after, and the message carries the key in Slack's message
// metadata. A retry finds 'done' and returns the recorded message; a retry that finds 'sending' (the last attempt
// stopped between Slack's answer and the record, or Slack never answered) looks for the key in the channel's
// recent history (conversations.history with include_all_metadata) before posting again. What remains: if that
// look-up cannot be made (the history scope missing, e.g. im:history for DMs on an install made before it was
// asked for) the message is posted again, at least once rather than never; and a message someone deleted in
// between is posted again. Attempts of one step never overlap (the engine claims the step's row before acting), so
// two attempts racing for the same record is not a case handled here.

/** Slack's message metadata event type marking Firebreak's workflow posts. */
export const WORKFLOW_POST_EVENT = 'firebreak_workflow_step';

/** How long after a declaration the incident's channel may still be on its way (channel jobs retry meanwhile). */
const CHANNEL_GRACE_MS = 10 * 60_000;

const RETRYABLE = new Set(['ratelimited', 'request_failed', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'team_added_to_org']);

const HINTS: Record<string, string> = {
  channel_not_found: 'the channel does not exist, or it is private and the Firebreak app is not in it',
  not_in_channel: 'the Firebreak app is not in the channel (private channels need it invited)',
  is_archived: 'the channel is archived',
  missing_scope: 'the Slack app lacks a permission; reinstall it from the manifest',
  no_such_subteam: 'no Slack user group has this id',
  msg_too_long: 'the message is too long for Slack',
  ratelimited: 'Slack is rate limiting Firebreak; the step will be retried',
  request_failed: 'Slack could not be reached; the step will be retried',
  restricted_action: 'a workspace setting forbids it',
};

/** A Slack refusal as a step error: Slack's own code, kept; retryable only for rate limits and Slack being down. */
export function stepErrorFrom(err: unknown, what: string): StepUpstreamError {
  if (err instanceof StepUpstreamError) return err;
  if (err instanceof SlackApiError) {
    const hint = HINTS[err.code] ?? (typeof err.data.needed === 'string' ? `needs the ${err.data.needed} scope` : null);
    return new StepUpstreamError('slack', `Slack refused to ${what}: ${err.code}${hint ? ` (${hint})` : ''}`, err.code, null, RETRYABLE.has(err.code) || /^http_5\d\d$/.test(err.code));
  }
  return new StepUpstreamError('slack', (err as Error)?.message ?? String(err), null, null, false);
}

export interface WorkflowSlackPortDeps {
  db: Db;
  connection: SlackConnection;
  people: SlackPeople;
  store: SlackStore;
  users: UsersService;
  incidents: Pick<IncidentsService, 'getIncident'>;
  logger: Logger;
}

type Row = { channel_id: string | null; ts: string | null; status: string; result: string | null; created_at: string };

export function createWorkflowSlackPort(deps: WorkflowSlackPortDeps): WorkflowSlackPort {
  const { db, connection, people, store, users, logger } = deps;

  const requireApi = async (): Promise<SlackApi> => {
    const api = await connection.api();
    if (!api) throw new StepUpstreamError('slack', 'Slack is not connected to Firebreak: connect it on Settings → Integrations.', 'not_connected', null, false);
    return api;
  };

  const record = async (key: string, target: string): Promise<Row | null> =>
    (await db.selectFrom('slack_workflow_posts').select(['channel_id', 'ts', 'status', 'result', 'created_at']).where('idempotency_key', '=', key).where('target', '=', target).executeTakeFirst()) ?? null;

  const begin = async (key: string, target: string, kind: string, channelId: string | null): Promise<void> => {
    const now = nowIso();
    await db
      .insertInto('slack_workflow_posts')
      .values({ idempotency_key: key, target, kind, channel_id: channelId, ts: null, status: 'sending', result: null, created_at: now, updated_at: now })
      .onConflict((oc) => oc.columns(['idempotency_key', 'target']).doNothing())
      .execute();
  };

  const finish = async (key: string, target: string, kind: string, done: { channelId: string | null; ts: string | null; result?: unknown }): Promise<void> => {
    const now = nowIso();
    const values = { channel_id: done.channelId, ts: done.ts, status: 'done', result: done.result === undefined ? null : JSON.stringify(done.result), updated_at: now };
    await db
      .insertInto('slack_workflow_posts')
      .values({ idempotency_key: key, target, kind, created_at: now, ...values })
      .onConflict((oc) => oc.columns(['idempotency_key', 'target']).doUpdateSet(values))
      .execute();
  };

  /** The incident's channel, or a step error saying why there is none (retryable while it may still be created). */
  const incidentChannelOrThrow = async (incidentId: string): Promise<string> => {
    const row = await store.byIncident(incidentId);
    if (row?.channel_id) return row.channel_id;
    const incident = await deps.incidents.getIncident(incidentId).catch(() => null);
    const young = incident ? Date.now() - Date.parse(incident.createdAt) < CHANNEL_GRACE_MS : false;
    const name = incident?.reference ?? 'The incident';
    if (young) return Promise.reject(new StepUpstreamError('slack', `${name} has no Slack channel yet (it is being created); the step will be retried.`, 'no_incident_channel', null, true));
    return Promise.reject(new StepUpstreamError('slack', `${name} has no Slack channel (it was declared while Slack was not connected, or its channel could not be created).`, 'no_incident_channel', null, false));
  };

  /** Posts once per (key, target); see the comment at the top for what a retry does. */
  const postOnce = async (api: SlackApi, key: string, target: string, channel: () => Promise<string>, text: string): Promise<SlackMessageRef> => {
    const prior = await record(key, target);
    if (prior?.status === 'done' && prior.channel_id && prior.ts) return { channel: prior.channel_id, ts: prior.ts };
    const channelId = prior?.channel_id ?? (await channel());
    if (prior) {
      // An earlier attempt began this post: Slack may have it already.
      try {
        const since = Math.floor(Date.parse(prior.created_at) / 1000) - 60;
        const found = await api.findByMetadata(channelId, since, WORKFLOW_POST_EVENT, 'idempotency_key', key);
        if (found) {
          await finish(key, target, 'post', { channelId: found.channel, ts: found.ts });
          return found;
        }
      } catch (err) {
        const e = stepErrorFrom(err, 'read the channel history');
        if (e.retryable) throw e;
        logger.warn({ err, target }, 'could not check whether an interrupted workflow post reached Slack; posting it again');
      }
    } else {
      await begin(key, target, 'post', channelId);
    }
    let ref: SlackMessageRef;
    try {
      ref = await api.postMessage(channelId, { text, metadata: { event_type: WORKFLOW_POST_EVENT, event_payload: { idempotency_key: key } } });
    } catch (err) {
      throw stepErrorFrom(err, 'post the message');
    }
    await finish(key, target, 'post', { channelId: ref.channel || channelId, ts: ref.ts });
    return { channel: ref.channel || channelId, ts: ref.ts };
  };

  /** Firebreak users → Slack ids, all or a step error naming who has none (nothing is sent then). */
  const slackIdsOf = async (userIds: string[]): Promise<{ slackId: string; name: string }[]> => {
    const out: { slackId: string; name: string }[] = [];
    const missing: string[] = [];
    for (const id of [...new Set(userIds)]) {
      const user = await users.get(id).catch(() => null);
      if (!user) {
        missing.push(`a person Firebreak does not know (${id})`);
        continue;
      }
      const slackId = await people.slackIdFor(id).catch((err: unknown) => Promise.reject(stepErrorFrom(err, 'look up a person by email')));
      if (slackId) out.push({ slackId, name: user.name });
      else missing.push(`${user.name} (no Slack account with ${user.email})`);
    }
    if (missing.length) throw new StepUpstreamError('slack', `Cannot find in Slack: ${missing.join(', ')}.`, 'users_not_found', null, false);
    return out;
  };

  const destinationTargets = async (incidentId: string, d: SlackPostDestination): Promise<{ target: string; channel: () => Promise<string> }[]> => {
    if (d.kind === 'incident_channel') return [{ target: 'incident', channel: () => incidentChannelOrThrow(incidentId) }];
    if (d.kind === 'channel') return [{ target: `channel:${d.channelId}`, channel: async () => d.channelId }];
    if (d.userIds.length === 0) throw new StepUpstreamError('slack', 'Nobody to send the direct message to.', 'users_not_found', null, false);
    const people = await slackIdsOf(d.userIds);
    return people.map((p) => ({
      target: `dm:${p.slackId}`,
      channel: async () => {
        const api = await requireApi();
        return api.openDm(p.slackId).catch((err: unknown) => Promise.reject(stepErrorFrom(err, `open a direct message with ${p.name}`)));
      },
    }));
  };

  const nameOfSlackUser = async (api: SlackApi, slackId: string): Promise<string> => {
    const known = await users.findBySlackId(slackId);
    if (known) return known.name;
    try {
      const info = await api.userInfo(slackId);
      return info.realName || info.name || slackId;
    } catch {
      return slackId;
    }
  };

  return {
    async connected() {
      return (await connection.credentials()) !== null;
    },

    async channelName(channelId) {
      const row = await store.byChannel(channelId);
      if (row?.channel_name) return `#${row.channel_name}`;
      const api = await connection.api();
      if (!api) return null;
      try {
        return await api.channelName(channelId);
      } catch (err) {
        logger.warn({ err, channelId }, 'could not read a Slack channel name');
        return null;
      }
    },

    async incidentChannel(incidentId) {
      const row = await store.byIncident(incidentId);
      return row?.channel_id ? { id: row.channel_id, name: row.channel_name ? `#${row.channel_name}` : null } : null;
    },

    async post({ incidentId, destination, text, idempotencyKey }) {
      const api = await requireApi();
      const targets = await destinationTargets(incidentId, destination);
      const posted: SlackMessageRef[] = [];
      for (const t of targets) posted.push(await postOnce(api, idempotencyKey, t.target, t.channel, text));
      return { posted };
    },

    async invite({ incidentId, userIds, usergroupId, idempotencyKey }) {
      const prior = await record(idempotencyKey, 'invite');
      if (prior?.status === 'done' && prior.result) return JSON.parse(prior.result) as { invited: string[]; skipped: { who: string; reason: string }[] };
      const api = await requireApi();
      const channelId = await incidentChannelOrThrow(incidentId);
      const skipped: { who: string; reason: string }[] = [];
      const wanted = new Map<string, string>(); // Slack id → name
      for (const id of [...new Set(userIds)]) {
        const user = await users.get(id).catch(() => null);
        if (!user) {
          skipped.push({ who: id, reason: 'not a Firebreak user' });
          continue;
        }
        const slackId = await people.slackIdFor(id).catch((err: unknown) => Promise.reject(stepErrorFrom(err, 'look up a person by email')));
        if (slackId) wanted.set(slackId, user.name);
        else skipped.push({ who: user.name, reason: `no Slack account with ${user.email}` });
      }
      if (usergroupId) {
        let members: string[];
        try {
          members = await api.usergroupMembers(usergroupId);
        } catch (err) {
          throw stepErrorFrom(err, `list the members of the user group ${usergroupId}`);
        }
        for (const m of members) if (!wanted.has(m)) wanted.set(m, await nameOfSlackUser(api, m));
      }
      let errors: { user: string; error: string }[] = [];
      if (wanted.size > 0) {
        try {
          // Slack takes at most 1000 people per conversations.invite.
          const ids = [...wanted.keys()];
          for (let i = 0; i < ids.length; i += 1000) errors.push(...(await api.inviteEach(channelId, ids.slice(i, i + 1000))));
        } catch (err) {
          throw stepErrorFrom(err, 'invite people to the incident channel');
        }
      }
      const failed = new Map(errors.map((e) => [e.user, e.error]));
      const invited: string[] = [];
      for (const [slackId, name] of wanted) {
        const error = failed.get(slackId);
        if (!error) invited.push(name);
        else skipped.push({ who: name, reason: error === 'already_in_channel' ? 'already in the channel' : error === 'cant_invite_self' ? 'the Firebreak app itself' : `Slack: ${error}` });
      }
      const result = { invited, skipped };
      await finish(idempotencyKey, 'invite', 'invite', { channelId, ts: null, result });
      return result;
    },
  };
}
