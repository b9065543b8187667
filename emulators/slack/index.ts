// Firebreak's local Slack: a Web API (point WebClient's `slackApiUrl` at `apiUrl`) plus a driver that acts as a
// person and sends the app Slack's exact signed requests. See README.md.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, METHOD_SCOPES, WebApi, type Args } from './api.js';
import { Driver, type SlackDriver } from './driver.js';
import { SocketModeHub, type SlackSocketMode } from './socket-mode.js';
import type {
  SlackApiCall,
  SlackChannel,
  SlackEmulatorState,
  SlackEphemeral,
  SlackMessage,
  SlackUser,
  SlackUsergroup,
  SlackView,
} from './types.js';
import { Workspace } from './workspace.js';

export type * from './types.js';
export { SlackDriverError, type DriverResult, type ShortValue, type SubmitValues, type SlackDriver } from './driver.js';
export { slackSignature } from './signing.js';
export type { SlackSocketMode, SlackSocketConnection, SlackSocketEnvelope, SocketEnvelopeType, SocketDeliveryResult } from './socket-mode.js';
export { channelNameError } from './api.js';

export interface SlackEmulatorOptions {
  /** 0 (default) = any free port. */
  port?: number;
  host?: string;
  signingSecret?: string;
  botToken?: string;
  /** App-level token (xapp-…) accepted by apps.connections.open for Socket Mode. */
  appToken?: string;
  /** Start with Socket Mode enabled (the driver sends envelopes, never HTTP). Connecting over Socket Mode also enables it. */
  socketMode?: boolean;
  teamId?: string;
  teamName?: string;
  botName?: string;
  /** Firebreak's events URL, e.g. http://127.0.0.1:3000/slack/events. Every driver request goes there. */
  appUrl?: string;
  /** How long a trigger_id stays valid (default 3000 ms, like Slack). */
  triggerTtlMs?: number;
  /** How long the driver waits for the app's ack before treating the request as failed (default 3000 ms, like Slack). */
  ackTimeoutMs?: number;
}

export interface SlackFaults {
  /** Delay every answer of `method` ('*' = all methods) by `ms`. 0 removes it. */
  latencyMs(method: string | '*', ms: number): void;
  /** The next `times` calls of `method` ('*' = any method) get HTTP 429 with `Retry-After: retryAfterSec`. */
  rateLimit(method: string, times: number, retryAfterSec: number): void;
  /** The next call of `method` answers `{ok:false, error}` (missing_scope also carries needed/provided). */
  failNext(method: string, error: string): void;
  clear(): void;
}

