// Custom fields over the REST API (/api/v1/custom_fields, custom_field_values on incidents, the incidents list's
// custom_field filter) and the catalog look-ups their pickers need, through the app's one request helper.
import { call, request, type IncidentFilters } from '../../api.js';
import type { Body, Ok } from '../../api/operations.js';
import type { Incident } from '../../types.js';

export type CustomField = Ok<'/api/v1/custom_fields', 'get'>['custom_fields'][number];
export type CustomFieldType = CustomField['type'];
export type CustomFieldValue = NonNullable<CustomField['default_value']>;
export type CustomFieldInput = Body<'/api/v1/custom_fields/{id}', 'patch'>;
export type NewCustomField = Body<'/api/v1/custom_fields', 'post'>;
export type IncidentFieldValue = Incident['custom_fields'][number];
export type CatalogTypeSummary = Ok<'/api/v1/catalog_types', 'get'>['catalog_types'][number];
export type CatalogEntrySummary = Ok<'/api/v1/catalog_entries', 'get'>['catalog_entries'][number];

export const FIELD_TYPES: readonly { value: CustomFieldType; label: string }[] = [
  { value: 'text', label: 'Text' },
  { value: 'number', label: 'Number' },
  { value: 'single_select', label: 'Single select' },
  { value: 'multi_select', label: 'Multi select' },
  { value: 'link', label: 'Link' },
  { value: 'catalog', label: 'Catalog' },
];

export const typeLabel = (t: CustomFieldType) => FIELD_TYPES.find((x) => x.value === t)?.label ?? t;

export const fieldsApi = {
  list: () => call('get', '/api/v1/custom_fields').then((r) => r.custom_fields),
  create: (body: NewCustomField) => call('post', '/api/v1/custom_fields', { body }).then((r) => r.custom_field),
  update: (id: string, body: CustomFieldInput) => call('patch', '/api/v1/custom_fields/{id}', { params: { id }, body }).then((r) => r.custom_field),
  /** Without `confirm`, a field that incidents use is refused with 409 `field_in_use` and their count. */
  remove: (id: string, confirm: boolean) => call('delete', '/api/v1/custom_fields/{id}', { params: { id }, query: confirm ? { confirm: 'true' } : {} }),

  /** Sets (or, with null, clears) field values by key; answers the incident as it is afterwards. */
  setValues: (incidentId: string, values: Record<string, unknown>) =>
    call('patch', '/api/v1/incidents/{id}', { params: { id: incidentId }, body: { custom_field_values: values as NonNullable<Body<'/api/v1/incidents/{id}', 'patch'>['custom_field_values']> } }).then((r) => r.incident),

  catalogTypes: () => call('get', '/api/v1/catalog_types').then((r) => r.catalog_types),
  /** Current (not archived) entries of one type whose name, alias or external id matches `search`. */
  searchEntries: (typeId: string, search: string, limit = 20) =>
    call('get', '/api/v1/catalog_entries', { query: { catalog_type_id: typeId, search: search.trim() || undefined, limit } }).then((r) => r.catalog_entries),
  entry: (id: string) => call('get', '/api/v1/catalog_entries/{id}', { params: { id } }).then((r) => r.catalog_entry),
};

/** The incidents list with `custom_field=<key>:<value>` filters besides the usual ones (status categories joined by commas). */
export function listIncidents(query: IncidentFilters, fieldFilters: readonly string[]): Promise<Ok<'/api/v1/incidents', 'get'>> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) {
      if (v.length > 0) q.set(k, v.join(','));
    } else q.set(k, String(v));
  }
  for (const f of fieldFilters) q.append('custom_field', f);
  const qs = q.toString();
  return request('GET', qs ? `/api/v1/incidents?${qs}` : '/api/v1/incidents');
}

/** `key:value` split at the first colon (values may hold colons, keys never do). */
export function parseFieldFilter(raw: string): { key: string; value: string } | null {
  const i = raw.indexOf(':');
  if (i <= 0 || i === raw.length - 1) return null;
  return { key: raw.slice(0, i), value: raw.slice(i + 1) };
}

/** A defined field as the value controls see it. */
export function shapeOf(f: CustomField) {
  return { key: f.key, name: f.name, description: f.description, type: f.type, options: f.options, catalogTypeId: f.catalog_type?.id ?? null, multiple: f.type === 'multi_select' || f.multiple };
}
