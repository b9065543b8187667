import { ErrorCode, WebClient } from '@slack/web-api';
import type { Logger } from '../../platform/logger.js';

// The Web API as Firebreak uses it: one private `call` turns every failure into a typed SlackApiError (Slack's
// own error code, or `ratelimited` / `request_failed`), waits out 429s for as long as Slack's Retry-After says
// (within a bound), and joins a public channel and tries again when Slack answers `not_in_channel`.

export class SlackApiError extends Error {
  constructor(
    readonly method: string,
    /** Slack's error code (`channel_not_found`, `is_archived`, `name_taken`...), `ratelimited` or `request_failed`. */
    readonly code: string,
    readonly data: Record<string, unknown> = {},
  ) {
    super(`Slack ${method} failed: ${code}${typeof data.needed === 'string' ? ` (needs scope ${data.needed})` : ''}`);
    this.name = 'SlackApiError';
  }

  /** Retrying the same call later cannot succeed: a person or an admin has to act. */
  get permanent(): boolean {
    return PERMANENT.has(this.code) || this.code.startsWith('invalid_name');
  }
}

export class SlackRateLimitedError extends SlackApiError {
  constructor(
    method: string,
    readonly retryAfterSec: number,
  ) {
    super(method, 'ratelimited', { retryAfter: retryAfterSec });
  }
}

const PERMANENT = new Set([
  'channel_not_found',
  'is_archived',
  'not_authed',
  'invalid_auth',
  'account_inactive',
  'token_revoked',
  'missing_scope',
  'user_not_found',
  'users_not_found',
  'msg_too_long',
  'no_text',
  'invalid_blocks',
  'cant_invite_self',
  'method_not_supported_for_channel_type',
  'restricted_action',
  'invalid_response_url',
  'expired_url',
  'not_allowed_token_type',
]);

export interface SlackApiOptions {
  token: string;
  apiUrl?: string | null;
  logger: Logger;
  /** Longest Retry-After waited inline; longer ones throw SlackRateLimitedError so a job retries later. */
  maxRateLimitWaitSec?: number;
  maxRateLimitRetries?: number;
  timeoutMs?: number;
}

type Args = Record<string, unknown>;
export interface SlackMessageRef {
  channel: string;
  ts: string;
}
export interface SlackUserInfo {
  id: string;
  name: string;
  realName: string;
  email: string | null;
  isBot: boolean;
  deleted: boolean;
  /** The person's time zone as Slack knows it (`America/Los_Angeles`), if any. */
  tz: string | null;
}
export interface SlackIdentity {
  teamId: string;
  team: string;
  url: string;
  botUserId: string;
  botId: string;
  botName: string;
}

export class SlackApi {
  private readonly client: WebClient;

  constructor(private readonly opts: SlackApiOptions) {
    this.client = new WebClient(opts.token, {
      ...(opts.apiUrl ? { slackApiUrl: opts.apiUrl } : {}),
      // Our own loop below handles 429s (respecting Retry-After); other failures surface at once and the
      // job that made the call decides whether to retry.
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: opts.timeoutMs ?? 10_000,
      logLevel: undefined,
      logger: quietLogger,
    });
  }

