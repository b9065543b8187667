import type { CustomFieldsService, CustomFieldValueView } from '../custom-fields/index.js';
import type { Executor } from '../platform/db/index.js';
import type { IncidentsTable } from '../platform/db/schema.js';
import type { Actor } from '../platform/events.js';
import { availableActions, type AvailableAction, type StatusCategory } from './rules.js';
import type { Severities } from './severities.js';
import type { Statuses } from './statuses.js';
import { CompiledQuery, sql, type InferResult } from 'kysely';
import { jsonArrayFrom as pgJsonArrayFrom } from 'kysely/helpers/postgres';
import { jsonArrayFrom as sqliteJsonArrayFrom } from 'kysely/helpers/sqlite';
import type { DbDialect } from '../platform/db/index.js';
import { acceptanceRows, timesFor, timesFromRows, timestampRows, type IncidentTimes, type IncidentTimestampView } from './timestamps/timestamps.service.js';
import type { Durations } from './timestamps/rules.js';
import { heldRoleRows, liveRoleRows, rolesForIncidents, rolesFromRows, type IncidentRoleView } from './roles/roles.view.js';

const pgJson = { jsonArrayFrom: pgJsonArrayFrom };
const sqliteJson = { jsonArrayFrom: sqliteJsonArrayFrom };

// The Incident as every caller sees it (API, Slack, PagerDuty), and how stored rows become it: severity,
// status, people, merge target, status times and custom field values joined in a few queries for a whole page
// of rows.

export type IncidentMode = 'standard' | 'test' | 'retrospective';

export interface Incident {
  id: string;
  reference: string;
  number: number;
  name: string;
  summary: string;
  severity: { id: string; name: string; rank: number };
  status: { id: string; name: string; category: StatusCategory };
  mode: IncidentMode;
  source: string;
  creator: { kind: Actor['kind']; user: { id: string; name: string } | null; ref: string | null };
  lead: { id: string; name: string } | null;
  mergedInto: { id: string; reference: string } | null;
  slackChannelId: string | null;
  /** The channel's name as Slack knows it (without #), when the channel-name port knows it. */
  slackChannelName: string | null;
  createdAt: string;
  updatedAt: string;
  statusTimestamps: { status: { id: string; name: string; category: StatusCategory }; firstAt: string; lastAt: string }[];
  availableActions: AvailableAction[];
  /** Custom fields with a value (deleted fields left out), in field order. */
  customFields: CustomFieldValueView[];
  /** Every timestamp kind (at null when not set) and the durations derived from them. */
  timestamps: IncidentTimestampView[];
  durations: Durations;
  /** Every live role in rank order (holder or null), then deleted roles still held here (roles/roles.view.ts). */
  roles: IncidentRoleView[];
}

/** Rows in, incidents out, in the same order: a few queries for the whole page of rows. */
export async function toIncidents(db: Executor, rows: IncidentsTable[], severityList: Severities, statusList: Statuses, customFields: CustomFieldsService): Promise<Incident[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const userIds = [...new Set(rows.flatMap((r) => [r.creator_user_id, r.lead_user_id]).filter((x): x is string => !!x))];
  const mergedIds = [...new Set(rows.map((r) => r.merged_into_id).filter((x): x is string => !!x))];
  const [users, merged, stamps, fieldValues, times, roles] = await Promise.all([
    userIds.length ? db.selectFrom('users').select(['id', 'name']).where('id', 'in', userIds).execute() : [],
    mergedIds.length ? db.selectFrom('incidents').select(['id', 'reference']).where('id', 'in', mergedIds).execute() : [],
    db.selectFrom('incident_status_timestamps').selectAll().where('incident_id', 'in', ids).orderBy('first_at').execute(),
    customFields.valuesFor(ids, db),
    timesFor(db, ids),
    rolesForIncidents(db, ids),
  ]);
  return assemble(db, rows, { users, merged, stamps, fieldValues, times, roles }, severityList, statusList);
}

const ID_SLOT = '\u0000incident id\u0000';
const NUMBER_SLOT = -918_273_645;
const compiledReads = new Map<string, { sql: string; parameters: readonly unknown[]; slot: number }>();
type ReadRow = InferResult<ReturnType<typeof readQuery>>[number];

function readQuery(db: Executor, dialect: DbDialect, where: { id: string } | { number: number }) {
  const { jsonArrayFrom } = dialect === 'postgres' ? pgJson : sqliteJson;
  // The shared row queries (timestamps, roles) do not know the outer alias; they are narrowed by this reference.
  const outerId = sql.ref<string>('i.id');
  const q = db
    .selectFrom('incidents as i')
    .selectAll('i')
    .select((eb) => [
      jsonArrayFrom(eb.selectFrom('users as u').select(['u.id', 'u.name']).where((w) => w.or([w('u.id', '=', w.ref('i.creator_user_id')), w('u.id', '=', w.ref('i.lead_user_id'))]))).as('x_users'),
      jsonArrayFrom(eb.selectFrom('incidents as m').select(['m.id', 'm.reference']).whereRef('m.id', '=', 'i.merged_into_id')).as('x_merged'),
      jsonArrayFrom(eb.selectFrom('incident_status_timestamps as st').select(['st.incident_id', 'st.status_id', 'st.first_at', 'st.last_at']).whereRef('st.incident_id', '=', 'i.id').orderBy('st.first_at')).as('x_stamps'),
      jsonArrayFrom(eb.selectFrom('incident_custom_field_values as v').select(['v.incident_id', 'v.field_id', 'v.value', 'v.position']).whereRef('v.incident_id', '=', 'i.id').orderBy('v.field_id').orderBy('v.position')).as('x_values'),
      jsonArrayFrom(timestampRows(eb as unknown as Executor).where('t.incident_id', '=', outerId)).as('x_times'),
      jsonArrayFrom(acceptanceRows(eb as unknown as Executor).where('st.incident_id', '=', outerId)).as('x_accepted'),
      jsonArrayFrom(liveRoleRows(eb as unknown as Executor)).as('x_live_roles'),
      jsonArrayFrom(heldRoleRows(eb as unknown as Executor).where('a.incident_id', '=', outerId)).as('x_held_roles'),
      eb.selectFrom('sequences').select('value').where('name', '=', 'custom_fields').as('x_fields_version'),
    ]);
  return 'id' in where ? q.where('i.id', '=', where.id) : q.where('i.number', '=', where.number);
}

