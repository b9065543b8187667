/** Deterministic account generator (seeded PRNG; the same size always yields the same account). */
import type {
  EscalationPolicyRecord, PdUserRole, PriorityRecord, ScheduleRecord, SeedData, SeedSize,
  ServiceRecord, ServiceStatus, TagRecord, TeamRecord, TeamRole, UserRecord,
} from './types.js';

/** mulberry32: small, fast, deterministic. */
export function createPrng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** PagerDuty-style ids: `P` followed by six upper-case alphanumerics. */
export class IdFactory {
  private readonly used = new Set<string>();
  constructor(private readonly rand: () => number) {}
  reserve(id: string): void { this.used.add(id); }
  next(): string {
    for (;;) {
      let id = 'P';
      for (let i = 0; i < 6; i++) id += ID_CHARS[Math.floor(this.rand() * ID_CHARS.length)];
      if (!this.used.has(id)) { this.used.add(id); return id; }
    }
  }
}

export const SEED_SIZES: Record<Exclude<SeedSize, 'none'>, {
  users: number; teams: number; services: number; policies: number; schedules: number; tags: number;
}> = {
  small: { users: 12, teams: 3, services: 6, policies: 4, schedules: 2, tags: 4 },
  medium: { users: 200, teams: 20, services: 60, policies: 30, schedules: 10, tags: 12 },
  large: { users: 2_000, teams: 100, services: 500, policies: 200, schedules: 60, tags: 40 },
  huge: { users: 20_000, teams: 1_000, services: 5_000, policies: 2_000, schedules: 400, tags: 100 },
};

const FIRST = ['Ada', 'Alan', 'Amara', 'Andrea', 'Anika', 'Ben', 'Bianca', 'Carlos', 'Chen', 'Chloe', 'Daniel', 'Dmitri',
  'Elena', 'Emeka', 'Emma', 'Farah', 'Felix', 'Gabriel', 'Grace', 'Hana', 'Hugo', 'Ines', 'Isaac', 'Jamal', 'Jana', 'Jin',
  'Jonas', 'Julia', 'Kai', 'Kofi', 'Lara', 'Leila', 'Liam', 'Lucia', 'Mateo', 'Maya', 'Mei', 'Mohammed', 'Nadia', 'Nina',
  'Noah', 'Olga', 'Omar', 'Priya', 'Rafael', 'Ravi', 'Rosa', 'Sam', 'Sara', 'Sofia', 'Tariq', 'Theo', 'Tomasz', 'Uma',
  'Valentina', 'Wei', 'Yara', 'Yusuf', 'Zara', 'Zoe'];
const LAST = ['Abara', 'Andersen', 'Bauer', 'Becker', 'Brown', 'Castillo', 'Chen', 'Costa', 'Dubois', 'Dvorak', 'Eriksson',
  'Fernandes', 'Fischer', 'Garcia', 'Gupta', 'Haddad', 'Hansen', 'Ito', 'Ivanova', 'Jensen', 'Kaur', 'Kim', 'Kowalski',
  'Larsen', 'Lee', 'Lopez', 'Mahlangu', 'Martin', 'Meyer', 'Moreau', 'Mwangi', 'Nakamura', 'Nguyen', 'Novak', "O'Brien",
  'Okafor', 'Olsen', 'Park', 'Patel', 'Petrov', 'Popescu', 'Quinn', 'Rossi', 'Santos', 'Sato', 'Schmidt', 'Silva', 'Singh',
  'Smith', 'Tanaka', 'Torres', 'Van Dijk', 'Wagner', 'Walker', 'Wang', 'Weber', 'Williams', 'Yamamoto', 'Zhang', 'Zielinski'];
const TITLES = ['Software Engineer', 'Senior Software Engineer', 'Staff Engineer', 'Site Reliability Engineer',
  'Engineering Manager', 'Platform Engineer', 'Security Engineer', 'Database Administrator', 'Support Engineer',
  'Product Manager', 'Director of Engineering', 'DevOps Engineer', 'Network Engineer', 'QA Engineer', 'Data Engineer', ''];
const TIME_ZONES = ['Etc/UTC', 'Europe/London', 'Europe/Berlin', 'Europe/Paris', 'Europe/Warsaw', 'America/New_York',
  'America/Chicago', 'America/Denver', 'America/Los_Angeles', 'America/Sao_Paulo', 'Asia/Tokyo', 'Asia/Kolkata',
  'Asia/Singapore', 'Australia/Sydney', 'Africa/Lagos', 'Africa/Johannesburg'];
