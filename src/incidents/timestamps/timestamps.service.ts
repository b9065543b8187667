import { sql } from 'kysely';
import type { Db, DbDialect, Executor, Tx } from '../../platform/db/index.js';
import type { IncidentTimestampsTable } from '../../platform/db/schema.js';
import { inTransaction } from '../../platform/db/index.js';
import { forUpdate } from '../../platform/db/locks.js';
import { AppError, NotFoundError, ValidationError } from '../../platform/errors.js';
import type { Actor, EventBus } from '../../platform/events.js';
import { nowIso } from '../../platform/ids.js';
import type { StatusRef } from '../rules.js';
import { addTimelineItem } from '../timeline.js';
import {
  CLOCK_SKEW_MS,
  durationsOf,
  impliedKinds,
  INCIDENT_TIMESTAMP_KINDS,
  orderProblem,
  PAGERDUTY_KINDS,
  reopened,
  TIMESTAMP_LABELS,
  type Durations,
  type IncidentTimestampKind,
  type TimesByKind,
  type TimestampSource,
} from './rules.js';

// The incident's timestamps (table `incident_timestamps`): set automatically in the transaction of the status
// change that implies them, from PagerDuty through a port (earliest wins), and by people with a reason. A person's
// value is never overwritten by either. Durations are derived when read.

export interface IncidentTimestampView {
  kind: IncidentTimestampKind;
  label: string;
  /** Null when not set (every kind is listed, in a fixed order). */
  at: string | null;
  source: TimestampSource | null;
  reason: string | null;
  setBy: { id: string; name: string } | null;
}

export interface IncidentTimes {
  timestamps: IncidentTimestampView[];
  durations: Durations;
}

/** What the PagerDuty wing is given (the core never imports PagerDuty): record a PagerDuty time, earliest wins. */
export interface PagerDutyTimestampsPort {
  recordEarliest(tx: Executor, incidentId: string, kind: 'pagerduty_first_triggered' | 'pagerduty_first_acknowledged', at: string, source: 'pagerduty'): Promise<boolean>;
  /** Forgets every time from this source (a PagerDuty incident was detached: the wing records the rest again). */
  forgetSource(tx: Executor, incidentId: string, source: 'pagerduty'): Promise<void>;
}

const iso = (at: string) => new Date(at).toISOString();

export class IncidentTimestamps implements PagerDutyTimestampsPort {
  constructor(
    private readonly db: Db,
    private readonly events: EventBus,
    private readonly dialect: DbDialect,
  ) {}

  /**
   * Called once by each status change of the incidents service (declaration: `from` null), in its transaction:
   * inserts the kinds the move implies unless set (so a person's value stays), and clears an automatic
   * `resolved` when a closed incident is reopened. The status change's own event announces it.
   */
  async statusEntered(tx: Executor, change: { incidentId: string; from: StatusRef | null; to: StatusRef; statuses: StatusRef[]; at: string }): Promise<void> {
    if (reopened(change.from, change.to)) {
      await tx.deleteFrom('incident_timestamps').where('incident_id', '=', change.incidentId).where('kind', '=', 'resolved').where('source', '=', 'auto').execute();
    }
    const kinds = impliedKinds(change.from, change.to, change.statuses);
    if (kinds.length === 0) return;
    let reportedAt = change.at;
    if (change.from !== null && kinds.includes('impact_started')) {
      const r = await tx.selectFrom('incident_timestamps').select('at').where('incident_id', '=', change.incidentId).where('kind', '=', 'reported').executeTakeFirst();
      reportedAt = r?.at ?? change.at;
    }
    await tx
      .insertInto('incident_timestamps')
      .values(kinds.map((kind) => ({ incident_id: change.incidentId, kind, at: kind === 'impact_started' ? reportedAt : change.at, source: 'auto' as const, reason: null, set_by_user_id: null, updated_at: change.at })))
      .onConflict((oc) => oc.columns(['incident_id', 'kind']).doNothing())
      .execute();
  }

