import { sql, type RawBuilder, type Selectable } from 'kysely';
import type { IncidentsTable } from '../platform/db/schema.js';
import { CustomFieldsService, type ValueChange } from '../custom-fields/index.js';
import type { Db, DbDialect, Executor, Tx } from '../platform/db/index.js';
import { isUniqueViolation } from '../platform/db/errors.js';
import { forUpdate } from '../platform/db/locks.js';
import { inTransaction } from '../platform/db/index.js';
import { ConflictError, NotFoundError, ValidationError } from '../platform/errors.js';
import type { Actor, EventBus } from '../platform/events.js';
import { newId, nowIso } from '../platform/ids.js';
import { availableActions, canChangeSeverity, describeAllowed, liveStatuses, type AvailableAction, type StatusCategory } from './rules.js';
import { loadIncident, toIncidents, type Incident, type IncidentMode } from './incident-view.js';
import { Severities, type Severity } from './severities.js';
import { firstOfCategory, requireStatus, Statuses, type Status } from './statuses.js';
import { addTimelineItem, listTimeline, type TimelineItem } from './timeline.js';
import { IncidentTimestamps } from './timestamps/timestamps.service.js';
import { matchesFor, matchingTable, parseSearch, pgRelevanceWindow, pgWindowEnds, RELEVANCE_SLICING, scoredTable, tsquery, type PgMatches, type PgSearchDb, type PgSearchRow, type Ranked, type RelevanceSlicing, type SearchMatch, type WindowEnds } from './search.js';

// Callers import these types from the service, as before the split.
export type { Incident, IncidentMode } from './incident-view.js';
export type { Severity } from './severities.js';
export type { Status } from './statuses.js';

export interface CreateIncidentInput {
  name: string;
  summary?: string;
  severityId?: string;
  mode?: IncidentMode;
  triage?: boolean;
  idempotencyKey?: string;
  source?: string;
  /** Keyed by field key or id, raw values as the API takes them. Defaults apply to fields not given. */
  customFieldValues?: Record<string, unknown>;
  /**
   * Whether fields required at declaration must have a value. By default people and API keys must give them;
   * incidents opened automatically (e.g. from PagerDuty) cannot, and are held to required-before-close instead.
   */
  enforceRequiredFields?: boolean;
}

export interface UpdateIncidentInput {
  name?: string;
  summary?: string;
  /** Keyed by field key or id; null clears a value. */
  customFieldValues?: Record<string, unknown>;
}

export interface ListIncidentsQuery {
  statusCategories?: StatusCategory[];
  severityId?: string;
  mode?: IncidentMode;
  /** `<key>:<value>` or `<key>:*`; all must match. */
  customFields?: string[];
  /**
   * Full-text search (src/incidents/search.ts): every word must be in the name, summary, updates, notes or other
   * timeline text (the last word as a prefix); a reference (INC-42) finds that incident only.
   */
  q?: string;
  /** Default: `relevance` with a search, `created` without; `relevance` without a search is refused. */
  sort?: IncidentSort;
  order?: 'asc' | 'desc';
  limit: number;
  /** Opaque, from a previous page's `nextCursor` with the same sort and order. */
  cursor?: string;
}

/** What an incident update changes besides its message (src/incidents/updates); absent: unchanged. */
export interface UpdateChanges {
  statusId?: string;
  severityId?: string;
  summary?: string;
}

/** What applyUpdate did: the status and severity before and after, and the new summary (null when unchanged). */
export interface AppliedUpdate {
  incidentId: string;
  reference: string;
  fromStatus: Status;
  status: Status;
  fromSeverity: Severity;
  severity: Severity;
  summary: string | null;
  at: string;
}

/** Names of Slack channels by id, given by the Slack integration (the core never imports it). */
export type ChannelNamePort = (channelIds: string[]) => Promise<Map<string, string>>;

export const INCIDENT_SORTS = ['created', 'updated', 'severity', 'status', 'relevance'] as const;
export type IncidentSort = (typeof INCIDENT_SORTS)[number];

/**
 * Incidents use cases. Every change writes its timeline item and publishes its domain event in the same
 * transaction as the change itself.
 */
