import { recordAudit } from '../../audit/audit.js';
import type { CatalogService } from '../../catalog/catalog.service.js';
import { runCatalogSync, SyncCancelledError } from '../../catalog/sync.js';
import type { SyncRun, SyncRunsRepository } from '../../catalog/sync-runs.js';
import type { ConnectionsStore } from '../connections.js';
import { maskSecret } from '../../platform/crypto/secrets.js';
import type { Db, DbDialect, Executor } from '../../platform/db/index.js';
import { inTransaction } from '../../platform/db/index.js';
import { AppError, ConflictError, UpstreamError, ValidationError } from '../../platform/errors.js';
import type { Actor } from '../../platform/events.js';
import type { JobQueue } from '../../platform/jobs/types.js';
import type { Logger } from '../../platform/logger.js';
import { MemoryRequestBudget, PostgresRequestBudget, type RequestBudget } from './client/budget.js';
import { PagerDutyClient, type PagerDutyRegion } from './client/client.js';
import { PagerDutyError, PagerDutyInvalidKeyError } from './client/errors.js';
import type { PdUser } from './client/wire.js';
import { PD_TYPES, PD_TYPE_KEYS, PagerDutyCatalogSource } from './catalog-source.js';
import { AccountCatalogSource, ACCOUNT_ATTRIBUTE } from './account-source.js';
import { FIRST_ACCOUNT, accountKind, accountOfKind, newAccountId } from './accounts.js';

// Connecting PagerDuty: check the key (valid, right region, full access) without changing the account, choose
// the bot user every escalation comes from, store the key encrypted, and keep the catalog in sync. Every
// change of the connection is audited; the key is never returned, only its last four characters.

export const KIND = 'pagerduty';
export const SYNC_JOB = 'pagerduty.catalog-sync';
export const SYNC_TICK_JOB = 'pagerduty.catalog-sync-tick';
export const SYNC_QUEUE = 'catalog-sync:pagerduty';
const DISCONNECTED = 'PagerDuty was disconnected';
const RECONNECTED = 'PagerDuty was reconnected with another key or account';
const NOT_CONNECTED = 'PagerDuty is not connected';

export interface PagerDutySettings {
  /** The label people chose for the account ("EU"); the first account's defaults to FIRST_ACCOUNT_NAME. */
  name?: string;
  region: PagerDutyRegion;
  baseUrl: string | null;
  botUser: { id: string; name: string; email: string; role?: string | null };
  /** Per catalog type key (users, teams, ...): how often it is synced. */
  syncIntervalsMs: Record<string, number>;
  /** Largest share of a type one run may archive without force. */
  archiveThreshold: number;
  /** PagerDuty's request limit for this key (requests per minute). */
  rateLimitPerMinute: number;
}

/** A client for the stored connection and the settings it was made from. */
export interface ConnectedPagerDuty {
  client: PagerDutyClient;
  settings: PagerDutySettings;
  /** The account ('default': the first account). */
  account: string;
}

export const FIRST_ACCOUNT_NAME = 'Main';
export const accountName = (s: PagerDutySettings | null | undefined, account: string) => s?.name ?? (account === FIRST_ACCOUNT ? FIRST_ACCOUNT_NAME : account);

/** One connected account as the accounts list shows it. */
export interface AccountSummary {
  id: string;
  name: string;
  settings: PagerDutySettings;
}

export interface KeyInput {
  region: PagerDutyRegion;
  baseUrl?: string | null;
  apiKey: string;
}

export class PagerDutyKeyRejectedError extends AppError {
  constructor(regionHint: boolean) {
    super(400, 'pagerduty_key_rejected', `PagerDuty rejected this key.${regionHint ? ' Check that it was copied whole and that the service region (US or EU) is the one your PagerDuty account lives in.' : ''}`);
  }
}

