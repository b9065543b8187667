/**
 * The emulated account: records, indexes, wire serialisation and the incident lifecycle.
 * Everything PagerDuty would do on a write (log entries, assignments, webhook events) happens here,
 * so the REST routes, the control API and `actAs` share one implementation.
 */
import { createHash, randomBytes } from 'node:crypto';
import { alreadyAcknowledged, alreadyResolved, invalidInput, notFound, PdError } from './errors.js';
import { IdFactory, createPrng } from './seed.js';
import { finalEntries, formatInZone, layerEntries, onCallAt, onCallEntries, overrideEntries } from './oncall.js';
import type {
  ChangeEventRecord, IntegrationRecord, PdChangeEvent, PdOncall, PdOverride, PdSchedule, PdScheduleLayer, PdScheduleLayerEntry, PdSubSchedule, ScheduleLayerRecord, ScheduleOverrideRecord, ScheduleSeed,
  EscalationPolicyRecord, IncidentRecord, IncidentStatus, LogEntryRecord, LogEntryType, NoteRecord, PdEscalationPolicy, PdStatusUpdate, StatusUpdateRecord,
  PdIncident, PdLogEntry, PdNote, PdPriority, PdReference, PdService, PdTag, PdTeam, PdUser, PdWebhookSubscription,
  PriorityRecord, ScheduleRecord, SeedData, ServiceRecord, TagRecord, TeamRecord, Urgency, UserRecord,
  WebhookSubscriptionRecord, PdIncidentResponder, PdResponderRequest, ResponderRecord, ResponderRequestRecord,
} from './types.js';

/**
 * The longest status update message the emulator accepts. PagerDuty's OpenAPI document gives no limit; its
 * status updates go out by SMS and push as well as email, and the emulator refuses a message longer than
 * PagerDuty's note limit (25,000 characters) with the same error, so a client meets a 400 there rather than never.
 */
export const STATUS_UPDATE_MAX = 25_000;

export type EntityType = 'users' | 'teams' | 'escalation_policies';

/** What the store tells the webhook dispatcher. */
export interface DomainEvent {
  event_type: string;
  resource_type: 'incident' | 'service';
  agent: PdReference | null;
  client: { name: string } | null;
  data: unknown;
  ordering_key: string;
  service_id: string;
  team_ids: string[];
}

/** How a write reached PagerDuty; becomes the log entry channel and the webhook client. */
export type Channel = 'api' | 'mobile' | 'website';

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const byTimestamp = (a: ChangeEventRecord, b: ChangeEventRecord) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
export const normalizeEmail = (e: string) => e.trim().toLowerCase();
const collator = new Intl.Collator('en', { sensitivity: 'base' });
const byName = <T extends { name: string; id: string }>(a: T, b: T) =>
  collator.compare(a.name, b.name) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

interface Indexes {
  users: UserRecord[]; teams: TeamRecord[]; services: ServiceRecord[]; policies: EscalationPolicyRecord[];
  tags: TagRecord[];
  userTeams: Map<string, string[]>;
  userByEmail: Map<string, string>;
  policyServices: Map<string, string[]>;
  policyUsers: Map<string, Set<string>>;
  schedules: ScheduleRecord[];
  /** Schedule id -> ids of the policies that target it, by policy name. */
  schedulePolicies: Map<string, string[]>;
  entityTags: Map<string, string[]>;
  lower: WeakMap<object, string>;
}

export class AccountStore {
  users = new Map<string, UserRecord>();
  teams = new Map<string, TeamRecord>();
  schedules = new Map<string, ScheduleRecord>();
  escalationPolicies = new Map<string, EscalationPolicyRecord>();
  services = new Map<string, ServiceRecord>();
  priorities = new Map<string, PriorityRecord>();
  tags = new Map<string, TagRecord>();
  incidents = new Map<string, IncidentRecord>();
  /** Log entries in creation order. */
  logEntries: LogEntryRecord[] = [];
  private logByIncident = new Map<string, LogEntryRecord[]>();
  webhookSubscriptions = new Map<string, WebhookSubscriptionRecord>();
  /** Change events, oldest first by timestamp (see changeEvents.ts for how they arrive and are listed). */
  changeEvents: ChangeEventRecord[] = [];
  private lastIncidentAt = new Map<string, string>();

  private ids = new IdFactory(createPrng(0x1d5));
  private incidentCounter = 0;
  private version = 0;
  private indexVersion = -1;
  private idx!: Indexes;
  private incidentsByCreation: IncidentRecord[] = [];

  apiBase = 'http://127.0.0.1';
  htmlBase = 'https://firebreak-emulator.pagerduty.com';
  onEvent: (e: DomainEvent) => void = () => {};

  constructor(subdomain = 'firebreak-emulator') {
    this.htmlBase = `https://${subdomain}.pagerduty.com`;
  }

  // ---------- loading ----------
  load(seed: SeedData): void {
    this.users.clear(); this.teams.clear(); this.schedules.clear(); this.escalationPolicies.clear();
    this.services.clear(); this.priorities.clear(); this.tags.clear(); this.incidents.clear();
    this.logEntries = []; this.logByIncident.clear(); this.webhookSubscriptions.clear();
    this.incidentsByCreation = []; this.changeEvents = [];
    this.ids = new IdFactory(createPrng(0x1d5));
    this.incidentCounter = 0;
    const put = <T extends { id: string }>(m: Map<string, T>, xs: T[] | undefined) => {
      // A JSON round trip copies plain records faster than structuredClone; seeds are plain JSON anyway.
      for (const x of JSON.parse(JSON.stringify(xs ?? [])) as T[]) { this.ids.reserve(x.id); m.set(x.id, x); }
    };
    put(this.users, seed.users); put(this.teams, seed.teams);
    for (const x of JSON.parse(JSON.stringify(seed.schedules ?? [])) as ScheduleSeed[]) {
      this.ids.reserve(x.id);
      for (const l of x.layers ?? []) this.ids.reserve(l.id);
      for (const o of x.overrides ?? []) this.ids.reserve(o.id);
      this.schedules.set(x.id, this.normaliseSchedule(x));
    }
    put(this.escalationPolicies, seed.escalation_policies); put(this.services, seed.services);
    put(this.priorities, seed.priorities); put(this.tags, seed.tags); put(this.incidents, seed.incidents);
    for (const i of this.incidents.values()) this.incidentCounter = Math.max(this.incidentCounter, i.incident_number);
    this.incidentsByCreation = [...this.incidents.values()].sort((a, b) => a.incident_number - b.incident_number);
    this.lastIncidentAt.clear();
    for (const i of this.incidentsByCreation) this.lastIncidentAt.set(i.service_id, i.created_at);
    for (const le of JSON.parse(JSON.stringify(seed.log_entries ?? [])) as LogEntryRecord[]) this.pushLog(le);
    for (const svc of this.services.values()) this.ensureIntegration(svc);
    this.changeEvents = (JSON.parse(JSON.stringify(seed.change_events ?? [])) as ChangeEventRecord[]).sort(byTimestamp);
    this.touch();
    void this.index; // build indexes now rather than on the first request
  }

