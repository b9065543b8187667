// The driver plays a person using Slack: it sends the app exactly what Slack would send (signed form posts,
// `payload=` interactions, Events API envelopes) and applies the app's answers to the workspace state.
import { randomBytes } from 'node:crypto';
import { ApiError, type WebApi } from './api.js';
import { slackSignature } from './signing.js';
import type { DriverResult } from './types.js';
export type { DriverResult } from './types.js';
import type { SocketModeHub } from './socket-mode.js';
import type { SlackChannel, SlackDeliveredEvent, SlackMessage, SlackResponseUrl, SlackUser, SlackView } from './types.js';
import { nowSec, type Workspace } from './workspace.js';

/** Thrown when a test asks the person to do something a person could not do in Slack's UI. */
export class SlackDriverError extends Error {
  override name = 'SlackDriverError';
}


/**
 * Short forms accepted in `submitView({ values })`, per element type (a full Slack value object with a `type`
 * key is also accepted and sent as is):
 * - plain_text_input / email_text_input / url_text_input / number_input: `'text'`
 * - static_select / radio_buttons: `'option value'` (must be one of the element's options)
 * - external_select: `'value'` or `{ value, text }`
 * - multi_static_select / checkboxes: `['value', ...]`; multi_external_select: `['v' | {value,text}, ...]`
 * - users_select: `'U123'`; multi_users_select: `['U1', 'U2']` (must be workspace users)
 * - conversations_select / channels_select: `'C123'`; multi_*: `['C1']`
 * - datepicker: `'2024-01-31'`; timepicker: `'13:45'`; datetimepicker: epoch seconds
 * - `null`: clear the input
 */
export type ShortValue = string | number | null | string[] | { value: string; text?: string } | ({ value: string; text?: string } | string)[];
export type SubmitValues = Record<string, Record<string, ShortValue | { type: string; [k: string]: unknown }>>;

export interface SlackDriver {
  slashCommand(p: { userId: string; channelId: string; command: string; text: string }): Promise<DriverResult & { triggerId: string; responseUrl: string }>;
  clickButton(p: { userId: string; channelId?: string; messageTs?: string; viewId?: string; actionId: string; blockId?: string; value?: string }): Promise<DriverResult & { triggerId: string; responseUrl?: string }>;
  /** Picks a value in a select menu / overflow / checkboxes / datepicker of a message or view (block_actions). `value` uses submitView's short forms. */
  selectOption(p: { userId: string; channelId?: string; messageTs?: string; viewId?: string; actionId: string; blockId?: string; value: ShortValue }): Promise<DriverResult & { triggerId: string; responseUrl?: string }>;
  messageShortcut(p: { userId: string; channelId: string; messageTs: string; callbackId: string }): Promise<DriverResult & { triggerId: string; responseUrl: string }>;
  globalShortcut(p: { userId: string; callbackId: string }): Promise<DriverResult & { triggerId: string }>;
  submitView(p: { userId: string; viewId: string; values?: SubmitValues }): Promise<DriverResult & { triggerId: string; view: SlackView }>;
  closeView(p: { userId: string; viewId: string }): Promise<DriverResult & { sent: boolean }>;
  optionsRequest(p: { userId: string; viewId: string; actionId: string; blockId: string; value: string }): Promise<DriverResult & { sent: boolean }>;
  pinMessage(p: { userId: string; channelId: string; ts: string }): Promise<DriverResult & { eventId: string; retries: DriverResult[] }>;
  react(p: { userId: string; channelId: string; ts: string; name: string }): Promise<DriverResult & { eventId: string; retries: DriverResult[] }>;
  postMessageAs(userId: string, channelId: string, text: string, opts?: { threadTs?: string }): SlackMessage;
  joinChannel(userId: string, channelId: string): Promise<DriverResult | undefined>;
  /** Sends an event; when `eventRetryDelaysMs` is set, failed/slow deliveries are retried like Slack does (results in `retries`). */
  sendEvent(event: Record<string, unknown>): Promise<DriverResult & { eventId: string; retries: DriverResult[] }>;
  /** E.g. [0, 100, 100]: up to 3 automatic retries with those delays (Slack: immediately, 1 min, 5 min). Default [] = none. */
  eventRetryDelaysMs: number[];
  redeliverEvent(eventId: string, opts?: { retryNum?: number; retryReason?: string }): Promise<DriverResult>;
  urlVerification(challenge?: string): Promise<DriverResult>;
  raw(p: { body: string; contentType: string; timestamp?: number; signature?: string; headers?: Record<string, string> }): Promise<DriverResult>;
  replayLast(): Promise<DriverResult>;
  lastRequest(): { url: string; body: string; headers: Record<string, string> } | undefined;
  /** Waits for event deliveries started by postMessageAs. */
  flush(): Promise<void>;
}

interface DriverCtx {
  appUrl(): string | undefined;
  baseUrl(): string;
  ackTimeoutMs(): number;
  /** Socket Mode: when enabled, requests go out as envelopes on the app's WebSocket instead of HTTP posts. */
  socketMode?(): SocketModeHub;
}

const actionTs = () => (Date.now() / 1000).toFixed(6);

export class Driver implements SlackDriver {
  private last: { url: string; body: string; headers: Record<string, string> } | undefined;
  private pending = new Set<Promise<unknown>>();

  constructor(
    private readonly ws: Workspace,
    private readonly api: WebApi,
    private readonly ctx: DriverCtx,
  ) {}

  reset(): void {
    this.last = undefined;
    this.eventRetryDelaysMs = [];
  }

  // ---------- plumbing ----------
  private person(userId: string): SlackUser {
    const u = this.ws.userById(userId);
    if (!u) throw new SlackDriverError(`no such user ${userId}`);
    if (u.isBot || u.id === 'USLACKBOT') throw new SlackDriverError(`${userId} is a bot, not a person`);
    return u;
  }
  private chan(channelId: string): SlackChannel {
    const c = this.ws.state.channels.get(channelId);
    if (!c) throw new SlackDriverError(`no such channel ${channelId}`);
    return c;
  }