export class PagerDutyReadOnlyKeyError extends AppError {
  constructor() {
    super(
      400,
      'pagerduty_key_read_only',
      'This is a read-only PagerDuty key. Firebreak needs a full-access key to create and acknowledge incidents: in PagerDuty go to Integrations → API Access Keys → Create New API Key, leave "Read-only API Key" unchecked, and paste the new key here.',
    );
  }
}

/** PagerDuty's role names as people read them. */
export const PD_ROLE_LABELS: Record<string, string> = {
  owner: 'Account owner',
  admin: 'Admin',
  manager: 'Manager',
  user: 'User',
  limited_user: 'Limited user',
  observer: 'Observer',
  restricted_access: 'Restricted access',
  read_only_user: 'Read-only user',
  read_only_limited_user: 'Read-only limited user',
};
/** Roles PagerDuty lets look but not act: writes made as them may be refused. */
export const READ_ONLY_ROLES = new Set(['observer', 'restricted_access', 'read_only_user', 'read_only_limited_user']);
const roleLabel = (r: string | null) => (r ? (PD_ROLE_LABELS[r] ?? r) : 'unknown');

export class PagerDutyBotRefusedError extends AppError {
  constructor(bot: { id: string; name: string; email: string; role?: string | null }) {
    super(
      400,
      'pagerduty_bot_refused',
      `PagerDuty refused a test write made as ${bot.name} (${bot.email}): their PagerDuty role is "${roleLabel(bot.role ?? null)}", which may look at incidents but not create or acknowledge them. Choose a user with the Account owner, Admin, Manager or User role, or give ${bot.name} one of those roles in PagerDuty. Nothing was saved.`,
      { bot_user: { id: bot.id, role: bot.role ?? null } },
    );
  }
}

export class PagerDutyBotNotFoundError extends AppError {
  constructor(what: string) {
    super(400, 'pagerduty_bot_not_found', `No PagerDuty user ${what} exists in this account. Choose the bot account from the account's users.`);
  }
}

function upstream(err: unknown): never {
  if (err instanceof PagerDutyInvalidKeyError) throw new PagerDutyKeyRejectedError(true);
  if (err instanceof PagerDutyError) throw new UpstreamError(`PagerDuty answered unexpectedly: ${err.message}`, { kind: err.kind });
  if (err instanceof AppError) throw err;
  throw new UpstreamError(`Could not reach PagerDuty: ${(err as Error).message}`);
}

export function publicUser(u: PdUser) {
  return { id: u.id, name: u.name, email: typeof u.email === 'string' ? u.email.trim() : '', role: typeof u.role === 'string' ? u.role : null };
}

export interface PagerDutyDeps {
  db: Db;
  dialect: DbDialect;
  connections: ConnectionsStore;
  catalog: CatalogService;
  runs: SyncRunsRepository;
  jobs: JobQueue;
  logger: Logger;
  /** Client options tests and benchmarks tune (timeouts, backoff). */
  clientOptions?: { timeoutMs?: number; backoffBaseMs?: number; maxRetries?: number };
  lockTtlMs?: number;
  /** Sees every HTTP attempt of every client (benchmarks count statuses such as 429). */
  observeRequest?: (info: { method: string; path: string; status: number | null }) => void;
}

export class PagerDutyIntegration {
  private readonly budgets = new Map<string, RequestBudget>();
  private readonly running = new Map<string, { controller: AbortController; account: string }>();
  private readonly connectedHooks: ((account: string) => Promise<void>)[] = [];
  private readonly disconnectedHooks: ((account: string) => Promise<void>)[] = [];

  constructor(private readonly deps: PagerDutyDeps) {}

  /** The connection's request budget, shared by every client of the connection in this process (and, on PostgreSQL, every process). */
  budget(limitPerMinute = 960, account: string = FIRST_ACCOUNT): RequestBudget {
    // Each account has its own key, so its own PagerDuty limit: one bucket per account.
    const key = `${accountKind(account)}|${limitPerMinute}`;
    let b = this.budgets.get(key);
    if (!b) {
      b = this.deps.dialect === 'postgres' ? new PostgresRequestBudget(this.deps.db, accountKind(account), { limitPerMinute }) : new MemoryRequestBudget({ limitPerMinute });
      this.budgets.set(key, b);
    }
    return b;
  }