  private async call<T = Record<string, any>>(method: string, args: Args = {}): Promise<T> {
    const maxWait = this.opts.maxRateLimitWaitSec ?? 30;
    const maxRetries = this.opts.maxRateLimitRetries ?? 5;
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.client.apiCall(method, args)) as T;
      } catch (err) {
        const e = err as { code?: string; data?: Record<string, unknown>; retryAfter?: number; message?: string };
        if (e.code === ErrorCode.RateLimitedError) {
          const retryAfter = Math.max(0, e.retryAfter ?? 1);
          if (attempt < maxRetries && retryAfter <= maxWait) {
            this.opts.logger.warn({ method, retryAfter, attempt: attempt + 1 }, 'Slack rate limited the call; waiting Retry-After before trying again');
            await new Promise((r) => setTimeout(r, retryAfter * 1000));
            continue;
          }
          throw new SlackRateLimitedError(method, retryAfter);
        }
        if (e.code === ErrorCode.PlatformError) {
          const data = e.data ?? {};
          throw new SlackApiError(method, String(data.error ?? 'unknown_error'), data);
        }
        throw new SlackApiError(method, 'request_failed', { message: e.message ?? String(err) });
      }
    }
  }

  /** Runs a call that needs the bot in a public channel; on `not_in_channel` the bot joins and tries once more. */
  private async inChannel<T>(channel: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof SlackApiError) || err.code !== 'not_in_channel') throw err;
      await this.call('conversations.join', { channel });
      return run();
    }
  }

  async identity(): Promise<SlackIdentity> {
    const r = await this.call('auth.test');
    return { teamId: r.team_id, team: r.team, url: r.url, botUserId: r.user_id, botId: r.bot_id, botName: r.user };
  }

  async userInfo(user: string): Promise<SlackUserInfo> {
    const r = await this.call('users.info', { user });
    const u = r.user ?? {};
    return {
      id: u.id,
      name: u.name ?? '',
      realName: u.real_name || u.profile?.real_name || u.name || '',
      email: u.profile?.email ?? null,
      isBot: u.is_bot === true,
      deleted: u.deleted === true,
      tz: typeof u.tz === 'string' && u.tz ? u.tz : null,
    };
  }

  /** The Slack user with this email, or null (users.lookupByEmail; needs users:read.email). */
  async lookupByEmail(email: string): Promise<string | null> {
    try {
      const r = await this.call('users.lookupByEmail', { email });
      return r.user?.id ?? null;
    } catch (err) {
      if (err instanceof SlackApiError && err.code === 'users_not_found') return null;
      throw err;
    }
  }

  async setTopic(channel: string, topic: string): Promise<void> {
    await this.inChannel(channel, () => this.call('conversations.setTopic', { channel, topic }));
  }

  /** Archives a channel; one already archived is fine. */
  async archive(channel: string): Promise<void> {
    try {
      await this.inChannel(channel, () => this.call('conversations.archive', { channel }));
    } catch (err) {
      if (err instanceof SlackApiError && err.code === 'already_archived') return;
      throw err;
    }
  }

  /** One page of the workspace's public channels, not archived (conversations.list). */
  async listChannels(cursor?: string, limit = 200): Promise<{ channels: { id: string; name: string; isMember: boolean }[]; nextCursor: string | null }> {
    const r = await this.call('conversations.list', { types: 'public_channel', exclude_archived: true, limit, ...(cursor ? { cursor } : {}) });
    const channels = ((r.channels ?? []) as { id: string; name?: string; is_member?: boolean }[]).map((c) => ({ id: c.id, name: c.name ?? c.id, isMember: c.is_member === true }));
    return { channels, nextCursor: (r.response_metadata?.next_cursor as string | undefined) || null };
  }

  async createChannel(name: string): Promise<{ id: string; name: string }> {
    const r = await this.call('conversations.create', { name, is_private: false });
    return { id: r.channel.id, name: r.channel.name };
  }

  /** Invites people; those already in the channel are fine. */
  async invite(channel: string, users: string[]): Promise<void> {
    if (users.length === 0) return;
    try {
      await this.call('conversations.invite', { channel, users: users.join(','), force: true });
    } catch (err) {
      if (err instanceof SlackApiError && err.code === 'already_in_channel') return;
      throw err;
    }
  }

  /** `metadata` is Slack's message metadata (`{event_type, event_payload}`): read back with `findByMetadata`. */
  async postMessage(channel: string, msg: { text: string; blocks?: unknown[]; metadata?: { event_type: string; event_payload: Record<string, unknown> }; threadTs?: string }): Promise<SlackMessageRef> {
    const r = await this.inChannel(channel, () =>
      this.call('chat.postMessage', { channel, text: msg.text, ...(msg.blocks ? { blocks: msg.blocks } : {}), ...(msg.metadata ? { metadata: msg.metadata } : {}), ...(msg.threadTs ? { thread_ts: msg.threadTs } : {}), unfurl_links: false }),
    );
    return { channel: r.channel, ts: r.ts };
  }

  /**
   * The bot's own message in a channel since `oldest` (epoch seconds) whose metadata has this event type and
   * `event_payload[key] === value` (conversations.history with include_all_metadata), or null. Reads at most 5 pages of 200.
   */
  async findByMetadata(channel: string, oldest: number, eventType: string, key: string, value: string): Promise<SlackMessageRef | null> {
    let cursor: string | undefined;
    for (let page = 0; page < 5; page++) {
      const r = await this.call('conversations.history', { channel, oldest: oldest.toFixed(6), inclusive: true, limit: 200, include_all_metadata: true, ...(cursor ? { cursor } : {}) });
      for (const m of (r.messages ?? []) as { ts: string; bot_id?: string; metadata?: { event_type?: string; event_payload?: Record<string, unknown> } }[]) {
        if (m.bot_id && m.metadata?.event_type === eventType && m.metadata.event_payload?.[key] === value) return { channel, ts: m.ts };
      }
      cursor = (r.response_metadata?.next_cursor as string | undefined) || undefined;
      if (!r.has_more || !cursor) return null;
    }
    return null;
  }

  /** Like findByMetadata, among the replies in one thread (conversations.replies; at most 5 pages of 200). */
  async findReplyByMetadata(channel: string, threadTs: string, eventType: string, key: string, value: string): Promise<SlackMessageRef | null> {
    let cursor: string | undefined;
    for (let page = 0; page < 5; page++) {
      const r = await this.call('conversations.replies', { channel, ts: threadTs, limit: 200, include_all_metadata: true, ...(cursor ? { cursor } : {}) });
      for (const m of (r.messages ?? []) as { ts: string; bot_id?: string; metadata?: { event_type?: string; event_payload?: Record<string, unknown> } }[]) {
        if (m.ts !== threadTs && m.bot_id && m.metadata?.event_type === eventType && m.metadata.event_payload?.[key] === value) return { channel, ts: m.ts };
      }
      cursor = (r.response_metadata?.next_cursor as string | undefined) || undefined;
      if (!r.has_more || !cursor) return null;
    }
    return null;
  }

  /** The bot's DM channel with a person (conversations.open). */
  async openDm(user: string): Promise<string> {
    const r = await this.call('conversations.open', { users: user });
    return r.channel.id;
  }

  /** Joins a public channel (conversations.join; a member already is fine). */
  async join(channel: string): Promise<void> {
    await this.call('conversations.join', { channel });
  }

  /** Invites people one call for all, reporting who could not be added (`force`: the others still are). */
  async inviteEach(channel: string, users: string[]): Promise<{ user: string; error: string }[]> {
    if (users.length === 0) return [];
    try {
      const r = await this.inChannel(channel, () => this.call('conversations.invite', { channel, users: users.join(','), force: true }));
      return ((r.errors ?? []) as { user: string; error: string }[]).map((e) => ({ user: e.user, error: e.error }));
    } catch (err) {
      if (err instanceof SlackApiError && Array.isArray(err.data.errors)) return (err.data.errors as { user: string; error: string }[]).map((e) => ({ user: e.user, error: e.error }));
      throw err;
    }
  }

  /** Members of a user group (usergroups.users.list; needs usergroups:read). */
  async usergroupMembers(usergroup: string): Promise<string[]> {
    const r = await this.call('usergroups.users.list', { usergroup });
    return (r.users ?? []) as string[];
  }

  /** `#name` of a channel, or null when Slack does not show it to the bot. */
  async channelName(channel: string): Promise<string | null> {
    try {
      const r = await this.call('conversations.info', { channel });
      return r.channel?.name ? `#${r.channel.name}` : null;
    } catch (err) {
      if (err instanceof SlackApiError && err.code === 'channel_not_found') return null;
      throw err;
    }
  }

  async updateMessage(channel: string, ts: string, msg: { text: string; blocks?: unknown[] }): Promise<void> {
    await this.call('chat.update', { channel, ts, text: msg.text, ...(msg.blocks ? { blocks: msg.blocks } : {}) });
  }

  async postEphemeral(channel: string, user: string, text: string): Promise<void> {
    await this.call('chat.postEphemeral', { channel, user, text });
  }

  /** A direct message from the bot to a person. */
  async dm(user: string, text: string): Promise<SlackMessageRef> {
    const r = await this.call('conversations.open', { users: user });
    return this.postMessage(r.channel.id, { text });
  }

  async pin(channel: string, ts: string): Promise<void> {
    try {
      await this.inChannel(channel, () => this.call('pins.add', { channel, timestamp: ts }));
    } catch (err) {
      if (err instanceof SlackApiError && err.code === 'already_pinned') return;
      throw err;
    }
  }

  async permalink(channel: string, ts: string): Promise<string> {
    const r = await this.call('chat.getPermalink', { channel, message_ts: ts });
    return r.permalink;
  }

  /** One message by its ts (top-level or in a thread), or null. */
  async message(channel: string, ts: string): Promise<{ ts: string; user: string | null; botId: string | null; text: string } | null> {
    const r = await this.inChannel(channel, () => this.call('conversations.history', { channel, oldest: ts, latest: ts, inclusive: true, limit: 1 }));
    const m = (r.messages ?? []).find((x: any) => x.ts === ts);
    if (!m) return null;
    return { ts: m.ts, user: m.user ?? null, botId: m.bot_id ?? null, text: m.text ?? '' };
  }

  /** Posts to a response_url (only Slack's own hooks, or the configured API host, e.g. the emulator). */
  async respond(url: string, body: Record<string, unknown>): Promise<void> {
    const u = new URL(url);
    const allowed = u.protocol === 'https:' && (u.hostname === 'hooks.slack.com' || u.hostname.endsWith('.slack.com'));
    const sameAsApi = this.opts.apiUrl ? new URL(this.opts.apiUrl).origin === u.origin : false;
    if (!allowed && !sameAsApi) throw new SlackApiError('response_url', 'invalid_response_url', { host: u.host });
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000) });
    if (res.status === 404) throw new SlackApiError('response_url', 'expired_url');
    if (!res.ok) throw new SlackApiError('response_url', `http_${res.status}`);
  }

  async openView(triggerId: string, view: Record<string, unknown>): Promise<string> {
    const r = await this.call('views.open', { trigger_id: triggerId, view });
    return r.view.id;
  }

  /** Replaces an open view's content (`views.update`); with `hash`, Slack refuses (hash_conflict) when the view changed since. */
  async updateView(viewId: string, view: Record<string, unknown>, hash?: string): Promise<void> {
    await this.call('views.update', { view_id: viewId, view, ...(hash ? { hash } : {}) });
  }
}

const noop = () => {};
const quietLogger = { debug: noop, info: noop, warn: noop, error: noop, setLevel: noop, getLevel: () => 'error' as never, setName: noop };
