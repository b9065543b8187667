/**
 * Account changes a test (or a newcomer) makes "from PagerDuty's side": add, rename and delete users, teams,
 * services, escalation policies and tags; rotate webhook secrets. Shared by the TypeScript API and `/_emulator`.
 */
import { randomBytes } from 'node:crypto';
import { invalidInput, notFound } from './errors.js';
import type { AccountStore, EntityType } from './store.js';
import { isTimeZone, parseTimeOfDay } from './oncall.js';
import type {
  IntegrationRecord, ScheduleLayerRecord, ScheduleOverrideRecord, ScheduleRecord, ScheduleRestrictionRecord,
  EscalationPolicyRecord, IncidentRecord, PdUserRole, ServiceRecord, ServiceStatus, TagRecord, TeamRecord, TeamRole, UserRecord,
} from './types.js';

const ROLES: PdUserRole[] = ['admin', 'limited_user', 'observer', 'owner', 'read_only_user', 'restricted_access', 'read_only_limited_user', 'user'];
const STATUSES: ServiceStatus[] = ['active', 'warning', 'critical', 'maintenance', 'disabled'];
const stamp = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

function str(v: unknown, name: string, required: boolean): string | undefined {
  if (v === undefined || v === null) { if (required) throw invalidInput(`${name} is required.`); return undefined; }
  if (typeof v !== 'string') throw invalidInput(`${name} must be a string.`);
  if (required && v.trim() === '') throw invalidInput(`${name} cannot be empty.`);
  return v;
}
function strList(v: unknown, name: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalidInput(`${name} must be an array of ids.`);
  return v as string[];
}

export type UserInput = Partial<Omit<UserRecord, 'id'>> & { id?: string; team_ids?: string[] };
export type TeamInput = Partial<Omit<TeamRecord, 'id' | 'members'>> & { id?: string; members?: { user_id: string; role?: TeamRole }[] };
export type ServiceInput = Partial<Omit<ServiceRecord, 'id' | 'created_at' | 'updated_at'>> & { id?: string };
export type EscalationPolicyInput = Partial<Omit<EscalationPolicyRecord, 'id' | 'escalation_rules'>> & {
  id?: string;
  escalation_rules?: { escalation_delay_in_minutes?: number; targets: { type: 'user' | 'schedule'; id: string }[] }[];
};

export interface ScheduleLayerInput {
  id?: string; name?: string;
  /** ISO date-times; `start` defaults to rotation_virtual_start, `end` to none. */
  start?: string; end?: string | null;
  rotation_virtual_start: string; rotation_turn_length_seconds: number;
  /** Ordered user ids. */
  users: string[];
  restrictions?: ScheduleRestrictionRecord[];
}
export interface ScheduleInput {
  id?: string; name?: string; description?: string; time_zone?: string; team_ids?: string[];
  /** Bottom layer first: a later layer sits above an earlier one. */
  layers?: ScheduleLayerInput[];
}
export interface OverrideInput { id?: string; start: string; end: string; user_id: string }

const iso = (v: unknown, name: string): string => {
  if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) throw invalidInput(`${name} must be an ISO 8601 date-time.`);
  return new Date(Date.parse(v)).toISOString().replace(/\.000Z$/, 'Z');
};

export class AccountAdmin {
  constructor(private readonly store: AccountStore) {}

  private freshId(id: unknown): string {
    if (id === undefined) return this.store.newId();
    if (typeof id !== 'string' || !/^[A-Z0-9]{2,20}$/.test(id)) throw invalidInput('id must be upper-case letters and digits.');
    const s = this.store;
    if (s.users.has(id) || s.teams.has(id) || s.services.has(id) || s.escalationPolicies.has(id) || s.tags.has(id) || s.schedules.has(id)) throw invalidInput(`id ${id} is already in use.`);
    return id;
  }