  /**
   * The PagerDuty port: keeps the earliest time PagerDuty reports for a kind, unless a person set it. One statement
   * (an upsert that only lowers), so two PagerDuty incidents reported at once cannot lose the earlier time.
   * Publishes `incident.timestamp_changed` when it changed something; returns whether it did.
   */
  async recordEarliest(tx: Executor, incidentId: string, kind: 'pagerduty_first_triggered' | 'pagerduty_first_acknowledged', at: string, source: 'pagerduty'): Promise<boolean> {
    if (!PAGERDUTY_KINDS.includes(kind) || Number.isNaN(Date.parse(at))) return false;
    const when = iso(at);
    const now = nowIso();
    const changed = await tx
      .insertInto('incident_timestamps')
      .values({ incident_id: incidentId, kind, at: when, source, reason: null, set_by_user_id: null, updated_at: now })
      .onConflict((oc) =>
        oc
          .columns(['incident_id', 'kind'])
          .doUpdateSet({ at: when, source, updated_at: now })
          .where('incident_timestamps.source', '<>', 'user')
          .where('incident_timestamps.at', '>', when),
      )
      .returning('kind')
      .executeTakeFirst();
    if (!changed) return false;
    await this.events.publish(tx, { type: 'incident.timestamp_changed', incidentId, actor: { kind: 'integration', ref: 'pagerduty' }, data: { kind, source } });
    return true;
  }

  async forgetSource(tx: Executor, incidentId: string, source: 'pagerduty'): Promise<void> {
    const gone = await tx.deleteFrom('incident_timestamps').where('incident_id', '=', incidentId).where('source', '=', source).returning('kind').execute();
    for (const g of gone) await this.events.publish(tx, { type: 'incident.timestamp_changed', incidentId, actor: { kind: 'integration', ref: source }, data: { kind: g.kind, source } });
  }

  /**
   * A person sets (or with `at` null clears) one timestamp, with a reason. Refused, with nothing written, for
   * PagerDuty's kinds, for a time in the future and for a time out of order (the message names both kinds).
   * Writes a `timestamp_changed` item and publishes `incident.timestamp_changed`.
   */
  async set(incidentRef: string, kind: IncidentTimestampKind, at: string | null, reason: string, actor: Actor): Promise<{ incidentId: string; changed: boolean }> {
    if (PAGERDUTY_KINDS.includes(kind)) {
      throw new ValidationError(`${TIMESTAMP_LABELS[kind]} comes from PagerDuty and cannot be edited.`, [{ path: 'kind', message: 'set from PagerDuty only' }]);
    }
    const when = at === null ? null : iso(at);
    if (when !== null && Date.parse(when) > Date.now() + CLOCK_SKEW_MS) {
      throw new ValidationError(`${TIMESTAMP_LABELS[kind]} cannot be in the future.`, [{ path: 'at', message: 'must not be in the future' }]);
    }
    return inTransaction(this.db, async (tx) => {
      const incidentId = await this.lockIncident(tx, incidentRef);
      const rows = await tx.selectFrom('incident_timestamps').selectAll().where('incident_id', '=', incidentId).execute();
      const times: TimesByKind = Object.fromEntries(rows.map((r) => [r.kind, r.at]));
      const prev = rows.find((r) => r.kind === kind) ?? null;
      if (when === null) delete times[kind];
      else times[kind] = when;
      const problem = orderProblem(kind, times);
      if (problem) throw new AppError(400, 'timestamps_out_of_order', `${problem.message}.`, { kind, conflicts_with: problem.other, fields: [{ path: 'at', message: problem.message }] });
      if (when === null ? prev === null : prev?.source === 'user' && prev.at === when && prev.reason === reason) return { incidentId, changed: false };
      const now = nowIso();
      if (when === null) {
        await tx.deleteFrom('incident_timestamps').where('incident_id', '=', incidentId).where('kind', '=', kind).execute();
      } else {
        const row = { at: when, source: 'user' as const, reason, set_by_user_id: actor.kind === 'user' ? (actor.userId ?? null) : null, updated_at: now };
        await tx
          .insertInto('incident_timestamps')
          .values({ incident_id: incidentId, kind, ...row })
          .onConflict((oc) => oc.columns(['incident_id', 'kind']).doUpdateSet(row))
          .execute();
      }
      await tx.updateTable('incidents').set({ updated_at: now }).where('id', '=', incidentId).execute();
      await addTimelineItem(tx, this.events, { incidentId, kind: 'timestamp_changed', actor, payload: { kind, label: TIMESTAMP_LABELS[kind], from: prev?.at ?? null, to: when, reason } });
      await this.events.publish(tx, { type: 'incident.timestamp_changed', incidentId, actor, data: { kind, source: 'user' } });
      return { incidentId, changed: true };
    });
  }

