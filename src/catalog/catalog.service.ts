import { sql } from 'kysely';
import type { Db, Executor } from '../platform/db/index.js';
import { ConflictError, NotFoundError, ValidationError } from '../platform/errors.js';
import { newId, nowIso } from '../platform/ids.js';
import { entryFromRow, typeFromRow, type Backlink, type CatalogAttribute, type CatalogEntry, type CatalogType, type ResolvedAttribute, type UserDirectory } from './model.js';
import { applyWrites, archiveEntries, chunk, CHUNK, snapshot, snapshotDigests, type EntryWrite, type StoredDigest, type StoredEntry, type WriteGuard } from './sync-writes.js';
import './tables.js';

// The catalog: types with an attribute schema, entries (external id unique per type) and the references
// between them. Integrations own the types they create (people cannot edit those); custom types are edited
// through the API. Synced data arrives through the sync engine (sync.ts), which uses the snapshot/apply
// functions of sync-writes.ts (reached through this service).

// Callers import the catalog's shapes and the sync engine's write types from here, as before the split.
export { attributeKinds, entryFromRow, normalizeEmailKey, type AttributeKind, type Backlink, type CatalogAttribute, type CatalogEntry, type CatalogType, type ResolvedAttribute, type UserDirectory } from './model.js';
export { chunk, entryDigest, type EntryWrite, type StoredDigest, type StoredEntry, type WriteGuard } from './sync-writes.js';

const encodeCursor = (nameLower: string, id: string) => Buffer.from(JSON.stringify([nameLower, id])).toString('base64url');
function decodeCursor(c: string): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {
    /* fall through */
  }
  throw new ValidationError('The cursor is not one this API returned.');
}

export class CatalogService {
  constructor(
    private readonly db: Db,
    private readonly users: UserDirectory,
  ) {}

