import type { CatalogAttribute } from '../../catalog/catalog.service.js';
import { normalizeEmailKey } from '../../catalog/catalog.service.js';
import type { CatalogSource, FetchContext, FetchedType, LookUpResult, SourceItem, SyncTypeDef } from '../../catalog/sync.js';
import { MAX_OFFSET_WINDOW, PagerDutyWindowExceededError, type PagerDutyClient } from './client/client.js';
import { PagerDutyNotFoundError } from './client/errors.js';
import type { PdEscalationPolicy, PdPriority, PdRef, PdSchedule, PdService, PdTeam, PdUser } from './client/wire.js';

// PagerDuty as a catalog source: the five types of the product description and schedules, fetched with full pages and
// converted from PagerDuty's JSON into catalog entries here, at the edge.
//
// Requests: one list per type (limit=100). Team members come from the users' own `teams` references, which
// every user object carries, so a run that syncs users and teams needs no per-team member requests (teams are
// read member by member only when users are not part of the run or their fetch failed). Escalation policies
// tagged `incident-io-ignore` are found through the tag's reverse lookup: two requests whatever the count.
// Schedules are one list with include[]=schedule_layers, so each page brings its schedules' layers and their users
// (no request per schedule); the policies' own pages carry their escalation rules' targets (schedules and users).
// PagerDuty's tags cover users, teams and escalation policies only, so no ignore rule applies to schedules.
//
// Accounts with more than 10,000 users: PagerDuty lists at most 10,000 items of a list (`offset + limit`), and
// GET /users filters only by `query`, `team_ids[]` and `include[]`. Users past the window who are in a team are
// read through `team_ids[]` slices, each starting where the users the window already read end (see
// fetchUsers); users past the window in no team cannot be listed at all. For them the engine looks up stored
// entries one by one (GET /users/{id}: 404 archives), and Firebreak's people who matched no listed user are
// looked up by email (GET /users?query=), so matching works for everybody who uses Firebreak.

export const IGNORE_MARKER = 'incident-io-ignore';
/** Firebreak people looked up by email in one run, at most (each is one request). */
export const MAX_EMAIL_LOOKUPS = 200;
const TEAMS_PER_SLICE = 100;
const fmt = (n: number) => n.toLocaleString('en-US');
const HOUR = 3_600_000;

const attr = (id: string, name: string, type: CatalogAttribute['type'], array = false, referenceType: string | null = null): CatalogAttribute => ({ id, name, type, array, ...(referenceType ? { referenceType } : {}) });

