import { sql } from 'kysely';
import type { IncidentsService } from '../incidents/incidents.service.js';
import { addTimelineItem } from '../incidents/timeline.js';
import type { Db, DbDialect, Executor, Tx } from '../platform/db/index.js';
import { forUpdate } from '../platform/db/locks.js';
import { inTransaction } from '../platform/db/index.js';
import type { FollowUpPriority, FollowUpStatus } from '../platform/db/schema.js';
import { ConflictError, NotFoundError, ValidationError } from '../platform/errors.js';
import type { Actor, EventBus } from '../platform/events.js';
import { newId, nowIso } from '../platform/ids.js';

// Follow-ups: the work an incident leaves behind (a ticket to fix the root cause, a runbook to write). Each
// belongs to one incident; they are made from the web, the API or Slack, mostly once the incident is closed,
// and listed across incidents. Every create or change writes its timeline item on the incident and publishes
// `incident.follow_up_changed` in the same transaction.

export const FOLLOW_UP_PRIORITIES = ['urgent', 'high', 'medium', 'low'] as const satisfies readonly FollowUpPriority[];
export const FOLLOW_UP_STATUSES = ['open', 'done', 'wont_do'] as const satisfies readonly FollowUpStatus[];
export type FollowUpSource = 'web' | 'api' | 'slack';

/** Incidents in these categories take no new follow-ups: their work lives on the incident they merged into, or never happened. */
const REFUSING_CATEGORIES = new Set(['merged', 'canceled']);

export interface FollowUp {
  id: string;
  incident: { id: string; reference: string; name: string };
  title: string;
  description: string;
  owner: { id: string; name: string; email: string } | null;
  priority: FollowUpPriority;
  status: FollowUpStatus;
  link: string | null;
  source: FollowUpSource;
  sourceRef: string | null;
  createdBy: { kind: Actor['kind']; user: { id: string; name: string } | null };
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
}

export interface CreateFollowUpInput {
  title: string;
  description?: string;
  ownerUserId?: string | null;
  priority?: FollowUpPriority;
  status?: FollowUpStatus;
  link?: string | null;
  source: FollowUpSource;
  /** Where it was made from, e.g. the Slack message's permalink. */
  sourceRef?: string | null;
  /** The same key on the same incident returns the follow-up made first (a double submit makes one). */
  idempotencyKey?: string;
}

export interface UpdateFollowUpInput {
  title?: string;
  description?: string;
  ownerUserId?: string | null;
  priority?: FollowUpPriority;
  status?: FollowUpStatus;
  link?: string | null;
}

export interface FollowUpFilters {
  statuses?: FollowUpStatus[];
  priorities?: FollowUpPriority[];
  ownerUserId?: string;
  /** Incident id or reference (INC-42). */
  incident?: string;
  /** Words matched case-insensitively in the title or description; all must match. */
  q?: string;
}

export const TITLE_MAX = 200;
export const DESCRIPTION_MAX = 10_000;

export class FollowUpsService {
  constructor(
    private readonly db: Db,
    private readonly events: EventBus,
    private readonly incidents: Pick<IncidentsService, 'findIncidentId'>,
    private readonly dialect: DbDialect,
  ) {}

  async create(incidentIdOrRef: string, input: CreateFollowUpInput, actor: Actor): Promise<FollowUp> {
    return (await this.createOnce(incidentIdOrRef, input, actor)).followUp;
  }