export interface SlackEmulator {
  /** Value for WebClient's slackApiUrl, ending in '/api/'. */
  apiUrl: string;
  /** Base URL of the emulator (no trailing slash). */
  url: string;
  botToken: string;
  /** App-level token for Socket Mode (apps.connections.open); a bot token there answers not_allowed_token_type. */
  appToken: string;
  signingSecret: string;
  teamId: string;
  teamDomain: string;
  botUserId: string;
  botId: string;
  appId: string;
  setAppUrl(url: string): void;
  /** Serves `/view…` with this handler (the demo's browser view). */
  setViewHandler(fn: ((req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>) | null): void;
  state: SlackEmulatorState;
  addUser(u: { name: string; realName?: string; email?: string; isBot?: boolean; displayName?: string; title?: string; isAdmin?: boolean; tz?: string }): SlackUser;
  /** Creates a channel directly (no API call). Default: public, created by the first member or the bot; `members` default to the bot only. */
  addChannel(name: string, opts?: { isPrivate?: boolean; members?: string[]; botIsMember?: boolean; creator?: string; topic?: string; purpose?: string; archived?: boolean }): SlackChannel;
  /** Creates a user group (`S…`) with these members (no API call). */
  addUsergroup(name: string, opts?: { handle?: string; users?: string[]; disabled?: boolean }): SlackUsergroup;
  channelByName(name: string): SlackChannel | undefined;
  userByEmail(email: string): SlackUser | undefined;
  /** Messages visible in a channel (threads included), oldest first. */
  messagesIn(channelId: string): SlackMessage[];
  /** Ephemeral messages shown to a person (still visible ones unless `all`). */
  ephemeralsFor(userId: string, opts?: { all?: boolean }): SlackEphemeral[];
  /** Messages in the bot's DM with a person. */
  dmsTo(userId: string): SlackMessage[];
  /** Modals currently on screen (bottom of each stack first). */
  openViews(userId?: string): SlackView[];
  view(viewId: string): SlackView | undefined;
  /** A fresh trigger_id as if the person had just interacted (for tests that call views.open directly). */
  issueTriggerId(userId: string): string;
  /** Scopes of the bot token; methods needing a missing one answer `missing_scope`. */
  setScopes(scopes: string[]): void;
  callLog(): SlackApiCall[];
  /** Calls of one method, for brevity in assertions. */
  calls(method: string): SlackApiCall[];
  faults: SlackFaults;
  driver: SlackDriver;
  /** Socket Mode: connections, envelopes, disconnect/terminate (see README). */
  socketMode: SlackSocketMode;
  /** Back to a fresh workspace (bot + #general), no faults, empty call log. */
  reset(): void;
  stop(): Promise<void>;
}

const JSON_ARGS = ['blocks', 'attachments', 'view', 'metadata'];

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startSlackEmulator(opts: SlackEmulatorOptions = {}): Promise<SlackEmulator> {
  const teamId = opts.teamId ?? 'T0FIREBRK';
  const teamName = opts.teamName ?? 'Firebreak Emulated';
  const ws = new Workspace({
    teamId,
    teamName,
    teamDomain: teamName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'firebreak',
    botName: opts.botName ?? 'firebreak',
    botToken: opts.botToken ?? 'xoxb-0000000001-0000000002-emulatorbottoken0001',
    signingSecret: opts.signingSecret ?? 'emulator-signing-secret-0123456789ab',
    appId: 'A0FIREBRK1',
    botId: 'B0FIREBRK1',
    botUserId: 'U0FIREBOT1',
    verificationToken: 'emulatorverificationtoken',
  });
  if (opts.triggerTtlMs !== undefined) ws.triggerTtlMs = opts.triggerTtlMs;
  let appUrl = opts.appUrl;
  let baseUrl = '';
  const ackTimeoutMs = opts.ackTimeoutMs ?? 3000;

  const appToken = opts.appToken ?? 'xapp-1-A0FIREBRK1-0000000003-emulatorapptoken0001';
  const api = new WebApi(ws);
  const socketMode = new SocketModeHub({ appId: ws.cfg.appId, ackTimeoutMs: () => ackTimeoutMs });
  if (opts.socketMode) socketMode.enable();
  const driver = new Driver(ws, api, { appUrl: () => appUrl, baseUrl: () => baseUrl, ackTimeoutMs: () => ackTimeoutMs, socketMode: () => socketMode });

  // ---------- faults & call log ----------
  let log: SlackApiCall[] = [];
  const latency = new Map<string, number>();
  const rateLimits = new Map<string, { times: number; retryAfter: number }>();
  const failures = new Map<string, string[]>();
  const faults: SlackFaults = {
    latencyMs(method, ms) {
      if (ms > 0) latency.set(method, ms);
      else latency.delete(method);
    },
    rateLimit(method, times, retryAfterSec) {
      rateLimits.set(method, { times, retryAfter: retryAfterSec });
    },
    failNext(method, error) {
      failures.set(method, [...(failures.get(method) ?? []), error]);
    },
    clear() {
      latency.clear();
      rateLimits.clear();
      failures.clear();
    },
  };

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    const isText = typeof body === 'string';
    res.writeHead(status, { 'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8', ...headers });
    res.end(isText ? body : JSON.stringify(body));
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, method: string, query: URLSearchParams) {
    const raw = await readBody(req);
    const ct = (req.headers['content-type'] ?? '').toLowerCase();
    const at = Date.now();
    let args: Args = Object.fromEntries(query.entries());
    let parseError: string | undefined;
    if (raw.length) {
      if (ct.startsWith('application/json')) {
        try {
          const parsed = JSON.parse(raw);
          if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) parseError = 'json_not_object';
          else args = { ...args, ...parsed };
        } catch {
          parseError = 'invalid_json';
        }
      } else if (ct.startsWith('application/x-www-form-urlencoded') || ct === '') {
        args = { ...args, ...Object.fromEntries(new URLSearchParams(raw).entries()) };
      } else if (ct.startsWith('multipart/form-data')) {
        parseError = 'invalid_form_data';
      } else parseError = 'invalid_post_type';
    }
    const auth = req.headers.authorization;
    const token = auth?.toLowerCase().startsWith('bearer ') ? auth.slice(7).trim() : typeof args.token === 'string' ? args.token : undefined;
    const logged: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(args)) {
      if (k === 'token') continue;
      if (JSON_ARGS.includes(k) && typeof v === 'string') {
        try {
          logged[k] = JSON.parse(v);
          continue;
        } catch {
          /* keep raw */
        }
      }
      logged[k] = v;
    }
    const finish = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
      const ok = body.ok === true;
      log.push({ method, args: logged, ok, ...(ok ? {} : { error: String(body.error) }), status, at });
      send(res, status, body, { 'x-oauth-scopes': [...ws.state.scopes].join(','), 'x-accepted-oauth-scopes': (METHOD_SCOPES[method] ?? []).join(','), ...headers });
    };

    const delay = latency.get(method) ?? latency.get('*') ?? 0;
    if (delay > 0) await sleep(delay);

    const rlKey = rateLimits.has(method) ? method : '*';
    const rl = rateLimits.get(rlKey);
    if (rl && rl.times > 0) {
      rl.times -= 1;
      if (rl.times === 0) rateLimits.delete(rlKey);
      return finish(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(rl.retryAfter) });
    }
    const queued = failures.get(method);
    if (queued?.length) {
      const error = queued.shift()!;
      if (!queued.length) failures.delete(method);
      const extra = error === 'missing_scope' ? { needed: (METHOD_SCOPES[method] ?? ['unknown'])[0], provided: [...ws.state.scopes].join(',') } : {};
      return finish(200, { ok: false, error, ...extra });
    }
    if (parseError) return finish(200, { ok: false, error: parseError });
    if (method === 'apps.connections.open') {
      // Only an app-level token may open a Socket Mode connection.
      if (!token) return finish(200, { ok: false, error: 'not_authed' });
      if (token === ws.cfg.botToken) return finish(200, { ok: false, error: 'not_allowed_token_type' });
      if (token !== appToken) return finish(200, { ok: false, error: 'invalid_auth' });
      return finish(200, { ok: true, url: socketMode.openUrl(baseUrl) });
    }
    if (!api.has(method)) return finish(200, { ok: false, error: 'unknown_method' });
    if (method !== 'api.test') {
      if (!token) return finish(200, { ok: false, error: 'not_authed' });
      // An app-level token only opens connections; workspace methods need the bot token.
      if (token === appToken) return finish(200, { ok: false, error: 'not_allowed_token_type' });
      if (token !== ws.cfg.botToken) return finish(200, { ok: false, error: 'invalid_auth' });
    }
    const needed = METHOD_SCOPES[method];
    if (needed && !needed.some((s) => ws.state.scopes.has(s))) {
      return finish(200, { ok: false, error: 'missing_scope', needed: needed.join(','), provided: [...ws.state.scopes].join(',') });
    }
    try {
      finish(200, api.call(method, args));
    } catch (e) {
      if (e instanceof ApiError) finish(200, { ok: false, error: e.code, ...e.extra });
      else finish(200, { ok: false, error: 'fatal_error', detail: String(e) });
    }
  }

  /** JSON view of the whole state, for the standalone emulator. */
  function snapshot() {
    const st = ws.state;
    return {
      users: [...st.users.values()],
      channels: [...st.channels.values()],
      messages: st.messages,
      ephemerals: st.ephemerals,
      views: [...st.views.values()],
      events: st.events.map((e) => ({ eventId: e.eventId, type: e.envelope.event?.type, deliveries: e.deliveries })),
      calls: log,
      socketMode: { enabled: socketMode.enabled, connections: socketMode.connections(), envelopes: socketMode.envelopes(), queued: socketMode.queued().length },
    };
  }

  /** Small control API so the standalone emulator can be driven with curl (see README). */
  async function control(kind: string, action: string | undefined, raw: string): Promise<unknown> {
    let body: any = {};
    try {
      body = raw ? JSON.parse(raw) : {};
    } catch {
      return { ok: false, error: 'invalid_json' };
    }
    try {
      if (kind === 'reset') {
        emu.reset();
        return { ok: true };
      }
      if (kind === 'users') return { ok: true, user: emu.addUser(body) };
      if (kind === 'socket') {
        if (action === 'disconnect') return { ok: true, told: socketMode.disconnect(body) };
        if (action === 'terminate') return { ok: true, cut: socketMode.terminate(body.connectionId) };
        return { ok: false, error: 'unknown_action', allowed: ['disconnect', 'terminate'] };
      }
      if (kind === 'channels') return { ok: true, channel: emu.addChannel(String(body.name), body) };
      const d = driver as unknown as Record<string, (...a: unknown[]) => unknown>;
      const allowed = ['slashCommand', 'clickButton', 'selectOption', 'messageShortcut', 'globalShortcut', 'submitView', 'closeView', 'optionsRequest', 'pinMessage', 'react', 'postMessageAs', 'joinChannel', 'sendEvent', 'redeliverEvent', 'urlVerification'];
      if (!action || !allowed.includes(action)) return { ok: false, error: 'unknown_action', allowed };
      const result =
        action === 'postMessageAs'
          ? driver.postMessageAs(body.userId, body.channelId, body.text, body)
          : action === 'joinChannel'
            ? await driver.joinChannel(body.userId, body.channelId)
            : action === 'redeliverEvent'
              ? await driver.redeliverEvent(body.eventId, body)
              : action === 'urlVerification'
                ? await driver.urlVerification(body.challenge)
                : await d[action]!.call(driver, body);
      return { ok: true, result };
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
  }

  let viewHandler: ((req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>) | null = null;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const apiMatch = /^\/api\/([A-Za-z0-9_.]+)$/.exec(url.pathname);
    const hookMatch = /^\/hooks\/respond\/[^/]+\/([0-9a-f]+)$/.exec(url.pathname);
    const run = async () => {
      if (viewHandler && (url.pathname === '/view' || url.pathname.startsWith('/view/'))) return viewHandler(req, res, url);
      if (apiMatch) return handleApi(req, res, apiMatch[1]!, url.searchParams);
      if (hookMatch && req.method === 'POST') {
        const [status, body] = driver.handleResponseUrl(hookMatch[1]!, await readBody(req));
        return send(res, status, body as Record<string, unknown>);
      }
      if (url.pathname === '/_emulator/state' && req.method === 'GET') return send(res, 200, snapshot());
      const ctl = /^\/_emulator\/(driver|users|channels|reset|socket)(?:\/([A-Za-z]+))?$/.exec(url.pathname);
      if (ctl && req.method === 'POST') return send(res, 200, await control(ctl[1]!, ctl[2], await readBody(req)));
      if (url.pathname === '/' || url.pathname === '/health') {
        return send(res, 200, { ok: true, service: 'firebreak-slack-emulator', apiUrl: `${baseUrl}/api/`, appUrl: appUrl ?? null });
      }
      send(res, 404, 'not_found');
    };
    run().catch((e) => {
      if (!res.headersSent) send(res, 500, { ok: false, error: 'fatal_error', detail: String(e) });
    });
  });
  // Socket Mode: WebSocket upgrades on /link/?ticket=… (the URL apps.connections.open hands out).
  server.on('upgrade', (req, socket, head) => socketMode.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address === '0.0.0.0' ? '127.0.0.1' : addr.address;
  baseUrl = `http://${host}:${addr.port}`;

  const emu: SlackEmulator = {
    apiUrl: `${baseUrl}/api/`,
    url: baseUrl,
    botToken: ws.cfg.botToken,
    appToken,
    signingSecret: ws.cfg.signingSecret,
    teamId: ws.cfg.teamId,
    teamDomain: ws.cfg.teamDomain,
    botUserId: ws.cfg.botUserId,
    botId: ws.cfg.botId,
    appId: ws.cfg.appId,
    setViewHandler(fn) {
      viewHandler = fn;
    },
    setAppUrl(url) {
      appUrl = url;
    },
    get state() {
      return ws.state;
    },
    addUser: (u) => ws.addUser(u),
    addChannel(name, o = {}) {
      const members = o.members ?? [];
      const withBot = o.botIsMember === false ? members.filter((m) => m !== ws.cfg.botUserId) : [...new Set([ws.cfg.botUserId, ...members])];
      const ch = ws.createChannel(name, {
        isPrivate: o.isPrivate ?? false,
        creator: o.creator ?? members[0] ?? ws.cfg.botUserId,
        members: withBot,
        ...(o.topic !== undefined ? { topic: o.topic } : {}),
        ...(o.purpose !== undefined ? { purpose: o.purpose } : {}),
      });
      ch.isArchived = o.archived ?? false;
      return ch;
    },
    addUsergroup(name, o = {}) {
      const group: SlackUsergroup = { id: ws.newId('S'), name, handle: o.handle ?? name.toLowerCase().replace(/[^a-z0-9]+/g, '-'), users: [...(o.users ?? [])], disabled: o.disabled ?? false };
      ws.state.usergroups.set(group.id, group);
      return group;
    },
    channelByName: (name) => ws.channelByName(name),
    userByEmail: (email) => [...ws.state.users.values()].find((u) => u.email?.toLowerCase() === email.toLowerCase()),
    messagesIn: (channelId) => ws.messagesIn(channelId),
    ephemeralsFor: (userId, o = {}) => ws.state.ephemerals.filter((e) => e.user === userId && (o.all || !e.deleted)),
    dmsTo(userId) {
      const im = [...ws.state.channels.values()].find((c) => c.isIm && c.imUser === userId);
      return im ? ws.messagesIn(im.id) : [];
    },
    openViews(userId) {
      const out: SlackView[] = [];
      for (const [uid, stack] of ws.state.viewStacks) {
        if (userId !== undefined && uid !== userId) continue;
        for (const id of stack) {
          const v = ws.state.views.get(id);
          if (v?.isOpen) out.push(v);
        }
      }
      return out;
    },
    view: (id) => ws.state.views.get(id),
    issueTriggerId: (userId) => driver.issueTrigger(userId, 'test'),
    setScopes(scopes) {
      ws.state.scopes = new Set(scopes);
    },
    callLog: () => log.map((c) => ({ ...c })),
    calls: (method) => log.filter((c) => c.method === method),
    faults,
    driver,
    socketMode,
    reset() {
      ws.reset();
      driver.reset();
      socketMode.reset();
      if (opts.socketMode) socketMode.enable();
      faults.clear();
      log = [];
    },
    stop() {
      socketMode.close();
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
  return emu;
}