export const PD_TYPES: SyncTypeDef[] = [
  {
    key: 'users',
    typeName: 'PagerDutyUser',
    name: 'PagerDuty User',
    description: 'People in the PagerDuty account, matched to Firebreak users by email.',
    defaultIntervalMs: HOUR,
    attributes: [attr('name', 'Name', 'string'), attr('email', 'Email', 'string'), attr('role', 'Role', 'string'), attr('job_title', 'Job title', 'string'), attr('time_zone', 'Timezone', 'string'), attr('firebreak_user', 'Firebreak User', 'firebreak_user')],
  },
  {
    key: 'teams',
    typeName: 'PagerDutyTeam',
    name: 'PagerDuty Team',
    description: 'Teams in the PagerDuty account.',
    defaultIntervalMs: HOUR,
    attributes: [attr('name', 'Name', 'string'), attr('description', 'Description', 'text'), attr('members', 'Members', 'reference', true, 'PagerDutyUser')],
  },
  {
    key: 'services',
    typeName: 'PagerDutyService',
    name: 'PagerDuty Service',
    description: `Services in the PagerDuty account (those with "${IGNORE_MARKER}" in their description are left out).`,
    defaultIntervalMs: HOUR,
    attributes: [
      attr('name', 'Name', 'string'),
      attr('description', 'Description', 'text'),
      attr('status', 'Status', 'string'),
      attr('escalation_policy', 'Escalation policy', 'reference', false, 'PagerDutyEscalationPolicy'),
      attr('teams', 'Teams', 'reference', true, 'PagerDutyTeam'),
    ],
  },
  {
    key: 'priorities',
    typeName: 'PagerDutyPriority',
    name: 'PagerDuty Priority',
    description: 'Incident priorities of the PagerDuty account.',
    defaultIntervalMs: 24 * HOUR,
    attributes: [attr('name', 'Name', 'string'), attr('description', 'Description', 'text')],
  },
  {
    key: 'escalation_policies',
    typeName: 'PagerDutyEscalationPolicy',
    name: 'PagerDuty Escalation Policy',
    description: `Escalation policies of the PagerDuty account (those tagged "${IGNORE_MARKER}" are left out).`,
    defaultIntervalMs: HOUR,
    attributes: [
      attr('name', 'Name', 'string'),
      attr('description', 'Description', 'text'),
      attr('teams', 'Teams', 'reference', true, 'PagerDutyTeam'),
      attr('target_schedules', 'Targets (schedules)', 'reference', true, 'PagerDutySchedule'),
      attr('target_users', 'Targets (users)', 'reference', true, 'PagerDutyUser'),
    ],
  },
  {
    key: 'schedules',
    typeName: 'PagerDutySchedule',
    name: 'PagerDuty Schedule',
    description: 'On-call schedules of the PagerDuty account, with the users in their layers (PagerDuty schedules cannot be tagged, so every schedule is synced).',
    defaultIntervalMs: HOUR,
    attributes: [
      attr('name', 'Name', 'string'),
      attr('description', 'Description', 'text'),
      attr('time_zone', 'Time zone', 'string'),
      attr('teams', 'Teams', 'reference', true, 'PagerDutyTeam'),
      attr('users', 'Users', 'reference', true, 'PagerDutyUser'),
    ],
  },
];

export const PD_TYPE_KEYS = PD_TYPES.map((t) => t.key);

const ids = (refs: PdRef[] | undefined | null) => (Array.isArray(refs) ? refs.map((r) => r?.id).filter((x): x is string => typeof x === 'string') : []);
const text = (v: unknown) => (typeof v === 'string' ? v : '');
const url = (r: PdRef) => (typeof r.html_url === 'string' ? r.html_url : null);

export function userItem(u: PdUser): SourceItem {
  const email = text(u.email).trim();
  return {
    externalId: u.id,
    name: text(u.name) || email || u.id,
    aliases: email ? [email] : [],
    externalUrl: url(u),
    values: { name: text(u.name), email, role: text(u.role), job_title: text(u.job_title), time_zone: text(u.time_zone), firebreak_user: email ? normalizeEmailKey(email) : null },
  };
}

/** Only what the catalog needs of a user: a 20,000-user account then fits in a fraction of the memory. */
function slimUser(u: PdUser): PdUser {
  return { id: u.id, type: 'user', name: u.name, email: u.email, role: u.role, job_title: u.job_title, time_zone: u.time_zone, html_url: u.html_url, teams: ids(u.teams).map((id) => ({ id, type: 'team_reference' })) };
}

const refsOf = (refs: PdRef[] | undefined | null, type: string) => ids(refs).map((id) => ({ id, type }));
function slimTeam(t: PdTeam): PdTeam {
  return { id: t.id, type: 'team', name: t.name, description: t.description, html_url: t.html_url };
}
function slimService(x: PdService): PdService {
  const ep = x.escalation_policy?.id;
  return { id: x.id, type: 'service', name: x.name, description: x.description, status: x.status, html_url: x.html_url, escalation_policy: ep ? { id: ep, type: 'escalation_policy_reference' } : null, teams: refsOf(x.teams, 'team_reference') };
}
function slimPolicy(p: PdEscalationPolicy): PdEscalationPolicy {
  // Only the targets of each level, as bare references (the full rule objects and side-loads are let go).
  const rules = Array.isArray(p.escalation_rules) ? p.escalation_rules : [];
  const targets = (kind: 'schedule' | 'user') => rules.flatMap((r) => (Array.isArray(r?.targets) ? r.targets : [])).filter((t) => t?.type === kind || t?.type === `${kind}_reference`);
  return {
    id: p.id, type: 'escalation_policy', name: p.name, description: p.description, html_url: p.html_url, teams: refsOf(p.teams, 'team_reference'),
    escalation_rules: [{ targets: [...refsOf(targets('schedule'), 'schedule_reference'), ...refsOf(targets('user'), 'user_reference')] }],
  };
}
const policyTargets = (p: PdEscalationPolicy, type: string) => ids((p.escalation_rules?.[0]?.targets ?? []).filter((t) => t.type === type));