  export(): SeedData {
    return structuredClone({
      users: [...this.users.values()], teams: [...this.teams.values()], schedules: [...this.schedules.values()],
      escalation_policies: [...this.escalationPolicies.values()], services: [...this.services.values()],
      priorities: [...this.priorities.values()], tags: [...this.tags.values()],
      incidents: [...this.incidents.values()], log_entries: this.logEntries, change_events: this.changeEvents,
    });
  }

  newId(): string { return this.ids.next(); }

  // ---------- clock (on-call only) ----------
  private clockFixed: number | null = null;
  private clockOffset = 0;
  /** "Now" for on-call answers: the real time unless a test set or moved the clock. */
  clockNow(): number { return this.clockFixed ?? Date.now() + this.clockOffset; }
  /** Freeze the on-call clock at t (ms since epoch). */
  setClock(t: number): void { this.clockFixed = t; this.clockOffset = 0; }
  /** Move the on-call clock by ms (a frozen clock stays frozen at the new time). */
  advanceClock(ms: number): void { if (this.clockFixed !== null) this.clockFixed += ms; else this.clockOffset += ms; }
  resetClock(): void { this.clockFixed = null; this.clockOffset = 0; }
  clockState(): { now: string; frozen: boolean; offset_ms: number } {
    return { now: new Date(this.clockNow()).toISOString(), frozen: this.clockFixed !== null, offset_ms: this.clockFixed === null ? this.clockOffset : this.clockFixed - Date.now() };
  }

  /** A schedule from seed data (possibly saved before layers existed) as a full record. */
  normaliseSchedule(x: ScheduleSeed): ScheduleRecord {
    const layers: ScheduleLayerRecord[] = x.layers ?? (x.user_ids && x.user_ids.length > 0 ? [{
      id: this.ids.next(), name: 'Layer 1', start: '1970-01-01T00:00:00Z', end: null, rotation_virtual_start: '1970-01-01T00:00:00Z',
      rotation_turn_length_seconds: 86_400, user_ids: [...x.user_ids], restrictions: [],
    }] : []);
    const rec: ScheduleRecord = { id: x.id, name: x.name, description: x.description ?? '', time_zone: x.time_zone ?? 'Etc/UTC',
      team_ids: x.team_ids ?? [], layers, overrides: x.overrides ?? [], user_ids: [] };
    this.refreshScheduleUsers(rec);
    return rec;
  }
  /** Recompute the derived member list (every layer user, first seen first). */
  refreshScheduleUsers(s: ScheduleRecord): void {
    s.user_ids = [...new Set(s.layers.flatMap((l) => l.user_ids))];
  }

  // Serialised catalog objects, reused across pages until the account changes (keeps big accounts fast to page).
  private jsonCache = new Map<string, string>();
  private jsonCacheVersion = -1;
  /** Serialise every catalog object now (after the base URL is known), so the first pages are as fast as later ones. */
  warmJsonCache(): void {
    for (const u of this.users.values()) this.cachedJson(`user:${u.id}`, () => this.userWire(u));
    for (const t of this.teams.values()) this.cachedJson(`team:${t.id}`, () => this.teamWire(t));
    for (const x of this.services.values()) this.cachedJson(`service:${x.id}`, () => this.serviceWire(x));
    for (const p of this.escalationPolicies.values()) this.cachedJson(`policy:${p.id}`, () => this.policyWire(p));
  }

  /** Whole unfiltered list pages, encoded, keyed by collection/offset/limit/total. Cleared with the object cache. */
  private pageCache = new Map<string, Buffer>();
  cachedPage(key: string, build: () => string): Buffer {
    if (this.jsonCacheVersion !== this.version) { this.jsonCache.clear(); this.pageCache.clear(); this.jsonCacheVersion = this.version; }
    let b = this.pageCache.get(key);
    if (b === undefined) {
      if (this.pageCache.size >= 4096) this.pageCache.clear();
      b = Buffer.from(build(), 'utf8');
      this.pageCache.set(key, b);
    }
    return b;
  }

  cachedJson(key: string, build: () => unknown): string {
    if (this.jsonCacheVersion !== this.version) { this.jsonCache.clear(); this.pageCache.clear(); this.jsonCacheVersion = this.version; }
    let s = this.jsonCache.get(key);
    if (s === undefined) { s = JSON.stringify(build()); this.jsonCache.set(key, s); }
    return s;
  }
  touch(): void { this.version++; }

  // ---------- indexes ----------
  get index(): Indexes {
    if (this.indexVersion === this.version) return this.idx;
    const userTeams = new Map<string, string[]>();
    for (const t of this.teams.values()) for (const m of t.members) {
      const l = userTeams.get(m.user_id); if (l) l.push(t.id); else userTeams.set(m.user_id, [t.id]);
    }
    const userByEmail = new Map<string, string>();
    for (const u of this.users.values()) userByEmail.set(normalizeEmail(u.email), u.id);
    const policyServices = new Map<string, string[]>();
    const services = [...this.services.values()].sort(byName);
    for (const s of services) {
      const l = policyServices.get(s.escalation_policy_id); if (l) l.push(s.id); else policyServices.set(s.escalation_policy_id, [s.id]);
    }
    const policyUsers = new Map<string, Set<string>>();
    for (const p of this.escalationPolicies.values()) {
      const set = new Set<string>();
      for (const r of p.escalation_rules) for (const t of r.targets) {
        if (t.type === 'user') set.add(t.id);
        else for (const u of this.schedules.get(t.id)?.user_ids ?? []) set.add(u);
      }
      policyUsers.set(p.id, set);
    }
    const schedulePolicies = new Map<string, string[]>();
    const policies = [...this.escalationPolicies.values()].sort(byName);
    for (const p of policies) {
      const seen = new Set<string>();
      for (const r of p.escalation_rules) for (const t of r.targets) if (t.type === 'schedule' && !seen.has(t.id)) {
        seen.add(t.id);
        const l = schedulePolicies.get(t.id); if (l) l.push(p.id); else schedulePolicies.set(t.id, [p.id]);
      }
    }
    const entityTags = new Map<string, string[]>();
    const tags = [...this.tags.values()].sort((a, b) => collator.compare(a.label, b.label) || (a.id < b.id ? -1 : 1));
    for (const t of tags) for (const type of ['users', 'teams', 'escalation_policies'] as const) for (const id of t[type]) {
      const k = `${type}:${id}`; const l = entityTags.get(k); if (l) l.push(t.id); else entityTags.set(k, [t.id]);
    }
    this.idx = {
      users: [...this.users.values()].sort(byName), teams: [...this.teams.values()].sort(byName), services,
      policies, tags, userTeams, userByEmail, policyServices,
      policyUsers, schedules: [...this.schedules.values()].sort(byName), schedulePolicies, entityTags, lower: new WeakMap(),
    };
    this.indexVersion = this.version;
    return this.idx;
  }

  /** Case-insensitive substring match used by `query=` filters. */
  matches(obj: object, text: string, q: string): boolean {
    const idx = this.index;
    let l = idx.lower.get(obj);
    if (l === undefined) { l = text.toLowerCase(); idx.lower.set(obj, l); }
    return l.includes(q);
  }

  userByEmail(email: string): UserRecord | undefined {
    const id = this.index.userByEmail.get(normalizeEmail(email));
    return id ? this.users.get(id) : undefined;
  }