  /**
   * Retries of clients made for people and features that act now (paging, links, acknowledging): a few 429 waits
   * and 5xx retries, then the caller reports or retries as a job. Syncs use the client defaults (patient).
   * Tests and benchmarks turn these.
   */
  readonly interactiveTuning = { maxRateLimitRetries: 3, timeoutMs: 15_000, maxRetries: 2 };
  /**
   * Reads a person waits for (recent changes on a page, who is on call in a page or a Slack command): one attempt, a
   * short timeout, no wait on 429. The caller says what happened instead (and may keep that answer briefly); the
   * next view is the next attempt, so nothing loops against the rate limit.
   */
  readonly lookupTuning = { maxRateLimitRetries: 0, timeoutMs: 5_000, maxRetries: 0 };

  private makeClient(k: KeyInput, onRequest?: () => void, limitPerMinute = 960, tuning?: { maxRateLimitRetries: number; timeoutMs: number; maxRetries: number }, account: string = FIRST_ACCOUNT): PagerDutyClient {
    const observe = this.deps.observeRequest;
    return new PagerDutyClient({
      apiKey: k.apiKey,
      region: k.region,
      baseUrl: k.baseUrl ?? null,
      budget: this.budget(limitPerMinute, account),
      ...this.deps.clientOptions,
      ...tuning,
      onRequest: (info) => {
        onRequest?.();
        observe?.(info);
      },
    });
  }

  async settings(account: string = FIRST_ACCOUNT): Promise<PagerDutySettings | null> {
    const c = await this.deps.connections.get<PagerDutySettings>(accountKind(account));
    return c ? c.settings : null;
  }

  /** Every connected account, the first account first, then by name. */
  async accounts(): Promise<AccountSummary[]> {
    const rows = await this.deps.db.selectFrom('integration_connections').select(['kind', 'settings']).where((eb) => eb.or([eb('kind', '=', KIND), eb('kind', 'like', `${KIND}:%`)])).execute();
    const out: AccountSummary[] = [];
    for (const r of rows) {
      const id = accountOfKind(r.kind);
      if (!id) continue;
      const settings = JSON.parse(r.settings) as PagerDutySettings;
      out.push({ id, name: accountName(settings, id), settings });
    }
    return out.sort((a, b) => Number(b.id === FIRST_ACCOUNT) - Number(a.id === FIRST_ACCOUNT) || a.name.localeCompare(b.name));
  }

  /** The id of the first account when it is connected. */
  async firstAccountId(): Promise<string | null> {
    return (await this.settings(FIRST_ACCOUNT)) ? FIRST_ACCOUNT : null;
  }

  /** A client for an account (see connected). */
  clientFor(account: string, mode: 'interactive' | 'background' | 'lookup' = 'interactive'): Promise<ConnectedPagerDuty | null> {
    return this.connected(mode, account);
  }

  /**
   * The one place a client for the stored connection is made (null when not connected), with the settings it was
   * made from (the bot account for `From`). `interactive` (the default) gives up sooner than `background`; `lookup`
   * tries once.
   */
  async connected(mode: 'interactive' | 'background' | 'lookup' = 'interactive', account: string = FIRST_ACCOUNT): Promise<ConnectedPagerDuty | null> {
    const kind = accountKind(account);
    const s = await this.settings(account);
    const key = s ? await this.deps.connections.secret(kind, 'api_key') : null;
    if (!s || !key) return null;
    const client = this.makeClient({ region: s.region, baseUrl: s.baseUrl, apiKey: key }, undefined, s.rateLimitPerMinute, mode === 'interactive' ? this.interactiveTuning : mode === 'lookup' ? this.lookupTuning : undefined, account);
    return { client, settings: s, account };
  }

