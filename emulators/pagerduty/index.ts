import type { IncomingMessage, ServerResponse } from 'node:http';
/**
 * A local PagerDuty (REST API v2 + webhooks v3) for tests and for trying Firebreak without an account.
 *
 *   const pd = await startPagerDutyEmulator({ seed: 'medium' });
 *   await fetch(`${pd.baseUrl}/users`, { headers: { Authorization: `Token token=${pd.fullAccessKey}` } });
 *   await pd.stop();
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AccountAdmin } from './admin.js';
import { PdError } from './errors.js';
import { generateSeed } from './seed.js';
import { actAsOps, EmulatorServer } from './server.js';
import type {
  ChangeEventRecord, DeliveryRecord, EscalationPolicyRecord, Faults, IncidentRecord, LogEntryRecord, NoteRecord, PriorityRecord, RequestLogEntry, ScheduleRecord, SeedData, SeedSize, ServiceRecord, TagRecord, TeamRecord, UserRecord, ResponderRecord,
  WebhookSubscriptionRecord,
} from './types.js';

export type * from './types.js';
export { PdError } from './errors.js';
export { generateSeed, SEED_SIZES } from './seed.js';
export { signatureHeader } from './webhooks.js';

export interface PagerDutyEmulatorOptions {
  /** 0 (default) = a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 'small'. Ignored when `seedFile` is given. */
  seed?: SeedSize;
  /** How many schedules the generated seed has (default: the size's own count, e.g. 400 for huge). */
  seedSchedules?: number;
  /** A JSON file in the `SeedData` shape (e.g. saved from `GET /_emulator/export`). */
  seedFile?: string;
  /** Requests per minute per key; default 960; `false` turns rate limiting off. */
  rateLimitPerMinute?: number | false;
  /** Used in `html_url`s: https://<subdomain>.pagerduty.com/... Default 'firebreak-emulator'. */
  subdomain?: string;
  /** Fixed keys (default: random per start). */
  fullAccessKey?: string;
  readOnlyKey?: string;
  /** Delays before webhook retries (default [100, 250, 500, 1000, 2000] ms; PagerDuty itself retries for up to 48 h). */
  webhookRetryDelaysMs?: number[];
}

/** Readable account state. Records are live: read them, change the account through `admin` or the REST API. */
export interface PagerDutyEmulatorState {
  readonly users: ReadonlyMap<string, UserRecord>;
  readonly teams: ReadonlyMap<string, TeamRecord>;
  readonly schedules: ReadonlyMap<string, ScheduleRecord>;
  readonly services: ReadonlyMap<string, ServiceRecord>;
  readonly escalationPolicies: ReadonlyMap<string, EscalationPolicyRecord>;
  readonly priorities: ReadonlyMap<string, PriorityRecord>;
  readonly tags: ReadonlyMap<string, TagRecord>;
  readonly incidents: ReadonlyMap<string, IncidentRecord>;
  readonly logEntries: readonly LogEntryRecord[];
  readonly webhookSubscriptions: ReadonlyMap<string, WebhookSubscriptionRecord>;
  /** Change events sent through the Events API v2 (`POST /v2/change/enqueue`), oldest first by timestamp. */
  readonly changeEvents: readonly ChangeEventRecord[];
}

export interface ActingUser {
  acknowledge(incidentId: string): IncidentRecord;
  resolve(incidentId: string): IncidentRecord;
  addNote(incidentId: string, text: string): NoteRecord;
  /** Escalate to `level` (1-based) or, without it, to the next level. */
  escalate(incidentId: string, level?: number): IncidentRecord;
  reassign(incidentId: string, userIds: string[]): IncidentRecord;
  /** Answer this user's pending responder request on the incident (fires incident.responder.replied). */
  acceptResponderRequest(incidentId: string): ResponderRecord;
  declineResponderRequest(incidentId: string): ResponderRecord;
}

