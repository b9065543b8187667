import { sql } from 'kysely';
import type { Db, Executor, Tx } from '../platform/db/index.js';
import type { IncidentsTable } from '../platform/db/schema.js';
import { inTransaction } from '../platform/db/index.js';
import { ConflictError, NotFoundError, ValidationError } from '../platform/errors.js';
import type { Actor, EventBus } from '../platform/events.js';
import { newId, nowIso } from '../platform/ids.js';
import { availableActions, canChangeSeverity, describeAllowed, liveStatuses, type AvailableAction, type StatusCategory, type StatusRef } from './rules.js';
import { addTimelineItem, listTimeline, type TimelineItem } from './timeline.js';

type IncidentRow = IncidentsTable;

export type IncidentMode = 'standard' | 'test' | 'retrospective';

export interface Severity {
  id: string;
  name: string;
  description: string;
  rank: number;
}

export interface Status extends StatusRef {
  description: string;
}

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
  createdAt: string;
  updatedAt: string;
  statusTimestamps: { status: { id: string; name: string; category: StatusCategory }; firstAt: string; lastAt: string }[];
  availableActions: AvailableAction[];
}

export interface CreateIncidentInput {
  name: string;
  summary?: string;
  severityId?: string;
  mode?: IncidentMode;
  triage?: boolean;
  idempotencyKey?: string;
  source?: string;
}

export interface ListIncidentsQuery {
  statusCategories?: StatusCategory[];
  severityId?: string;
  mode?: IncidentMode;
  limit: number;
  cursor?: string;
}

/**
 * Incidents use cases. Every change writes its timeline item and publishes its domain event in the same
 * transaction as the change itself.
 */
export class IncidentsService {
  constructor(
    private readonly db: Db,
    private readonly events: EventBus,
    private readonly dialect: 'sqlite' | 'postgres',
  ) {}

  // ---- severities and statuses -------------------------------------------------------------------------

  async listSeverities(db: Executor = this.db): Promise<Severity[]> {
    return db.selectFrom('severities').select(['id', 'name', 'description', 'rank']).orderBy('rank', 'desc').execute();
  }

  async createSeverity(input: { name: string; description?: string }): Promise<Severity> {
    this.severityCache = null;
    return inTransaction(this.db, async (tx) => {
      await this.assertSeverityNameFree(tx, input.name);
      const max = await tx.selectFrom('severities').select((eb) => eb.fn.max('rank').as('m')).executeTakeFirst();
      const sev = { id: newId(), name: input.name, description: input.description ?? '', rank: Number(max?.m ?? 0) + 1 };
      await tx.insertInto('severities').values({ ...sev, created_at: nowIso() }).execute();
      return sev;
    });
  }

  async updateSeverity(id: string, input: { name?: string; description?: string; rank?: number }): Promise<Severity> {
    this.severityCache = null;
    return inTransaction(this.db, async (tx) => {
      const current = await tx.selectFrom('severities').selectAll().where('id', '=', id).executeTakeFirst();
      if (!current) throw new NotFoundError('Severity', id);
      if (input.name && input.name !== current.name) await this.assertSeverityNameFree(tx, input.name);
      if (input.rank !== undefined && input.rank !== current.rank) {
        // Move within the ordered list: shift the others so ranks stay 1..n without gaps.
        const all = await tx.selectFrom('severities').select(['id', 'rank']).orderBy('rank').execute();
        const order = all.filter((s) => s.id !== id);
        const pos = Math.max(0, Math.min(order.length, input.rank - 1));
        order.splice(pos, 0, { id, rank: input.rank });
        for (const [i, s] of order.entries()) {
          await tx.updateTable('severities').set({ rank: i + 1 }).where('id', '=', s.id).execute();
        }
      }
      const patch = { ...(input.name ? { name: input.name } : {}), ...(input.description !== undefined ? { description: input.description } : {}) };
      if (Object.keys(patch).length > 0) await tx.updateTable('severities').set(patch).where('id', '=', id).execute();
      return tx.selectFrom('severities').select(['id', 'name', 'description', 'rank']).where('id', '=', id).executeTakeFirstOrThrow();
    });
  }

