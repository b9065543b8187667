import { sql } from 'kysely';
import { recordAudit } from '../../audit/audit.js';
import { inTransaction, type Db, type DbDialect, type Executor, type Tx } from '../../platform/db/index.js';
import { isUniqueViolation } from '../../platform/db/errors.js';
import { forUpdate } from '../../platform/db/locks.js';
import { ConflictError, NotFoundError, ValidationError } from '../../platform/errors.js';
import type { Actor, EventBus } from '../../platform/events.js';
import { newId, nowIso } from '../../platform/ids.js';
import type { LiveFeed } from '../../platform/live.js';
import type { IncidentRolesTable } from '../../platform/db/schema.js';
import type { Incident, IncidentsService } from '../incidents.service.js';
import { addTimelineItem } from '../timeline.js';

// Incident roles: the lead (incidents.lead_user_id, set by IncidentsService.setLead) plus the roles an admin
// defines (Communications, Scribe, Operations…), each with a description and a place in the list (rank, 1 first).
// Definitions are admin settings: every change is audited and touches the live `settings` topic in its
// transaction. Deleting is soft: incidents that had someone in a deleted role keep showing it with its name.
//
// Who holds a role on an incident is a use case like the incident's others: the assignment, its `role_assigned`
// timeline item and the `incident.role_assigned` event are written in one transaction, the incident row locked.
// Roles can change while the incident is in triage, live, closed or declined (a write-up may need to record who
// was Scribe after the fact), not once it is merged (its roles live on the incident it was merged into) or
// canceled (declared by mistake).

export interface IncidentRole {
  id: string;
  name: string;
  description: string;
  rank: number;
  createdAt: string;
  updatedAt: string;
  deletedAt: string | null;
}

export interface RoleInput {
  name: string;
  description?: string;
  /** Place in the list, 1 first; the end when not given. */
  rank?: number;
}

export type RolePatch = Partial<RoleInput>;

/** The lead is built in: no defined role may take its name. */
const BUILT_IN = 'lead';
const NOT_ASSIGNABLE = new Set(['merged', 'canceled']);

function toRole(r: IncidentRolesTable): IncidentRole {
  return { id: r.id, name: r.name, description: r.description, rank: Number(r.rank), createdAt: r.created_at, updatedAt: r.updated_at, deletedAt: r.deleted_at };
}

export class RolesService {
  constructor(
    private readonly deps: { db: Db; dialect: DbDialect; events: EventBus; live: LiveFeed; incidents: IncidentsService },
  ) {}

  private get db(): Db {
    return this.deps.db;
  }

  // ---- definitions (admins) ------------------------------------------------------------------------------

  /** Live roles in rank order (deleted ones too, after them, on request). */
  async list(opts: { includeDeleted?: boolean } = {}, db: Executor = this.db): Promise<IncidentRole[]> {
    let q = db.selectFrom('incident_roles').selectAll();
    if (!opts.includeDeleted) q = q.where('deleted_at', 'is', null);
    const rows = await q.orderBy(sql`case when deleted_at is null then 0 else 1 end`).orderBy('rank').orderBy('id').execute();
    return rows.map(toRole);
  }

  /** By id, deleted ones too. */
  async get(id: string, db: Executor = this.db): Promise<IncidentRole> {
    const row = await db.selectFrom('incident_roles').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new NotFoundError('Role', id);
    return toRole(row);
  }

  /** The live role with this name, compared without case (what `/incident role <name>` types). */
  async findByName(name: string, db: Executor = this.db): Promise<IncidentRole | null> {
    const row = await db
      .selectFrom('incident_roles')
      .selectAll()
      .where(sql`lower(name)`, '=', name.trim().toLowerCase())
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return row ? toRole(row) : null;
  }

  async create(input: RoleInput, actor: Actor): Promise<IncidentRole> {
    const name = input.name.trim();
    const id = await this.write(name, async (tx) => {
      await this.assertNameFree(tx, name, null);
      const id = newId();
      const now = nowIso();
      const count = await this.liveCount(tx);
      await tx.insertInto('incident_roles').values({ id, name, description: (input.description ?? '').trim(), rank: count + 1, created_at: now, updated_at: now, deleted_at: null }).execute();
      if (input.rank !== undefined && input.rank !== count + 1) await this.moveTo(tx, id, input.rank);
      await recordAudit(tx, { actor, action: 'incident_role.created', target: { kind: 'incident_role', id }, details: { name, description: (input.description ?? '').trim() } });
      await this.deps.live.touch(tx, { topic: 'settings' });
      return id;
    });
    return this.get(id);
  }

