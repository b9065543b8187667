import type { Executor } from '../platform/db/index.js';
import { newId, nowIso } from '../platform/ids.js';
import type { CatalogService } from './catalog.service.js';
import type { CatalogAttribute, CatalogType } from './model.js';
import { entryDigest, type EntryWrite, type StoredDigest } from './sync-writes.js';
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
  /**
   * The listing ended without an error but could not reach every object (a limit of the source's API). The
   * engine then asks `source.lookUp` about the stored entries the listing did not see, one by one.
   */
  lookUp?: boolean;
  /** Known limits of this run worth telling people (the run still succeeds). */
  warnings?: string[];
}

export interface FetchContext {
  signal: AbortSignal;
  progress(typeKey: string, fetched: number, total: number | null): void;
}

export interface LookUpResult {
  /** Objects found (stored entries that still exist, or objects found another way). */
  items: SourceItem[];
  /** External ids the source confirmed no longer exist: archived. */
  gone: string[];
  warnings: string[];
}

export interface CatalogSource {
  source: string;
  types: SyncTypeDef[];
  fetch(typeKeys: string[], ctx: FetchContext): Promise<Record<string, FetchedType>>;
  /**
   * For a type fetched with `lookUp: true`: check the stored entries the listing did not see (`unseen`, null
   * when there were more than the engine checks in one run) and anything else the source can find on its own.
   */
  lookUp?(typeKey: string, unseen: string[] | null, ctx: FetchContext): Promise<LookUpResult>;
  /**
   * Whether a stored entry (by external id) is this source's. Sources that share their types with others (several
   * PagerDuty accounts) say which entries are theirs: a run reads, references, updates and archives only those.
   * Without it every entry of the types is the source's.
   */
  owns?(externalId: string): boolean;
}

/** A run stops on purpose (disconnection, reconnection with another key): recorded as cancelled, not failed. */
export class SyncCancelledError extends Error {}

/** At most this many unseen entries of a type are looked up one by one in a run, and at most 5% of the type. */
export const MAX_LOOKUPS_PER_TYPE = 500;
export const lookUpLimit = (activeEntries: number) => Math.min(MAX_LOOKUPS_PER_TYPE, Math.max(1, Math.ceil(activeEntries * 0.05)));

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
  /**
   * Whether the run may go on: a reason to stop (e.g. the source was disconnected, in any process), or null.
   * Checked every `guardIntervalMs` (default 250) while the run works, and inside each write transaction (given
   * that transaction) so nothing is written once it says stop.
   */
  guard?: (tx?: Executor) => Promise<string | null>;
  guardIntervalMs?: number;
  /** Record the synced types' last-synced time (default true); a source sharing types with another may keep its own. */
  markSynced?: boolean;
}

export interface SyncDeps {
  catalog: CatalogService;
  runs: SyncRunsRepository;
}

interface TypePlan {
  def: SyncTypeDef;
  type: CatalogType;
  fetched: FetchedType | null;
  stored: Map<string, StoredDigest>;
  /** Entry ids to archive. */
  archives: string[];
  /** External ids the source confirmed gone (looked up one by one). */
  gone: Set<string>;
  stats: TypeRunStats;
}

const emptyStats = (): TypeRunStats => ({ fetched: 0, created: 0, updated: 0, archived: 0, unchanged: 0, skippedByMarker: 0, lookedUp: 0, complete: false, error: null, warnings: [] });