  // ----- users -----
  addUser(input: UserInput): UserRecord {
    const name = str(input.name, 'name', true)!;
    const email = str(input.email, 'email', true)!;
    if (!/^[^@\s]+@[^@\s]+$/.test(email.trim())) throw invalidInput('email must be an email address.');
    if (this.store.userByEmail(email)) throw invalidInput('Email has already been taken.');
    const role = input.role ?? 'user';
    if (!ROLES.includes(role)) throw invalidInput(`role must be one of ${ROLES.join(', ')}.`);
    const teamIds = strList(input.team_ids, 'team_ids') ?? [];
    for (const t of teamIds) if (!this.store.teams.has(t)) throw invalidInput(`Team ${t} not found.`);
    const u: UserRecord = { id: this.freshId(input.id), name, email, role, job_title: str(input.job_title, 'job_title', false) ?? '',
      time_zone: str(input.time_zone, 'time_zone', false) ?? 'Etc/UTC', description: str(input.description, 'description', false) ?? null,
      color: str(input.color, 'color', false) ?? 'green' };
    this.store.users.set(u.id, u);
    for (const t of teamIds) this.store.teams.get(t)!.members.push({ user_id: u.id, role: 'responder' });
    this.store.touch();
    return u;
  }
  updateUser(id: string, input: UserInput): UserRecord {
    const u = this.store.users.get(id);
    if (!u) throw notFound();
    if (input.name !== undefined) u.name = str(input.name, 'name', true)!;
    if (input.email !== undefined) {
      const email = str(input.email, 'email', true)!;
      const other = this.store.userByEmail(email);
      if (other && other.id !== id) throw invalidInput('Email has already been taken.');
      u.email = email;
    }
    if (input.role !== undefined) { if (!ROLES.includes(input.role)) throw invalidInput('Invalid role.'); u.role = input.role; }
    if (input.job_title !== undefined) u.job_title = str(input.job_title, 'job_title', false) ?? '';
    if (input.time_zone !== undefined) u.time_zone = str(input.time_zone, 'time_zone', true)!;
    if (input.description !== undefined) u.description = str(input.description, 'description', false) ?? null;
    const teamIds = strList(input.team_ids, 'team_ids');
    if (teamIds) {
      for (const t of teamIds) if (!this.store.teams.has(t)) throw invalidInput(`Team ${t} not found.`);
      for (const t of this.store.teams.values()) {
        const member = t.members.some((m) => m.user_id === id);
        if (member && !teamIds.includes(t.id)) t.members = t.members.filter((m) => m.user_id !== id);
        if (!member && teamIds.includes(t.id)) t.members.push({ user_id: id, role: 'responder' });
      }
    }
    this.store.touch();
    return u;
  }
  deleteUser(id: string): void { this.store.removeUser(id); }

  // ----- teams -----
  addTeam(input: TeamInput): TeamRecord {
    const t: TeamRecord = { id: this.freshId(input.id), name: str(input.name, 'name', true)!,
      description: str(input.description, 'description', false) ?? '', default_role: input.default_role === 'none' ? 'none' : 'manager', members: [] };
    for (const m of input.members ?? []) {
      if (!this.store.users.has(m.user_id)) throw invalidInput(`User ${m.user_id} not found.`);
      t.members.push({ user_id: m.user_id, role: m.role ?? 'responder' });
    }
    this.store.teams.set(t.id, t);
    this.store.touch();
    return t;
  }
  updateTeam(id: string, input: TeamInput): TeamRecord {
    const t = this.store.teams.get(id);
    if (!t) throw notFound();
    if (input.name !== undefined) t.name = str(input.name, 'name', true)!;
    if (input.description !== undefined) t.description = str(input.description, 'description', false) ?? '';
    if (input.members !== undefined) {
      if (!Array.isArray(input.members)) throw invalidInput('members must be an array.');
      for (const m of input.members) if (!this.store.users.has(m?.user_id)) throw invalidInput(`User ${String(m?.user_id)} not found.`);
      t.members = input.members.map((m) => ({ user_id: m.user_id, role: m.role ?? 'responder' }));
    }
    this.store.touch();
    return t;
  }
  deleteTeam(id: string): void { this.store.removeTeam(id); }