/** A schedule's users: everyone on its layers (and the schedule's own `users`, which PagerDuty derives from them). */
function slimSchedule(x: PdSchedule): PdSchedule {
  const users = new Set(ids(x.users));
  for (const l of Array.isArray(x.schedule_layers) ? x.schedule_layers : []) for (const u of Array.isArray(l?.users) ? l.users : []) if (typeof u?.user?.id === 'string') users.add(u.user.id);
  return { id: x.id, type: 'schedule', name: x.name, description: x.description, time_zone: x.time_zone, html_url: x.html_url, teams: refsOf(x.teams, 'team_reference'), users: [...users].map((id) => ({ id, type: 'user_reference' })) };
}

const hasMarker = (s: unknown) => typeof s === 'string' && s.toLowerCase().includes(IGNORE_MARKER);

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

export class PagerDutyCatalogSource implements CatalogSource {
  readonly source = 'pagerduty';
  readonly types = PD_TYPES;

  /** Users the listing could not reach (past the window, in no team), and who was listed, for lookUp. */
  private unlisted: { missing: number; total: number; listedIds: Set<string>; listedEmails: Set<string> } | null = null;

  constructor(
    private readonly client: PagerDutyClient,
    private readonly opts: { firebreakEmails?: () => Promise<string[]> } = {},
  ) {}