  /** Valid key, right region, full access. Changes nothing in the account. Returns a client for the key. */
  async checkKey(k: KeyInput): Promise<PagerDutyClient> {
    if (!k.apiKey.trim()) throw new ValidationError('Paste the PagerDuty API key.');
    const client = this.makeClient({ ...k, apiKey: k.apiKey.trim() });
    let someone: PdUser | undefined;
    try {
      // The key's scope is probed as a user who may write, so a refusal can only be the key's.
      const users = (await client.searchUsers('', { priority: 'interactive' })).users;
      someone = users.find((u) => u.role === 'owner') ?? users.find((u) => u.role === 'admin') ?? users.find((u) => typeof u.role === 'string' && !READ_ONLY_ROLES.has(u.role)) ?? users[0];
    } catch (err) {
      upstream(err);
    }
    if (!someone?.email) throw new UpstreamError('PagerDuty listed no users for this key, so its access could not be checked.');
    let scope: 'full' | 'read_only';
    try {
      scope = await client.probeWriteAccess(someone.email.trim(), { priority: 'interactive' });
    } catch (err) {
      upstream(err);
    }
    if (scope === 'read_only') throw new PagerDutyReadOnlyKeyError();
    return client;
  }

  /** The account's users matching `query` (name or email), for choosing the bot account. */
  async searchUsers(client: PagerDutyClient, query: string): Promise<{ users: ReturnType<typeof publicUser>[]; more: boolean }> {
    try {
      const r = await client.searchUsers(query.trim(), { priority: 'interactive' });
      return { users: r.users.map(publicUser), more: r.more };
    } catch (err) {
      upstream(err);
    }
  }

  private async findBot(client: PagerDutyClient, bot: { id?: string; email?: string }): Promise<{ id: string; name: string; email: string; role: string | null }> {
    try {
      if (bot.id) {
        try {
          return publicUser(await client.getUser(bot.id, { priority: 'interactive' }));
        } catch (err) {
          if (err instanceof PagerDutyError && err.kind === 'not_found') throw new PagerDutyBotNotFoundError(`with id ${bot.id}`);
          throw err;
        }
      }
      const want = (bot.email ?? '').trim().toLowerCase();
      if (!want) throw new ValidationError('Choose the bot account (bot_user_id or bot_email).');
      const found = (await client.searchUsers(want, { priority: 'interactive' })).users.find((u) => typeof u.email === 'string' && u.email.trim().toLowerCase() === want);
      if (!found) throw new PagerDutyBotNotFoundError(`with email ${bot.email}`);
      return publicUser(found);
    } catch (err) {
      upstream(err);
    }
  }

  /**
   * Checks that PagerDuty accepts writes made as the bot account, without changing anything: an update of an
   * incident that cannot exist, sent `From` the bot with a key already known to have full access. PagerDuty checks
   * who is asking before it looks the incident up: 404 means it would act as them, 403 that it refuses them.
   */
  private async checkBot(client: PagerDutyClient, bot: { id: string; name: string; email: string; role?: string | null }): Promise<void> {
    let scope: 'full' | 'read_only';
    try {
      scope = await client.probeWriteAccess(bot.email, { priority: 'interactive' });
    } catch (err) {
      if (err instanceof PagerDutyError && err.code === 1008) throw new PagerDutyBotNotFoundError(`with email ${bot.email}`);
      upstream(err);
    }
    if (scope === 'read_only') throw new PagerDutyBotRefusedError(bot);
  }

