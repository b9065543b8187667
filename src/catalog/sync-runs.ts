import type { Db } from '../platform/db/index.js';
import { NotFoundError } from '../platform/errors.js';
import { newId, nowIso } from '../platform/ids.js';
import type { CatalogSyncRunsTable } from './tables.js';
import './tables.js';

// Sync runs (what each run did, shown in the web app and the API) and the per-source lock that keeps one sync
// of a source running at a time across every process. The lock is a lease: the running sync extends it as it
// makes progress; a process killed mid-run leaves a lease that expires, and the next run takes over and marks
// the dead run abandoned.
//
// Statuses: queued → running → one of
// - succeeded: every type was read as far as the source allows and applied. A type whose listing cannot reach
//   every object by design (PagerDuty's 10,000-item window) still succeeds; its stats say `complete: false`
//   and carry `warnings` naming what is missing.
// - partial: some types failed to fetch (their `error`); the others were applied; the failed ones archived nothing.
// - failed: nothing could be fetched, or the run broke; nothing was archived.
// - stopped: the safety rules refused the run (`stop_reason`); nothing was written.
// - cancelled: stopped on purpose, e.g. the source was disconnected in some process (`stop_reason` says why).
// - abandoned: the process running it went away.

export interface TypeRunStats {
  fetched: number;
  created: number;
  updated: number;
  archived: number;
  unchanged: number;
  skippedByMarker: number;
  /** Entries the listing did not reach, checked one by one. */
  lookedUp: number;
  /** False when the listing could not reach every object, with or without an error. */
  complete: boolean;
  error: string | null;
  /** Known limits of this run (the run still succeeds), e.g. objects no listing can reach. */
  warnings: string[];
}

export type RunStatus = CatalogSyncRunsTable['status'];

export interface SyncRun {
  id: string;
  source: string;
  trigger: string;
  status: RunStatus;
  forced: boolean;
  types: string[];
  stats: Record<string, TypeRunStats>;
  progress: Record<string, { fetched: number; total: number | null }>;
  requests: number;
  errors: string[];
  stopReason: string | null;
  requestedBy: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  rowsWritten?: number;
}

function fromRow(r: CatalogSyncRunsTable): SyncRun {
  const stats = JSON.parse(r.stats) as Record<string, TypeRunStats> & { _rowsWritten?: number };
  const { _rowsWritten, ...perType } = stats as Record<string, unknown>;
  return {
    id: r.id,
    source: r.source,
    trigger: r.trigger,
    status: r.status,
    forced: Number(r.forced) === 1,
    types: JSON.parse(r.types) as string[],
    // Runs recorded before lookedUp and warnings existed read as none.
    stats: Object.fromEntries(Object.entries(perType as Record<string, TypeRunStats>).map(([k, v]) => [k, { ...v, lookedUp: v.lookedUp ?? 0, warnings: v.warnings ?? [] }])),
    progress: JSON.parse(r.progress) as SyncRun['progress'],
    requests: Number(r.requests),
    errors: JSON.parse(r.errors) as string[],
    stopReason: r.stop_reason,
    requestedBy: r.requested_by,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    rowsWritten: typeof _rowsWritten === 'number' ? _rowsWritten : undefined,
  };
}

export class SyncBusyError extends Error {
  constructor(readonly source: string, readonly heldBy: string) {
    super(`another ${source} sync is running (run ${heldBy})`);
  }
}

export class SyncRunsRepository {
  private readonly listeners: (() => Promise<void>)[] = [];
  constructor(private readonly db: Db) {}

  /** Called after every change to a run (the live feed: sync progress on the settings page). */
  onChange(listener: () => Promise<void>): void {
    this.listeners.push(listener);
  }
  private async changed(): Promise<void> {
    for (const l of this.listeners) await l().catch(() => {});
  }

  async create(input: { source: string; trigger: string; types: string[]; forced: boolean; requestedBy: string | null }): Promise<SyncRun> {
    const id = newId();
    await this.db
      .insertInto('catalog_sync_runs')
      .values({
        id,
        source: input.source,
        trigger: input.trigger,
        status: 'queued',
        forced: input.forced ? 1 : 0,
        types: JSON.stringify(input.types),
        stats: '{}',
        progress: '{}',
        requests: 0,
        errors: '[]',
        stop_reason: null,
        requested_by: input.requestedBy,
        created_at: nowIso(),
        started_at: null,
        finished_at: null,
        heartbeat_at: null,
      })
      .execute();
    await this.changed();
    return this.get(id);
  }