  async update(id: string, patch: RolePatch, actor: Actor): Promise<IncidentRole> {
    const name = patch.name?.trim();
    await this.write(name ?? '', async (tx) => {
      const current = await this.get(id, tx);
      if (current.deletedAt) throw new ConflictError('role_deleted', `${current.name} was deleted; it can no longer change.`);
      const changed: Record<string, { from: unknown; to: unknown }> = {};
      const set: { name?: string; description?: string } = {};
      if (name !== undefined && name !== current.name) {
        await this.assertNameFree(tx, name, current.id);
        set.name = name;
        changed.name = { from: current.name, to: name };
      }
      const description = patch.description?.trim();
      if (description !== undefined && description !== current.description) {
        set.description = description;
        changed.description = { from: current.description, to: description };
      }
      if (patch.rank !== undefined && patch.rank !== current.rank) {
        const to = await this.moveTo(tx, current.id, patch.rank);
        if (to !== current.rank) changed.rank = { from: current.rank, to };
      }
      if (Object.keys(changed).length === 0) return;
      await tx.updateTable('incident_roles').set({ ...set, updated_at: nowIso() }).where('id', '=', current.id).execute();
      await recordAudit(tx, { actor, action: 'incident_role.updated', target: { kind: 'incident_role', id: current.id }, details: { name: set.name ?? current.name, changed } });
      await this.deps.live.touch(tx, { topic: 'settings' });
    });
    return this.get(id);
  }

  /** Soft delete: the role leaves the list and the pickers; incidents where someone held it keep showing it. */
  async delete(id: string, actor: Actor): Promise<void> {
    await inTransaction(this.db, async (tx) => {
      const role = await this.get(id, tx);
      if (role.deletedAt) throw new NotFoundError('Role', id);
      const held = await tx.selectFrom('incident_role_assignments').select(sql<number>`count(*)`.as('n')).where('role_id', '=', role.id).executeTakeFirst();
      const now = nowIso();
      await tx.updateTable('incident_roles').set({ deleted_at: now, updated_at: now }).where('id', '=', role.id).execute();
      await this.renumber(tx);
      await recordAudit(tx, { actor, action: 'incident_role.deleted', target: { kind: 'incident_role', id: role.id }, details: { name: role.name, incidents: Number(held?.n ?? 0) } });
      await this.deps.live.touch(tx, { topic: 'settings' });
    });
  }

  // ---- assignments (responders) --------------------------------------------------------------------------

  /**
   * Gives a role on an incident to a person, or takes it (`userId` null). One `role_assigned` timeline item and
   * one `incident.role_assigned` event, in the same transaction; giving it to whoever holds it already does nothing.
   */
  async assign(incidentIdOrRef: string, roleId: string, userId: string | null, actor: Actor): Promise<Incident> {
    const incidentId = await inTransaction(this.db, async (tx) => {
      const inc = await this.loadIncidentForUpdate(tx, incidentIdOrRef);
      const status = await tx.selectFrom('incident_statuses').select(['name', 'category']).where('id', '=', inc.status_id).executeTakeFirstOrThrow();
      if (NOT_ASSIGNABLE.has(status.category)) {
        const where = status.category === 'merged' && inc.merged_into_id ? await tx.selectFrom('incidents').select('reference').where('id', '=', inc.merged_into_id).executeTakeFirst() : undefined;
        throw new ConflictError(
          'roles_closed',
          `${inc.reference} is ${status.name}; its roles can no longer change.${where ? ` It was merged into ${where.reference}: assign roles there.` : ''}`,
        );
      }
      const role = await tx.selectFrom('incident_roles').selectAll().where('id', '=', roleId).executeTakeFirst();
      if (!role || role.deleted_at) {
        const live = await this.list({}, tx);
        const names = live.length ? `one of: ${live.map((r) => `${r.name} (${r.id})`).join(', ')}` : 'no roles are defined yet; an admin adds them in Settings → Roles';
        throw new ValidationError(role ? `The role ${role.name} was deleted; it can no longer be given.` : `Unknown role ${JSON.stringify(roleId)}.`, [{ path: 'role_id', message: `must be a role that exists: ${names}` }]);
      }
      let user: { id: string; name: string } | null = null;
      if (userId !== null) {
        user = (await tx.selectFrom('users').select(['id', 'name']).where('id', '=', userId).executeTakeFirst()) ?? null;
        if (!user) throw new ValidationError(`Unknown user ${JSON.stringify(userId)}: ${role.name} can only be given to a Firebreak user.`, [{ path: 'user_id', message: 'must be the id of a Firebreak user' }]);
      }
      const current = await tx
        .selectFrom('incident_role_assignments as a')
        .innerJoin('users as u', 'u.id', 'a.user_id')
        .select(['u.id', 'u.name'])
        .where('a.incident_id', '=', inc.id)
        .where('a.role_id', '=', role.id)
        .executeTakeFirst();
      if ((current?.id ?? null) === (user?.id ?? null)) return inc.id;
      const now = nowIso();
      if (user) {
        await tx
          .insertInto('incident_role_assignments')
          .values({ incident_id: inc.id, role_id: role.id, user_id: user.id, assigned_at: now })
          .onConflict((oc) => oc.columns(['incident_id', 'role_id']).doUpdateSet({ user_id: user.id, assigned_at: now }))
          .execute();
      } else {
        await tx.deleteFrom('incident_role_assignments').where('incident_id', '=', inc.id).where('role_id', '=', role.id).execute();
      }
      await tx.updateTable('incidents').set({ updated_at: now }).where('id', '=', inc.id).execute();
      await addTimelineItem(tx, this.deps.events, {
        incidentId: inc.id,
        kind: 'role_assigned',
        actor,
        occurredAt: now,
        payload: { roleId: role.id, role: role.name, userId: user?.id ?? null, user: user?.name ?? null, previousUserId: current?.id ?? null, previous: current?.name ?? null },
      });
      await this.deps.events.publish(tx, { type: 'incident.role_assigned', incidentId: inc.id, actor, data: { roleId: role.id, userId: user?.id ?? null, previousUserId: current?.id ?? null } });
      return inc.id;
    });
    return this.deps.incidents.getIncident(incidentId);
  }

