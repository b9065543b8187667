import { sql } from 'kysely';
import { inTransaction, type Db, type Executor } from '../platform/db/index.js';
import { isUniqueViolation } from '../platform/db/errors.js';
import { ConflictError, NotFoundError, ValidationError } from '../platform/errors.js';
import { newId, nowIso } from '../platform/ids.js';
import { PathFollower } from './derived.js';
import { describeSchemaChanges, droppedAttributes, normalizeAttributes, recheckDependents, type AttributeInput, type TypeLookup } from './schema-rules.js';
import { entryFromRow, normalizeEmailKey, typeFromRow, type Backlink, type CatalogAttribute, type CatalogEntry, type CatalogType, type ResolvedAttribute, type UserDirectory } from './model.js';
import { applyWrites, archiveEntries, chunk, CHUNK, snapshot, snapshotDigests, type EntryWrite, type StoredDigest, type StoredEntry, type WriteGuard } from './sync-writes.js';
import './tables.js';

// The catalog: types with an attribute schema, entries (external id unique per type) and the references
// between them. Integrations own the types they create (people cannot edit those); custom types are edited
// through the API. Synced data arrives through the sync engine (sync.ts), which uses the snapshot/apply
// functions of sync-writes.ts (reached through this service).

// Callers import the catalog's shapes and the sync engine's write types from here, as before the split.
export { canonicalAttribute, slugify, type AttributeInput } from './schema-rules.js';
export { attributeKinds, entryFromRow, normalizeEmailKey, type AttributeKind, type Backlink, type CatalogAttribute, type CatalogEntry, type CatalogType, type ResolvedAttribute, type UserDirectory } from './model.js';
export { chunk, entryDigest, type EntryWrite, type StoredDigest, type StoredEntry, type WriteGuard } from './sync-writes.js';

/** The key findLiveEntries answers a (type name, external id) pair under. */
export function liveEntryKey(typeName: string, externalId: string): string {
  return `${typeName}\n${externalId}`;
}

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === null || v === undefined || v === '' ? [] : [v]);

/** An entry of a custom type as written: values in stored form and the reference rows they make. */
export interface EntryRow {
  id: string;
  externalId: string;
  name: string;
  aliases: string[];
  attributes: Record<string, unknown>;
  refs: [string, string][];
}

