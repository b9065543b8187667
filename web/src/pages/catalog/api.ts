// Typed calls for editing the catalog from the web app: custom types and their entries, and catalog as code
// (export link, apply with a dry run first). Reading pages use catalogApi (pagerduty/api.ts).
import { call } from '../../api.js';
import type { Body, Ok } from '../../api/operations.js';

export type CatalogType = Ok<'/api/v1/catalog_types/{id}', 'get'>['catalog_type'];
export type CatalogAttribute = CatalogType['attributes'][number];
export type TypeInput = Body<'/api/v1/catalog_types', 'post'>;
export type AttributeInput = NonNullable<TypeInput['attributes']>[number];
export type EntryInput = Body<'/api/v1/catalog_entries', 'post'>;
export type ApplyPlan = Ok<'/api/v1/catalog/apply', 'post'>['plan'];

export const catalogEdit = {
  createType: (body: TypeInput) => call('post', '/api/v1/catalog_types', { body }).then((r) => r.catalog_type),
  updateType: (id: string, body: Body<'/api/v1/catalog_types/{id}', 'patch'>, confirm = false) =>
    call('patch', '/api/v1/catalog_types/{id}', { params: { id }, body, query: confirm ? { confirm: 'true' } : {} }).then((r) => r.catalog_type),
  createEntry: (body: EntryInput) => call('post', '/api/v1/catalog_entries', { body }).then((r) => r.catalog_entry),
  updateEntry: (id: string, body: Body<'/api/v1/catalog_entries/{id}', 'patch'>) => call('patch', '/api/v1/catalog_entries/{id}', { params: { id }, body }).then((r) => r.catalog_entry),
  archive: (id: string) => call('post', '/api/v1/catalog_entries/{id}/actions/archive', { params: { id } }).then((r) => r.catalog_entry),
  restore: (id: string) => call('post', '/api/v1/catalog_entries/{id}/actions/restore', { params: { id } }).then((r) => r.catalog_entry),
  /** Entries of a type whose name, alias or external id matches (reference pickers). */
  search: (typeId: string, search: string) => call('get', '/api/v1/catalog_entries', { query: { type_id: typeId, search: search.trim() || undefined, limit: 10 } }).then((r) => r.catalog_entries),
  apply: (document: string, dryRun: boolean, confirm = false) => call('post', '/api/v1/catalog/apply', { body: { document, dry_run: dryRun, confirm } }).then((r) => r.plan),
  exportUrl: (typeName: string, format: 'yaml' | 'json' = 'yaml') => `/api/v1/catalog_types/${encodeURIComponent(typeName)}/export?format=${format}&download=true`,
};

/** The attribute id the server makes from a name (src/catalog/schema-rules.ts slugify), shown and sent with new attributes. */
export function slugify(name: string): string {
  let s = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (!s) s = 'attribute';
  if (!/^[a-z]/.test(s)) s = `a_${s}`;
  return s.slice(0, 63).replace(/_+$/, '');
}

export const KIND_LABELS: Record<string, string> = {
  string: 'Text (one line)',
  text: 'Text (long)',
  number: 'Number',
  bool: 'Yes / no',
  reference: 'Catalog entry',
  firebreak_user: 'Firebreak user',
  derived: 'Derived (follows references)',
};