  findUser(idOrEmail: string): UserRecord | undefined {
    return this.users.get(idOrEmail) ?? this.userByEmail(idOrEmail);
  }

  // ---------- wire serialisation ----------
  ref(kind: 'user' | 'team' | 'service' | 'escalation_policy' | 'schedule' | 'priority' | 'incident' | 'tag', id: string, summary: string): PdReference {
    const plural = kind === 'escalation_policy' ? 'escalation_policies' : kind === 'priority' ? 'priorities' : `${kind}s`;
    const html = kind === 'priority' ? `${this.htmlBase}/account/incident_priorities`
      : kind === 'tag' ? null : `${this.htmlBase}/${plural}/${id}`;
    return { id, type: `${kind}_reference`, summary, self: `${this.apiBase}/${plural}/${id}`, html_url: html };
  }
  userRef(id: string): PdReference { return this.ref('user', id, this.users.get(id)?.name ?? 'Deleted user'); }
  teamRef(id: string): PdReference { return this.ref('team', id, this.teams.get(id)?.name ?? 'Deleted team'); }
  serviceRef(id: string): PdReference { return this.ref('service', id, this.services.get(id)?.name ?? 'Deleted service'); }
  policyRef(id: string): PdReference { return this.ref('escalation_policy', id, this.escalationPolicies.get(id)?.name ?? 'Deleted policy'); }
  scheduleRef(id: string): PdReference { return this.ref('schedule', id, this.schedules.get(id)?.name ?? 'Deleted schedule'); }
  priorityRef(id: string): PdReference { return this.ref('priority', id, this.priorities.get(id)?.name ?? 'Deleted priority'); }
  incidentRef(i: IncidentRecord): PdReference { return this.ref('incident', i.id, `[#${i.incident_number}] ${i.title}`); }

  full<T extends PdReference>(r: PdReference, type: string, extra: Omit<T, keyof PdReference>): T {
    return { ...r, type, ...extra } as unknown as T;
  }

  userWire(u: UserRecord, include: Set<string> = new Set()): PdUser {
    const teamIds = this.index.userTeams.get(u.id) ?? [];
    return this.full<PdUser>(this.ref('user', u.id, u.name), 'user', {
      name: u.name, email: u.email, time_zone: u.time_zone, color: u.color, role: u.role,
      avatar_url: `https://secure.gravatar.com/avatar/${u.id.toLowerCase()}.png?d=mm&r=PG`,
      description: u.description, invitation_sent: false, job_title: u.job_title,
      teams: include.has('teams') ? teamIds.flatMap((t) => { const r = this.teams.get(t); return r ? [this.teamWire(r)] : []; })
        : teamIds.map((t) => this.teamRef(t)),
      contact_methods: [], notification_rules: [],
    });
  }

  teamWire(t: TeamRecord): PdTeam {
    return this.full<PdTeam>(this.ref('team', t.id, t.name), 'team', {
      name: t.name, description: t.description, default_role: t.default_role, parent: null,
    });
  }

  serviceWire(s: ServiceRecord, include: Set<string> = new Set()): PdService {
    const p = this.escalationPolicies.get(s.escalation_policy_id);
    const last = this.lastIncidentAt.get(s.id) ?? null;
    return this.full<PdService>(this.ref('service', s.id, s.name), 'service', {
      name: s.name, description: s.description, status: s.status, created_at: s.created_at, updated_at: s.updated_at,
      auto_resolve_timeout: s.auto_resolve_timeout, acknowledgement_timeout: s.acknowledgement_timeout,
      last_incident_timestamp: last,
      escalation_policy: include.has('escalation_policies') && p ? this.policyWire(p) : this.policyRef(s.escalation_policy_id),
      teams: include.has('teams') ? s.team_ids.flatMap((t) => { const r = this.teams.get(t); return r ? [this.teamWire(r)] : []; })
        : s.team_ids.map((t) => this.teamRef(t)),
      integrations: (s.integrations ?? []).map((x) => this.integrationRef(s.id, x)), alert_creation: 'create_alerts_and_incidents',
      incident_urgency_rule: { type: 'constant', urgency: 'high' },
    });
  }

  policyWire(p: EscalationPolicyRecord, include: Set<string> = new Set()): PdEscalationPolicy {
    return this.full<PdEscalationPolicy>(this.ref('escalation_policy', p.id, p.name), 'escalation_policy', {
      name: p.name, description: p.description, num_loops: p.num_loops, on_call_handoff_notifications: 'if_has_services',
      escalation_rules: p.escalation_rules.map((r) => ({
        id: r.id, escalation_delay_in_minutes: r.escalation_delay_in_minutes,
        targets: r.targets.map((t) => {
          if (t.type === 'user') {
            const u = this.users.get(t.id);
            return include.has('targets') && u ? this.userWire(u) : { ...this.userRef(t.id), type: 'user_reference' };
          }
          const sch = this.schedules.get(t.id);
          const ref = this.ref('schedule', t.id, sch?.name ?? 'Deleted schedule');
          return include.has('targets') ? { ...ref, type: 'schedule', name: sch?.name ?? '' } : ref;
        }),
      })),
      services: (this.index.policyServices.get(p.id) ?? []).map((s) => this.serviceRef(s)),
      teams: p.team_ids.map((t) => this.teamRef(t)),
    });
  }

  integrationRef(serviceId: string, x: IntegrationRecord): PdReference {
    return { id: x.id, type: 'inbound_integration_reference', summary: x.name, self: `${this.apiBase}/services/${serviceId}/integrations/${x.id}`,
      html_url: `${this.htmlBase}/services/${serviceId}/integrations/${x.id}` };
  }

  /**
   * Gives a service without integrations one Events API v2 integration. Its id and routing key are derived from the
   * service id (not drawn from the id generator), so every seed keeps the ids it always had and the key is stable.
   */
  ensureIntegration(svc: ServiceRecord): void {
    if (svc.integrations && svc.integrations.length > 0) return;
    const h = createHash('sha256').update(`events-api-v2:${svc.id}`).digest();
    let id = 'PI';
    for (let i = 0; i < 5; i++) id += ID_CHARS[h[i]! % ID_CHARS.length];
    this.ids.reserve(id);
    svc.integrations = [{ id, name: 'Events API V2', integration_key: h.subarray(8, 24).toString('hex') }];
  }

  /** The service and integration a routing key belongs to. */
  integrationByKey(key: string): { service: ServiceRecord; integration: IntegrationRecord } | undefined {
    for (const service of this.services.values()) {
      const integration = service.integrations?.find((x) => x.integration_key === key);
      if (integration) return { service, integration };
    }
    return undefined;
  }

  addChangeEvent(ce: ChangeEventRecord): void {
    // Kept ordered by timestamp; events usually arrive in order, so this is an append.
    let i = this.changeEvents.length;
    while (i > 0 && byTimestamp(this.changeEvents[i - 1]!, ce) > 0) i--;
    this.changeEvents.splice(i, 0, ce);
  }