  async deleteSeverity(id: string): Promise<void> {
    this.severityCache = null;
    await inTransaction(this.db, async (tx) => {
      const sev = await tx.selectFrom('severities').select('name').where('id', '=', id).executeTakeFirst();
      if (!sev) throw new NotFoundError('Severity', id);
      const used = await tx.selectFrom('incidents').select('reference').where('severity_id', '=', id).limit(1).executeTakeFirst();
      if (used) throw new ConflictError('severity_in_use', `Severity ${sev.name} is used by ${used.reference} and other incidents may use it too; change their severity first.`);
      const count = await tx.selectFrom('severities').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      if (Number(count.n) <= 1) throw new ConflictError('last_severity', 'At least one severity must remain.');
      await tx.deleteFrom('severities').where('id', '=', id).execute();
      const rest = await tx.selectFrom('severities').select('id').orderBy('rank').execute();
      for (const [i, s] of rest.entries()) await tx.updateTable('severities').set({ rank: i + 1 }).where('id', '=', s.id).execute();
    });
  }

  private async assertSeverityNameFree(tx: Executor, name: string): Promise<void> {
    const clash = await tx.selectFrom('severities').select('id').where('name', '=', name).executeTakeFirst();
    if (clash) throw new ConflictError('duplicate_name', `A severity named ${JSON.stringify(name)} already exists.`);
  }

  /** Statuses are defined by migrations and never change while running, so they are read once. */
  async listStatuses(db: Executor = this.db): Promise<Status[]> {
    this.statusCache ??= db.selectFrom('incident_statuses').select(['id', 'name', 'description', 'category', 'rank']).orderBy('rank').execute();
    return this.statusCache;
  }
  private statusCache: Promise<Status[]> | null = null;

  /**
   * Severities for hot paths: cached for a few seconds (other processes may change them), dropped on local
   * changes, and re-read when an id is not found so a severity added elsewhere is usable at once.
   */
  private async cachedSeverities(db: Executor, mustContain?: string): Promise<Severity[]> {
    const cache = this.severityCache;
    if (cache && Date.now() - cache.at < 5000 && (!mustContain || cache.list.some((s) => s.id === mustContain))) return cache.list;
    const list = await this.listSeverities(db);
    this.severityCache = { at: Date.now(), list };
    return list;
  }
  private severityCache: { at: number; list: Severity[] } | null = null;

  // ---- incidents -----------------------------------------------------------------------------------------

  /** Creates an incident, or returns the one created earlier with the same idempotency key. */
  async createIncident(input: CreateIncidentInput, actor: Actor): Promise<{ incident: Incident; created: boolean }> {
    if (input.idempotencyKey) {
      const existing = await this.db.selectFrom('incidents').select('id').where('idempotency_key', '=', input.idempotencyKey).executeTakeFirst();
      if (existing) return { incident: await this.getIncident(existing.id), created: false };
    }
    try {
      const id = await inTransaction(this.db, async (tx) => {
        const statuses = await this.listStatuses(tx);
        const severities = await this.cachedSeverities(tx, input.severityId);
        const severity = input.severityId ? severities.find((s) => s.id === input.severityId) : severities[severities.length - 1];
        if (!severity) {
          throw new ValidationError(`Unknown severity ${JSON.stringify(input.severityId)}.`, [
            { path: 'severity_id', message: `must be one of: ${severities.map((s) => `${s.id} (${s.name})`).join(', ')}` },
          ]);
        }
        const status = input.triage ? statuses.find((s) => s.category === 'triage') : liveStatuses(statuses)[0];
        if (!status) throw new ConflictError('no_status', 'No status is configured for new incidents.');
        const number = await this.nextIncidentNumber(tx);
        const now = nowIso();
        const id = newId();
        await tx
          .insertInto('incidents')
          .values({
            id,
            number,
            reference: `INC-${number}`,
            name: input.name,
            summary: input.summary ?? '',
            severity_id: severity.id,
            status_id: status.id,
            mode: input.mode ?? 'standard',
            source: input.source ?? (actor.kind === 'user' ? 'declared' : actor.kind),
            creator_kind: actor.kind,
            creator_user_id: actor.userId ?? null,
            creator_ref: actor.ref ?? null,
            lead_user_id: actor.kind === 'user' ? (actor.userId ?? null) : null,
            merged_into_id: null,
            slack_channel_id: null,
            idempotency_key: input.idempotencyKey ?? null,
            created_at: now,
            updated_at: now,
          })
          .execute();
        await this.touchStatusTimestamp(tx, id, status.id, now);
        await addTimelineItem(tx, this.events, {
          incidentId: id,
          kind: 'incident_declared',
          actor,
          occurredAt: now,
          payload: { name: input.name, summary: input.summary ?? '', severity: severity.name, status: status.name, mode: input.mode ?? 'standard', reference: `INC-${number}` },
        });
        await this.events.publish(tx, { type: 'incident.created', incidentId: id, actor, data: { reference: `INC-${number}`, status: status.category } });
        return id;
      });
      return { incident: await this.getIncident(id), created: true };
    } catch (err) {
      // Two requests with one idempotency key raced: the loser returns the winner's incident.
      if (input.idempotencyKey && isUniqueViolation(err)) {
        const existing = await this.db.selectFrom('incidents').select('id').where('idempotency_key', '=', input.idempotencyKey).executeTakeFirst();
        if (existing) return { incident: await this.getIncident(existing.id), created: false };
      }
      throw err;
    }
  }