  async fetch(typeKeys: string[], ctx: FetchContext): Promise<Record<string, FetchedType>> {
    const want = new Set(typeKeys);
    const out: Record<string, FetchedType> = {};
    // Each page is cut down to what the catalog needs as it arrives, so a large account's raw objects (policies
    // with their rules and targets, services with their integrations) are never all held at once.
    const collect = async <T>(key: string, gen: AsyncGenerator<T[], void, void>, slim: (x: T) => T): Promise<{ items: T[]; error: string | null }> => {
      const items: T[] = [];
      try {
        for await (const page of gen) for (const x of page) items.push(slim(x));
        return { items, error: null };
      } catch (err) {
        ctx.signal.throwIfAborted();
        if (err instanceof PagerDutyWindowExceededError) return { items, error: err.message };
        return { items, error: errorText(err) };
      }
    };
    const progress = (key: string) => (p: { fetched: number; total: number | null }) => ctx.progress(key, p.fetched, p.total);
    const opts = (key: string) => ({ signal: ctx.signal, priority: 'background' as const, onPage: progress(key) });

    // The types are independent lists; fetch them side by side (the request budget paces them).
    const teams = want.has('teams') ? collect('teams', this.client.listTeams(opts('teams')), slimTeam) : null;
    const teamIds = async () => {
      const t = teams ? await teams : await collect('teams', this.client.listTeams({ signal: ctx.signal, priority: 'background' }), slimTeam);
      return t.error === null ? t.items.map((x) => x.id) : null;
    };
    const users = want.has('users') || want.has('teams') ? this.fetchUsers(ctx, want.has('users') ? opts('users') : { signal: ctx.signal, priority: 'background' as const }, teamIds) : null;
    const services = want.has('services') ? collect('services', this.client.listServices(opts('services')), slimService) : null;
    const priorities = want.has('priorities') ? collect('priorities', this.client.listPriorities(opts('priorities')), (x) => x) : null;
    const policies = want.has('escalation_policies') ? this.fetchPolicies(ctx, opts('escalation_policies')) : null;
    const schedules = want.has('schedules') ? collect('schedules', this.client.listSchedules({ ...opts('schedules'), include: ['schedule_layers'] }), slimSchedule) : null;

    // Let every fetch finish (or fail) before reading any, so an abort leaves no promise unobserved.
    await Promise.allSettled([users, teams, services, priorities, policies, schedules].filter(Boolean));
    ctx.signal.throwIfAborted();
    // Teams first: their members come from the users' own `teams`.
    if (teams) {
      const t = await teams;
      const u = users ? await users : null;
      let members = new Map<string, string[]>();
      let memberError: string | null = null;
      if (u && u.membersComplete) {
        for (const user of u.items) for (const teamId of ids(user.teams)) {
          const l = members.get(teamId);
          if (l) l.push(user.id);
          else members.set(teamId, [user.id]);
        }
      } else {
        ({ members, error: memberError } = await this.fetchMembers(t.items.map((x) => x.id), ctx));
      }
      const items = t.items.map((x: PdTeam) => ({ externalId: x.id, name: text(x.name) || x.id, externalUrl: url(x), values: { name: text(x.name), description: text(x.description), members: members.get(x.id) ?? [] } }));
      const error = t.error ?? memberError;
      out.teams = { items, complete: error === null, skipped: [], error };
    }
    if (users && want.has('users')) {
      const u = await users;
      const missing = u.error === null && u.total !== null ? Math.max(0, u.total - u.items.length) : 0;
      if (missing > 0) {
        this.unlisted = { missing, total: u.total!, listedIds: new Set(u.items.map((x) => x.id)), listedEmails: new Set(u.items.map((x) => normalizeEmailKey(text(x.email))).filter(Boolean)) };
      }
      out.users = { items: u.items.map(userItem), complete: u.error === null && missing === 0, skipped: [], error: u.error, lookUp: missing > 0 };
      u.items = []; // converted: let the PagerDuty objects go before the engine loads what is stored
    }
    if (services) {
      const s = await services;
      const kept = s.items.filter((x) => !hasMarker(x.description));
      out.services = {
        items: kept.map((x: PdService) => ({
          externalId: x.id,
          name: text(x.name) || x.id,
          externalUrl: url(x),
          values: { name: text(x.name), description: text(x.description), status: text(x.status), escalation_policy: x.escalation_policy?.id ?? null, teams: ids(x.teams) },
        })),
        complete: s.error === null,
        skipped: s.items.filter((x) => hasMarker(x.description)).map((x) => x.id),
        error: s.error,
      };
    }
    if (priorities) {
      const p = await priorities;
      out.priorities = { items: p.items.map((x: PdPriority) => ({ externalId: x.id, name: text(x.name) || x.id, externalUrl: url(x), values: { name: text(x.name), description: text(x.description) } })), complete: p.error === null, skipped: [], error: p.error };
    }
    if (policies) out.escalation_policies = await policies;
    if (schedules) {
      const s = await schedules;
      out.schedules = {
        items: s.items.map((x) => ({
          externalId: x.id,
          name: text(x.name) || x.id,
          externalUrl: url(x),
          values: { name: text(x.name), description: text(x.description), time_zone: text(x.time_zone), teams: ids(x.teams), users: ids(x.users) },
        })),
        complete: s.error === null,
        skipped: [],
        error: s.error,
      };
    }
    return out;
  }

