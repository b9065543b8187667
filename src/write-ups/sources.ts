import type { Executor } from '../platform/db/index.js';
import { INCIDENT_TIMESTAMP_KINDS, type IncidentTimestampKind } from '../platform/db/schema.js';
import { NotFoundError } from '../platform/errors.js';
import { timelineText } from '../incidents/timeline.js';
import type { Durations } from '../incidents/timestamps/rules.js';
import { timesFor } from '../incidents/timestamps/timestamps.service.js';

// Everything a write-up is made from, read in one place and READ-ONLY: the incident, its lead and roles, its
// updates, follow-ups and timestamps (tables other modules own: roles, updates, follow-ups, timestamps from the
// contract migration 0020), and the key items of its timeline (pinned Slack messages, updates, status changes,
// PagerDuty activity). People are given by name, never by id. Durations use the same definitions as the
// timestamps module: time to acknowledge = reported → PagerDuty's first acknowledgement, time to fix = reported →
// fixed, time to resolve = reported → resolved, impact = impact started → fixed (or resolved when not fixed).

export interface SourceIncident {
  id: string;
  reference: string;
  name: string;
  summary: string;
  severity: string;
  status: string;
  statusCategory: string;
  mode: string;
  lead: string | null;
  declaredAt: string;
}

export interface SourceRole {
  name: string;
  description: string;
  person: string | null;
}

export interface SourceTimestamp {
  kind: IncidentTimestampKind;
  label: string;
  at: string | null;
  source: string | null;
  reason: string | null;
}

export const DURATION_KEYS = ['time_to_acknowledge', 'time_to_fix', 'time_to_resolve', 'impact'] as const;
export type DurationKey = (typeof DURATION_KEYS)[number];

export interface SourceDuration {
  key: DurationKey;
  label: string;
  /** Milliseconds, or null when a timestamp it needs is not set (or they are out of order). */
  ms: number | null;
}

export interface SourceItem {
  at: string;
  /** pinned | update | status_change | pagerduty */
  kind: string;
  text: string;
  by: string;
}

export interface SourcePinned {
  at: string;
  author: string;
  pinnedBy: string;
  text: string;
  permalink: string | null;
}

export interface SourceUpdate {
  at: string;
  by: string;
  status: string;
  severity: string;
  message: string;
  summary: string | null;
}

export interface SourceFollowUp {
  title: string;
  owner: string | null;
  priority: string;
  status: string;
  link: string | null;
}

export interface WriteUpSources {
  incident: SourceIncident;
  roles: SourceRole[];
  timestamps: SourceTimestamp[];
  durations: SourceDuration[];
  /** Pinned messages, updates and status changes, in the order they happened. */
  keyItems: SourceItem[];
  pinned: SourcePinned[];
  updates: SourceUpdate[];
  statusChanges: SourceItem[];
  pagerduty: SourceItem[];
  followUps: SourceFollowUp[];
}

export const TIMESTAMP_LABELS: Record<IncidentTimestampKind, string> = {
  reported: 'Reported',
  impact_started: 'Impact started',
  identified: 'Identified',
  fixed: 'Fixed',
  resolved: 'Resolved',
  pagerduty_first_triggered: 'First paged in PagerDuty',
  pagerduty_first_acknowledged: 'First acknowledged in PagerDuty',
};

const DURATION_LABELS: Record<DurationKey, string> = {
  time_to_acknowledge: 'Time to acknowledge',
  time_to_fix: 'Time to fix',
  time_to_resolve: 'Time to resolve',
  impact: 'Impact duration',
};

/**
 * The durations, as the timestamps module defines them (one definition for the incident page, the API and the
 * write-up): `durationsOf` in src/incidents/timestamps/rules.ts, read through its batched `timesFor`.
 */
export function durationsFrom(d: Durations): SourceDuration[] {
  const seconds: Record<DurationKey, number | null> = {
    time_to_acknowledge: d.time_to_acknowledge_seconds,
    time_to_fix: d.time_to_fix_seconds,
    time_to_resolve: d.time_to_resolve_seconds,
    impact: d.impact_duration_seconds,
  };
  return DURATION_KEYS.map((key) => ({ key, label: DURATION_LABELS[key], ms: seconds[key] === null ? null : seconds[key]! * 1000 }));
}