  /** By id or reference (INC-42, case-insensitive). */
  async findIncidentId(idOrRef: string, db: Executor = this.db): Promise<string> {
    const ref = /^inc-(\d{1,12})$/i.exec(idOrRef.trim());
    const row = ref
      ? await db.selectFrom('incidents').select('id').where('number', '=', Number(ref[1])).executeTakeFirst()
      : await db.selectFrom('incidents').select('id').where('id', '=', idOrRef).executeTakeFirst();
    if (!row) throw new NotFoundError('Incident', idOrRef);
    return row.id;
  }

  async getIncident(idOrRef: string, db: Executor = this.db): Promise<Incident> {
    const ref = /^inc-(\d{1,12})$/i.exec(idOrRef.trim());
    const rows = ref
      ? await db.selectFrom('incidents').selectAll().where('number', '=', Number(ref[1])).execute()
      : await db.selectFrom('incidents').selectAll().where('id', '=', idOrRef).execute();
    const [incident] = await this.hydrate(db, rows);
    if (!incident) throw new NotFoundError('Incident', idOrRef);
    return incident;
  }

  async listIncidents(q: ListIncidentsQuery): Promise<{ incidents: Incident[]; nextCursor: string | null }> {
    let query = this.db.selectFrom('incidents as i').innerJoin('incident_statuses as s', 's.id', 'i.status_id').selectAll('i');
    if (q.statusCategories?.length) query = query.where('s.category', 'in', q.statusCategories);
    if (q.severityId) query = query.where('i.severity_id', '=', q.severityId);
    if (q.mode) query = query.where('i.mode', '=', q.mode);
    if (q.cursor) query = query.where('i.id', '<', q.cursor);
    const rows = await query.orderBy('i.id', 'desc').limit(q.limit + 1).execute();
    const page = rows.slice(0, q.limit);
    return { incidents: await this.hydrate(this.db, page), nextCursor: rows.length > q.limit ? (page[page.length - 1]?.id ?? null) : null };
  }

  async updateIncident(idOrRef: string, input: { name?: string; summary?: string }, actor: Actor): Promise<Incident> {
    const id = await inTransaction(this.db, async (tx) => {
      const inc = await this.loadForUpdate(tx, idOrRef);
      const now = nowIso();
      const changes: Record<string, unknown> = {};
      if (input.name !== undefined && input.name !== inc.name) {
        changes.name = input.name;
        await addTimelineItem(tx, this.events, { incidentId: inc.id, kind: 'name_changed', actor, payload: { from: inc.name, to: input.name } });
      }
      if (input.summary !== undefined && input.summary !== inc.summary) {
        changes.summary = input.summary;
        await addTimelineItem(tx, this.events, { incidentId: inc.id, kind: 'summary_updated', actor, payload: { from: inc.summary, to: input.summary } });
      }
      if (Object.keys(changes).length > 0) {
        await tx.updateTable('incidents').set({ ...changes, updated_at: now }).where('id', '=', inc.id).execute();
        await this.events.publish(tx, { type: 'incident.updated', incidentId: inc.id, actor, data: { changed: Object.keys(changes) } });
      }
      return inc.id;
    });
    return this.getIncident(id);
  }