  /**
   * Users. Beyond PagerDuty's 10,000-item window the rest is read through `team_ids[]` slices of 100 teams.
   * A filtered list keeps the order of the whole list, so the users of a slice that the window already read
   * come first: the slice is read from that position (k, counted from the window's users' own `teams`) rather
   * than from 0. That is checked, not assumed: every user read from k on must be one the window did not read,
   * and exactly total - k of them must come; otherwise the slice is read again from 0. Users past the window in
   * no team cannot be listed by any filter PagerDuty offers: `total` minus the users read says how many.
   */
  private async fetchUsers(
    ctx: FetchContext,
    o: { signal: AbortSignal; priority: 'background'; onPage?: (p: { fetched: number; total: number | null }) => void },
    teamIds: () => Promise<string[] | null>,
  ): Promise<{ items: PdUser[]; error: string | null; membersComplete: boolean; total: number | null }> {
    const byId = new Map<string, PdUser>();
    try {
      for await (const page of this.client.listUsers(o)) for (const u of page) byId.set(u.id, slimUser(u));
      return { items: [...byId.values()], error: null, membersComplete: true, total: byId.size };
    } catch (err) {
      ctx.signal.throwIfAborted();
      if (!(err instanceof PagerDutyWindowExceededError) || err.total === null) return { items: [...byId.values()], error: errorText(err), membersComplete: false, total: null };
      const total = err.total;
      const teams = await teamIds();
      if (!teams) return { items: [...byId.values()], error: `${err.message}; the teams could not be read to list the rest`, membersComplete: false, total };
      const windowUsers = [...byId.values()];
      const inWindow = new Set(byId.keys());
      const slices: string[][] = [];
      for (let i = 0; i < teams.length; i += TEAMS_PER_SLICE) slices.push(teams.slice(i, i + TEAMS_PER_SLICE));
      const readSlice = async (slice: string[], start: number): Promise<boolean> => {
        let sliceTotal: number | null = null;
        let read = 0;
        let clean = true;
        const pages = this.client.paginate<PdUser>('/users', 'users', {
          signal: ctx.signal,
          priority: 'background',
          query: { 'team_ids[]': slice },
          startOffset: start,
          onPage: (p) => (sliceTotal ??= p.total),
        });
        for await (const page of pages) {
          for (const u of page) {
            read++;
            if (inWindow.has(u.id)) clean = false;
            else byId.set(u.id, slimUser(u));
          }
          o.onPage?.({ fetched: byId.size, total });
        }
        return start === 0 || (clean && sliceTotal !== null && read === sliceTotal - start);
      };
      try {
        while (slices.length > 0) {
          const slice = slices.shift()!;
          const members = new Set(slice);
          let k = 0;
          for (const u of windowUsers) if (ids(u.teams).some((t) => members.has(t))) k++;
          try {
            if (k >= MAX_OFFSET_WINDOW || !(await readSlice(slice, k))) await readSlice(slice, 0);
          } catch (e) {
            if (!(e instanceof PagerDutyWindowExceededError) || slice.length === 1) throw e;
            slices.push(slice.slice(0, slice.length / 2), slice.slice(slice.length / 2));
          }
        }
      } catch (e) {
        ctx.signal.throwIfAborted();
        return { items: [...byId.values()], error: errorText(e), membersComplete: false, total };
      }
      return { items: [...byId.values()], error: null, membersComplete: true, total };
    }
  }

