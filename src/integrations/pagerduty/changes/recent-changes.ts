import type { Db } from '../../../platform/db/index.js';
import type { Logger } from '../../../platform/logger.js';
import {
  PagerDutyError, PagerDutyNetworkError, PagerDutyNotFoundError, PagerDutyRateLimitedError, PagerDutyServerError,
} from '../client/errors.js';
import type { PdChangeEvent } from '../client/wire.js';
import type { ConnectedPagerDuty } from '../connect.js';
import { FIRST_ACCOUNT, pdKey, splitPdKey } from '../accounts.js';
import { affectedServices, type AffectedService, type LinkedPagerDutyIncident } from './affected.js';

// "What changed before it broke": PagerDuty change events for an incident's affected services in the last hours,
// and the ones PagerDuty relates to its linked PagerDuty incidents, merged, newest first. Read while someone looks
// at the incident: one attempt per source and view (the connection's `lookup` client: short timeout, no retry,
// the request budget's interactive lane), sources read side by side, and a source that fails is reported as what
// happened while the others are shown. Answers are kept a few seconds per process (concurrent and repeated views
// share one request); failures are not kept, so the next view is the next attempt.
// Each source is read in its own account (a service's catalog id, a link's account) with PagerDuty's raw ids; the
// change events and services of another account are named `<account>:<id>`, as the catalog names them.

export const DEFAULT_HOURS = 6;
export const MAX_HOURS = 48;
/** At most this many services and this many linked PagerDuty incidents are read per view. */
export const MAX_SOURCES = 10;
export const CACHE_MS = 20_000;

export type ProblemReason = 'timeout' | 'rate_limited' | 'not_found' | 'refused' | 'unavailable';

export interface ChangeProblem {
  source: { kind: 'service'; id: string; name: string } | { kind: 'pagerduty_incident'; id: string; number: number | null; title: string };
  reason: ProblemReason;
  message: string;
}

export interface RecentChange {
  id: string;
  summary: string;
  source: string | null;
  timestamp: string;
  services: { id: string; name: string }[];
  links: { href: string; text: string | null }[];
  /** Linked PagerDuty incidents PagerDuty relates this change to, with its reason (`most_recent`, `related_service`, `intelligent`). */
  relatedTo: { pagerdutyIncidentId: string; number: number | null; reason: string | null }[];
  pinned: boolean;
}

export interface RecentChanges {
  connected: boolean;
  hours: number;
  since: string;
  until: string;
  services: AffectedService[];
  pagerdutyIncidents: LinkedPagerDutyIncident[];
  changes: RecentChange[];
  problems: ChangeProblem[];
  /** Sources past MAX_SOURCES that were not read. */
  skipped: { services: number; pagerdutyIncidents: number };
}

export interface RecentChangesDeps {
  db: Db;
  logger: Logger;
  connected: (mode: 'lookup', account?: string) => Promise<ConnectedPagerDuty | null>;
  /** Per process, answers kept this long (default CACHE_MS). */
  cacheMs?: number;
  /** A name for a PagerDuty service id from the synced catalog (null when unknown there). */
  serviceName: (id: string) => Promise<string | null>;
  /** The timeout the lookup client uses, to say it in messages. */
  timeoutMs: () => number;
}

type Cached = { at: number; value: Promise<PdChangeEvent[]> };

export class RecentChangesReader {
  private readonly cache = new Map<string, Cached>();

  constructor(private readonly deps: RecentChangesDeps) {}

