// Web API method handlers. Each handler takes already-decoded arguments and returns Slack's JSON body,
// or throws ApiError for Slack's `{ok:false, error}` answers.
import type { SlackChannel, SlackTrigger, SlackView } from './types.js';
import { nowSec, type Workspace } from './workspace.js';

export type Args = Record<string, unknown>;

export class ApiError extends Error {
  constructor(
    readonly code: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(code);
  }
}

function invalidArgs(...messages: string[]): ApiError {
  return new ApiError('invalid_arguments', { response_metadata: { messages: messages.map((m) => `[ERROR] ${m}`) } });
}

/** Scopes a method needs; any one of them is enough. Methods not listed need none. */
export const METHOD_SCOPES: Record<string, string[]> = {
  'chat.postMessage': ['chat:write'],
  'chat.update': ['chat:write'],
  'chat.delete': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
  'conversations.create': ['channels:manage', 'groups:write'],
  'conversations.invite': ['channels:manage', 'groups:write'],
  'conversations.archive': ['channels:manage', 'groups:write'],
  'conversations.unarchive': ['channels:manage', 'groups:write'],
  'conversations.rename': ['channels:manage', 'groups:write'],
  'conversations.setTopic': ['channels:manage', 'groups:write'],
  'conversations.setPurpose': ['channels:manage', 'groups:write'],
  'conversations.kick': ['channels:manage', 'groups:write'],
  'conversations.join': ['channels:join'],
  'conversations.open': ['im:write', 'mpim:write'],
  'conversations.info': ['channels:read', 'groups:read', 'im:read'],
  'conversations.members': ['channels:read', 'groups:read', 'im:read'],
  'conversations.list': ['channels:read', 'groups:read', 'im:read'],
  'conversations.history': ['channels:history', 'groups:history', 'im:history'],
  'conversations.replies': ['channels:history', 'groups:history', 'im:history'],
  'users.info': ['users:read'],
  'users.list': ['users:read'],
  'users.lookupByEmail': ['users:read.email'],
  'usergroups.users.list': ['usergroups:read'],
  'pins.add': ['pins:write'],
  'pins.remove': ['pins:write'],
  'pins.list': ['pins:read'],
  'reactions.add': ['reactions:write'],
  'reactions.remove': ['reactions:write'],
  'team.info': ['team:read'],
  'bookmarks.add': ['bookmarks:write'],
  'bookmarks.remove': ['bookmarks:write'],
  'bookmarks.list': ['bookmarks:read'],
};