export class IncidentsService {
  constructor(
    private readonly db: Db,
    private readonly events: EventBus,
    private readonly dialect: DbDialect,
    customFields?: CustomFieldsService,
  ) {
    this.severities = new Severities(db);
    this.statuses = new Statuses(db);
    this.customFields = customFields ?? new CustomFieldsService(db);
    this.timestamps = new IncidentTimestamps(db, events, dialect);
  }

  /** Reported, impact started, identified, fixed, resolved, PagerDuty's times: set by each status change below. */
  readonly timestamps: IncidentTimestamps;

  private readonly customFields: CustomFieldsService;
  private channelNames: ChannelNamePort | null = null;

  private readonly severities: Severities;
  private readonly statuses: Statuses;

  /** The relevance window and, on PostgreSQL, how it is searched (search.ts); tests shrink it. */
  relevanceSlicing: RelevanceSlicing = RELEVANCE_SLICING;
  private windowEnds: { until: number; ends: WindowEnds } | null = null;

  // ---- severities and statuses (their own modules; these keep the service's callers working) -------------

  listSeverities(db?: Executor): Promise<Severity[]> {
    return this.severities.list(db);
  }

  createSeverity(input: { name: string; description?: string }): Promise<Severity> {
    return this.severities.create(input);
  }

  updateSeverity(id: string, input: { name?: string; description?: string; rank?: number }): Promise<Severity> {
    return this.severities.update(id, input);
  }

  deleteSeverity(id: string): Promise<void> {
    return this.severities.delete(id);
  }

