/**
 * HTTP plumbing: authentication, key scopes, the `From` header, rate limits, fault injection, the request log,
 * and the `/_emulator` control API. PagerDuty's own routes live in rest.ts.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AccountAdmin } from './admin.js';
import { enqueueChangeEvent } from './change-events.js';
import { accessDenied, invalidInput, notFound, pdError, PdError, rateLimited, unauthorized } from './errors.js';
import { buildRoutes, requiresFrom, type Query, type RestContext, type RestResult } from './rest.js';
import { createPrng } from './seed.js';
import { AccountStore, type Channel } from './store.js';
import type { Faults, RequestLogEntry, SeedData, SeedSize, UserRecord } from './types.js';
import { WebhookDispatcher } from './webhooks.js';

const MAX_BODY = 1024 * 1024;
const MAX_LOG = 10_000;

export interface ServerConfig {
  fullAccessKey: string;
  readOnlyKey: string;
  rateLimitPerMinute: number | false;
  /** Loads the named seed or seed data; provided by index.ts. */
  loadSeed: (seed: SeedSize | SeedData) => Promise<void>;
  currentSeed: () => SeedSize | SeedData;
}

class UrlQuery implements Query {
  constructor(private readonly p: URLSearchParams) {}
  get(name: string) { return this.p.get(name) ?? undefined; }
  has(name: string) { return this.p.has(name) || this.p.has(`${name}[]`); }
  list(name: string) {
    const out = [...this.p.getAll(`${name}[]`), ...this.p.getAll(name)];
    return out.flatMap((v) => (v.includes(',') && name !== 'query' ? v.split(',') : [v])).filter((v) => v !== '');
  }
}

interface RawLogEntry {
  at: number; method: string; path: string; search: string; headers: http.IncomingHttpHeaders; rawBody: string; status: number;
}

