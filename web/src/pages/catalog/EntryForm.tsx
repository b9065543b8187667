// The form for an entry of a custom type: name, external id, aliases, and a control per attribute by kind.
// Reference attributes pick entries of the referenced type by searching (name, alias or external id), shown by
// name; Firebreak users are picked from the people list. Derived attributes are computed, so they have no control.
import { useEffect, useState } from 'react';
import { api } from '../../api.js';
import { ErrorMessage, Field } from '../../components/ui.js';
import { useLoad, useSubmit } from '../../hooks.js';
import { catalogEdit, type CatalogAttribute, type CatalogType } from './api.js';

type Picked = { id: string; name: string };
type Value = string | boolean | Picked[];

export interface EntryFormInitial {
  id: string;
  external_id: string;
  name: string;
  aliases: string[];
  attribute_values: Record<string, unknown>;
  /** Referenced entries by attribute, with names (from the entry page's resolved attributes). */
  picked: Record<string, Picked[]>;
}

function initialValue(a: CatalogAttribute, initial?: EntryFormInitial): Value {
  const v = initial?.attribute_values[a.id];
  if (a.type === 'reference') return initial?.picked[a.id] ?? [];
  if (a.type === 'bool') return v === true;
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map(String).join('\n');
  return String(v);
}

export function EntryForm({ type, initial, onSaved, onCancel }: { type: CatalogType; initial?: EntryFormInitial; onSaved: (id: string) => void; onCancel: () => void }) {
  const editable = type.attributes.filter((a) => a.type !== 'derived');
  const [name, setName] = useState(initial?.name ?? '');
  const [externalId, setExternalId] = useState(initial?.external_id ?? '');
  const [aliases, setAliases] = useState((initial?.aliases ?? []).join(', '));
  const [values, setValues] = useState<Record<string, Value>>(() => Object.fromEntries(editable.map((a) => [a.id, initialValue(a, initial)])));
  const needUsers = editable.some((a) => a.type === 'firebreak_user');
  const users = useLoad(() => (needUsers ? api.users() : Promise.resolve([])), [needUsers]);
  const { busy, error, field, onSubmit } = useSubmit();

  const toApi = (a: CatalogAttribute): unknown => {
    const v = values[a.id];
    if (a.type === 'reference') {
      const ids = (v as Picked[]).map((p) => p.id);
      return a.array ? ids : (ids[0] ?? null);
    }
    if (a.type === 'bool') return v === true;
    const text = String(v ?? '');
    const parts = a.array ? text.split('\n').map((x) => x.trim()).filter(Boolean) : [text.trim()].filter(Boolean);
    const conv = parts.map((x) => (a.type === 'number' ? Number(x) : x));
    return a.array ? conv : (conv[0] ?? null);
  };
  const submit = onSubmit(async () => {
    const attribute_values = Object.fromEntries(editable.map((a) => [a.id, toApi(a)]));
    const body = { name: name.trim(), aliases: aliases.split(',').map((x) => x.trim()).filter(Boolean), attribute_values, ...(externalId.trim() ? { external_id: externalId.trim() } : {}) };
    const saved = initial ? await catalogEdit.updateEntry(initial.id, body) : await catalogEdit.createEntry({ ...body, catalog_type_id: type.id });
    onSaved(saved.id);
  });

  return (
    <form className="form card" onSubmit={submit} aria-label={initial ? `Edit ${initial.name}` : `New ${type.name} entry`}>
      <h2>{initial ? `Edit ${initial.name}` : `New ${type.name} entry`}</h2>
      <div className="form-row">
        <Field label="Name" error={field('name')}>
          {(p) => <input {...p} required value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />}
        </Field>
        <Field label="External id" hint="How catalog files name this entry; made for you when left empty." error={field('external_id')}>
          {(p) => <input {...p} value={externalId} onChange={(e) => setExternalId(e.target.value)} autoComplete="off" />}
        </Field>
      </div>
      <Field label="Aliases" hint="Other names, separated by commas." error={field('aliases')}>
        {(p) => <input {...p} value={aliases} onChange={(e) => setAliases(e.target.value)} autoComplete="off" />}
      </Field>
      {editable.map((a) => {
        const err = field(`attribute_values.${a.id}`);
        const set = (v: Value) => setValues((cur) => ({ ...cur, [a.id]: v }));
        if (a.type === 'reference') return <EntryPicker key={a.id} attribute={a} picked={values[a.id] as Picked[]} onChange={set} error={err} />;
        if (a.type === 'bool')
          return (
            <label key={a.id} className="choice">
              <input type="checkbox" checked={values[a.id] === true} onChange={(e) => set(e.target.checked)} />
              <span>{a.name}</span>
            </label>
          );
        if (a.type === 'firebreak_user')
          return (
            <Field key={a.id} label={a.name} error={err}>
              {(p) => (
                <select {...p} value={String(values[a.id] ?? '')} onChange={(e) => set(e.target.value)}>
                  <option value="">Nobody</option>
                  {(users.data ?? []).map((u) => (
                    <option key={u.id} value={u.email.trim().toLowerCase()}>
                      {u.name} ({u.email})
                    </option>
                  ))}
                </select>
              )}
            </Field>
          );
        return (
          <Field key={a.id} label={a.name} hint={a.array ? 'One value per line.' : undefined} error={err}>
            {(p) =>
              a.type === 'text' || a.array ? (
                <textarea {...p} rows={a.array ? 3 : 4} value={String(values[a.id] ?? '')} onChange={(e) => set(e.target.value)} />
              ) : (
                <input {...p} type={a.type === 'number' ? 'number' : 'text'} step="any" value={String(values[a.id] ?? '')} onChange={(e) => set(e.target.value)} autoComplete="off" />
              )
            }
          </Field>
        );
      })}
      <ErrorMessage error={error} title={initial ? 'The entry was not saved.' : 'No entry was created.'} />
      <div className="form-actions">
        <button type="submit" className="button-primary" disabled={busy}>
          {busy ? 'Saving…' : initial ? 'Save entry' : 'Create entry'}
        </button>
        <button type="button" className="button-quiet" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** Picks entries of the referenced type by searching; one or several, each shown by name with a remove button. */
function EntryPicker({ attribute, picked, onChange, error }: { attribute: CatalogAttribute; picked: Picked[]; onChange: (v: Picked[]) => void; error?: string }) {
  const [search, setSearch] = useState('');
  const [results, setResults] = useState<Picked[]>([]);
  const [failed, setFailed] = useState<unknown>(null);
  useEffect(() => {
    if (!search.trim()) {
      setResults([]);
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      catalogEdit.search(attribute.reference_type ?? '', search).then(
        (r) => live && (setResults(r.map((e) => ({ id: e.id, name: e.name }))), setFailed(null)),
        (e: unknown) => live && setFailed(e),
      );
    }, 200);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [search, attribute.reference_type]);
  const add = (p: Picked) => {
    onChange(attribute.array ? [...picked.filter((x) => x.id !== p.id), p] : [p]);
    setSearch('');
  };
  return (
    <Field label={attribute.name} hint={`Search ${attribute.array ? 'entries' : 'an entry'} by name, alias or id.`} error={error}>
      {(p) => (
        <div className="entry-picker" data-picker={attribute.id}>
          {picked.length > 0 ? (
            <ul className="inline-list">
              {picked.map((x) => (
                <li key={x.id}>
                  {x.name}{' '}
                  <button type="button" className="button-link small" aria-label={`Remove ${x.name}`} onClick={() => onChange(picked.filter((y) => y.id !== x.id))}>
                    ×
                  </button>
                </li>
              ))}
            </ul>
          ) : null}
          <input {...p} type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder={`Search ${attribute.name.toLowerCase()}…`} autoComplete="off" />
          {failed ? <ErrorMessage error={failed} /> : null}
          {results.length > 0 ? (
            <ul className="choice-list" role="listbox" aria-label={`Matching entries for ${attribute.name}`}>
              {results.map((r) => (
                <li key={r.id}>
                  <button type="button" role="option" aria-selected={picked.some((x) => x.id === r.id)} className="button-small button-quiet" onClick={() => add(r)}>
                    {r.name}
                  </button>
                </li>
              ))}
            </ul>
          ) : search.trim() ? (
            <span className="muted small">No match yet.</span>
          ) : null}
        </div>
      )}
    </Field>
  );
}
