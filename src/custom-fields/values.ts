import { createHash } from 'node:crypto';
import type { Executor } from '../platform/db/index.js';
import type { FieldError } from '../platform/errors.js';
import { isMany, type CustomField, type CustomFieldValue } from './model.js';
import '../catalog/tables.js';

// Raw values as the API, Slack and the web take them → the stored, normalized value of a field (or an error
// that names the field and says what it takes), the keys filters compare, and the labels a person reads.

export const TEXT_MAX = 10_000;
export const LINK_MAX = 2_000;
const KEY_TEXT_MAX = 200;

/** A value that cannot be stored, with the message a person reads. */
export class FieldValueError extends Error {}

/** The catalog entries a value names, as far as validation and display need them. */
export interface EntryInfo {
  id: string;
  name: string;
  typeId: string;
  typeName: string;
  archived: boolean;
  url: string | null;
}

export async function loadEntries(db: Executor, ids: Iterable<string>): Promise<Map<string, EntryInfo>> {
  const unique = [...new Set(ids)];
  const out = new Map<string, EntryInfo>();
  for (let i = 0; i < unique.length; i += 500) {
    const rows = await db
      .selectFrom('catalog_entries as e')
      .innerJoin('catalog_types as t', 't.id', 'e.type_id')
      .select(['e.id', 'e.name', 'e.type_id', 'e.archived_at', 'e.external_url', 't.type_name'])
      .where('e.id', 'in', unique.slice(i, i + 500))
      .execute();
    for (const r of rows) out.set(r.id, { id: r.id, name: r.name, typeId: r.type_id, typeName: r.type_name, archived: r.archived_at !== null, url: r.external_url });
  }
  return out;
}

/** The items of a stored value (one for a single value). */
export function itemsOf(v: CustomFieldValue | null): (string | number)[] {
  if (v === null) return [];
  return Array.isArray(v) ? v : [v];
}

/** What filters compare for one item: ids as they are, texts (long ones by hash), numbers as text. */
export function valueKey(field: Pick<CustomField, 'type'>, item: string | number): string {
  if (field.type === 'number') return String(item);
  const s = String(item);
  if ((field.type === 'text' || field.type === 'link') && s.length > KEY_TEXT_MAX) return `sha256:${createHash('sha256').update(s).digest('hex')}`;
  return s;
}

function describeOptions(field: CustomField): string {
  return field.options.length ? field.options.map((o) => JSON.stringify(o.label)).join(', ') : '(none defined)';
}

function matchOption(field: CustomField, raw: unknown): string {
  if (typeof raw !== 'string') throw new FieldValueError(`must be an option of ${field.name} (by id or label): ${describeOptions(field)}`);
  const s = raw.trim();
  const byId = field.options.find((o) => o.id === s);
  if (byId) return byId.id;
  const byLabel = field.options.find((o) => o.label.toLowerCase() === s.toLowerCase());
  if (byLabel) return byLabel.id;
  throw new FieldValueError(`${JSON.stringify(s)} is not an option of ${field.name}; the options are ${describeOptions(field)}`);
}

/**
 * A raw value → the stored value, or null when the value clears the field (null, empty text, empty list).
 * `current` is what the incident holds now: an archived entry already set may stay; a newly set one may not.
 */
