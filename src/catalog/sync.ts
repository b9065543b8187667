import { newId, nowIso } from '../platform/ids.js';
import type { CatalogAttribute, CatalogService, CatalogType, EntryWrite, StoredEntry } from './catalog.service.js';
import { SyncBusyError, type SyncRun, type SyncRunsRepository, type TypeRunStats } from './sync-runs.js';

// The generic catalog sync engine: fetch every page of every requested type first, then resolve references,
// compute the difference with what is stored, and apply it: creates and updates first, archives last.
// A failed or partial fetch of a type archives nothing of that type; a run that would archive more than the
// threshold of a type, or finds a type empty that was not, stops before writing anything unless forced.
// Unchanged entries are not written, so a re-sync with no change writes no rows.

export interface SyncTypeDef {
  /** Short key used by sources, runs and schedules (e.g. "users"). */
  key: string;
  typeName: string;
  name: string;
  description: string;
  attributes: CatalogAttribute[];
  defaultIntervalMs: number;
}

/** One object from the source. Reference attributes hold the external id(s) of the referenced entries. */
export interface SourceItem {
  externalId: string;
  name: string;
  aliases?: string[];
  externalUrl?: string | null;
  values: Record<string, unknown>;
}

export interface FetchedType {
  items: SourceItem[];
  /** Every page was read: only then may entries missing from `items` be archived. */
  complete: boolean;
  /** External ids the source excluded on purpose (ignore markers): archived if stored. */
  skipped: string[];
  error: string | null;
}

export interface FetchContext {
  signal: AbortSignal;
  progress(typeKey: string, fetched: number, total: number | null): void;
}

export interface CatalogSource {
  source: string;
  types: SyncTypeDef[];
  fetch(typeKeys: string[], ctx: FetchContext): Promise<Record<string, FetchedType>>;
}

export interface SyncOptions {
  runId: string;
  force?: boolean;
  /** Largest share of a type's entries one run may archive; default 0.2. */
  archiveThreshold?: number;
  signal?: AbortSignal;
  lockTtlMs?: number;
  /** Counts the source's requests for the run record. */
  requestCount?: () => number;
  onProgress?: (progress: SyncRun['progress']) => void;
}

export interface SyncDeps {
  catalog: CatalogService;
  runs: SyncRunsRepository;
}

interface TypePlan {
  def: SyncTypeDef;
  type: CatalogType;
  fetched: FetchedType | null;
  stored: Map<string, StoredEntry>;
  writes: EntryWrite[];
  archives: string[];
  stats: TypeRunStats;
}

const emptyStats = (): TypeRunStats => ({ fetched: 0, created: 0, updated: 0, archived: 0, unchanged: 0, skippedByMarker: 0, complete: false, error: null });