  /** As create; `created` is false when the idempotency key had made one already (that one is returned). */
  async createOnce(incidentIdOrRef: string, input: CreateFollowUpInput, actor: Actor): Promise<{ followUp: FollowUp; created: boolean }> {
    const title = input.title.trim();
    if (!title) throw new ValidationError('A follow-up needs a title.', [{ path: 'title', message: 'must not be empty' }]);
    if (title.length > TITLE_MAX) throw new ValidationError(`The title is longer than ${TITLE_MAX} characters.`, [{ path: 'title', message: `at most ${TITLE_MAX} characters` }]);
    const made = await inTransaction(this.db, async (tx) => {
      const incident = await this.incidentIn(tx, incidentIdOrRef);
      if (REFUSING_CATEGORIES.has(incident.category)) {
        const where = incident.mergedInto ? `; add it to ${incident.mergedInto}, which it was merged into` : '';
        throw new ConflictError('incident_not_open_for_follow_ups', `${incident.reference} is ${incident.statusName}: it takes no follow-ups${where}.`, { status_category: incident.category });
      }
      const owner = await this.ownerOf(tx, input.ownerUserId);
      const now = nowIso();
      const id = newId();
      const status = input.status ?? 'open';
      const priority = input.priority ?? 'medium';
      // The timeline item's dedupe key carries the idempotency key: written first, it says whether this key
      // already made a follow-up on this incident (then nothing else is written and that one is returned).
      const dedupeKey = input.idempotencyKey ? `follow_up:${input.idempotencyKey}` : undefined;
      const itemId = await addTimelineItem(tx, this.events, {
        incidentId: incident.id,
        kind: 'follow_up_created',
        actor,
        occurredAt: now,
        payload: { followUpId: id, title, owner: owner?.name ?? null, ownerUserId: owner?.id ?? null, priority, status, source: input.source },
        dedupeKey,
      });
      if (itemId === null) {
        const first = await tx.selectFrom('timeline_items').select('payload').where('incident_id', '=', incident.id).where('dedupe_key', '=', dedupeKey!).executeTakeFirstOrThrow();
        return { id: String((JSON.parse(first.payload) as { followUpId: unknown }).followUpId), created: false };
      }
      await tx
        .insertInto('follow_ups')
        .values({
          id,
          incident_id: incident.id,
          title,
          description: input.description ?? '',
          owner_user_id: owner?.id ?? null,
          priority,
          status,
          link: input.link ?? null,
          source: input.source,
          source_ref: input.sourceRef ?? null,
          created_by_kind: actor.kind,
          created_by_user_id: actor.userId ?? null,
          created_at: now,
          updated_at: now,
          completed_at: status === 'open' ? null : now,
        })
        .execute();
      await this.events.publish(tx, { type: 'incident.follow_up_changed', incidentId: incident.id, actor, data: { followUpId: id, change: 'created' } });
      return { id, created: true };
    });
    return { followUp: await this.get(made.id), created: made.created };
  }

  async update(id: string, input: UpdateFollowUpInput, actor: Actor): Promise<FollowUp> {
    await inTransaction(this.db, async (tx) => {
      // Locked, so concurrent changes to one follow-up apply one after the other and each item says what it changed from.
      const row = await forUpdate(tx.selectFrom('follow_ups').selectAll().where('id', '=', id), this.dialect).executeTakeFirst();
      if (!row) throw new NotFoundError('Follow-up', id);
      const changes: { field: string; from: unknown; to: unknown }[] = [];
      const set: Record<string, unknown> = {};
      if (input.title !== undefined) {
        const title = input.title.trim();
        if (!title) throw new ValidationError('A follow-up needs a title.', [{ path: 'title', message: 'must not be empty' }]);
        if (title !== row.title) {
          set.title = title;
          changes.push({ field: 'title', from: row.title, to: title });
        }
      }
      if (input.description !== undefined && input.description !== row.description) {
        set.description = input.description;
        changes.push({ field: 'description', from: null, to: null });
      }
      if (input.ownerUserId !== undefined && input.ownerUserId !== row.owner_user_id) {
        const [from, to] = await Promise.all([this.ownerOf(tx, row.owner_user_id, true), this.ownerOf(tx, input.ownerUserId)]);
        set.owner_user_id = to?.id ?? null;
        changes.push({ field: 'owner', from: from?.name ?? null, to: to?.name ?? null });
      }
      if (input.priority !== undefined && input.priority !== row.priority) {
        set.priority = input.priority;
        changes.push({ field: 'priority', from: row.priority, to: input.priority });
      }
      const now = nowIso();
      if (input.status !== undefined && input.status !== row.status) {
        set.status = input.status;
        // Done and won't do are both finished: completed_at says when; reopening clears it.
        set.completed_at = input.status === 'open' ? null : now;
        changes.push({ field: 'status', from: row.status, to: input.status });
      }
      if (input.link !== undefined && (input.link ?? null) !== row.link) {
        set.link = input.link ?? null;
        changes.push({ field: 'link', from: row.link, to: input.link ?? null });
      }
      if (changes.length === 0) return;
      await tx.updateTable('follow_ups').set({ ...set, updated_at: now }).where('id', '=', id).execute();
      await addTimelineItem(tx, this.events, {
        incidentId: row.incident_id,
        kind: 'follow_up_updated',
        actor,
        occurredAt: now,
        payload: { followUpId: id, title: (set.title as string | undefined) ?? row.title, changes },
      });
      await this.events.publish(tx, { type: 'incident.follow_up_changed', incidentId: row.incident_id, actor, data: { followUpId: id, change: 'updated', fields: changes.map((c) => c.field) } });
    });
    return this.get(id);
  }