  /** Adds another PagerDuty account (the first one is connected with `connect`). Returns its id. */
  async addAccount(input: KeyInput & { name: string; botUserId?: string; botEmail?: string }, actor: Actor, ip: string | null = null): Promise<string> {
    const name = input.name.trim();
    if (!name) throw new ValidationError('Name the account (for example "EU"), so people can tell accounts apart.', [{ path: 'name', message: 'must not be empty' }]);
    const accounts = await this.accounts();
    if (!accounts.some((a) => a.id === FIRST_ACCOUNT)) throw new ConflictError('pagerduty_not_connected', 'Connect the first PagerDuty account before adding another.');
    if (accounts.some((a) => a.name.toLowerCase() === name.toLowerCase())) throw new ConflictError('pagerduty_account_name_taken', `An account is already named "${name}"; choose another name.`);
    const id = newAccountId();
    await this.connect(input, actor, ip, id, name);
    return id;
  }

  async connect(input: KeyInput & { botUserId?: string; botEmail?: string }, actor: Actor, ip: string | null = null, account: string = FIRST_ACCOUNT, name?: string): Promise<void> {
    const kind = accountKind(account);
    const k = { region: input.region, baseUrl: input.baseUrl?.trim() || null, apiKey: input.apiKey.trim() };
    const client = await this.checkKey(k);
    const botUser = await this.findBot(client, { id: input.botUserId, email: input.botEmail });
    await this.checkBot(client, botUser);
    const previous = await this.settings(account);
    const settings: PagerDutySettings = {
      ...(name ?? previous?.name ? { name: name ?? previous?.name } : {}),
      region: k.region,
      baseUrl: k.baseUrl,
      botUser,
      syncIntervalsMs: previous?.syncIntervalsMs ?? Object.fromEntries(PD_TYPES.map((t) => [t.key, t.defaultIntervalMs])),
      archiveThreshold: previous?.archiveThreshold ?? 0.2,
      rateLimitPerMinute: previous?.rateLimitPerMinute ?? 960,
    };
    await inTransaction(this.deps.db, async (tx) => {
      await this.deps.connections.save(kind, { settings: { ...settings }, secrets: { api_key: k.apiKey }, connectedBy: actor.userId ?? actor.ref ?? null }, tx);
      await recordAudit(tx, {
        actor,
        action: previous ? 'pagerduty.reconnected' : 'pagerduty.connected',
        target: { kind: 'integration', id: kind },
        details: { region: k.region, base_url: k.baseUrl, api_key: maskSecret(k.apiKey), bot_user: botUser, ...(account !== FIRST_ACCOUNT ? { account: { id: account, name: settings.name } } : {}) },
        ip,
      });
    });
    await this.ensureTypes();
    await this.requestSync({ trigger: previous ? 'reconnect' : 'connect', requestedBy: actor.userId ?? actor.ref ?? null, account });
    for (const hook of this.connectedHooks) await hook(account);
  }

  /** Other PagerDuty features act on each (re)connection of an account, e.g. webhooks create its subscription. */
  onDisconnected(hook: (account: string) => Promise<void>): void {
    this.disconnectedHooks.push(hook);
  }

  onConnected(hook: (account: string) => Promise<void>): void {
    this.connectedHooks.push(hook);
  }

  async ensureTypes(): Promise<void> {
    const s = await this.settings();
    for (const def of PD_TYPES) {
      await this.deps.catalog.ensureIntegrationType({ typeName: def.typeName, name: def.name, description: def.description, source: KIND, attributes: [...def.attributes, ACCOUNT_ATTRIBUTE], syncIntervalMs: s?.syncIntervalsMs[def.key] ?? def.defaultIntervalMs });
    }
  }