  changeEventWire(ce: ChangeEventRecord, reason?: 'most_recent' | 'related_service' | 'intelligent'): PdChangeEvent {
    const svc = this.services.get(ce.service_id);
    const integration = svc?.integrations?.find((x) => x.id === ce.integration_id) ?? { id: ce.integration_id, name: 'Deleted integration', integration_key: '' };
    return {
      id: ce.id, type: 'change_event', summary: ce.summary, timestamp: ce.timestamp, ...(ce.source !== null ? { source: ce.source } : {}),
      integration: this.integrationRef(ce.service_id, integration), services: [this.serviceRef(ce.service_id)],
      custom_details: ce.custom_details ?? {}, links: ce.links.map((l) => ({ ...l })), images: ce.images.map((x) => ({ ...x })),
      ...(reason ? { correlation_reason: { reason } } : {}),
    };
  }

  /**
   * A schedule. `include`: schedule_layers, overrides_subschedule, final_schedule (GET /schedules/{id} shows all
   * three). With a `render` window, layers and sub-schedules carry rendered entries and coverage, in `timeZone`.
   */
  scheduleWire(s: ScheduleRecord, include: Set<string> = new Set(), render?: { since: number; until: number; overflow: boolean; timeZone?: string }): PdSchedule {
    const tz = render?.timeZone ?? s.time_zone;
    const entries = (xs: { start: number; end: number; user_id: string }[]): PdScheduleLayerEntry[] => xs.map((e) => ({
      user: this.userRef(e.user_id), start: formatInZone(e.start, tz), end: formatInZone(e.end, tz) }));
    const coverage = (xs: { start: number; end: number }[]) => {
      if (!render) return null;
      const span = render.until - render.since;
      if (span <= 0) return 0;
      const covered = xs.reduce((n, x) => n + Math.min(x.end, render.until) - Math.max(x.start, render.since), 0);
      return Math.round((covered / span) * 1000) / 10;
    };
    // overflow=true keeps entries whole where they cross the window; otherwise they are cut at it.
    const window = (fn: (from: number, to: number) => { start: number; end: number; user_id: string }[]) => {
      if (!render) return undefined;
      if (!render.overflow) return fn(render.since, render.until);
      const pad = 35 * 86_400_000;
      return fn(render.since - pad, render.until + pad).filter((e) => e.end > render.since && e.start < render.until);
    };
    const out = this.full<PdSchedule>(this.scheduleRef(s.id), 'schedule', {
      name: s.name, description: s.description, time_zone: s.time_zone,
      escalation_policies: (this.index.schedulePolicies.get(s.id) ?? []).map((p) => this.policyRef(p)),
      users: s.user_ids.filter((u) => this.users.has(u)).map((u) => this.userRef(u)),
      teams: s.team_ids.filter((t) => this.teams.has(t)).map((t) => this.teamRef(t)),
    });
    if (include.has('schedule_layers')) {
      out.schedule_layers = s.layers.map((l): PdScheduleLayer => {
        const layer: PdScheduleLayer = { id: l.id, name: l.name, start: formatInZone(Date.parse(l.start), tz), end: l.end ? formatInZone(Date.parse(l.end), tz) : null,
          rotation_virtual_start: formatInZone(Date.parse(l.rotation_virtual_start), tz), rotation_turn_length_seconds: l.rotation_turn_length_seconds,
          users: l.user_ids.map((u) => ({ user: this.userRef(u) })), restrictions: l.restrictions.map((r) => ({ ...r })) };
        const rendered = window((a, b) => layerEntries(l, s.time_zone, a, b));
        if (rendered) { layer.rendered_schedule_entries = entries(rendered); layer.rendered_coverage_percentage = coverage(rendered); }
        return layer;
      });
    }
    const sub = (name: PdSubSchedule['name'], fn: (a: number, b: number) => { start: number; end: number; user_id: string }[]): PdSubSchedule => {
      const rendered = window(fn);
      return rendered ? { name, rendered_schedule_entries: entries(rendered), rendered_coverage_percentage: coverage(rendered) } : { name };
    };
    if (include.has('overrides_subschedule')) out.overrides_subschedule = sub('Overrides', (a, b) => overrideEntries(s.overrides, a, b).sort((x, y) => x.start - y.start));
    if (include.has('final_schedule')) out.final_schedule = sub('Final Schedule', (a, b) => finalEntries(s, a, b));
    return out;
  }

  overrideWire(o: ScheduleOverrideRecord, tz = 'Etc/UTC'): PdOverride {
    return { id: o.id, start: formatInZone(Date.parse(o.start), tz), end: formatInZone(Date.parse(o.end), tz), user: this.userRef(o.user_id) };
  }

  /**
   * On-calls from escalation policies, as GET /oncalls answers them: per policy (by name), level, target; a user
   * target is on call permanently (schedule, start and end null), a schedule target yields each final-schedule entry
   * overlapping [since, until] (an instant when equal).
   */
  oncalls(f: { since: number; until: number; policyIds: string[]; scheduleIds: string[]; userIds: string[]; earliest: boolean; include: Set<string>; timeZone: string }): PdOncall[] {
    const out: { p: EscalationPolicyRecord; level: number; scheduleId: string | null; userId: string; start: number | null; end: number | null }[] = [];
    const wantDirect = f.scheduleIds.includes('null');
    const scheduleFilter = f.scheduleIds.filter((x) => x !== 'null');
    const cache = new Map<string, ReturnType<typeof onCallEntries>>();
    for (const p of this.index.policies) {
      if (f.policyIds.length && !f.policyIds.includes(p.id)) continue;
      p.escalation_rules.forEach((r, i) => {
        const seen = new Set<string>();
        for (const t of r.targets) {
          if (t.type === 'user') {
            if (f.scheduleIds.length && !wantDirect) continue;
            if (!this.users.has(t.id) || seen.has(`u:${t.id}`)) continue;
            seen.add(`u:${t.id}`);
            out.push({ p, level: i + 1, scheduleId: null, userId: t.id, start: null, end: null });
            continue;
          }
          if (f.scheduleIds.length && !scheduleFilter.includes(t.id)) continue;
          const sch = this.schedules.get(t.id);
          if (!sch) continue;
          let entries = cache.get(sch.id);
          if (!entries) { entries = onCallEntries(sch, f.since, f.until); cache.set(sch.id, entries); }
          for (const e of entries) {
            if (!this.users.has(e.user_id)) continue;
            out.push({ p, level: i + 1, scheduleId: sch.id, userId: e.user_id, start: e.start, end: e.end });
          }
        }
      });
    }
    let list = f.userIds.length ? out.filter((o) => f.userIds.includes(o.userId)) : out;
    if (f.earliest) {
      const firsts = new Map<string, (typeof list)[number]>();
      for (const o of list) {
        const k = `${o.p.id}|${o.level}|${o.userId}`;
        const cur = firsts.get(k);
        if (!cur || (o.start ?? -Infinity) < (cur.start ?? -Infinity)) firsts.set(k, o);
      }
      list = list.filter((o) => firsts.get(`${o.p.id}|${o.level}|${o.userId}`) === o);
    }
    const inc = f.include;
    return list.map((o) => {
      const u = this.users.get(o.userId)!;
      const sch = o.scheduleId ? this.schedules.get(o.scheduleId) : undefined;
      return {
        escalation_policy: inc.has('escalation_policies') ? this.policyWire(o.p) : this.policyRef(o.p.id),
        escalation_level: o.level,
        schedule: sch ? (inc.has('schedules') ? this.scheduleWire(sch) : this.scheduleRef(sch.id)) : null,
        user: inc.has('users') ? this.userWire(u) : this.userRef(u.id),
        start: o.start === null ? null : formatInZone(o.start, f.timeZone),
        end: o.end === null ? null : formatInZone(o.end, f.timeZone),
      };
    });
  }

