import type { CatalogService } from '../../../catalog/catalog.service.js';
import type { Logger } from '../../../platform/logger.js';
import type { PagerDutyClient } from '../client/client.js';
import { PagerDutyError, PagerDutyRateLimitedError } from '../client/errors.js';
import type { PdOncall, PdRenderedSchedule } from '../client/wire.js';
import type { PagerDutyIntegration } from '../connect.js';
import { TYPE } from '../directory.js';
import { pdKey, splitPdKey } from '../accounts.js';

// Who is on call now, for a PagerDuty service (its escalation policy), an escalation policy, a team (the policies
// the catalog lists for it) or a schedule. Answers come live from PagerDuty (`GET /oncalls`, or the schedule rendered
// at this instant) and are kept one minute per query in this process (a plain Map: every process asks PagerDuty at
// most once a minute per query; nothing is shared through the database). A failure is an answer too ("PagerDuty has
// no such schedule", "PagerDuty did not answer", "the request limit is used up"), kept a little while so a page
// that refreshes does not ask again at once; it is never retried here and never thrown at the caller.
//
// Several accounts: a subject id is a catalog external id, `<account>:<PagerDuty id>` for an account other than the
// first. The account's own PagerDuty is asked with the raw PagerDuty id, and the ids of the answer (policies, people,
// schedules) are that account's catalog ids again, so people are matched in that account's entries.

export const SCHEDULE_TYPE = 'PagerDutySchedule';
export const CACHE_MS = 60_000;
/** A failed lookup is answered from memory this long (a 429 as long as PagerDuty asked, within a minute). */
export const ERROR_CACHE_MS = 15_000;
/** At most this many policies of a team are asked about in one lookup (PagerDuty's filters travel in the URL). */
export const MAX_TEAM_POLICIES = 25;

export type OnCallSubjectKind = 'service' | 'escalation_policy' | 'team' | 'schedule';
export type OnCallErrorCode = 'not_connected' | 'not_found' | 'timeout' | 'rate_limited' | 'refused' | 'upstream';

export interface OnCallPerson {
  user: { id: string; name: string; email: string | null; firebreakUser: { id: string; name: string; slackUserId: string | null } | null };
  /** When this turn started and ends (the next handoff); null for someone the policy targets directly (always on call). */
  start: string | null;
  until: string | null;
  /** The schedule the turn comes from; null when the policy names the person. */
  via: { id: string; name: string } | null;
}

export interface OnCallLevel {
  level: number;
  people: OnCallPerson[];
}

export interface OnCallPolicy {
  id: string;
  name: string;
  levels: OnCallLevel[];
}

export interface OnCallAnswer {
  subject: { kind: OnCallSubjectKind; id: string; name: string };
  /** `unavailable`: PagerDuty could not answer (see `error`); `ok` with no people means nobody is on call. */
  state: 'ok' | 'unavailable';
  error: { code: OnCallErrorCode; message: string } | null;
  /** Services, policies and teams: each policy by escalation level. */
  policies: OnCallPolicy[];
  /** Schedules: who is on the schedule now. */
  schedule: { id: string; name: string; timeZone: string | null; people: OnCallPerson[] } | null;
  /** Something the reader should know besides the answer (a team's policies left out, a service without policy). */
  note: string | null;
  fetchedAt: string;
}

interface Cached {
  answer: OnCallAnswer;
  expiresAt: number;
}

export interface OnCallDeps {
  integration: PagerDutyIntegration;
  catalog: CatalogService;
  /** Firebreak people by email (matched to the PagerDuty user's email, as the catalog matches them). */
  findUserByEmail: (email: string) => Promise<{ id: string; name: string; slackUserId: string | null } | null>;
  logger: Logger;
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

export class OnCallService {
  private readonly cache = new Map<string, Cached>();
  private readonly inFlight = new Map<string, Promise<OnCallAnswer>>();
  /** How long a failed answer is kept, when not ERROR_CACHE_MS (a 429: as long as PagerDuty asked, within a minute). */
  private readonly keepFailure = new WeakMap<OnCallAnswer, number>();
  /** The clock the cache reads (tests move it past the minute). */
  now: () => number = () => Date.now();