const COLORS = ['red', 'green', 'blue', 'purple', 'orange', 'teal', 'brown', 'cayenne', 'maroon', 'navy'];
const DOMAINS = ['Payments', 'Checkout', 'Search', 'Identity', 'Billing', 'Messaging', 'Storage', 'Networking', 'Mobile',
  'Web', 'Data', 'Analytics', 'Platform', 'Infrastructure', 'Security', 'Notifications', 'Catalog', 'Inventory',
  'Shipping', 'Observability', 'Growth', 'Ads', 'Media', 'Accounts', 'Fraud'];
const TEAM_SUFFIX = ['Core', 'Platform', 'Reliability', 'Frontend', 'Backend', 'API', 'Ops', 'Experience', 'Services', 'Tools'];
const COMPONENTS = ['api', 'gateway', 'worker', 'db', 'cache', 'queue', 'frontend', 'scheduler', 'ingest', 'indexer',
  'auth', 'webhooks', 'cron', 'proxy', 'stream', 'export', 'reports', 'sync'];
const ENVS = ['prod', 'staging', 'eu', 'us', 'apac'];
const TAGS = ['incident-io-ignore', 'tier-1', 'tier-2', 'tier-3', 'customer-facing', 'internal', 'pci', 'gdpr', 'legacy',
  'experimental', 'on-call-heavy', 'follow-the-sun'];
const ROLES: [PdUserRole, number][] = [['user', 60], ['limited_user', 12], ['admin', 8], ['observer', 6],
  ['read_only_user', 5], ['restricted_access', 4], ['read_only_limited_user', 5]];

/** Seed epoch: seeded objects carry fixed timestamps so that the same seed gives byte-identical objects. */
const SEED_EPOCH = Date.UTC(2024, 0, 15, 9, 0, 0);

export interface SeedOptions {
  /** Number of schedules (default: the size's own count). The rest of the account stays the same size. */
  schedules?: number;
}