  priorityWire(p: PriorityRecord): PdPriority {
    return this.full<PdPriority>(this.ref('priority', p.id, p.name), 'priority', { name: p.name, description: p.description });
  }

  tagWire(t: TagRecord): PdTag {
    return this.full<PdTag>(this.ref('tag', t.id, t.label), 'tag', { label: t.label });
  }

  /** `include[]` side-loads: assignees, acknowledgers, services, escalation_policies, teams, priorities, first_trigger_log_entries. */
  incidentWire(i: IncidentRecord, include: Set<string> = new Set()): PdIncident {
    const svc = this.services.get(i.service_id);
    const user = (id: string): PdReference => {
      const u = this.users.get(id);
      return u ? this.userWire(u) : this.userRef(id);
    };
    const pol = this.escalationPolicies.get(i.escalation_policy_id);
    const pri = i.priority_id ? this.priorities.get(i.priority_id) : undefined;
    const firstTrigger = include.has('first_trigger_log_entries')
      ? this.logEntriesFor(i.id).find((l) => l.id === i.first_trigger_log_entry_id) : undefined;
    return this.full<PdIncident>(this.incidentRef(i), 'incident', {
      incident_number: i.incident_number, title: i.title, description: i.title, created_at: i.created_at,
      updated_at: i.updated_at, status: i.status, incident_key: i.incident_key,
      service: include.has('services') && svc ? this.serviceWire(svc) : this.serviceRef(i.service_id),
      assignments: i.assignments.map((a) => ({ at: a.at, assignee: include.has('assignees') || include.has('users') ? user(a.user_id) : this.userRef(a.user_id) })),
      assigned_via: i.assigned_via,
      acknowledgements: i.acknowledgements.map((a) => ({ at: a.at, acknowledger: include.has('acknowledgers') || include.has('users') ? user(a.user_id) : this.userRef(a.user_id) })),
      last_status_change_at: i.last_status_change_at,
      last_status_change_by: i.last_status_change_by && this.users.has(i.last_status_change_by)
        ? this.userRef(i.last_status_change_by) : this.serviceRef(i.service_id),
      first_trigger_log_entry: firstTrigger ? this.logEntryWire(firstTrigger) : this.logRef(i.first_trigger_log_entry_id, i, 'trigger_log_entry'),
      escalation_policy: include.has('escalation_policies') && pol ? this.policyWire(pol) : this.policyRef(i.escalation_policy_id),
      teams: (svc?.team_ids ?? []).map((t) => { const r = this.teams.get(t); return include.has('teams') && r ? this.teamWire(r) : this.teamRef(t); }),
      urgency: i.urgency,
      priority: pri ? (include.has('priorities') ? this.priorityWire(pri) : this.priorityRef(pri.id)) : null,
      resolved_at: i.resolved_at, resolve_reason: null,
      alert_counts: { all: 0, triggered: 0, resolved: 0 }, is_mergeable: true, incident_type: { name: 'incident_default' },
      // Only on incidents that had responder requests, so every other answer stays as it was.
      ...(i.responder_requests?.length ? {
        incidents_responders: (i.responders ?? []).map((r) => this.responderWire(i, r)),
        responder_requests: i.responder_requests.map((q) => this.responderRequestWire(i, q)),
      } : {}),
    });
  }

  responderWire(i: IncidentRecord, r: ResponderRecord): PdIncidentResponder {
    return {
      state: r.state, user: this.userRef(r.user_id), incident: this.incidentRef(i), updated_at: r.updated_at, message: r.message,
      requester: this.userRef(r.requester_id), requested_at: r.requested_at,
      ...(r.policy_ids.length ? { escalation_policy_requests: r.policy_ids.map((p) => this.escalationPolicies.get(p)?.name ?? 'Deleted policy') } : {}),
    };
  }

  /** A responder request with, for each target, the responders it added (a policy: the people it reached). */
  responderRequestWire(i: IncidentRecord, q: ResponderRequestRecord): PdResponderRequest {
    const responders = i.responders ?? [];
    return {
      id: q.id, incident: this.incidentRef(i), requester: this.userRef(q.requester_id), requested_at: q.requested_at, message: q.message,
      responder_request_targets: q.targets.map((t) => ({
        responder_request_target: {
          type: t.type, id: t.id,
          summary: t.type === 'user' ? (this.users.get(t.id)?.name ?? 'Deleted user') : (this.escalationPolicies.get(t.id)?.name ?? 'Deleted policy'),
          incidents_responders: responders.filter((r) => (t.type === 'user' ? r.user_id === t.id : r.policy_ids.includes(t.id))).map((r) => this.responderWire(i, r)),
        },
      })),
    };
  }

  /** `data` of incident.responder.added / .replied (type `incident_responder`). */
  responderEventData(i: IncidentRecord, r: ResponderRecord): Record<string, unknown> {
    const policy = r.policy_ids[0];
    return {
      incident: this.incidentRef(i), user: this.userRef(r.user_id),
      ...(policy ? { escalation_policy: this.policyRef(policy) } : {}),
      message: r.message, state: r.state, type: 'incident_responder',
    };
  }

  private logRef(id: string, i: IncidentRecord, type: LogEntryType): PdReference {
    return { id, type: `${type}_reference`, summary: this.logSummary(type), self: `${this.apiBase}/log_entries/${id}`,
      html_url: `${this.htmlBase}/incidents/${i.id}/log_entries/${id}` };
  }

  private logSummary(type: LogEntryType): string {
    return ({
      trigger_log_entry: 'Triggered through the API', assign_log_entry: 'Assigned', notify_log_entry: 'Notified',
      acknowledge_log_entry: 'Acknowledged', unacknowledge_log_entry: 'Unacknowledged', annotate_log_entry: 'Note added',
      escalate_log_entry: 'Escalated', resolve_log_entry: 'Resolved',
    } as const)[type];
  }