  constructor(private readonly deps: OnCallDeps) {}

  /** Who is on call for a subject, from the minute's cache or PagerDuty. Never throws for PagerDuty's failures. */
  async lookup(kind: OnCallSubjectKind, id: string): Promise<OnCallAnswer> {
    const key = `${kind}:${id}`;
    const hit = this.cache.get(key);
    if (hit && hit.expiresAt > this.now()) return hit.answer;
    const running = this.inFlight.get(key);
    if (running) return running;
    const p = this.fetch(kind, id)
      .then((answer) => {
        this.cache.set(key, { answer, expiresAt: this.now() + this.keepFor(answer) });
        if (this.cache.size > 5_000) this.prune();
        return answer;
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }

  /** Several policies at once (the escalate forms): one answer per policy id, in the order asked. */
  async forPolicies(ids: readonly string[]): Promise<OnCallAnswer[]> {
    return Promise.all([...new Set(ids)].map((id) => this.lookup('escalation_policy', id)));
  }

  /** Forgets every cached answer (a reconnect to another account). */
  clear(): void {
    this.cache.clear();
  }

  private keepFor(a: OnCallAnswer): number {
    if (a.state === 'ok') return CACHE_MS;
    if (a.error?.code === 'not_connected') return 0;
    return this.keepFailure.get(a) ?? ERROR_CACHE_MS;
  }

  private prune(): void {
    const now = this.now();
    for (const [k, v] of this.cache) if (v.expiresAt <= now) this.cache.delete(k);
  }

  private async fetch(kind: OnCallSubjectKind, id: string): Promise<OnCallAnswer> {
    const { account, id: pdId } = splitPdKey(id);
    const key = (raw: string) => pdKey(account, raw);
    const subject = { kind, id, name: await this.catalogName(kind, id) };
    const base = (): OnCallAnswer => ({ subject, state: 'ok', error: null, policies: [], schedule: null, note: null, fetchedAt: new Date(this.now()).toISOString() });
    const failed = (code: OnCallErrorCode, message: string): OnCallAnswer => ({ ...base(), state: 'unavailable', error: { code, message } });
    let connected: Awaited<ReturnType<PagerDutyIntegration['connected']>>;
    try {
      connected = await this.deps.integration.connected('lookup', account);
    } catch (err) {
      return failed('upstream', `Firebreak could not read its PagerDuty connection: ${(err as Error).message}`);
    }
    if (!connected) return failed('not_connected', 'PagerDuty is not connected, so Firebreak cannot ask who is on call. An admin can connect it in Settings → Integrations.');
    const client = connected.client;
    // The budget may hold the call (a pause PagerDuty asked for); a person waits this long at most.
    const signal = AbortSignal.timeout(this.deps.integration.lookupTuning.timeoutMs + 2_000);
    try {
      if (kind === 'schedule') return { ...base(), schedule: await this.schedule(client, account, pdId, subject, signal) };
      let policyIds: string[];
      let note: string | null = null;
      if (kind === 'escalation_policy') policyIds = [id];
      else if (kind === 'service') {
        const p = await this.servicePolicy(client, account, pdId, signal);
        if (p.name && subject.name === id) subject.name = p.name;
        policyIds = p.policyId ? [p.policyId] : [];
        if (!p.policyId) note = 'This service has no escalation policy in PagerDuty, so nobody is paged for it.';
      } else {
        const all = await this.teamPolicies(id);
        policyIds = all.slice(0, MAX_TEAM_POLICIES);
        if (all.length === 0) note = 'The catalog lists no escalation policy for this team (policies are synced from PagerDuty every hour).';
        else if (all.length > policyIds.length) note = `The team has ${all.length} escalation policies; the first ${policyIds.length} are shown.`;
      }
      const oncalls = policyIds.length ? await client.listOncalls({ escalationPolicyIds: policyIds.map((p) => splitPdKey(p).id), earliest: true }, { priority: 'interactive', signal }) : [];
      return { ...base(), note, policies: await this.byPolicy(account, policyIds, oncalls) };
    } catch (err) {
      return this.explain(err, kind, subject, signal, failed);
    }
  }

  private explain(err: unknown, kind: OnCallSubjectKind, subject: OnCallAnswer['subject'], signal: AbortSignal, failed: (c: OnCallErrorCode, m: string) => OnCallAnswer): OnCallAnswer {
    const what = `${label(kind)} “${subject.name}”`;
    if (err instanceof PagerDutyRateLimitedError) {
      // Asked again once PagerDuty's window is over, and not before ERROR_CACHE_MS (so a busy page does not hammer it).
      const keep = Math.min(CACHE_MS, Math.max(ERROR_CACHE_MS, err.retryAfterMs));
      const a = failed('rate_limited', `PagerDuty's request limit for this account is used up right now (paging and syncs share it), so Firebreak did not ask who is on call. It asks again in ${Math.ceil(keep / 1000)} s.`);
      this.keepFailure.set(a, keep);
      return a;
    }
    if (err instanceof PagerDutyError) {
      if (err.kind === 'not_found') return failed('not_found', `PagerDuty has no ${what} (${subject.id}): it was deleted, or this key cannot see it.`);
      if (err.kind === 'network') return failed('timeout', `PagerDuty did not answer in time, so who is on call for ${what} is unknown right now. Try again in a minute.`);
      if (err.kind === 'invalid_key' || err.kind === 'forbidden') return failed('refused', `PagerDuty refused to say who is on call (${err.message}). An admin can check the key in Settings → Integrations.`);
      return failed('upstream', `PagerDuty could not say who is on call for ${what}: ${err.message}`);
    }
    if (signal.aborted) return failed('timeout', `PagerDuty's request limit held the question too long, so who is on call for ${what} is unknown right now. Try again in a minute.`);
    this.deps.logger.warn({ err, kind, id: subject.id }, 'on-call lookup failed');
    return failed('upstream', `Firebreak could not ask PagerDuty who is on call: ${(err as Error).message}`);
  }

  private async schedule(client: PagerDutyClient, account: string, id: string, subject: OnCallAnswer['subject'], signal: AbortSignal): Promise<NonNullable<OnCallAnswer['schedule']>> {
    const now = this.now();
    // An instant's range: the entries covering now, each with its real end (overflow) = the next handoff.
    const s: PdRenderedSchedule = await client.getScheduleRendered(id, { since: new Date(now).toISOString(), until: new Date(now + 1000).toISOString() }, { priority: 'interactive', signal });
    const name = str(s.name) || str(s.summary) || subject.name;
    subject.name = name;
    const people: OnCallPerson[] = [];
    for (const e of s.final_schedule?.rendered_schedule_entries ?? []) {
      if (!e.user?.id) continue;
      people.push({ ...(await this.person(account, e.user.id, str(e.user.summary), null)), start: e.start ?? null, until: e.end ?? null, via: { id: pdKey(account, id), name } });
    }
    return { id: pdKey(account, id), name, timeZone: str(s.time_zone) || null, people: dedupe(people) };
  }

  /** The service's policy: from the catalog, or from PagerDuty for a service the catalog does not hold (yet). */
  private async servicePolicy(client: PagerDutyClient, account: string, serviceId: string, signal: AbortSignal): Promise<{ policyId: string | null; name: string | null }> {
    const entry = await this.entry(TYPE.services, pdKey(account, serviceId));
    const ref = entry ? str(entry.attributes.escalation_policy) : '';
    if (ref) {
      const policy = await this.deps.catalog.getEntry(ref).catch(() => null);
      if (policy) return { policyId: policy.externalId, name: entry!.name };
    }
    const svc = await client.getService(serviceId, { priority: 'interactive', signal });
    return { policyId: svc.escalation_policy?.id ? pdKey(account, svc.escalation_policy.id) : null, name: svc.name ?? null };
  }

  private async teamPolicies(teamId: string): Promise<string[]> {
    const team = await this.entry(TYPE.teams, teamId);
    if (!team) return [];
    const described = await this.deps.catalog.describeEntry(team.id);
    const out: { id: string; name: string }[] = [];
    for (const b of described.backlinks) {
      if (b.type.id !== TYPE.policies && b.type.name !== 'PagerDuty Escalation Policy') continue;
      if (b.attribute.id !== 'teams') continue;
      for (const e of b.entries) {
        if (e.archived) continue;
        const p = await this.deps.catalog.getEntry(e.id);
        out.push({ id: p.externalId, name: p.name });
      }
    }
    return out.sort((a, b) => a.name.localeCompare(b.name)).map((p) => p.id);
  }

  /** `policyIds` are catalog ids of the account; PagerDuty's answer names the raw ids. */
  private async byPolicy(account: string, policyIds: string[], oncalls: PdOncall[]): Promise<OnCallPolicy[]> {
    const policies = new Map<string, { name: string; levels: Map<number, OnCallPerson[]> }>();
    for (const id of policyIds) policies.set(id, { name: (await this.entry(TYPE.policies, id))?.name ?? id, levels: new Map() });
    for (const o of oncalls) {
      const pid = o.escalation_policy?.id ? pdKey(account, o.escalation_policy.id) : undefined;
      const uid = o.user?.id;
      if (!pid || !uid) continue;
      let p = policies.get(pid);
      if (!p) policies.set(pid, (p = { name: pid, levels: new Map() }));
      if (p.name === pid && o.escalation_policy?.summary) p.name = o.escalation_policy.summary;
      const level = typeof o.escalation_level === 'number' ? o.escalation_level : 1;
      const person = await this.person(account, uid, str(o.user?.name) || str(o.user?.summary), str(o.user?.email) || null);
      const via = o.schedule?.id ? { id: pdKey(account, o.schedule.id), name: str(o.schedule.summary) || (await this.catalogName('schedule', pdKey(account, o.schedule.id))) } : null;
      p.levels.set(level, [...(p.levels.get(level) ?? []), { ...person, start: o.start ?? null, until: via ? (o.end ?? null) : null, via }]);
    }
    return [...policies.entries()].map(([id, p]) => ({
      id,
      name: p.name,
      levels: [...p.levels.entries()].sort((a, b) => a[0] - b[0]).map(([level, people]) => ({ level, people: dedupe(people).sort((a, b) => a.user.name.localeCompare(b.user.name)) })),
    }));
  }

  /** A PagerDuty user by name (the catalog's, else PagerDuty's), with the Firebreak person of the same email. */
  private async person(account: string, pdUserId: string, pdName: string, pdEmail: string | null): Promise<OnCallPerson> {
    const userId = pdKey(account, pdUserId);
    const entry = await this.entry(TYPE.users, userId);
    const email = (entry ? str(entry.attributes.email).trim() : '') || pdEmail?.trim() || null;
    const fb = email ? await this.deps.findUserByEmail(email).catch(() => null) : null;
    return {
      user: { id: userId, name: entry?.name || pdName || email || userId, email, firebreakUser: fb },
      start: null,
      until: null,
      via: null,
    };
  }

  private async entry(typeName: string, externalId: string) {
    if (!(await this.deps.catalog.findType(typeName))) return null;
    const found = await this.deps.catalog.listEntries({ typeId: typeName, search: externalId, limit: 50 });
    return found.entries.find((e) => e.externalId === externalId) ?? null;
  }

  private async catalogName(kind: OnCallSubjectKind, id: string): Promise<string> {
    const type = kind === 'service' ? TYPE.services : kind === 'escalation_policy' ? TYPE.policies : kind === 'team' ? TYPE.teams : SCHEDULE_TYPE;
    return (await this.entry(type, id).catch(() => null))?.name ?? id;
  }
}

function dedupe(people: OnCallPerson[]): OnCallPerson[] {
  const seen = new Set<string>();
  return people.filter((p) => {
    const k = `${p.user.id}:${p.via?.id ?? ''}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function label(kind: OnCallSubjectKind): string {
  return kind === 'service' ? 'service' : kind === 'escalation_policy' ? 'escalation policy' : kind === 'team' ? 'team' : 'schedule';
}
