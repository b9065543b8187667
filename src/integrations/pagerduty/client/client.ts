import type { RequestBudget, RequestPriority } from './budget.js';
import {
  PagerDutyBadRequestError, PagerDutyError, PagerDutyForbiddenError, PagerDutyInvalidKeyError, PagerDutyNetworkError,
  PagerDutyNotFoundError, PagerDutyRateLimitedError, PagerDutyReadOnlyKeyError, PagerDutyServerError, parseErrorBody,
} from './errors.js';
import type {
  PdChangeEvent, PdEscalationPolicy, PdIncident, PdIncidentCreate, PdLogEntry, PdOncall, PdPage, PdPriority, PdRef, PdRenderedSchedule, PdSchedule, PdService, PdStatusUpdate, PdTag, PdTeam, PdTeamMember, PdUser, PdWebhookSubscription, PdResponderRequest, PdResponderTarget,
} from './wire.js';

// A typed PagerDuty REST API v2 client over fetch, one instance per connection. Every request goes through
// `request`: the connection's request budget, `Token token=` auth, the version Accept header, a per-request
// timeout, typed errors, waits on 429 exactly as long as `ratelimit-reset` says, and jittered backoff on 5xx,
// timeouts and dropped connections. Writes take the `From` email as a required argument. Firebreak's features
// call the named methods below (one per PagerDuty operation they use), never raw paths.

export type PagerDutyRegion = 'us' | 'eu';
export const REGION_BASE_URLS: Record<PagerDutyRegion, string> = { us: 'https://api.pagerduty.com', eu: 'https://api.eu.pagerduty.com' };
export const PAGE_LIMIT = 100;
/** PagerDuty refuses `offset + limit > 10000` on classic pagination. */
export const MAX_OFFSET_WINDOW = 10_000;

export type QueryValue = string | number | boolean | readonly (string | number)[] | undefined;
export type Query = Record<string, QueryValue>;

export interface PagerDutyClientOptions {
  apiKey: string;
  region?: PagerDutyRegion;
  /** Overrides the region's host (the emulator, a proxy). */
  baseUrl?: string | null;
  budget: RequestBudget;
  /** Per attempt; default 15 s. */
  timeoutMs?: number;
  /** Retries after 5xx, timeouts and dropped connections; default 5. */
  maxRetries?: number;
  /** Retries after 429; default 20 (each waits as the server says). */
  maxRateLimitRetries?: number;
  /** Backoff base for 5xx/timeouts; default 250 ms, capped at 10 s. */
  backoffBaseMs?: number;
  fetch?: typeof fetch;
  /** Called once per HTTP attempt (counting requests made). */
  onRequest?: (info: { method: string; path: string; status: number | null }) => void;
}

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Email of a user of the account; PagerDuty attributes the write to them. */
  from?: string;
  priority?: RequestPriority;
  signal?: AbortSignal;
  /** Safe to resend after a 5xx or timeout (GETs always are). */
  idempotent?: boolean;
}

export interface ReadOptions {
  priority?: RequestPriority;
  signal?: AbortSignal;
}

export interface WriteOptions extends ReadOptions {
  /** Required on every write: the email of the PagerDuty user the write is attributed to. */
  from: string;
}

export interface PageInfo {
  fetched: number;
  total: number | null;
}

export interface PaginateOptions extends ReadOptions {
  query?: Query;
  include?: string[];
  /** Called after each page with the running count and the total when known. */
  onPage?: (p: PageInfo) => void;
  /** Start reading at this position instead of 0 (any integer; PagerDuty's offsets are item positions). */
  startOffset?: number;
}

