// Custom fields in Slack modals: one input block per field (the declare modal's and the /incident field modal's),
// and the reading of those blocks back into the values the incidents service takes. Pure functions: the
// handlers (commands/, views/submissions.ts, views/custom-fields.handlers.ts) load fields and values and call these.
//
// Block ids are `cf:<field id>` (stable across renames, distinct per field), so a submission's values and the
// API's validation errors (`custom_field_values.<key>`) find their block. Catalog fields are external selects
// whose action id carries the catalog type (`cf_catalog:<type id>`): the options handler answers from that alone,
// with one indexed query (catalog-options.ts).

export type FieldType = 'text' | 'number' | 'single_select' | 'multi_select' | 'link' | 'catalog';
export type FieldValue = string | number | string[];

/** What the modals need of a custom field (CustomField from src/custom-fields has all of it). */
export interface FieldDef {
  id: string;
  key: string;
  name: string;
  description: string;
  type: FieldType;
  options: { id: string; label: string }[];
  catalogTypeId: string | null;
  multiple: boolean;
  requiredAtDeclaration: boolean;
  requiredBeforeClose: boolean;
  showInDeclare: boolean;
  defaultValue: FieldValue | null;
}

/** A value to prefill, with the names of what it refers to (catalog entries; select options are in the field). */
export interface Prefill {
  value: FieldValue;
  /** Catalog entries by id: their name as a person reads it (archived ones marked). */
  names?: Record<string, string>;
}

export const FIELD_BLOCK_PREFIX = 'cf:';
export const CATALOG_ACTION_PREFIX = 'cf_catalog:';
/** Every non-catalog field input uses this action id (unique within its block, which is all Slack asks). */
export const FIELD_ACTION = 'value';
export const FIELDS_CALLBACK = 'firebreak_fields';

// Slack's Block Kit limits.
export const MAX_BLOCKS = 100;
export const MAX_STATIC_OPTIONS = 100;
const LABEL_MAX = 2000;
const HINT_MAX = 2000;
const OPTION_TEXT_MAX = 75;
const TEXT_INPUT_MAX = 3000;

const plain = (text: string) => ({ type: 'plain_text' as const, text });
export const truncate = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

export function fieldBlockId(field: Pick<FieldDef, 'id'>): string {
  return `${FIELD_BLOCK_PREFIX}${field.id}`;
}

export function catalogActionId(catalogTypeId: string): string {
  return `${CATALOG_ACTION_PREFIX}${catalogTypeId}`;
}

/** The catalog type a `block_suggestion`'s action id searches, or null for an action id that is not ours. */
export function catalogTypeOfAction(actionId: string): string | null {
  return actionId.startsWith(CATALOG_ACTION_PREFIX) && actionId.length > CATALOG_ACTION_PREFIX.length ? actionId.slice(CATALOG_ACTION_PREFIX.length) : null;
}

export function optionOf(value: string, label: string): { text: { type: 'plain_text'; text: string }; value: string } {
  return { text: plain(truncate(label || value, OPTION_TEXT_MAX)), value };
}