// ---------- argument helpers ----------
function str(args: Args, key: string): string | undefined {
  const v = args[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}
function reqStr(args: Args, key: string): string {
  const v = str(args, key);
  if (v === undefined || v === '') throw invalidArgs(`missing required field: ${key}`);
  return v;
}
function bool(args: Args, key: string): boolean {
  const v = args[key];
  return v === true || v === 'true' || v === '1' || v === 1;
}
function int(args: Args, key: string, dflt: number): number {
  const v = args[key];
  if (v === undefined || v === null || v === '') return dflt;
  const n = Number(v);
  return Number.isFinite(n) ? Math.trunc(n) : dflt;
}
/** A JSON argument: a string inside a form, or an already-decoded value in a JSON body. */
function json(args: Args, key: string, errorCode: string): unknown {
  const v = args[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    throw new ApiError(errorCode, { response_metadata: { messages: [`[ERROR] failed to parse ${key} as JSON`] } });
  }
}
/** List argument: "U1,U2", '["U1","U2"]' or an array. */
function list(args: Args, key: string): string[] {
  const v = args[key];
  if (v === undefined || v === null || v === '') return [];
  if (Array.isArray(v)) return v.map(String);
  const s = String(v).trim();
  if (s.startsWith('[')) {
    try {
      const a = JSON.parse(s);
      if (Array.isArray(a)) return a.map(String);
    } catch {
      /* fall through */
    }
  }
  return s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

function encodeCursor(prefix: string, id: string): string {
  return Buffer.from(`${prefix}:${id}`).toString('base64');
}
function decodeCursor(cursor: string | undefined, prefix: string): string | undefined {
  if (!cursor) return undefined;
  const s = Buffer.from(cursor, 'base64').toString('utf8');
  if (!s.startsWith(`${prefix}:`)) throw new ApiError('invalid_cursor');
  return s.slice(prefix.length + 1);
}
function paginate<T>(items: T[], idOf: (t: T) => string, prefix: string, args: Args, maxLimit = 1000) {
  const limit = Math.min(Math.max(int(args, 'limit', 100) || 100, 1), maxLimit);
  const after = decodeCursor(str(args, 'cursor'), prefix);
  let start = 0;
  if (after !== undefined) {
    start = items.findIndex((i) => idOf(i) === after);
    if (start < 0) throw new ApiError('invalid_cursor');
  }
  const page = items.slice(start, start + limit);
  const next = items[start + limit];
  return { page, next_cursor: next ? encodeCursor(prefix, idOf(next)) : '' };
}

// ---------- channel name rules ----------
/** Slack's rules for conversations.create / rename. Returns the error code, or undefined when valid. */
export function channelNameError(name: string | undefined): string | undefined {
  if (name === undefined || name.trim() === '') return 'invalid_name_required';
  if (name.length > 80) return 'invalid_name_maxlength';
  if (/^[-_]+$/.test(name)) return 'invalid_name_punctuation';
  if (!/^[a-z0-9_-]+$/.test(name)) return 'invalid_name_specials';
  return undefined;
}

/** Block elements that carry an action_id (Slack generates one when missing). */
const INTERACTIVE = new Set([
  'button', 'overflow', 'datepicker', 'timepicker', 'datetimepicker', 'checkboxes', 'radio_buttons', 'static_select', 'external_select',
  'users_select', 'conversations_select', 'channels_select', 'multi_static_select', 'multi_external_select', 'multi_users_select',
  'multi_conversations_select', 'multi_channels_select', 'plain_text_input', 'email_text_input', 'url_text_input', 'number_input',
  'rich_text_input', 'workflow_button', 'file_input',
]);

/**
 * Slack's limits on an input block and its element that apps trip over: label and hint length, number_input's
 * required is_decimal_allowed, select menus' option count and option text length, and an initial option that
 * must be one of the options.
 */
function checkInputBlock(b: any, at: string, errs: string[]): void {
  const textMax = (t: any, max: number, where: string) => {
    if (t && typeof t.text === 'string' && t.text.length > max) errs.push(`must be less than ${max + 1} characters [json-pointer:${where}/text]`);
  };
  textMax(b.label, 2000, `${at}/label`);
  textMax(b.hint, 2000, `${at}/hint`);
  const el = b.element;
  if (!el || typeof el !== 'object') return;
  if (el.type === 'number_input' && typeof el.is_decimal_allowed !== 'boolean') errs.push(`missing required field: is_decimal_allowed [json-pointer:${at}/element]`);
  if ((el.type === 'static_select' || el.type === 'multi_static_select') && Array.isArray(el.options)) {
    if (el.options.length > 100) errs.push(`no more than 100 items allowed [json-pointer:${at}/element/options]`);
    el.options.forEach((o: any, j: number) => textMax(o?.text, 75, `${at}/element/options/${j}`));
    const values = new Set(el.options.map((o: any) => o?.value));
    const initial = [...(el.initial_option ? [el.initial_option] : []), ...(Array.isArray(el.initial_options) ? el.initial_options : [])];
    if (initial.some((o: any) => !values.has(o?.value))) errs.push(`initial options must match the options [json-pointer:${at}/element]`);
  }
  if (el.type === 'external_select' || el.type === 'multi_external_select') {
    const initial = [...(el.initial_option ? [el.initial_option] : []), ...(Array.isArray(el.initial_options) ? el.initial_options : [])];
    initial.forEach((o: any, j: number) => textMax(o?.text, 75, `${at}/element/initial_options/${j}`));
  }
}

const REACTION_NAME = /^[a-z0-9_+'-]+(::skin-tone-[2-6])?$/;

export interface ApiHooks {
  /** Called whenever a view is shown or replaced (views.open/push/update). */
  onViewChange?(view: SlackView): void;
}

export class WebApi {
  constructor(
    private readonly ws: Workspace,
    private readonly hooks: ApiHooks = {},
  ) {}

  private get bot() {
    return this.ws.cfg.botUserId;
  }
  private get st() {
    return this.ws.state;
  }

  has(method: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.handlers, method);
  }

  call(method: string, args: Args): Record<string, unknown> {
    const h = this.handlers[method];
    if (!h) throw new ApiError('unknown_method');
    return { ok: true, ...h(args) };
  }

  // ---------- lookups ----------
  /** Channel by id (or #name); private channels the bot is not in are invisible. */
  private channel(args: Args, key = 'channel', opts: { allowUserId?: boolean } = {}): SlackChannel {
    const ref = str(args, key);
    if (!ref) throw new ApiError('channel_not_found');
    let ch = this.st.channels.get(ref);
    if (!ch && opts.allowUserId && /^[UW]/.test(ref)) {
      const u = this.ws.userById(ref);
      if (u && !u.isBot) ch = this.ws.imWith(u.id);
    }
    if (!ch) ch = this.ws.channelByName(ref);
    if (!ch) throw new ApiError('channel_not_found');
    if ((ch.isPrivate || ch.isIm) && !ch.members.includes(this.bot)) throw new ApiError('channel_not_found');
    return ch;
  }
  private requireMember(ch: SlackChannel): void {
    if (!ch.members.includes(this.bot)) throw new ApiError('not_in_channel');
  }
  private requireNotArchived(ch: SlackChannel): void {
    if (ch.isArchived) throw new ApiError('is_archived');
  }
  private canPost(ch: SlackChannel): void {
    this.requireNotArchived(ch);
    if (!ch.members.includes(this.bot) && !(ch.isPrivate === false && !ch.isIm && this.st.scopes.has('chat:write.public'))) {
      throw new ApiError('not_in_channel');
    }
  }

  private messageContent(args: Args, requireSome: boolean) {
    const text = str(args, 'text');
    const parsedBlocks = json(args, 'blocks', 'invalid_blocks_format');
    const blocks = parsedBlocks === undefined ? undefined : structuredClone(parsedBlocks);
    const attachments = json(args, 'attachments', 'invalid_attachments');
    if (blocks !== undefined) {
      if (!Array.isArray(blocks)) throw new ApiError('invalid_blocks_format');
      if (blocks.length > 50) throw new ApiError('invalid_blocks', { response_metadata: { messages: ['[ERROR] no more than 50 items allowed [json-pointer:/blocks]'] } });
      blocks.forEach((b, i) => {
        if (!b || typeof b !== 'object' || typeof (b as { type?: unknown }).type !== 'string') {
          throw new ApiError('invalid_blocks', { response_metadata: { messages: [`[ERROR] missing required field: type [json-pointer:/blocks/${i}]`] } });
        }
      });
    }
    if (Array.isArray(blocks)) {
      // Slack stores blocks with generated block_id / action_id where the app left them out.
      for (const b of blocks as any[]) {
        if (b.block_id === undefined) b.block_id = randomShortId();
        for (const el of [...(b.type === 'actions' && Array.isArray(b.elements) ? b.elements : []), ...(b.accessory ? [b.accessory] : [])]) {
          if (el && typeof el === 'object' && INTERACTIVE.has(el.type) && el.action_id === undefined) el.action_id = randomShortId();
        }
      }
    }
    if (attachments !== undefined && !Array.isArray(attachments)) throw new ApiError('invalid_attachments');
    if (requireSome && !text && !(Array.isArray(blocks) && blocks.length) && !(Array.isArray(attachments) && attachments.length)) {
      throw new ApiError('no_text');
    }
    if (text && text.length > 40000) throw new ApiError('msg_too_long');
    const metadata = json(args, 'metadata', 'invalid_metadata_format');
    return { text, blocks: blocks as unknown[] | undefined, attachments: attachments as unknown[] | undefined, metadata };
  }

  // ---------- triggers & views ----------
  private consumeTrigger(args: Args): SlackTrigger {
    const id = str(args, 'trigger_id') ?? str(args, 'interactivity_pointer');
    if (!id) throw invalidArgs('missing required field: trigger_id');
    const t = this.st.triggers.get(id);
    if (!t) throw new ApiError('invalid_arguments', { response_metadata: { messages: ['invalid `trigger_id`'] } });
    if (t.used) throw new ApiError('exchanged_trigger_id');
    if (Date.now() - t.issuedAt > this.ws.triggerTtlMs) throw new ApiError('expired_trigger_id');
    return t;
  }

  /** Validates a view the way Slack does for the fields that matter, and fills in missing block/action ids. */
  private parseView(args: Args, expectType: 'modal' | 'home', ignoreExternalIdOf?: string): Record<string, any> {
    const v = json(args, 'view', 'invalid_arguments');
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalidArgs('missing required field: view');
    const view = structuredClone(v) as Record<string, any>;
    if (JSON.stringify(view).length > 250_000) throw new ApiError('view_too_large');
    const errs: string[] = [];
    if (view.type !== expectType) errs.push(`must be '${expectType}' [json-pointer:/view/type]`);
    const textField = (k: string, required: boolean) => {
      const t = view[k];
      if (t === undefined || t === null) {
        if (required) errs.push(`missing required field: ${k} [json-pointer:/view/${k}]`);
        return;
      }
      if (typeof t !== 'object' || t.type !== 'plain_text' || typeof t.text !== 'string') errs.push(`must be a plain_text text object [json-pointer:/view/${k}]`);
      else if (t.text.length > 24) errs.push(`must be less than 25 characters [json-pointer:/view/${k}/text]`);
    };
    if (expectType === 'modal') {
      textField('title', true);
      textField('submit', false);
      textField('close', false);
    }
    if (!Array.isArray(view.blocks)) errs.push('missing required field: blocks [json-pointer:/view/blocks]');
    else if (view.blocks.length > 100) errs.push('no more than 100 items allowed [json-pointer:/view/blocks]');
    if (typeof view.callback_id === 'string' && view.callback_id.length > 255) errs.push('must be less than 256 characters [json-pointer:/view/callback_id]');
    if (typeof view.private_metadata === 'string' && view.private_metadata.length > 3000) errs.push('must be less than 3001 characters [json-pointer:/view/private_metadata]');
    const seen = new Set<string>();
    let hasInput = false;
    if (Array.isArray(view.blocks)) {
      view.blocks.forEach((b: any, i: number) => {
        if (!b || typeof b !== 'object' || typeof b.type !== 'string') {
          errs.push(`missing required field: type [json-pointer:/view/blocks/${i}]`);
          return;
        }
        if (b.block_id === undefined) b.block_id = randomShortId();
        if (seen.has(b.block_id)) errs.push(`duplicate block_id: ${b.block_id} [json-pointer:/view/blocks/${i}/block_id]`);
        seen.add(b.block_id);
        if (b.type === 'input') {
          hasInput = true;
          if (!b.label) errs.push(`missing required field: label [json-pointer:/view/blocks/${i}]`);
          if (!b.element || typeof b.element !== 'object') errs.push(`missing required field: element [json-pointer:/view/blocks/${i}]`);
          else if (b.element.action_id === undefined) b.element.action_id = randomShortId();
        }
        const candidates = [...(b.type === 'actions' && Array.isArray(b.elements) ? b.elements : []), ...(b.accessory ? [b.accessory] : [])];
        for (const el of candidates) {
          if (el && typeof el === 'object' && INTERACTIVE.has(el.type) && el.action_id === undefined) el.action_id = randomShortId();
        }
        if (b.type === 'input') checkInputBlock(b, `/view/blocks/${i}`, errs);
      });
    }
    if (expectType === 'modal' && hasInput && !view.submit) errs.push('submit is required when an input block is present [json-pointer:/view/submit]');
    if (errs.length) throw invalidArgs(...errs);
    if (view.external_id) {
      const dup = [...this.st.views.values()].find((x) => x.externalId === view.external_id && x.id !== ignoreExternalIdOf);
      if (dup) throw new ApiError('duplicate_external_id');
    }
    return view;
  }

  private newView(userId: string, v: Record<string, any>, openedBy: SlackView['openedBy'], root?: SlackView, previous?: SlackView): SlackView {
    const id = this.ws.newId('V');
    const view: SlackView = {
      id,
      userId,
      teamId: this.ws.cfg.teamId,
      type: v.type,
      title: v.title,
      submit: v.submit,
      close: v.close,
      blocks: v.blocks,
      privateMetadata: v.private_metadata ?? '',
      callbackId: v.callback_id ?? '',
      externalId: v.external_id ?? '',
      hash: this.ws.newHash(),
      clearOnClose: v.clear_on_close === true,
      notifyOnClose: v.notify_on_close === true,
      submitDisabled: v.submit_disabled === true,
      rootViewId: root?.id ?? id,
      previousViewId: previous?.id ?? null,
      stateValues: {},
      isOpen: true,
      openedBy,
      revisions: 1,
    };
    this.st.views.set(id, view);
    this.hooks.onViewChange?.(view);
    return view;
  }

  /** Replace a view's content (views.update / response_action:update). Keeps what the person typed in inputs that still exist. */
  replaceViewContent(view: SlackView, v: Record<string, any>): void {
    view.title = v.title;
    view.submit = v.submit;
    view.close = v.close;
    view.blocks = v.blocks;
    view.privateMetadata = v.private_metadata ?? '';
    view.callbackId = v.callback_id ?? '';
    view.externalId = v.external_id ?? view.externalId;
    view.clearOnClose = v.clear_on_close === true;
    view.notifyOnClose = v.notify_on_close === true;
    view.submitDisabled = v.submit_disabled === true;
    view.hash = this.ws.newHash();
    view.errors = undefined;
    view.revisions += 1;
    const kept: SlackView['stateValues'] = {};
    for (const b of view.blocks) {
      const prev = view.stateValues[b.block_id];
      if (!prev) continue;
      const ids = [b.element?.action_id, ...(Array.isArray(b.elements) ? b.elements.map((e: any) => e?.action_id) : []), b.accessory?.action_id];
      for (const a of ids) if (a && prev[a]) (kept[b.block_id] ??= {})[a] = prev[a];
    }
    view.stateValues = kept;
    this.hooks.onViewChange?.(view);
  }

  /** Put a view on top of a person's modal stack (views.push, response_action:push). */
  pushView(userId: string, v: Record<string, any>, openedBy: SlackView['openedBy']): SlackView {
    const stack = this.st.viewStacks.get(userId) ?? [];
    const open = stack.map((id) => this.st.views.get(id)).filter((x): x is SlackView => !!x && x.isOpen);
    if (open.length === 0) throw new ApiError('not_found');
    if (open.length >= 3) throw new ApiError('push_limit_reached');
    const view = this.newView(userId, v, openedBy, open[0], open[open.length - 1]);
    this.st.viewStacks.set(userId, [...open.map((x) => x.id), view.id]);
    return view;
  }

  private bookmarkJson(ch: SlackChannel, b: SlackChannel['bookmarks'][number]): Record<string, unknown> {
    return {
      id: b.id,
      channel_id: ch.id,
      title: b.title,
      link: b.link,
      emoji: b.emoji,
      icon_url: null,
      type: b.type,
      entity_id: null,
      date_created: b.created,
      date_updated: 0,
      rank: 'U',
      last_updated_by_user_id: this.bot,
      last_updated_by_team_id: this.ws.cfg.teamId,
      shortcut_id: null,
      app_id: this.ws.cfg.appId,
    };
  }

  parseViewForResponseAction(v: unknown): Record<string, any> {
    return this.parseView({ view: v }, 'modal');
  }

  // ---------- handlers ----------
  private readonly handlers: Record<string, (args: Args) => Record<string, unknown>> = {
    'api.test': (args) => ({ args: Object.fromEntries(Object.entries(args).filter(([k]) => k !== 'token')) }),

    'auth.test': () => ({
      url: `https://${this.ws.cfg.teamDomain}.slack.com/`,
      team: this.ws.cfg.teamName,
      user: this.ws.cfg.botName,
      team_id: this.ws.cfg.teamId,
      user_id: this.bot,
      bot_id: this.ws.cfg.botId,
      app_id: this.ws.cfg.appId,
      is_enterprise_install: false,
    }),

    'team.info': () => ({
      team: {
        id: this.ws.cfg.teamId,
        name: this.ws.cfg.teamName,
        url: `https://${this.ws.cfg.teamDomain}.slack.com/`,
        domain: this.ws.cfg.teamDomain,
        email_domain: '',
        icon: { image_default: true },
        avatar_base_url: 'https://ca.slack-edge.com/',
        is_verified: false,
      },
    }),

    // ----- chat -----
    'chat.postMessage': (args) => {
      const ch = this.channel(args, 'channel', { allowUserId: true });
      this.canPost(ch);
      const c = this.messageContent(args, true);
      const threadTs = str(args, 'thread_ts') || undefined;
      const msg = this.ws.addMessage({
        channel: ch.id,
        user: this.bot,
        botId: this.ws.cfg.botId,
        text: c.text ?? '',
        ...(c.blocks ? { blocks: c.blocks } : {}),
        ...(c.attachments ? { attachments: c.attachments } : {}),
        ...(c.metadata ? { metadata: c.metadata } : {}),
        ...(threadTs ? { threadTs } : {}),
        source: 'api',
      });
      return { channel: ch.id, ts: msg.ts, message: this.ws.messageJson(msg, { botProfileUserId: true }) };
    },

    'chat.update': (args) => {
      const ch = this.channel(args);
      const ts = str(args, 'ts');
      if (!ts) throw new ApiError('message_not_found');
      const msg = this.ws.findMessage(ch.id, ts);
      if (!msg) throw new ApiError('message_not_found');
      if (msg.user !== this.bot) throw new ApiError('cant_update_message');
      this.requireNotArchived(ch);
      const c = this.messageContent(args, true);
      if (c.text !== undefined) msg.text = c.text;
      if (c.blocks !== undefined) msg.blocks = c.blocks;
      if (c.attachments !== undefined) msg.attachments = c.attachments;
      if (c.metadata !== undefined) msg.metadata = c.metadata;
      msg.edited = { user: this.bot, ts: this.ws.newTs() };
      const m = this.ws.messageJson(msg);
      delete m.ts;
      return { channel: ch.id, ts: msg.ts, text: msg.text, message: m };
    },

    'chat.delete': (args) => {
      const ch = this.channel(args);
      const ts = str(args, 'ts') ?? '';
      const idx = this.st.messages.findIndex((m) => m.channel === ch.id && m.ts === ts);
      if (idx < 0) throw new ApiError('message_not_found');
      if (this.st.messages[idx]!.user !== this.bot) throw new ApiError('cant_delete_message');
      this.st.messages.splice(idx, 1);
      return { channel: ch.id, ts };
    },

    'chat.postEphemeral': (args) => {
      const ch = this.channel(args, 'channel', { allowUserId: true });
      const userId = str(args, 'user');
      const user = userId ? this.ws.userById(userId) : undefined;
      if (!user) throw new ApiError('user_not_found');
      this.canPost(ch);
      if (!ch.members.includes(user.id)) throw new ApiError('user_not_in_channel');
      const c = this.messageContent(args, true);
      const threadTs = str(args, 'thread_ts') || undefined;
      const eph = this.ws.addEphemeral({
        channel: ch.id,
        user: user.id,
        text: c.text ?? '',
        ...(c.blocks ? { blocks: c.blocks } : {}),
        ...(c.attachments ? { attachments: c.attachments } : {}),
        ...(threadTs ? { threadTs } : {}),
        source: 'api',
      });
      return { message_ts: eph.ts };
    },

    'chat.getPermalink': (args) => {
      const ch = this.channel(args);
      const ts = str(args, 'message_ts');
      if (!ts || !this.ws.findMessage(ch.id, ts)) throw new ApiError('message_not_found');
      return { channel: ch.id, permalink: this.ws.permalink(ch.id, ts) };
    },

    // ----- conversations -----
    'conversations.create': (args) => {
      const name = str(args, 'name');
      const err = channelNameError(name);
      if (err) throw new ApiError(err);
      if (this.ws.channelByName(name!)) throw new ApiError('name_taken');
      const ch = this.ws.createChannel(name!, { isPrivate: bool(args, 'is_private'), creator: this.bot, members: [this.bot] });
      return { channel: { ...this.ws.channelJson(ch), last_read: '0000000000.000000', is_open: true, priority: 0 } };
    },

    'conversations.rename': (args) => {
      const ch = this.channel(args);
      if (ch.isIm) throw new ApiError('method_not_supported_for_channel_type');
      this.requireMember(ch);
      this.requireNotArchived(ch);
      const name = str(args, 'name');
      const err = channelNameError(name);
      if (err) throw new ApiError(err);
      const other = this.ws.channelByName(name!);
      if (other && other.id !== ch.id) throw new ApiError('name_taken');
      if (ch.name !== name) ch.previousNames.unshift(ch.name);
      ch.name = name!;
      return { channel: this.ws.channelJson(ch) };
    },

    'conversations.invite': (args) => {
      const ch = this.channel(args);
      if (ch.isIm) throw new ApiError('method_not_supported_for_channel_type');
      this.requireNotArchived(ch);
      this.requireMember(ch);
      const users = list(args, 'users');
      if (users.length === 0) throw new ApiError('no_user');
      if (users.length > 1000) throw new ApiError('too_many_users');
      const errors: { user: string; ok: false; error: string }[] = [];
      const valid: string[] = [];
      for (const u of users) {
        const user = this.ws.userById(u);
        if (!user || user.deleted) errors.push({ user: u, ok: false, error: 'user_not_found' });
        else if (u === this.bot) errors.push({ user: u, ok: false, error: 'cant_invite_self' });
        else if (ch.members.includes(u)) errors.push({ user: u, ok: false, error: 'already_in_channel' });
        else valid.push(u);
      }
      if (errors.length && !bool(args, 'force')) throw new ApiError(errors[0]!.error, { errors });
      for (const u of valid) if (!ch.members.includes(u)) ch.members.push(u);
      return { channel: this.ws.channelJson(ch), ...(errors.length ? { errors } : {}) };
    },

    'conversations.kick': (args) => {
      const ch = this.channel(args);
      this.requireMember(ch);
      const u = str(args, 'user');
      if (!u || !this.ws.userById(u)) throw new ApiError('user_not_found');
      if (u === this.bot) throw new ApiError('cant_kick_self');
      if (!ch.members.includes(u)) throw new ApiError('not_in_channel');
      ch.members = ch.members.filter((m) => m !== u);
      return {};
    },

    'conversations.join': (args) => {
      const ch = this.channel(args);
      if (ch.isPrivate || ch.isIm) throw new ApiError('method_not_supported_for_channel_type');
      this.requireNotArchived(ch);
      const already = ch.members.includes(this.bot);
      if (!already) ch.members.push(this.bot);
      return {
        channel: this.ws.channelJson(ch),
        ...(already ? { warning: 'already_in_channel', response_metadata: { warnings: ['already_in_channel'] } } : {}),
      };
    },

    'conversations.open': (args) => {
      const channelArg = str(args, 'channel');
      if (channelArg) {
        const ch = this.channel(args);
        return { channel: bool(args, 'return_im') ? this.ws.channelJson(ch) : { id: ch.id } };
      }
      const users = list(args, 'users');
      if (users.length === 0) throw new ApiError('users_list_not_supplied');
      if (users.length > 1) throw new ApiError('method_not_supported_for_channel_type', { detail: 'the emulator supports 1:1 DMs only' });
      const user = this.ws.userById(users[0]!);
      if (!user) throw new ApiError('user_not_found');
      if (user.deleted) throw new ApiError('user_disabled');
      const existed = [...this.st.channels.values()].some((c) => c.isIm && c.imUser === user.id);
      const ch = this.ws.imWith(user.id);
      return {
        ...(existed ? { no_op: true, already_open: true } : {}),
        channel: bool(args, 'return_im') ? this.ws.channelJson(ch) : { id: ch.id },
      };
    },

    'conversations.info': (args) => {
      const ch = this.channel(args);
      return { channel: this.ws.channelJson(ch, { numMembers: bool(args, 'include_num_members') }) };
    },

    'conversations.list': (args) => {
      const types = (str(args, 'types') ?? 'public_channel').split(',').map((t) => t.trim());
      const excludeArchived = bool(args, 'exclude_archived');
      const all = [...this.st.channels.values()].filter((c) => {
        if (excludeArchived && c.isArchived) return false;
        if (c.isIm) return types.includes('im') && c.members.includes(this.bot);
        if (c.isPrivate) return types.includes('private_channel') && c.members.includes(this.bot);
        return types.includes('public_channel');
      });
      const { page, next_cursor } = paginate(all, (c) => c.id, 'channel', args);
      return { channels: page.map((c) => this.ws.channelJson(c)), response_metadata: { next_cursor } };
    },

    'conversations.members': (args) => {
      const ch = this.channel(args);
      const { page, next_cursor } = paginate(ch.members, (m) => m, 'user', args);
      return { members: page, response_metadata: { next_cursor } };
    },

    'conversations.history': (args) => {
      const ch = this.channel(args);
      if (!ch.members.includes(this.bot) && !ch.isIm) throw new ApiError('not_in_channel');
      const limit = Math.min(Math.max(int(args, 'limit', 100), 1), 999);
      const oldest = Number(str(args, 'oldest') ?? '0');
      const latest = str(args, 'latest') ? Number(str(args, 'latest')) : Infinity;
      const msgs = this.ws
        .messagesIn(ch.id)
        .filter((m) => !m.threadTs || m.threadTs === m.ts)
        .filter((m) => Number(m.ts) >= oldest && Number(m.ts) <= latest)
        .reverse();
      const page = msgs.slice(0, limit);
      // Slack returns message metadata only when asked (include_all_metadata).
      const withMetadata = bool(args, 'include_all_metadata');
      return {
        messages: page.map((m) => {
          const j = this.ws.messageJson(m);
          if (!withMetadata) delete j.metadata;
          return j;
        }),
        has_more: msgs.length > limit,
        pin_count: this.ws.messagesIn(ch.id).filter((m) => m.pinned).length,
        response_metadata: { next_cursor: '' },
      };
    },

    'conversations.replies': (args) => {
      const ch = this.channel(args);
      const ts = str(args, 'ts') ?? '';
      const parent = this.ws.findMessage(ch.id, ts);
      if (!parent) throw new ApiError('thread_not_found');
      const msgs = [parent, ...this.ws.messagesIn(ch.id).filter((m) => m.threadTs === ts && m.ts !== ts)];
      return { messages: msgs.map((m) => this.ws.messageJson(m)), has_more: false, response_metadata: { next_cursor: '' } };
    },

    'conversations.setTopic': (args) => {
      const ch = this.channel(args);
      if (ch.isIm) throw new ApiError('method_not_supported_for_channel_type');
      this.requireNotArchived(ch);
      this.requireMember(ch);
      const topic = str(args, 'topic') ?? '';
      if (topic.length > 250) throw new ApiError('too_long');
      ch.topic = { value: topic, creator: this.bot, last_set: nowSec() };
      return { channel: this.ws.channelJson(ch) };
    },

    'conversations.setPurpose': (args) => {
      const ch = this.channel(args);
      if (ch.isIm) throw new ApiError('method_not_supported_for_channel_type');
      this.requireNotArchived(ch);
      this.requireMember(ch);
      const purpose = str(args, 'purpose') ?? '';
      if (purpose.length > 250) throw new ApiError('too_long');
      ch.purpose = { value: purpose, creator: this.bot, last_set: nowSec() };
      return { channel: this.ws.channelJson(ch) };
    },

    'conversations.archive': (args) => {
      const ch = this.channel(args);
      if (ch.isIm) throw new ApiError('method_not_supported_for_channel_type');
      if (ch.isGeneral) throw new ApiError('cant_archive_general');
      if (ch.isArchived) throw new ApiError('already_archived');
      this.requireMember(ch);
      ch.isArchived = true;
      return {};
    },

    'conversations.unarchive': (args) => {
      const ch = this.channel(args);
      if (!ch.isArchived) throw new ApiError('not_archived');
      ch.isArchived = false;
      if (!ch.members.includes(this.bot)) ch.members.push(this.bot);
      return {};
    },

    // ----- users -----
    'users.info': (args) => {
      const u = this.ws.userById(str(args, 'user') ?? '');
      if (!u) throw new ApiError('user_not_found');
      return { user: this.ws.userJson(u, this.st.scopes.has('users:read.email')) };
    },

    'users.list': (args) => {
      const users = [...this.st.users.values()];
      const { page, next_cursor } = paginate(users, (u) => u.id, 'user', args);
      const withEmail = this.st.scopes.has('users:read.email');
      return { members: page.map((u) => this.ws.userJson(u, withEmail, true)), cache_ts: nowSec(), response_metadata: { next_cursor } };
    },

    'users.lookupByEmail': (args) => {
      const email = (str(args, 'email') ?? '').toLowerCase();
      if (!email) throw invalidArgs('missing required field: email');
      const u = [...this.st.users.values()].find((x) => x.email?.toLowerCase() === email && !x.deleted);
      if (!u) throw new ApiError('users_not_found');
      return { user: this.ws.userJson(u, true) };
    },

    // ----- user groups -----
    'usergroups.users.list': (args) => {
      const id = reqStr(args, 'usergroup');
      const group = this.st.usergroups.get(id);
      if (!group || (group.disabled && !bool(args, 'include_disabled'))) throw new ApiError('no_such_subteam');
      return { users: [...group.users] };
    },

    // ----- pins & reactions -----
    'pins.add': (args) => {
      const ch = this.channel(args);
      this.requireNotArchived(ch);
      this.requireMember(ch);
      const ts = str(args, 'timestamp');
      if (!ts) throw new ApiError('no_item_specified');
      const msg = this.ws.findMessage(ch.id, ts);
      if (!msg) throw new ApiError('message_not_found');
      if (msg.pinned) throw new ApiError('already_pinned');
      msg.pinned = true;
      msg.pinnedBy = this.bot;
      return {};
    },

    'pins.remove': (args) => {
      const ch = this.channel(args);
      const msg = this.ws.findMessage(ch.id, str(args, 'timestamp') ?? '');
      if (!msg) throw new ApiError('message_not_found');
      if (!msg.pinned) throw new ApiError('no_pin');
      msg.pinned = false;
      delete msg.pinnedBy;
      return {};
    },

    'pins.list': (args) => {
      const ch = this.channel(args);
      return {
        items: this.ws
          .messagesIn(ch.id)
          .filter((m) => m.pinned)
          .map((m) => ({ type: 'message', created: Math.floor(Number(m.ts)), created_by: m.pinnedBy, channel: ch.id, message: this.ws.messageJson(m) })),
      };
    },

    'reactions.add': (args) => {
      const ch = this.channel(args);
      this.requireNotArchived(ch);
      const ts = str(args, 'timestamp');
      if (!ts) throw new ApiError('no_item_specified');
      const name = (str(args, 'name') ?? '').replace(/^:|:$/g, '');
      if (!REACTION_NAME.test(name)) throw new ApiError('invalid_name');
      const msg = this.ws.findMessage(ch.id, ts);
      if (!msg) throw new ApiError('message_not_found');
      let r = msg.reactions.find((x) => x.name === name);
      if (r?.users.includes(this.bot)) throw new ApiError('already_reacted');
      if (!r) msg.reactions.push((r = { name, users: [] }));
      r.users.push(this.bot);
      return {};
    },

    'reactions.remove': (args) => {
      const ch = this.channel(args);
      const msg = this.ws.findMessage(ch.id, str(args, 'timestamp') ?? '');
      if (!msg) throw new ApiError('message_not_found');
      const name = str(args, 'name') ?? '';
      const r = msg.reactions.find((x) => x.name === name);
      if (!r || !r.users.includes(this.bot)) throw new ApiError('no_reaction');
      r.users = r.users.filter((u) => u !== this.bot);
      if (r.users.length === 0) msg.reactions = msg.reactions.filter((x) => x !== r);
      return {};
    },

    // ----- bookmarks -----
    'bookmarks.add': (args) => {
      const ch = this.channel(args, 'channel_id');
      this.requireNotArchived(ch);
      this.requireMember(ch);
      const title = str(args, 'title');
      const type = str(args, 'type');
      if (!title) throw invalidArgs('missing required field: title');
      if (type !== 'link') throw new ApiError('invalid_bookmark_type');
      const link = str(args, 'link') ?? '';
      if (!/^https?:\/\//.test(link)) throw new ApiError('invalid_link');
      const bm = { id: this.ws.newId('Bk'), title, type, link, emoji: str(args, 'emoji') ?? '', created: nowSec() };
      ch.bookmarks.push(bm);
      return { bookmark: this.bookmarkJson(ch, bm) };
    },

    'bookmarks.list': (args) => {
      const ch = this.channel(args, 'channel_id');
      return { bookmarks: ch.bookmarks.map((b) => this.bookmarkJson(ch, b)) };
    },

    'bookmarks.remove': (args) => {
      const ch = this.channel(args, 'channel_id');
      const id = str(args, 'bookmark_id');
      if (!ch.bookmarks.some((b) => b.id === id)) throw new ApiError('not_found');
      ch.bookmarks = ch.bookmarks.filter((b) => b.id !== id);
      return {};
    },

    // ----- views -----
    'views.open': (args) => {
      const trigger = this.consumeTrigger(args);
      const v = this.parseView(args, 'modal');
      trigger.used = true;
      // A new modal replaces whatever stack the person had open.
      for (const id of this.st.viewStacks.get(trigger.userId) ?? []) {
        const old = this.st.views.get(id);
        if (old?.isOpen) {
          old.isOpen = false;
          old.closedBy = 'replaced';
        }
      }
      const view = this.newView(trigger.userId, v, 'views.open');
      this.st.viewStacks.set(trigger.userId, [view.id]);
      return { view: this.ws.viewJson(view) };
    },

    'views.push': (args) => {
      const trigger = this.consumeTrigger(args);
      const v = this.parseView(args, 'modal');
      const view = this.pushView(trigger.userId, v, 'views.push');
      trigger.used = true;
      return { view: this.ws.viewJson(view) };
    },

    'views.update': (args) => {
      const viewId = str(args, 'view_id');
      const externalId = str(args, 'external_id');
      if (!viewId && !externalId) throw invalidArgs('missing required field: view_id or external_id');
      const view = viewId ? this.st.views.get(viewId) : [...this.st.views.values()].find((x) => x.externalId === externalId);
      if (!view || (!view.isOpen && view.type === 'modal')) throw new ApiError('not_found');
      const hash = str(args, 'hash');
      if (hash && hash !== view.hash) throw new ApiError('hash_conflict');
      const v = this.parseView(args, view.type === 'home' ? 'home' : 'modal', view.id);
      this.replaceViewContent(view, v);
      return { view: this.ws.viewJson(view) };
    },

    'views.publish': (args) => {
      const userId = str(args, 'user_id');
      const user = userId ? this.ws.userById(userId) : undefined;
      if (!user) throw new ApiError('user_not_found');
      const v = this.parseView(args, 'home');
      const existingId = this.st.homeViews.get(user.id);
      const existing = existingId ? this.st.views.get(existingId) : undefined;
      const hash = str(args, 'hash');
      if (existing) {
        if (hash && hash !== existing.hash) throw new ApiError('hash_conflict');
        this.replaceViewContent(existing, v);
        return { view: this.ws.viewJson(existing) };
      }
      const view = this.newView(user.id, v, 'views.publish');
      this.st.homeViews.set(user.id, view.id);
      return { view: this.ws.viewJson(view) };
    },
  };
}

function randomShortId(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < 5; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}