function toLogEntry(e: RawLogEntry): RequestLogEntry {
  const query: RequestLogEntry['query'] = {};
  for (const [k, v] of new URLSearchParams(e.search)) {
    const cur = query[k];
    query[k] = cur === undefined ? v : Array.isArray(cur) ? [...cur, v] : [cur, v];
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : (v ?? '');
  let body: unknown = null;
  if (e.rawBody !== '') { try { body = JSON.parse(e.rawBody); } catch { body = e.rawBody; } }
  return { at: new Date(e.at).toISOString(), method: e.method, path: e.path, query, headers,
    from: typeof e.headers.from === 'string' ? e.headers.from : null, body, status: e.status };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export class EmulatorServer {
  readonly store: AccountStore;
  readonly webhooks: WebhookDispatcher;
  readonly admin: AccountAdmin;
  private readonly routes;
  private readonly server: http.Server;
  private log: RawLogEntry[] = [];
  faults: Faults = {};
  private faultRand = createPrng(0xfa17);
  private windows = new Map<string, { start: number; count: number }>();
  baseUrl = '';

  viewHandler: ((req: http.IncomingMessage, res: http.ServerResponse, url: URL) => Promise<void>) | null = null;

  constructor(private readonly config: ServerConfig, subdomain?: string) {
    this.store = new AccountStore(subdomain);
    this.webhooks = new WebhookDispatcher(this.store);
    this.store.onEvent = (e) => this.webhooks.publish(e);
    this.admin = new AccountAdmin(this.store);
    this.routes = buildRoutes(this.store, this.webhooks);
    this.server = http.createServer((req, res) => {
      // Whatever arrives, the emulator answers (or drops the connection); it never crashes on input.
      this.handle(req, res).catch(() => {
        try { this.send(res, 500, { error: { message: 'Internal Server Error', code: 2000 } }); } catch { req.socket.destroy(); }
      });
    });
    this.server.keepAliveTimeout = 10_000;
    this.server.on('clientError', (_e, socket) => { try { socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'); } catch { /* socket gone */ } });
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        const a = this.server.address() as AddressInfo;
        const h = a.family === 'IPv6' ? `[${a.address}]` : a.address;
        this.baseUrl = `http://${h}:${a.port}`;
        this.store.apiBase = this.baseUrl;
        resolve();
      });
    });
  }

  close(): Promise<void> {
    this.webhooks.reset();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** The log keeps raw request parts on the hot path; they are turned into RequestLogEntry when read. */
  requestLog(): RequestLogEntry[] { return this.log.map(toLogEntry); }
  clearRequestLog(): void { this.log = []; }
  resetRateLimits(): void { this.windows.clear(); }

  // ---------- request pipeline ----------
  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const rawUrl = req.url ?? '/';
    const qi = rawUrl.indexOf('?');
    const rawPath = qi === -1 ? rawUrl : rawUrl.slice(0, qi);
    const search = qi === -1 ? '' : rawUrl.slice(qi + 1);
    const path = rawPath.length > 1 ? rawPath.replace(/\/+$/, '') || '/' : rawPath;
    // The demo's browser view (emulators/pagerduty/view), when installed: not PagerDuty's, never logged.
    if (this.viewHandler && (path === '/view' || path.startsWith('/view/'))) return this.viewHandler(req, res, new URL(rawUrl, 'http://emulator'));
    let rawBody = '';
    try {
      if (method !== 'GET' && method !== 'HEAD') rawBody = await readBody(req);
    } catch (e) {
      this.send(res, e instanceof PdError ? e.status : 400, e instanceof PdError ? e.body : { error: { message: 'Invalid Input Provided', code: 2001 } });
      return;
    }
    const params = new URLSearchParams(search);
    if (path === '/_emulator' || path.startsWith('/_emulator/')) {
      await this.handleControl(method, path.slice('/_emulator'.length) || '/', params, rawBody, res);
      return;
    }
    // The Events API v2 (PagerDuty serves it from events.pagerduty.com/v2; here from /v2 on the same host): no API key,
    // its own answers, and not in the REST request log (which is checked against the REST document).
    if (path === '/v2/change/enqueue') {
      if (method !== 'POST') { this.send(res, 405, { status: 'invalid event', message: 'Method Not Allowed', errors: ['Use POST.'] }); return; }
      const r = enqueueChangeEvent(this.store, rawBody);
      this.send(res, r.status, r.body);
      return;
    }
    const entry: RawLogEntry = { at: Date.now(), method, path, search, headers: req.headers, rawBody, status: 0 };
    this.log.push(entry);
    if (this.log.length > MAX_LOG) this.log.splice(0, this.log.length - MAX_LOG);

    // fault injection (REST only)
    const f = this.faults;
    if (f.dropConnectionRate && this.faultRand() < f.dropConnectionRate) {
      entry.status = -1;
      req.socket.destroy();
      return;
    }
    if (f.latencyMs) await new Promise((r) => setTimeout(r, f.latencyMs));
    const pathDelay = this.pathLatency(path);
    if (pathDelay) await new Promise((r) => setTimeout(r, pathDelay));
    const extraHeaders: Record<string, string> = {};
    let result: RestResult;
    try {
      if (f.rateLimitBurst && f.rateLimitBurst > 0) {
        f.rateLimitBurst--;
        if (f.rateLimitBurstHeaders !== false) Object.assign(extraHeaders, { 'ratelimit-limit': String(this.config.rateLimitPerMinute || 960), 'ratelimit-remaining': '0', 'ratelimit-reset': '1' });
        throw rateLimited();
      }
      if (f.errorRate5xx && this.faultRand() < f.errorRate5xx) throw pdError(500, 2000, 'Internal Server Error');
      result = this.rest(method, path, params, rawBody, req, extraHeaders);
    } catch (e) {
      if (e instanceof PdError) result = { status: e.status, body: e.body };
      else result = { status: 500, body: { error: { message: 'Internal Server Error', code: 2000 } } };
    }
    entry.status = result.status;
    if (f.answerDelayMs) await new Promise((r) => setTimeout(r, f.answerDelayMs));
    if (result.raw !== undefined) this.sendRaw(res, result.status, result.raw, extraHeaders);
    else this.send(res, result.status, result.body, extraHeaders);
  }

  private pathLatencies: { re: RegExp; ms: number }[] = [];
  /** Extra latency of this path from `faults.pathLatencyMs` (the largest that matches). */
  private pathLatency(path: string): number {
    let ms = 0;
    for (const p of this.pathLatencies) if (p.ms > ms && p.re.test(path)) ms = p.ms;
    return ms;
  }

  private rest(method: string, path: string, params: URLSearchParams, rawBody: string, req: http.IncomingMessage, headers: Record<string, string>): RestResult {
    // 1. authentication
    const auth = req.headers.authorization ?? '';
    const m = /^Token token=(.+)$/.exec(auth.trim());
    const key = m?.[1]?.trim();
    if (!key || (key !== this.config.fullAccessKey && key !== this.config.readOnlyKey)) throw unauthorized();
    // 2. rate limit, per key
    const limit = this.config.rateLimitPerMinute;
    if (limit !== false) {
      const t = Date.now();
      let w = this.windows.get(key);
      if (!w || t - w.start >= 60_000) { w = { start: t, count: 0 }; this.windows.set(key, w); }
      const reset = String(Math.max(1, Math.ceil((w.start + 60_000 - t) / 1000)));
      if (w.count >= limit) {
        Object.assign(headers, { 'ratelimit-limit': String(limit), 'ratelimit-remaining': '0', 'ratelimit-reset': reset });
        throw rateLimited();
      }
      w.count++;
      Object.assign(headers, { 'ratelimit-limit': String(limit), 'ratelimit-remaining': String(limit - w.count), 'ratelimit-reset': reset });
    }
    // 3. key scope: a read-only key may not write, checked before any lookup
    if (method !== 'GET' && method !== 'HEAD' && key === this.config.readOnlyKey) throw accessDenied();
    // 4. route
    let matchedPath = false;
    for (const r of this.routes) {
      const mm = r.pattern.exec(path);
      if (!mm) continue;
      matchedPath = true;
      if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) continue;
      const store = this.store;
      let parsed: { v: unknown } | undefined;
      const ctx: RestContext = {
        method, params: mm.slice(1).map((p) => { try { return decodeURIComponent(p); } catch { return p; } }), query: new UrlQuery(params),
        body: () => {
          if (parsed) return parsed.v;
          if (rawBody.trim() === '') throw invalidInput('Request body is empty.');
          try { parsed = { v: JSON.parse(rawBody) }; } catch { throw pdError(400, 2001, 'Invalid Input Provided', ['The request body is not valid JSON.']); }
          return parsed.v;
        },
        fromUser: () => fromUser(store, req.headers.from),
      };
      if (requiresFrom(method, path)) ctx.fromUser();
      return r.handler(ctx);
    }
    if (matchedPath) throw pdError(405, 2001, 'Method Not Allowed');
    throw notFound();
  }

  private send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.sendRaw(res, status, body === undefined || status === 204 ? '' : JSON.stringify(body), headers);
  }

  private sendRaw(res: http.ServerResponse, status: number, text: string | Buffer, headers: Record<string, string> = {}): void {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, {
      ...headers,
      ...(text ? { 'content-type': 'application/json; charset=utf-8' } : {}),
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  // ---------- control API ----------
  private async handleControl(method: string, path: string, params: URLSearchParams, rawBody: string, res: http.ServerResponse): Promise<void> {
    let body: unknown = {};
    try {
      if (rawBody.trim() !== '') {
        try { body = JSON.parse(rawBody); } catch { throw invalidInput('The request body is not valid JSON.'); }
      }
      const out = await this.control(method, path, params, body);
      this.send(res, out.status, out.body);
    } catch (e) {
      if (e instanceof PdError) this.send(res, e.status, e.body);
      else this.send(res, 500, { error: { message: e instanceof Error ? e.message : 'Internal error', code: 2000 } });
    }
  }

  private async control(method: string, path: string, params: URLSearchParams, body: unknown): Promise<RestResult> {
    const b = isObj(body) ? body : {};
    const seg = path.split('/').filter(Boolean);
    const entities = ['users', 'teams', 'services', 'escalation_policies', 'tags', 'webhook_subscriptions', 'schedules'];
    const route = `${method} /${seg.map((x, i) => (i === 1 && entities.includes(seg[0]!) ? ':id' : i === 3 && seg[0] === 'schedules' ? ':sub' : x)).join('/')}`;
    const id = seg[1] ?? '';
    const sub = seg[3] ?? '';
    const s = this.store;
    switch (route) {
      case 'GET /': return { status: 200, body: { routes: CONTROL_ROUTES } };
      case 'GET /keys': return { status: 200, body: { base_url: this.baseUrl, full_access_key: this.config.fullAccessKey, read_only_key: this.config.readOnlyKey } };
      case 'GET /state': return { status: 200, body: { counts: {
        users: s.users.size, teams: s.teams.size, services: s.services.size, escalation_policies: s.escalationPolicies.size,
        schedules: s.schedules.size, priorities: s.priorities.size, tags: s.tags.size, incidents: s.incidents.size,
        log_entries: s.logEntries.length, webhook_subscriptions: s.webhookSubscriptions.size, change_events: s.changeEvents.length } } };
      case 'GET /export': return { status: 200, body: s.export() };
      case 'POST /reset': {
        const seed = b.seed ?? this.config.currentSeed();
        await this.config.loadSeed(seedArg(seed));
        return { status: 200, body: { ok: true } };
      }
      case 'POST /seed': {
        if (typeof b.size === 'string') await this.config.loadSeed(seedArg(b.size));
        else if (isObj(b.data)) await this.config.loadSeed(seedArg(b.data));
        else if (typeof b.file === 'string') {
          let data: unknown;
          try { data = JSON.parse(await readFile(b.file, 'utf8')); } catch (e) { throw invalidInput(`Could not read ${b.file}: ${(e as Error).message}`); }
          await this.config.loadSeed(seedArg(data));
        } else throw invalidInput('Send {"size":"small|medium|large|huge|none"}, {"data": <seed JSON>} or {"file": "/path/to/seed.json"}.');
        return { status: 200, body: { ok: true } };
      }
      case 'POST /act_as': {
        const user = typeof b.user === 'string' ? s.findUser(b.user) : undefined;
        if (!user) throw invalidInput('user must be the id or email of a user in the account.');
        const incident = typeof b.incident_id === 'string' ? b.incident_id : '';
        const acts = actAsOps(this.store, user, 'mobile');
        switch (b.action) {
          case 'acknowledge': return { status: 200, body: { incident: s.incidentWire(acts.acknowledge(incident)) } };
          case 'resolve': return { status: 200, body: { incident: s.incidentWire(acts.resolve(incident)) } };
          case 'add_note': return { status: 200, body: { note: s.noteWire(acts.addNote(incident, typeof b.content === 'string' ? b.content : '')) } };
          case 'escalate': return { status: 200, body: { incident: s.incidentWire(acts.escalate(incident, typeof b.level === 'number' ? b.level : undefined)) } };
          case 'reassign': {
            if (!Array.isArray(b.user_ids)) throw invalidInput('user_ids must be an array.');
            return { status: 200, body: { incident: s.incidentWire(acts.reassign(incident, b.user_ids as string[])) } };
          }
          case 'accept_responder_request':
          case 'decline_responder_request': {
            acts[b.action === 'accept_responder_request' ? 'acceptResponderRequest' : 'declineResponderRequest'](incident);
            const i = s.getIncident(incident);
            return { status: 200, body: { incident: s.incidentWire(i) } };
          }
          default: throw invalidInput('action must be one of acknowledge, resolve, add_note, escalate, reassign, accept_responder_request, decline_responder_request.');
        }
      }
      case 'POST /trigger': return { status: 201, body: { incident: s.incidentWire(this.admin.triggerIncident(b as never)) } };
      case 'POST /users': return { status: 201, body: { user: this.admin.addUser(b) } };
      case 'PATCH /users/:id': return { status: 200, body: { user: this.admin.updateUser(id, b) } };
      case 'DELETE /users/:id': this.admin.deleteUser(id); return { status: 204 };
      case 'POST /teams': return { status: 201, body: { team: this.admin.addTeam(b) } };
      case 'PATCH /teams/:id': return { status: 200, body: { team: this.admin.updateTeam(id, b) } };
      case 'DELETE /teams/:id': this.admin.deleteTeam(id); return { status: 204 };
      case 'POST /services': return { status: 201, body: { service: this.admin.addService(b) } };
      case 'PATCH /services/:id': return { status: 200, body: { service: this.admin.updateService(id, b) } };
      case 'DELETE /services/:id': this.admin.deleteService(id); return { status: 204 };
      case 'GET /services/:id/integrations': return { status: 200, body: { integrations: this.admin.integrations(id) } };
      case 'POST /services/:id/integrations': return { status: 201, body: { integration: this.admin.addIntegration(id, b) } };
      case 'POST /escalation_policies': return { status: 201, body: { escalation_policy: this.admin.addEscalationPolicy(b) } };
      case 'PATCH /escalation_policies/:id': return { status: 200, body: { escalation_policy: this.admin.updateEscalationPolicy(id, b) } };
      case 'DELETE /escalation_policies/:id': this.admin.deleteEscalationPolicy(id); return { status: 204 };
      case 'POST /tags': return { status: 201, body: { tag: this.admin.addTag({ label: b.label as string, id: b.id as string | undefined }) } };
      case 'PATCH /tags/:id': return { status: 200, body: { tag: this.admin.renameTag(id, b.label as string) } };
      case 'DELETE /tags/:id': this.admin.deleteTag(id); return { status: 204 };
      case 'POST /tags/:id/assign': this.admin.tagEntity(id, b.entity_type as never, b.entity_id as string); return { status: 204 };
      case 'POST /tags/:id/unassign': this.admin.untagEntity(id, b.entity_type as never, b.entity_id as string); return { status: 204 };
      case 'POST /schedules': return { status: 201, body: { schedule: this.admin.addSchedule(b) } };
      case 'PATCH /schedules/:id': return { status: 200, body: { schedule: this.admin.updateSchedule(id, b) } };
      case 'DELETE /schedules/:id': this.admin.deleteSchedule(id); return { status: 204 };
      case 'POST /schedules/:id/layers': return { status: 201, body: { layer: this.admin.addScheduleLayer(id, b as never) } };
      case 'PATCH /schedules/:id/layers/:sub': return { status: 200, body: { layer: this.admin.updateScheduleLayer(id, sub, b) } };
      case 'DELETE /schedules/:id/layers/:sub': this.admin.deleteScheduleLayer(id, sub); return { status: 204 };
      case 'POST /schedules/:id/overrides': return { status: 201, body: { override: this.admin.addScheduleOverride(id, b as never) } };
      case 'DELETE /schedules/:id/overrides/:sub': this.admin.deleteScheduleOverride(id, sub); return { status: 204 };
      case 'GET /clock': return { status: 200, body: { clock: s.clockState() } };
      case 'PUT /clock': {
        if (b.now !== undefined) {
          const t = typeof b.now === 'number' ? b.now : typeof b.now === 'string' ? Date.parse(b.now) : NaN;
          if (!Number.isFinite(t)) throw invalidInput('now must be an ISO 8601 date-time or milliseconds since the epoch.');
          s.setClock(t);
        }
        if (b.advance_ms !== undefined) {
          if (typeof b.advance_ms !== 'number' || !Number.isFinite(b.advance_ms)) throw invalidInput('advance_ms must be a number.');
          s.advanceClock(b.advance_ms);
        }
        if (b.now === undefined && b.advance_ms === undefined) throw invalidInput('Send {"now": "<ISO date-time>"} and/or {"advance_ms": <number>}.');
        return { status: 200, body: { clock: s.clockState() } };
      }
      case 'DELETE /clock': s.resetClock(); return { status: 204 };
      case 'GET /faults': return { status: 200, body: { faults: this.faults } };
      case 'PUT /faults': this.setFaults(b as Faults); return { status: 200, body: { faults: this.faults } };
      case 'DELETE /faults': this.setFaults({}, true); return { status: 204 };
      case 'GET /requests': {
        const m = params.get('method'); const p = params.get('path');
        return { status: 200, body: { requests: this.log.filter((e) => (!m || e.method === m.toUpperCase()) && (!p || e.path === p)).map(toLogEntry) } };
      }
      case 'DELETE /requests': this.clearRequestLog(); return { status: 204 };
      case 'GET /webhook_deliveries': return { status: 200, body: { deliveries: this.webhooks.deliveries() } };
      case 'POST /webhooks/flush': await this.webhooks.flush(); return { status: 200, body: { deliveries: this.webhooks.deliveries().length } };
      case 'POST /webhook_subscriptions/:id/rotate_secret': return { status: 200, body: this.admin.rotateWebhookSecret(id) };
      case 'POST /webhook_subscriptions/:id/finish_rotation': this.admin.finishSecretRotation(id); return { status: 204 };
      default: throw notFound();
    }
  }

  setFaults(f: Faults, replace = false): void {
    const check = (v: unknown, name: string, max?: number) => {
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (max !== undefined && v > max))) {
        throw invalidInput(`${name} must be a number${max !== undefined ? ` between 0 and ${max}` : ' >= 0'}.`);
      }
    };
    check(f.latencyMs, 'latencyMs'); check(f.answerDelayMs, 'answerDelayMs'); check(f.errorRate5xx, 'errorRate5xx', 1); check(f.rateLimitBurst, 'rateLimitBurst');
    check(f.dropConnectionRate, 'dropConnectionRate', 1); check(f.webhookReceiverTimeoutMs, 'webhookReceiverTimeoutMs');
    const next: Faults = replace ? {} : { ...this.faults };
    for (const k of ['latencyMs', 'answerDelayMs', 'errorRate5xx', 'rateLimitBurst', 'dropConnectionRate', 'webhookReceiverTimeoutMs'] as const) {
      if (f[k] !== undefined) next[k] = f[k];
    }
    if (f.rateLimitBurstHeaders !== undefined) {
      if (typeof f.rateLimitBurstHeaders !== 'boolean') throw invalidInput('rateLimitBurstHeaders must be a boolean.');
      next.rateLimitBurstHeaders = f.rateLimitBurstHeaders;
    }
    if (f.pathLatencyMs !== undefined) {
      if (!isObj(f.pathLatencyMs)) throw invalidInput('pathLatencyMs must be an object of path template -> milliseconds.');
      for (const [k, v] of Object.entries(f.pathLatencyMs)) {
        if (!k.startsWith('/')) throw invalidInput('pathLatencyMs keys must be paths starting with /.');
        check(v, `pathLatencyMs["${k}"]`);
      }
      next.pathLatencyMs = { ...f.pathLatencyMs };
    }
    this.pathLatencies = Object.entries(next.pathLatencyMs ?? {}).map(([k, ms]) => ({
      re: new RegExp(`^${k.split('/').map((seg) => (/^\{[^}]*\}$/.test(seg) ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}$`), ms,
    }));
    this.faults = next;
    this.webhooks.receiverTimeoutMs = next.webhookReceiverTimeoutMs;
  }
}

