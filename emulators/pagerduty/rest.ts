/** PagerDuty REST API v2 routes: paths, filters, pagination and validation as PagerDuty answers them. */
import { randomBytes } from 'node:crypto';
import { changeEventRoutes } from './change-events.js';
import { paginate, paginateJson, type Query, type RestContext, type RestResult } from './rest-context.js';
import { invalidInput, notFound, pdError, PdError } from './errors.js';
import { finalEntries, isTimeZone } from './oncall.js';
import type { AccountStore, EntityType } from './store.js';
import type { WebhookDispatcher } from './webhooks.js';
import type { IncidentRecord, PdReference, Urgency, UserRecord, WebhookFilterType, WebhookSubscriptionRecord } from './types.js';


export type { Query, RestContext, RestResult };

type Handler = (ctx: RestContext) => RestResult;

export const WEBHOOK_EVENT_TYPES = [
  'incident.acknowledged', 'incident.annotated', 'incident.conference_bridge.updated', 'incident.custom_field_values.updated',
  'incident.delegated', 'incident.escalated', 'incident.priority_updated', 'incident.reassigned', 'incident.reopened',
  'incident.resolved', 'incident.responder.added', 'incident.responder.replied', 'incident.status_update_published',
  'incident.triggered', 'incident.unacknowledged', 'incident.workflow.started', 'incident.workflow.completed',
  'service.created', 'service.deleted', 'service.updated', 'pagey.ping',
];

const ABILITIES = ['sso', 'advanced_reports', 'teams', 'read_only_users', 'team_responders', 'service_support_hours',
  'urgencies', 'manage_schedules', 'manage_api_keys', 'coordinated_responding', 'event_rules', 'beta_custom_actions',
  'permissions_service', 'on_call_analytics', 'preview_incident_alert_split', 'response_plays'];

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);


function sortDirection(q: Query): 1 | -1 {
  const s = q.get('sort_by');
  if (s === undefined || s === 'name' || s === 'name:asc') return 1;
  if (s === 'name:desc') return -1;
  throw invalidInput('Sort by must be one of name, name:asc, name:desc.');
}

function parseTime(raw: string, name: string): number {
  const t = Date.parse(raw);
  if (Number.isNaN(t)) throw invalidInput(`${name} is not a valid date.`);
  return t;
}

function ref(v: unknown, type: string, name: string): string {
  if (!isObj(v) || typeof v.id !== 'string' || v.id === '') throw invalidInput(`${name} must be a reference with an id.`);
  if (v.type !== undefined && v.type !== type && v.type !== type.replace(/_reference$/, '')) throw invalidInput(`${name} type must be ${type}.`);
  return v.id;
}