  /** `include[]` side-loads: incidents, services, teams. */
  logEntryWire(le: LogEntryRecord, include: Set<string> = new Set()): PdLogEntry {
    const i = this.incidents.get(le.incident_id)!;
    const svc = this.services.get(i.service_id);
    const channel: PdLogEntry['channel'] = { type: le.type === 'notify_log_entry' ? 'email' : le.channel };
    const out: PdLogEntry = {
      ...this.logRef(le.id, i, le.type), type: le.type, created_at: le.created_at,
      agent: le.agent ? (le.agent.type === 'user' ? this.userRef(le.agent.id) : this.serviceRef(le.agent.id)) : null,
      channel, service: include.has('services') && svc ? this.serviceWire(svc) : this.serviceRef(i.service_id),
      incident: include.has('incidents') ? this.incidentWire(i) : this.incidentRef(i),
      teams: (svc?.team_ids ?? []).map((t) => { const r = this.teams.get(t); return include.has('teams') && r ? this.teamWire(r) : this.teamRef(t); }),
      contexts: [],
    };
    if (le.type === 'notify_log_entry' && le.user_id) {
      out.user = this.userRef(le.user_id);
      out.summary = `Notified ${this.users.get(le.user_id)?.name ?? 'user'} by email`;
    }
    if (le.assignee_ids) {
      out.assignees = le.assignee_ids.map((u) => this.userRef(u));
      out.summary = `${le.type === 'escalate_log_entry' ? 'Escalated' : 'Assigned'} to ${le.assignee_ids.map((u) => this.users.get(u)?.name ?? u).join(', ')}`;
    }
    if (le.note !== undefined) out.channel = { type: 'note', summary: le.note };
    if (le.type === 'trigger_log_entry') out.event_details = { description: i.title };
    return out;
  }

  noteWire(n: NoteRecord): PdNote {
    return { id: n.id, user: this.userRef(n.user_id), channel: { summary: 'The PagerDuty website or APIs' },
      content: n.content, created_at: n.created_at, updated_at: n.created_at };
  }

  statusUpdateWire(u: StatusUpdateRecord): PdStatusUpdate {
    return { id: u.id, message: u.message, sender: this.userRef(u.user_id), created_at: u.created_at,
      ...(u.subject !== undefined ? { subject: u.subject } : {}), ...(u.html_message !== undefined ? { html_message: u.html_message } : {}) };
  }

  webhookSubscriptionWire(w: WebhookSubscriptionRecord, withSecret = false): PdWebhookSubscription {
    return {
      id: w.id, type: 'webhook_subscription', active: w.active,
      delivery_method: { id: w.delivery_method_id, secret: withSecret ? w.secret : null, temporarily_disabled: w.temporarily_disabled,
        type: 'http_delivery_method', url: w.url, custom_headers: w.custom_headers.map((h) => ({ ...h })) },
      description: w.description, events: [...w.events], filter: { ...w.filter },
    };
  }

  /** Incident `data` as webhooks v3 carries it (note `number`, not `incident_number`). */
  incidentEventData(i: IncidentRecord): Record<string, unknown> {
    const svc = this.services.get(i.service_id);
    const { id, self, html_url } = this.incidentRef(i);
    return {
      id, type: 'incident', self, html_url, number: i.incident_number, status: i.status, incident_key: i.incident_key,
      created_at: i.created_at, title: i.title, service: this.serviceRef(i.service_id),
      assignees: i.assignments.map((a) => this.userRef(a.user_id)), escalation_policy: this.policyRef(i.escalation_policy_id),
      teams: (svc?.team_ids ?? []).map((t) => this.teamRef(t)), priority: i.priority_id ? this.priorityRef(i.priority_id) : null,
      urgency: i.urgency, conference_bridge: null, resolve_reason: null, incident_type: { name: 'incident_default' },
    };
  }

  serviceEventData(s: ServiceRecord): Record<string, unknown> {
    return { ...this.serviceRef(s.id), type: 'service', name: s.name, description: s.description, status: s.status,
      alert_creation: 'create_alerts_and_incidents', escalation_policy: this.policyRef(s.escalation_policy_id),
      teams: s.team_ids.map((t) => this.teamRef(t)) };
  }

  // ---------- on-call ----------
  /** The user on call for a schedule at `at` (default: the on-call clock's now), from its layers and overrides. */
  onCallUser(scheduleId: string, at = this.clockNow()): string | undefined {
    const s = this.schedules.get(scheduleId);
    if (!s) return undefined;
    return onCallAt(s, at);
  }

  /** Users targeted by one escalation level (1-based), schedules resolved to their on-call user. */
  levelTargets(policy: EscalationPolicyRecord, level: number): string[] {
    const rule = policy.escalation_rules[level - 1];
    if (!rule) return [];
    const out = new Set<string>();
    for (const t of rule.targets) {
      const id = t.type === 'user' ? t.id : this.onCallUser(t.id);
      if (id && this.users.has(id)) out.add(id);
    }
    return [...out];
  }

  // ---------- incidents ----------
  incidentsInOrder(): IncidentRecord[] { return this.incidentsByCreation; }
  logEntriesFor(incidentId: string): LogEntryRecord[] { return this.logByIncident.get(incidentId) ?? []; }

  private pushLog(le: LogEntryRecord): LogEntryRecord {
    this.logEntries.push(le);
    const l = this.logByIncident.get(le.incident_id); if (l) l.push(le); else this.logByIncident.set(le.incident_id, [le]);
    return le;
  }

  private log(i: IncidentRecord, type: LogEntryType, agentId: string | null, channel: Channel, at: string, extra: Partial<LogEntryRecord> = {}): LogEntryRecord {
    return this.pushLog({ id: this.ids.next(), type, incident_id: i.id, created_at: at,
      agent: agentId ? { type: 'user', id: agentId } : { type: 'service', id: i.service_id }, channel, ...extra });
  }

  private emitIncident(eventType: string, i: IncidentRecord, agentId: string | null, channel: Channel, data?: unknown): void {
    const svc = this.services.get(i.service_id);
    this.onEvent({
      event_type: eventType, resource_type: 'incident', agent: agentId ? this.userRef(agentId) : this.serviceRef(i.service_id),
      client: !agentId ? { name: 'Events API v2' } : channel === 'mobile' ? { name: 'PagerDuty Mobile' } : channel === 'api' ? { name: 'PagerDuty REST API' } : { name: 'PagerDuty' },
      data: data ?? this.incidentEventData(i), ordering_key: i.id, service_id: i.service_id, team_ids: svc?.team_ids ?? [],
    });
  }

  emitService(eventType: 'service.created' | 'service.updated' | 'service.deleted', s: ServiceRecord): void {
    this.onEvent({ event_type: eventType, resource_type: 'service', agent: null, client: null,
      data: this.serviceEventData(s), ordering_key: s.id, service_id: s.id, team_ids: s.team_ids });
  }

  private assign(i: IncidentRecord, userIds: string[], at: string, agentId: string | null, channel: Channel, type: 'assign_log_entry' | 'escalate_log_entry'): void {
    i.assignments = userIds.map((u) => ({ user_id: u, at }));
    this.log(i, type, agentId, channel, at, { assignee_ids: [...userIds] });
    for (const u of userIds) this.log(i, 'notify_log_entry', agentId, channel, at, { user_id: u });
  }