  // ---- internals -----------------------------------------------------------------------------------------

  /** A transaction whose unique-name violation (two admins adding the same name at once) is the same 409. */
  private async write<T>(name: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    try {
      return await inTransaction(this.db, fn);
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken(name);
      throw err;
    }
  }

  private async assertNameFree(tx: Executor, name: string, except: string | null): Promise<void> {
    if (!name) throw new ValidationError('A role needs a name.', [{ path: 'name', message: 'must not be empty' }]);
    if (name.toLowerCase() === BUILT_IN) throw new ConflictError('role_name_taken', 'Lead is built in (the incident lead); give this role another name.', { name });
    let q = tx.selectFrom('incident_roles').select(['id', 'name']).where(sql`lower(name)`, '=', name.toLowerCase()).where('deleted_at', 'is', null);
    if (except) q = q.where('id', '!=', except);
    const clash = await q.executeTakeFirst();
    if (clash) throw nameTaken(name, clash.name);
  }

  private async liveCount(tx: Executor): Promise<number> {
    const r = await tx.selectFrom('incident_roles').select(sql<number>`count(*)`.as('n')).where('deleted_at', 'is', null).executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** Moves a live role to a place (1 first, clamped to the list) and renumbers the others 1..n. Returns its rank. */
  private async moveTo(tx: Tx, id: string, rank: number): Promise<number> {
    // Locked on PostgreSQL so two reorders at once do not interleave (SQLite serialises its transactions).
    const all = await forUpdate(tx.selectFrom('incident_roles').select(['id', 'rank']).where('deleted_at', 'is', null).orderBy('rank').orderBy('id'), this.deps.dialect).execute();
    const order = all.filter((r) => r.id !== id).map((r) => r.id);
    const pos = Math.max(0, Math.min(order.length, rank - 1));
    order.splice(pos, 0, id);
    await this.setRanks(tx, all, order);
    return pos + 1;
  }

  private async renumber(tx: Tx): Promise<void> {
    const all = await tx.selectFrom('incident_roles').select(['id', 'rank']).where('deleted_at', 'is', null).orderBy('rank').orderBy('id').execute();
    await this.setRanks(tx, all, all.map((r) => r.id));
  }

  private async setRanks(tx: Tx, before: { id: string; rank: number }[], order: string[]): Promise<void> {
    const was = new Map(before.map((r) => [r.id, Number(r.rank)]));
    for (const [i, id] of order.entries()) {
      if (was.get(id) !== i + 1) await tx.updateTable('incident_roles').set({ rank: i + 1 }).where('id', '=', id).execute();
    }
  }

  private async loadIncidentForUpdate(tx: Tx, idOrRef: string) {
    const ref = /^inc-(\d{1,12})$/i.exec(idOrRef.trim());
    const q = ref ? tx.selectFrom('incidents').selectAll().where('number', '=', Number(ref[1])) : tx.selectFrom('incidents').selectAll().where('id', '=', idOrRef);
    // Locked so concurrent changes to one incident apply one after the other (as IncidentsService does).
    const row = await forUpdate(q, this.deps.dialect).executeTakeFirst();
    if (!row) throw new NotFoundError('Incident', idOrRef);
    return row;
  }
}

function nameTaken(name: string, existing = name): ConflictError {
  return new ConflictError('role_name_taken', `A role named ${JSON.stringify(existing)} already exists; role names are unique (whatever their case).`, { name });
}