  async accept(idOrRef: string, input: { statusId?: string }, actor: Actor): Promise<Incident> {
    return this.transition(idOrRef, 'accept', actor, (statuses) => {
      if (input.statusId) return this.requireStatus(statuses, input.statusId, 'live');
      const first = liveStatuses(statuses)[0];
      if (!first) throw new ConflictError('no_status', 'No live status is configured.');
      return first;
    });
  }

  async decline(idOrRef: string, input: { reason?: string }, actor: Actor): Promise<Incident> {
    return this.transition(idOrRef, 'decline', actor, (s) => this.firstOfCategory(s, 'declined'), input.reason);
  }

  async cancel(idOrRef: string, input: { reason?: string }, actor: Actor): Promise<Incident> {
    return this.transition(idOrRef, 'cancel', actor, (s) => this.firstOfCategory(s, 'canceled'), input.reason);
  }

  async close(idOrRef: string, actor: Actor): Promise<Incident> {
    return this.transition(idOrRef, 'close', actor, (s) => this.firstOfCategory(s, 'closed'));
  }

  async changeStatus(idOrRef: string, statusId: string, actor: Actor): Promise<Incident> {
    return this.transition(idOrRef, 'status', actor, (statuses, current) => {
      const target = this.requireStatus(statuses, statusId);
      // Named actions have their own verbs; route them so the same rules apply.
      if (current.category === 'triage' && target.category === 'live') return { ...target, via: 'accept' as const };
      if (target.category === 'closed') return { ...target, via: 'close' as const };
      if (target.category === 'declined') return { ...target, via: 'decline' as const };
      if (target.category === 'canceled') return { ...target, via: 'cancel' as const };
      if (target.category !== 'live') throw new ConflictError('illegal_transition', `Use the merge action to merge ${target.name.toLowerCase()} incidents. ${describeAllowed(current, statuses)}`);
      return target;
    });
  }

  async merge(idOrRef: string, intoIdOrRef: string, actor: Actor): Promise<Incident> {
    let intoId = '';
    const incident = await this.transition(idOrRef, 'merge', actor, (s) => this.firstOfCategory(s, 'merged'), undefined, async (tx, inc, statuses) => {
      intoId = await this.findIncidentId(intoIdOrRef, tx);
      if (intoId === inc.id) throw new ConflictError('illegal_merge', 'An incident cannot be merged into itself.');
      const target = await tx.selectFrom('incidents').select(['id', 'reference', 'status_id']).where('id', '=', intoId).executeTakeFirstOrThrow();
      const targetStatus = statuses.find((s) => s.id === target.status_id);
      if (!targetStatus || !['triage', 'live', 'closed'].includes(targetStatus.category)) {
        throw new ConflictError('illegal_merge', `${target.reference} is ${targetStatus?.name ?? 'gone'}; merge into an open or closed incident instead.`);
      }
      await tx.updateTable('incidents').set({ merged_into_id: intoId }).where('id', '=', inc.id).execute();
      await addTimelineItem(tx, this.events, { incidentId: intoId, kind: 'incident_merged_in', actor, payload: { reference: inc.reference, incidentId: inc.id, name: inc.name } });
      return { mergedInto: target.reference };
    });
    return incident;
  }

  async changeSeverity(idOrRef: string, severityId: string, actor: Actor): Promise<Incident> {
    const id = await inTransaction(this.db, async (tx) => {
      const inc = await this.loadForUpdate(tx, idOrRef);
      const statuses = await this.listStatuses(tx);
      const current = statuses.find((s) => s.id === inc.status_id)!;
      if (!canChangeSeverity(current.category)) throw new ConflictError('illegal_transition', `${inc.reference} is ${current.name}; its severity can no longer change.`);
      const severities = await this.listSeverities(tx);
      const to = severities.find((s) => s.id === severityId);
      if (!to) throw new ValidationError(`Unknown severity ${JSON.stringify(severityId)}.`, [{ path: 'severity_id', message: `must be one of: ${severities.map((s) => s.id).join(', ')}` }]);
      if (to.id === inc.severity_id) return inc.id;
      const from = severities.find((s) => s.id === inc.severity_id);
      await tx.updateTable('incidents').set({ severity_id: to.id, updated_at: nowIso() }).where('id', '=', inc.id).execute();
      await addTimelineItem(tx, this.events, { incidentId: inc.id, kind: 'severity_changed', actor, payload: { from: from?.name ?? '?', to: to.name, fromId: from?.id ?? null, toId: to.id } });
      await this.events.publish(tx, { type: 'incident.severity_changed', incidentId: inc.id, actor, data: { from: from?.id ?? null, to: to.id } });
      return inc.id;
    });
    return this.getIncident(id);
  }