const asArray = (v: FieldValue | null | undefined): string[] => (v === null || v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

/** At most `max` options in their order, always keeping the selected ones (Slack needs an initial option among the options). */
export function pickOptions<T extends { id: string }>(all: T[], selectedIds: string[], max = MAX_STATIC_OPTIONS): T[] {
  if (all.length <= max) return all;
  const selected = new Set(selectedIds.filter((id) => all.some((o) => o.id === id)));
  let room = max - selected.size;
  return all.filter((o) => {
    if (selected.has(o.id)) return true;
    if (room <= 0) return false;
    room -= 1;
    return true;
  });
}

/**
 * Which fields the declare modal shows: those marked "shown in the declare form" and every one required at
 * declaration, in rank order (the order given). With more than `room` of them, required ones are kept first.
 */
export function declareFields<F extends FieldDef>(fields: F[], room: number): F[] {
  const shown = fields.filter((f) => f.showInDeclare || f.requiredAtDeclaration);
  if (shown.length <= room) return shown;
  const keep = new Set([...shown.filter((f) => f.requiredAtDeclaration), ...shown.filter((f) => !f.requiredAtDeclaration)].slice(0, room).map((f) => f.id));
  return shown.filter((f) => keep.has(f.id));
}

/** The input block for one field, prefilled. `required` makes it non-optional (Slack then refuses an empty submit). */
export function fieldBlock(field: FieldDef, prefill: Prefill | null, opts: { required: boolean; hint?: string }): Record<string, unknown> {
  const value = prefill?.value ?? null;
  const hintText = [field.description.trim(), opts.hint].filter(Boolean).join(' · ');
  const base = {
    type: 'input',
    block_id: fieldBlockId(field),
    label: plain(truncate(field.name, LABEL_MAX)),
    optional: !opts.required,
    ...(hintText ? { hint: plain(truncate(hintText, HINT_MAX)) } : {}),
  };
  const scalar = value === null || Array.isArray(value) ? null : String(value);
  switch (field.type) {
    case 'text':
      return { ...base, element: { type: 'plain_text_input', action_id: FIELD_ACTION, max_length: TEXT_INPUT_MAX, ...(scalar ? { initial_value: truncate(scalar, TEXT_INPUT_MAX) } : {}) } };
    case 'number':
      return { ...base, element: { type: 'number_input', action_id: FIELD_ACTION, is_decimal_allowed: true, ...(scalar !== null && scalar !== '' ? { initial_value: scalar } : {}) } };
    case 'link':
      return { ...base, element: { type: 'url_text_input', action_id: FIELD_ACTION, ...(scalar ? { initial_value: scalar } : {}) } };
    case 'single_select':
    case 'multi_select': {
      const selectedIds = asArray(value).filter((id) => field.options.some((o) => o.id === id));
      const options = pickOptions(field.options, selectedIds).map((o) => optionOf(o.id, o.label));
      const initial = selectedIds.map((id) => options.find((o) => o.value === id)!).filter(Boolean);
      if (field.type === 'single_select') return { ...base, element: { type: 'static_select', action_id: FIELD_ACTION, options, ...(initial[0] ? { initial_option: initial[0] } : {}) } };
      return { ...base, element: { type: 'multi_static_select', action_id: FIELD_ACTION, options, ...(initial.length ? { initial_options: initial } : {}) } };
    }
    case 'catalog': {
      const ids = asArray(value);
      const initial = ids.map((id) => optionOf(id, prefill?.names?.[id] ?? id));
      const action = catalogActionId(field.catalogTypeId ?? '');
      const placeholder = plain('Type to search');
      if (field.multiple) return { ...base, element: { type: 'multi_external_select', action_id: action, min_query_length: 0, placeholder, ...(initial.length ? { initial_options: initial } : {}) } };
      return { ...base, element: { type: 'external_select', action_id: action, min_query_length: 0, placeholder, ...(initial[0] ? { initial_option: initial[0] } : {}) } };
    }
  }
}

/** The declare modal's field blocks: defaults prefilled, required-at-declaration ones not optional. */
export function declareFieldBlocks(fields: FieldDef[], room: number, defaultNames: Record<string, string> = {}): Record<string, unknown>[] {
  return declareFields(fields, room).map((f) => fieldBlock(f, f.defaultValue === null ? null : { value: f.defaultValue, names: defaultNames }, { required: f.requiredAtDeclaration }));
}

/** The /incident field modal: every field, prefilled with the incident's values; all optional (a value may be cleared). */
export function fieldsView(meta: { incidentId: string; reference: string }, fields: FieldDef[], current: Map<string, Prefill>): Record<string, unknown> {
  const shown = fields.slice(0, MAX_BLOCKS);
  return {
    type: 'modal',
    callback_id: FIELDS_CALLBACK,
    private_metadata: JSON.stringify({ incidentId: meta.incidentId }),
    title: plain(truncate(`Fields of ${meta.reference}`, 24)),
    submit: plain('Save'),
    close: plain('Cancel'),
    blocks: shown.map((f) => fieldBlock(f, current.get(f.id) ?? null, { required: false, hint: f.requiredBeforeClose ? 'Needed before closing.' : undefined })),
  };
}

// ---- reading a submission ----

type StateValues = Record<string, Record<string, any>>;
/** What the incidents service takes: the raw value, or null for "no value". */
export type RawValue = string | number | string[] | null;

function elementState(values: StateValues, field: FieldDef): Record<string, any> | undefined {
  const block = values[fieldBlockId(field)];
  if (!block) return undefined;
  return block[field.type === 'catalog' ? catalogActionId(field.catalogTypeId ?? '') : FIELD_ACTION] ?? Object.values(block)[0];
}

/**
 * The values of the fields whose blocks are in the submission, keyed by field key (null when left empty), and
 * the problems Slack's own inputs cannot catch (a number input's text that is not a number).
 */
export function readFieldValues(values: StateValues, fields: readonly FieldDef[]): { values: Record<string, RawValue>; errors: Record<string, string> } {
  const out: Record<string, RawValue> = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    const st = elementState(values, f);
    if (!st) continue;
    switch (f.type) {
      case 'text':
      case 'link': {
        const v = String(st.value ?? '').trim();
        out[f.key] = v === '' ? null : v;
        break;
      }
      case 'number': {
        const v = String(st.value ?? '').trim();
        if (v === '') out[f.key] = null;
        else if (Number.isFinite(Number(v))) out[f.key] = Number(v);
        else errors[fieldBlockId(f)] = 'Enter a number.';
        break;
      }
      case 'single_select':
        out[f.key] = st.selected_option?.value ?? null;
        break;
      case 'multi_select': {
        const ids = ((st.selected_options ?? []) as { value: string }[]).map((o) => o.value);
        out[f.key] = ids.length ? ids : null;
        break;
      }
      case 'catalog': {
        if (f.multiple) {
          const ids = ((st.selected_options ?? []) as { value: string }[]).map((o) => o.value);
          out[f.key] = ids.length ? ids : null;
        } else out[f.key] = st.selected_option?.value ?? null;
        break;
      }
    }
  }
  return { values: out, errors };
}