  /**
   * Users the listing could not reach: stored entries it did not see, checked one by one (404: gone), then
   * Firebreak's people who match no user so far, looked up by email. Both bounded.
   */
  async lookUp(typeKey: string, unseen: string[] | null, ctx: FetchContext): Promise<LookUpResult> {
    const u = this.unlisted;
    if (typeKey !== 'users' || !u) return { items: [], gone: [], warnings: [] };
    const o = { signal: ctx.signal, priority: 'background' as const };
    const items: SourceItem[] = [];
    const gone: string[] = [];
    const emails = new Set(u.listedEmails);
    const found = new Set<string>();
    let unchecked = 0;
    const add = (user: PdUser) => {
      if (u.listedIds.has(user.id) || found.has(user.id)) return;
      found.add(user.id);
      items.push(userItem(slimUser(user)));
      const e = normalizeEmailKey(text(user.email));
      if (e) emails.add(e);
    };
    for (const id of unseen ?? []) {
      try {
        add(await this.client.getUser(id, o));
      } catch (err) {
        ctx.signal.throwIfAborted();
        if (err instanceof PagerDutyNotFoundError) gone.push(id);
        else unchecked++;
      }
    }
    const wanted = this.opts.firebreakEmails ? (await this.opts.firebreakEmails()).filter((e) => e && !emails.has(e)) : [];
    let byEmail = 0;
    for (const email of wanted.slice(0, MAX_EMAIL_LOOKUPS)) {
      try {
        const match = (await this.client.searchUsers(email, o)).users.find((x) => normalizeEmailKey(text(x.email)) === email);
        if (match && !u.listedIds.has(match.id) && !found.has(match.id)) {
          add(match);
          byEmail++;
        }
      } catch (err) {
        ctx.signal.throwIfAborted();
        unchecked++;
      }
    }
    const warnings = [
      `${fmt(u.missing)} of ${fmt(u.total)} users are in no team and past PagerDuty's 10,000-item listing limit, so no listing reaches them; ` +
        (found.size > 0 ? `they are not in the catalog, except ${fmt(found.size)} looked up one by one (${fmt(byEmail)} found by a Firebreak person's email)` : 'they are not in the catalog'),
    ];
    if (wanted.length > MAX_EMAIL_LOOKUPS) warnings.push(`${fmt(wanted.length - MAX_EMAIL_LOOKUPS)} Firebreak people who match no listed PagerDuty user were not looked up by email (a run looks up at most ${MAX_EMAIL_LOOKUPS})`);
    if (unchecked > 0) warnings.push(`${fmt(unchecked)} look-ups failed; those users were kept as they were`);
    this.unlisted = null;
    return { items, gone, warnings };
  }

  private async fetchMembers(teamIds: string[], ctx: FetchContext): Promise<{ members: Map<string, string[]>; error: string | null }> {
    const members = new Map<string, string[]>();
    try {
      for (const id of teamIds) {
        const list: string[] = [];
        for await (const page of this.client.listTeamMembers(id, { signal: ctx.signal, priority: 'background' })) for (const m of page) if (m?.user?.id) list.push(m.user.id);
        members.set(id, list);
      }
      return { members, error: null };
    } catch (err) {
      ctx.signal.throwIfAborted();
      return { members, error: `team members: ${errorText(err)}` };
    }
  }

  private async fetchPolicies(ctx: FetchContext, o: { signal: AbortSignal; priority: 'background'; onPage: (p: { fetched: number; total: number | null }) => void }): Promise<FetchedType> {
    const items: PdEscalationPolicy[] = [];
    let ignored = new Set<string>();
    try {
      const [, tagged] = await Promise.all([
        (async () => {
          for await (const page of this.client.listEscalationPolicies(o)) for (const p of page) items.push(slimPolicy(p));
        })(),
        (async () => {
          const tags = await this.client.findTagsByLabel(IGNORE_MARKER, { signal: ctx.signal, priority: 'background' });
          const found = new Set<string>();
          for (const tag of tags) for (const r of await this.client.listTaggedEntities(tag.id, 'escalation_policies', { signal: ctx.signal, priority: 'background' })) found.add(r.id);
          return found;
        })(),
      ]);
      ignored = tagged;
    } catch (err) {
      ctx.signal.throwIfAborted();
      // Without the tag lookup we cannot tell which policies to leave out: write nothing for this type.
      return { items: [], complete: false, skipped: [], error: errorText(err) };
    }
    return {
      items: items.filter((p) => !ignored.has(p.id)).map((p) => ({
        externalId: p.id,
        name: text(p.name) || p.id,
        externalUrl: url(p),
        values: { name: text(p.name), description: text(p.description), teams: ids(p.teams), target_schedules: policyTargets(p, 'schedule_reference'), target_users: policyTargets(p, 'user_reference') },
      })),
      complete: true,
      skipped: items.filter((p) => ignored.has(p.id)).map((p) => p.id),
      error: null,
    };
  }
}