  async update(patch: { name?: string; botUserId?: string; botEmail?: string; syncIntervalsMs?: Record<string, number>; archiveThreshold?: number }, actor: Actor, ip: string | null = null, account: string = FIRST_ACCOUNT): Promise<void> {
    const s = await this.requireSettings(account);
    const next: PagerDutySettings = { ...s };
    const details: Record<string, unknown> = {};
    if (patch.name !== undefined) {
      const name = patch.name.trim();
      if (!name) throw new ValidationError('Name the account.', [{ path: 'name', message: 'must not be empty' }]);
      if ((await this.accounts()).some((a) => a.id !== account && a.name.toLowerCase() === name.toLowerCase())) throw new ConflictError('pagerduty_account_name_taken', `An account is already named "${name}"; choose another name.`);
      next.name = name;
      details.name = { from: accountName(s, account), to: name };
    }
    if (patch.botUserId || patch.botEmail) {
      const client = (await this.connected('background', account))!.client;
      next.botUser = await this.findBot(client, { id: patch.botUserId, email: patch.botEmail });
      await this.checkBot(client, next.botUser);
      details.bot_user = { from: s.botUser, to: next.botUser };
    }
    if (patch.syncIntervalsMs) {
      for (const k of Object.keys(patch.syncIntervalsMs)) if (!PD_TYPE_KEYS.includes(k)) throw new ValidationError(`Unknown catalog type ${k}; use one of ${PD_TYPE_KEYS.join(', ')}.`);
      next.syncIntervalsMs = { ...s.syncIntervalsMs, ...patch.syncIntervalsMs };
      details.sync_intervals_ms = next.syncIntervalsMs;
    }
    if (patch.archiveThreshold !== undefined) {
      next.archiveThreshold = patch.archiveThreshold;
      details.archive_threshold = patch.archiveThreshold;
    }
    await inTransaction(this.deps.db, async (tx) => {
      await this.deps.connections.updateSettings(accountKind(account), { ...next }, tx);
      await recordAudit(tx, { actor, action: details.bot_user ? 'pagerduty.bot_changed' : 'pagerduty.settings_changed', target: { kind: 'integration', id: accountKind(account) }, details, ip });
    });
    if (patch.syncIntervalsMs) await this.ensureTypes();
  }

  /** Deletes the key and stops syncing; synced entries stay, marked as no longer syncing. */
  /**
   * Deletes the account's key and stops its syncing; synced entries stay. Other accounts, their entries and settings
   * are untouched; the PagerDuty types stop syncing only when no account is left.
   */
  async disconnect(actor: Actor, ip: string | null = null, account: string = FIRST_ACCOUNT): Promise<boolean> {
    const kind = accountKind(account);
    const existed = await inTransaction(this.deps.db, async (tx) => {
      const gone = await this.deps.connections.delete(kind, tx);
      if (gone) {
        const others = await tx.selectFrom('integration_connections').select('kind').where((eb) => eb.or([eb('kind', '=', KIND), eb('kind', 'like', `${KIND}:%`)])).executeTakeFirst();
        if (!others) await this.deps.catalog.setSourceSyncing(KIND, false, tx);
        await recordAudit(tx, { actor, action: 'pagerduty.disconnected', target: { kind: 'integration', id: kind }, details: {}, ip });
      }
      return gone;
    });
    if (existed) await this.deps.runs.cancelQueued(kind, `${DISCONNECTED}; this run never started`);
    // Syncs of this account in this process stop at once; those in other processes notice within a moment (see syncGuard).
    for (const r of this.running.values()) if (r.account === account) r.controller.abort(new SyncCancelledError(DISCONNECTED));
    if (existed) for (const hook of this.disconnectedHooks) await hook(account);
    return existed;
  }

  private async requireSettings(account: string = FIRST_ACCOUNT): Promise<PagerDutySettings> {
    const s = await this.settings(account);
    if (!s) {
      if (account !== FIRST_ACCOUNT) throw new AppError(404, 'not_found', `No PagerDuty account ${account} is connected.`);
      throw new ConflictError('pagerduty_not_connected', 'PagerDuty is not connected. Connect it in Settings → Integrations first.');
    }
    return s;
  }