  /** `agentId` null: triggered by the service itself (a monitoring alert through an integration). */
  createIncident(agentId: string | null, input: {
    title: string; service_id: string; urgency?: Urgency; incident_key?: string; priority_id?: string | null;
    escalation_policy_id?: string; assignee_id?: string; details?: unknown;
  }, channel: Channel = 'api'): IncidentRecord {
    const svc = this.services.get(input.service_id);
    if (!svc) throw invalidInput('Service not found.');
    const key = input.incident_key ?? randomBytes(16).toString('hex');
    for (const other of this.incidentsByCreation) {
      if (other.service_id === svc.id && other.incident_key === key && other.status !== 'resolved') {
        throw invalidInput('Open incident with this incident key already exists on this service.');
      }
    }
    const policyId = input.escalation_policy_id ?? svc.escalation_policy_id;
    const policy = this.escalationPolicies.get(policyId);
    if (!policy) throw invalidInput('Escalation Policy not found.');
    const at = now();
    const i: IncidentRecord = {
      id: this.ids.next(), incident_number: ++this.incidentCounter, title: input.title, status: 'triggered',
      urgency: input.urgency ?? 'high', incident_key: key, service_id: svc.id, escalation_policy_id: policy.id,
      priority_id: input.priority_id ?? null, escalation_level: 1,
      assigned_via: input.assignee_id ? 'direct_assignment' : 'escalation_policy', assignments: [], acknowledgements: [],
      created_at: at, updated_at: at, last_status_change_at: at, last_status_change_by: agentId, resolved_at: null,
      details: input.details ?? null, notes: [], status_updates: [], first_trigger_log_entry_id: '',
    };
    this.incidents.set(i.id, i);
    this.incidentsByCreation.push(i);
    this.lastIncidentAt.set(svc.id, at);
    this.jsonCache.delete(`service:${svc.id}`);
    this.pageCache.clear();
    i.first_trigger_log_entry_id = this.log(i, 'trigger_log_entry', agentId, channel, at).id;
    this.assign(i, input.assignee_id ? [input.assignee_id] : this.levelTargets(policy, 1), at, agentId, channel, 'assign_log_entry');
    this.emitIncident('incident.triggered', i, agentId, channel);
    return i;
  }

  getIncident(id: string): IncidentRecord {
    const i = this.incidents.get(id);
    if (!i) throw notFound();
    return i;
  }

  private setStatus(i: IncidentRecord, status: IncidentStatus, agentId: string, at: string): void {
    i.status = status; i.last_status_change_at = at; i.last_status_change_by = agentId; i.updated_at = at;
  }

  acknowledge(agentId: string, id: string, channel: Channel = 'api'): IncidentRecord {
    const i = this.getIncident(id);
    if (i.status === 'resolved') throw alreadyResolved();
    if (i.status === 'acknowledged') throw alreadyAcknowledged();
    const at = now();
    i.acknowledgements.push({ user_id: agentId, at });
    this.setStatus(i, 'acknowledged', agentId, at);
    this.log(i, 'acknowledge_log_entry', agentId, channel, at);
    this.emitIncident('incident.acknowledged', i, agentId, channel);
    return i;
  }

  unacknowledge(agentId: string, id: string, channel: Channel = 'api'): IncidentRecord {
    const i = this.getIncident(id);
    if (i.status === 'resolved') throw alreadyResolved();
    if (i.status === 'triggered') return i;
    const at = now();
    i.acknowledgements = [];
    this.setStatus(i, 'triggered', agentId, at);
    this.log(i, 'unacknowledge_log_entry', agentId, channel, at);
    this.emitIncident('incident.unacknowledged', i, agentId, channel);
    return i;
  }

  resolve(agentId: string, id: string, channel: Channel = 'api'): IncidentRecord {
    const i = this.getIncident(id);
    if (i.status === 'resolved') throw alreadyResolved();
    const at = now();
    i.acknowledgements = []; i.assignments = []; i.resolved_at = at;
    this.setStatus(i, 'resolved', agentId, at);
    this.log(i, 'resolve_log_entry', agentId, channel, at);
    this.emitIncident('incident.resolved', i, agentId, channel);
    return i;
  }

  /** Escalate to `level` (1-based; default: the next level, wrapping to 1 when the policy loops). */
  escalate(agentId: string, id: string, level?: number, channel: Channel = 'api'): IncidentRecord {
    const i = this.getIncident(id);
    if (i.status === 'resolved') throw alreadyResolved();
    const policy = this.escalationPolicies.get(i.escalation_policy_id);
    if (!policy) throw invalidInput('Escalation Policy not found.');
    const max = policy.escalation_rules.length;
    if (level === undefined && i.escalation_level >= max && policy.num_loops === 0) {
      throw invalidInput('The incident is already at the last escalation level and the policy does not repeat.');
    }
    const target = level ?? (i.escalation_level < max ? i.escalation_level + 1 : 1);
    if (!Number.isInteger(target) || target < 1 || target > max) {
      throw invalidInput(`Escalation level must be between 1 and ${max}.`);
    }
    const at = now();
    i.escalation_level = target; i.acknowledgements = []; i.assigned_via = 'escalation_policy';
    this.setStatus(i, 'triggered', agentId, at);
    this.assign(i, this.levelTargets(policy, target), at, agentId, channel, 'escalate_log_entry');
    this.emitIncident('incident.escalated', i, agentId, channel);
    return i;
  }

  reassign(agentId: string, id: string, userIds: string[], channel: Channel = 'api'): IncidentRecord {
    const i = this.getIncident(id);
    if (i.status === 'resolved') throw alreadyResolved();
    for (const u of userIds) if (!this.users.has(u)) throw invalidInput(`User ${u} not found.`);
    if (userIds.length === 0) throw invalidInput('Assignments cannot be empty.');
    const at = now();
    i.acknowledgements = []; i.assigned_via = 'direct_assignment';
    this.setStatus(i, 'triggered', agentId, at);
    this.assign(i, [...new Set(userIds)], at, agentId, channel, 'assign_log_entry');
    this.emitIncident('incident.reassigned', i, agentId, channel);
    return i;
  }

  reassignToPolicy(agentId: string, id: string, policyId: string, channel: Channel = 'api'): IncidentRecord {
    const i = this.getIncident(id);
    if (i.status === 'resolved') throw alreadyResolved();
    const policy = this.escalationPolicies.get(policyId);
    if (!policy) throw invalidInput('Escalation Policy not found.');
    const at = now();
    i.escalation_policy_id = policy.id; i.escalation_level = 1; i.acknowledgements = []; i.assigned_via = 'escalation_policy';
    this.setStatus(i, 'triggered', agentId, at);
    this.assign(i, this.levelTargets(policy, 1), at, agentId, channel, 'assign_log_entry');
    this.emitIncident('incident.reassigned', i, agentId, channel);
    return i;
  }

  setPriority(agentId: string, id: string, priorityId: string | null, channel: Channel = 'api'): IncidentRecord {
    const i = this.getIncident(id);
    if (i.status === 'resolved') throw alreadyResolved();
    if (priorityId !== null && !this.priorities.has(priorityId)) throw invalidInput('Priority not found.');
    if (i.priority_id === priorityId) return i;
    i.priority_id = priorityId; i.updated_at = now();
    this.emitIncident('incident.priority_updated', i, agentId, channel);
    return i;
  }

  addNote(agentId: string, id: string, content: string, channel: Channel = 'api'): NoteRecord {
    const i = this.getIncident(id);
    if (typeof content !== 'string' || content.trim() === '') throw invalidInput('Note content cannot be empty.');
    if (content.length > 25_000) throw invalidInput('Note content is too long (maximum is 25000 characters).');
    if (i.notes.length >= 2000) throw invalidInput('Incident has reached the maximum number of notes (2000).');
    const at = now();
    const note: NoteRecord = { id: this.ids.next(), user_id: agentId, content, created_at: at };
    i.notes.push(note);
    this.log(i, 'annotate_log_entry', agentId, channel, at, { note: content });
    this.emitIncident('incident.annotated', i, agentId, channel, {
      incident: this.incidentRef(i), id: note.id, content, trimmed: false, type: 'incident_note',
    });
    return note;
  }

