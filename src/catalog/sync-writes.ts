import { createHash } from 'node:crypto';
import type { Db, Executor } from '../platform/db/index.js';
import { inTransaction } from '../platform/db/index.js';
import { nowIso } from '../platform/ids.js';
import './tables.js';

// What the sync engine (sync.ts) and an integration's single-entry updates read and write: stored entries as
// snapshots or digests, and creates/updates/archives applied in batches inside one guarded transaction per call.
// No validation here: synced data is shaped by its source's type definition, not by people.

/** Rows per statement: the size of IN lists and of multi-row inserts. */
export const CHUNK = 200;

/** What the sync engine compares and writes: an entry as stored, with its JSON kept as text. */
export interface StoredEntry {
  id: string;
  externalId: string;
  name: string;
  aliases: string;
  attributes: string;
  externalUrl: string | null;
  archivedAt: string | null;
}

/**
 * What the sync engine keeps of a stored entry: its ids, whether it is archived, and a digest of what a sync
 * writes (name, aliases, attributes, link). Comparing digests instead of keeping each entry's JSON halves the
 * memory a re-sync of a large account needs.
 */
export interface StoredDigest {
  id: string;
  externalId: string;
  digest: string;
  archivedAt: string | null;
}

export function entryDigest(name: string, aliases: string, attributes: string, externalUrl: string | null): string {
  return createHash('sha1').update(name).update('\u0000').update(aliases).update('\u0000').update(attributes).update('\u0000').update(externalUrl ?? '\u0001').digest('base64');
}

/** Checks, inside a write transaction, that the writing may go on (throws to roll it back). */
export type WriteGuard = (tx: Executor) => Promise<void>;

export interface EntryWrite {
  id: string;
  externalId: string;
  name: string;
  aliases: string;
  attributes: string;
  externalUrl: string | null;
  /** Reference rows of this entry (attribute id, referenced entry id). */
  refs: [string, string][];
  isNew: boolean;
}

/** Every stored entry of a type, archived ones included, keyed by external id. */
export async function snapshot(db: Db, typeId: string): Promise<Map<string, StoredEntry>> {
  const rows = await db
    .selectFrom('catalog_entries')
    .select(['id', 'external_id', 'name', 'aliases', 'attributes', 'external_url', 'archived_at'])
    .where('type_id', '=', typeId)
    .execute();
  return new Map(rows.map((r) => [r.external_id, { id: r.id, externalId: r.external_id, name: r.name, aliases: r.aliases, attributes: r.attributes, externalUrl: r.external_url, archivedAt: r.archived_at }]));
}

/** Every stored entry of a type as a digest (see StoredDigest), read in batches, keyed by external id. */
export async function snapshotDigests(db: Db, typeId: string): Promise<Map<string, StoredDigest>> {
  const out = new Map<string, StoredDigest>();
  let after = '';
  for (;;) {
    const rows = await db
      .selectFrom('catalog_entries')
      .select(['id', 'external_id', 'name', 'aliases', 'attributes', 'external_url', 'archived_at'])
      .where('type_id', '=', typeId)
      .where('id', '>', after)
      .orderBy('id')
      .limit(2000)
      .execute();
    for (const r of rows) out.set(r.external_id, { id: r.id, externalId: r.external_id, digest: entryDigest(r.name, r.aliases, r.attributes, r.external_url), archivedAt: r.archived_at });
    if (rows.length < 2000) return out;
    after = rows[rows.length - 1]!.id;
  }
}

/**
 * Creates and updates (restoring archived entries), with their reference rows, in one transaction. Returns
 * rows written. `writes` may be a generator: it is consumed in batches, so a large type's changes never all
 * sit in memory at once (and no transaction is opened when it yields nothing).
 */
export async function applyWrites(db: Db, typeId: string, writes: Iterable<EntryWrite>, guard?: WriteGuard): Promise<number> {
  const it = writes[Symbol.iterator]();
  const first = it.next();
  if (first.done) return 0;
  const now = nowIso();
  let rows = 0;
  await inTransaction(db, async (tx) => {
    await guard?.(tx);
    const flush = async (batch: EntryWrite[]) => {
      const created = batch.filter((w) => w.isNew);
      if (created.length > 0) {
        await tx
          .insertInto('catalog_entries')
          .values(created.map((w) => ({ id: w.id, type_id: typeId, external_id: w.externalId, name: w.name, name_lower: w.name.toLowerCase(), aliases: w.aliases, attributes: w.attributes, external_url: w.externalUrl, archived_at: null, created_at: now, updated_at: now })))
          .execute();
        rows += created.length;
      }
      const updated = batch.filter((w) => !w.isNew);
      for (const w of updated) {
        await tx
          .updateTable('catalog_entries')
          .set({ name: w.name, name_lower: w.name.toLowerCase(), aliases: w.aliases, attributes: w.attributes, external_url: w.externalUrl, archived_at: null, updated_at: now })
          .where('id', '=', w.id)
          .execute();
        rows++;
      }
      if (updated.length > 0) {
        const r = await tx.deleteFrom('catalog_entry_refs').where('from_entry_id', 'in', updated.map((w) => w.id)).executeTakeFirst();
        rows += Number(r.numDeletedRows);
      }
      const refs = batch.flatMap((w) => w.refs.map(([attr, to]) => ({ from_entry_id: w.id, attribute_id: attr, to_entry_id: to })));
      for (const part of chunk(refs, CHUNK * 2)) {
        await tx.insertInto('catalog_entry_refs').values(part).execute();
        rows += part.length;
      }
    };
    let batch: EntryWrite[] = [first.value];
    for (let n = it.next(); !n.done; n = it.next()) {
      batch.push(n.value);
      if (batch.length >= CHUNK) {
        await flush(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await flush(batch);
  });
  return rows;
}

export async function archiveEntries(db: Db, ids: string[], guard?: WriteGuard): Promise<number> {
  if (ids.length === 0) return 0;
  const now = nowIso();
  await inTransaction(db, async (tx) => {
    await guard?.(tx);
    for (const part of chunk(ids, CHUNK)) await tx.updateTable('catalog_entries').set({ archived_at: now, updated_at: now }).where('id', 'in', part).execute();
  });
  return ids.length;
}

export function chunk<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}
