import type { Executor } from '../platform/db/index.js';
import { entryFromRow, type CatalogAttribute, type CatalogEntry } from './model.js';
import type { TypeLookup } from './schema-rules.js';
import { chunk, CHUNK } from './sync-writes.js';
import './tables.js';

// Derived attributes are computed when read, never stored: from each entry, follow the path's hops through the
// references (loading the entries each hop reaches, a batch per hop whatever the number of start entries), and
// collect what the last hop holds, de-duplicated in the order found. A hop that is itself derived is followed
// through its own path (the schema rules refuse cycles when a type is saved; `stack` guards anyway).

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === null || v === undefined || v === '' ? [] : [v]);

export class PathFollower {
  private readonly cache = new Map<string, CatalogEntry>();

  constructor(
    private readonly db: Executor,
    private readonly lookup: TypeLookup,
  ) {}

  /** Each start entry's derived value: a list (entry ids when the path ends on a reference), or one value (or null) when no hop is a list. */
  async compute(typeName: string, attribute: CatalogAttribute, starts: CatalogEntry[]): Promise<Map<string, unknown>> {
    for (const e of starts) this.cache.set(e.id, e);
    const values = await this.follow(typeName, attribute.path ?? [], new Map(starts.map((e) => [e.id, [e.id]])), [`${typeName}.${attribute.id}`]);
    return new Map(starts.map((e) => {
      const v = values.get(e.id) ?? [];
      return [e.id, attribute.array ? v : (v[0] ?? null)];
    }));
  }

  private async load(ids: Iterable<string>): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.cache.has(id));
    for (const part of chunk(missing, CHUNK)) {
      const rows = await this.db.selectFrom('catalog_entries').selectAll().where('id', 'in', part).execute();
      for (const r of rows) this.cache.set(r.id, entryFromRow(r));
    }
  }

  /** For each key, the entries it stands at (all of `typeName`) → what following `path` from them collects. */
  private async follow(typeName: string, path: string[], at: Map<string, string[]>, stack: string[]): Promise<Map<string, unknown[]>> {
    if (stack.length > 20) return new Map();
    let current = typeName;
    let sets = at;
    for (let i = 0; i < path.length; i++) {
      const t = this.lookup(current);
      const a = t?.attributes.find((x) => x.id === path[i]);
      if (!t || !a) return new Map();
      await this.load([...sets.values()].flat());
      let valuesOf: (id: string) => unknown[];
      if (a.type === 'derived') {
        const key = `${t.typeName}.${a.id}`;
        if (stack.includes(key)) return new Map();
        const ids = [...new Set([...sets.values()].flat())];
        const inner = await this.follow(t.typeName, a.path ?? [], new Map(ids.map((id) => [id, [id]])), [...stack, key]);
        valuesOf = (id) => inner.get(id) ?? [];
      } else {
        valuesOf = (id) => asList(this.cache.get(id)?.attributes[a.id]);
      }
      const next = new Map<string, unknown[]>();
      for (const [key, ids] of sets) {
        const seen = new Set<string>();
        const out: unknown[] = [];
        for (const id of ids) {
          for (const v of valuesOf(id)) {
            const k = typeof v === 'string' ? `s:${v}` : JSON.stringify(v);
            if (seen.has(k)) continue;
            seen.add(k);
            out.push(v);
          }
        }
        next.set(key, out);
      }
      if (i === path.length - 1) return next;
      // a reference, or a derived hop ending on one (its referenceType is what its own path ends on)
      if (!a.referenceType) return new Map();
      current = a.referenceType;
      sets = new Map([...next].map(([k, v]) => [k, v.map(String)]));
    }
    return new Map();
  }
}