/**
 * One incident, by id or by number, in one statement: the row with what it shows beside it as JSON arrays
 * (status times, custom field values, timestamps, roles, people's names, merge target) and the custom field
 * definitions' version, so the remembered definitions serve (custom-fields.service.ts liveFields). Severities and
 * statuses come from their caches. Null when there is no such incident.
 */
export async function loadIncident(db: Executor, dialect: DbDialect, where: { id: string } | { number: number }, severityList: Severities, statusList: Statuses, customFields: CustomFieldsService): Promise<Incident | null> {
  // Built and compiled once per dialect and key (building this query cost more CPU than running it); each read
  // only puts its id or number in the parameters.
  const kind = 'id' in where ? 'id' : 'number';
  const cacheKey = `${dialect}:${kind}`;
  let read = compiledReads.get(cacheKey);
  if (!read) {
    const c = readQuery(db, dialect, kind === 'id' ? { id: ID_SLOT } : { number: NUMBER_SLOT }).compile();
    read = { sql: c.sql, parameters: c.parameters, slot: c.parameters.findIndex((p) => p === (kind === 'id' ? ID_SLOT : NUMBER_SLOT)) };
    if (read.slot < 0 || c.parameters.filter((p) => p === ID_SLOT || p === NUMBER_SLOT).length !== 1) throw new Error('loadIncident: the key is not one parameter of the compiled read');
    compiledReads.set(cacheKey, read);
  }
  const parameters = [...read.parameters];
  parameters[read.slot] = 'id' in where ? where.id : where.number;
  const row = (await db.executeQuery<ReadRow>(CompiledQuery.raw(read.sql, parameters))).rows[0];
  if (!row) return null;
  // SQLite returns the JSON as text; pg parses json values itself.
  const json = <T>(v: unknown): T[] => (typeof v === 'string' ? (JSON.parse(v) as T[]) : (v as T[]));
  const { x_users, x_merged, x_stamps, x_values, x_times, x_accepted, x_live_roles, x_held_roles, x_fields_version, ...incident } = row;
  const ids = [incident.id];
  const [result] = await assemble(db, [incident], {
    users: json(x_users),
    merged: json(x_merged),
    stamps: json(x_stamps),
    fieldValues: await customFields.viewsOf(json(x_values), db, Number(x_fields_version ?? 0)),
    times: timesFromRows(ids, json(x_times), json(x_accepted)),
    roles: rolesFromRows(ids, json(x_live_roles), json(x_held_roles)),
  }, severityList, statusList);
  return result ?? null;
}

interface Parts {
  users: { id: string; name: string }[];
  merged: { id: string; reference: string }[];
  stamps: { incident_id: string; status_id: string; first_at: string; last_at: string }[];
  fieldValues: Map<string, CustomFieldValueView[]>;
  times: Map<string, IncidentTimes>;
  roles: Map<string, IncidentRoleView[]>;
}

async function assemble(db: Executor, rows: IncidentsTable[], parts: Parts, severityList: Severities, statusList: Statuses): Promise<Incident[]> {
  const unknown = rows.find((r) => !severityList.isCached(r.severity_id))?.severity_id;
  const [severities, statuses] = await Promise.all([severityList.cached(db, unknown), statusList.list(db)]);
  const { users, merged, stamps, fieldValues, times, roles } = parts;
  const userById = new Map(users.map((u) => [u.id, u]));
  return rows.map((r) => {
    const sev = severities.find((s) => s.id === r.severity_id)!;
    const st = statuses.find((s) => s.id === r.status_id)!;
    const m = r.merged_into_id ? merged.find((x) => x.id === r.merged_into_id) : undefined;
    return {
      id: r.id,
      reference: r.reference,
      number: Number(r.number),
      name: r.name,
      summary: r.summary,
      severity: { id: sev.id, name: sev.name, rank: sev.rank },
      status: { id: st.id, name: st.name, category: st.category },
      mode: r.mode,
      source: r.source,
      creator: { kind: r.creator_kind, user: r.creator_user_id ? (userById.get(r.creator_user_id) ?? null) : null, ref: r.creator_ref },
      lead: r.lead_user_id ? (userById.get(r.lead_user_id) ?? null) : null,
      mergedInto: m ? { id: m.id, reference: m.reference } : null,
      slackChannelId: r.slack_channel_id,
      slackChannelName: null,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      statusTimestamps: stamps
        .filter((t) => t.incident_id === r.id)
        .map((t) => {
          const s = statuses.find((x) => x.id === t.status_id)!;
          return { status: { id: s.id, name: s.name, category: s.category }, firstAt: t.first_at, lastAt: t.last_at };
        }),
      availableActions: availableActions(st, statuses),
      customFields: fieldValues.get(r.id) ?? [],
      timestamps: times.get(r.id)!.timestamps,
      durations: times.get(r.id)!.durations,
      roles: roles.get(r.id) ?? [],
    };
  });
}
