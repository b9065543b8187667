import type { CustomFieldsService, CustomFieldValueView } from '../custom-fields/index.js';
import type { Executor } from '../platform/db/index.js';
import type { IncidentsTable } from '../platform/db/schema.js';
import type { Actor } from '../platform/events.js';
import { availableActions, type AvailableAction, type StatusCategory } from './rules.js';
import type { Severities } from './severities.js';
import type { Statuses } from './statuses.js';
import { rolesForIncidents, type IncidentRoleView } from './roles/roles.view.js';

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
  /** Every live role in rank order (holder or null), then deleted roles still held here (roles/roles.view.ts). */
  roles: IncidentRoleView[];
}

/** Rows in, incidents out, in the same order. */
export async function toIncidents(db: Executor, rows: IncidentsTable[], severityList: Severities, statusList: Statuses, customFields: CustomFieldsService): Promise<Incident[]> {
  if (rows.length === 0) return [];
  const unknown = rows.find((r) => !severityList.isCached(r.severity_id))?.severity_id;
  const [severities, statuses] = await Promise.all([severityList.cached(db, unknown), statusList.list(db)]);
  const ids = rows.map((r) => r.id);
  const userIds = [...new Set(rows.flatMap((r) => [r.creator_user_id, r.lead_user_id]).filter((x): x is string => !!x))];
  const mergedIds = [...new Set(rows.map((r) => r.merged_into_id).filter((x): x is string => !!x))];
  const [users, merged, stamps, fieldValues, roles] = await Promise.all([
    userIds.length ? db.selectFrom('users').select(['id', 'name']).where('id', 'in', userIds).execute() : [],
    mergedIds.length ? db.selectFrom('incidents').select(['id', 'reference']).where('id', 'in', mergedIds).execute() : [],
    db.selectFrom('incident_status_timestamps').selectAll().where('incident_id', 'in', ids).orderBy('first_at').execute(),
    customFields.valuesFor(ids, db),
    rolesForIncidents(db, ids),
  ]);
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
      roles: roles.get(r.id) ?? [],
    };
  });
}