  listStatuses(db?: Executor): Promise<Status[]> {
    return this.statuses.list(db);
  }

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
        const severities = await this.severities.cached(tx, input.severityId);
        const severity = input.severityId ? severities.find((s) => s.id === input.severityId) : severities[severities.length - 1];
        if (!severity) {
          throw new ValidationError(`Unknown severity ${JSON.stringify(input.severityId)}.`, [
            { path: 'severity_id', message: `must be one of: ${severities.map((s) => `${s.id} (${s.name})`).join(', ')}` },
          ]);
        }
        const status = input.triage ? statuses.find((s) => s.category === 'triage') : liveStatuses(statuses)[0];
        if (!status) throw new ConflictError('no_status', 'No status is configured for new incidents.');
        const { number, fieldsVersion } = await this.nextIncidentNumber(tx);
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
        await this.timestamps.statusEntered(tx, { incidentId: id, from: null, to: status, statuses, at: now });
        const enforceRequired = input.enforceRequiredFields ?? (actor.kind === 'user' || (actor.ref ?? '').startsWith('api_key:'));
        const customFields = await this.customFields.setForNewIncident(tx, id, input.customFieldValues ?? {}, { enforceRequired, fieldsVersion });
        await addTimelineItem(tx, this.events, {
          incidentId: id,
          kind: 'incident_declared',
          actor,
          occurredAt: now,
          payload: { name: input.name, summary: input.summary ?? '', severity: severity.name, status: status.name, mode: input.mode ?? 'standard', reference: `INC-${number}`, ...(customFields.length ? { customFields } : {}) },
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

  /**
   * What names an incident (id, reference, name, Slack channel id), by id or reference, in one light statement: for use
   * cases that only say which incident they act on (an escalation reads it before every page it sends).
   */
  async getIncidentHeader(idOrRef: string, db: Executor = this.db): Promise<{ id: string; reference: string; name: string; slackChannelId: string | null }> {
    const ref = /^inc-(\d{1,12})$/i.exec(idOrRef.trim());
    const row = await db
      .selectFrom('incidents')
      .select(['id', 'reference', 'name', 'slack_channel_id'])
      .where(ref ? 'number' : 'id', '=', ref ? Number(ref[1]) : idOrRef)
      .executeTakeFirst();
    if (!row) throw new NotFoundError('Incident', idOrRef);
    return { id: row.id, reference: row.reference, name: row.name, slackChannelId: row.slack_channel_id };
  }

  /** One statement (incident-view.ts loadIncident), and the channel name when Slack made a channel. */
  async getIncident(idOrRef: string, db: Executor = this.db): Promise<Incident> {
    const ref = /^inc-(\d{1,12})$/i.exec(idOrRef.trim());
    const found = await loadIncident(db, this.dialect, ref ? { number: Number(ref[1]) } : { id: idOrRef }, this.severities, this.statuses, this.customFields);
    if (!found) throw new NotFoundError('Incident', idOrRef);
    const [incident] = await this.withChannelNames([found]);
    return incident!;
  }

  async listIncidents(q: ListIncidentsQuery): Promise<{ incidents: (Incident & { match?: SearchMatch })[]; nextCursor: string | null }> {
    const search = parseSearch(q.q);
    const searching = search.kind !== 'none';
    const sort = q.sort ?? (searching ? 'relevance' : 'created');
    const order = q.order ?? 'desc';
    if (sort === 'relevance' && !searching) throw new ValidationError('Sorting by relevance needs a search (q).', [{ path: 'sort', message: 'relevance needs q' }]);
    // Only punctuation was typed: no word to look for, so nothing matches (never a query syntax error).
    if (search.kind === 'nothing') return { incidents: [], nextCursor: null };
    let query = this.db
      .selectFrom('incidents as i')
      .innerJoin('incident_statuses as s', 's.id', 'i.status_id')
      .innerJoin('severities as sv', 'sv.id', 'i.severity_id')
      .selectAll('i')
      .select(['sv.rank as severity_rank', 's.rank as status_rank']);
    if (q.statusCategories?.length) query = query.where('s.category', 'in', q.statusCategories);
    if (q.severityId) query = query.where('i.severity_id', '=', q.severityId);
    if (q.mode) query = query.where('i.mode', '=', q.mode);
    const customFilters = await this.customFields.parseFilters(q.customFields ?? []);
    for (const f of customFilters) query = query.where('i.id', 'in', this.customFields.matching(f));
    if (search.kind === 'reference') query = query.where('i.number', '=', search.number);
    // The search index (migration 0024) as derived tables. Relevance scores only the newest RELEVANCE_WINDOW matches
    // that pass the filters (found newest first, so a word in every incident stops after the window); other sorts
    // only filter. A reference has score 0. PostgreSQL's relevance is one query of its own, below.
    const keyCol = this.dialect === 'postgres' ? 'i.id' : 'i.number';
    let table: RawBuilder<{ search_key: string | number | null; score: number }>;
    let on = sql<boolean>`m.search_key = ${sql.ref(keyCol)}`;
    if (search.kind === 'words' && sort === 'relevance' && this.dialect === 'sqlite') {
      const candidates = query
        .innerJoin(matchingTable(this.dialect, search).as('f'), (j) => j.onRef('f.search_key', '=', keyCol))
        .clearSelect()
        .select('f.search_key')
        .orderBy('f.search_key', 'desc')
        .limit(this.relevanceSlicing.window);
      table = scoredTable(search, candidates);
    } else if (search.kind === 'words') {
      table = matchingTable(this.dialect, search);
    } else {
      // No words to match (no search, or a reference, already a filter): one row that every incident joins.
      table = sql<{ search_key: null; score: number }>`(select null as search_key, 0 as score)`;
      on = sql<boolean>`1 = 1`;
    }
    const key = { created: null, updated: 'i.updated_at', severity: 'sv.rank', status: 's.rank', relevance: 'm.score' } as const;
    const col = search.kind === 'reference' && sort === 'relevance' ? null : key[sort];
    const cmp = order === 'desc' ? '<' : '>';
    const cursor = q.cursor ? decodeCursor(q.cursor, sort) : null;
    let rows: (Selectable<IncidentsTable> & { severity_rank: number; status_rank: number; score: number })[];
    if (search.kind === 'words' && sort === 'relevance' && this.dialect === 'postgres') {
      // PostgreSQL: the window is found range by range from the newest (pgRelevanceWindow), each range ranked as it
      // is read, then ordered and paged here; only the page's incidents are read whole.
      const tsq = sql`to_tsquery('simple', ${tsquery(search)})`;
      // The filters here mirror the list's (`query` above), on the copies beside each document (migration 0025).
      const sdb: PgSearchDb = this.db.withTables<{ incident_search: PgSearchRow }>();
      const matches = () => {
        let m: PgMatches = sdb.selectFrom('incident_search as f').select(['f.incident_id as id', 'f.document']).where(sql<boolean>`f.document @@ ${tsq}`);
        if (q.statusCategories?.length) m = m.where('f.status_id', 'in', sdb.selectFrom('incident_statuses').select('id').where('category', 'in', q.statusCategories));
        if (q.severityId) m = m.where('f.severity_id', '=', q.severityId);
        if (q.mode) m = m.where('f.mode', '=', q.mode);
        for (const f of customFilters) m = m.where('f.incident_id', 'in', this.customFields.matching(f));
        return m;
      };
      // The ranges' ends are kept a few seconds: any ends give the same window (newer incidents join the first range).
      if (!this.windowEnds || this.windowEnds.until < Date.now()) this.windowEnds = { until: Date.now() + 10_000, ends: await pgWindowEnds(this.db, this.relevanceSlicing) };
      const window = await pgRelevanceWindow(sdb, matches, tsq, this.windowEnds.ends, this.relevanceSlicing);
      // Relevance order: score, then id, both descending for order=desc. `later(a, b) > 0`: a comes after b.
      const dir = order === 'desc' ? 1 : -1;
      const later = (a: { id: string; score: number }, b: { id: string; score: number }) => dir * (a.score !== b.score ? (a.score < b.score ? 1 : -1) : a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
      window.sort(later);
      // A cursor without a score (made for a reference search) is after every scored incident, as it was in SQL.
      const after = cursor ? { id: cursor.id, score: typeof cursor.value === 'number' ? cursor.value : null } : null;
      const pageKeys = after?.score === null ? [] : window.filter((r) => !after || later(r, after as Ranked) > 0).slice(0, q.limit + 1);
      const found = pageKeys.length ? await query.where('i.id', 'in', pageKeys.map((r) => r.id)).execute() : [];
      const byId = new Map(found.map((r) => [r.id, r]));
      rows = pageKeys.flatMap((k) => {
        const r = byId.get(k.id);
        return r ? [{ ...r, score: k.score }] : [];
      });
    } else {
      const scored = query.innerJoin(table.as('m'), (j) => j.on(on)).select('m.score as score');
      // Keyset paging over (sort key, id): the cursor carries both, so pages never repeat or skip a row. Relevance pages
      // by (score, id) too: scores are recomputed for each page, so pages stay exact while the matching incidents do
      // not change; a change between pages can move an incident across the page boundary.
      let paged = scored;
      if (cursor) {
        if (col === null) paged = paged.where('i.id', cmp, cursor.id);
        else paged = paged.where((eb) => eb.or([eb(eb.ref(col as never), cmp, cursor.value as never), eb.and([eb(eb.ref(col as never), '=', cursor.value as never), eb('i.id', cmp, cursor.id)])]));
      }
      if (col !== null) paged = paged.orderBy((eb) => eb.ref(col as never), order);
      rows = (await paged.orderBy('i.id', order).limit(q.limit + 1).execute()) as typeof rows;
    }
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    const value = (r: (typeof rows)[number]) =>
      sort === 'updated' ? r.updated_at : sort === 'severity' ? Number(r.severity_rank) : sort === 'status' ? Number(r.status_rank) : sort === 'relevance' ? Number(r.score) : null;
    const nextCursor = rows.length > q.limit && last ? encodeCursor(sort, value(last), last.id) : null;
    const incidents = await this.withChannelNames(await toIncidents(this.db, page, this.severities, this.statuses, this.customFields));
    if (!searching) return { incidents, nextCursor };
    const matches = await matchesFor(this.db, page, search);
    return { incidents: incidents.map((i) => ({ ...i, match: matches.get(i.id) })), nextCursor };
  }

  async updateIncident(idOrRef: string, input: UpdateIncidentInput, actor: Actor): Promise<Incident> {
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
      const fieldChanges = input.customFieldValues ? await this.customFields.setForIncident(tx, inc.id, input.customFieldValues) : [];
      await this.recordFieldChanges(tx, inc.id, fieldChanges, actor);
      if (Object.keys(changes).length > 0) {
        await tx.updateTable('incidents').set({ ...changes, updated_at: now }).where('id', '=', inc.id).execute();
        await this.events.publish(tx, { type: 'incident.updated', incidentId: inc.id, actor, data: { changed: Object.keys(changes) } });
      } else if (fieldChanges.length > 0) {
        await tx.updateTable('incidents').set({ updated_at: now }).where('id', '=', inc.id).execute();
      }
      return inc.id;
    });
    return this.getIncident(id);
  }

  /**
   * Accepts a triage incident. A person who accepts an incident that has no lead becomes its lead (one
   * `lead_changed` item and `incident.lead_changed` event in the same transaction); API keys and integrations never do.
   */
  async accept(idOrRef: string, input: { statusId?: string }, actor: Actor): Promise<Incident> {
    return this.transition(
      idOrRef,
      'accept',
      actor,
      (statuses) => {
        if (input.statusId) return requireStatus(statuses, input.statusId, 'live');
        const first = liveStatuses(statuses)[0];
        if (!first) throw new ConflictError('no_status', 'No live status is configured.');
        return first;
      },
      undefined,
      async (tx, inc) => {
        if (actor.kind !== 'user' || !actor.userId) return {};
        const row = await tx.selectFrom('incidents').select('lead_user_id').where('id', '=', inc.id).executeTakeFirstOrThrow();
        if (row.lead_user_id) return {};
        const user = await tx.selectFrom('users').select(['id', 'name']).where('id', '=', actor.userId).executeTakeFirst();
        if (!user) return {};
        await tx.updateTable('incidents').set({ lead_user_id: user.id }).where('id', '=', inc.id).execute();
        await addTimelineItem(tx, this.events, { incidentId: inc.id, kind: 'lead_changed', actor, payload: { to: user.name, toUserId: user.id, reason: 'accepted' } });
        await this.events.publish(tx, { type: 'incident.lead_changed', incidentId: inc.id, actor, data: { to: user.id } });
        return {};
      },
    );
  }

  async decline(idOrRef: string, input: { reason?: string }, actor: Actor): Promise<Incident> {
    return this.transition(idOrRef, 'decline', actor, (s) => firstOfCategory(s, 'declined'), input.reason);
  }

  async cancel(idOrRef: string, input: { reason?: string }, actor: Actor): Promise<Incident> {
    return this.transition(idOrRef, 'cancel', actor, (s) => firstOfCategory(s, 'canceled'), input.reason);
  }

  async close(idOrRef: string, actor: Actor): Promise<Incident> {
    return this.transition(idOrRef, 'close', actor, (s) => firstOfCategory(s, 'closed'));
  }

  async changeStatus(idOrRef: string, statusId: string, actor: Actor): Promise<Incident> {
    return this.transition(idOrRef, 'status', actor, (statuses, current) => statusTarget(statuses, current, statusId));
  }

  async merge(idOrRef: string, intoIdOrRef: string, actor: Actor): Promise<Incident> {
    let intoId = '';
    const incident = await this.transition(idOrRef, 'merge', actor, (s) => firstOfCategory(s, 'merged'), undefined, async (tx, inc, statuses) => {
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

  /** The Slack integration tells how to name channels; until then (or without Slack) incidents carry no channel name. */
  useChannelNames(port: ChannelNamePort): void {
    this.channelNames = port;
  }

  private async withChannelNames(incidents: Incident[]): Promise<Incident[]> {
    const ids = incidents.map((i) => i.slackChannelId).filter((x): x is string => !!x);
    if (!this.channelNames || ids.length === 0) return incidents;
    const names = await this.channelNames(ids);
    return incidents.map((i) => (i.slackChannelId ? { ...i, slackChannelName: names.get(i.slackChannelId) ?? null } : i));
  }

  /** Used by integrations to remember the Slack channel etc. without owning the incidents table. */
  async setSlackChannel(incidentId: string, channelId: string): Promise<void> {
    await this.db.updateTable('incidents').set({ slack_channel_id: channelId }).where('id', '=', incidentId).execute();
  }

  /**
   * The changes an incident update carries (src/incidents/updates), in the caller's transaction: the same rules as
   * changeStatus, changeSeverity and updateIncident (409 illegal_transition, 400 unknown ids, required fields
   * before close) and their domain events, but no timeline items of their own: the update writes one item for
   * all of it. `guard` sees the locked incident and its status first and may refuse (nothing is written then).
   */
  async applyUpdate(tx: Tx, idOrRef: string, input: UpdateChanges, actor: Actor, guard?: (inc: { id: string; reference: string }, current: Status) => void): Promise<AppliedUpdate> {
    const inc = await this.loadForUpdate(tx, idOrRef);
    const statuses = await this.listStatuses(tx);
    const current = statuses.find((s) => s.id === inc.status_id)!;
    guard?.(inc, current);
    const severities = await this.listSeverities(tx);
    const fromSeverity = severities.find((s) => s.id === inc.severity_id)!;
    let severity = fromSeverity;
    if (input.severityId !== undefined && input.severityId !== inc.severity_id) {
      if (!canChangeSeverity(current.category)) throw new ConflictError('illegal_transition', `${inc.reference} is ${current.name}; its severity can no longer change.`);
      const to = severities.find((s) => s.id === input.severityId);
      if (!to) throw new ValidationError(`Unknown severity ${JSON.stringify(input.severityId)}.`, [{ path: 'severity_id', message: `must be one of: ${severities.map((s) => s.id).join(', ')}` }]);
      severity = to;
    }
    let status: Status & { via?: AvailableAction['action'] } = current;
    if (input.statusId !== undefined && input.statusId !== current.id) {
      status = statusTarget(statuses, current, input.statusId);
      assertAllowed(inc, current, status, status.via ?? 'status', statuses);
      if (status.category === 'closed') await this.assertClosable(tx, inc);
    }
    const summary = input.summary !== undefined && input.summary !== inc.summary ? input.summary : null;
    const now = nowIso();
    await tx
      .updateTable('incidents')
      .set({ status_id: status.id, severity_id: severity.id, ...(summary !== null ? { summary } : {}), updated_at: now })
      .where('id', '=', inc.id)
      .execute();
    if (status.id !== current.id) {
      await this.touchStatusTimestamp(tx, inc.id, status.id, now);
      await this.timestamps.statusEntered(tx, { incidentId: inc.id, from: current, to: status, statuses, at: now });
      await this.events.publish(tx, {
        type: 'incident.status_changed',
        incidentId: inc.id,
        actor,
        data: { action: status.via ?? 'status', from: current.id, to: status.id, fromCategory: current.category, toCategory: status.category },
      });
    }
    if (severity.id !== fromSeverity.id) await this.events.publish(tx, { type: 'incident.severity_changed', incidentId: inc.id, actor, data: { from: fromSeverity.id, to: severity.id } });
    if (summary !== null) await this.events.publish(tx, { type: 'incident.updated', incidentId: inc.id, actor, data: { changed: ['summary'] } });
    return { incidentId: inc.id, reference: inc.reference, fromStatus: current, status, fromSeverity, severity, summary, at: now };
  }

  // ---- internals -----------------------------------------------------------------------------------------

  /** One timeline item and one domain event per changed field, in the caller's transaction. */
  private async recordFieldChanges(tx: Tx, incidentId: string, changes: ValueChange[], actor: Actor): Promise<void> {
    for (const c of changes) {
      await addTimelineItem(tx, this.events, {
        incidentId,
        kind: 'custom_field_changed',
        actor,
        payload: { field: { id: c.field.id, key: c.field.key, name: c.field.name }, from: c.from, to: c.to },
      });
      await this.events.publish(tx, { type: 'incident.custom_field_changed', incidentId, actor, data: { fieldId: c.field.id, key: c.field.key } });
    }
  }

  /** Closing needs every field required before close to have a value (409 `required_fields_missing`). */
  private async assertClosable(tx: Tx, inc: { id: string; reference: string }): Promise<void> {
    const missing = await this.customFields.missingBeforeClose(inc.id, tx);
    if (missing.length === 0) return;
    const names = missing.map((f) => f.name);
    const list = names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]!}`;
    throw new ConflictError('required_fields_missing', `${inc.reference} cannot close yet: set ${list} first (required before closing).`, {
      fields: missing.map((f) => ({ id: f.id, key: f.key, name: f.name })),
    });
  }

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
      assertAllowed(inc, current, target, verb, statuses);
      if (target.category === 'closed') await this.assertClosable(tx, inc);
      const extraPayload = extra ? await extra(tx, inc, statuses) : {};
      const now = nowIso();
      await tx.updateTable('incidents').set({ status_id: target.id, updated_at: now }).where('id', '=', inc.id).execute();
      await this.touchStatusTimestamp(tx, inc.id, target.id, now);
      await this.timestamps.statusEntered(tx, { incidentId: inc.id, from: current, to: target, statuses, at: now });
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

  /**
   * Numbers are never reused. On PostgreSQL a rolled-back declaration leaves a gap; on SQLite it does not. With the
   * number comes the custom field definitions' version (migration 0031), in the same statement on PostgreSQL (one
   * round trip fewer per declaration); SQLite reads it in process.
   */
  private async nextIncidentNumber(tx: Tx): Promise<{ number: number; fieldsVersion: number }> {
    if (this.dialect === 'postgres') {
      const r = await sql<{ n: string; v: string | null }>`select nextval('incident_number_seq') as n, (select value from sequences where name = 'custom_fields') as v`.execute(tx);
      return { number: Number(r.rows[0]!.n), fieldsVersion: Number(r.rows[0]!.v ?? 0) };
    }
    const seq = await tx
      .updateTable('sequences')
      .set((eb) => ({ value: eb('value', '+', 1) }))
      .where('name', '=', 'incident')
      .returning('value')
      .executeTakeFirstOrThrow();
    return { number: Number(seq.value), fieldsVersion: await this.customFields.fieldsVersion(tx) };
  }

  private async loadForUpdate(tx: Tx, idOrRef: string) {
    const ref = /^inc-(\d{1,12})$/i.exec(idOrRef.trim());
    const q = ref ? tx.selectFrom('incidents').selectAll().where('number', '=', Number(ref[1])) : tx.selectFrom('incidents').selectAll().where('id', '=', idOrRef);
    // Locked so concurrent actions on one incident apply one after the other.
    const row = await forUpdate(q, this.dialect).executeTakeFirst();
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
}

/** changeStatus's target. Named actions have their own verbs; they are routed so the same rules apply. */
function statusTarget(statuses: Status[], current: Status, statusId: string): Status & { via?: AvailableAction['action'] } {
  const target = requireStatus(statuses, statusId);
  if (current.category === 'triage' && target.category === 'live') return { ...target, via: 'accept' as const };
  if (target.category === 'closed') return { ...target, via: 'close' as const };
  if (target.category === 'declined') return { ...target, via: 'decline' as const };
  if (target.category === 'canceled') return { ...target, via: 'cancel' as const };
  if (target.category !== 'live') throw new ConflictError('illegal_transition', `Use the merge action to merge ${target.name.toLowerCase()} incidents. ${describeAllowed(current, statuses)}`);
  return target;
}

/** 409 `illegal_transition` when the current status does not allow the move, saying what is allowed. */
function assertAllowed(inc: { reference: string }, current: Status, target: Status, verb: AvailableAction['action'], statuses: Status[]): void {
  const allowed = availableActions(current, statuses);
  const ok = allowed.some((a) => a.action === verb && (verb !== 'status' || a.status?.id === target.id));
  if (ok) return;
  const what = verb === 'status' ? `move to ${target.name}` : verb;
  throw new ConflictError('illegal_transition', `Cannot ${what} ${inc.reference}: it is ${current.name}. ${describeAllowed(current, statuses)}`, { from: current.id, allowed });
}

/** A page cursor: base64url of `[sort, value, id]`, checked when read back (400 when it is not one of ours). */
function encodeCursor(sort: IncidentSort, value: string | number | null, id: string): string {
  return Buffer.from(JSON.stringify([sort, value, id])).toString('base64url');
}

function decodeCursor(cursor: string, sort: IncidentSort): { value: string | number | null; id: string } {
  const bad = (message: string) => new ValidationError(message, [{ path: 'cursor', message }]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad('must be the next_cursor of a previous page');
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || typeof parsed[2] !== 'string') throw bad('must be the next_cursor of a previous page');
  const [s, value, id] = parsed as [unknown, unknown, string];
  if (s !== sort) throw bad(`was made for sort=${String(s)}; ask again from the first page`);
  const ok = sort === 'created' ? value === null : sort === 'updated' ? typeof value === 'string' : sort === 'relevance' ? typeof value === 'number' || value === null : typeof value === 'number';
  if (!ok) throw bad('must be the next_cursor of a previous page');
  return { value: value as string | number | null, id };
}