function seedArg(v: unknown): SeedSize | SeedData {
  if (typeof v === 'string') {
    if (['small', 'medium', 'large', 'huge', 'none'].includes(v)) return v as SeedSize;
    throw invalidInput('seed must be one of small, medium, large, huge, none.');
  }
  if (isObj(v) && Array.isArray(v.users)) return v as unknown as SeedData;
  throw invalidInput('seed must be a size name or seed data.');
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) { reject(pdError(413, 2001, 'Request Entity Too Large')); req.resume(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Resolve the `From` header to a user, with PagerDuty's errors. */
export function fromUser(store: AccountStore, header: string | string[] | undefined): UserRecord {
  if (header === undefined) {
    throw pdError(400, 2016, 'You must specify a user\'s email address in the "From" header to perform this action');
  }
  const v = Array.isArray(header) ? header[0] ?? '' : header;
  if (v.trim() === '' || !/^[^@\s]+@[^@\s]+$/.test(v.trim())) {
    throw pdError(400, 1028, 'The "From" header must be the email address of a user in the account', ['Invalid "From" header']);
  }
  const u = store.userByEmail(v);
  if (!u) throw pdError(400, 1008, 'Requester User Not Found');
  // Roles that may look but not act (PagerDuty's read-only "stakeholder" roles, observers, restricted access): the
  // write is refused as that user lacks the permission, before the object is looked up. PagerDuty's documentation
  // does not show this answer; the emulator uses the documented envelope for it (403, 2010 Access Denied).
  if (REFUSED_ROLES.has(u.role)) throw pdError(403, 2010, 'Access Denied', [`The user ${u.email.trim()} (role ${u.role}) does not have permission to perform this action.`]);
  return u;
}

/** Roles whose writes PagerDuty refuses. */
export const REFUSED_ROLES: ReadonlySet<string> = new Set(['read_only_user', 'read_only_limited_user', 'observer', 'restricted_access']);

/** Acting as a PagerDuty user: the same lifecycle as the REST API, attributed to `user`. */
export function actAsOps(store: AccountStore, user: UserRecord, channel: Channel) {
  return {
    acknowledge: (incidentId: string) => store.acknowledge(user.id, incidentId, channel),
    resolve: (incidentId: string) => store.resolve(user.id, incidentId, channel),
    addNote: (incidentId: string, text: string) => store.addNote(user.id, incidentId, text, channel),
    escalate: (incidentId: string, level?: number) => store.escalate(user.id, incidentId, level, channel),
    reassign: (incidentId: string, userIds: string[]) => store.reassign(user.id, incidentId, userIds, channel),
    acceptResponderRequest: (incidentId: string) => store.replyToResponderRequest(user.id, incidentId, 'joined', channel),
    declineResponderRequest: (incidentId: string) => store.replyToResponderRequest(user.id, incidentId, 'declined', channel),
  };
}

export const CONTROL_ROUTES = [
  'GET /_emulator/keys', 'GET /_emulator/state', 'GET /_emulator/export', 'POST /_emulator/reset', 'POST /_emulator/seed',
  'POST /_emulator/act_as', 'POST /_emulator/trigger', 'POST|PATCH|DELETE /_emulator/users[/:id]', 'POST|PATCH|DELETE /_emulator/teams[/:id]',
  'POST|PATCH|DELETE /_emulator/services[/:id]', 'GET|POST /_emulator/services/:id/integrations', 'POST|PATCH|DELETE /_emulator/escalation_policies[/:id]',
  'POST|PATCH|DELETE /_emulator/tags[/:id]', 'POST|PATCH|DELETE /_emulator/schedules[/:id]',
  'POST /_emulator/schedules/:id/layers', 'PATCH|DELETE /_emulator/schedules/:id/layers/:layer_id',
  'POST /_emulator/schedules/:id/overrides', 'DELETE /_emulator/schedules/:id/overrides/:override_id', 'GET|PUT|DELETE /_emulator/clock', 'POST /_emulator/tags/:id/assign', 'POST /_emulator/tags/:id/unassign',
  'GET|PUT|DELETE /_emulator/faults', 'GET|DELETE /_emulator/requests', 'GET /_emulator/webhook_deliveries',
  'POST /_emulator/webhooks/flush', 'POST /_emulator/webhook_subscriptions/:id/rotate_secret',
  'POST /_emulator/webhook_subscriptions/:id/finish_rotation',
];
