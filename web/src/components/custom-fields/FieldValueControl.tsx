// One custom field's value as a form control, by its type: a text, number or link box, a select of options, a set of
// checkboxes, or a catalog entry picker. The form keeps a draft (what the person is typing) and turns it into the
// raw value the API takes (`draftToValue`) only when it sends it.
import { useId, type ReactNode } from 'react';
import { CatalogEntryPicker, type PickedEntry } from '../CatalogEntryPicker.js';
import type { CustomFieldType, CustomFieldValue } from './api.js';

/** What a control needs to know about the field it edits (a defined field, or one being defined in settings). */
export interface FieldShape {
  key: string;
  name: string;
  description?: string;
  type: CustomFieldType;
  options: { id: string; label: string }[];
  catalogTypeId: string | null;
  multiple: boolean;
}

/** text, number, link and single_select: a string ('' = not set); multi_select: option ids; catalog: entries. */
export type Draft = string | string[] | PickedEntry[];

export function emptyDraft(f: FieldShape): Draft {
  return f.type === 'multi_select' || f.type === 'catalog' ? [] : '';
}

/** A draft from a stored value; catalog entries need their names (`display` from the incident, or looked up). */
export function draftFromValue(f: FieldShape, value: CustomFieldValue | null | undefined, entries?: PickedEntry[]): Draft {
  if (value === null || value === undefined) return emptyDraft(f);
  if (f.type === 'catalog') {
    const ids = Array.isArray(value) ? value : [String(value)];
    return ids.map((id) => entries?.find((e) => e.id === id) ?? { id, name: id });
  }
  if (f.type === 'multi_select') return Array.isArray(value) ? value.map(String) : [String(value)];
  return Array.isArray(value) ? value.join(', ') : String(value);
}

export function isEmptyDraft(d: Draft): boolean {
  return Array.isArray(d) ? d.length === 0 : d.trim() === '';
}

/** The raw value for the API, or null when the draft is empty. A number that does not parse is sent as typed, for the server to refuse with its message. */
export function draftToValue(f: FieldShape, d: Draft): unknown {
  if (isEmptyDraft(d)) return null;
  if (f.type === 'catalog') {
    const ids = (d as PickedEntry[]).map((e) => e.id);
    return f.multiple ? ids : ids[0];
  }
  if (f.type === 'multi_select') return d as string[];
  const text = (d as string).trim();
  if (f.type === 'number') {
    const n = Number(text);
    return Number.isFinite(n) ? n : text;
  }
  return text;
}

export function FieldValueControl({
  field,
  draft,
  onChange,
  error,
  label,
  hint,
  required,
  disabled,
}: {
  field: FieldShape;
  draft: Draft;
  onChange: (d: Draft) => void;
  error?: string | undefined;
  label?: ReactNode;
  hint?: ReactNode;
  required?: boolean;
  disabled?: boolean;
}) {
  const id = useId();
  const hintText = hint ?? (field.description || undefined);
  const hintId = hintText ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(' ') || undefined;
  const shown = (
    <>
      {label ?? field.name}
      {required ? <span className="required-mark"> (required)</span> : null}
    </>
  );
  const common = { id, 'aria-invalid': error ? true : undefined, 'aria-describedby': describedBy, disabled } as const;

  let control: ReactNode;
  if (field.type === 'multi_select') {
    const chosen = draft as string[];
    control = (
      <div className="checks" id={id} role="group" aria-labelledby={`${id}-label`} aria-describedby={describedBy}>
        {field.options.length === 0 ? <span className="muted small">No options yet.</span> : null}
        {field.options.map((o) => (
          <label key={o.id} className="choice">
            <input
              type="checkbox"
              value={o.id}
              disabled={disabled}
              checked={chosen.includes(o.id)}
              onChange={(e) => onChange(e.target.checked ? [...chosen, o.id] : chosen.filter((x) => x !== o.id))}
            />
            <span>{o.label}</span>
          </label>
        ))}
      </div>
    );
  } else if (field.type === 'single_select') {
    control = (
      <select {...common} value={draft as string} onChange={(e) => onChange(e.target.value)}>
        <option value="">Not set</option>
        {field.options.map((o) => (
          <option key={o.id} value={o.id}>
            {o.label}
          </option>
        ))}
      </select>
    );
  } else if (field.type === 'catalog') {
    control = field.catalogTypeId ? (
      <CatalogEntryPicker {...common} typeId={field.catalogTypeId} multiple={field.multiple} value={draft as PickedEntry[]} onChange={onChange} />
    ) : (
      <span className="muted small">Choose a catalog type first.</span>
    );
  } else {
    control = (
      <input
        {...common}
        type={field.type === 'number' ? 'number' : field.type === 'link' ? 'url' : 'text'}
        step={field.type === 'number' ? 'any' : undefined}
        placeholder={field.type === 'link' ? 'https://…' : undefined}
        value={draft as string}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  }

  return (
    <div className={`field${error ? ' field-invalid' : ''}`} data-field-key={field.key}>
      <label id={`${id}-label`} htmlFor={field.type === 'multi_select' ? undefined : id}>
        {shown}
      </label>
      {control}
      {hintText ? (
        <span id={hintId} className="hint">
          {hintText}
        </span>
      ) : null}
      {error ? (
        <span id={errorId} className="field-error">
          {error}
        </span>
      ) : null}
    </div>
  );
}
