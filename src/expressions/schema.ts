import type { CatalogAttribute, CatalogType } from '../catalog/model.js';
import { slugify } from '../catalog/schema-rules.js';
import type { CustomField } from '../custom-fields/model.js';

// What the expression environment is built from, and how catalog names become CEL names. Pure: no database.

/** The part of a custom field definition the expression language needs. */
export type FieldDef = Pick<CustomField, 'id' | 'key' | 'name' | 'type' | 'options' | 'catalogTypeId' | 'catalogTypeName' | 'multiple'>;

/** Catalog attributes and types as the catalog defines them (derived attributes carry their path). */
export type SchemaAttribute = CatalogAttribute;
export type SchemaType = CatalogType;

export interface Schema {
  types: SchemaType[];
  fields: FieldDef[];
  severities: { id: string; name: string; rank: number }[];
}

/** CEL's reserved words: they cannot follow a dot. */
const RESERVED = new Set([
  'as', 'break', 'const', 'continue', 'else', 'false', 'for', 'function', 'if', 'import', 'in', 'let', 'loop', 'package',
  'namespace', 'null', 'return', 'true', 'var', 'void', 'while',
]);

export function isIdentifier(s: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) && !RESERVED.has(s);
}

/** A name as an identifier: the catalog's attribute slug, kept clear of CEL's reserved words. */
export function slug(name: string): string {
  const s = slugify(name);
  return RESERVED.has(s) ? `${s}_` : s;
}

/** Fields every entry has, whatever its type. */
export const ENTRY_FIELDS: Record<string, { type: string; doc: string }> = {
  id: { type: 'string', doc: "the entry's Firebreak id" },
  name: { type: 'string', doc: 'its name' },
  external_id: { type: 'string', doc: 'its id in the source (PagerDuty id, or the custom external id)' },
  archived: { type: 'bool', doc: 'true once it is gone from the source or archived' },
  url: { type: 'string', doc: 'its link in the source (absent when it has none: test with has(e.url))' },
  referenced_by: { type: '', doc: 'backlinks: the entries whose reference attributes point at this one' },
};

/** The CEL type name of a catalog type: its type_name, unless that is taken by CEL or by Firebreak's own types. */
export function celTypeName(t: { typeName: string }): string {
  const builtin = new Set(['int', 'uint', 'double', 'string', 'bool', 'bytes', 'list', 'map', 'timestamp', 'duration', 'null_type', 'type', 'dyn', 'optional', 'google']);
  return builtin.has(t.typeName) || t.typeName.startsWith('firebreak') ? `catalog.${t.typeName}` : t.typeName;
}

export function backlinksTypeName(celName: string): string {
  return `${celName}.ReferencedBy`;
}

/** The name of the backlink member on the referenced type: `<SourceType>_<attribute field>`. */
export function backlinkFieldName(sourceCelName: string, attrField: string): string {
  return `${sourceCelName.replace(/\./g, '_')}_${attrField}`;
}

/** Attribute id → CEL field name for one type: the id when it is an identifier, else the slug of its name. */
export function attributeFieldNames(t: SchemaType): Map<string, string> {
  const out = new Map<string, string>();
  const taken = new Set(Object.keys(ENTRY_FIELDS));
  for (const a of t.attributes) {
    // A PagerDuty type's `name` attribute is the entry's name: the entry field serves it.
    if (a.id === 'name') continue;
    let f = isIdentifier(a.id) ? a.id : slug(a.name);
    if (taken.has(f)) f = `${f}_attribute`;
    let n = f;
    for (let i = 2; taken.has(n); i++) n = `${f}_${i}`;
    taken.add(n);
    out.set(a.id, n);
  }
  return out;
}