  // ----- services -----
  addService(input: ServiceInput): ServiceRecord {
    const policyId = str(input.escalation_policy_id, 'escalation_policy_id', true)!;
    if (!this.store.escalationPolicies.has(policyId)) throw invalidInput('Escalation Policy not found.');
    const teamIds = strList(input.team_ids, 'team_ids') ?? [];
    for (const t of teamIds) if (!this.store.teams.has(t)) throw invalidInput(`Team ${t} not found.`);
    const status = input.status ?? 'active';
    if (!STATUSES.includes(status)) throw invalidInput('Invalid status.');
    const at = stamp();
    const s: ServiceRecord = { id: this.freshId(input.id), name: str(input.name, 'name', true)!,
      description: str(input.description, 'description', false) ?? '', status, escalation_policy_id: policyId, team_ids: teamIds,
      created_at: at, updated_at: at, auto_resolve_timeout: input.auto_resolve_timeout ?? null, acknowledgement_timeout: input.acknowledgement_timeout ?? null };
    if ([...this.store.services.values()].some((x) => x.name === s.name)) throw invalidInput('Name has already been taken.');
    this.store.ensureIntegration(s);
    this.store.services.set(s.id, s);
    this.store.touch();
    this.store.emitService('service.created', s);
    return s;
  }
  updateService(id: string, input: ServiceInput): ServiceRecord {
    const s = this.store.services.get(id);
    if (!s) throw notFound();
    if (input.name !== undefined) s.name = str(input.name, 'name', true)!;
    if (input.description !== undefined) s.description = str(input.description, 'description', false) ?? '';
    if (input.status !== undefined) { if (!STATUSES.includes(input.status)) throw invalidInput('Invalid status.'); s.status = input.status; }
    if (input.escalation_policy_id !== undefined) {
      if (!this.store.escalationPolicies.has(input.escalation_policy_id)) throw invalidInput('Escalation Policy not found.');
      s.escalation_policy_id = input.escalation_policy_id;
    }
    const teamIds = strList(input.team_ids, 'team_ids');
    if (teamIds) { for (const t of teamIds) if (!this.store.teams.has(t)) throw invalidInput(`Team ${t} not found.`); s.team_ids = teamIds; }
    s.updated_at = stamp();
    this.store.touch();
    this.store.emitService('service.updated', s);
    return s;
  }
  deleteService(id: string): void { this.store.removeService(id); }
  /** A service's Events API v2 integrations, with their routing keys (`integration_key`). */
  integrations(serviceId: string): IntegrationRecord[] {
    const s = this.store.services.get(serviceId);
    if (!s) throw notFound();
    return (s.integrations ?? []).map((x) => ({ ...x }));
  }
  /** Adds an Events API v2 integration (a random 32-character routing key unless one is given). */
  addIntegration(serviceId: string, input: { name?: unknown; integration_key?: unknown }): IntegrationRecord {
    const s = this.store.services.get(serviceId);
    if (!s) throw notFound();
    const key = str(input.integration_key, 'integration_key', false) ?? randomBytes(16).toString('hex');
    if (!/^[A-Za-z0-9]{32}$/.test(key)) throw invalidInput('integration_key must be 32 letters or digits.');
    if (this.store.integrationByKey(key)) throw invalidInput('integration_key is already in use.');
    const x: IntegrationRecord = { id: this.store.newId(), name: str(input.name, 'name', false) ?? 'Events API V2', integration_key: key };
    (s.integrations ??= []).push(x);
    this.store.touch();
    return { ...x };
  }

  // ----- escalation policies -----
  private rules(input: EscalationPolicyInput['escalation_rules']): EscalationPolicyRecord['escalation_rules'] {
    if (!Array.isArray(input) || input.length === 0) throw invalidInput('escalation_rules must be a non-empty array.');
    return input.map((r) => {
      if (!r || !Array.isArray(r.targets) || r.targets.length === 0) throw invalidInput('Each escalation rule needs targets.');
      for (const t of r.targets) {
        const ok = t?.type === 'user' ? this.store.users.has(t.id) : t?.type === 'schedule' ? this.store.schedules.has(t.id) : false;
        if (!ok) throw invalidInput(`Escalation target ${String(t?.type)} ${String(t?.id)} not found.`);
      }
      return { id: this.store.newId(), escalation_delay_in_minutes: r.escalation_delay_in_minutes ?? 30, targets: r.targets.map((t) => ({ type: t.type, id: t.id })) };
    });
  }
  addEscalationPolicy(input: EscalationPolicyInput): EscalationPolicyRecord {
    const teamIds = strList(input.team_ids, 'team_ids') ?? [];
    for (const t of teamIds) if (!this.store.teams.has(t)) throw invalidInput(`Team ${t} not found.`);
    const p: EscalationPolicyRecord = { id: this.freshId(input.id), name: str(input.name, 'name', true)!,
      description: str(input.description, 'description', false) ?? '', num_loops: input.num_loops ?? 0,
      escalation_rules: this.rules(input.escalation_rules), team_ids: teamIds };
    this.store.escalationPolicies.set(p.id, p);
    this.store.touch();
    return p;
  }
  updateEscalationPolicy(id: string, input: EscalationPolicyInput): EscalationPolicyRecord {
    const p = this.store.escalationPolicies.get(id);
    if (!p) throw notFound();
    if (input.name !== undefined) p.name = str(input.name, 'name', true)!;
    if (input.description !== undefined) p.description = str(input.description, 'description', false) ?? '';
    if (input.num_loops !== undefined) p.num_loops = input.num_loops;
    if (input.escalation_rules !== undefined) p.escalation_rules = this.rules(input.escalation_rules);
    const teamIds = strList(input.team_ids, 'team_ids');
    if (teamIds) { for (const t of teamIds) if (!this.store.teams.has(t)) throw invalidInput(`Team ${t} not found.`); p.team_ids = teamIds; }
    this.store.touch();
    return p;
  }
  deleteEscalationPolicy(id: string): void { this.store.removePolicy(id); }

