import type { CatalogEntriesTable, CatalogTypesTable } from './tables.js';

// The catalog's shapes as its callers see them (types with an attribute schema, entries, resolved attributes,
// backlinks) and how stored rows become them.

export type AttributeKind = 'string' | 'text' | 'number' | 'bool' | 'reference' | 'firebreak_user' | 'derived';
export const attributeKinds: AttributeKind[] = ['string', 'text', 'number', 'bool', 'reference', 'firebreak_user', 'derived'];

/** Attribute ids of custom types: given, or made from the name; unique in their type and stable across renames. */
export const ATTRIBUTE_ID = /^[a-z][a-z0-9_]{0,62}$/;

export interface CatalogAttribute {
  id: string;
  name: string;
  type: AttributeKind;
  /** A list of values. For a derived attribute: true when any hop of its path is a list. */
  array: boolean;
  /**
   * For references: the `type_name` of the referenced type. For a derived attribute: the type its path ends on
   * when the last hop is a reference (else null).
   */
  referenceType?: string | null;
  /** Derived attributes only: attribute ids followed from this type, each hop but the last a reference. */
  path?: string[];
  /** Derived attributes only: the kind of what the path ends on ('reference' when it ends on entries). */
  derivedKind?: AttributeKind;
}

export interface CatalogType {
  id: string;
  typeName: string;
  name: string;
  description: string;
  source: string;
  attributes: CatalogAttribute[];
  syncIntervalMs: number | null;
  syncing: boolean;
  lastSyncedAt: string | null;
  readOnly: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface CatalogEntry {
  id: string;
  typeId: string;
  externalId: string;
  name: string;
  aliases: string[];
  attributes: Record<string, unknown>;
  externalUrl: string | null;
  archivedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ResolvedAttribute {
  attribute: CatalogAttribute;
  /** Derived attributes: computed when read (entry ids when the path ends on a reference, de-duplicated). */
  value: unknown;
  /** References and Firebreak users, resolved for display. */
  links: { kind: 'entry' | 'user'; id: string; name: string; typeId?: string; archived?: boolean; email?: string }[];
}

export interface Backlink {
  type: { id: string; name: string };
  attribute: { id: string; name: string };
  entries: { id: string; name: string; archived: boolean }[];
}

export interface UserDirectory {
  /** Firebreak users keyed by normalized email (trimmed, lower case). */
  byNormalizedEmail(): Promise<Map<string, { id: string; name: string; email: string }>>;
}

export function normalizeEmailKey(email: string): string {
  return email.trim().toLowerCase();
}

export function typeFromRow(r: CatalogTypesTable): CatalogType {
  return {
    id: r.id,
    typeName: r.type_name,
    name: r.name,
    description: r.description,
    source: r.source,
    attributes: JSON.parse(r.attributes) as CatalogAttribute[],
    syncIntervalMs: r.sync_interval_ms === null ? null : Number(r.sync_interval_ms),
    syncing: Number(r.syncing) === 1,
    lastSyncedAt: r.last_synced_at,
    readOnly: r.source !== 'custom',
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function entryFromRow(r: CatalogEntriesTable): CatalogEntry {
  return {
    id: r.id,
    typeId: r.type_id,
    externalId: r.external_id,
    name: r.name,
    aliases: JSON.parse(r.aliases) as string[],
    attributes: JSON.parse(r.attributes) as Record<string, unknown>,
    externalUrl: r.external_url,
    archivedAt: r.archived_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