  async status(account: string = FIRST_ACCOUNT) {
    const kind = accountKind(account);
    const c = await this.deps.connections.get<PagerDutySettings>(kind);
    if (!c) return { connected: false as const };
    const key = await this.deps.connections.secret(kind, 'api_key');
    const lastRun = await this.deps.runs.latest(kind);
    return {
      connected: true as const,
      account,
      name: accountName(c.settings, account),
      status: c.status,
      region: c.settings.region,
      baseUrl: c.settings.baseUrl,
      apiKeyMasked: key ? maskSecret(key) : null,
      botUser: c.settings.botUser,
      syncIntervalsMs: c.settings.syncIntervalsMs,
      archiveThreshold: c.settings.archiveThreshold,
      connectedBy: c.connectedBy,
      connectedAt: c.connectedAt,
      lastRun,
    };
  }

  // ---- syncing ----
  /** Records a run and queues its job (`enqueue: false` when the caller runs it itself, as the CLI does). */
  async requestSync(input: { trigger: string; types?: string[]; force?: boolean; requestedBy?: string | null; enqueue?: boolean; account?: string }): Promise<SyncRun> {
    const account = input.account ?? FIRST_ACCOUNT;
    await this.requireSettings(account);
    const types = input.types?.length ? input.types : PD_TYPE_KEYS;
    for (const t of types) if (!PD_TYPE_KEYS.includes(t)) throw new ValidationError(`Unknown catalog type ${t}; use one of ${PD_TYPE_KEYS.join(', ')}.`);
    const run = await this.deps.runs.create({ source: accountKind(account), trigger: input.trigger, types, forced: !!input.force, requestedBy: input.requestedBy ?? null });
    if (input.enqueue === false) return run;
    await this.deps.jobs.enqueue(SYNC_JOB, { runId: run.id }, { queue: SYNC_QUEUE, priority: 10, jobKey: `pagerduty-sync:${run.id}`, maxAttempts: 5 });
    return run;
  }

  /**
   * Whether a sync started under this connection may go on, asked by the sync engine while it runs and inside
   * its write transactions. The connection row is shared by every process, so a disconnect (or a reconnect to
   * another key or account) anywhere stops the sync within a moment. On PostgreSQL the row is read FOR SHARE
   * inside a write transaction, so a disconnect waits for that write rather than slipping in before it.
   */
  private syncGuard(kind: string, started: { connectedAt: string; apiKey: string; region: string; baseUrl: string | null }) {
    let connectedAt = started.connectedAt;
    return async (tx?: Executor): Promise<string | null> => {
      const db = tx ?? this.deps.db;
      let q = db.selectFrom('integration_connections').select(['connected_at']).where('kind', '=', kind);
      if (tx && this.deps.dialect === 'postgres') q = q.forShare();
      const row = await q.executeTakeFirst();
      if (!row) return DISCONNECTED;
      if (row.connected_at === connectedAt) return null;
      // Reconnected: carry on only if it is still the same key and account.
      const c = await this.deps.connections.get<PagerDutySettings>(kind, db);
      const key = await this.deps.connections.secret(kind, 'api_key', db);
      if (!c || key !== started.apiKey || c.settings.region !== started.region || (c.settings.baseUrl ?? null) !== started.baseUrl) return RECONNECTED;
      connectedAt = row.connected_at;
      return null;
    };
  }

