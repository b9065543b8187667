import { sql } from 'kysely';
import type { Executor } from '../../../platform/db/index.js';

// Catalog entries for the custom-field pickers. Slack asks for options on every keystroke and wants the answer
// within 3 s, so a search is one query on `catalog_entries_type_name_idx` (type_id, name_lower, id): the type's
// live entries whose name contains the text, in name order, at most 100. Read-only access to the catalog's
// tables, which the contracts allow for lookups like this one (writes go through the catalog).

export interface CatalogOption {
  id: string;
  name: string;
}

export const CATALOG_OPTIONS_LIMIT = 100;

export async function searchCatalogOptions(db: Executor, typeId: string, query: string, limit = CATALOG_OPTIONS_LIMIT): Promise<CatalogOption[]> {
  const text = query.trim().toLowerCase();
  let q = db.selectFrom('catalog_entries').select(['id', 'name']).where('type_id', '=', typeId).where('archived_at', 'is', null);
  if (text) {
    const like = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where('name_lower', 'like', sql<string>`${like} escape '\\'`);
  }
  return q.orderBy('name_lower').orderBy('id').limit(Math.min(limit, CATALOG_OPTIONS_LIMIT)).execute();
}

/** Names of entries by id (archived ones marked), for prefilling pickers with default values. */
export async function catalogEntryNames(db: Executor, ids: string[]): Promise<Record<string, string>> {
  if (!ids.length) return {};
  const rows = await db.selectFrom('catalog_entries').select(['id', 'name', 'archived_at']).where('id', 'in', [...new Set(ids)]).execute();
  return Object.fromEntries(rows.map((r) => [r.id, r.archived_at ? `${r.name} (archived)` : r.name]));
}
