// State types of the Slack emulator. Everything a test may want to assert on lives in these shapes.

export interface SlackUser {
  id: string;
  teamId: string;
  name: string;
  realName: string;
  displayName: string;
  email?: string;
  isBot: boolean;
  botId?: string;
  isAdmin: boolean;
  deleted: boolean;
  title: string;
  tz: string;
  updated: number;
}

export interface SlackTopic {
  value: string;
  creator: string;
  last_set: number;
}

export interface SlackChannel {
  id: string;
  name: string;
  isPrivate: boolean;
  isIm: boolean;
  /** For DMs: the person on the other side of the bot. */
  imUser?: string;
  isArchived: boolean;
  isGeneral: boolean;
  created: number;
  creator: string;
  members: string[];
  topic: SlackTopic;
  purpose: SlackTopic;
  previousNames: string[];
  bookmarks: SlackBookmark[];
}

export interface SlackBookmark {
  id: string;
  title: string;
  type: string;
  link: string;
  emoji: string;
  created: number;
}

export interface SlackReaction {
  name: string;
  users: string[];
}

export interface SlackMessage {
  channel: string;
  ts: string;
  /** Author user id (the bot user for bot messages). */
  user: string;
  /** Set when a bot/app posted it. */
  botId?: string;
  text: string;
  blocks?: unknown[];
  attachments?: unknown[];
  threadTs?: string;
  replyCount: number;
  subtype?: string;
  edited?: { user: string; ts: string };
  reactions: SlackReaction[];
  pinned: boolean;
  pinnedBy?: string;
  metadata?: unknown;
  /** How the message got there. */
  source: 'api' | 'person' | 'response_url' | 'slash_command_ack';
  /** Slash command responses shown in-channel are attributed to the person and the app. */
  viaCommand?: string;
}

export interface SlackEphemeral {
  channel: string;
  /** The only person who can see it. */
  user: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  attachments?: unknown[];
  threadTs?: string;
  source: 'api' | 'response_url' | 'slash_command_ack';
  /** true once removed with `delete_original` (replace_original edits it in place). */
  deleted: boolean;
}

export interface SlackView {
  id: string;
  userId: string;
  teamId: string;
  type: string; // 'modal' | 'home'
  title?: unknown;
  submit?: unknown;
  close?: unknown;
  blocks: any[];
  privateMetadata: string;
  callbackId: string;
  externalId: string;
  hash: string;
  clearOnClose: boolean;
  notifyOnClose: boolean;
  submitDisabled: boolean;
  rootViewId: string;
  previousViewId: string | null;
  /** `view.state.values` as the person last left it (block_id → action_id → value object). */
  stateValues: Record<string, Record<string, any>>;
  isOpen: boolean;
  /** Last `response_action: 'errors'` the app returned for this view (block_id → message). */
  errors?: Record<string, string>;
  /** How the view got to the screen / left it. */
  openedBy: 'views.open' | 'views.push' | 'response_action:push' | 'views.publish';
  closedBy?: 'submit' | 'close' | 'clear' | 'replaced';
  /** Set when the app's answer to the last submission was not usable (timeout, non-200, bad response_action). */
  submitError?: string;
  /** Every revision this view had (blocks etc. after views.update / response_action update). */
  revisions: number;
}

export interface SlackTrigger {
  id: string;
  userId: string;
  issuedAt: number;
  used: boolean;
  /** What the person did to produce it. */
  origin: string;
}

export interface SlackResponseUrl {
  id: string;
  url: string;
  channelId: string;
  userId: string;
  origin: 'slash_command' | 'block_actions' | 'message_action' | 'view_submission';
  command?: string;
  /** For block_actions on a message: the message the button was in. */
  messageTs?: string;
  isEphemeral?: boolean;
  createdAt: number;
  uses: number;
}

export interface SlackApiCall {
  method: string;
  args: Record<string, unknown>;
  ok: boolean;
  error?: string;
  /** HTTP status the emulator answered with (429 for rate limited calls). */
  status: number;
  at: number;
}

export interface SlackDeliveredEvent {
  eventId: string;
  envelope: Record<string, any>;
  /** Each delivery: app's status, X-Slack-Retry-Num (retries only), when, and the X-Slack-Request-Timestamp used. */
  deliveries: { status: number; retryNum?: number; at: number; requestTs: number; via?: 'socket' }[];
}

/** A user group (Slack calls them subteams: `S…` ids, mentioned as @handle). */
export interface SlackUsergroup {
  id: string;
  name: string;
  handle: string;
  /** Member user ids. */
  users: string[];
  /** A disabled group answers only with include_disabled. */
  disabled: boolean;
}

export interface SlackEmulatorState {
  users: Map<string, SlackUser>;
  usergroups: Map<string, SlackUsergroup>;
  channels: Map<string, SlackChannel>;
  messages: SlackMessage[];
  ephemerals: SlackEphemeral[];
  views: Map<string, SlackView>;
  /** Per person: the modal stack, bottom first (view ids). */
  viewStacks: Map<string, string[]>;
  /** Per person: the published App Home view id. */
  homeViews: Map<string, string>;
  triggers: Map<string, SlackTrigger>;
  responseUrls: Map<string, SlackResponseUrl>;
  events: SlackDeliveredEvent[];
  /** Scopes granted to the bot token (missing ones produce `missing_scope`). */
  scopes: Set<string>;
}

/** What the driver reports after sending Slack's request to the app (HTTP or Socket Mode). */
export interface DriverResult {
  /** HTTP status the app answered with; 0 when it did not answer within the ack timeout or could not be reached. */
  status: number;
  /** Parsed JSON body, the text body, or undefined for an empty body. */
  body: any;
  /** Milliseconds until the app answered. */
  ackMs: number;
  /** true when the app did not answer within 3 s: Slack gives up and shows the person an error. */
  timedOut: boolean;
  /** Set when the request could not be delivered at all (connection refused, no Socket Mode connection...). */
  error?: string;
  /** Socket Mode only: the envelope's id (see `emu.socketMode.envelopes()`). */
  envelopeId?: string;
  /** Socket Mode only: an event sent while no app was connected waits for the next connection. */
  queued?: boolean;
}