export async function normalizeValue(db: Executor, field: CustomField, raw: unknown, current: CustomFieldValue | null = null): Promise<CustomFieldValue | null> {
  if (raw === null || raw === undefined) return null;
  switch (field.type) {
    case 'text': {
      if (typeof raw !== 'string') throw new FieldValueError('must be text (a string)');
      const s = raw.trim();
      if (s.length > TEXT_MAX) throw new FieldValueError(`must be at most ${TEXT_MAX} characters`);
      return s === '' ? null : s;
    }
    case 'link': {
      if (typeof raw !== 'string') throw new FieldValueError('must be a link: an http:// or https:// URL');
      const s = raw.trim();
      if (s === '') return null;
      let url: URL | null = null;
      try {
        url = new URL(s);
      } catch {
        url = null;
      }
      if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new FieldValueError(`must be a link: an http:// or https:// URL (got ${JSON.stringify(s.slice(0, 100))})`);
      if (s.length > LINK_MAX) throw new FieldValueError(`must be at most ${LINK_MAX} characters`);
      return s;
    }
    case 'number': {
      if (typeof raw !== 'number' || !Number.isFinite(raw)) throw new FieldValueError('must be a number');
      return raw;
    }
    case 'single_select':
      if (Array.isArray(raw)) {
        if (raw.length > 1) throw new FieldValueError(`takes one option, not a list; the options are ${describeOptions(field)}`);
        return raw.length ? matchOption(field, raw[0]) : null;
      }
      return matchOption(field, raw);
    case 'multi_select': {
      const list = Array.isArray(raw) ? raw : [raw];
      const ids = [...new Set(list.map((x) => matchOption(field, x)))];
      return ids.length ? ids : null;
    }
    case 'catalog': {
      const list = Array.isArray(raw) ? raw : [raw];
      const typeName = field.catalogTypeName ?? 'catalog';
      if (list.some((x) => typeof x !== 'string' || x.trim() === '' || x.length > 100)) throw new FieldValueError(`must be the id of a ${typeName} catalog entry${field.multiple ? ' (or a list of them)' : ''}`);
      const ids = [...new Set((list as string[]).map((x) => x.trim()))];
      if (!field.multiple && ids.length > 1) throw new FieldValueError(`takes one ${typeName} entry, not ${ids.length}`);
      if (ids.length === 0) return null;
      const entries = await loadEntries(db, ids);
      const had = new Set(itemsOf(current).map(String));
      for (const id of ids) {
        const e = entries.get(id);
        if (!e) throw new FieldValueError(`${JSON.stringify(id)} is not a catalog entry; give the id of a ${typeName} entry`);
        if (e.typeId !== field.catalogTypeId) throw new FieldValueError(`${e.name} is a ${e.typeName} entry; ${field.name} takes ${typeName} entries`);
        if (e.archived && !had.has(id)) throw new FieldValueError(`${e.name} is archived; choose a ${typeName} entry that is not archived`);
      }
      return field.multiple ? ids : ids[0]!;
    }
  }
}

/** Normalizes several fields' values, collecting every error (path `custom_field_values.<key>`) before throwing. */
export function fieldError(field: Pick<CustomField, 'key'>, message: string): FieldError {
  return { path: `custom_field_values.${field.key}`, message };
}

/** The labels of a stored value as a person reads them (entries by name; `entries` must hold them). */
export function labelsOf(field: CustomField, value: CustomFieldValue | null, entries: Map<string, EntryInfo>): string[] {
  return displayOf(field, value, entries).map((d) => d.label);
}

export function displayOf(field: CustomField, value: CustomFieldValue | null, entries: Map<string, EntryInfo>): { id: string | null; label: string; archived: boolean; url: string | null }[] {
  return itemsOf(value).map((item) => {
    switch (field.type) {
      case 'single_select':
      case 'multi_select': {
        const o = field.options.find((x) => x.id === item);
        return { id: String(item), label: o?.label ?? String(item), archived: false, url: null };
      }
      case 'catalog': {
        const e = entries.get(String(item));
        return { id: String(item), label: e?.name ?? '(deleted entry)', archived: e ? e.archived : true, url: e?.url ?? null };
      }
      case 'link':
        return { id: null, label: String(item), archived: false, url: String(item) };
      default:
        return { id: null, label: String(item), archived: false, url: null };
    }
  });
}

export function sameValue(field: CustomField, a: CustomFieldValue | null, b: CustomFieldValue | null): boolean {
  const x = itemsOf(a).map(String);
  const y = itemsOf(b).map(String);
  if (!isMany(field)) return x[0] === y[0] && x.length === y.length;
  return x.length === y.length && x.every((v, i) => v === y[i]);
}
