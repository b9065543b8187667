// The emulated workspace: ids, state and Slack-shaped serializers shared by the Web API and the driver.
import { createHash, randomBytes } from 'node:crypto';
import type {
  SlackChannel,
  SlackEmulatorState,
  SlackEphemeral,
  SlackMessage,
  SlackUser,
  SlackView,
} from './types.js';

export interface WorkspaceConfig {
  teamId: string;
  teamName: string;
  teamDomain: string;
  botName: string;
  botToken: string;
  signingSecret: string;
  appId: string;
  botId: string;
  botUserId: string;
  verificationToken: string;
}

/** Every scope the emulator knows about; the bot gets all of them except chat:write.public by default. */
export const DEFAULT_SCOPES = [
  'chat:write',
  'commands',
  'channels:read',
  'channels:manage',
  'channels:join',
  'channels:history',
  'groups:read',
  'groups:write',
  'groups:history',
  'im:read',
  'im:write',
  'im:history',
  'mpim:write',
  'users:read',
  'users:read.email',
  'pins:read',
  'pins:write',
  'reactions:read',
  'reactions:write',
  'bookmarks:read',
  'bookmarks:write',
  'team:read',
  'usergroups:read',
];

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

export class Workspace {
  readonly cfg: WorkspaceConfig;
  state!: SlackEmulatorState;
  /** How long a trigger_id stays usable (Slack: 3 s). */
  triggerTtlMs = 3000;
  private counter = 0;
  private lastTsMicros = 0;

  constructor(cfg: WorkspaceConfig) {
    this.cfg = cfg;
    this.reset();
  }

  /** Slack-looking id: prefix + 10 upper-case alphanumerics, unique for the life of the process. */
  newId(prefix: string): string {
    this.counter += 1;
    let n = this.counter;
    let s = '';
    for (let i = 0; i < 6; i++) {
      s = ALNUM[n % 36] + s;
      n = Math.floor(n / 36);
    }
    const rand = Array.from(randomBytes(3), (b) => ALNUM[b % 36]).join('');
    return `${prefix}0${rand}${s}`;
  }

  /** Message timestamp "seconds.micros", strictly increasing. */
  newTs(): string {
    const micros = Math.max(Date.now() * 1000, this.lastTsMicros + 1);
    this.lastTsMicros = micros;
    const sec = Math.floor(micros / 1_000_000);
    return `${sec}.${String(micros % 1_000_000).padStart(6, '0')}`;
  }

  newHash(): string {
    return `${nowSec()}.${randomBytes(4).toString('hex')}`;
  }

  reset(): void {
    this.state = {
      users: new Map(),
      usergroups: new Map(),
      channels: new Map(),
      messages: [],
      ephemerals: [],
      views: new Map(),
      viewStacks: new Map(),
      homeViews: new Map(),
      triggers: new Map(),
      responseUrls: new Map(),
      events: [],
      scopes: new Set(DEFAULT_SCOPES),
    };
    const bot: SlackUser = {
      id: this.cfg.botUserId,
      teamId: this.cfg.teamId,
      name: this.cfg.botName,
      realName: this.cfg.botName,
      displayName: '',
      isBot: true,
      botId: this.cfg.botId,
      isAdmin: false,
      deleted: false,
      title: '',
      tz: 'America/Los_Angeles',
      updated: nowSec(),
    };
    this.state.users.set(bot.id, bot);
    // Every workspace has Slackbot; note that Slack reports it with is_bot: false and no email.
    this.state.users.set('USLACKBOT', {
      id: 'USLACKBOT',
      teamId: this.cfg.teamId,
      name: 'slackbot',
      realName: 'Slackbot',
      displayName: 'Slackbot',
      isBot: false,
      isAdmin: false,
      deleted: false,
      title: '',
      tz: 'America/Los_Angeles',
      updated: 0,
    });
    this.createChannel('general', { creator: this.cfg.botUserId, members: [], isGeneral: true });
  }

  // ---------- users ----------
  addUser(u: { name: string; realName?: string; email?: string; isBot?: boolean; displayName?: string; title?: string; isAdmin?: boolean; id?: string; tz?: string }): SlackUser {
    const user: SlackUser = {
      id: u.id ?? this.newId('U'),
      teamId: this.cfg.teamId,
      name: u.name,
      realName: u.realName ?? u.name,
      displayName: u.displayName ?? u.name,
      ...(u.email !== undefined ? { email: u.email } : {}),
      isBot: u.isBot ?? false,
      ...(u.isBot ? { botId: this.newId('B') } : {}),
      isAdmin: u.isAdmin ?? false,
      deleted: false,
      title: u.title ?? '',
      tz: u.tz ?? 'America/Los_Angeles',
      updated: nowSec(),
    };
    this.state.users.set(user.id, user);
    // Everyone is in #general, like in a real workspace.
    const general = [...this.state.channels.values()].find((c) => c.isGeneral);
    if (general && !user.isBot) general.members.push(user.id);
    return user;
  }