  // ----- schedules, layers, overrides -----
  private restriction(r: unknown): ScheduleRestrictionRecord {
    const x = (r ?? {}) as Partial<ScheduleRestrictionRecord>;
    if (x.type !== 'daily_restriction' && x.type !== 'weekly_restriction') throw invalidInput('restriction type must be daily_restriction or weekly_restriction.');
    if (typeof x.start_time_of_day !== 'string' || parseTimeOfDay(x.start_time_of_day) === undefined) throw invalidInput('start_time_of_day must be HH:mm:ss.');
    const max = x.type === 'daily_restriction' ? 86_400 : 604_800;
    if (!Number.isInteger(x.duration_seconds) || x.duration_seconds! <= 0 || x.duration_seconds! > max) throw invalidInput(`duration_seconds must be an integer between 1 and ${max}.`);
    const out: ScheduleRestrictionRecord = { type: x.type, start_time_of_day: x.start_time_of_day.length === 5 ? `${x.start_time_of_day}:00` : x.start_time_of_day, duration_seconds: x.duration_seconds! };
    if (x.type === 'weekly_restriction') {
      if (!Number.isInteger(x.start_day_of_week) || x.start_day_of_week! < 1 || x.start_day_of_week! > 7) throw invalidInput('start_day_of_week must be 1 (Monday) to 7.');
      out.start_day_of_week = x.start_day_of_week!;
    }
    return out;
  }
  private layer(input: ScheduleLayerInput, index: number, existing?: ScheduleLayerRecord): ScheduleLayerRecord {
    if (!input || typeof input !== 'object') throw invalidInput('Each layer must be an object.');
    const merged = { ...(existing ? { name: existing.name, start: existing.start, end: existing.end, rotation_virtual_start: existing.rotation_virtual_start,
      rotation_turn_length_seconds: existing.rotation_turn_length_seconds, users: existing.user_ids, restrictions: existing.restrictions } : {}), ...input } as ScheduleLayerInput;
    const vstart = iso(merged.rotation_virtual_start, 'rotation_virtual_start');
    const len = merged.rotation_turn_length_seconds;
    if (!Number.isInteger(len) || len < 60 || len > 365 * 86_400) throw invalidInput('rotation_turn_length_seconds must be an integer between 60 and one year.');
    const users = strList(merged.users, 'users');
    if (!users || users.length === 0) throw invalidInput('A layer needs at least one user.');
    for (const u of users) if (!this.store.users.has(u)) throw invalidInput(`User ${u} not found.`);
    const start = merged.start === undefined ? vstart : iso(merged.start, 'start');
    const end = merged.end === undefined || merged.end === null ? null : iso(merged.end, 'end');
    if (end !== null && Date.parse(end) <= Date.parse(start)) throw invalidInput('A layer must end after it starts.');
    const restrictions = merged.restrictions === undefined ? [] : Array.isArray(merged.restrictions) ? merged.restrictions.map((r) => this.restriction(r)) : (() => { throw invalidInput('restrictions must be an array.'); })();
    return { id: existing?.id ?? (input.id !== undefined ? String(input.id) : this.store.newId()), name: str(merged.name, 'name', false) ?? `Layer ${index + 1}`,
      start, end, rotation_virtual_start: vstart, rotation_turn_length_seconds: len, user_ids: [...users], restrictions };
  }
  private scheduleOr404(id: string): ScheduleRecord {
    const s = this.store.schedules.get(id);
    if (!s) throw notFound();
    return s;
  }
  private changed(s: ScheduleRecord): ScheduleRecord { this.store.refreshScheduleUsers(s); this.store.touch(); return s; }