  /** Runs one recorded sync in this process (the job handler, the CLI). */
  async runSync(runId: string, opts: { signal?: AbortSignal; onProgress?: (p: SyncRun['progress']) => void } = {}): Promise<SyncRun> {
    // The run's source names its account (`pagerduty`: the first account, `pagerduty:<id>`: another).
    const account = accountOfKind((await this.deps.runs.get(runId)).source) ?? FIRST_ACCOUNT;
    const kind = accountKind(account);
    const conn = await this.deps.connections.get<PagerDutySettings>(kind);
    const s = conn?.settings ?? null;
    const apiKey = conn ? await this.deps.connections.secret(kind, 'api_key') : null;
    let requests = 0;
    if (!conn || !s || !apiKey) {
      const run = await this.deps.runs.get(runId);
      return this.deps.runs.finish(run.id, { status: 'cancelled', stats: {}, progress: {}, requests: 0, errors: [], stopReason: `${NOT_CONNECTED}; this run never started`, rowsWritten: 0 });
    }
    const client = this.makeClient({ region: s.region, baseUrl: s.baseUrl, apiKey }, () => requests++, s.rateLimitPerMinute, undefined, account);
    await this.ensureTypes();
    const controller = new AbortController();
    const onAbort = () => controller.abort(opts.signal!.reason);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    this.running.set(runId, { controller, account });
    try {
      const run = await this.deps.runs.get(runId);
      // Several accounts share the PagerDuty types: each account's run sees, writes and archives only its own entries.
      const source = new AccountCatalogSource(new PagerDutyCatalogSource(client, { firebreakEmails: () => this.deps.catalog.directoryEmails() }), { id: account, kind, name: accountName(s, account) });
      const result = await runCatalogSync({ catalog: this.deps.catalog, runs: this.deps.runs }, source, {
        runId,
        force: run.forced,
        archiveThreshold: s.archiveThreshold,
        signal: controller.signal,
        lockTtlMs: this.deps.lockTtlMs,
        requestCount: () => requests,
        onProgress: opts.onProgress,
        // The types' last-synced time drives the first account's schedule; other accounts keep theirs in their runs.
        markSynced: account === FIRST_ACCOUNT,
        guard: this.syncGuard(kind, { connectedAt: conn.connectedAt, apiKey, region: s.region, baseUrl: s.baseUrl ?? null }),
      });
      // A disconnect that raced this run's start (ensureTypes marks the types as syncing): they are not.
      if (result.status === 'cancelled' && (await this.accounts()).length === 0) await this.deps.catalog.setSourceSyncing(KIND, false);
      return result;
    } finally {
      this.running.delete(runId);
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** The schedule's tick: queue a sync of the types whose interval has passed, unless one is already waiting. */
  async tick(now = Date.now()): Promise<SyncRun | null> {
    let first: SyncRun | null = null;
    for (const a of await this.accounts()) {
      const r = await this.tickAccount(a.id, now).catch((err: unknown) => {
        this.deps.logger.warn({ account: a.id, error: (err as Error).message }, 'could not queue the PagerDuty catalog sync of an account');
        return null;
      });
      if (a.id === FIRST_ACCOUNT) first = r;
    }
    return first;
  }

  private async tickAccount(account: string, now: number): Promise<SyncRun | null> {
    const kind = accountKind(account);
    const s = await this.settings(account);
    if (!s) return null;
    const pending = await this.deps.runs.latest(kind, ['queued', 'running']);
    if (pending) {
      // A run waiting or running blocks the schedule, unless it was left behind (an hour old, nobody holding the lock).
      const stale = Date.now() - Date.parse(pending.createdAt) > 3_600_000 && !(await this.deps.runs.currentLock(kind));
      if (!stale) return null;
      await this.deps.runs.abandon([pending.id], 'this run never finished; the schedule replaced it');
    }
    const due: string[] = [];
    // Other accounts: their last finished run says when they last synced (the types' time is the first account's).
    const last = account === FIRST_ACCOUNT ? null : await this.deps.runs.latest(kind, ['succeeded', 'partial', 'failed', 'stopped']);
    for (const def of PD_TYPES) {
      const interval = s.syncIntervalsMs[def.key] ?? def.defaultIntervalMs;
      let at: string | null | undefined;
      if (account === FIRST_ACCOUNT) at = (await this.deps.catalog.findType(def.typeName))?.lastSyncedAt;
      else at = last ? (last.finishedAt ?? last.createdAt) : null;
      if (!at || Date.parse(at) + interval <= now) due.push(def.key);
    }
    if (due.length === 0) return null;
    return this.requestSync({ trigger: 'schedule', types: due, requestedBy: null, account });
  }
}