export interface PagerDutyEmulator {
  baseUrl: string;
  fullAccessKey: string;
  readOnlyKey: string;
  state: PagerDutyEmulatorState;
  requestLog(): RequestLogEntry[];
  clearRequestLog(): void;
  /** Act as a PagerDuty user (as if from the phone app): log entries and webhooks carry that user as agent. */
  actAs(userIdOrEmail: string): ActingUser;
  /** Change the account from PagerDuty's side (add/rename/delete users, teams, services, policies, tags; rotate webhook secrets). */
  admin: AccountAdmin;
  faults: { set(f: Faults): void; clear(): void; current(): Faults };
  webhooks: { flush(): Promise<void>; deliveries(): DeliveryRecord[] };
  /**
   * The clock on-call answers use (GET /oncalls, schedule rendering defaults, who a schedule target pages). Real
   * time unless set; `set` freezes it at that time, `advance` moves it (frozen or not), `reset` returns to real time.
   * Incident timestamps keep real time.
   */
  clock: { now(): Date; set(t: Date | string | number): void; advance(ms: number): void; reset(): void };
  /** Who is on call for a schedule at `at` (default: the clock's now): its layers, restrictions and overrides. */
  onCall(scheduleId: string, at?: Date | string | number): string | undefined;
  /** Reload a seed (default: the one the emulator started with); clears incidents, subscriptions, deliveries, the request log, faults, rate-limit windows and the clock. */
  reset(seed?: SeedSize | SeedData): Promise<void>;
  /** Serves `/view…` with this handler (the demo's browser view). */
  setViewHandler(fn: ((req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>) | null): void;
  stop(): Promise<void>;
}

export async function startPagerDutyEmulator(opts: PagerDutyEmulatorOptions = {}): Promise<PagerDutyEmulator> {
  const fullAccessKey = opts.fullAccessKey ?? `pdemu_full_${randomBytes(10).toString('hex')}`;
  const readOnlyKey = opts.readOnlyKey ?? `pdemu_ro_${randomBytes(10).toString('hex')}`;
  let initial: SeedSize | SeedData = opts.seed ?? 'small';
  if (opts.seedFile) initial = JSON.parse(await readFile(opts.seedFile, 'utf8')) as SeedData;
  let current: SeedSize | SeedData = initial;

  // Generated seeds are cached per process: the generator is deterministic, and reloading is then a copy.
  const load = async (seed: SeedSize | SeedData) => {
    current = seed;
    const data = typeof seed === 'string' ? cachedSeed(seed, opts.seedSchedules) : seed;
    server.webhooks.reset();
    server.store.load(data);
    if (server.baseUrl) server.store.warmJsonCache();
    server.clearRequestLog();
    server.setFaults({}, true);
    server.resetRateLimits();
    server.store.resetClock();
  };
  const server: EmulatorServer = new EmulatorServer({
    fullAccessKey, readOnlyKey, rateLimitPerMinute: opts.rateLimitPerMinute ?? 960,
    loadSeed: load, currentSeed: () => current,
  }, opts.subdomain);
  if (opts.webhookRetryDelaysMs) server.webhooks.options.retryDelaysMs = opts.webhookRetryDelaysMs;
  await load(initial);
  await server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1');
  const store = server.store;
  store.warmJsonCache();

  const state: PagerDutyEmulatorState = {
    get users() { return store.users; }, get teams() { return store.teams; }, get schedules() { return store.schedules; },
    get services() { return store.services; }, get escalationPolicies() { return store.escalationPolicies; },
    get priorities() { return store.priorities; }, get tags() { return store.tags; }, get incidents() { return store.incidents; },
    get logEntries() { return store.logEntries; }, get webhookSubscriptions() { return store.webhookSubscriptions; },
    get changeEvents() { return store.changeEvents; },
  };

  return {
    baseUrl: server.baseUrl, fullAccessKey, readOnlyKey, state,
    requestLog: () => server.requestLog(),
    clearRequestLog: () => server.clearRequestLog(),
    actAs(userIdOrEmail) {
      const user = store.findUser(userIdOrEmail);
      if (!user) throw new PdError(400, { error: { message: 'Requester User Not Found', code: 1008 } });
      return actAsOps(store, user, 'mobile');
    },
    admin: server.admin,
    faults: { set: (f) => server.setFaults(f), clear: () => server.setFaults({}, true), current: () => ({ ...server.faults }) },
    webhooks: { flush: () => server.webhooks.flush(), deliveries: () => server.webhooks.deliveries() },
    reset: (seed) => load(seed ?? initial),
    clock: {
      now: () => new Date(store.clockNow()),
      set: (t) => { const ms = toMs(t); store.setClock(ms); },
      advance: (ms) => { if (!Number.isFinite(ms)) throw new TypeError('advance(ms) needs a number'); store.advanceClock(ms); },
      reset: () => store.resetClock(),
    },
    onCall: (scheduleId, at) => store.onCallUser(scheduleId, at === undefined ? store.clockNow() : toMs(at)),
    setViewHandler: (fn) => { server.viewHandler = fn; },
    stop: () => server.close(),
  };
}

const seedCache = new Map<string, SeedData>();
function cachedSeed(size: SeedSize, schedules?: number): SeedData {
  const key = `${size}|${schedules ?? ''}`;
  let s = seedCache.get(key);
  if (!s) { s = generateSeed(size, undefined, schedules === undefined ? {} : { schedules }); seedCache.set(key, s); }
  return s;
}

function toMs(t: Date | string | number): number {
  const ms = t instanceof Date ? t.getTime() : typeof t === 'string' ? Date.parse(t) : t;
  if (!Number.isFinite(ms)) throw new TypeError(`not a time: ${String(t)}`);
  return ms;
}