  async setLead(idOrRef: string, userId: string | null, actor: Actor): Promise<Incident> {
    const id = await inTransaction(this.db, async (tx) => {
      const inc = await this.loadForUpdate(tx, idOrRef);
      let name: string | null = null;
      if (userId) {
        const u = await tx.selectFrom('users').select(['id', 'name']).where('id', '=', userId).executeTakeFirst();
        if (!u) throw new ValidationError(`Unknown user ${JSON.stringify(userId)}.`, [{ path: 'user_id', message: 'must be the id of a Firebreak user' }]);
        name = u.name;
      }
      if (inc.lead_user_id === userId) return inc.id;
      await tx.updateTable('incidents').set({ lead_user_id: userId, updated_at: nowIso() }).where('id', '=', inc.id).execute();
      await addTimelineItem(tx, this.events, { incidentId: inc.id, kind: 'lead_changed', actor, payload: { to: name, toUserId: userId } });
      await this.events.publish(tx, { type: 'incident.lead_changed', incidentId: inc.id, actor, data: { to: userId } });
      return inc.id;
    });
    return this.getIncident(id);
  }

  async addNote(idOrRef: string, text: string, actor: Actor, dedupeKey?: string): Promise<TimelineItem | null> {
    const res = await inTransaction(this.db, async (tx) => {
      const inc = await this.loadForUpdate(tx, idOrRef);
      const itemId = await addTimelineItem(tx, this.events, { incidentId: inc.id, kind: 'note_added', actor, payload: { text }, dedupeKey });
      return { incidentId: inc.id, itemId };
    });
    if (!res.itemId) return null;
    return (await listTimeline(this.db, res.incidentId)).find((i) => i.id === res.itemId) ?? null;
  }

  async timeline(idOrRef: string): Promise<TimelineItem[]> {
    return listTimeline(this.db, await this.findIncidentId(idOrRef));
  }

  /** Used by integrations to remember the Slack channel etc. without owning the incidents table. */
  async setSlackChannel(incidentId: string, channelId: string): Promise<void> {
    await this.db.updateTable('incidents').set({ slack_channel_id: channelId }).where('id', '=', incidentId).execute();
  }

  // ---- internals -----------------------------------------------------------------------------------------

  private async transition(
    idOrRef: string,
    action: Exclude<AvailableAction['action'], never>,
    actor: Actor,
    pickTarget: (statuses: Status[], current: Status) => Status & { via?: AvailableAction['action'] },
    reason?: string,
    extra?: (tx: Tx, inc: { id: string; reference: string; name: string }, statuses: Status[]) => Promise<Record<string, unknown>>,
  ): Promise<Incident> {
    const id = await inTransaction(this.db, async (tx) => {
      const inc = await this.loadForUpdate(tx, idOrRef);
      const statuses = await this.listStatuses(tx);
      const current = statuses.find((s) => s.id === inc.status_id)!;
      const target = pickTarget(statuses, current);
      const verb = target.via ?? action;
      const allowed = availableActions(current, statuses);
      const ok = allowed.some((a) => a.action === verb && (verb !== 'status' || a.status?.id === target.id));
      if (!ok) {
        const what = verb === 'status' ? `move to ${target.name}` : verb;
        throw new ConflictError('illegal_transition', `Cannot ${what} ${inc.reference}: it is ${current.name}. ${describeAllowed(current, statuses)}`, {
          from: current.id,
          allowed,
        });
      }
      const extraPayload = extra ? await extra(tx, inc, statuses) : {};
      const now = nowIso();
      await tx.updateTable('incidents').set({ status_id: target.id, updated_at: now }).where('id', '=', inc.id).execute();
      await this.touchStatusTimestamp(tx, inc.id, target.id, now);
      await addTimelineItem(tx, this.events, {
        incidentId: inc.id,
        kind: 'status_changed',
        actor,
        occurredAt: now,
        payload: { from: current.name, to: target.name, fromId: current.id, toId: target.id, fromCategory: current.category, toCategory: target.category, action: verb, ...(reason ? { reason } : {}), ...extraPayload },
      });
      await this.events.publish(tx, {
        type: 'incident.status_changed',
        incidentId: inc.id,
        actor,
        data: { action: verb, from: current.id, to: target.id, fromCategory: current.category, toCategory: target.category },
      });
      return inc.id;
    });
    return this.getIncident(id);
  }

