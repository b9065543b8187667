import type { Db } from '../platform/db/index.js';
import type { Actor } from '../platform/events.js';
import type { Incident } from '../incidents/incident-view.js';
import '../catalog/tables.js';
import type { BuiltEnvironment } from './environment.js';
import type { EvaluationContext, LoadedEntry } from './runtime.js';

// Loading what evaluations need for one incident, once per incident change: the incident, its custom field values
// and the catalog entries reachable from them. Breadth-first from the entries the custom fields name, one batched
// query per hop (ids in chunks), following reference attributes up to `maxDepth` hops and `maxEntries` entries;
// then the backlinks of every loaded entry (one more batched query), with the entries they come from and those
// entries' own references one hop on. What the bounds leave out is remembered, so an evaluation that needs it
// stops with `expression_too_costly` (limit `context`) instead of giving a wrong answer.

export interface ContextBounds {
  maxDepth: number;
  maxEntries: number;
  maxBacklinks: number;
}

export const DEFAULT_BOUNDS: ContextBounds = { maxDepth: 4, maxEntries: 5000, maxBacklinks: 5000 };

const CHUNK = 500;

function chunks<T>(xs: T[], n = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

export interface CustomFieldValuesPort {
  /** Stored values by incident, per contracts §1 (`CustomFieldsService.valuesFor`). */
  valuesFor(incidentIds: string[]): Promise<Map<string, { field: { key: string }; value: string | number | string[] }[]>>;
}

export async function loadContext(
  deps: { db: Db; getIncident(id: string): Promise<Incident>; customFields: CustomFieldValuesPort | null },
  built: BuiltEnvironment,
  incidentIdOrRef: string,
  actor: Actor | undefined,
  bounds: ContextBounds = DEFAULT_BOUNDS,
): Promise<EvaluationContext> {
  const started = performance.now();
  let queries = 0;
  const { db } = deps;
  const incident = await deps.getIncident(incidentIdOrRef);
  queries++;
  const userIds = [incident.lead?.id, actor?.kind === 'user' ? actor.userId : null].filter((x): x is string => !!x);
  const [users, values] = await Promise.all([
    userIds.length ? db.selectFrom('users').select(['id', 'name', 'email']).where('id', 'in', userIds).execute() : Promise.resolve([]),
    deps.customFields ? deps.customFields.valuesFor([incident.id]) : Promise.resolve(new Map()),
  ]);
  queries += 2;
  const userById = new Map(users.map((u) => [u.id, u]));
  const customValues = new Map<string, string | number | string[]>();
  for (const v of values.get(incident.id) ?? []) customValues.set(v.field.key, v.value);

  // ---- catalog: breadth-first over references ----
  const refAttrs = new Map<string, { id: string }[]>();
  for (const rt of built.typesById.values()) refAttrs.set(rt.type.id, rt.type.attributes.filter((a) => a.type === 'reference'));
  const entries = new Map<string, LoadedEntry>();
  const unloaded = new Set<string>();
  const known = new Set<string>();
  let frontier: string[] = [];
  for (const f of built.schema.fields) {
    if (f.type !== 'catalog') continue;
    const v = customValues.get(f.key);
    for (const id of Array.isArray(v) ? v : typeof v === 'string' ? [v] : []) if (!known.has(id)) (known.add(id), frontier.push(id));
  }

  const attempted = new Set<string>();
  const loadRows = async (ids: string[]): Promise<LoadedEntry[]> => {
    const out: LoadedEntry[] = [];
    for (const id of ids) attempted.add(id);
    for (const part of chunks(ids)) {
      queries++;
      const rows = await db.selectFrom('catalog_entries').select(['id', 'type_id', 'name', 'external_id', 'archived_at', 'external_url', 'attributes']).where('id', 'in', part).execute();
      for (const r of rows) {
        const e: LoadedEntry = { id: r.id, typeId: r.type_id, name: r.name, externalId: r.external_id, archived: r.archived_at !== null, url: r.external_url, attributes: JSON.parse(r.attributes) as Record<string, unknown> };
        entries.set(e.id, e);
        out.push(e);
      }
    }
    return out;
  };
  /** Takes what fits under maxEntries; the rest is remembered as unloaded. */
  const admit = (ids: string[]): string[] => {
    const room = Math.max(0, bounds.maxEntries - entries.size);
    for (const id of ids.slice(room)) unloaded.add(id);
    return ids.slice(0, room);
  };
  const refsOf = (loaded: LoadedEntry[]): string[] => {
    const next: string[] = [];
    for (const e of loaded) {
      for (const a of refAttrs.get(e.typeId) ?? []) {
        const v = e.attributes[a.id];
        for (const id of Array.isArray(v) ? v : typeof v === 'string' ? [v] : []) {
          if (typeof id !== 'string' || known.has(id)) continue;
          known.add(id);
          next.push(id);
        }
      }
    }
    return next;
  };

  let depth = 0;
  while (frontier.length > 0) {
    const loaded = await loadRows(admit(frontier));
    if (depth >= bounds.maxDepth) break; // past the last hop we follow (what they reference is marked below)
    depth++;
    frontier = refsOf(loaded);
  }

  // ---- backlinks of everything loaded, one hop ----
  const backlinks = new Map<string, { fromId: string; attributeId: string }[]>();
  const backlinksLoaded = new Set<string>();
  let backCount = 0;
  const targets = [...entries.keys()];
  const fromIds: string[] = [];
  for (const part of chunks(targets)) {
    if (backCount >= bounds.maxBacklinks) break;
    queries++;
    const rows = await db.selectFrom('catalog_entry_refs').select(['from_entry_id', 'attribute_id', 'to_entry_id']).where('to_entry_id', 'in', part).limit(bounds.maxBacklinks - backCount + 1).execute();
    if (backCount + rows.length > bounds.maxBacklinks) break; // this chunk does not fit whole: its targets stay unloaded
    backCount += rows.length;
    for (const id of part) backlinksLoaded.add(id);
    for (const r of rows) {
      let l = backlinks.get(r.to_entry_id);
      if (!l) backlinks.set(r.to_entry_id, (l = []));
      l.push({ fromId: r.from_entry_id, attributeId: r.attribute_id });
      if (!known.has(r.from_entry_id)) {
        known.add(r.from_entry_id);
        fromIds.push(r.from_entry_id);
      }
    }
  }
  if (fromIds.length) {
    const loaded = await loadRows(admit(fromIds));
    const next = refsOf(loaded);
    if (next.length) await loadRows(admit(next));
  }

  // Every reference from a loaded entry to one not loaded (and not found missing) is beyond the bounds.
  for (const e of entries.values()) {
    for (const a of refAttrs.get(e.typeId) ?? []) {
      const v = e.attributes[a.id];
      for (const id of Array.isArray(v) ? v : typeof v === 'string' ? [v] : []) if (typeof id === 'string' && !entries.has(id) && !attempted.has(id)) unloaded.add(id);
    }
  }

  const severities = (await db.selectFrom('severities').select(['id', 'name', 'rank']).execute()).map((s) => ({ id: s.id, name: s.name, rank: Number(s.rank) }));
  queries++;
  const lead = incident.lead ? userById.get(incident.lead.id) : undefined;
  const actorUser = actor?.kind === 'user' && actor.userId ? userById.get(actor.userId) : undefined;
  return {
    version: built.version,
    incident: {
      id: incident.id,
      reference: incident.reference,
      name: incident.name,
      summary: incident.summary,
      severity: incident.severity,
      status: { name: incident.status.name, category: incident.status.category },
      mode: incident.mode,
      lead: lead ? { name: lead.name, email: lead.email } : null,
      createdAt: incident.createdAt,
      updatedAt: incident.updatedAt,
    },
    customValues,
    actor: { kind: actor?.kind ?? 'system', name: actorUser?.name ?? null, email: actorUser?.email ?? null },
    severities,
    entries,
    unloaded,
    backlinks,
    backlinksLoaded,
    stats: { entries: entries.size, depth, truncated: unloaded.size > 0, loadMs: performance.now() - started, queries },
  };
}