  userById(id: string): SlackUser | undefined {
    return this.state.users.get(id);
  }

  // ---------- channels ----------
  createChannel(
    name: string,
    opts: { isPrivate?: boolean; creator?: string; members?: string[]; isGeneral?: boolean; topic?: string; purpose?: string } = {},
  ): SlackChannel {
    const creator = opts.creator ?? this.cfg.botUserId;
    const t = nowSec();
    const ch: SlackChannel = {
      id: this.newId('C'),
      name,
      isPrivate: opts.isPrivate ?? false,
      isIm: false,
      isArchived: false,
      isGeneral: opts.isGeneral ?? false,
      created: t,
      creator,
      members: [...new Set(opts.members ?? [creator])],
      topic: { value: opts.topic ?? '', creator: opts.topic ? creator : '', last_set: opts.topic ? t : 0 },
      purpose: { value: opts.purpose ?? '', creator: opts.purpose ? creator : '', last_set: opts.purpose ? t : 0 },
      previousNames: [],
      bookmarks: [],
    };
    this.state.channels.set(ch.id, ch);
    return ch;
  }

  channelByName(name: string): SlackChannel | undefined {
    const n = name.replace(/^#/, '');
    return [...this.state.channels.values()].find((c) => !c.isIm && c.name === n);
  }

  /** The DM between the bot and a person, created on first use. */
  imWith(userId: string): SlackChannel {
    const existing = [...this.state.channels.values()].find((c) => c.isIm && c.imUser === userId);
    if (existing) return existing;
    const ch: SlackChannel = {
      id: this.newId('D'),
      name: userId,
      isPrivate: true,
      isIm: true,
      imUser: userId,
      isArchived: false,
      isGeneral: false,
      created: nowSec(),
      creator: this.cfg.botUserId,
      members: [this.cfg.botUserId, userId],
      topic: { value: '', creator: '', last_set: 0 },
      purpose: { value: '', creator: '', last_set: 0 },
      previousNames: [],
      bookmarks: [],
    };
    this.state.channels.set(ch.id, ch);
    return ch;
  }

  // ---------- messages ----------
  messagesIn(channelId: string): SlackMessage[] {
    return this.state.messages.filter((m) => m.channel === channelId);
  }

  findMessage(channelId: string, ts: string): SlackMessage | undefined {
    return this.state.messages.find((m) => m.channel === channelId && m.ts === ts);
  }

  addMessage(m: Omit<SlackMessage, 'ts' | 'reactions' | 'pinned' | 'replyCount'> & { ts?: string }): SlackMessage {
    const msg: SlackMessage = { ...m, ts: m.ts ?? this.newTs(), reactions: [], pinned: false, replyCount: 0 };
    this.state.messages.push(msg);
    if (msg.threadTs && msg.threadTs !== msg.ts) {
      const parent = this.findMessage(msg.channel, msg.threadTs);
      if (parent) {
        parent.replyCount += 1;
        if (!parent.threadTs) parent.threadTs = parent.ts;
      }
    }
    return msg;
  }

  addEphemeral(e: Omit<SlackEphemeral, 'ts' | 'deleted'>): SlackEphemeral {
    const eph: SlackEphemeral = { ...e, ts: this.newTs(), deleted: false };
    this.state.ephemerals.push(eph);
    return eph;
  }

  // ---------- serializers (Slack wire shapes) ----------
  /** users.list profiles carry `fields`; users.info / lookupByEmail ones do not. */
  userJson(u: SlackUser, withEmail: boolean, forList = false): Record<string, unknown> {
    const [first, ...rest] = u.realName.split(' ');
    const img = (n: number) => `https://secure.gravatar.com/avatar/${createHash('md5').update(u.id).digest('hex')}.jpg?s=${n}`;
    const profile: Record<string, unknown> = {
      title: u.title,
      phone: '',
      skype: '',
      real_name: u.realName,
      real_name_normalized: u.realName,
      display_name: u.displayName,
      display_name_normalized: u.displayName,
      ...(forList ? { fields: {} } : {}),
      status_text: '',
      status_emoji: '',
      status_emoji_display_info: [],
      status_expiration: 0,
      avatar_hash: createHash('md5').update(u.name).digest('hex').slice(0, 12),
      first_name: first ?? '',
      last_name: rest.join(' '),
      image_24: img(24),
      image_32: img(32),
      image_48: img(48),
      image_72: img(72),
      image_192: img(192),
      image_512: img(512),
      status_text_canonical: '',
      team: u.teamId,
    };
    if (withEmail && u.email !== undefined) profile.email = u.email;
    if (u.isBot) {
      profile.bot_id = u.botId;
      profile.api_app_id = u.id === this.cfg.botUserId ? this.cfg.appId : '';
      profile.always_active = true;
    }
    return {
      id: u.id,
      team_id: u.teamId,
      name: u.name,
      deleted: u.deleted,
      color: '9f69e7',
      real_name: u.realName,
      tz: u.tz,
      tz_label: 'Pacific Standard Time',
      tz_offset: -28800,
      profile,
      is_admin: u.isAdmin,
      is_owner: false,
      is_primary_owner: false,
      is_restricted: false,
      is_ultra_restricted: false,
      is_bot: u.isBot,
      is_app_user: false,
      updated: u.updated,
      is_email_confirmed: !u.isBot && u.email !== undefined,
      who_can_share_contact_card: 'EVERYONE',
    };
  }

  channelJson(c: SlackChannel, opts: { forBot?: boolean; numMembers?: boolean } = {}): Record<string, unknown> {
    if (c.isIm) {
      return {
        id: c.id,
        created: c.created,
        is_archived: false,
        is_im: true,
        is_org_shared: false,
        context_team_id: this.cfg.teamId,
        updated: c.created * 1000,
        user: c.imUser,
        is_user_deleted: false,
        priority: 0,
      };
    }
    const out: Record<string, unknown> = {
      id: c.id,
      name: c.name,
      is_channel: !c.isPrivate,
      is_group: c.isPrivate,
      is_im: false,
      is_mpim: false,
      is_private: c.isPrivate,
      created: c.created,
      is_archived: c.isArchived,
      is_general: c.isGeneral,
      unlinked: 0,
      name_normalized: c.name,
      is_shared: false,
      is_org_shared: false,
      is_pending_ext_shared: false,
      pending_shared: [],
      context_team_id: this.cfg.teamId,
      updated: c.created * 1000,
      creator: c.creator,
      is_ext_shared: false,
      shared_team_ids: [this.cfg.teamId],
      pending_connected_team_ids: [],
      is_member: c.members.includes(this.cfg.botUserId),
      topic: { ...c.topic },
      purpose: { ...c.purpose },
      previous_names: [...c.previousNames],
    };
    if (opts.numMembers) out.num_members = c.members.length;
    return out;
  }

  /** Slack includes bot_profile.user_id only in some answers (chat.postMessage). */
  botProfile(withUserId = false): Record<string, unknown> {
    return {
      id: this.cfg.botId,
      deleted: false,
      name: this.cfg.botName,
      updated: 1700000000,
      app_id: this.cfg.appId,
      icons: {
        image_36: 'https://a.slack-edge.com/80588/img/plugins/app/bot_36.png',
        image_48: 'https://a.slack-edge.com/80588/img/plugins/app/bot_48.png',
        image_72: 'https://a.slack-edge.com/80588/img/plugins/app/service_72.png',
      },
      team_id: this.cfg.teamId,
      ...(withUserId ? { user_id: this.cfg.botUserId } : {}),
    };
  }

  messageJson(m: SlackMessage, opts: { botProfileUserId?: boolean } = {}): Record<string, unknown> {
    const out: Record<string, unknown> = { type: 'message' };
    if (m.subtype) out.subtype = m.subtype;
    out.text = m.text;
    out.user = m.user;
    out.ts = m.ts;
    out.team = this.cfg.teamId;
    if (m.botId) {
      out.bot_id = m.botId;
      out.app_id = this.cfg.appId;
      out.bot_profile = this.botProfile(opts.botProfileUserId);
    }
    if (m.blocks) out.blocks = m.blocks;
    if (m.attachments) out.attachments = m.attachments;
    if (m.metadata) out.metadata = m.metadata;
    if (m.threadTs) {
      out.thread_ts = m.threadTs;
      if (m.threadTs !== m.ts) {
        const parent = this.findMessage(m.channel, m.threadTs);
        if (parent) out.parent_user_id = parent.user;
      } else {
        out.reply_count = m.replyCount;
      }
    }
    if (m.edited) out.edited = { ...m.edited };
    if (m.reactions.length) out.reactions = m.reactions.map((r) => ({ name: r.name, users: [...r.users], count: r.users.length }));
    if (m.pinned) out.pinned_to = [m.channel];
    return out;
  }

  viewJson(v: SlackView): Record<string, unknown> {
    const out: Record<string, unknown> = {
      id: v.id,
      team_id: v.teamId,
      type: v.type,
      blocks: v.blocks,
      private_metadata: v.privateMetadata,
      callback_id: v.callbackId,
      state: { values: v.stateValues },
      hash: v.hash,
      title: v.title,
      clear_on_close: v.clearOnClose,
      notify_on_close: v.notifyOnClose,
      close: v.close ?? null,
      submit: v.submit ?? null,
      previous_view_id: v.previousViewId,
      root_view_id: v.rootViewId,
      app_id: this.cfg.appId,
      external_id: v.externalId,
      app_installed_team_id: this.cfg.teamId,
      bot_id: this.cfg.botId,
    };
    if (v.type === 'modal') out.submit_disabled = v.submitDisabled;
    return out;
  }

  permalink(channelId: string, ts: string): string {
    return `https://${this.cfg.teamDomain}.slack.com/archives/${channelId}/p${ts.replace('.', '')}`;
  }
}