  /** A schedule with its layers (bottom first). Time zone default Etc/UTC. */
  addSchedule(input: ScheduleInput): ScheduleRecord {
    const tz = input.time_zone ?? 'Etc/UTC';
    if (!isTimeZone(tz)) throw invalidInput('time_zone must be an IANA time zone.');
    const teamIds = strList(input.team_ids, 'team_ids') ?? [];
    for (const t of teamIds) if (!this.store.teams.has(t)) throw invalidInput(`Team ${t} not found.`);
    if (!Array.isArray(input.layers) || input.layers.length === 0) throw invalidInput('layers must be a non-empty array.');
    const s: ScheduleRecord = { id: this.freshId(input.id), name: str(input.name, 'name', true)!, description: str(input.description, 'description', false) ?? '',
      time_zone: tz, team_ids: teamIds, layers: input.layers.map((l, i) => this.layer(l, i)), overrides: [], user_ids: [] };
    this.store.schedules.set(s.id, s);
    return this.changed(s);
  }
  /** Name, description, time zone, teams; `layers` replaces every layer. */
  updateSchedule(id: string, input: ScheduleInput): ScheduleRecord {
    const s = this.scheduleOr404(id);
    if (input.time_zone !== undefined && !isTimeZone(input.time_zone)) throw invalidInput('time_zone must be an IANA time zone.');
    const teamIds = strList(input.team_ids, 'team_ids');
    if (teamIds) for (const t of teamIds) if (!this.store.teams.has(t)) throw invalidInput(`Team ${t} not found.`);
    let layers: ScheduleLayerRecord[] | undefined;
    if (input.layers !== undefined) {
      if (!Array.isArray(input.layers) || input.layers.length === 0) throw invalidInput('layers must be a non-empty array.');
      layers = input.layers.map((l, i) => this.layer(l, i));
    }
    if (input.name !== undefined) s.name = str(input.name, 'name', true)!;
    if (input.description !== undefined) s.description = str(input.description, 'description', false) ?? '';
    if (input.time_zone !== undefined) s.time_zone = input.time_zone;
    if (teamIds) s.team_ids = teamIds;
    if (layers) s.layers = layers;
    return this.changed(s);
  }
  /** Escalation rules that target it keep a dangling target: nobody is on call through it; GET answers 404. */
  deleteSchedule(id: string): void { this.store.removeSchedule(id); }
  /** Adds a layer on top of the others. */
  addScheduleLayer(scheduleId: string, input: ScheduleLayerInput): ScheduleLayerRecord {
    const s = this.scheduleOr404(scheduleId);
    const l = this.layer(input, s.layers.length);
    s.layers.push(l);
    this.changed(s);
    return l;
  }
  /** Changes the given fields of a layer (users replace the rotation's order). */
  updateScheduleLayer(scheduleId: string, layerId: string, input: Partial<ScheduleLayerInput>): ScheduleLayerRecord {
    const s = this.scheduleOr404(scheduleId);
    const i = s.layers.findIndex((l) => l.id === layerId);
    if (i < 0) throw notFound();
    const l = this.layer(input as ScheduleLayerInput, i, s.layers[i]);
    s.layers[i] = l;
    this.changed(s);
    return l;
  }
  deleteScheduleLayer(scheduleId: string, layerId: string): void {
    const s = this.scheduleOr404(scheduleId);
    if (!s.layers.some((l) => l.id === layerId)) throw notFound();
    s.layers = s.layers.filter((l) => l.id !== layerId);
    this.changed(s);
  }
  /** An override: `user_id` is on call from start to end whatever the layers say (a later override wins over an earlier one). */
  addScheduleOverride(scheduleId: string, input: OverrideInput): ScheduleOverrideRecord {
    const s = this.scheduleOr404(scheduleId);
    const start = iso(input?.start, 'start'); const end = iso(input?.end, 'end');
    if (Date.parse(end) <= Date.parse(start)) throw invalidInput('An override must end after it starts.');
    const userId = str(input.user_id, 'user_id', true)!;
    if (!this.store.users.has(userId)) throw invalidInput(`User ${userId} not found.`);
    const o: ScheduleOverrideRecord = { id: input.id ?? this.store.newId(), start, end, user_id: userId };
    s.overrides.push(o);
    this.changed(s);
    return o;
  }
  deleteScheduleOverride(scheduleId: string, overrideId: string): void {
    const s = this.scheduleOr404(scheduleId);
    if (!s.overrides.some((o) => o.id === overrideId)) throw notFound();
    s.overrides = s.overrides.filter((o) => o.id !== overrideId);
    this.changed(s);
  }