  issueTrigger(userId: string, origin: string): string {
    const id = `${Date.now()}${Math.floor(Math.random() * 1000)}.${this.ws.cfg.teamId.replace(/\D/g, '') || '1'}${Math.floor(Math.random() * 1e6)}.${randomBytes(16).toString('hex')}`;
    this.ws.state.triggers.set(id, { id, userId, issuedAt: Date.now(), used: false, origin });
    return id;
  }

  private newResponseUrl(r: Omit<SlackResponseUrl, 'id' | 'url' | 'createdAt' | 'uses'>): SlackResponseUrl {
    const id = randomBytes(12).toString('hex');
    const url = `${this.ctx.baseUrl()}/hooks/respond/${this.ws.cfg.teamId}/${id}`;
    const rec: SlackResponseUrl = { ...r, id, url, createdAt: Date.now(), uses: 0 };
    this.ws.state.responseUrls.set(id, rec);
    return rec;
  }

  private userObj(u: SlackUser) {
    return { id: u.id, username: u.name, name: u.name, team_id: this.ws.cfg.teamId };
  }
  private teamObj() {
    return { id: this.ws.cfg.teamId, domain: this.ws.cfg.teamDomain };
  }

  private async post(body: string, contentType: string, opts: { timestamp?: number; signature?: string; headers?: Record<string, string> } = {}): Promise<DriverResult> {
    const url = this.ctx.appUrl();
    if (!url) throw new SlackDriverError('no app URL set: pass appUrl to startSlackEmulator or call setAppUrl()');
    const ts = opts.timestamp ?? nowSec();
    const headers: Record<string, string> = {
      'content-type': contentType,
      'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
      accept: 'application/json,*/*',
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': opts.signature ?? slackSignature(this.ws.cfg.signingSecret, ts, body),
      ...(opts.headers ?? {}),
    };
    this.last = { url, body, headers };
    const started = performance.now();
    const ac = new AbortController();
    const limit = this.ctx.ackTimeoutMs();
    const timer = setTimeout(() => ac.abort(), limit);
    try {
      const res = await fetch(url, { method: 'POST', headers, body, signal: ac.signal });
      const text = await res.text();
      const ackMs = performance.now() - started;
      let parsed: any = undefined;
      if (text.length) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text;
        }
      }
      return { status: res.status, body: parsed, ackMs, timedOut: ackMs > limit };
    } catch (e) {
      const ackMs = performance.now() - started;
      if (ac.signal.aborted) return { status: 0, body: undefined, ackMs, timedOut: true, error: 'operation_timeout' };
      return { status: 0, body: undefined, ackMs, timedOut: false, error: e instanceof Error ? `${e.message}${e.cause ? `: ${String((e.cause as Error).message ?? e.cause)}` : ''}` : String(e) };
    } finally {
      clearTimeout(timer);
    }
  }

  /** The Socket Mode hub when the app receives over Socket Mode (then nothing is POSTed to the app URL). */
  private socket(): SocketModeHub | undefined {
    const hub = this.ctx.socketMode?.();
    return hub?.enabled ? hub : undefined;
  }
  /** Whether anything can reach the app at all (an app URL, or Socket Mode). */
  private canDeliver(): boolean {
    return !!this.ctx.appUrl() || !!this.socket();
  }

  // In Socket Mode the payload is the JSON form of what the HTTP request carried: slash command fields as an
  // object of strings, the interaction payload object, the Events API event callback.
  private postForm(fields: Record<string, string>): Promise<DriverResult> {
    const hub = this.socket();
    if (hub) return hub.deliver('slash_commands', { ...fields });
    return this.post(new URLSearchParams(fields).toString(), 'application/x-www-form-urlencoded');
  }
  private postPayload(payload: Record<string, any>): Promise<DriverResult> {
    const hub = this.socket();
    if (hub) return hub.deliver('interactive', payload);
    return this.post(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), 'application/x-www-form-urlencoded');
  }

  // ---------- message answers (slash command ack body / response_url posts) ----------
  /** Applies a message answer the way Slack shows it: ephemeral by default, in channel, replacing or deleting the source. */
  applyMessageResponse(r: Pick<SlackResponseUrl, 'channelId' | 'userId' | 'origin' | 'messageTs' | 'isEphemeral' | 'command'>, body: any, source: 'response_url' | 'slash_command_ack'): void {
    if (typeof body === 'string') body = { text: body };
    if (!body || typeof body !== 'object') return;
    const truthy = (v: unknown) => v === true || v === 'true';
    const blocks = Array.isArray(body.blocks) ? body.blocks : undefined;
    const attachments = Array.isArray(body.attachments) ? body.attachments : undefined;
    const text = typeof body.text === 'string' ? body.text : '';
    if (r.messageTs && truthy(body.delete_original)) {
      if (r.isEphemeral) {
        const e = this.ws.state.ephemerals.find((x) => x.ts === r.messageTs && x.channel === r.channelId);
        if (e) e.deleted = true;
      } else {
        this.ws.state.messages = this.ws.state.messages.filter((m) => !(m.channel === r.channelId && m.ts === r.messageTs));
      }
      return;
    }
    if (r.messageTs && truthy(body.replace_original)) {
      if (r.isEphemeral) {
        const e = this.ws.state.ephemerals.find((x) => x.ts === r.messageTs && x.channel === r.channelId);
        if (e) {
          e.text = text;
          e.blocks = blocks;
          e.attachments = attachments;
        }
      } else {
        const m = this.ws.findMessage(r.channelId, r.messageTs);
        if (m) {
          m.text = text;
          m.blocks = blocks;
          m.attachments = attachments;
          m.edited = { user: this.ws.cfg.botUserId, ts: this.ws.newTs() };
        }
      }
      return;
    }
    if (!text && !blocks && !attachments) return;
    const threadTs = typeof body.thread_ts === 'string' ? body.thread_ts : undefined;
    if (body.response_type === 'in_channel') {
      this.ws.addMessage({
        channel: r.channelId,
        user: this.ws.cfg.botUserId,
        botId: this.ws.cfg.botId,
        text,
        ...(blocks ? { blocks } : {}),
        ...(attachments ? { attachments } : {}),
        ...(threadTs ? { threadTs } : {}),
        source,
        ...(r.command ? { viaCommand: r.command } : {}),
      });
    } else {
      this.ws.addEphemeral({
        channel: r.channelId,
        user: r.userId,
        text,
        ...(blocks ? { blocks } : {}),
        ...(attachments ? { attachments } : {}),
        ...(threadTs ? { threadTs } : {}),
        source,
      });
    }
  }

  /** Serves a POST to a response_url. Returns [status, body]. */
  handleResponseUrl(id: string, rawBody: string): [number, unknown] {
    const r = this.ws.state.responseUrls.get(id);
    if (!r) return [404, 'no_active_hooks'];
    if (Date.now() - r.createdAt > 30 * 60_000) return [404, 'expired_url'];
    if (r.uses >= 5) return [404, 'used_url'];
    let body: any;
    try {
      body = JSON.parse(rawBody);
    } catch {
      // Slack also accepts form posts with payload=
      const p = new URLSearchParams(rawBody).get('payload');
      try {
        body = p ? JSON.parse(p) : undefined;
      } catch {
        body = undefined;
      }
    }
    if (!body || typeof body !== 'object') return [400, 'invalid_payload'];
    const hasContent = typeof body.text === 'string' || Array.isArray(body.blocks) || Array.isArray(body.attachments);
    if (!hasContent && !(body.delete_original === true || body.delete_original === 'true')) return [400, 'no_text'];
    r.uses += 1;
    this.applyMessageResponse(r, body, 'response_url');
    return [200, { ok: true }];
  }

  // ---------- slash commands ----------
  async slashCommand(p: { userId: string; channelId: string; command: string; text: string }) {
    const u = this.person(p.userId);
    const ch = this.chan(p.channelId);
    if (ch.isArchived) throw new SlackDriverError(`#${ch.name} is archived: nobody can type in it`);
    if (!p.command.startsWith('/')) throw new SlackDriverError('a slash command starts with /');
    const triggerId = this.issueTrigger(u.id, `slash_command ${p.command}`);
    const ru = this.newResponseUrl({ channelId: ch.id, userId: u.id, origin: 'slash_command', command: p.command });
    const fields: Record<string, string> = {
      token: this.ws.cfg.verificationToken,
      team_id: this.ws.cfg.teamId,
      team_domain: this.ws.cfg.teamDomain,
      channel_id: ch.id,
      channel_name: ch.isIm ? 'directmessage' : ch.isPrivate ? 'privategroup' : ch.name,
      user_id: u.id,
      user_name: u.name,
      command: p.command,
      text: p.text,
      api_app_id: this.ws.cfg.appId,
      is_enterprise_install: 'false',
      response_url: ru.url,
      trigger_id: triggerId,
    };
    const res = await this.postForm(fields);
    if (res.status === 200 && !res.timedOut && res.body !== undefined) {
      this.applyMessageResponse({ ...ru }, res.body, 'slash_command_ack');
    }
    return { ...res, triggerId, responseUrl: ru.url };
  }

  // ---------- buttons ----------
  async clickButton(p: { userId: string; channelId?: string; messageTs?: string; viewId?: string; actionId: string; blockId?: string; value?: string }) {
    return this.blockAction(p, (el) => el.type === 'button' && (p.value === undefined || p.value === el.value), 'button', (block, el) => ({
      action_id: el.action_id,
      block_id: block.block_id,
      text: el.text,
      ...(el.value !== undefined ? { value: el.value } : {}),
      ...(el.style !== undefined ? { style: el.style } : {}),
      type: 'button',
      action_ts: actionTs(),
    }));
  }

  async selectOption(p: { userId: string; channelId?: string; messageTs?: string; viewId?: string; actionId: string; blockId?: string; value: ShortValue }) {
    let chosen: Record<string, unknown> | undefined;
    return this.blockAction(
      p,
      (el) => el.type !== 'button' && el.type !== 'image',
      'select menu',
      (block, el) => {
        if (el.type === 'overflow') {
          const opt = (el.options ?? []).find((o: any) => o.value === p.value);
          if (!opt) throw new SlackDriverError(`${String(p.value)} is not in the overflow menu ${el.action_id}`);
          return { type: 'overflow', action_id: el.action_id, block_id: block.block_id, selected_option: opt, action_ts: actionTs() };
        }
        chosen = this.valueFor(el, p.value, `block ${block.block_id} / action ${el.action_id} (${el.type})`);
        const { type, ...rest } = chosen;
        return { type, action_id: el.action_id, block_id: block.block_id, ...rest, ...(el.placeholder ? { placeholder: el.placeholder } : {}), action_ts: actionTs() };
      },
      (block, el) => (chosen && el.type !== 'overflow' ? { [block.block_id]: { [el.action_id]: chosen } } : {}),
    );
  }

  /** Finds an interactive element the person can see and sends block_actions for it. */
  private async blockAction(
    p: { userId: string; channelId?: string; messageTs?: string; viewId?: string; actionId: string; blockId?: string },
    accept: (el: any) => boolean,
    what: string,
    action: (block: any, el: any) => Record<string, unknown>,
    stateOf: (block: any, el: any) => Record<string, Record<string, unknown>> = () => ({}),
  ): Promise<DriverResult & { triggerId: string; responseUrl?: string }> {
    const u = this.person(p.userId);
    const find = (blocks: unknown[] | undefined): { block: any; el: any } | undefined => {
      for (const b of (blocks ?? []) as any[]) {
        if (p.blockId !== undefined && b?.block_id !== p.blockId) continue;
        for (const el of [...(Array.isArray(b?.elements) ? b.elements : []), b?.accessory, b?.element]) {
          if (el && el.action_id === p.actionId && accept(el)) return { block: b, el };
        }
      }
      return undefined;
    };
    const notFound = (where: string) => new SlackDriverError(`no ${what} ${p.actionId}${p.blockId ? ` in block ${p.blockId}` : ''} in ${where}`);

    if (p.viewId) {
      const view = this.ws.state.views.get(p.viewId);
      if (!view || view.userId !== u.id || (!view.isOpen && view.type === 'modal')) throw new SlackDriverError(`view ${p.viewId} is not on ${u.id}'s screen`);
      const hit = find(view.blocks);
      if (!hit) throw notFound(`view ${view.id}`);
      const act = action(hit.block, hit.el);
      // What the person picked becomes part of the view's state, as in Slack.
      for (const [b, acts] of Object.entries(stateOf(hit.block, hit.el))) view.stateValues[b] = { ...(view.stateValues[b] ?? {}), ...acts };
      const triggerId = this.issueTrigger(u.id, `block_actions ${p.actionId}`);
      const payload = {
        type: 'block_actions',
        user: this.userObj(u),
        api_app_id: this.ws.cfg.appId,
        token: this.ws.cfg.verificationToken,
        container: { type: 'view', view_id: view.id },
        trigger_id: triggerId,
        team: this.teamObj(),
        enterprise: null,
        is_enterprise_install: false,
        view: this.ws.viewJson(view),
        actions: [act],
      };
      const res = await this.postPayload(payload);
      return { ...res, triggerId };
    }

    if (!p.channelId) throw new SlackDriverError(`${what}: needs a viewId or a channelId`);
    const ch = this.chan(p.channelId);
    // Candidates: the channel's messages and the ephemerals this person sees there, newest first.
    type Cand = { ts: string; blocks?: unknown[]; ephemeral: boolean; msg?: SlackMessage };
    const cands: Cand[] = [
      ...this.ws.messagesIn(ch.id).map((m) => ({ ts: m.ts, blocks: m.blocks, ephemeral: false, msg: m })),
      ...this.ws.state.ephemerals.filter((e) => e.channel === ch.id && e.user === u.id && !e.deleted).map((e) => ({ ts: e.ts, blocks: e.blocks, ephemeral: true })),
    ]
      .filter((c) => p.messageTs === undefined || c.ts === p.messageTs)
      .sort((a, b) => Number(b.ts) - Number(a.ts));
    if (p.messageTs !== undefined && cands.length === 0) throw new SlackDriverError(`no message ${p.messageTs} in ${ch.id}`);
    let hit: { c: Cand; block: any; el: any } | undefined;
    for (const c of cands) {
      const h = find(c.blocks);
      if (h) {
        hit = { c, ...h };
        break;
      }
    }
    if (!hit) throw notFound(p.messageTs ? `message ${p.messageTs}` : `channel ${ch.id}`);
    const act = action(hit.block, hit.el);
    const triggerId = this.issueTrigger(u.id, `block_actions ${p.actionId}`);
    const ru = this.newResponseUrl({ channelId: ch.id, userId: u.id, origin: 'block_actions', messageTs: hit.c.ts, isEphemeral: hit.c.ephemeral });
    const payload: Record<string, unknown> = {
      type: 'block_actions',
      user: this.userObj(u),
      api_app_id: this.ws.cfg.appId,
      token: this.ws.cfg.verificationToken,
      container: { type: 'message', message_ts: hit.c.ts, channel_id: ch.id, is_ephemeral: hit.c.ephemeral },
      trigger_id: triggerId,
      team: this.teamObj(),
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: ch.id, name: ch.isIm ? 'directmessage' : ch.name },
      ...(hit.c.msg ? { message: this.ws.messageJson(hit.c.msg) } : {}),
      state: { values: stateOf(hit.block, hit.el) },
      response_url: ru.url,
      actions: [act],
    };
    const res = await this.postPayload(payload);
    return { ...res, triggerId, responseUrl: ru.url };
  }

  // ---------- shortcuts ----------
  /** "More actions" on a message → the app's message shortcut (`message_action`). */
  async messageShortcut(p: { userId: string; channelId: string; messageTs: string; callbackId: string }) {
    const u = this.person(p.userId);
    const ch = this.chan(p.channelId);
    const msg = this.ws.findMessage(ch.id, p.messageTs);
    if (!msg) throw new SlackDriverError(`no message ${p.messageTs} in ${ch.id}`);
    const triggerId = this.issueTrigger(u.id, `message_action ${p.callbackId}`);
    // Its response_url posts into the channel; it cannot replace the (possibly someone else's) message.
    const ru = this.newResponseUrl({ channelId: ch.id, userId: u.id, origin: 'message_action' });
    const payload = {
      type: 'message_action',
      token: this.ws.cfg.verificationToken,
      action_ts: actionTs(),
      team: this.teamObj(),
      user: { id: u.id, name: u.name, team_id: this.ws.cfg.teamId },
      channel: { id: ch.id, name: ch.isIm ? 'directmessage' : ch.isPrivate ? 'privategroup' : ch.name },
      is_enterprise_install: false,
      enterprise: null,
      callback_id: p.callbackId,
      trigger_id: triggerId,
      response_url: ru.url,
      message_ts: msg.ts,
      message: this.ws.messageJson(msg),
    };
    const res = await this.postPayload(payload);
    return { ...res, triggerId, responseUrl: ru.url };
  }

  /** A global shortcut from the composer / search (`shortcut`). */
  async globalShortcut(p: { userId: string; callbackId: string }) {
    const u = this.person(p.userId);
    const triggerId = this.issueTrigger(u.id, `shortcut ${p.callbackId}`);
    const payload = {
      type: 'shortcut',
      token: this.ws.cfg.verificationToken,
      action_ts: actionTs(),
      team: this.teamObj(),
      user: this.userObj(u),
      is_enterprise_install: false,
      enterprise: null,
      callback_id: p.callbackId,
      trigger_id: triggerId,
    };
    const res = await this.postPayload(payload);
    return { ...res, triggerId };
  }

  // ---------- modals ----------
  private topView(userId: string): SlackView | undefined {
    const stack = this.ws.state.viewStacks.get(userId) ?? [];
    const open = stack.map((id) => this.ws.state.views.get(id)).filter((v): v is SlackView => !!v && v.isOpen);
    return open[open.length - 1];
  }
  private openModal(userId: string, viewId: string): SlackView {
    const view = this.ws.state.views.get(viewId);
    if (!view || view.userId !== userId || !view.isOpen || view.type !== 'modal') throw new SlackDriverError(`view ${viewId} is not open for ${userId}`);
    if (this.topView(userId)?.id !== viewId) throw new SlackDriverError(`view ${viewId} is not the top of ${userId}'s modal stack`);
    return view;
  }
  private closeStack(userId: string, how: 'top' | 'all', closedBy: SlackView['closedBy']): void {
    const stack = (this.ws.state.viewStacks.get(userId) ?? []).filter((id) => this.ws.state.views.get(id)?.isOpen);
    const toClose = how === 'all' ? stack : stack.slice(-1);
    for (const id of toClose) {
      const v = this.ws.state.views.get(id)!;
      v.isOpen = false;
      v.closedBy = closedBy;
    }
    this.ws.state.viewStacks.set(userId, how === 'all' ? [] : stack.slice(0, -1));
  }

  /** Value object for an element from a short form (see ShortValue), or its empty/initial value. */
  private valueFor(el: any, short: unknown, where: string): Record<string, unknown> {
    const type: string = el.type;
    const findOpt = (v: string) => {
      const opts: any[] = [...(el.options ?? []), ...(el.option_groups ?? []).flatMap((g: any) => g.options ?? [])];
      const o = opts.find((x) => x.value === v);
      if (!o) throw new SlackDriverError(`${where}: ${JSON.stringify(v)} is not one of the options (${opts.map((x) => x.value).join(', ')})`);
      return o;
    };
    const extOpt = (v: unknown) => {
      const o = typeof v === 'string' ? { value: v, text: v } : (v as { value: string; text?: string });
      return { text: { type: 'plain_text', text: o.text ?? o.value, emoji: true }, value: o.value };
    };
    const arr = (v: unknown): unknown[] => (v === null || v === undefined ? [] : Array.isArray(v) ? v : [v]);
    const checkUser = (id: string) => {
      if (!this.ws.userById(id)) throw new SlackDriverError(`${where}: no such user ${id}`);
      return id;
    };
    const unset = short === undefined;
    switch (type) {
      case 'plain_text_input':
      case 'email_text_input':
      case 'url_text_input':
      case 'number_input': {
        const v = unset ? (el.initial_value ?? null) : short === null ? null : String(short);
        if (v !== null && typeof el.max_length === 'number' && v.length > el.max_length) throw new SlackDriverError(`${where}: longer than max_length ${el.max_length}`);
        if (v !== null && v !== '' && typeof el.min_length === 'number' && v.length < el.min_length) throw new SlackDriverError(`${where}: shorter than min_length ${el.min_length}`);
        return { type, value: v === '' ? null : v };
      }
      case 'static_select':
      case 'radio_buttons':
        return { type, selected_option: unset ? (el.initial_option ?? null) : short === null ? null : findOpt(String(short)) };
      case 'external_select':
        return { type, selected_option: unset ? (el.initial_option ?? null) : short === null ? null : extOpt(short) };
      case 'multi_static_select':
      case 'checkboxes':
        return { type, selected_options: unset ? (el.initial_options ?? []) : arr(short).map((v) => findOpt(String(v))) };
      case 'multi_external_select':
        return { type, selected_options: unset ? (el.initial_options ?? []) : arr(short).map(extOpt) };
      case 'users_select':
        return { type, selected_user: unset ? (el.initial_user ?? null) : short === null ? null : checkUser(String(short)) };
      case 'multi_users_select':
        return { type, selected_users: unset ? (el.initial_users ?? []) : arr(short).map((v) => checkUser(String(v))) };
      case 'conversations_select':
        return { type, selected_conversation: unset ? (el.initial_conversation ?? null) : short };
      case 'multi_conversations_select':
        return { type, selected_conversations: unset ? (el.initial_conversations ?? []) : arr(short) };
      case 'channels_select':
        return { type, selected_channel: unset ? (el.initial_channel ?? null) : short };
      case 'multi_channels_select':
        return { type, selected_channels: unset ? (el.initial_channels ?? []) : arr(short) };
      case 'datepicker':
        return { type, selected_date: unset ? (el.initial_date ?? null) : short };
      case 'timepicker':
        return { type, selected_time: unset ? (el.initial_time ?? null) : short };
      case 'datetimepicker':
        return { type, selected_date_time: unset ? (el.initial_date_time ?? null) : short };
      default:
        if (unset) return { type, value: null };
        return { type, value: short };
    }
  }

  private static isEmpty(v: Record<string, unknown>): boolean {
    for (const [k, x] of Object.entries(v)) {
      if (k === 'type') continue;
      if (x === null || x === undefined || x === '') continue;
      if (Array.isArray(x) && x.length === 0) continue;
      return false;
    }
    return true;
  }

  /** Builds `view.state.values` from the view's input blocks, what the person typed before and `values`. */
  private buildState(view: SlackView, values: SubmitValues): Record<string, Record<string, any>> {
    const out: Record<string, Record<string, any>> = {};
    const elementsOf = (b: any): any[] =>
      b.type === 'input' ? [b.element] : b.type === 'actions' ? (b.elements ?? []) : b.type === 'section' && b.accessory ? [b.accessory] : [];
    const stateful = (el: any) => el && typeof el === 'object' && el.action_id && el.type !== 'button' && el.type !== 'overflow';
    const given = new Set<string>();
    for (const [blockId, acts] of Object.entries(values)) for (const a of Object.keys(acts)) given.add(`${blockId}\u0000${a}`);
    for (const b of view.blocks) {
      for (const el of elementsOf(b)) {
        if (!stateful(el)) continue;
        const key = `${b.block_id}\u0000${el.action_id}`;
        const where = `block ${b.block_id} / action ${el.action_id} (${el.type})`;
        let v: Record<string, unknown>;
        if (given.has(key)) {
          const raw = values[b.block_id]![el.action_id];
          if (raw && typeof raw === 'object' && !Array.isArray(raw) && 'type' in raw) {
            if ((raw as { type: unknown }).type !== el.type) throw new SlackDriverError(`${where}: value has type ${(raw as { type: unknown }).type}`);
            v = raw as Record<string, unknown>;
          } else v = this.valueFor(el, raw, where);
          given.delete(key);
        } else if (view.stateValues[b.block_id]?.[el.action_id]) {
          v = view.stateValues[b.block_id]![el.action_id];
        } else if (b.type === 'input') {
          v = this.valueFor(el, undefined, where);
        } else continue;
        if (b.type === 'input' && b.optional !== true && Driver.isEmpty(v)) {
          throw new SlackDriverError(`${where} is required: Slack would not let the person submit`);
        }
        (out[b.block_id] ??= {})[el.action_id] = v;
      }
    }
    if (given.size) {
      const missing = [...given].map((k) => k.replace('\u0000', '/')).join(', ');
      throw new SlackDriverError(`view ${view.id} has no input ${missing}`);
    }
    return out;
  }

  /** For conversations/channels selects with `response_url_enabled`, Slack adds a response_url for the picked channel. */
  private submissionResponseUrls(view: SlackView, u: SlackUser) {
    const out: { block_id: string; action_id: string; channel_id: string; response_url: string }[] = [];
    for (const b of view.blocks) {
      const el = b.type === 'input' ? b.element : undefined;
      if (!el?.response_url_enabled || (el.type !== 'conversations_select' && el.type !== 'channels_select')) continue;
      const v = view.stateValues[b.block_id]?.[el.action_id];
      const channelId = v?.selected_conversation ?? v?.selected_channel;
      if (typeof channelId !== 'string' || !this.ws.state.channels.has(channelId)) continue;
      const ru = this.newResponseUrl({ channelId, userId: u.id, origin: 'view_submission' });
      out.push({ block_id: b.block_id, action_id: el.action_id, channel_id: channelId, response_url: ru.url });
    }
    return out;
  }

  async submitView(p: { userId: string; viewId: string; values?: SubmitValues }) {
    const u = this.person(p.userId);
    const view = this.openModal(u.id, p.viewId);
    if (!view.submit) throw new SlackDriverError(`view ${view.id} has no submit button`);
    if (view.submitDisabled) throw new SlackDriverError(`view ${view.id} has submit disabled`);
    view.stateValues = this.buildState(view, p.values ?? {});
    const triggerId = this.issueTrigger(u.id, `view_submission ${view.callbackId}`);
    const payload = {
      type: 'view_submission',
      team: this.teamObj(),
      user: this.userObj(u),
      api_app_id: this.ws.cfg.appId,
      token: this.ws.cfg.verificationToken,
      trigger_id: triggerId,
      view: this.ws.viewJson(view),
      response_urls: this.submissionResponseUrls(view, u),
      is_enterprise_install: false,
      enterprise: null,
    };
    const res = await this.postPayload(payload);
    view.submitError = undefined;
    if (res.timedOut || res.status !== 200) {
      view.submitError = res.timedOut ? 'operation_timeout' : `http_${res.status}`;
      return { ...res, triggerId, view };
    }
    const body = res.body;
    const action = body && typeof body === 'object' ? body.response_action : undefined;
    try {
      if (action === undefined) this.closeStack(u.id, 'top', 'submit');
      else if (action === 'errors') {
        const errors = body.errors;
        const inputIds = new Set(view.blocks.filter((b) => b.type === 'input').map((b) => b.block_id));
        if (!errors || typeof errors !== 'object' || Object.keys(errors).some((k) => !inputIds.has(k))) {
          view.submitError = 'invalid_errors: every key must be the block_id of an input block';
        } else view.errors = { ...errors };
      } else if (action === 'update') {
        this.api.replaceViewContent(view, this.api.parseViewForResponseAction(body.view));
      } else if (action === 'push') {
        this.api.pushView(u.id, this.api.parseViewForResponseAction(body.view), 'response_action:push');
      } else if (action === 'clear') this.closeStack(u.id, 'all', 'clear');
      else view.submitError = `unknown response_action ${String(action)}`;
    } catch (e) {
      view.submitError = e instanceof ApiError ? `${e.code} ${JSON.stringify(e.extra)}` : String(e);
    }
    return { ...res, triggerId, view };
  }

  async closeView(p: { userId: string; viewId: string }) {
    const u = this.person(p.userId);
    const view = this.openModal(u.id, p.viewId);
    const cleared = view.clearOnClose;
    const payload = {
      type: 'view_closed',
      team: this.teamObj(),
      user: this.userObj(u),
      api_app_id: this.ws.cfg.appId,
      token: this.ws.cfg.verificationToken,
      view: this.ws.viewJson(view),
      is_cleared: cleared,
      is_enterprise_install: false,
      enterprise: null,
    };
    this.closeStack(u.id, cleared ? 'all' : 'top', 'close');
    if (!view.notifyOnClose) return { status: 0, body: undefined, ackMs: 0, timedOut: false, sent: false };
    const res = await this.postPayload(payload);
    return { ...res, sent: true };
  }

  async optionsRequest(p: { userId: string; viewId: string; actionId: string; blockId: string; value: string }) {
    const u = this.person(p.userId);
    const view = this.ws.state.views.get(p.viewId);
    if (!view || view.userId !== u.id || !view.isOpen) throw new SlackDriverError(`view ${p.viewId} is not open for ${u.id}`);
    const block = view.blocks.find((b) => b.block_id === p.blockId);
    const el = block && [block.element, block.accessory, ...(block.elements ?? [])].find((e: any) => e?.action_id === p.actionId);
    if (!el) throw new SlackDriverError(`no element ${p.blockId}/${p.actionId} in view ${view.id}`);
    if (el.type !== 'external_select' && el.type !== 'multi_external_select') throw new SlackDriverError(`${p.blockId}/${p.actionId} is a ${el.type}, not an external select`);
    const min = typeof el.min_query_length === 'number' ? el.min_query_length : 3;
    if (p.value.length < min) return { status: 0, body: undefined, ackMs: 0, timedOut: false, sent: false };
    const payload = {
      type: 'block_suggestion',
      user: this.userObj(u),
      container: { type: 'view', view_id: view.id },
      api_app_id: this.ws.cfg.appId,
      token: this.ws.cfg.verificationToken,
      action_id: p.actionId,
      block_id: p.blockId,
      value: p.value,
      team: this.teamObj(),
      enterprise: null,
      is_enterprise_install: false,
      view: this.ws.viewJson(view),
    };
    const res = await this.postPayload(payload);
    return { ...res, sent: true };
  }

  // ---------- events ----------
  private envelope(event: Record<string, unknown>): Record<string, unknown> {
    const eventId = `Ev${this.ws.newId('').slice(0, 10)}`;
    return {
      token: this.ws.cfg.verificationToken,
      team_id: this.ws.cfg.teamId,
      context_team_id: this.ws.cfg.teamId,
      context_enterprise_id: null,
      api_app_id: this.ws.cfg.appId,
      event,
      type: 'event_callback',
      event_id: eventId,
      event_time: nowSec(),
      authorizations: [{ enterprise_id: null, team_id: this.ws.cfg.teamId, user_id: this.ws.cfg.botUserId, is_bot: true, is_enterprise_install: false }],
      is_ext_shared_channel: false,
      event_context: `4-${Buffer.from(JSON.stringify({ t: this.ws.cfg.teamId, e: eventId })).toString('base64url')}`,
    };
  }

  async sendEvent(event: Record<string, unknown>) {
    const env = this.envelope({ event_ts: this.ws.newTs(), ...event });
    const rec: SlackDeliveredEvent = { eventId: env.event_id as string, envelope: env, deliveries: [] };
    this.ws.state.events.push(rec);
    const requestTs = nowSec();
    const hub = this.socket();
    if (hub) {
      const res = await hub.deliver('events_api', env, { retryAttempt: 0, retryReason: '' });
      if (res.queued) {
        // Recorded when it finally goes out on the next connection.
        hub.onQueuedDelivery(res.envelopeId, (r) => rec.deliveries.push({ status: r.status, at: Date.now(), requestTs: nowSec(), via: 'socket' }));
        return { ...res, eventId: rec.eventId, retries: [] };
      }
      rec.deliveries.push({ status: res.status, at: Date.now(), requestTs, via: 'socket' });
      const retries: DriverResult[] = [];
      let last: DriverResult = res;
      for (const [i, delay] of this.eventRetryDelaysMs.entries()) {
        if (last.status === 200 && !last.timedOut) break;
        if (delay > 0) await new Promise((ok) => setTimeout(ok, delay));
        last = await this.redeliverEvent(rec.eventId, { retryNum: i + 1, retryReason: 'timeout' });
        retries.push(last);
      }
      return { ...res, eventId: rec.eventId, retries };
    }
    const res = await this.post(JSON.stringify(env), 'application/json', { timestamp: requestTs });
    rec.deliveries.push({ status: res.status, at: Date.now(), requestTs });
    // Slack retries a delivery that failed or was not acked within 3 s (up to 3 times); opt-in via eventRetryDelaysMs.
    const retries: DriverResult[] = [];
    let last = res;
    for (const [i, delay] of this.eventRetryDelaysMs.entries()) {
      if (last.status >= 200 && last.status < 300 && !last.timedOut) break;
      if (delay > 0) await new Promise((ok) => setTimeout(ok, delay));
      last = await this.redeliverEvent(rec.eventId, { retryNum: i + 1, retryReason: last.timedOut || last.status === 0 ? 'http_timeout' : 'http_error' });
      retries.push(last);
    }
    return { ...res, eventId: rec.eventId, retries };
  }

  /** Delays before Slack's automatic retries of failed event deliveries; empty (default) = no automatic retries. */
  eventRetryDelaysMs: number[] = [];

  async redeliverEvent(eventId: string, opts: { retryNum?: number; retryReason?: string } = {}) {
    const rec = this.ws.state.events.find((e) => e.eventId === eventId);
    if (!rec) throw new SlackDriverError(`no event ${eventId} was delivered`);
    const retryNum = opts.retryNum ?? rec.deliveries.length;
    const hub = this.socket();
    if (hub) {
      // Over a socket a retry is the same event callback in a new envelope with retry_attempt / retry_reason.
      const res = await hub.deliver('events_api', rec.envelope, { retryAttempt: retryNum, retryReason: opts.retryReason ?? 'timeout' });
      if (!res.queued) rec.deliveries.push({ status: res.status, retryNum, at: Date.now(), requestTs: nowSec(), via: 'socket' });
      return res;
    }
    // Slack retries seconds later, so a retry never carries the same timestamp (and signature) as the first try.
    const lastTs = Math.max(0, ...rec.deliveries.map((d) => d.requestTs));
    const requestTs = Math.max(nowSec(), lastTs + 1);
    const res = await this.post(JSON.stringify(rec.envelope), 'application/json', {
      timestamp: requestTs,
      headers: { 'x-slack-retry-num': String(retryNum), 'x-slack-retry-reason': opts.retryReason ?? 'http_timeout' },
    });
    rec.deliveries.push({ status: res.status, retryNum, at: Date.now(), requestTs });
    return res;
  }

  urlVerification(challenge = randomBytes(20).toString('base64url')) {
    return this.post(JSON.stringify({ token: this.ws.cfg.verificationToken, challenge, type: 'url_verification' }), 'application/json');
  }

  private requireMember(u: SlackUser, ch: SlackChannel) {
    if (!ch.members.includes(u.id)) throw new SlackDriverError(`${u.id} is not in ${ch.isIm ? ch.id : `#${ch.name}`}`);
  }

  async pinMessage(p: { userId: string; channelId: string; ts: string }) {
    const u = this.person(p.userId);
    const ch = this.chan(p.channelId);
    this.requireMember(u, ch);
    if (ch.isArchived) throw new SlackDriverError(`#${ch.name} is archived`);
    const msg = this.ws.findMessage(ch.id, p.ts);
    if (!msg) throw new SlackDriverError(`no message ${p.ts} in ${ch.id}`);
    if (msg.pinned) throw new SlackDriverError(`message ${p.ts} is already pinned`);
    msg.pinned = true;
    msg.pinnedBy = u.id;
    const now = nowSec();
    const pinCount = this.ws.messagesIn(ch.id).filter((m) => m.pinned).length;
    return this.sendEvent({
      type: 'pin_added',
      user: u.id,
      channel_id: ch.id,
      item: { type: 'message', created: now, created_by: u.id, channel: ch.id, message: { ...this.ws.messageJson(msg), permalink: this.ws.permalink(ch.id, msg.ts) } },
      item_user: msg.user,
      pin_count: pinCount,
      pinned_info: { channel: ch.id, pinned_by: u.id, pinned_ts: now },
    });
  }

  async react(p: { userId: string; channelId: string; ts: string; name: string }) {
    const u = this.person(p.userId);
    const ch = this.chan(p.channelId);
    if (ch.isArchived) throw new SlackDriverError(`#${ch.name} is archived`);
    const msg = this.ws.findMessage(ch.id, p.ts);
    if (!msg) throw new SlackDriverError(`no message ${p.ts} in ${ch.id}`);
    const name = p.name.replace(/^:|:$/g, '');
    let r = msg.reactions.find((x) => x.name === name);
    if (r?.users.includes(u.id)) throw new SlackDriverError(`${u.id} already reacted with :${name}:`);
    if (!r) msg.reactions.push((r = { name, users: [] }));
    r.users.push(u.id);
    return this.sendEvent({ type: 'reaction_added', user: u.id, reaction: name, item_user: msg.user, item: { type: 'message', channel: ch.id, ts: msg.ts } });
  }

  postMessageAs(userId: string, channelId: string, text: string, opts: { threadTs?: string } = {}): SlackMessage {
    const u = this.person(userId);
    const ch = this.chan(channelId);
    if (ch.isArchived) throw new SlackDriverError(`#${ch.name} is archived`);
    this.requireMember(u, ch);
    const msg = this.ws.addMessage({ channel: ch.id, user: u.id, text, source: 'person', ...(opts.threadTs ? { threadTs: opts.threadTs } : {}) });
    if (this.canDeliver() && ch.members.includes(this.ws.cfg.botUserId)) {
      const base = {
        user: u.id,
        text,
        ts: msg.ts,
        team: this.ws.cfg.teamId,
        client_msg_id: randomBytes(16).toString('hex').replace(/(.{8})(.{4})(.{4})(.{4})(.{12})/, '$1-$2-$3-$4-$5'),
        blocks: [{ type: 'rich_text', block_id: randomBytes(3).toString('hex'), elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text }] }] }],
        ...(opts.threadTs ? { thread_ts: opts.threadTs } : {}),
        channel: ch.id,
        event_ts: msg.ts,
      };
      const deliveries: Promise<unknown>[] = [this.sendEvent({ type: 'message', ...base, channel_type: ch.isIm ? 'im' : ch.isPrivate ? 'group' : 'channel' })];
      if (text.includes(`<@${this.ws.cfg.botUserId}>`)) deliveries.push(this.sendEvent({ type: 'app_mention', ...base }));
      for (const d of deliveries) {
        const tracked = d.catch(() => undefined).finally(() => this.pending.delete(tracked));
        this.pending.add(tracked);
      }
    }
    return msg;
  }

  async joinChannel(userId: string, channelId: string) {
    const u = this.person(userId);
    const ch = this.chan(channelId);
    if (ch.isIm) throw new SlackDriverError('cannot join a DM');
    if (ch.isPrivate) throw new SlackDriverError('private channels need an invite');
    if (ch.members.includes(u.id)) return undefined;
    ch.members.push(u.id);
    if (!this.canDeliver() || !ch.members.includes(this.ws.cfg.botUserId)) return undefined;
    return this.sendEvent({ type: 'member_joined_channel', user: u.id, channel: ch.id, channel_type: 'C', team: this.ws.cfg.teamId });
  }

  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  // ---------- raw access for security tests ----------
  raw(p: { body: string; contentType: string; timestamp?: number; signature?: string; headers?: Record<string, string> }) {
    return this.post(p.body, p.contentType, { ...(p.timestamp !== undefined ? { timestamp: p.timestamp } : {}), ...(p.signature !== undefined ? { signature: p.signature } : {}), ...(p.headers ? { headers: p.headers } : {}) });
  }

  /** Sends the previous request again, byte for byte, with the same timestamp and signature (a replay). */
  replayLast() {
    const last = this.last;
    if (!last) throw new SlackDriverError('nothing was sent yet');
    const { 'content-type': ct, 'x-slack-request-timestamp': ts, 'x-slack-signature': sig, ...rest } = last.headers;
    return this.post(last.body, ct ?? 'application/x-www-form-urlencoded', { timestamp: Number(ts), signature: sig!, headers: rest });
  }

  lastRequest() {
    return this.last ? { url: this.last.url, body: this.last.body, headers: { ...this.last.headers } } : undefined;
  }
}