  async get(id: string): Promise<SyncRun> {
    const r = await this.db.selectFrom('catalog_sync_runs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw new NotFoundError('Sync run', id);
    return fromRow(r);
  }

  async list(source: string | undefined, limit: number): Promise<SyncRun[]> {
    let q = this.db.selectFrom('catalog_sync_runs').selectAll();
    if (source) q = q.where('source', '=', source);
    return (await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute()).map(fromRow);
  }

  async latest(source: string, statuses?: RunStatus[]): Promise<SyncRun | null> {
    let q = this.db.selectFrom('catalog_sync_runs').selectAll().where('source', '=', source);
    if (statuses) q = q.where('status', 'in', statuses);
    const r = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirst();
    return r ? fromRow(r) : null;
  }

  async markStarted(id: string): Promise<void> {
    const now = nowIso();
    await this.db.updateTable('catalog_sync_runs').set({ status: 'running', started_at: now, heartbeat_at: now }).where('id', '=', id).execute();
    await this.changed();
  }

  async saveProgress(id: string, progress: SyncRun['progress'], requests: number): Promise<void> {
    await this.db.updateTable('catalog_sync_runs').set({ progress: JSON.stringify(progress), requests, heartbeat_at: nowIso() }).where('id', '=', id).execute();
    await this.changed();
  }

  async finish(id: string, r: { status: RunStatus; stats: Record<string, TypeRunStats>; progress: SyncRun['progress']; requests: number; errors: string[]; stopReason: string | null; rowsWritten: number }): Promise<SyncRun> {
    await this.db
      .updateTable('catalog_sync_runs')
      .set({
        status: r.status,
        stats: JSON.stringify({ ...r.stats, _rowsWritten: r.rowsWritten }),
        progress: JSON.stringify(r.progress),
        requests: r.requests,
        errors: JSON.stringify(r.errors),
        stop_reason: r.stopReason,
        finished_at: nowIso(),
      })
      .where('id', '=', id)
      .execute();
    await this.changed();
    return this.get(id);
  }

  /** Queued runs of a source that will never start (it was disconnected) become cancelled. */
  async cancelQueued(source: string, why: string): Promise<void> {
    await this.db.updateTable('catalog_sync_runs').set({ status: 'cancelled', finished_at: nowIso(), stop_reason: why }).where('source', '=', source).where('status', '=', 'queued').execute();
    await this.changed();
  }

  /** Runs left queued or running by a process that is gone (its lease expired) become abandoned. */
  async abandon(ids: string[], why: string): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .updateTable('catalog_sync_runs')
      .set({ status: 'abandoned', finished_at: nowIso(), errors: JSON.stringify([why]) })
      .where('id', 'in', ids)
      .where('status', 'in', ['queued', 'running'])
      .execute();
    await this.changed();
  }

  // ---- the lease ----
  /** Takes the source's lock for runId unless a live lease is held by another run. */
  async acquire(source: string, runId: string, ttlMs: number): Promise<void> {
    const now = nowIso();
    const expires = new Date(Date.now() + ttlMs).toISOString();
    const before = await this.db.selectFrom('catalog_sync_locks').selectAll().where('source', '=', source).executeTakeFirst();
    await this.db
      .insertInto('catalog_sync_locks')
      .values({ source, run_id: runId, expires_at: expires })
      .onConflict((oc) => oc.column('source').doUpdateSet({ run_id: runId, expires_at: expires }).where('catalog_sync_locks.expires_at', '<', now))
      .execute();
    const after = await this.db.selectFrom('catalog_sync_locks').selectAll().where('source', '=', source).executeTakeFirst();
    if (after?.run_id !== runId) throw new SyncBusyError(source, after?.run_id ?? 'unknown');
    if (before && before.run_id !== runId) await this.abandon([before.run_id], 'the process running this sync stopped before it finished; nothing was archived');
  }

  /** Extends the lease; false when another run took it over (this run must stop). */
  async renew(source: string, runId: string, ttlMs: number): Promise<boolean> {
    const r = await this.db
      .updateTable('catalog_sync_locks')
      .set({ expires_at: new Date(Date.now() + ttlMs).toISOString() })
      .where('source', '=', source)
      .where('run_id', '=', runId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async release(source: string, runId: string): Promise<void> {
    await this.db.deleteFrom('catalog_sync_locks').where('source', '=', source).where('run_id', '=', runId).execute();
  }

  async currentLock(source: string): Promise<{ runId: string; expiresAt: string } | null> {
    const r = await this.db.selectFrom('catalog_sync_locks').selectAll().where('source', '=', source).executeTakeFirst();
    return r && r.expires_at > nowIso() ? { runId: r.run_id, expiresAt: r.expires_at } : null;
  }
}