export async function runCatalogSync(deps: SyncDeps, source: CatalogSource, opts: SyncOptions): Promise<SyncRun> {
  const { catalog, runs } = deps;
  const run = await runs.get(opts.runId);
  const ttl = opts.lockTtlMs ?? 60_000;
  await runs.acquire(source.source, run.id, ttl);
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(opts.signal!.reason);
  if (opts.signal?.aborted) onOuterAbort();
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const progress: SyncRun['progress'] = {};
  const requests = () => opts.requestCount?.() ?? 0;
  let lastSave = 0;
  let saving: Promise<void> | null = null;
  let rows = 0;
  const heartbeat = async (force = false) => {
    if (!force && Date.now() - lastSave < 500) return;
    lastSave = Date.now();
    if (!(await runs.renew(source.source, run.id, ttl))) controller.abort(new SyncBusyError(source.source, 'another run'));
    await runs.saveProgress(run.id, progress, requests());
  };
  const timer = setInterval(() => void heartbeat(true).catch(() => {}), Math.max(1000, ttl / 3));
  timer.unref?.();
  // The guard: another process may disconnect the source at any time; the run notices within an interval and
  // stops (its requests are aborted through the signal), and every write transaction checks it again.
  const checkGuard = async () => {
    if (!opts.guard || controller.signal.aborted) return;
    const why = await opts.guard();
    if (why && !controller.signal.aborted) controller.abort(new SyncCancelledError(why));
  };
  let guarding: Promise<void> | null = null;
  const guardTimer = opts.guard
    ? setInterval(() => {
        if (!guarding) guarding = checkGuard().catch(() => {}).finally(() => (guarding = null));
      }, opts.guardIntervalMs ?? 250)
    : null;
  guardTimer?.unref?.();
  const inTx = opts.guard
    ? async (tx: Executor) => {
        const why = await opts.guard!(tx);
        if (why) {
          const e = new SyncCancelledError(why);
          if (!controller.signal.aborted) controller.abort(e);
          throw e;
        }
      }
    : undefined;
  try {
    await runs.markStarted(run.id);
    await checkGuard();
    controller.signal.throwIfAborted();
    const wanted = source.types.filter((t) => run.types.length === 0 || run.types.includes(t.key));
    for (const t of wanted) progress[t.key] = { fetched: 0, total: null };
    opts.onProgress?.(progress);

    // 1. Fetch everything first. Nothing is written until every page of every type is in.
    const ctx: FetchContext = {
      signal: controller.signal,
      progress(key, n, total) {
        progress[key] = { fetched: n, total };
        opts.onProgress?.(progress);
        if (!saving) saving = heartbeat().catch(() => {}).finally(() => (saving = null));
      },
    };
    const fetched = await source.fetch(
      wanted.map((t) => t.key),
      ctx,
    );
    controller.signal.throwIfAborted();

    // 2. Load what is stored (ids and a digest of each entry, not its JSON), for the fetched types and every
    //    type they reference.
    const plans = new Map<string, TypePlan>();
    for (const def of source.types) {
      const involved = wanted.includes(def) || wanted.some((w) => w.attributes.some((a) => a.referenceType === def.typeName));
      if (!involved) continue;
      const type = await catalog.getType(def.typeName);
      const f = wanted.includes(def) ? (fetched[def.key] ?? { items: [], complete: false, skipped: [], error: 'the source returned nothing for this type' }) : null;
      const stats = emptyStats();
      if (f) Object.assign(stats, { fetched: f.items.length, skippedByMarker: f.skipped.length, complete: f.complete, error: f.error, warnings: [...(f.warnings ?? [])] });
      let stored = await catalog.snapshotDigests(type.id);
      if (source.owns) stored = new Map([...stored].filter(([externalId]) => source.owns!(externalId)));
      plans.set(def.typeName, { def, type, fetched: f, stored, archives: [], gone: new Set(), stats });
    }

    // 3. A listing that could not reach every object (no error, a limit of the source): the stored entries it
    //    did not see are looked up one by one (up to a bound); those confirmed gone are archived, the others kept.
    for (const p of plans.values()) {
      const f = p.fetched;
      if (!f || f.complete || f.error || !f.lookUp || !source.lookUp) continue;
      const listed = new Set(f.items.map((i) => i.externalId));
      const skipped = new Set(f.skipped);
      let active = 0;
      const unseen: string[] = [];
      for (const s of p.stored.values()) {
        if (s.archivedAt !== null) continue;
        active++;
        if (!listed.has(s.externalId) && !skipped.has(s.externalId)) unseen.push(s.externalId);
      }
      const limit = lookUpLimit(active);
      const checked = unseen.length <= limit ? unseen : null;
      let r: LookUpResult;
      try {
        r = await source.lookUp(p.def.key, checked, ctx);
      } catch (err) {
        controller.signal.throwIfAborted();
        r = { items: [], gone: [], warnings: [`looking up entries one by one failed (${(err as Error).message}); none was archived`] };
      }
      controller.signal.throwIfAborted();
      for (const it of r.items) {
        if (listed.has(it.externalId)) continue;
        listed.add(it.externalId);
        f.items.push(it);
      }
      for (const id of r.gone) if (!listed.has(id) && p.stored.get(id)?.archivedAt === null) p.gone.add(id);
      p.stats.lookedUp = checked?.length ?? 0;
      p.stats.fetched = f.items.length;
      if (!checked) p.stats.warnings.push(`${unseen.length} stored entries the listing did not reach were not checked one by one (a run checks at most ${limit}); none of them was archived`);
      p.stats.warnings.push(...r.warnings);
    }

    // 4. Entry ids for everything that will exist after the run, so references can point at new entries.
    const idMaps = new Map<string, Map<string, string>>();
    for (const p of plans.values()) {
      const m = new Map<string, string>();
      if (!p.fetched || !p.fetched.complete) for (const s of p.stored.values()) if (s.archivedAt === null && !p.gone.has(s.externalId)) m.set(s.externalId, s.id);
      if (p.fetched) for (const it of p.fetched.items) m.set(it.externalId, p.stored.get(it.externalId)?.id ?? newId());
      for (const id of p.fetched?.skipped ?? []) m.delete(id);
      idMaps.set(p.def.typeName, m);
    }

    // 5. What each type would archive, and the safety rules: refuse to empty a type or archive too much of it.
    const threshold = opts.archiveThreshold ?? 0.2;
    const reasons: string[] = [];
    for (const p of plans.values()) {
      const f = p.fetched;
      if (!f) continue;
      let active = 0;
      if (f.complete && !f.error) {
        const seen = new Set(f.items.map((i) => i.externalId));
        for (const s of p.stored.values()) {
          if (s.archivedAt !== null) continue;
          active++;
          if (!seen.has(s.externalId)) p.archives.push(s.id);
        }
      } else {
        for (const s of p.stored.values()) if (s.archivedAt === null) active++;
        for (const id of p.gone) p.archives.push(p.stored.get(id)!.id);
      }
      p.stats.archived = p.archives.length;
      if (active > 0 && f.complete && f.items.length === 0) reasons.push(`${p.def.name}: the source returned no entries but ${active} are stored; refusing to archive them all`);
      else if (active > 0 && p.archives.length > threshold * active) {
        reasons.push(`${p.def.name}: this run would archive ${p.archives.length} of ${active} entries (${Math.round((100 * p.archives.length) / active)}%, more than the ${Math.round(threshold * 100)}% allowed)`);
      }
    }
    const fetchedPlans = [...plans.values()].filter((p) => p.fetched);
    const statsOf = () => Object.fromEntries(fetchedPlans.map((p) => [p.def.key, p.stats]));
    const errors = fetchedPlans.filter((p) => p.fetched!.error).map((p) => `${p.def.name}: ${p.fetched!.error}`);
    if (reasons.length > 0 && !opts.force) {
      for (const p of plans.values()) Object.assign(p.stats, { created: 0, updated: 0, archived: 0 });
      return await runs.finish(run.id, { status: 'stopped', stats: statsOf(), progress, requests: requests(), errors, stopReason: `${reasons.join('; ')}. Nothing was changed; run the sync with force to apply it.`, rowsWritten: 0 });
    }

    // 6. Apply, one type at a time (its difference computed, written, then let go): creates and updates of
    //    every type first, then archives.
    for (const p of fetchedPlans) {
      controller.signal.throwIfAborted();
      rows += await catalog.applyWrites(p.type.id, diff(p, idMaps), inTx);
      p.fetched!.items = [];
    }
    for (const p of fetchedPlans) {
      controller.signal.throwIfAborted();
      rows += await catalog.archiveEntries(p.archives, inTx);
    }
    const done = fetchedPlans.filter((p) => !p.fetched!.error).map((p) => p.type.id);
    if (opts.markSynced !== false) await catalog.markSynced(done, nowIso());
    const failedAll = errors.length > 0 && done.length === 0;
    return await runs.finish(run.id, { status: failedAll ? 'failed' : errors.length ? 'partial' : 'succeeded', stats: statsOf(), progress, requests: requests(), errors, stopReason: null, rowsWritten: rows });
  } catch (err) {
    if (err instanceof SyncBusyError) throw err;
    const cause = controller.signal.aborted ? controller.signal.reason : err;
    if (cause instanceof SyncCancelledError) {
      // Stopped on purpose: not a failure. What was written before the stop (if anything) stays.
      const what = rows > 0 ? 'The sync stopped; what it had written before stays, nothing more was written.' : 'The sync stopped and wrote nothing; nothing was archived.';
      return await runs.finish(run.id, { status: 'cancelled', stats: {}, progress, requests: requests(), errors: [], stopReason: `${cause.message}. ${what}`, rowsWritten: rows });
    }
    const reason = cause instanceof Error ? cause.message : (err as Error).message;
    await runs.finish(run.id, { status: 'failed', stats: {}, progress, requests: requests(), errors: [`${reason}; nothing was archived`], stopReason: null, rowsWritten: rows }).catch(() => {});
    throw err;
  } finally {
    clearInterval(timer);
    if (guardTimer) clearInterval(guardTimer);
    opts.signal?.removeEventListener('abort', onOuterAbort);
    await saving;
    await guarding;
    await runs.release(source.source, run.id).catch(() => {});
  }
}

/** The writes of one fetched type, made as they are consumed: only entries whose content differs from what is stored (by digest). */
function* diff(p: TypePlan, idMaps: Map<string, Map<string, string>>): Generator<EntryWrite> {
  const seen = new Set<string>();
  for (const it of p.fetched!.items) {
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
    const aliases = JSON.stringify(it.aliases ?? []);
    const attributes = JSON.stringify(attrs);
    const externalUrl = it.externalUrl ?? null;
    if (stored && stored.archivedAt === null && stored.digest === entryDigest(it.name, aliases, attributes, externalUrl)) {
      p.stats.unchanged++;
      continue;
    }
    if (stored) p.stats.updated++;
    else p.stats.created++;
    yield { id: stored?.id ?? idMaps.get(p.def.typeName)!.get(it.externalId)!, externalId: it.externalId, name: it.name, aliases, attributes, externalUrl, refs, isNew: !stored };
  }
}