  /**
   * A status update to the incident's subscribers. A resolved incident refuses it as it refuses any other change
   * (400 code 1001), and an empty message is invalid input.
   */
  addStatusUpdate(agentId: string, id: string, input: { message: string; subject?: string; html_message?: string }, channel: Channel = 'api'): StatusUpdateRecord {
    const i = this.getIncident(id);
    if (typeof input.message !== 'string' || input.message.trim() === '') throw invalidInput('Message cannot be empty.');
    if (input.message.length > STATUS_UPDATE_MAX) throw invalidInput(`Message is too long (maximum is ${STATUS_UPDATE_MAX} characters).`);
    if ((input.subject === undefined) !== (input.html_message === undefined)) throw invalidInput('subject and html_message must be given together.');
    if (i.status === 'resolved') throw alreadyResolved();
    const at = now();
    const u: StatusUpdateRecord = { id: this.ids.next(), user_id: agentId, message: input.message, created_at: at,
      ...(input.subject !== undefined ? { subject: input.subject, html_message: input.html_message } : {}) };
    (i.status_updates ??= []).push(u);
    i.updated_at = at;
    this.emitIncident('incident.status_update_published', i, agentId, channel, {
      incident: this.incidentRef(i), id: u.id, message: u.message, trimmed: false, type: 'incident_status_update',
    });
    return u;
  }

  /**
   * A responder request: each user target, and the first level of each escalation policy target (schedules through
   * their on-call user), joins the incident's responders as pending, and `incident.responder.added` fires per
   * person added. Someone already pending or joined stays as they are; someone who declined is asked again.
   * A resolved incident refuses it (400 code 1001); unknown requester or targets are invalid input (400 code 2001).
   */
  addResponderRequest(agentId: string, id: string, input: { requester_id: string; message: string; targets: { type: 'user' | 'escalation_policy'; id: string }[] }, channel: Channel = 'api'): ResponderRequestRecord {
    const i = this.getIncident(id);
    if (!this.users.has(input.requester_id)) throw invalidInput('Requester not found.');
    if (typeof input.message !== 'string' || input.message.trim() === '') throw invalidInput('Message cannot be empty.');
    if (input.targets.length === 0) throw invalidInput('Responder request targets cannot be empty.');
    const people = new Map<string, string[]>(); // user id -> policies they were requested through
    for (const t of input.targets) {
      if (t.type === 'user') {
        if (!this.users.has(t.id)) throw invalidInput(`User ${t.id} not found.`);
        if (!people.has(t.id)) people.set(t.id, []);
      } else {
        const policy = this.escalationPolicies.get(t.id);
        if (!policy) throw invalidInput(`Escalation Policy ${t.id} not found.`);
        for (const u of this.levelTargets(policy, 1)) people.set(u, [...(people.get(u) ?? []), policy.id]);
      }
    }
    if (i.status === 'resolved') throw alreadyResolved();
    const at = now();
    const q: ResponderRequestRecord = { id: this.ids.next(), requester_id: input.requester_id, message: input.message, requested_at: at,
      targets: input.targets.map((t) => ({ type: t.type, id: t.id })) };
    (i.responder_requests ??= []).push(q);
    const responders = (i.responders ??= []);
    const added: ResponderRecord[] = [];
    for (const [userId, policyIds] of people) {
      const existing = responders.find((r) => r.user_id === userId);
      if (existing && existing.state !== 'declined' && existing.state !== 'user_cancelled') {
        for (const p of policyIds) if (!existing.policy_ids.includes(p)) existing.policy_ids.push(p);
        continue;
      }
      const r: ResponderRecord = { user_id: userId, state: 'pending', requester_id: input.requester_id, message: input.message, requested_at: at, updated_at: at, policy_ids: [...policyIds] };
      if (existing) Object.assign(existing, r); else responders.push(r);
      added.push(existing ?? r);
    }
    i.updated_at = at;
    for (const r of added) this.emitIncident('incident.responder.added', i, agentId, channel, this.responderEventData(i, r));
    return q;
  }

  /** A pending responder accepts (joined) or declines; fires `incident.responder.replied` with that user as agent. */
  replyToResponderRequest(userId: string, id: string, answer: 'joined' | 'declined', channel: Channel = 'mobile'): ResponderRecord {
    const i = this.getIncident(id);
    const r = (i.responders ?? []).find((x) => x.user_id === userId);
    if (!r || r.state !== 'pending') throw invalidInput('This user has no pending responder request on the incident.');
    if (i.status === 'resolved') throw alreadyResolved();
    r.state = answer;
    r.updated_at = now();
    i.updated_at = r.updated_at;
    this.emitIncident('incident.responder.replied', i, userId, channel, this.responderEventData(i, r));
    return r;
  }

  // ---------- account changes (control API) ----------
  removeUser(id: string): void {
    if (!this.users.delete(id)) throw notFound();
    for (const t of this.teams.values()) t.members = t.members.filter((m) => m.user_id !== id);
    for (const p of this.escalationPolicies.values()) for (const r of p.escalation_rules) r.targets = r.targets.filter((x) => !(x.type === 'user' && x.id === id));
    for (const s of this.schedules.values()) {
      for (const l of s.layers) l.user_ids = l.user_ids.filter((u) => u !== id);
      s.overrides = s.overrides.filter((o) => o.user_id !== id);
      this.refreshScheduleUsers(s);
    }
    for (const t of this.tags.values()) t.users = t.users.filter((u) => u !== id);
    this.touch();
  }
  removeTeam(id: string): void {
    if (!this.teams.delete(id)) throw notFound();
    for (const s of this.services.values()) s.team_ids = s.team_ids.filter((t) => t !== id);
    for (const p of this.escalationPolicies.values()) p.team_ids = p.team_ids.filter((t) => t !== id);
    for (const s of this.schedules.values()) s.team_ids = s.team_ids.filter((t) => t !== id);
    for (const t of this.tags.values()) t.teams = t.teams.filter((x) => x !== id);
    this.touch();
  }
  removePolicy(id: string): void {
    if ([...this.services.values()].some((s) => s.escalation_policy_id === id)) {
      throw invalidInput('This escalation policy is in use by one or more services.');
    }
    if (!this.escalationPolicies.delete(id)) throw notFound();
    for (const t of this.tags.values()) t.escalation_policies = t.escalation_policies.filter((x) => x !== id);
    this.touch();
  }
  /**
   * Deletes a schedule. Escalation rules that target it keep the dangling target (as when a schedule is deleted
   * between a client's sync and its lookup): nobody is on call through it, and GET /schedules/{id} answers 404.
   */
  removeSchedule(id: string): void {
    if (!this.schedules.delete(id)) throw notFound();
    this.touch();
  }
  removeService(id: string): void {
    const s = this.services.get(id);
    if (!s) throw notFound();
    this.services.delete(id);
    this.touch();
    this.emitService('service.deleted', s);
  }
}

export { PdError };