  async get(id: string): Promise<FollowUp> {
    const [f] = await this.select(this.db).where('f.id', '=', id).execute();
    if (!f) throw new NotFoundError('Follow-up', id);
    return toFollowUp(f);
  }

  /** An incident's follow-ups, oldest first (the order they were agreed in). */
  async forIncident(incidentIdOrRef: string): Promise<FollowUp[]> {
    const incidentId = await this.incidents.findIncidentId(incidentIdOrRef);
    const rows = await this.select(this.db).where('f.incident_id', '=', incidentId).orderBy('f.id', 'asc').execute();
    return rows.map(toFollowUp);
  }

  /** Across incidents, newest first, a page at a time (keyset over the time-ordered id). */
  async list(filters: FollowUpFilters, page: { limit: number; cursor?: string }): Promise<{ followUps: FollowUp[]; nextCursor: string | null }> {
    let q = await this.filtered(filters);
    if (page.cursor) q = q.where('f.id', '<', decodeCursor(page.cursor));
    const rows = await q.orderBy('f.id', 'desc').limit(page.limit + 1).execute();
    const items = rows.slice(0, page.limit).map(toFollowUp);
    const last = items[items.length - 1];
    return { followUps: items, nextCursor: rows.length > page.limit && last ? encodeCursor(last.id) : null };
  }

  /** Every match, newest first, read in pages (for the CSV export). */
  async *all(filters: FollowUpFilters, batch = 500): AsyncGenerator<FollowUp> {
    let cursor: string | undefined;
    for (;;) {
      const page = await this.list(filters, { limit: batch, cursor });
      yield* page.followUps;
      if (!page.nextCursor) return;
      cursor = page.nextCursor;
    }
  }

  // ---- internals -----------------------------------------------------------------------------------------

  /** The incident and its status category, read in the caller's transaction (by id or reference). */
  private async incidentIn(tx: Tx, idOrRef: string): Promise<{ id: string; reference: string; category: string; statusName: string; mergedInto: string | null }> {
    const id = await this.incidents.findIncidentId(idOrRef, tx);
    // The incident row is locked (PostgreSQL) so a merge or cancel in flight is seen, not raced.
    await forUpdate(tx.selectFrom('incidents').select('id').where('id', '=', id), this.dialect).execute();
    const row = await tx
      .selectFrom('incidents as i')
      .innerJoin('incident_statuses as s', 's.id', 'i.status_id')
      .leftJoin('incidents as m', 'm.id', 'i.merged_into_id')
      .select(['i.id', 'i.reference', 's.category', 's.name as status_name', 'm.reference as merged_into'])
      .where('i.id', '=', id)
      .executeTakeFirstOrThrow();
    return { id: row.id, reference: row.reference, category: row.category, statusName: row.status_name, mergedInto: row.merged_into };
  }