export interface TypeChangePlan {
  name: string;
  description: string;
  attributes: CatalogAttribute[];
  changed: boolean;
  changes: { kind: 'name' | 'description' | 'attribute_added' | 'attribute_removed' | 'attribute_changed'; attribute: { id: string; name: string } | null; message: string; entries: number }[];
  /** Attributes whose values current entries hold and the change drops. */
  valuesDropped: { id: string; name: string; entries: number }[];
  droppedIds: string[];
  dependents: { type: CatalogType; attributes: CatalogAttribute[] }[];
}

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

  /** The database the catalog writes to (catalog as code reads and writes through it in one transaction). */
  get database(): Db {
    return this.db;
  }

  /** Firebreak's people, as catalog values name them (by normalized email). */
  get directory(): UserDirectory {
    return this.users;
  }

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

  /** Every type by type_name, for resolving references and derived paths. */
  async typeLookup(db: Executor = this.db): Promise<{ all: CatalogType[]; lookup: TypeLookup }> {
    const all = (await db.selectFrom('catalog_types').selectAll().execute()).map(typeFromRow);
    const byName = new Map(all.map((t) => [t.typeName, t]));
    return { all, lookup: (n) => byName.get(n) };
  }

  async createType(input: { typeName: string; name: string; description?: string; attributes: AttributeInput[] }, db: Executor = this.db): Promise<CatalogType> {
    if (await this.findType(input.typeName, db)) throw new ConflictError('type_exists', `A catalog type named ${input.typeName} already exists.`);
    const { lookup } = await this.typeLookup(db);
    const attributes = normalizeAttributes({ typeName: input.typeName, name: input.name }, [], input.attributes, lookup);
    const id = newId();
    await this.insertType(db, { id, typeName: input.typeName, name: input.name, description: input.description ?? '', attributes });
    return this.getType(id, db);
  }

  /** Inserts a custom type whose attributes are already normalized. */
  async insertType(db: Executor, t: { id: string; typeName: string; name: string; description: string; attributes: CatalogAttribute[] }, now = nowIso()): Promise<void> {
    try {
      await db
        .insertInto('catalog_types')
        .values({ id: t.id, type_name: t.typeName, name: t.name, description: t.description, source: 'custom', attributes: JSON.stringify(t.attributes), sync_interval_ms: null, syncing: 0, last_synced_at: null, created_at: now, updated_at: now })
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError('type_exists', `A catalog type named ${t.typeName} already exists.`);
      throw err;
    }
  }

  /**
   * What changing a custom type's name, description or attributes would do, without doing it: the new schema,
   * readable changes, attributes whose stored values would be dropped (with how many entries hold one), and
   * other types whose derived attributes resolve differently (a change that breaks one is refused).
   */
  async planTypeChange(t: CatalogType, input: { name?: string; description?: string; attributes?: AttributeInput[] }, db: Executor = this.db): Promise<TypeChangePlan> {
    this.assertEditable(t);
    const { all, lookup } = await this.typeLookup(db);
    const name = input.name ?? t.name;
    const description = input.description ?? t.description;
    const attributes = input.attributes ? normalizeAttributes({ typeName: t.typeName, name }, t.attributes, input.attributes, lookup) : t.attributes;
    const changes: TypeChangePlan['changes'] = [];
    if (name !== t.name) changes.push({ kind: 'name', attribute: null, message: `renamed from "${t.name}" to "${name}"`, entries: 0 });
    if (description !== t.description) changes.push({ kind: 'description', attribute: null, message: 'description changed', entries: 0 });
    const dropped = droppedAttributes(t.attributes, attributes);
    const inUse = new Map<string, number>();
    if (dropped.length > 0) {
      const rows = await db.selectFrom('catalog_entries').select(['attributes']).where('type_id', '=', t.id).where('archived_at', 'is', null).execute();
      for (const r of rows) {
        const values = JSON.parse(r.attributes) as Record<string, unknown>;
        for (const a of dropped) if (asList(values[a.id]).length > 0) inUse.set(a.id, (inUse.get(a.id) ?? 0) + 1);
      }
    }
    for (const c of describeSchemaChanges(t.attributes, attributes)) {
      const n = c.attribute ? (inUse.get(c.attribute.id) ?? 0) : 0;
      changes.push({ ...c, message: n > 0 ? `${c.message} (drops its values on ${n} ${n === 1 ? 'entry' : 'entries'})` : c.message, entries: n });
    }
    const dependents = recheckDependents({ typeName: t.typeName, name, attributes }, all);
    return {
      name,
      description,
      attributes,
      changes,
      changed: changes.length > 0,
      valuesDropped: dropped.filter((a) => inUse.has(a.id)).map((a) => ({ id: a.id, name: a.name, entries: inUse.get(a.id)! })),
      droppedIds: dropped.map((a) => a.id),
      dependents,
    };
  }

  /** Refuses a plan that drops values entries hold unless confirmed (409 attribute_in_use, naming them). */
  assertDropConfirmed(t: CatalogType, plan: TypeChangePlan, confirm: boolean | undefined, how: string): void {
    if (plan.valuesDropped.length === 0 || confirm) return;
    const list = plan.valuesDropped.map((a) => `"${a.name}" (${a.entries} ${a.entries === 1 ? 'entry' : 'entries'})`).join(', ');
    throw new ConflictError('attribute_in_use', `${t.name}: this removes or changes the kind of attributes that entries have values for: ${list}. Their values would be dropped; ${how} to go ahead.`, { attributes: plan.valuesDropped });
  }

  /** Writes a planned type change (inside the caller's transaction): the type, dropped values, dependent types. */
  async writeTypeChange(tx: Executor, t: CatalogType, plan: TypeChangePlan, now = nowIso()): Promise<void> {
    if (!plan.changed) return;
    await tx.updateTable('catalog_types').set({ name: plan.name, description: plan.description, attributes: JSON.stringify(plan.attributes), updated_at: now }).where('id', '=', t.id).execute();
    if (plan.droppedIds.length > 0) {
      const rows = await tx.selectFrom('catalog_entries').select(['id', 'attributes']).where('type_id', '=', t.id).execute();
      for (const r of rows) {
        const values = JSON.parse(r.attributes) as Record<string, unknown>;
        if (!plan.droppedIds.some((id) => id in values)) continue;
        const had = plan.droppedIds.some((id) => asList(values[id]).length > 0);
        for (const id of plan.droppedIds) delete values[id];
        await tx.updateTable('catalog_entries').set({ attributes: JSON.stringify(values), ...(had ? { updated_at: now } : {}) }).where('id', '=', r.id).execute();
      }
      for (const part of chunk(rows.map((r) => r.id), CHUNK)) await tx.deleteFrom('catalog_entry_refs').where('from_entry_id', 'in', part).where('attribute_id', 'in', plan.droppedIds).execute();
    }
    for (const d of plan.dependents) await tx.updateTable('catalog_types').set({ attributes: JSON.stringify(d.attributes), updated_at: now }).where('id', '=', d.type.id).execute();
  }

  /**
   * Renames a custom type, changes its description, or its attributes (the full new list: an attribute keeps its
   * id, and so its values, when given with it or by its unchanged name). Dropping values that entries hold needs
   * `confirm`; the type_name never changes (references and documents name the type by it).
   */
  async updateType(idOrTypeName: string, input: { name?: string; description?: string; attributes?: AttributeInput[] }, opts: { confirm?: boolean } = {}): Promise<CatalogType> {
    return inTransaction(this.db, async (tx) => {
      const t = await this.getType(idOrTypeName, tx);
      const plan = await this.planTypeChange(t, input, tx);
      this.assertDropConfirmed(t, plan, opts.confirm, 'send confirm=true');
      await this.writeTypeChange(tx, t, plan);
      return this.getType(t.id, tx);
    });
  }

  async deleteType(idOrTypeName: string): Promise<void> {
    const t = await this.getType(idOrTypeName);
    this.assertEditable(t);
    const { all } = await this.typeLookup();
    const users = all.filter((o) => o.id !== t.id && o.attributes.some((a) => a.referenceType === t.typeName));
    if (users.length > 0) throw new ConflictError('type_in_use', `${t.name} is referenced by attributes of ${users.map((u) => u.name).join(', ')}; remove those attributes first.`);
    await this.db.deleteFrom('catalog_types').where('id', '=', t.id).execute();
  }

  assertEditable(t: CatalogType): void {
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
  /**
   * A page of entries. `typeId` (an id or type name) must name a type (NotFound otherwise); `typeName` instead finds the
   * type in the same statement and gives no entries when there is no such type (integrations' lookups: one round trip).
   */
  async listEntries(q: { typeId?: string; typeName?: string; search?: string; archived?: 'exclude' | 'include' | 'only'; limit: number; cursor?: string }): Promise<{ entries: CatalogEntry[]; nextCursor: string | null }> {
    let query = this.db.selectFrom('catalog_entries').selectAll();
    if (q.typeId) {
      const t = await this.getType(q.typeId);
      query = query.where('type_id', '=', t.id);
    }
    if (q.typeName !== undefined) query = query.where('type_id', '=', this.db.selectFrom('catalog_types').select('id').where('type_name', '=', q.typeName));
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

  /**
   * The live (not archived) entries of these (type name, external id) pairs, in one statement, keyed by
   * liveEntryKey(typeName, externalId); a pair with no live entry is absent.
   */
  async findLiveEntries(wanted: readonly { typeName: string; externalId: string }[]): Promise<Map<string, CatalogEntry>> {
    if (!wanted.length) return new Map();
    const rows = await this.db
      .selectFrom('catalog_entries as e')
      .innerJoin('catalog_types as t', 't.id', 'e.type_id')
      .selectAll('e')
      .select('t.type_name as of_type')
      .where('t.type_name', 'in', [...new Set(wanted.map((w) => w.typeName))])
      .where('e.external_id', 'in', [...new Set(wanted.map((w) => w.externalId))])
      .where('e.archived_at', 'is', null)
      .execute();
    return new Map(rows.map(({ of_type, ...r }) => [liveEntryKey(of_type, r.external_id!), entryFromRow(r)]));
  }

  /**
   * The live entries of type `from.typeName` whose reference attribute `from.attributeId` points at a live entry of
   * `to.typeName` with one of `to.externalIds` (e.g. the services using each of an escalation's policies), by name, in
   * one statement: a map from each external id asked for to its referrers (an empty list when none).
   */
  async liveReferrers(from: { typeName: string; attributeId: string }, to: { typeName: string; externalIds: readonly string[] }): Promise<Map<string, CatalogEntry[]>> {
    const out = new Map<string, CatalogEntry[]>(to.externalIds.map((id) => [id, []]));
    if (!out.size) return out;
    const rows = await this.db
      .selectFrom('catalog_entry_refs as r')
      .innerJoin('catalog_entries as e', 'e.id', 'r.from_entry_id')
      .innerJoin('catalog_types as et', 'et.id', 'e.type_id')
      .innerJoin('catalog_entries as target', 'target.id', 'r.to_entry_id')
      .innerJoin('catalog_types as tt', 'tt.id', 'target.type_id')
      .selectAll('e')
      .select('target.external_id as to_external_id')
      .where('r.attribute_id', '=', from.attributeId)
      .where('et.type_name', '=', from.typeName)
      .where('e.archived_at', 'is', null)
      .where('tt.type_name', '=', to.typeName)
      .where('target.external_id', 'in', [...out.keys()])
      .where('target.archived_at', 'is', null)
      .orderBy('e.name_lower')
      .orderBy('e.id')
      .execute();
    for (const { to_external_id, ...r } of rows) out.get(to_external_id!)?.push(entryFromRow(r));
    return out;
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

  /** The values of a type's derived attributes for some of its entries: attribute id → entry id → value. */
  async derivedValues(type: CatalogType, entries: CatalogEntry[], db: Executor = this.db): Promise<Map<string, Map<string, unknown>>> {
    const out = new Map<string, Map<string, unknown>>();
    const derived = type.attributes.filter((a) => a.type === 'derived');
    if (derived.length === 0 || entries.length === 0) return out;
    const { lookup } = await this.typeLookup(db);
    const follower = new PathFollower(db, lookup);
    for (const a of derived) out.set(a.id, await follower.compute(type.typeName, a, entries));
    return out;
  }

  /** Attributes of several entries of one type, references resolved in two queries whatever the count; derived ones computed. */
  async resolveAttributes(type: CatalogType, entries: CatalogEntry[]): Promise<ResolvedAttribute[][]> {
    const derived = await this.derivedValues(type, entries);
    const valueOf = (e: CatalogEntry, a: CatalogAttribute) => (a.type === 'derived' ? derived.get(a.id)?.get(e.id) : e.attributes[a.id]);
    const kindOf = (a: CatalogAttribute) => (a.type === 'derived' ? (a.derivedKind ?? 'string') : a.type);
    const refIds = new Set<string>();
    let needUsers = false;
    for (const e of entries) {
      for (const a of type.attributes) {
        const v = valueOf(e, a);
        if (kindOf(a) === 'reference') for (const x of Array.isArray(v) ? v : v == null ? [] : [v]) refIds.add(String(x));
        if (kindOf(a) === 'firebreak_user' && (Array.isArray(v) ? v.length > 0 : v)) needUsers = true;
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
        const kind = kindOf(a);
        const v = valueOf(e, a) ?? (a.array ? [] : null);
        const links: ResolvedAttribute['links'] = [];
        if (kind === 'reference') {
          for (const x of Array.isArray(v) ? v : v == null ? [] : [v]) {
            const r = refsById.get(String(x));
            if (r) links.push({ kind: 'entry', id: r.id, name: r.name, typeId: r.type_id, archived: r.archived_at !== null });
          }
        }
        if (kind === 'firebreak_user') {
          for (const x of Array.isArray(v) ? v : v == null ? [] : [v]) {
            const u = typeof x === 'string' ? users.get(x) : undefined;
            if (u) links.push({ kind: 'user', id: u.id, name: u.name, email: u.email });
          }
        }
        const value = kind === 'firebreak_user' ? (a.array ? links.map((l) => l.id) : links[0] ? links[0].id : null) : v;
        return { attribute: a, value, links };
      }),
    );
  }

  // ---- custom entries (people) ----
  async createEntry(input: { typeId: string; externalId?: string; name: string; aliases?: string[]; attributes?: Record<string, unknown> }): Promise<CatalogEntry> {
    const t = await this.getType(input.typeId);
    this.assertEditable(t);
    const id = newId();
    const prepared = await this.prepareValues(t, input.attributes ?? {});
    await inTransaction(this.db, async (tx) => {
      await this.insertEntry(tx, t, { id, externalId: input.externalId ?? id, name: input.name, aliases: input.aliases ?? [], ...prepared });
    });
    return this.getEntry(id);
  }

  /** Changes an entry of a custom type: given attribute values replace the stored ones (null clears one). */
  async updateEntry(id: string, input: { externalId?: string; name?: string; aliases?: string[]; attributes?: Record<string, unknown> }): Promise<CatalogEntry> {
    const e = await this.getEntry(id);
    const t = await this.getType(e.typeId);
    this.assertEditable(t);
    const current = Object.fromEntries(t.attributes.filter((a) => a.type !== 'derived' && e.attributes[a.id] !== undefined).map((a) => [a.id, e.attributes[a.id]]));
    const prepared = await this.prepareValues(t, { ...current, ...this.keyedById(t, input.attributes ?? {}) });
    const next = { id, externalId: input.externalId ?? e.externalId, name: input.name ?? e.name, aliases: input.aliases ?? e.aliases, ...prepared };
    if (next.externalId === e.externalId && next.name === e.name && JSON.stringify(next.aliases) === JSON.stringify(e.aliases) && JSON.stringify(next.attributes) === JSON.stringify(e.attributes)) return e;
    await inTransaction(this.db, async (tx) => this.updateEntryRow(tx, t, next, { restore: false }));
    return this.getEntry(id);
  }

  async archiveEntry(id: string): Promise<CatalogEntry> {
    const e = await this.getEntry(id);
    this.assertEditable(await this.getType(e.typeId));
    if (e.archivedAt) return e;
    const now = nowIso();
    await this.db.updateTable('catalog_entries').set({ archived_at: now, updated_at: now }).where('id', '=', id).execute();
    return this.getEntry(id);
  }

  async restoreEntry(id: string): Promise<CatalogEntry> {
    const e = await this.getEntry(id);
    this.assertEditable(await this.getType(e.typeId));
    if (!e.archivedAt) return e;
    await this.db.updateTable('catalog_entries').set({ archived_at: null, updated_at: nowIso() }).where('id', '=', id).execute();
    return this.getEntry(id);
  }

  /** Values keyed by attribute id or name → keyed by id (unknown keys are left for prepareValues to refuse). */
  private keyedById(t: CatalogType, values: Record<string, unknown>): Record<string, unknown> {
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [t.attributes.find((x) => x.id === k || x.name === k)?.id ?? k, v]));
  }

  /**
   * Checks values against a custom type's attributes (keyed by id or name) and gives them in stored form: keys in
   * the type's order, empty values left out, references as entry ids (each must exist and be of the referenced
   * type, or be one of `extraRefs`: entries about to be written), Firebreak users as their normalized email.
   * Returns the reference rows to keep for backlinks.
   */
  async prepareValues(t: CatalogType, values: Record<string, unknown>, opts: { extraRefs?: Map<string, string>; label?: (a: CatalogAttribute) => string } = {}): Promise<{ attributes: Record<string, unknown>; refs: [string, string][] }> {
    const byId = this.keyedById(t, values);
    const label = opts.label ?? ((a: CatalogAttribute) => `Attribute ${a.name}`);
    const out: Record<string, unknown> = {};
    const refs: [string, string][] = [];
    const refChecks: { a: CatalogAttribute; id: string }[] = [];
    let users: Map<string, { id: string; name: string; email: string }> | null = null;
    for (const k of Object.keys(byId)) {
      const a = t.attributes.find((x) => x.id === k);
      if (!a) throw new ValidationError(`${t.name} has no attribute ${k} (it has: ${t.attributes.map((x) => x.id).join(', ') || 'none'}).`, [{ path: `attribute_values.${k}`, message: 'No such attribute.' }]);
      if (a.type === 'derived') throw new ValidationError(`${label(a)} is derived: its value is computed from ${a.path!.join(' → ')}, not set.`, [{ path: `attribute_values.${k}`, message: 'Derived: computed, not set.' }]);
    }
    for (const a of t.attributes) {
      if (!(a.id in byId)) continue;
      const raw = byId[a.id];
      const fail = (why: string): never => {
        throw new ValidationError(`${label(a)} ${why}`, [{ path: `attribute_values.${a.id}`, message: why }]);
      };
      if (raw === null || raw === undefined) continue;
      if (a.array && !Array.isArray(raw)) fail('expects a list.');
      if (!a.array && Array.isArray(raw)) fail('expects one value, not a list.');
      const list = asList(raw);
      const norm: unknown[] = [];
      for (const x of list) {
        if (a.type === 'number') {
          if (typeof x !== 'number' || !Number.isFinite(x)) fail('expects number.');
          norm.push(x);
        } else if (a.type === 'bool') {
          if (typeof x !== 'boolean') fail('expects bool (true or false).');
          norm.push(x);
        } else if (typeof x !== 'string') {
          fail(a.type === 'reference' ? 'expects an entry id.' : a.type === 'firebreak_user' ? "expects a Firebreak user's id or email." : `expects ${a.type}.`);
        } else if (a.type === 'reference') {
          if (!norm.includes(x)) norm.push(x);
          if (!opts.extraRefs?.has(x)) refChecks.push({ a, id: x });
        } else if (a.type === 'firebreak_user') {
          users ??= await this.users.byNormalizedEmail();
          const u = users.get(normalizeEmailKey(x)) ?? [...users.values()].find((v) => v.id === x);
          if (!u) fail(`names no Firebreak user ("${x}"): give a user's id or email.`);
          norm.push(normalizeEmailKey(u!.email));
        } else if (x !== '') norm.push(x);
      }
      if (norm.length === 0) continue;
      out[a.id] = a.array ? norm : norm[0];
      if (a.type === 'reference') for (const x of norm) refs.push([a.id, String(x)]);
    }
    if (refChecks.length > 0) {
      const { lookup } = await this.typeLookup();
      const found = new Map<string, string>();
      for (const part of chunk([...new Set(refChecks.map((r) => r.id))], CHUNK)) {
        const rows = await this.db.selectFrom('catalog_entries').select(['id', 'type_id']).where('id', 'in', part).execute();
        for (const r of rows) found.set(r.id, r.type_id);
      }
      for (const { a, id } of refChecks) {
        const target = a.referenceType === t.typeName ? t : lookup(a.referenceType ?? '');
        const typeId = found.get(id);
        if (!typeId) throw new ValidationError(`${label(a)} names entry ${id}, which does not exist.`, [{ path: `attribute_values.${a.id}`, message: `No entry ${id}.` }]);
        if (!target || typeId !== (target as CatalogType).id) throw new ValidationError(`${label(a)} must reference ${target?.name ?? a.referenceType} entries; ${id} is of another type.`, [{ path: `attribute_values.${a.id}`, message: `Not a ${target?.name ?? a.referenceType} entry.` }]);
      }
    }
    return { attributes: out, refs };
  }

  /** Inserts an entry of a custom type with its reference rows (inside the caller's transaction). */
  async insertEntry(tx: Executor, t: CatalogType, e: EntryRow, now = nowIso()): Promise<void> {
    try {
      await tx
        .insertInto('catalog_entries')
        .values({ id: e.id, type_id: t.id, external_id: e.externalId, name: e.name, name_lower: e.name.toLowerCase(), aliases: JSON.stringify(e.aliases), attributes: JSON.stringify(e.attributes), external_url: null, archived_at: null, created_at: now, updated_at: now })
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError('entry_exists', `${t.name} already has an entry with external id ${e.externalId}.`);
      throw err;
    }
    await this.insertRefs(tx, e.id, e.refs);
  }

  /** Rewrites an entry of a custom type and its reference rows; `restore` also un-archives it. */
  async updateEntryRow(tx: Executor, t: CatalogType, e: EntryRow, opts: { restore: boolean }, now = nowIso()): Promise<void> {
    try {
      await tx
        .updateTable('catalog_entries')
        .set({ external_id: e.externalId, name: e.name, name_lower: e.name.toLowerCase(), aliases: JSON.stringify(e.aliases), attributes: JSON.stringify(e.attributes), updated_at: now, ...(opts.restore ? { archived_at: null } : {}) })
        .where('id', '=', e.id)
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError('entry_exists', `${t.name} already has an entry with external id ${e.externalId}.`);
      throw err;
    }
    await tx.deleteFrom('catalog_entry_refs').where('from_entry_id', '=', e.id).execute();
    await this.insertRefs(tx, e.id, e.refs);
  }

  private async insertRefs(tx: Executor, from: string, refs: [string, string][]): Promise<void> {
    const rows = [...new Map(refs.map(([attr, to]) => [`${attr}\u0000${to}`, { from_entry_id: from, attribute_id: attr, to_entry_id: to }])).values()];
    for (const part of chunk(rows, CHUNK)) await tx.insertInto('catalog_entry_refs').values(part).execute();
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