  /** The timestamps and durations of one incident (by id or reference). */
  async get(incidentRef: string, db: Executor = this.db): Promise<IncidentTimes> {
    const id = await findIncident(db, incidentRef);
    return (await timesFor(db, [id])).get(id)!;
  }

  private async lockIncident(tx: Tx, incidentRef: string): Promise<string> {
    const ref = /^inc-(\d{1,12})$/i.exec(incidentRef.trim());
    const q = ref ? tx.selectFrom('incidents').select('id').where('number', '=', Number(ref[1])) : tx.selectFrom('incidents').select('id').where('id', '=', incidentRef);
    const row = await forUpdate(q, this.dialect).executeTakeFirst();
    if (!row) throw new NotFoundError('Incident', incidentRef);
    return row.id;
  }
}

async function findIncident(db: Executor, incidentRef: string): Promise<string> {
  const ref = /^inc-(\d{1,12})$/i.exec(incidentRef.trim());
  const row = ref ? await db.selectFrom('incidents').select('id').where('number', '=', Number(ref[1])).executeTakeFirst() : await db.selectFrom('incidents').select('id').where('id', '=', incidentRef).executeTakeFirst();
  if (!row) throw new NotFoundError('Incident', incidentRef);
  return row.id;
}

/**
 * Timestamps (every kind, in order) and durations for a page of incidents, in two queries. The acceptance time
 * (the fallback end of time to acknowledge) is when an incident that was in triage first became live.
 */
export async function timesFor(db: Executor, incidentIds: string[]): Promise<Map<string, IncidentTimes>> {
  if (incidentIds.length === 0) return new Map();
  const [rows, statusRows] = await Promise.all([
    timestampRows(db).where('t.incident_id', 'in', incidentIds).execute(),
    acceptanceRows(db).where('st.incident_id', 'in', incidentIds).execute(),
  ]);
  return timesFromRows(incidentIds, rows, statusRows);
}

/** The rows timesFromRows needs, as queries to narrow (a page of incidents, or one incident inside another query). */
export function timestampRows(db: Executor) {
  return db
    .selectFrom('incident_timestamps as t')
    .leftJoin('users as u', 'u.id', 't.set_by_user_id')
    .select(['t.incident_id', 't.kind', 't.at', 't.source', 't.reason', 'u.id as user_id', 'u.name as user_name']);
}

export function acceptanceRows(db: Executor) {
  return db
    .selectFrom('incident_status_timestamps as st')
    .innerJoin('incident_statuses as s', 's.id', 'st.status_id')
    .select(['st.incident_id', 's.category', sql<string>`min(st.first_at)`.as('first_at')])
    .where('s.category', 'in', ['triage', 'live'])
    .groupBy(['st.incident_id', 's.category']);
}

type TimestampRow = Pick<IncidentTimestampsTable, 'incident_id' | 'kind' | 'at' | 'source' | 'reason'> & { user_id: string | null; user_name: string | null };

export function timesFromRows(incidentIds: string[], rows: TimestampRow[], statusRows: { incident_id: string; category: string; first_at: string }[]): Map<string, IncidentTimes> {
  const out = new Map<string, IncidentTimes>();
  for (const id of incidentIds) {
    const mine = rows.filter((r) => r.incident_id === id);
    const timestamps: IncidentTimestampView[] = INCIDENT_TIMESTAMP_KINDS.map((kind) => {
      const r = mine.find((x) => x.kind === kind);
      return { kind, label: TIMESTAMP_LABELS[kind], at: r?.at ?? null, source: r?.source ?? null, reason: r?.reason ?? null, setBy: r?.user_id ? { id: r.user_id, name: r.user_name ?? '' } : null };
    });
    const times: TimesByKind = Object.fromEntries(mine.map((r) => [r.kind, r.at]));
    const cats = statusRows.filter((r) => r.incident_id === id);
    const acceptedAt = cats.some((c) => c.category === 'triage') ? (cats.find((c) => c.category === 'live')?.first_at ?? null) : null;
    out.set(id, { timestamps, durations: durationsOf(times, acceptedAt) });
  }
  return out;
}