  private async filtered(f: FollowUpFilters) {
    let q = this.select(this.db);
    if (f.statuses?.length) q = q.where('f.status', 'in', f.statuses);
    if (f.priorities?.length) q = q.where('f.priority', 'in', f.priorities);
    if (f.ownerUserId) q = q.where('f.owner_user_id', '=', f.ownerUserId);
    if (f.incident) {
      let incidentId: string;
      try {
        incidentId = await this.incidents.findIncidentId(f.incident);
      } catch (err) {
        if (err instanceof NotFoundError) throw new ValidationError(`No incident ${JSON.stringify(f.incident)}.`, [{ path: 'incident', message: 'must be the id or reference (INC-42) of an incident' }]);
        throw err;
      }
      q = q.where('f.incident_id', '=', incidentId);
    }
    // Case-insensitive on both backends, as the incidents list: lower() on both sides, wildcards escaped.
    for (const word of (f.q ?? '').trim().toLowerCase().split(/\s+/).filter(Boolean).slice(0, 10)) {
      const pattern = sql<string>`${`%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`} escape '\\'`;
      q = q.where((eb) => eb.or([eb(sql`lower(f.title)`, 'like', pattern), eb(sql`lower(f.description)`, 'like', pattern)]));
    }
    return q;
  }

  private select(db: Executor) {
    return db
      .selectFrom('follow_ups as f')
      .innerJoin('incidents as i', 'i.id', 'f.incident_id')
      .leftJoin('users as o', 'o.id', 'f.owner_user_id')
      .leftJoin('users as c', 'c.id', 'f.created_by_user_id')
      .selectAll('f')
      .select(['i.reference as incident_reference', 'i.name as incident_name', 'o.name as owner_name', 'o.email as owner_email', 'c.name as creator_name']);
  }

  /** The owner as a Firebreak user; an unknown id is the caller's mistake (400 naming it), unless it is the stored one. */
  private async ownerOf(tx: Tx, userId: string | null | undefined, stored = false): Promise<{ id: string; name: string } | null> {
    if (!userId) return null;
    const u = await tx.selectFrom('users').select(['id', 'name']).where('id', '=', userId).executeTakeFirst();
    if (u) return u;
    if (stored) return null;
    throw new ValidationError(`Unknown user ${JSON.stringify(userId)}: the owner must be a Firebreak user.`, [{ path: 'owner_user_id', message: `${JSON.stringify(userId)} is not the id of a Firebreak user` }]);
  }
}

type Row = {
  id: string;
  incident_id: string;
  title: string;
  description: string;
  owner_user_id: string | null;
  priority: FollowUpPriority;
  status: FollowUpStatus;
  link: string | null;
  source: FollowUpSource;
  source_ref: string | null;
  created_by_kind: string;
  created_by_user_id: string | null;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  incident_reference: string;
  incident_name: string;
  owner_name: string | null;
  owner_email: string | null;
  creator_name: string | null;
};

function toFollowUp(r: Row): FollowUp {
  return {
    id: r.id,
    incident: { id: r.incident_id, reference: r.incident_reference, name: r.incident_name },
    title: r.title,
    description: r.description,
    owner: r.owner_user_id && r.owner_name !== null ? { id: r.owner_user_id, name: r.owner_name, email: r.owner_email ?? '' } : null,
    priority: r.priority,
    status: r.status,
    link: r.link,
    source: r.source,
    sourceRef: r.source_ref,
    createdBy: { kind: r.created_by_kind as Actor['kind'], user: r.created_by_user_id && r.creator_name !== null ? { id: r.created_by_user_id, name: r.creator_name } : null },
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    completedAt: r.completed_at,
  };
}

/** A page cursor: base64url of `["follow_ups", id]`, checked when read back (400 when it is not one of ours). */
function encodeCursor(id: string): string {
  return Buffer.from(JSON.stringify(['follow_ups', id])).toString('base64url');
}

function decodeCursor(cursor: string): string {
  const bad = () => new ValidationError('The cursor is not one this list gave.', [{ path: 'cursor', message: 'must be the next_cursor of a previous page' }]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || parsed[0] !== 'follow_ups' || typeof parsed[1] !== 'string' || parsed[1].length > 64) throw bad();
  return parsed[1];
}