export function buildRoutes(store: AccountStore, webhooks: WebhookDispatcher): { method: string; pattern: RegExp; handler: Handler }[] {
  const routes: { method: string; pattern: RegExp; handler: Handler }[] = [];
  const add = (method: string, path: string, handler: Handler) => {
    const pattern = new RegExp(`^${path.replace(/\{[a-z_]+\}/g, '([^/]+)')}$`);
    routes.push({ method, pattern, handler });
  };
  const includes = (q: Query) => new Set(q.list('include'));
  const pageCache = (k: string, build: () => string) => store.cachedPage(k, build);
  const pageCacheDir = (dir: 1 | -1) => (k: string, build: () => string) => store.cachedPage(`${k}|${dir}`, build);
  const p0 = (c: RestContext) => c.params[0]!;

  // ---------- users ----------
  add('GET', '/users', (c) => {
    const q = c.query.get('query')?.toLowerCase();
    const teamIds = c.query.list('team_ids');
    let users = store.index.users;
    if (q) users = users.filter((u) => store.matches(u, `${u.name}\u0000${u.email}`, q));
    if (teamIds.length) users = users.filter((u) => (store.index.userTeams.get(u.id) ?? []).some((t) => teamIds.includes(t)));
    const inc = includes(c.query);
    if (inc.size === 0) return paginateJson(c.query, users, 'users', (u) => store.cachedJson(`user:${u.id}`, () => store.userWire(u)), !q && !teamIds.length ? pageCache : undefined);
    return paginate(c.query, users, 'users', (u) => store.userWire(u, inc));
  });
  add('GET', '/users/me', () => ({ status: 400, body: { error: "Because this request was made using an account-level access token, we were unable to determine the user's identity. Please use a user-level token." } }));
  add('GET', '/users/{id}', (c) => {
    const u = store.users.get(p0(c));
    if (!u) throw notFound();
    return { status: 200, body: { user: store.userWire(u, includes(c.query)) } };
  });

  // ---------- teams ----------
  add('GET', '/teams', (c) => {
    const q = c.query.get('query')?.toLowerCase();
    const teams = q ? store.index.teams.filter((t) => store.matches(t, t.name, q)) : store.index.teams;
    return paginateJson(c.query, teams, 'teams', (t) => store.cachedJson(`team:${t.id}`, () => store.teamWire(t)), q ? undefined : pageCache);
  });
  add('GET', '/teams/{id}', (c) => {
    const t = store.teams.get(p0(c));
    if (!t) throw notFound();
    return { status: 200, body: { team: store.teamWire(t) } };
  });
  add('GET', '/teams/{id}/members', (c) => {
    const t = store.teams.get(p0(c));
    if (!t) throw notFound();
    const full = includes(c.query).has('users');
    const members = t.members.filter((m) => store.users.has(m.user_id));
    return paginate(c.query, members, 'members', (m) => ({
      user: full ? store.userWire(store.users.get(m.user_id)!) : store.userRef(m.user_id), role: m.role,
    }));
  });

  // ---------- services ----------
  add('GET', '/services', (c) => {
    const q = c.query.get('query')?.toLowerCase();
    const name = c.query.get('name');
    const teamIds = c.query.list('team_ids');
    const dir = sortDirection(c.query);
    let services = store.index.services;
    if (q) services = services.filter((s) => store.matches(s, s.name, q));
    if (name !== undefined) services = services.filter((s) => s.name === name);
    if (teamIds.length) services = services.filter((s) => s.team_ids.some((t) => teamIds.includes(t)));
    if (dir === -1) services = [...services].reverse();
    const inc = includes(c.query);
    if (inc.size === 0) return paginateJson(c.query, services, 'services', (s) => store.cachedJson(`service:${s.id}`, () => store.serviceWire(s)), !q && name === undefined && !teamIds.length ? pageCacheDir(dir) : undefined);
    return paginate(c.query, services, 'services', (s) => store.serviceWire(s, inc));
  });
  add('GET', '/services/{id}', (c) => {
    const s = store.services.get(p0(c));
    if (!s) throw notFound();
    return { status: 200, body: { service: store.serviceWire(s, includes(c.query)) } };
  });

  // ---------- priorities ----------
  add('GET', '/priorities', (c) => paginate(c.query, [...store.priorities.values()], 'priorities', (p) => store.priorityWire(p)));

  // ---------- escalation policies ----------
  add('GET', '/escalation_policies', (c) => {
    const q = c.query.get('query')?.toLowerCase();
    const userIds = c.query.list('user_ids');
    const teamIds = c.query.list('team_ids');
    const dir = sortDirection(c.query);
    let policies = store.index.policies;
    if (q) policies = policies.filter((p) => store.matches(p, p.name, q));
    if (userIds.length) policies = policies.filter((p) => { const set = store.index.policyUsers.get(p.id); return userIds.some((u) => set?.has(u)); });
    if (teamIds.length) policies = policies.filter((p) => p.team_ids.some((t) => teamIds.includes(t)));
    if (dir === -1) policies = [...policies].reverse();
    const inc = includes(c.query);
    if (inc.size === 0) return paginateJson(c.query, policies, 'escalation_policies', (p) => store.cachedJson(`policy:${p.id}`, () => store.policyWire(p)), !q && !userIds.length && !teamIds.length ? pageCacheDir(dir) : undefined);
    return paginate(c.query, policies, 'escalation_policies', (p) => store.policyWire(p, inc));
  });
  add('GET', '/escalation_policies/{id}', (c) => {
    const p = store.escalationPolicies.get(p0(c));
    if (!p) throw notFound();
    return { status: 200, body: { escalation_policy: store.policyWire(p, includes(c.query)) } };
  });

  // ---------- schedules and on-calls ----------
  const timeZoneParam = (q: Query, dflt: string): string => {
    const tz = q.get('time_zone');
    if (tz === undefined || tz === '') return dflt;
    if (!isTimeZone(tz)) throw invalidInput('Time zone is not a valid time zone.');
    return tz;
  };
  const boolParam = (q: Query, name: string): boolean => {
    const v = q.get(name);
    if (v === undefined || v === 'false') return false;
    if (v === 'true') return true;
    throw invalidInput(`${name[0]!.toUpperCase()}${name.slice(1)} must be true or false.`);
  };
  /** since/until for rendering: either one defaults to two weeks from the other; neither = no rendering. */
  const renderWindow = (q: Query) => {
    const since = q.get('since'); const until = q.get('until');
    if (since === undefined && until === undefined) return undefined;
    const u = until !== undefined ? parseTime(until, 'Until') : parseTime(since!, 'Since') + 14 * 86_400_000;
    const s = since !== undefined ? parseTime(since, 'Since') : u - 14 * 86_400_000;
    if (s > u) throw invalidInput('Since must be before until.');
    if (u - s > 366 * 86_400_000) throw invalidInput('The time range cannot be longer than a year.');
    return { since: s, until: u };
  };
  const scheduleOr404 = (id: string) => {
    const s = store.schedules.get(id);
    if (!s) throw notFound();
    return s;
  };
  const SCHEDULE_INCLUDES = new Set(['schedule_layers', 'overrides_subschedule', 'final_schedule']);

  add('GET', '/schedules', (c) => {
    const q = c.query.get('query')?.toLowerCase();
    const teamIds = c.query.list('team_ids');
    const inc = includes(c.query);
    for (const i of inc) if (!SCHEDULE_INCLUDES.has(i)) throw invalidInput('Include must be one of schedule_layers, overrides_subschedule, final_schedule.');
    let list = store.index.schedules;
    if (q) list = list.filter((s) => store.matches(s, s.name, q));
    if (teamIds.length) list = list.filter((s) => s.team_ids.some((t) => teamIds.includes(t)));
    const w = renderWindow(c.query);
    const tz = c.query.get('time_zone') !== undefined ? timeZoneParam(c.query, 'Etc/UTC') : undefined;
    return paginate(c.query, list, 'schedules', (s) => store.scheduleWire(s, inc, w && { ...w, overflow: false, timeZone: tz }));
  });
  add('GET', '/schedules/{id}', (c) => {
    const s = scheduleOr404(p0(c));
    const w = renderWindow(c.query);
    const tz = timeZoneParam(c.query, s.time_zone);
    return { status: 200, body: { schedule: store.scheduleWire(s, SCHEDULE_INCLUDES, w && { ...w, overflow: boolParam(c.query, 'overflow'), timeZone: tz }) } };
  });
  add('GET', '/schedules/{id}/users', (c) => {
    const s = scheduleOr404(p0(c));
    const now = store.clockNow();
    const w = renderWindow(c.query) ?? { since: now, until: now + 1 };
    const ids = [...new Set(finalEntries(s, w.since, w.until).map((e) => e.user_id))];
    return { status: 200, body: { users: ids.flatMap((u) => { const r = store.users.get(u); return r ? [store.userWire(r)] : []; }) } };
  });
  add('GET', '/oncalls', (c) => {
    const q = c.query;
    const inc = includes(q);
    for (const i of inc) if (!['escalation_policies', 'users', 'schedules'].includes(i)) throw invalidInput('Include must be one of escalation_policies, users, schedules.');
    const now = store.clockNow();
    const since = q.get('since') !== undefined ? parseTime(q.get('since')!, 'Since') : now;
    const until = q.get('until') !== undefined ? parseTime(q.get('until')!, 'Until') : q.get('since') !== undefined ? Math.max(since, now) : now;
    if (until < since) throw invalidInput('Until cannot be before since.');
    if (until > now + 90 * 86_400_000) throw invalidInput('On-call shifts are limited to 90 days in the future.');
    if (until - since > 90 * 86_400_000) throw invalidInput('The time range cannot be longer than 90 days.');
    const list = store.oncalls({ since, until, policyIds: q.list('escalation_policy_ids'), scheduleIds: q.list('schedule_ids'),
      userIds: q.list('user_ids'), earliest: boolParam(q, 'earliest'), include: inc, timeZone: timeZoneParam(q, 'Etc/UTC') });
    return paginate(q, list, 'oncalls', (o) => o);
  });

  // ---------- tags ----------
  add('GET', '/tags', (c) => {
    const q = c.query.get('query')?.toLowerCase();
    const tags = q ? store.index.tags.filter((t) => store.matches(t, t.label, q)) : store.index.tags;
    return paginate(c.query, tags, 'tags', (t) => store.tagWire(t));
  });
  add('GET', '/tags/{id}', (c) => {
    const t = store.tags.get(p0(c));
    if (!t) throw notFound();
    return { status: 200, body: { tag: store.tagWire(t) } };
  });
  const entityType = (raw: string): EntityType => {
    if (raw === 'users' || raw === 'teams' || raw === 'escalation_policies') return raw;
    throw notFound();
  };
  add('GET', '/tags/{id}/{entity_type}', (c) => {
    const t = store.tags.get(p0(c));
    const type = entityType(c.params[1]!);
    if (!t) throw notFound();
    const refs: PdReference[] = [];
    for (const id of t[type]) {
      if (type === 'users' && store.users.has(id)) refs.push(store.userRef(id));
      if (type === 'teams' && store.teams.has(id)) refs.push(store.teamRef(id));
      if (type === 'escalation_policies' && store.escalationPolicies.has(id)) refs.push(store.policyRef(id));
    }
    return paginate(c.query, refs, type, (r) => r);
  });
  add('GET', '/{entity_type}/{id}/tags', (c) => {
    const type = entityType(c.params[0]!);
    const id = c.params[1]!;
    const exists = type === 'users' ? store.users.has(id) : type === 'teams' ? store.teams.has(id) : store.escalationPolicies.has(id);
    if (!exists) throw notFound();
    const tagIds = store.index.entityTags.get(`${type}:${id}`) ?? [];
    return paginate(c.query, tagIds, 'tags', (t) => store.tagWire(store.tags.get(t)!));
  });

  // ---------- incidents ----------
  add('GET', '/incidents', (c) => {
    const q = c.query;
    const statuses = q.list('statuses');
    for (const s of statuses) if (!['triggered', 'acknowledged', 'resolved'].includes(s)) throw invalidInput('Statuses must be one of triggered, acknowledged, resolved.');
    const urgencies = q.list('urgencies');
    for (const u of urgencies) if (u !== 'high' && u !== 'low') throw invalidInput('Urgencies must be one of high, low.');
    const serviceIds = q.list('service_ids');
    const teamIds = q.list('team_ids');
    const userIds = q.list('user_ids');
    const key = q.get('incident_key');
    const dateRange = q.get('date_range');
    if (dateRange !== undefined && dateRange !== 'all') throw invalidInput('Date range must be all.');
    let since = -Infinity; let until = Infinity;
    if (dateRange !== 'all') {
      const nowMs = Date.now();
      until = q.get('until') !== undefined ? parseTime(q.get('until')!, 'Until') : nowMs + 1000;
      since = q.get('since') !== undefined ? parseTime(q.get('since')!, 'Since') : until - 30 * 86_400_000;
      if (since > until) throw invalidInput('Since must be before until.');
      if (until - since > 180 * 86_400_000) throw invalidInput('The time range cannot be longer than 6 months.');
    }
    const list = store.incidentsInOrder().filter((i) => {
      if (statuses.length && !statuses.includes(i.status)) return false;
      if (urgencies.length && !urgencies.includes(i.urgency)) return false;
      if (serviceIds.length && !serviceIds.includes(i.service_id)) return false;
      if (key !== undefined && i.incident_key !== key) return false;
      if (userIds.length && !i.assignments.some((a) => userIds.includes(a.user_id))) return false;
      if (teamIds.length && !(store.services.get(i.service_id)?.team_ids ?? []).some((t) => teamIds.includes(t))) return false;
      const t = Date.parse(i.created_at);
      return t >= since && t < until;
    });
    const sortBy = q.list('sort_by');
    if (sortBy.some((s) => s.endsWith(':desc'))) list.reverse();
    const inc = includes(q);
    return paginate(q, list, 'incidents', (i) => store.incidentWire(i, inc));
  });

  add('POST', '/incidents', (c) => {
    const agent = c.fromUser();
    const body = c.body();
    if (!isObj(body) || !isObj(body.incident)) throw invalidInput('incident is required.');
    const inc = body.incident;
    if (inc.type !== 'incident') throw invalidInput('Incident type must be incident.');
    if (typeof inc.title !== 'string' || inc.title.trim() === '') throw invalidInput('Title cannot be empty.');
    if (inc.service === undefined) throw invalidInput('Service is required.');
    const serviceId = ref(inc.service, 'service_reference', 'Service');
    if (!store.services.has(serviceId)) throw invalidInput('Service not found.');
    if (inc.urgency !== undefined && inc.urgency !== 'high' && inc.urgency !== 'low') throw invalidInput('Urgency must be high or low.');
    if (inc.incident_key !== undefined && (typeof inc.incident_key !== 'string' || inc.incident_key.length > 255)) throw invalidInput('Incident key must be a string of at most 255 characters.');
    let priorityId: string | null = null;
    if (inc.priority !== undefined && inc.priority !== null) {
      priorityId = ref(inc.priority, 'priority_reference', 'Priority');
      if (!store.priorities.has(priorityId)) throw invalidInput('Priority not found.');
    }
    if (inc.escalation_policy !== undefined && inc.assignments !== undefined) {
      throw invalidInput('Incident can have either escalation_policy or assignments, but not both.');
    }
    let policyId: string | undefined;
    if (inc.escalation_policy !== undefined) {
      policyId = ref(inc.escalation_policy, 'escalation_policy_reference', 'Escalation policy');
      if (!store.escalationPolicies.has(policyId)) throw invalidInput('Escalation Policy not found.');
    }
    let assigneeId: string | undefined;
    if (inc.assignments !== undefined) {
      if (!Array.isArray(inc.assignments) || inc.assignments.length === 0) throw invalidInput('Assignments must be a non-empty array.');
      if (inc.assignments.length > 1) throw invalidInput('Only one assignee is supported.');
      const a = inc.assignments[0];
      assigneeId = ref(isObj(a) ? a.assignee : undefined, 'user_reference', 'Assignee');
      if (!store.users.has(assigneeId)) throw invalidInput('Assignee not found.');
    }
    if (inc.body !== undefined && !isObj(inc.body)) throw invalidInput('Body must be an object.');
    const i = store.createIncident(agent.id, {
      title: inc.title, service_id: serviceId, urgency: inc.urgency as Urgency | undefined,
      incident_key: inc.incident_key as string | undefined, priority_id: priorityId, escalation_policy_id: policyId,
      assignee_id: assigneeId, details: isObj(inc.body) ? inc.body.details : undefined,
    });
    return { status: 201, body: { incident: store.incidentWire(i) } };
  });

  add('GET', '/incidents/{id}', (c) => {
    const i = store.incidents.get(p0(c));
    if (!i) throw notFound();
    const out = store.incidentWire(i, includes(c.query));
    if (includes(c.query).has('body')) out.body = { type: 'incident_body', details: i.details ?? {} };
    return { status: 200, body: { incident: out } };
  });

  /** Validates one incident update; returns a function that applies it, so bulk updates change nothing when one fails. */
  const planUpdate = (agent: UserRecord, i: IncidentRecord, u: Record<string, unknown>): (() => void) => {
    if (u.type !== 'incident' && u.type !== 'incident_reference') throw invalidInput('Incident type must be incident or incident_reference.');
    const steps: (() => void)[] = [];
    const changes = ['status', 'priority', 'escalation_level', 'assignments', 'escalation_policy', 'title', 'urgency'].filter((k) => u[k] !== undefined);
    if (changes.length > 0 && i.status === 'resolved') throw pdError(400, 1001, 'Incident Already Resolved');
    if (u.title !== undefined) {
      if (typeof u.title !== 'string' || u.title.trim() === '') throw invalidInput('Title cannot be empty.');
      const title = u.title;
      steps.push(() => { i.title = title; i.updated_at = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'); });
    }
    if (u.urgency !== undefined) {
      if (u.urgency !== 'high' && u.urgency !== 'low') throw invalidInput('Urgency must be high or low.');
      const urgency = u.urgency;
      steps.push(() => { i.urgency = urgency; });
    }
    if (u.priority !== undefined) {
      const pid = u.priority === null ? null : typeof u.priority === 'string' ? u.priority : ref(u.priority, 'priority_reference', 'Priority');
      if (pid !== null && !store.priorities.has(pid)) throw invalidInput('Priority not found.');
      steps.push(() => store.setPriority(agent.id, i.id, pid));
    }
    if (u.assignments !== undefined && u.escalation_policy !== undefined) throw invalidInput('Incident can have either escalation_policy or assignments, but not both.');
    if (u.assignments !== undefined) {
      if (!Array.isArray(u.assignments) || u.assignments.length === 0) throw invalidInput('Assignments must be a non-empty array.');
      const ids = u.assignments.map((a) => ref(isObj(a) ? a.assignee : undefined, 'user_reference', 'Assignee'));
      for (const id of ids) if (!store.users.has(id)) throw invalidInput('Assignee not found.');
      steps.push(() => store.reassign(agent.id, i.id, ids));
    }
    if (u.escalation_policy !== undefined) {
      const pid = ref(u.escalation_policy, 'escalation_policy_reference', 'Escalation policy');
      if (!store.escalationPolicies.has(pid)) throw invalidInput('Escalation Policy not found.');
      steps.push(() => store.reassignToPolicy(agent.id, i.id, pid));
    }
    if (u.escalation_level !== undefined) {
      const max = store.escalationPolicies.get(i.escalation_policy_id)?.escalation_rules.length ?? 0;
      if (typeof u.escalation_level !== 'number' || !Number.isInteger(u.escalation_level) || u.escalation_level < 1 || u.escalation_level > max) {
        throw invalidInput(`Escalation level must be an integer between 1 and ${max}.`);
      }
      const level = u.escalation_level;
      steps.push(() => store.escalate(agent.id, i.id, level));
    }
    if (u.status !== undefined) {
      if (u.status === 'acknowledged') { if (i.status === 'acknowledged' && !u.assignments && !u.escalation_level) throw pdError(400, 1002, 'Incident Already Acknowledged'); steps.push(() => store.acknowledge(agent.id, i.id)); }
      else if (u.status === 'resolved') steps.push(() => store.resolve(agent.id, i.id));
      else if (u.status === 'triggered') steps.push(() => store.unacknowledge(agent.id, i.id));
      else throw invalidInput('Status must be one of triggered, acknowledged, resolved.');
    }
    return () => { for (const s of steps) s(); };
  };

  add('PUT', '/incidents/{id}', (c) => {
    const agent = c.fromUser();
    const i = store.incidents.get(p0(c));
    if (!i) throw notFound();
    const body = c.body();
    if (!isObj(body) || !isObj(body.incident)) throw invalidInput('incident is required.');
    planUpdate(agent, i, body.incident)();
    return { status: 200, body: { incident: store.incidentWire(i) } };
  });

  add('PUT', '/incidents', (c) => {
    const agent = c.fromUser();
    const body = c.body();
    if (!isObj(body) || !Array.isArray(body.incidents) || body.incidents.length === 0) throw invalidInput('incidents must be a non-empty array.');
    if (body.incidents.length > 500) throw pdError(413, 2001, 'Request Entity Too Large', ['At most 500 incidents can be updated at once.']);
    const plans: { i: IncidentRecord; apply: () => void }[] = [];
    const errors: string[] = [];
    for (const u of body.incidents) {
      if (!isObj(u) || typeof u.id !== 'string') { errors.push('Each incident needs an id.'); continue; }
      const i = store.incidents.get(u.id);
      if (!i) { errors.push(`Incident ${u.id} not found.`); continue; }
      try { plans.push({ i, apply: planUpdate(agent, i, u) }); } catch (e) {
        if (!(e instanceof PdError)) throw e;
        errors.push(`Incident ${u.id}: ${typeof e.body.error === 'string' ? e.body.error : e.body.error.errors?.join(' ') ?? e.body.error.message}`);
      }
    }
    if (errors.length) throw invalidInput(...errors);
    for (const p of plans) p.apply();
    const list = plans.map((p) => p.i);
    return { status: 200, body: { incidents: list.map((i) => store.incidentWire(i)), limit: list.length, offset: 0, more: false, total: null } };
  });

  add('GET', '/incidents/{id}/notes', (c) => {
    const i = store.incidents.get(p0(c));
    if (!i) throw notFound();
    return { status: 200, body: { notes: i.notes.map((n) => store.noteWire(n)) } };
  });
  add('POST', '/incidents/{id}/notes', (c) => {
    const agent = c.fromUser();
    const i = store.incidents.get(p0(c));
    if (!i) throw notFound();
    const body = c.body();
    if (!isObj(body) || !isObj(body.note) || typeof body.note.content !== 'string') throw invalidInput('Note content is required.');
    const note = store.addNote(agent.id, i.id, body.note.content);
    return { status: 200, body: { note: store.noteWire(note) } };
  });
  add('POST', '/incidents/{id}/status_updates', (c) => {
    const agent = c.fromUser();
    const i = store.incidents.get(p0(c));
    if (!i) throw notFound();
    const body = c.body();
    if (!isObj(body) || typeof body.message !== 'string') throw invalidInput('message is required.');
    for (const k of ['subject', 'html_message'] as const) if (body[k] !== undefined && typeof body[k] !== 'string') throw invalidInput(`${k} must be a string.`);
    const u = store.addStatusUpdate(agent.id, i.id, { message: body.message, subject: body.subject as string | undefined, html_message: body.html_message as string | undefined });
    return { status: 200, body: { status_update: store.statusUpdateWire(u) } };
  });
  add('POST', '/incidents/{id}/responder_requests', (c) => {
    const agent = c.fromUser();
    const i = store.incidents.get(p0(c));
    if (!i) throw notFound();
    const body = c.body();
    if (!isObj(body)) throw invalidInput('The request body must be an object.');
    if (typeof body.requester_id !== 'string' || body.requester_id === '') throw invalidInput('requester_id is required.');
    if (typeof body.message !== 'string') throw invalidInput('message is required.');
    if (!Array.isArray(body.responder_request_targets)) throw invalidInput('responder_request_targets must be an array.');
    // PagerDuty's example wraps each target in `responder_request_target`; the schema lists the fields bare. Both are read.
    const targets = body.responder_request_targets.map((x) => {
      const t = isObj(x) && isObj(x.responder_request_target) ? x.responder_request_target : x;
      if (!isObj(t) || typeof t.id !== 'string' || t.id === '') throw invalidInput('Each responder request target needs an id.');
      const type = t.type === 'user_reference' || t.type === 'user' ? 'user' as const
        : t.type === 'escalation_policy_reference' || t.type === 'escalation_policy' ? 'escalation_policy' as const : null;
      if (!type) throw invalidInput('Responder request target type must be user_reference or escalation_policy_reference.');
      return { type, id: t.id };
    });
    const q = store.addResponderRequest(agent.id, i.id, { requester_id: body.requester_id, message: body.message, targets });
    return { status: 200, body: { responder_request: store.responderRequestWire(i, q) } };
  });
  add('GET', '/incidents/{id}/log_entries', (c) => {
    const i = store.incidents.get(p0(c));
    if (!i) throw notFound();
    const overview = c.query.get('is_overview') === 'true';
    const since = c.query.get('since'); const until = c.query.get('until');
    const s = since !== undefined ? parseTime(since, 'Since') : -Infinity;
    const u = until !== undefined ? parseTime(until, 'Until') : Infinity;
    // Newest first, as PagerDuty lists them.
    const entries = store.logEntriesFor(i.id).filter((le) => {
      if (overview && le.type === 'notify_log_entry') return false;
      const t = Date.parse(le.created_at);
      return t >= s && t < u;
    }).reverse();
    const inc = includes(c.query);
    return paginate(c.query, entries, 'log_entries', (le) => store.logEntryWire(le, inc));
  });

  // ---------- webhook subscriptions ----------
  const subOr404 = (id: string): WebhookSubscriptionRecord => {
    const w = store.webhookSubscriptions.get(id);
    if (!w) throw notFound();
    return w;
  };
  const parseFilter = (f: unknown): { type: WebhookFilterType; id?: string } => {
    if (!isObj(f)) throw invalidInput('Filter is required.');
    const type = f.type;
    if (type !== 'account_reference' && type !== 'service_reference' && type !== 'team_reference') throw invalidInput('Filter type must be account_reference, service_reference or team_reference.');
    if (type === 'account_reference') return typeof f.id === 'string' ? { type, id: f.id } : { type };
    if (typeof f.id !== 'string') throw invalidInput('Filter id is required.');
    const exists = type === 'service_reference' ? store.services.has(f.id) : store.teams.has(f.id);
    if (!exists) throw invalidInput(`Filter ${type === 'service_reference' ? 'service' : 'team'} ${f.id} not found.`);
    return { type, id: f.id };
  };
  const parseEvents = (e: unknown): string[] => {
    if (!Array.isArray(e) || e.length === 0 || e.some((x) => typeof x !== 'string')) throw invalidInput('Events must be a non-empty array of event types.');
    const bad = e.filter((x) => !WEBHOOK_EVENT_TYPES.includes(x as string));
    if (bad.length) throw invalidInput(`Unknown event types: ${bad.join(', ')}.`);
    return [...new Set(e as string[])];
  };

  add('GET', '/webhook_subscriptions', (c) => {
    const ft = c.query.get('filter_type'); const fid = c.query.get('filter_id');
    if (ft !== undefined && !['account', 'service', 'team'].includes(ft)) throw invalidInput('Filter type must be account, service or team.');
    const subs = [...store.webhookSubscriptions.values()].filter((w) =>
      (ft === undefined || w.filter.type === `${ft}_reference`) && (fid === undefined || w.filter.id === fid));
    return paginate(c.query, subs, 'webhook_subscriptions', (w) => store.webhookSubscriptionWire(w));
  });
  add('POST', '/webhook_subscriptions', (c) => {
    const body = c.body();
    if (!isObj(body) || !isObj(body.webhook_subscription)) throw invalidInput('webhook_subscription is required.');
    const w = body.webhook_subscription;
    if (w.type !== 'webhook_subscription') throw invalidInput('Type must be webhook_subscription.');
    const dm = w.delivery_method;
    if (!isObj(dm) || dm.type !== 'http_delivery_method') throw invalidInput('Delivery method type must be http_delivery_method.');
    if (typeof dm.url !== 'string') throw invalidInput('Delivery method url is required.');
    let url: URL;
    try { url = new URL(dm.url); } catch { throw invalidInput('Delivery method url is not a valid URL.'); }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalidInput('Delivery method url must use https.');
    const headers = dm.custom_headers ?? [];
    if (!Array.isArray(headers) || headers.some((h) => !isObj(h) || typeof h.name !== 'string' || typeof h.value !== 'string')) throw invalidInput('Custom headers must be name/value pairs.');
    if (w.description !== undefined && typeof w.description !== 'string') throw invalidInput('Description must be a string.');
    if (w.active !== undefined && typeof w.active !== 'boolean') throw invalidInput('Active must be a boolean.');
    const rec: WebhookSubscriptionRecord = {
      id: store.newId(), delivery_method_id: store.newId(), url: dm.url,
      custom_headers: (headers as { name: string; value: string }[]).map((h) => ({ name: h.name, value: h.value })),
      description: (w.description as string | undefined) ?? '', events: parseEvents(w.events), filter: parseFilter(w.filter),
      active: (w.active as boolean | undefined) ?? true, temporarily_disabled: false, secret: randomBytes(32).toString('base64url'),
      rotating_secrets: [], consecutive_drops: 0,
    };
    store.webhookSubscriptions.set(rec.id, rec);
    // The signing secret is returned once, here.
    return { status: 200, body: { webhook_subscription: store.webhookSubscriptionWire(rec, true) } };
  });
  add('GET', '/webhook_subscriptions/{id}', (c) => ({ status: 200, body: { webhook_subscription: store.webhookSubscriptionWire(subOr404(p0(c))) } }));
  add('PUT', '/webhook_subscriptions/{id}', (c) => {
    const rec = subOr404(p0(c));
    const body = c.body();
    if (!isObj(body) || !isObj(body.webhook_subscription)) throw invalidInput('webhook_subscription is required.');
    const w = body.webhook_subscription;
    const next = { ...rec };
    if (w.description !== undefined) { if (typeof w.description !== 'string') throw invalidInput('Description must be a string.'); next.description = w.description; }
    if (w.events !== undefined) next.events = parseEvents(w.events);
    if (w.filter !== undefined) next.filter = parseFilter(w.filter);
    if (w.active !== undefined) { if (typeof w.active !== 'boolean') throw invalidInput('Active must be a boolean.'); next.active = w.active; }
    Object.assign(rec, next);
    return { status: 200, body: { webhook_subscription: store.webhookSubscriptionWire(rec) } };
  });
  add('DELETE', '/webhook_subscriptions/{id}', (c) => {
    subOr404(p0(c));
    store.webhookSubscriptions.delete(p0(c));
    return { status: 204 };
  });
  add('POST', '/webhook_subscriptions/{id}/enable', (c) => {
    const rec = subOr404(p0(c));
    rec.active = true; rec.temporarily_disabled = false; rec.consecutive_drops = 0;
    return { status: 200, body: { webhook_subscription: store.webhookSubscriptionWire(rec) } };
  });
  add('POST', '/webhook_subscriptions/{id}/ping', (c) => {
    webhooks.ping(subOr404(p0(c)));
    return { status: 202 };
  });

  // ---------- change events (change-events.ts) ----------
  for (const r of changeEventRoutes(store)) add(r.method, r.path, r.handler);

  // ---------- abilities ----------
  add('GET', '/abilities', () => ({ status: 200, body: { abilities: ABILITIES } }));
  add('GET', '/abilities/{id}', (c) => {
    if (ABILITIES.includes(p0(c))) return { status: 204 };
    throw pdError(402, 2012, 'Payment Required', ['Your account does not have the ability you requested.']);
  });

  return routes;
}

/** Paths that require the `From` header (of the ones the emulator serves). */
export function requiresFrom(method: string, path: string): boolean {
  if (method === 'POST' && path === '/incidents') return true;
  if (method === 'PUT' && (path === '/incidents' || /^\/incidents\/[^/]+$/.test(path))) return true;
  if ((method === 'POST' || method === 'PUT') && /^\/incidents\/[^/]+\/notes$/.test(path)) return true;
  if (method === 'POST' && /^\/incidents\/[^/]+\/(status_updates|responder_requests)$/.test(path)) return true;
  return false;
}