  async read(incidentId: string, hours: number, opts: { fresh?: boolean } = {}): Promise<RecentChanges> {
    const until = new Date(Math.floor(Date.now() / 1000) * 1000);
    const since = new Date(until.getTime() - hours * 3_600_000);
    const { services, linked } = await affectedServices(this.deps.db, incidentId);
    const pinned = await this.pinnedIds(incidentId);
    const out: RecentChanges = {
      connected: true, hours, since: since.toISOString(), until: until.toISOString(), services, pagerdutyIncidents: linked,
      changes: [], problems: [],
      skipped: { services: Math.max(0, services.length - MAX_SOURCES), pagerdutyIncidents: Math.max(0, linked.length - MAX_SOURCES) },
    };
    // One lookup client per account the sources name (the first account's says whether PagerDuty is connected).
    const clients = new Map<string, Promise<ConnectedPagerDuty | null>>();
    const clientOf = (account: string) => {
      let c = clients.get(account);
      if (!c) clients.set(account, (c = this.deps.connected('lookup', account)));
      return c;
    };
    const needed = new Set([...services.slice(0, MAX_SOURCES).map((s) => splitPdKey(s.id).account), ...linked.slice(0, MAX_SOURCES).map((l) => l.account)]);
    const anyConnected = (await Promise.all([FIRST_ACCOUNT, ...needed].map(clientOf))).some(Boolean);
    if (!anyConnected) return { ...out, connected: false };
    if (services.length === 0 && linked.length === 0) return out;
    const notConnected = () => Object.assign(new Error('account not connected'), { notConnected: true });
    const clientFor = async (account: string) => {
      const pd = await clientOf(account);
      if (!pd) throw notConnected();
      return pd.client;
    };

    const byId = new Map<string, RecentChange>();
    const names = new Map(services.map((s) => [s.id, s.name]));
    const add = (account: string, ce: PdChangeEvent, related?: { pagerdutyIncidentId: string; number: number | null; reason: string | null }) => {
      if (typeof ce?.id !== 'string' || typeof ce.timestamp !== 'string') return;
      const id = pdKey(account, ce.id);
      let c = byId.get(id);
      if (!c) {
        c = {
          id,
          summary: typeof ce.summary === 'string' ? ce.summary : '',
          source: typeof ce.source === 'string' && ce.source ? ce.source : null,
          timestamp: ce.timestamp,
          services: (ce.services ?? []).filter((s) => typeof s?.id === 'string').map((s) => ({ id: pdKey(account, s.id), name: names.get(pdKey(account, s.id)) ?? s.summary ?? s.id })),
          links: (ce.links ?? []).filter((l) => typeof l?.href === 'string' && /^https?:\/\//i.test(l.href)).map((l) => ({ href: l.href, text: typeof l.text === 'string' && l.text ? l.text : null })),
          relatedTo: [],
          pinned: pinned.has(id),
        };
        byId.set(id, c);
      }
      if (related && !c.relatedTo.some((r) => r.pagerdutyIncidentId === related.pagerdutyIncidentId)) c.relatedTo.push(related);
    };

    const windowStart = since.getTime();
    const reads: Promise<void>[] = [];
    for (const s of services.slice(0, MAX_SOURCES)) {
      const { account, id: serviceId } = splitPdKey(s.id);
      reads.push(
        this.cached(`service:${s.id}:${hours}`, opts.fresh, async () => (await clientFor(account)).listServiceChangeEvents(serviceId, { since, until }, { priority: 'interactive', signal: this.signal() }).then((r) => r.changeEvents))
          .then((list) => {
            // A kept answer may be a few seconds old: its window is cut to this view's.
            for (const ce of list) if (Date.parse(ce.timestamp) >= windowStart) add(account, ce);
          })
          .catch((err: unknown) => {
            out.problems.push({ source: { kind: 'service', id: s.id, name: s.name }, ...this.describe(err, `the service ${s.name}`) });
          }),
      );
    }
    for (const l of linked.slice(0, MAX_SOURCES)) {
      reads.push(
        this.cached(`incident:${l.account}:${l.id}`, opts.fresh, async () => (await clientFor(l.account)).listRelatedChangeEvents(l.id, { priority: 'interactive', signal: this.signal() }))
          .then((list) => {
            for (const ce of list) add(l.account, ce, { pagerdutyIncidentId: l.id, number: l.number, reason: typeof ce.correlation_reason?.reason === 'string' ? ce.correlation_reason.reason : null });
          })
          .catch((err: unknown) => {
            out.problems.push({ source: { kind: 'pagerduty_incident', id: l.id, number: l.number, title: l.title }, ...this.describe(err, `PagerDuty incident ${l.number === null ? l.id : `#${l.number}`}`) });
          }),
      );
    }
    await Promise.all(reads);
    // Names the catalog knows for services the incident does not list (a related change on another service).
    for (const c of byId.values()) for (const s of c.services) if (!names.has(s.id)) s.name = (await this.deps.serviceName(s.id)) ?? s.name;
    out.changes = [...byId.values()].sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp) || (a.id < b.id ? 1 : -1));
    out.problems.sort((a, b) => (a.source.kind === b.source.kind ? 0 : a.source.kind === 'service' ? -1 : 1));
    return out;
  }

  /** Change events already pinned to the incident's timeline. */
  private async pinnedIds(incidentId: string): Promise<Set<string>> {
    const rows = await this.deps.db.selectFrom('timeline_items').select('dedupe_key').where('incident_id', '=', incidentId).where('kind', '=', PINNED_KIND).execute();
    return new Set(rows.map((r) => (r.dedupe_key ?? '').slice(PIN_KEY_PREFIX.length)).filter(Boolean));
  }

  /** Bounds the whole read, waiting for the request budget included, a little past the client's own timeout. */
  private signal(): AbortSignal {
    return AbortSignal.timeout(this.deps.timeoutMs() + 1_000);
  }

  private cached(key: string, fresh: boolean | undefined, load: () => Promise<PdChangeEvent[]>): Promise<PdChangeEvent[]> {
    const ttl = this.deps.cacheMs ?? CACHE_MS;
    const now = Date.now();
    for (const [k, v] of this.cache) if (now - v.at > ttl) this.cache.delete(k);
    const hit = this.cache.get(key);
    if (hit && !fresh) return hit.value;
    const value = load();
    const entry = { at: now, value };
    this.cache.set(key, entry);
    // Failures are not kept: the next view is the next attempt.
    value.catch(() => {
      if (this.cache.get(key) === entry) this.cache.delete(key);
    });
    return value;
  }

  private describe(err: unknown, what: string): { reason: ProblemReason; message: string } {
    const ms = this.deps.timeoutMs();
    const within = ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
    let r: { reason: ProblemReason; message: string };
    if ((err as { notConnected?: boolean })?.notConnected) {
      r = { reason: 'unavailable', message: `The PagerDuty account of ${what} is not connected any more, so its changes were not read.` };
    } else if ((err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError')) || (err instanceof PagerDutyNetworkError && /timed out/.test(err.message))) {
      r = { reason: 'timeout', message: `PagerDuty did not answer within ${within} for ${what}. Not retried; refresh to try again.` };
    } else if (err instanceof PagerDutyRateLimitedError) {
      r = { reason: 'rate_limited', message: `PagerDuty's rate limit is reached, so ${what} was not read. Try again in a minute.` };
    } else if (err instanceof PagerDutyNotFoundError) {
      r = { reason: 'not_found', message: `PagerDuty no longer has ${what}.` };
    } else if (err instanceof PagerDutyServerError || err instanceof PagerDutyNetworkError) {
      r = { reason: 'unavailable', message: `PagerDuty could not be reached for ${what} (${err.status ? `it answered ${err.status}` : 'no answer'}). Not retried; refresh to try again.` };
    } else if (err instanceof PagerDutyError) {
      r = { reason: 'refused', message: `PagerDuty refused to list the changes of ${what}: ${err.message.replace(/^PagerDuty \S+ \S+: /, '')}` };
    } else {
      r = { reason: 'unavailable', message: `The changes of ${what} could not be read.` };
    }
    this.deps.logger.warn({ reason: r.reason, error: (err as Error)?.message }, 'PagerDuty change events not read');
    return r;
  }
}

export const PINNED_KIND = 'pagerduty.change_pinned';
export const PIN_KEY_PREFIX = 'pagerduty-change:';
