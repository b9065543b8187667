// The incidents list's custom field filters: pick a field, then a value (an option, a catalog entry found by typing,
// or text), which adds `custom_field=<key>:<value>` to the URL; each active filter shows as a removable chip, by
// names (field name, option label, entry name), never ids.
import { useId, useState } from 'react';
import { CatalogEntryPicker, useEntryNames } from '../CatalogEntryPicker.js';
import { parseFieldFilter, type CustomField } from './api.js';

export const ANY_VALUE = '*';

export function FieldFilterPicker({ fields, onAdd }: { fields: CustomField[]; onAdd: (filter: string) => void }) {
  const ids = { field: useId(), value: useId() };
  const [key, setKey] = useState('');
  const [text, setText] = useState('');
  const field = fields.find((f) => f.key === key);
  const add = (value: string) => {
    if (!field || !value.trim()) return;
    onAdd(`${field.key}:${value.trim()}`);
    setKey('');
    setText('');
  };

  let valueControl = null;
  if (field?.type === 'single_select' || field?.type === 'multi_select') {
    valueControl = (
      <select id={ids.value} value="" onChange={(e) => add(e.target.value)}>
        <option value="" disabled>
          Choose a value…
        </option>
        <option value={ANY_VALUE}>Has any value</option>
        {field.options.map((o) => (
          <option key={o.id} value={o.id}>
            {o.label}
          </option>
        ))}
      </select>
    );
  } else if (field?.type === 'catalog' && field.catalog_type) {
    valueControl = <CatalogEntryPicker id={ids.value} typeId={field.catalog_type.id} multiple={false} value={[]} onChange={(picked) => picked[0] && add(picked[0].id)} />;
  } else if (field) {
    valueControl = (
      <div className="inline-edit">
        <input
          id={ids.value}
          type={field.type === 'number' ? 'number' : 'text'}
          step={field.type === 'number' ? 'any' : undefined}
          value={text}
          placeholder={field.type === 'link' ? 'https://… (exact)' : 'Exact value'}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault();
              add(text);
            }
          }}
        />
        <button type="button" className="button-small" onClick={() => add(text)} disabled={!text.trim()}>
          Apply
        </button>
      </div>
    );
  }

  return (
    <>
      <div className="field">
        <label htmlFor={ids.field}>Custom field</label>
        <select id={ids.field} value={key} onChange={(e) => setKey(e.target.value)}>
          <option value="">Any field</option>
          {fields.map((f) => (
            <option key={f.id} value={f.key}>
              {f.name}
            </option>
          ))}
        </select>
      </div>
      {field ? (
        <div className="field field-wide">
          <label htmlFor={ids.value}>{field.name} is</label>
          {valueControl}
        </div>
      ) : null}
    </>
  );
}

/** The active filters as chips: "Affected services: Payments API ×". */
export function FieldFilterChips({ filters, fields, onRemove }: { filters: readonly string[]; fields: CustomField[]; onRemove: (filter: string) => void }) {
  const parsed = filters.map((raw) => ({ raw, p: parseFieldFilter(raw) }));
  const entryIds = parsed.flatMap(({ p }) => {
    const f = p && fields.find((x) => x.key === p.key);
    return f?.type === 'catalog' && p && p.value !== ANY_VALUE ? [p.value] : [];
  });
  const entries = useEntryNames(entryIds);
  if (filters.length === 0) return null;
  return (
    <ul className="chips filter-chips" aria-label="Custom field filters">
      {parsed.map(({ raw, p }) => {
        const f = p ? fields.find((x) => x.key === p.key) : undefined;
        let shown = p?.value ?? raw;
        if (p?.value === ANY_VALUE) shown = 'has a value';
        else if (f && p && (f.type === 'single_select' || f.type === 'multi_select')) shown = f.options.find((o) => o.id === p.value)?.label ?? p.value;
        else if (f?.type === 'catalog' && p) shown = entries.find((e) => e.id === p.value)?.name ?? p.value;
        const label = `${f?.name ?? p?.key ?? raw}: ${shown}`;
        return (
          <li key={raw} className="chip">
            <span>{label}</span>
            <button type="button" className="chip-remove" aria-label={`Remove filter ${label}`} onClick={() => onRemove(raw)}>
              ×
            </button>
          </li>
        );
      })}
    </ul>
  );
}
