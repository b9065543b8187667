// Custom fields over the REST API (/api/v1/custom_fields, custom_field_values on incidents, the incidents list's
// custom_field filter) and the catalog look-ups their pickers need, through the app's one request helper.
import { request, type IncidentFilters } from '../../api.js';
import type { Ok } from '../../api/operations.js';
import type { Incident } from '../../types.js';

// PROVISIONAL: hand-written from contracts §1 until the server's routes land; replaced by generated types.
export type CustomFieldType = 'text' | 'number' | 'single_select' | 'multi_select' | 'link' | 'catalog';
export type CustomFieldValue = string | number | string[];
export interface CustomField {
  id: string;
  key: string;
  name: string;
  description: string;
  type: CustomFieldType;
  options: { id: string; label: string }[];
  catalog_type: { id: string; type_name: string; name: string } | null;
  multiple: boolean;
  required_at_declaration: boolean;
  required_before_close: boolean;
  show_in_declare: boolean;
  default_value: CustomFieldValue | null;
  rank: number;
  deleted_at: string | null;
  created_at: string;
  updated_at: string;
  incident_count: number;
}
export interface CustomFieldInput {
  key?: string;
  name?: string;
  description?: string;
  type?: CustomFieldType;
  options?: { id?: string; label: string }[];
  catalog_type?: string | null;
  multiple?: boolean;
  required_at_declaration?: boolean;
  required_before_close?: boolean;
  show_in_declare?: boolean;
  default_value?: unknown;
}
export type IncidentFieldValue = { field: { id: string; key: string; name: string; type: CustomFieldType; multiple: boolean; catalog_type_name: string | null }; value: CustomFieldValue; display: { id: string | null; label: string; archived: boolean; url: string | null }[] };
export type IncidentWithFields = Incident & { custom_fields: IncidentFieldValue[] };
export interface CatalogTypeSummary {
  id: string;
  type_name: string;
  name: string;
}
export interface CatalogEntrySummary {
  id: string;
  name: string;
  archived_at: string | null;
}

export const FIELD_TYPES: { value: CustomFieldType; label: string }[] = [
  { value: 'text', label: 'Text' },
  { value: 'number', label: 'Number' },
  { value: 'single_select', label: 'Single select' },
  { value: 'multi_select', label: 'Multi select' },
  { value: 'link', label: 'Link' },
  { value: 'catalog', label: 'Catalog' },
];

export const typeLabel = (t: CustomFieldType) => FIELD_TYPES.find((x) => x.value === t)?.label ?? t;

const base = '/api/v1/custom_fields';
const enc = encodeURIComponent;

export const fieldsApi = {
  list: () => request<{ custom_fields: CustomField[] }>('GET', base).then((r) => r.custom_fields),
  create: (body: CustomFieldInput) => request<{ custom_field: CustomField }>('POST', base, body).then((r) => r.custom_field),
  update: (id: string, body: CustomFieldInput) => request<{ custom_field: CustomField }>('PATCH', `${base}/${enc(id)}`, body).then((r) => r.custom_field),
  /** Without `confirm`, a field that incidents use is refused with 409 `field_in_use` and their count. */
  remove: (id: string, confirm: boolean) => request<void>('DELETE', `${base}/${enc(id)}${confirm ? '?confirm=true' : ''}`),

  /** Sets (or, with null, clears) field values by key; answers the incident as it is afterwards. */
  setValues: (incidentId: string, values: Record<string, unknown>) =>
    request<{ incident: IncidentWithFields }>('PATCH', `/api/v1/incidents/${enc(incidentId)}`, { custom_field_values: values }).then((r) => r.incident),

  catalogTypes: () => request<{ catalog_types: CatalogTypeSummary[] }>('GET', '/api/v1/catalog_types').then((r) => r.catalog_types),
  /** Current (not archived) entries of one type whose name, alias or external id matches `search`. */
  searchEntries: (typeId: string, search: string, limit = 20) => {
    const q = new URLSearchParams({ catalog_type_id: typeId, limit: String(limit) });
    if (search.trim()) q.set('search', search.trim());
    return request<{ catalog_entries: CatalogEntrySummary[] }>('GET', `/api/v1/catalog_entries?${q}`).then((r) => r.catalog_entries);
  },
  entry: (id: string) => request<{ catalog_entry: CatalogEntrySummary }>('GET', `/api/v1/catalog_entries/${enc(id)}`).then((r) => r.catalog_entry),
};


/** A defined field as the value controls see it. */
export function shapeOf(f: CustomField) {
  return { key: f.key, name: f.name, description: f.description, type: f.type, options: f.options, catalogTypeId: f.catalog_type?.id ?? null, multiple: f.type === 'multi_select' || f.multiple };
}

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