/** Comparable form of a value: arrays as sorted lists, text trimmed, empty as null. */
function normalized(v: RawValue | FieldValue | undefined): string | null {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v.length ? JSON.stringify([...v].map(String).sort()) : null;
  if (typeof v === 'number') return `n:${v}`;
  const t = v.trim();
  return t === '' ? null : t;
}

/** Only the fields whose submitted value differs from the incident's current one (null clears a value). */
export function changedValues(read: Record<string, RawValue>, fields: FieldDef[], current: Map<string, FieldValue>): Record<string, RawValue> {
  const out: Record<string, RawValue> = {};
  for (const f of fields) {
    if (!(f.key in read)) continue;
    const next = read[f.key]!;
    const cur = current.get(f.id);
    const was = f.type === 'catalog' || f.type === 'multi_select' ? normalized(asArray(cur ?? null)) : normalized(cur);
    const now = f.type === 'catalog' || f.type === 'multi_select' ? normalized(asArray(next)) : normalized(next);
    if (was !== now) out[f.key] = next;
  }
  return out;
}

/**
 * The block a validation problem belongs to: `custom_field_values.<key or id>[...]` names a field's block
 * (when that block is in the modal); anything else goes to `fallback`.
 */
export function blockForPath(path: string, fields: readonly FieldDef[], inModal: Set<string>, fallback: string): string {
  const m = /^custom_field_values\.([^.[\]]+)/.exec(path);
  if (!m) return fallback;
  const f = fields.find((x) => x.key === m[1] || x.id === m[1]);
  const block = f ? fieldBlockId(f) : null;
  return block && inModal.has(block) ? block : fallback;
}

/** A ValidationError's field problems as Slack modal errors (one message per block; later ones appended). */
export function errorsForBlocks(problems: { path: string; message: string }[], fields: readonly FieldDef[], inModal: Set<string>, fallback: string, topMessage: string): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const p of problems) {
    const block = blockForPath(p.path, fields, inModal, fallback);
    // A field's block gets the problem with that field; the fallback block gets the error's whole message.
    const msg = block === fallback ? topMessage : p.message;
    if (errors[block]?.includes(msg)) continue;
    errors[block] = errors[block] ? `${errors[block]} ${msg}` : msg;
  }
  if (!Object.keys(errors).length) errors[fallback] = topMessage;
  return errors;
}