/** Encodes a query the way PagerDuty expects: arrays as repeated `name[]=` parameters. */
export function encodeQuery(q: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) {
      const name = k.endsWith('[]') ? k : `${k}[]`;
      for (const x of v as readonly (string | number)[]) params.append(name, String(x));
    } else params.append(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

function headerNumber(h: Headers, name: string): number | null {
  const v = h.get(name);
  if (v === null || v.trim() === '') return null;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

export class PagerDutyClient {
  readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly budget: RequestBudget;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly maxRateLimitRetries: number;
  private readonly backoffBaseMs: number;
  private readonly fetchFn: typeof fetch;
  private readonly onRequest?: PagerDutyClientOptions['onRequest'];

  constructor(opts: PagerDutyClientOptions) {
    this.baseUrl = (opts.baseUrl || REGION_BASE_URLS[opts.region ?? 'us']).replace(/\/+$/, '');
    this.apiKey = opts.apiKey;
    this.budget = opts.budget;
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.maxRetries = opts.maxRetries ?? 5;
    this.maxRateLimitRetries = opts.maxRateLimitRetries ?? 20;
    this.backoffBaseMs = opts.backoffBaseMs ?? 250;
    this.fetchFn = opts.fetch ?? fetch;
    this.onRequest = opts.onRequest;
  }

  /** Takes the budget's tokens for `count` interactive requests about to be made (RequestBudget.takeAhead). */
  takeAhead(count: number): void {
    if (count > 0) this.budget.takeAhead(count);
  }

  /** Keeps the key out of logs and error reports that print the client. */
  toJSON() {
    return { baseUrl: this.baseUrl };
  }

  /** The one place statuses become typed errors. */
  async request<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const url = `${this.baseUrl}${path}${encodeQuery(o.query)}`;
    const isWrite = method !== 'GET' && method !== 'HEAD';
    const retryable = !isWrite || o.idempotent === true;
    const headers: Record<string, string> = {
      authorization: `Token token=${this.apiKey}`,
      accept: 'application/vnd.pagerduty+json;version=2',
    };
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    if (o.from !== undefined) headers.from = o.from;
    const body = o.body === undefined ? undefined : JSON.stringify(o.body);
    let failures = 0;
    let limited = 0;
    for (;;) {
      await this.budget.acquire(o.priority ?? 'background', o.signal);
      let res: Response;
      let text: string;
      const timeout = AbortSignal.timeout(this.timeoutMs);
      const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
      try {
        res = await this.fetchFn(url, { method, headers, body, signal });
        text = await res.text();
      } catch (err) {
        this.onRequest?.({ method, path, status: null });
        if (o.signal?.aborted) throw o.signal.reason;
        const what = timeout.aborted ? `timed out after ${this.timeoutMs} ms` : `connection failed (${(err as Error).message})`;
        if (!retryable || failures >= this.maxRetries) throw new PagerDutyNetworkError(`PagerDuty ${method} ${path}: ${what}`);
        await sleep(this.backoff(failures++), o.signal);
        continue;
      }
      this.onRequest?.({ method, path, status: res.status });
      const resetSec = headerNumber(res.headers, 'ratelimit-reset');
      this.budget.observe({ status: res.status, remaining: headerNumber(res.headers, 'ratelimit-remaining'), resetMs: resetSec === null ? null : resetSec * 1000 });
      if (res.ok) {
        if (!text) return undefined as T;
        try {
          return JSON.parse(text) as T;
        } catch {
          if (!retryable || failures >= this.maxRetries) throw new PagerDutyServerError(`PagerDuty ${method} ${path}: the answer is not JSON`, res.status);
          await sleep(this.backoff(failures++), o.signal);
          continue;
        }
      }
      const e = parseErrorBody(text);
      const msg = `PagerDuty ${method} ${path}: ${res.status} ${e.message}${e.details.length ? ` (${e.details.join('; ')})` : ''}`;
      if (res.status === 429) {
        // Wait exactly what the server says; without the header, a second (PagerDuty's window granularity).
        const waitMs = resetSec !== null ? resetSec * 1000 : 1000;
        if (limited++ >= this.maxRateLimitRetries) throw new PagerDutyRateLimitedError(msg, waitMs);
        await sleep(waitMs, o.signal);
        continue;
      }
      if (res.status >= 500 || res.status === 408) {
        if (!retryable || failures >= this.maxRetries) throw new PagerDutyServerError(msg, res.status, e.code);
        await sleep(this.backoff(failures++), o.signal);
        continue;
      }
      if (res.status === 401) throw new PagerDutyInvalidKeyError('PagerDuty rejected this key', e.code);
      if (res.status === 403) throw isWrite ? new PagerDutyReadOnlyKeyError(msg, e.code) : new PagerDutyForbiddenError(msg, e.code);
      if (res.status === 404) throw new PagerDutyNotFoundError(msg, e.code);
      throw new PagerDutyBadRequestError(msg, res.status, e.code, e.details);
    }
  }

  /** Full jitter: a random wait up to base·2^n, capped at 10 s. */
  private backoff(n: number): number {
    return Math.random() * Math.min(10_000, this.backoffBaseMs * 2 ** n);
  }

  get<T>(path: string, query: Query = {}, o: ReadOptions = {}): Promise<T> {
    return this.request<T>('GET', path, { query, priority: o.priority, signal: o.signal });
  }

  /** Writes: `from` is part of the signature so it cannot be forgotten. */
  put<T>(path: string, body: unknown, o: WriteOptions & { idempotent?: boolean }): Promise<T> {
    return this.request<T>('PUT', path, { body, from: o.from, priority: o.priority ?? 'interactive', signal: o.signal, idempotent: o.idempotent ?? true });
  }

  post<T>(path: string, body: unknown, o: WriteOptions & { idempotent?: boolean }): Promise<T> {
    return this.request<T>('POST', path, { body, from: o.from, priority: o.priority ?? 'interactive', signal: o.signal, idempotent: o.idempotent ?? false });
  }

  /**
   * Every item of a classically paginated list: `limit=100`, `offset += limit` (the page size the server
   * actually used), `include[]` side-loads, `total=true` on the first page so progress can show a total.
   * Throws `PagerDutyWindowExceededError` when the list is longer than PagerDuty's 10,000 offset window.
   */
  async *paginate<T>(path: string, key: string, o: PaginateOptions = {}): AsyncGenerator<T[], void, void> {
    const start = Math.max(0, Math.floor(o.startOffset ?? 0));
    let offset = start;
    let fetched = 0;
    let total: number | null = null;
    const base: Query = { ...o.query, ...(o.include?.length ? { 'include[]': o.include } : {}) };
    for (;;) {
      // The last page before the window's end is read with a smaller limit (offset + limit may reach 10,000).
      const limit = Math.min(PAGE_LIMIT, MAX_OFFSET_WINDOW - offset);
      if (limit <= 0) throw new PagerDutyWindowExceededError(path, total);
      const page = await this.get<PdPage & Record<string, unknown>>(path, { ...base, limit, offset, ...(offset === start ? { total: 'true' } : {}) }, o);
      const items = Array.isArray(page?.[key]) ? (page[key] as T[]) : [];
      if (offset === start && typeof page.total === 'number') total = page.total;
      fetched += items.length;
      o.onPage?.({ fetched, total });
      yield items;
      if (!page.more || items.length === 0) return;
      offset += typeof page.limit === 'number' && page.limit > 0 ? Math.min(page.limit, limit) : limit;
    }
  }

  /** All items of a list, collected. */
  async list<T>(path: string, key: string, o: PaginateOptions = {}): Promise<T[]> {
    const out: T[] = [];
    for await (const page of this.paginate<T>(path, key, o)) out.push(...page);
    return out;
  }

  // ---- typed reads ----
  listUsers(o: PaginateOptions = {}) {
    return this.paginate<PdUser>('/users', 'users', o);
  }
  listTeams(o: PaginateOptions = {}) {
    return this.paginate<PdTeam>('/teams', 'teams', o);
  }
  listTeamMembers(teamId: string, o: PaginateOptions = {}) {
    return this.paginate<PdTeamMember>(`/teams/${encodeURIComponent(teamId)}/members`, 'members', o);
  }
  listServices(o: PaginateOptions = {}) {
    return this.paginate<PdService>('/services', 'services', o);
  }
  listEscalationPolicies(o: PaginateOptions = {}) {
    return this.paginate<PdEscalationPolicy>('/escalation_policies', 'escalation_policies', o);
  }
  listPriorities(o: PaginateOptions = {}) {
    return this.paginate<PdPriority>('/priorities', 'priorities', o);
  }
  /** Schedules; `include: ['schedule_layers']` brings each one's layers (and their users) in the same pages. */
  listSchedules(o: PaginateOptions = {}) {
    return this.paginate<PdSchedule>('/schedules', 'schedules', o);
  }
  async getUser(id: string, o: ReadOptions = {}): Promise<PdUser> {
    return (await this.get<{ user: PdUser }>(`/users/${encodeURIComponent(id)}`, {}, o)).user;
  }
  /** Users whose name or email contains `query` (one page of up to 100). */
  async searchUsers(query: string, o: ReadOptions = {}): Promise<{ users: PdUser[]; more: boolean }> {
    const r = await this.get<{ users?: PdUser[]; more?: boolean }>('/users', { query: query || undefined, limit: PAGE_LIMIT }, o);
    return { users: r.users ?? [], more: !!r.more };
  }
  /** Tags whose label is exactly `label` (case-insensitive), found through the `query` filter. */
  async findTagsByLabel(label: string, o: ReadOptions = {}): Promise<PdTag[]> {
    const tags = await this.list<PdTag>('/tags', 'tags', { ...o, query: { query: label } });
    return tags.filter((t) => typeof t.label === 'string' && t.label.trim().toLowerCase() === label.toLowerCase());
  }
  /** The reverse lookup: every object of `entityType` carrying the tag. */
  listTaggedEntities(tagId: string, entityType: 'users' | 'teams' | 'escalation_policies', o: PaginateOptions = {}) {
    return this.list<PdRef>(`/tags/${encodeURIComponent(tagId)}/${entityType}`, entityType, o);
  }

  // ---- incidents ----

  /** `POST /incidents`. A second open incident with the same `incident_key` is refused with 400. */
  async createIncident(incident: PdIncidentCreate, o: WriteOptions): Promise<PdIncident> {
    return (await this.post<{ incident: PdIncident }>('/incidents', { incident }, { ...o, priority: o.priority ?? 'interactive' })).incident;
  }

  async getIncident(id: string, o: ReadOptions = {}): Promise<PdIncident> {
    return (await this.get<{ incident: PdIncident }>(`/incidents/${encodeURIComponent(id)}`, {}, o)).incident;
  }

  /** The incident created with `incident_key` (any status, any date), or null. */
  async findByIncidentKey(key: string, o: ReadOptions = {}): Promise<PdIncident | null> {
    const r = await this.get<{ incidents?: PdIncident[] }>('/incidents', { incident_key: key, date_range: 'all', limit: 1 }, o);
    return r.incidents?.[0] ?? null;
  }

  /** Every log entry of an incident (PagerDuty lists them newest first). */
  listLogEntries(id: string, o: PaginateOptions = {}): Promise<PdLogEntry[]> {
    return this.list<PdLogEntry>(`/incidents/${encodeURIComponent(id)}/log_entries`, 'log_entries', o);
  }

  /** `PUT /incidents/{id}` with a new status. 400 code 1001: already resolved; 1002: already acknowledged. */
  async setIncidentStatus(id: string, status: 'acknowledged' | 'resolved', o: WriteOptions): Promise<void> {
    await this.put(`/incidents/${encodeURIComponent(id)}`, { incident: { type: 'incident_reference', status } }, o);
  }

  acknowledge(id: string, o: WriteOptions): Promise<void> {
    return this.setIncidentStatus(id, 'acknowledged', o);
  }

  resolve(id: string, o: WriteOptions): Promise<void> {
    return this.setIncidentStatus(id, 'resolved', o);
  }

  /** A note on the incident. Not idempotent: a resend after a timeout could add it twice. */
  async addNote(id: string, content: string, o: WriteOptions & { idempotent?: boolean }): Promise<void> {
    await this.post(`/incidents/${encodeURIComponent(id)}/notes`, { note: { content } }, o);
  }

  /**
   * A status update to the incident's subscribers (`POST /incidents/{id}/status_updates`, 200 `{status_update}`).
   * Not idempotent: PagerDuty has no key to recognise a resend, so a 5xx or timeout is not retried here (the
   * caller's job decides); 429 is, as PagerDuty did not take it. 400 code 1001: the incident is resolved.
   */
  async createStatusUpdate(id: string, message: string, o: WriteOptions): Promise<PdStatusUpdate> {
    const r = await this.post<{ status_update: PdStatusUpdate }>(`/incidents/${encodeURIComponent(id)}/status_updates`, { message }, { ...o, idempotent: false });
    return r.status_update;
  }

  // ---- change events ----

  /**
   * One page (up to 100, newest first) of a service's change events between `since` and `until` (UTC, to the
   * second: PagerDuty answers 400 to other offsets). A single page on purpose: callers show recent changes.
   */
  async listServiceChangeEvents(serviceId: string, window: { since: Date; until: Date }, o: ReadOptions = {}): Promise<{ changeEvents: PdChangeEvent[]; more: boolean }> {
    const r = await this.get<{ change_events?: PdChangeEvent[]; more?: boolean }>(`/services/${encodeURIComponent(serviceId)}/change_events`, { since: utcSecond(window.since), until: utcSecond(window.until), limit: PAGE_LIMIT }, o);
    return { changeEvents: Array.isArray(r?.change_events) ? r.change_events : [], more: !!r?.more };
  }

  /** The change events PagerDuty relates to an incident, each with its `correlation_reason` (one page of up to 100). */
  async listRelatedChangeEvents(incidentId: string, o: ReadOptions = {}): Promise<PdChangeEvent[]> {
    const r = await this.get<{ change_events?: PdChangeEvent[] }>(`/incidents/${encodeURIComponent(incidentId)}/related_change_events`, { limit: PAGE_LIMIT }, o);
    return Array.isArray(r?.change_events) ? r.change_events : [];
  }

  async getChangeEvent(id: string, o: ReadOptions = {}): Promise<PdChangeEvent> {
    return (await this.get<{ change_event: PdChangeEvent }>(`/change_events/${encodeURIComponent(id)}`, {}, o)).change_event;
  }

  /**
   * Who is on call (`GET /oncalls`), every page: filtered by policies, schedules and users (PagerDuty's `[]` array
   * filters), `earliest=true` (one entry per policy, level and user: the current one when `since`/`until` are left to
   * PagerDuty's default of now), users side-loaded so names and emails come with the answer.
   */
  listOncalls(f: { escalationPolicyIds?: readonly string[]; scheduleIds?: readonly string[]; userIds?: readonly string[]; since?: string; until?: string; earliest?: boolean; timeZone?: string }, o: ReadOptions = {}): Promise<PdOncall[]> {
    const query: Query = {
      'escalation_policy_ids[]': f.escalationPolicyIds?.length ? f.escalationPolicyIds : undefined,
      'schedule_ids[]': f.scheduleIds?.length ? f.scheduleIds : undefined,
      'user_ids[]': f.userIds?.length ? f.userIds : undefined,
      since: f.since,
      until: f.until,
      earliest: f.earliest === undefined ? undefined : String(f.earliest),
      time_zone: f.timeZone,
    };
    return this.list<PdOncall>('/oncalls', 'oncalls', { ...o, query, include: ['users'] });
  }

  /**
   * A schedule with its final layer rendered from `since` to `until` (`GET /schedules/{id}`); `overflow=true` keeps
   * each entry's real start and end rather than cutting them at the range, so the end is the next handoff.
   * 404 (`PagerDutyNotFoundError`) when the schedule does not exist (deleted).
   */
  async getScheduleRendered(id: string, range: { since: string; until: string }, o: ReadOptions = {}): Promise<PdRenderedSchedule> {
    return (await this.get<{ schedule: PdRenderedSchedule }>(`/schedules/${encodeURIComponent(id)}`, { since: range.since, until: range.until, overflow: 'true' }, o)).schedule;
  }

  /**
   * Asks users and escalation policies to join an incident as responders (`POST /incidents/{id}/responder_requests`,
   * 200 `{responder_request}`). `requester_id` is the PagerDuty user asking, normally the `From` user. Not idempotent
   * (PagerDuty notifies again on a resend), so a 5xx or timeout is not retried here: the caller looks on the
   * incident first; 429 is, as PagerDuty did not take it. 400 code 1001: the incident is resolved.
   */
  async createResponderRequest(id: string, req: { requesterId: string; message: string; targets: PdResponderTarget[] }, o: WriteOptions): Promise<PdResponderRequest> {
    const body = { requester_id: req.requesterId, message: req.message, responder_request_targets: req.targets.map((t) => ({ responder_request_target: { id: t.id, type: t.type } })) };
    const r = await this.post<{ responder_request?: PdResponderRequest }>(`/incidents/${encodeURIComponent(id)}/responder_requests`, body, { ...o, idempotent: false });
    return r?.responder_request ?? {};
  }

  async getService(id: string, o: ReadOptions = {}): Promise<PdService> {
    return (await this.get<{ service: PdService }>(`/services/${encodeURIComponent(id)}`, {}, o)).service;
  }

  /** An account-wide webhook subscription (HTTP delivery) for the given events; the answer holds its secret. */
  async createWebhookSubscription(sub: { url: string; description: string; events: readonly string[] }, o: WriteOptions): Promise<PdWebhookSubscription> {
    const body = {
      webhook_subscription: {
        type: 'webhook_subscription',
        delivery_method: { type: 'http_delivery_method', url: sub.url },
        description: sub.description,
        events: sub.events,
        filter: { type: 'account_reference' },
      },
    };
    return (await this.post<{ webhook_subscription: PdWebhookSubscription }>('/webhook_subscriptions', body, o)).webhook_subscription;
  }

  /** Asks PagerDuty to deliver a test event (`pagey.ping`) to a webhook subscription (202; no body, no From). */
  async pingWebhookSubscription(id: string, o: ReadOptions = {}): Promise<void> {
    await this.request<unknown>('POST', `/webhook_subscriptions/${encodeURIComponent(id)}/ping`, { priority: o.priority ?? 'interactive', signal: o.signal, idempotent: false });
  }

  /**
   * Whether the key may write, without changing anything: PagerDuty checks a key's scope before looking the
   * object up, so an update of an incident that cannot exist answers 403 to a read-only key and 404 to a
   * full-access one.
   */
  async probeWriteAccess(from: string, o: ReadOptions = {}): Promise<'full' | 'read_only'> {
    try {
      await this.acknowledge('PFIREBREAKPROBE', { from, ...o });
      throw new PagerDutyError('bad_request', 'PagerDuty accepted an update of an incident that should not exist', 200);
    } catch (err) {
      if (err instanceof PagerDutyReadOnlyKeyError) return 'read_only';
      if (err instanceof PagerDutyNotFoundError) return 'full';
      throw err;
    }
  }
}

/** `2024-07-17T08:42:58Z`: the UTC form PagerDuty's change event filters take. */
export function utcSecond(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class PagerDutyWindowExceededError extends PagerDutyError {
  constructor(path: string, readonly total: number | null) {
    super('bad_request', `PagerDuty ${path}: the list (${total ?? 'more than 10000'} items) is longer than PagerDuty's 10,000-item pagination window`, 400);
  }
}