/** Who did something, as a person reads it: the user's name, or what the integration, key or workflow is. */
export function actorName(kind: string, userName: string | null, ref: string | null): string {
  if (userName) return userName;
  if (ref?.startsWith('api_key:')) return `API key "${ref.slice('api_key:'.length)}"`;
  if (ref === 'slack') return 'Slack';
  if (ref === 'pagerduty' || ref?.startsWith('pagerduty')) return 'PagerDuty';
  if (kind === 'workflow') return ref ? `Workflow ${ref}` : 'A workflow';
  if (kind === 'system') return 'Firebreak';
  return ref ?? (kind === 'user' ? 'Someone' : kind);
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Reads the write-up's sources for an incident given by id or reference (INC-42); 404 when there is none. */
export async function readWriteUpSources(db: Executor, idOrRef: string): Promise<WriteUpSources> {
  const ref = /^inc-(\d{1,12})$/i.exec(idOrRef.trim());
  const inc = await db
    .selectFrom('incidents as i')
    .innerJoin('severities as s', 's.id', 'i.severity_id')
    .innerJoin('incident_statuses as st', 'st.id', 'i.status_id')
    .leftJoin('users as l', 'l.id', 'i.lead_user_id')
    .select(['i.id', 'i.reference', 'i.name', 'i.summary', 'i.mode', 'i.created_at', 's.name as severity', 'st.name as status', 'st.category', 'l.name as lead'])
    .$if(!!ref, (q) => q.where('i.number', '=', Number(ref![1])))
    .$if(!ref, (q) => q.where('i.id', '=', idOrRef))
    .executeTakeFirst();
  if (!inc) throw new NotFoundError('Incident', idOrRef);
  const incidentId = inc.id;

  const [roleRows, assignmentRows, updateRows, followUpRows, timestampRows, itemRows] = await Promise.all([
    db.selectFrom('incident_roles').select(['id', 'name', 'description', 'rank', 'deleted_at']).orderBy('rank').orderBy('name').execute(),
    db
      .selectFrom('incident_role_assignments as a')
      .innerJoin('users as u', 'u.id', 'a.user_id')
      .select(['a.role_id', 'u.name as person'])
      .where('a.incident_id', '=', incidentId)
      .execute(),
    db
      .selectFrom('incident_updates as up')
      .leftJoin('incident_statuses as st', 'st.id', 'up.status_id')
      .leftJoin('severities as s', 's.id', 'up.severity_id')
      .leftJoin('users as u', 'u.id', 'up.actor_user_id')
      .select(['up.id', 'up.message', 'up.summary', 'up.actor_kind', 'up.actor_ref', 'up.created_at', 'up.status_id', 'up.severity_id', 'st.name as status', 's.name as severity', 'u.name as user_name'])
      .where('up.incident_id', '=', incidentId)
      .orderBy('up.created_at')
      .orderBy('up.id')
      .execute(),
    db
      .selectFrom('follow_ups as f')
      .leftJoin('users as u', 'u.id', 'f.owner_user_id')
      .select(['f.title', 'f.priority', 'f.status', 'f.link', 'u.name as owner'])
      .where('f.incident_id', '=', incidentId)
      .orderBy('f.created_at')
      .orderBy('f.id')
      .execute(),
    db.selectFrom('incident_timestamps').select(['kind', 'at', 'source', 'reason']).where('incident_id', '=', incidentId).execute(),
    db
      .selectFrom('timeline_items as t')
      .leftJoin('users as u', 'u.id', 't.actor_user_id')
      .select(['t.kind', 't.occurred_at', 't.payload', 't.actor_kind', 't.actor_ref', 'u.name as user_name'])
      .where('t.incident_id', '=', incidentId)
      .where((eb) => eb.or([eb('t.kind', 'in', ['slack.message_pinned', 'update_posted', 'status_changed']), eb('t.kind', 'like', 'pagerduty.%')]))
      .orderBy('t.occurred_at')
      .orderBy('t.id')
      .execute(),
  ]);

  const personByRole = new Map(assignmentRows.map((a) => [a.role_id, a.person]));
  // Live roles in their order, and a deleted role only while someone still holds it on this incident.
  const roles: SourceRole[] = roleRows
    .filter((r) => !r.deleted_at || personByRole.has(r.id))
    .map((r) => ({ name: r.name, description: r.description, person: personByRole.get(r.id) ?? null }));

  const tsByKind = new Map(timestampRows.map((t) => [t.kind, t]));
  const timestamps: SourceTimestamp[] = INCIDENT_TIMESTAMP_KINDS.map((kind) => {
    const t = tsByKind.get(kind);
    return { kind, label: TIMESTAMP_LABELS[kind], at: t?.at ?? null, source: t?.source ?? null, reason: t?.reason ?? null };
  });

  const updates: SourceUpdate[] = updateRows.map((u) => ({
    at: u.created_at,
    by: actorName(u.actor_kind, u.user_name, u.actor_ref),
    status: u.status ?? u.status_id,
    severity: u.severity ?? u.severity_id,
    message: u.message,
    summary: u.summary,
  }));

  const pinned: SourcePinned[] = [];
  const statusChanges: SourceItem[] = [];
  const pagerduty: SourceItem[] = [];
  const keyItems: SourceItem[] = [];
  for (const row of itemRows) {
    let payload: Record<string, unknown> = {};
    try {
      payload = JSON.parse(row.payload) as Record<string, unknown>;
    } catch {
      // a payload that does not parse still gives the item's kind in words
    }
    const by = actorName(row.actor_kind, row.user_name, row.actor_ref);
    if (row.kind === 'slack.message_pinned') {
      const author = (payload.author as { name?: unknown } | null | undefined)?.name;
      const p: SourcePinned = { at: row.occurred_at, author: str(author) || 'Someone', pinnedBy: by, text: str(payload.text), permalink: str(payload.permalink) || null };
      pinned.push(p);
      keyItems.push({ at: row.occurred_at, kind: 'pinned', text: `Pinned message from ${p.author}: ${p.text}`, by });
    } else if (row.kind === 'status_changed') {
      const item = { at: row.occurred_at, kind: 'status_change', text: timelineText(row.kind, payload), by };
      statusChanges.push(item);
      keyItems.push(item);
    } else if (row.kind === 'update_posted') {
      const message = str(payload.message);
      keyItems.push({ at: row.occurred_at, kind: 'update', text: message ? `Update: ${message}` : timelineText(row.kind, payload), by });
    } else {
      pagerduty.push({ at: row.occurred_at, kind: 'pagerduty', text: timelineText(row.kind, payload), by });
    }
  }
  // Updates whose timeline item is not there (or does not name its update) still count as key items.
  if (!itemRows.some((r) => r.kind === 'update_posted')) {
    for (const u of updates) keyItems.push({ at: u.at, kind: 'update', text: `Update: ${u.message}`, by: u.by });
    keyItems.sort((a, b) => a.at.localeCompare(b.at));
  }

  return {
    incident: {
      id: inc.id,
      reference: inc.reference,
      name: inc.name,
      summary: inc.summary,
      severity: inc.severity,
      status: inc.status,
      statusCategory: inc.category,
      mode: inc.mode,
      lead: inc.lead ?? null,
      declaredAt: inc.created_at,
    },
    roles,
    timestamps,
    durations: durationsFrom((await timesFor(db, [incidentId])).get(incidentId)!.durations),
    keyItems,
    pinned,
    updates,
    statusChanges,
    pagerduty,
    followUps: followUpRows.map((f) => ({ title: f.title, owner: f.owner ?? null, priority: f.priority, status: f.status, link: f.link })),
  };
}

/** How many follow-ups an incident has (the checklist's "Follow-ups created"). */
export async function countFollowUps(db: Executor, incidentId: string): Promise<number> {
  const row = await db.selectFrom('follow_ups').select((eb) => eb.fn.countAll<number | string>().as('n')).where('incident_id', '=', incidentId).executeTakeFirst();
  return Number(row?.n ?? 0);
}