export async function runCatalogSync(deps: SyncDeps, source: CatalogSource, opts: SyncOptions): Promise<SyncRun> {
  const { catalog, runs } = deps;
  const run = await runs.get(opts.runId);
  const ttl = opts.lockTtlMs ?? 60_000;
  await runs.acquire(source.source, run.id, ttl);
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(opts.signal!.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const progress: SyncRun['progress'] = {};
  const requests = () => opts.requestCount?.() ?? 0;
  let lastSave = 0;
  let saving: Promise<void> | null = null;
  const heartbeat = async (force = false) => {
    if (!force && Date.now() - lastSave < 500) return;
    lastSave = Date.now();
    if (!(await runs.renew(source.source, run.id, ttl))) controller.abort(new SyncBusyError(source.source, 'another run'));
    await runs.saveProgress(run.id, progress, requests());
  };
  const timer = setInterval(() => void heartbeat(true).catch(() => {}), Math.max(1000, ttl / 3));
  timer.unref?.();
  try {
    await runs.markStarted(run.id);
    const wanted = source.types.filter((t) => run.types.length === 0 || run.types.includes(t.key));
    for (const t of wanted) progress[t.key] = { fetched: 0, total: null };
    opts.onProgress?.(progress);

    // 1. Fetch everything first. Nothing is written until every page of every type is in.
    const fetched = await source.fetch(
      wanted.map((t) => t.key),
      {
        signal: controller.signal,
        progress(key, n, total) {
          progress[key] = { fetched: n, total };
          opts.onProgress?.(progress);
          if (!saving) saving = heartbeat().catch(() => {}).finally(() => (saving = null));
        },
      },
    );
    controller.signal.throwIfAborted();

    // 2. Load what is stored, for the fetched types and every type they reference.
    const defsByName = new Map(source.types.map((d) => [d.typeName, d]));
    const plans = new Map<string, TypePlan>();
    for (const def of source.types) {
      const involved = wanted.includes(def) || wanted.some((w) => w.attributes.some((a) => a.referenceType === def.typeName));
      if (!involved) continue;
      const type = await catalog.getType(def.typeName);
      const f = wanted.includes(def) ? (fetched[def.key] ?? { items: [], complete: false, skipped: [], error: 'the source returned nothing for this type' }) : null;
      const stats = emptyStats();
      if (f) Object.assign(stats, { fetched: f.items.length, skippedByMarker: f.skipped.length, complete: f.complete, error: f.error });
      plans.set(def.typeName, { def, type, fetched: f, stored: await catalog.snapshot(type.id), writes: [], archives: [], stats });
    }

    // 3. Entry ids for everything that will exist after the run, so references can point at new entries.
    const idMaps = new Map<string, Map<string, string>>();
    for (const p of plans.values()) {
      const m = new Map<string, string>();
      if (!p.fetched || !p.fetched.complete) for (const s of p.stored.values()) if (s.archivedAt === null) m.set(s.externalId, s.id);
      if (p.fetched) for (const it of p.fetched.items) m.set(it.externalId, p.stored.get(it.externalId)?.id ?? newId());
      const skipped = new Set(p.fetched?.skipped ?? []);
      for (const id of skipped) m.delete(id);
      idMaps.set(p.def.typeName, m);
    }

    // 4. The difference, per fetched type.
    for (const p of plans.values()) {
      if (!p.fetched) continue;
      const seen = new Set<string>();
      for (const it of p.fetched.items) {
        if (seen.has(it.externalId)) continue;
        seen.add(it.externalId);
        const refs: [string, string][] = [];
        const attrs: Record<string, unknown> = {};
        for (const a of p.type.attributes) {
          const raw = it.values[a.id];
          if (a.type === 'reference') {
            const target = idMaps.get(a.referenceType ?? '');
            const ids = (Array.isArray(raw) ? raw : raw == null ? [] : [raw]).map((x) => target?.get(String(x))).filter((x): x is string => !!x);
            const unique = [...new Set(ids)].sort();
            for (const id of unique) refs.push([a.id, id]);
            attrs[a.id] = a.array ? unique : (unique[0] ?? null);
          } else {
            attrs[a.id] = raw === undefined ? (a.array ? [] : null) : raw;
          }
        }
        const stored = p.stored.get(it.externalId);
        const w: EntryWrite = {
          id: stored?.id ?? idMaps.get(p.def.typeName)!.get(it.externalId)!,
          externalId: it.externalId,
          name: it.name,
          aliases: JSON.stringify(it.aliases ?? []),
          attributes: JSON.stringify(attrs),
          externalUrl: it.externalUrl ?? null,
          refs,
          isNew: !stored,
        };
        if (!stored) {
          p.writes.push(w);
          p.stats.created++;
        } else if (stored.archivedAt !== null || stored.name !== w.name || stored.aliases !== w.aliases || stored.attributes !== w.attributes || stored.externalUrl !== w.externalUrl) {
          p.writes.push(w);
          p.stats.updated++;
        } else p.stats.unchanged++;
      }
      if (p.fetched.complete && !p.fetched.error) {
        for (const s of p.stored.values()) if (s.archivedAt === null && !seen.has(s.externalId)) p.archives.push(s.id);
      }
      p.stats.archived = p.archives.length;
    }
    // Ignore markers: an entry skipped by the source is archived even if it was seen (it cannot be: skipped items are not in `items`).

    // 5. Safety: refuse to empty a type or archive too much of it, unless forced.
    const threshold = opts.archiveThreshold ?? 0.2;
    const reasons: string[] = [];
    for (const p of plans.values()) {
      if (!p.fetched || !p.fetched.complete) continue;
      const active = [...p.stored.values()].filter((s) => s.archivedAt === null).length;
      if (active > 0 && p.fetched.items.length === 0) reasons.push(`${p.def.name}: the source returned no entries but ${active} are stored; refusing to archive them all`);
      else if (active > 0 && p.archives.length > threshold * active) {
        reasons.push(`${p.def.name}: this run would archive ${p.archives.length} of ${active} entries (${Math.round((100 * p.archives.length) / active)}%, more than the ${Math.round(threshold * 100)}% allowed)`);
      }
    }
    const stats = Object.fromEntries([...plans.values()].filter((p) => p.fetched).map((p) => [p.def.key, p.stats]));
    const errors = [...plans.values()].filter((p) => p.fetched?.error).map((p) => `${p.def.name}: ${p.fetched!.error}`);
    if (reasons.length > 0 && !opts.force) {
      for (const p of plans.values()) Object.assign(p.stats, { created: 0, updated: 0, archived: 0 });
      return await runs.finish(run.id, { status: 'stopped', stats, progress, requests: requests(), errors, stopReason: `${reasons.join('; ')}. Nothing was changed; run the sync with force to apply it.`, rowsWritten: 0 });
    }

    // 6. Apply: creates and updates of every type, then archives.
    controller.signal.throwIfAborted();
    let rows = 0;
    for (const p of plans.values()) rows += await catalog.applyWrites(p.type.id, p.writes);
    for (const p of plans.values()) rows += await catalog.archiveEntries(p.archives);
    const done = [...plans.values()].filter((p) => p.fetched && !p.fetched.error).map((p) => p.type.id);
    await catalog.markSynced(done, nowIso());
    const failedAll = errors.length > 0 && done.length === 0;
    return await runs.finish(run.id, { status: failedAll ? 'failed' : errors.length ? 'partial' : 'succeeded', stats, progress, requests: requests(), errors, stopReason: null, rowsWritten: rows });
  } catch (err) {
    if (err instanceof SyncBusyError) throw err;
    const reason = controller.signal.aborted && controller.signal.reason instanceof Error ? controller.signal.reason.message : (err as Error).message;
    await runs.finish(run.id, { status: 'failed', stats: {}, progress, requests: requests(), errors: [`${reason}; nothing was archived`], stopReason: null, rowsWritten: 0 }).catch(() => {});
    throw err;
  } finally {
    clearInterval(timer);
    opts.signal?.removeEventListener('abort', onOuterAbort);
    await saving;
    await runs.release(source.source, run.id).catch(() => {});
  }
}

