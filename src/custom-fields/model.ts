import type { CustomFieldsTable } from './tables.js';

// Custom fields as their callers see them (contracts-13 §1) and how stored rows become them.

export type CustomFieldType = 'text' | 'number' | 'single_select' | 'multi_select' | 'link' | 'catalog';
export const customFieldTypes: CustomFieldType[] = ['text', 'number', 'single_select', 'multi_select', 'link', 'catalog'];

/** Option ids are stable; labels may change. */
export interface CustomFieldOption {
  id: string;
  label: string;
}

export interface CustomField {
  id: string;
  /** ^[a-z][a-z0-9_]{0,62}$, unique among live fields, never changes (used in API filters and expressions). */
  key: string;
  name: string;
  description: string;
  type: CustomFieldType;
  /** Selects only, else []. */
  options: CustomFieldOption[];
  /** Catalog only: the catalog type's id ... */
  catalogTypeId: string | null;
  /** ... and its type_name (e.g. 'PagerDutyService'). */
  catalogTypeName: string | null;
  /** Catalog only: one entry or many (multi_select is always many). */
  multiple: boolean;
  requiredAtDeclaration: boolean;
  requiredBeforeClose: boolean;
  showInDeclare: boolean;
  /** Applied at declaration when no value is given. */
  defaultValue: CustomFieldValue | null;
  rank: number;
  deletedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/**
 * Stored, normalized value by type: text and link: string; number: number; single_select: option id;
 * multi_select: option id[]; catalog: entry id (multiple=false) or entry id[] (multiple=true).
 */
export type CustomFieldValue = string | number | string[];

export interface CustomFieldValueView {
  field: { id: string; key: string; name: string; type: CustomFieldType; multiple: boolean; catalogTypeName: string | null };
  value: CustomFieldValue;
  /** What a person reads: options by label, catalog entries by name (archived ones marked), text/number/link as themselves. */
  display: { id: string | null; label: string; archived: boolean; url: string | null }[];
}

export const FIELD_KEY = /^[a-z][a-z0-9_]{0,62}$/;

/** Whether a field holds a list of values. */
export function isMany(f: Pick<CustomField, 'type' | 'multiple'>): boolean {
  return f.type === 'multi_select' || (f.type === 'catalog' && f.multiple);
}

export function fieldFromRow(r: CustomFieldsTable, catalogTypeName: string | null): CustomField {
  return {
    id: r.id,
    key: r.key,
    name: r.name,
    description: r.description,
    type: r.type as CustomFieldType,
    options: JSON.parse(r.options) as CustomFieldOption[],
    catalogTypeId: r.catalog_type_id,
    catalogTypeName,
    multiple: r.type === 'multi_select' ? true : Number(r.multiple) === 1,
    requiredAtDeclaration: Number(r.required_at_declaration) === 1,
    requiredBeforeClose: Number(r.required_before_close) === 1,
    showInDeclare: Number(r.show_in_declare) === 1,
    defaultValue: r.default_value === null ? null : (JSON.parse(r.default_value) as CustomFieldValue),
    rank: Number(r.rank),
    deletedAt: r.deleted_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