  // ---- types ----
  async listTypes(): Promise<(CatalogType & { entryCount: number })[]> {
    const rows = await this.db.selectFrom('catalog_types').selectAll().orderBy('name').execute();
    const counts = await this.db
      .selectFrom('catalog_entries')
      .select(['type_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('archived_at', 'is', null)
      .groupBy('type_id')
      .execute();
    const byType = new Map(counts.map((c) => [c.type_id, Number(c.n)]));
    return rows.map((r) => ({ ...typeFromRow(r), entryCount: byType.get(r.id) ?? 0 }));
  }

  async getType(idOrTypeName: string, db: Executor = this.db): Promise<CatalogType> {
    const r = await db.selectFrom('catalog_types').selectAll().where((eb) => eb.or([eb('id', '=', idOrTypeName), eb('type_name', '=', idOrTypeName)])).executeTakeFirst();
    if (!r) throw new NotFoundError('Catalog type', idOrTypeName);
    return typeFromRow(r);
  }

  async findType(typeName: string, db: Executor = this.db): Promise<CatalogType | null> {
    const r = await db.selectFrom('catalog_types').selectAll().where('type_name', '=', typeName).executeTakeFirst();
    return r ? typeFromRow(r) : null;
  }

  async createType(input: { typeName: string; name: string; description?: string; attributes: Omit<CatalogAttribute, 'id'>[] }): Promise<CatalogType> {
    if (await this.findType(input.typeName)) throw new ConflictError('type_exists', `A catalog type named ${input.typeName} already exists.`);
    for (const a of input.attributes) {
      if (a.type === 'reference' && !a.referenceType) throw new ValidationError(`Attribute ${a.name} is a reference: say which type it references.`);
      if (a.type === 'reference' && !(await this.findType(a.referenceType!))) throw new ValidationError(`Attribute ${a.name} references ${a.referenceType}, which does not exist.`);
    }
    const now = nowIso();
    const id = newId();
    await this.db
      .insertInto('catalog_types')
      .values({
        id,
        type_name: input.typeName,
        name: input.name,
        description: input.description ?? '',
        source: 'custom',
        attributes: JSON.stringify(input.attributes.map((a) => ({ ...a, id: newId() }))),
        sync_interval_ms: null,
        syncing: 0,
        last_synced_at: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    return this.getType(id);
  }

  async deleteType(idOrTypeName: string): Promise<void> {
    const t = await this.getType(idOrTypeName);
    this.assertEditable(t);
    await this.db.deleteFrom('catalog_types').where('id', '=', t.id).execute();
  }

  private assertEditable(t: CatalogType): void {
    if (t.readOnly) throw new ConflictError('read_only_type', `${t.name} is kept in sync by the ${t.source} integration; change it there, not by hand.`);
  }

  /**
   * An integration declares its type: created the first time, its schema kept up to date afterwards.
   * Attribute ids are stable (given by the integration), so stored values survive a rename.
   */
  async ensureIntegrationType(def: { typeName: string; name: string; description: string; source: string; attributes: CatalogAttribute[]; syncIntervalMs: number | null }): Promise<CatalogType> {
    const now = nowIso();
    const existing = await this.findType(def.typeName);
    if (!existing) {
      await this.db
        .insertInto('catalog_types')
        .values({
          id: newId(),
          type_name: def.typeName,
          name: def.name,
          description: def.description,
          source: def.source,
          attributes: JSON.stringify(def.attributes),
          sync_interval_ms: def.syncIntervalMs,
          syncing: 1,
          last_synced_at: null,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('type_name').doNothing())
        .execute();
    } else if (JSON.stringify(existing.attributes) !== JSON.stringify(def.attributes) || existing.name !== def.name || existing.description !== def.description || !existing.syncing || existing.syncIntervalMs !== def.syncIntervalMs) {
      await this.db
        .updateTable('catalog_types')
        .set({ name: def.name, description: def.description, attributes: JSON.stringify(def.attributes), syncing: 1, sync_interval_ms: def.syncIntervalMs, updated_at: now })
        .where('id', '=', existing.id)
        .execute();
    }
    return this.getType(def.typeName);
  }

  /** Disconnecting an integration keeps its entries but marks its types as no longer syncing. */
  async setSourceSyncing(source: string, syncing: boolean, db: Executor = this.db): Promise<void> {
    await db.updateTable('catalog_types').set({ syncing: syncing ? 1 : 0, updated_at: nowIso() }).where('source', '=', source).execute();
  }

  async markSynced(typeIds: string[], at: string): Promise<void> {
    if (typeIds.length === 0) return;
    await this.db.updateTable('catalog_types').set({ last_synced_at: at }).where('id', 'in', typeIds).execute();
  }

  // ---- entries ----
  async listEntries(q: { typeId?: string; search?: string; archived?: 'exclude' | 'include' | 'only'; limit: number; cursor?: string }): Promise<{ entries: CatalogEntry[]; nextCursor: string | null }> {
    let query = this.db.selectFrom('catalog_entries').selectAll();
    if (q.typeId) {
      const t = await this.getType(q.typeId);
      query = query.where('type_id', '=', t.id);
    }
    const archived = q.archived ?? 'exclude';
    if (archived === 'exclude') query = query.where('archived_at', 'is', null);
    if (archived === 'only') query = query.where('archived_at', 'is not', null);
    const search = q.search?.trim().toLowerCase();
    if (search) {
      const like = `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      query = query.where((eb) => eb.or([eb('name_lower', 'like', sql<string>`${like} escape '\\'`), eb('external_id', '=', q.search!.trim()), eb(sql`lower(aliases)`, 'like', sql<string>`${like} escape '\\'`)]));
    }
    if (q.cursor) {
      const [n, id] = decodeCursor(q.cursor);
      query = query.where((eb) => eb.or([eb('name_lower', '>', n), eb.and([eb('name_lower', '=', n), eb('id', '>', id)])]));
    }
    const rows = await query.orderBy('name_lower').orderBy('id').limit(q.limit + 1).execute();
    const more = rows.length > q.limit;
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return { entries: page.map(entryFromRow), nextCursor: more && last ? encodeCursor(last.name_lower, last.id) : null };
  }

  async getEntry(id: string): Promise<CatalogEntry> {
    const r = await this.db.selectFrom('catalog_entries').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw new NotFoundError('Catalog entry', id);
    return entryFromRow(r);
  }

  /** An entry with its attributes resolved (referenced entries and Firebreak users by name) and its backlinks. */
  async describeEntry(id: string): Promise<{ entry: CatalogEntry; type: CatalogType; attributes: ResolvedAttribute[]; backlinks: Backlink[] }> {
    const entry = await this.getEntry(id);
    const type = await this.getType(entry.typeId);
    const [resolved] = await this.resolveAttributes(type, [entry]);
    const refs = await this.db
      .selectFrom('catalog_entry_refs as r')
      .innerJoin('catalog_entries as e', 'e.id', 'r.from_entry_id')
      .select(['r.attribute_id', 'e.id', 'e.name', 'e.type_id', 'e.archived_at'])
      .where('r.to_entry_id', '=', id)
      .orderBy('e.name_lower')
      .execute();
    const types = new Map((await this.listTypesPlain()).map((t) => [t.id, t]));
    const groups = new Map<string, Backlink>();
    for (const r of refs) {
      const t = types.get(r.type_id);
      const attr = t?.attributes.find((a) => a.id === r.attribute_id);
      if (!t || !attr) continue;
      const key = `${t.id}:${attr.id}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { type: { id: t.id, name: t.name }, attribute: { id: attr.id, name: attr.name }, entries: [] }));
      g.entries.push({ id: r.id, name: r.name, archived: r.archived_at !== null });
    }
    return { entry, type, attributes: resolved!, backlinks: [...groups.values()] };
  }

  private async listTypesPlain(): Promise<CatalogType[]> {
    return (await this.db.selectFrom('catalog_types').selectAll().execute()).map(typeFromRow);
  }

  /** Attributes of several entries of one type, references resolved in two queries whatever the count. */
  async resolveAttributes(type: CatalogType, entries: CatalogEntry[]): Promise<ResolvedAttribute[][]> {
    const refIds = new Set<string>();
    let needUsers = false;
    for (const e of entries) {
      for (const a of type.attributes) {
        const v = e.attributes[a.id];
        if (a.type === 'reference') for (const x of Array.isArray(v) ? v : v == null ? [] : [v]) refIds.add(String(x));
        if (a.type === 'firebreak_user' && v) needUsers = true;
      }
    }
    const refRows = refIds.size
      ? (
          await Promise.all(
            chunk([...refIds], CHUNK).map((ids) => this.db.selectFrom('catalog_entries').select(['id', 'name', 'type_id', 'archived_at']).where('id', 'in', ids).execute()),
          )
        ).flat()
      : [];
    const refsById = new Map(refRows.map((r) => [r.id, r]));
    const users = needUsers ? await this.users.byNormalizedEmail() : new Map<string, { id: string; name: string; email: string }>();
    return entries.map((e) =>
      type.attributes.map((a) => {
        const v = e.attributes[a.id] ?? (a.array ? [] : null);
        const links: ResolvedAttribute['links'] = [];
        if (a.type === 'reference') {
          for (const x of Array.isArray(v) ? v : v == null ? [] : [v]) {
            const r = refsById.get(String(x));
            if (r) links.push({ kind: 'entry', id: r.id, name: r.name, typeId: r.type_id, archived: r.archived_at !== null });
          }
        }
        if (a.type === 'firebreak_user' && typeof v === 'string') {
          const u = users.get(v);
          if (u) links.push({ kind: 'user', id: u.id, name: u.name, email: u.email });
        }
        return { attribute: a, value: a.type === 'firebreak_user' ? (links[0] ? links[0].id : null) : v, links };
      }),
    );
  }

  // ---- custom entries (people) ----
  async createEntry(input: { typeId: string; externalId?: string; name: string; aliases?: string[]; attributes?: Record<string, unknown> }): Promise<CatalogEntry> {
    const t = await this.getType(input.typeId);
    this.assertEditable(t);
    const attributes = this.validateValues(t, input.attributes ?? {});
    const now = nowIso();
    const id = newId();
    try {
      await this.db
        .insertInto('catalog_entries')
        .values({
          id,
          type_id: t.id,
          external_id: input.externalId ?? id,
          name: input.name,
          name_lower: input.name.toLowerCase(),
          aliases: JSON.stringify(input.aliases ?? []),
          attributes: JSON.stringify(attributes),
          external_url: null,
          archived_at: null,
          created_at: now,
          updated_at: now,
        })
        .execute();
    } catch (err) {
      if (/unique|duplicate/i.test((err as Error).message)) throw new ConflictError('entry_exists', `${t.name} already has an entry with external id ${input.externalId}.`);
      throw err;
    }
    return this.getEntry(id);
  }

  async archiveEntry(id: string): Promise<CatalogEntry> {
    const e = await this.getEntry(id);
    this.assertEditable(await this.getType(e.typeId));
    await this.db.updateTable('catalog_entries').set({ archived_at: nowIso(), updated_at: nowIso() }).where('id', '=', id).execute();
    return this.getEntry(id);
  }

  private validateValues(t: CatalogType, values: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(values)) {
      const a = t.attributes.find((x) => x.id === k || x.name === k);
      if (!a) throw new ValidationError(`${t.name} has no attribute ${k}.`);
      const check = (x: unknown) => {
        const ok =
          a.type === 'number' ? typeof x === 'number' : a.type === 'bool' ? typeof x === 'boolean' : typeof x === 'string';
        if (!ok) throw new ValidationError(`Attribute ${a.name} expects ${a.type === 'reference' ? 'an entry id' : a.type}.`);
      };
      if (a.array) {
        if (!Array.isArray(v)) throw new ValidationError(`Attribute ${a.name} expects a list.`);
        v.forEach(check);
      } else if (v !== null) check(v);
      out[a.id] = v;
    }
    return out;
  }

  // ---- for the sync engine ----
  /** Every stored entry of a type, archived ones included, keyed by external id. */
  snapshot(typeId: string): Promise<Map<string, StoredEntry>> {
    return snapshot(this.db, typeId);
  }

  /** Every stored entry of a type as a digest (see StoredDigest), read in batches, keyed by external id. */
  snapshotDigests(typeId: string): Promise<Map<string, StoredDigest>> {
    return snapshotDigests(this.db, typeId);
  }

  /** Emails of Firebreak's people, normalized (trimmed, lower case): who a catalog sync should be able to match. */
  async directoryEmails(): Promise<string[]> {
    return [...(await this.users.byNormalizedEmail()).keys()];
  }

  /** Creates and updates, with their reference rows, in one transaction (sync-writes.ts). Returns rows written. */
  applyWrites(typeId: string, writes: Iterable<EntryWrite>, guard?: WriteGuard): Promise<number> {
    return applyWrites(this.db, typeId, writes, guard);
  }

  archiveEntries(ids: string[], guard?: WriteGuard): Promise<number> {
    return archiveEntries(this.db, ids, guard);
  }
}