export function generateSeed(size: SeedSize, seedNumber = 0x5eed, options: SeedOptions = {}): SeedData {
  if (size === 'none') {
    return { users: [], teams: [], schedules: [], escalation_policies: [], services: [], priorities: [], tags: [] };
  }
  const n = SEED_SIZES[size];
  const rand = createPrng(seedNumber ^ n.users);
  const ids = new IdFactory(rand);
  const int = (max: number) => Math.floor(rand() * max);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const iso = (minutesAfterEpoch: number) => new Date(SEED_EPOCH + minutesAfterEpoch * 60_000).toISOString().replace('.000Z', 'Z');

  // users
  const users: UserRecord[] = [];
  const emailCount = new Map<string, number>();
  const roleTotal = ROLES.reduce((s, [, w]) => s + w, 0);
  for (let i = 0; i < n.users; i++) {
    let first = pick(FIRST);
    const last = pick(LAST);
    // Big accounts would repeat the 3,600 first/last combinations too often: add middle initials there.
    if (n.users > 1000 && int(2) === 0) first = `${first} ${ID_CHARS[int(26)]}.`;
    const local = `${first}.${last}`.toLowerCase().replace(/\s+/g, '.').replace(/[^a-z.]/g, '').replace(/\.\.+/g, '.');
    const seen = emailCount.get(local) ?? 0;
    emailCount.set(local, seen + 1);
    let email = `${seen === 0 ? local : `${local}${seen + 1}`}@example.com`;
    // Some accounts hold emails typed by hand: mixed case, stray spaces. Matching must cope.
    const quirk = int(40);
    if (quirk === 0) email = email.replace(/^[a-z]/, (c) => c.toUpperCase()).replace('@example.com', '@Example.COM');
    else if (quirk === 1) email = ` ${email}`;
    else if (quirk === 2) email = `${email} `;
    let r = int(roleTotal);
    let role: PdUserRole = 'user';
    for (const [candidate, w] of ROLES) { if (r < w) { role = candidate; break; } r -= w; }
    if (i === 0) role = 'owner';
    users.push({
      id: ids.next(), name: `${first} ${last}`, email, role, job_title: pick(TITLES), time_zone: pick(TIME_ZONES),
      description: int(4) === 0 ? `${pick(DOMAINS)} specialist` : null, color: pick(COLORS),
    });
  }

  // teams
  const teams: TeamRecord[] = [];
  const teamNames = new Set<string>();
  for (let i = 0; i < n.teams; i++) {
    let name = `${pick(DOMAINS)} ${pick(TEAM_SUFFIX)}`;
    for (let k = 2; teamNames.has(name); k++) name = `${name.replace(/ \d+$/, '')} ${k}`;
    teamNames.add(name);
    teams.push({ id: ids.next(), name, description: `The ${name} team`, default_role: int(5) === 0 ? 'none' : 'manager', members: [] });
  }
  // memberships: most users in one team, some in two, a few in none
  for (const u of users) {
    const k = int(10);
    const count = k === 0 ? 0 : k < 8 ? 1 : 2;
    const chosen = new Set<number>();
    for (let j = 0; j < count && teams.length > 0; j++) chosen.add(int(teams.length));
    for (const t of chosen) {
      const role: TeamRole = int(8) === 0 ? 'manager' : int(10) === 0 ? 'observer' : 'responder';
      teams[t]!.members.push({ user_id: u.id, role });
    }
  }

  // schedules: the members and names come from the main stream (as before layers existed, so the rest of the
  // account keeps its ids); layers, time zones, teams and extra schedules come from their own stream.
  const schedules: ScheduleRecord[] = [];
  const srand = createPrng(seedNumber ^ n.users ^ 0x5c4ed);
  const sint = (max: number) => Math.floor(srand() * max);
  // Ids for layers, overrides and extra schedules: their own stream, reserved in the main factory so nothing collides.
  const sideIds = new IdFactory(srand);
  const sideId = () => { const id = sideIds.next(); ids.reserve(id); return id; };
  const scheduleCount = options.schedules ?? n.schedules;
  if (!Number.isInteger(scheduleCount) || scheduleCount < 0) throw new RangeError('schedules must be a non-negative integer');
  for (let i = 0; i < scheduleCount; i++) {
    const fromMain = i < n.schedules;
    const members = new Set<string>();
    const size = 2 + (fromMain ? int(5) : sint(5));
    for (let j = 0; j < size; j++) members.add(users[fromMain ? int(users.length) : sint(users.length)]!.id);
    const id = fromMain ? ids.next() : sideId();
    const domain = fromMain ? pick(DOMAINS) : DOMAINS[sint(DOMAINS.length)]!;
    schedules.push(scheduleWithLayers(id, sideId, sint, `${domain} primary on-call ${i + 1}`, [...members], users, teams));
  }

  // escalation policies
  const policies: EscalationPolicyRecord[] = [];
  const policyNames = new Set<string>();
  for (let i = 0; i < n.policies; i++) {
    const team = teams.length > 0 && int(5) !== 0 ? teams[int(teams.length)]! : undefined;
    let name = `${team ? team.name : pick(DOMAINS)} escalation`;
    for (let k = 2; policyNames.has(name); k++) name = `${name.replace(/ \d+$/, '')} ${k}`;
    policyNames.add(name);
    const levels = 1 + int(3);
    const rules = [];
    for (let l = 0; l < levels; l++) {
      const targets: EscalationPolicyRecord['escalation_rules'][number]['targets'] = [];
      const useSchedule = schedules.length > 0 && int(3) === 0;
      if (useSchedule) targets.push({ type: 'schedule', id: schedules[int(schedules.length)]!.id });
      else {
        const pool = team && team.members.length > 0 ? team.members.map((m) => m.user_id) : users.map((u) => u.id);
        const count = 1 + int(2);
        const chosen = new Set<string>();
        for (let j = 0; j < count; j++) chosen.add(pool[int(pool.length)]!);
        for (const id of chosen) targets.push({ type: 'user', id });
      }
      rules.push({ id: ids.next(), escalation_delay_in_minutes: [5, 10, 15, 30][int(4)]!, targets });
    }
    policies.push({
      id: ids.next(), name, description: int(3) === 0 ? '' : `Pages ${team ? team.name : 'the on-call engineer'}`,
      num_loops: int(3), escalation_rules: rules, team_ids: team ? [team.id] : [],
    });
  }

  // services
  const services: ServiceRecord[] = [];
  const serviceNames = new Set<string>();
  const statuses: ServiceStatus[] = ['active', 'active', 'active', 'active', 'active', 'active', 'warning', 'critical', 'maintenance', 'disabled'];
  for (let i = 0; i < n.services; i++) {
    const base = `${pick(DOMAINS).toLowerCase()}-${pick(COMPONENTS)}${int(3) === 0 ? `-${pick(ENVS)}` : ''}`;
    let name = base;
    for (let k = 2; serviceNames.has(name); k++) name = `${base}-${k}`;
    serviceNames.add(name);
    const policy = policies[int(policies.length)];
    if (!policy) break;
    const ignore = int(12) === 0;
    const t = 60 * 24 * int(200);
    services.push({
      id: ids.next(), name,
      description: ignore ? `Synthetic checks for ${name} (incident-io-ignore)` : `Runs ${name} in production`,
      status: pick(statuses), escalation_policy_id: policy.id,
      team_ids: policy.team_ids.length > 0 ? [...policy.team_ids] : teams.length > 0 && int(2) === 0 ? [teams[int(teams.length)]!.id] : [],
      created_at: iso(t), updated_at: iso(t + 90),
      auto_resolve_timeout: int(3) === 0 ? 14400 : null, acknowledgement_timeout: int(3) === 0 ? 1800 : null,
    });
  }

  const priorities: PriorityRecord[] = [
    { id: ids.next(), name: 'P1', description: 'Critical: customer-facing outage' },
    { id: ids.next(), name: 'P2', description: 'High: major functionality degraded' },
    { id: ids.next(), name: 'P3', description: 'Moderate: partial degradation' },
    { id: ids.next(), name: 'P4', description: 'Low: minor issue' },
    { id: ids.next(), name: 'P5', description: 'Informational' },
  ];

  const tags: TagRecord[] = [];
  for (let i = 0; i < n.tags; i++) {
    const label = i < TAGS.length ? TAGS[i]! : `${pick(DOMAINS).toLowerCase()}-${i}`;
    tags.push({ id: ids.next(), label, users: [], teams: [], escalation_policies: [] });
  }
  const ignoreTag = tags[0]!;
  for (const p of policies) if (int(10) === 0) ignoreTag.escalation_policies.push(p.id);
  for (const p of policies) if (int(4) === 0) tags[1 + int(tags.length - 1)]!.escalation_policies.push(p.id);
  for (const t of teams) if (int(3) === 0) tags[1 + int(tags.length - 1)]!.teams.push(t.id);
  for (const u of users) if (int(10) === 0) tags[1 + int(tags.length - 1)]!.users.push(u.id);
  for (const tag of tags) {
    tag.escalation_policies = [...new Set(tag.escalation_policies)];
  }

  return { users, teams, schedules, escalation_policies: policies, services, priorities, tags };
}