  /** Numbers are never reused. On PostgreSQL a rolled-back declaration leaves a gap; on SQLite it does not. */
  private async nextIncidentNumber(tx: Tx): Promise<number> {
    if (this.dialect === 'postgres') {
      const r = await sql<{ n: string }>`select nextval('incident_number_seq') as n`.execute(tx);
      return Number(r.rows[0]!.n);
    }
    const seq = await tx
      .updateTable('sequences')
      .set((eb) => ({ value: eb('value', '+', 1) }))
      .where('name', '=', 'incident')
      .returning('value')
      .executeTakeFirstOrThrow();
    return Number(seq.value);
  }

  private requireStatus(statuses: Status[], id: string, category?: StatusCategory): Status {
    const s = statuses.find((x) => x.id === id);
    if (!s || (category && s.category !== category)) {
      const options = statuses.filter((x) => !category || x.category === category);
      throw new ValidationError(`Unknown ${category ?? ''} status ${JSON.stringify(id)}.`.replace('  ', ' '), [
        { path: 'status_id', message: `must be one of: ${options.map((x) => x.id).join(', ')}` },
      ]);
    }
    return s;
  }

  private firstOfCategory(statuses: Status[], category: StatusCategory): Status {
    const s = statuses.find((x) => x.category === category);
    if (!s) throw new ConflictError('no_status', `No ${category} status is configured.`);
    return s;
  }

  private async loadForUpdate(tx: Tx, idOrRef: string) {
    const ref = /^inc-(\d{1,12})$/i.exec(idOrRef.trim());
    let q = ref ? tx.selectFrom('incidents').selectAll().where('number', '=', Number(ref[1])) : tx.selectFrom('incidents').selectAll().where('id', '=', idOrRef);
    // PostgreSQL: lock the row so concurrent actions on one incident apply one after the other.
    // SQLite transactions are already serialised.
    if (this.dialect === 'postgres') q = q.forUpdate();
    const row = await q.executeTakeFirst();
    if (!row) throw new NotFoundError('Incident', idOrRef);
    return row;
  }

  private async touchStatusTimestamp(tx: Executor, incidentId: string, statusId: string, at: string): Promise<void> {
    await tx
      .insertInto('incident_status_timestamps')
      .values({ incident_id: incidentId, status_id: statusId, first_at: at, last_at: at })
      .onConflict((oc) => oc.columns(['incident_id', 'status_id']).doUpdateSet({ last_at: at }))
      .execute();
  }

  private async hydrate(db: Executor, rows: IncidentRow[]): Promise<Incident[]> {
    if (rows.length === 0) return [];
    const unknown = rows.find((r) => !this.severityCache?.list.some((s) => s.id === r.severity_id))?.severity_id;
    const [severities, statuses] = await Promise.all([this.cachedSeverities(db, unknown), this.listStatuses(db)]);
    const ids = rows.map((r) => r.id);
    const userIds = [...new Set(rows.flatMap((r) => [r.creator_user_id, r.lead_user_id]).filter((x): x is string => !!x))];
    const mergedIds = [...new Set(rows.map((r) => r.merged_into_id).filter((x): x is string => !!x))];
    const [users, merged, stamps] = await Promise.all([
      userIds.length ? db.selectFrom('users').select(['id', 'name']).where('id', 'in', userIds).execute() : [],
      mergedIds.length ? db.selectFrom('incidents').select(['id', 'reference']).where('id', 'in', mergedIds).execute() : [],
      db.selectFrom('incident_status_timestamps').selectAll().where('incident_id', 'in', ids).orderBy('first_at').execute(),
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
        createdAt: r.created_at,
        updatedAt: r.updated_at,
        statusTimestamps: stamps
          .filter((t) => t.incident_id === r.id)
          .map((t) => {
            const s = statuses.find((x) => x.id === t.status_id)!;
            return { status: { id: s.id, name: s.name, category: s.category }, firstAt: t.first_at, lastAt: t.last_at };
          }),
        availableActions: availableActions(st, statuses),
      };
    });
  }
}

export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint failed/.test(e?.message ?? '');
}