  // ----- tags -----
  addTag(input: { id?: string; label: string }): TagRecord {
    const label = str(input.label, 'label', true)!;
    if ([...this.store.tags.values()].some((t) => t.label.toLowerCase() === label.toLowerCase())) throw invalidInput('Label has already been taken.');
    const t: TagRecord = { id: this.freshId(input.id), label, users: [], teams: [], escalation_policies: [] };
    this.store.tags.set(t.id, t);
    this.store.touch();
    return t;
  }
  renameTag(id: string, label: string): TagRecord {
    const t = this.store.tags.get(id);
    if (!t) throw notFound();
    t.label = str(label, 'label', true)!;
    this.store.touch();
    return t;
  }
  deleteTag(id: string): void {
    if (!this.store.tags.delete(id)) throw notFound();
    this.store.touch();
  }
  private entityExists(type: EntityType, id: string): boolean {
    return type === 'users' ? this.store.users.has(id) : type === 'teams' ? this.store.teams.has(id) : this.store.escalationPolicies.has(id);
  }
  tagEntity(tagId: string, entityType: EntityType, entityId: string): void {
    const t = this.store.tags.get(tagId);
    if (!t) throw notFound();
    if (!['users', 'teams', 'escalation_policies'].includes(entityType)) throw invalidInput('entity_type must be users, teams or escalation_policies.');
    if (!this.entityExists(entityType, entityId)) throw invalidInput(`${entityType} ${entityId} not found.`);
    if (!t[entityType].includes(entityId)) t[entityType].push(entityId);
    this.store.touch();
  }
  untagEntity(tagId: string, entityType: EntityType, entityId: string): void {
    const t = this.store.tags.get(tagId);
    if (!t) throw notFound();
    if (!['users', 'teams', 'escalation_policies'].includes(entityType)) throw invalidInput('entity_type must be users, teams or escalation_policies.');
    t[entityType] = t[entityType].filter((x) => x !== entityId);
    this.store.touch();
  }

  // ----- incidents from PagerDuty's side -----
  /** An incident triggered by a monitoring alert on the service (no user involved: the agent is the service). */
  triggerIncident(input: { service_id: string; title: string; urgency?: 'high' | 'low'; incident_key?: string; details?: unknown }): IncidentRecord {
    const serviceId = str(input.service_id, 'service_id', true)!;
    if (!this.store.services.has(serviceId)) throw invalidInput('Service not found.');
    const title = str(input.title, 'title', true)!;
    if (input.urgency !== undefined && input.urgency !== 'high' && input.urgency !== 'low') throw invalidInput('urgency must be high or low.');
    return this.store.createIncident(null, { service_id: serviceId, title, urgency: input.urgency,
      incident_key: str(input.incident_key, 'incident_key', false), details: input.details });
  }

  // ----- webhook secrets -----
  /** Start rotating a subscription's secret: deliveries carry a signature for the new and the old secret until `finishSecretRotation`. */
  rotateWebhookSecret(subscriptionId: string): { secret: string } {
    const w = this.store.webhookSubscriptions.get(subscriptionId);
    if (!w) throw notFound();
    w.rotating_secrets = [w.secret, ...w.rotating_secrets];
    w.secret = randomBytes(32).toString('base64url');
    return { secret: w.secret };
  }
  finishSecretRotation(subscriptionId: string): void {
    const w = this.store.webhookSubscriptions.get(subscriptionId);
    if (!w) throw notFound();
    w.rotating_secrets = [];
  }
}