/**
 * A seeded schedule: a weekly rotation (turns at 09:00 UTC on Mondays) of its members; one in three also has
 * a business-hours layer on top (daily, 09:00-17:00, weekdays only through a weekly restriction on one in two of
 * those), one in four an override in the seed week; most belong to a team.
 */
function scheduleWithLayers(id: string, newId: () => string, sint: (max: number) => number, name: string, members: string[], users: UserRecord[], teams: TeamRecord[]): ScheduleRecord {
  const tz = TIME_ZONES[sint(TIME_ZONES.length)]!;
  const start = '2024-01-15T09:00:00Z';
  const layers: ScheduleRecord['layers'] = [{
    id: newId(), name: 'Weekly rotation', start, end: null, rotation_virtual_start: start,
    rotation_turn_length_seconds: 7 * 86_400, user_ids: members, restrictions: [],
  }];
  if (sint(3) === 0) {
    const extra = [users[sint(users.length)]!.id, users[sint(users.length)]!.id].filter((u, i, a) => a.indexOf(u) === i);
    const weekdays = sint(2) === 0;
    layers.push({
      id: newId(), name: 'Business hours', start, end: null, rotation_virtual_start: start, rotation_turn_length_seconds: 86_400,
      user_ids: extra,
      restrictions: weekdays
        ? [1, 2, 3, 4, 5].map((d) => ({ type: 'weekly_restriction' as const, start_day_of_week: d, start_time_of_day: '09:00:00', duration_seconds: 8 * 3600 }))
        : [{ type: 'daily_restriction', start_time_of_day: '09:00:00', duration_seconds: 8 * 3600 }],
    });
  }
  const overrides: ScheduleRecord['overrides'] = sint(4) === 0
    ? [{ id: newId(), start: '2024-01-16T18:00:00Z', end: '2024-01-17T06:00:00Z', user_id: users[sint(users.length)]!.id }] : [];
  const team = teams.length > 0 && sint(5) !== 0 ? teams[sint(teams.length)]! : undefined;
  const user_ids = [...new Set(layers.flatMap((l) => l.user_ids))];
  return { id, name, description: sint(3) === 0 ? '' : `Who answers pages for ${name.replace(/ primary on-call \d+$/, '')}`,
    time_zone: tz, team_ids: team ? [team.id] : [], layers, overrides, user_ids };
}
