// The form for a custom catalog type: name, type name (fixed once created), description, and its attributes:
// name, kind, list or not, the referenced type (any type, PagerDuty ones and this type included) and, for a
// derived attribute, its path picked hop by hop through references. New attributes get an id made from their
// name; existing ones keep theirs, so renaming keeps the values.
import { useState } from 'react';
import { ApiError } from '../../api.js';
import { ErrorMessage, Field } from '../../components/ui.js';
import { useSubmit } from '../../hooks.js';
import { catalogEdit, KIND_LABELS, slugify, type CatalogAttribute, type CatalogType } from './api.js';

interface DraftAttribute {
  key: number;
  /** Set for attributes that exist already (their id never changes). */
  existingId: string | null;
  name: string;
  type: string;
  array: boolean;
  referenceType: string;
  path: string[];
}

let nextKey = 1;
const fromAttribute = (a: CatalogAttribute): DraftAttribute => ({ key: nextKey++, existingId: a.id, name: a.name, type: a.type, array: a.array, referenceType: a.type === 'reference' ? (a.reference_type ?? '') : '', path: a.path ?? [] });
const blank = (): DraftAttribute => ({ key: nextKey++, existingId: null, name: '', type: 'string', array: false, referenceType: '', path: [] });

/** Ids of the draft's attributes: existing ones as they are, new ones from their names (made unique). */
function draftIds(attrs: DraftAttribute[]): string[] {
  const used = new Set(attrs.filter((a) => a.existingId).map((a) => a.existingId!));
  return attrs.map((a) => {
    if (a.existingId) return a.existingId;
    const base = slugify(a.name);
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}_${n}`;
    used.add(id);
    return id;
  });
}

type TypeShape = { type_name: string; name: string; attributes: { id: string; name: string; type: string; reference_type: string | null }[] };

export function TypeForm({ types, existing, onSaved, onCancel }: { types: CatalogType[]; existing?: CatalogType; onSaved: (t: CatalogType) => void; onCancel: () => void }) {
  const [name, setName] = useState(existing?.name ?? '');
  const [typeName, setTypeName] = useState(existing?.type_name ?? '');
  const [typeNameTouched, setTypeNameTouched] = useState(!!existing);
  const [description, setDescription] = useState(existing?.description ?? '');
  const [attrs, setAttrs] = useState<DraftAttribute[]>(existing ? existing.attributes.map(fromAttribute) : [blank()]);
  const [confirming, setConfirming] = useState<string | null>(null);
  const { busy, error, field, run } = useSubmit();

  const ids = draftIds(attrs);
  const self: TypeShape = { type_name: typeName || '(this type)', name: name || 'This type', attributes: attrs.map((a, i) => ({ id: ids[i]!, name: a.name || ids[i]!, type: a.type, reference_type: a.type === 'reference' ? a.referenceType || null : a.type === 'derived' ? derivedEnd(a.path) : null })) };
  function typeByName(n: string): TypeShape | undefined {
    if (n === self.type_name) return self;
    return types.find((t) => t.type_name === n);
  }
  /** What a path ends on, if it ends on a reference (so derived attributes can be followed further). */
  function derivedEnd(path: string[], depth = 0): string | null {
    const selfName = typeName || '(this type)';
    let cur: string | null = selfName;
    for (const hop of path) {
      if (depth > 10 || !cur) return null;
      let next: string | null = null;
      if (cur === selfName) {
        const i = ids.indexOf(hop);
        const d = attrs[i];
        next = !d ? null : d.type === 'reference' ? d.referenceType || null : d.type === 'derived' ? derivedEnd(d.path, depth + 1) : null;
      } else {
        next = types.find((x) => x.type_name === cur)?.attributes.find((x) => x.id === hop)?.reference_type ?? null;
      }
      cur = next;
    }
    return cur;
  }

  const update = (key: number, change: Partial<DraftAttribute>) => setAttrs((cur) => cur.map((a) => (a.key === key ? { ...a, ...change } : a)));
  const body = () => ({
    name: name.trim(),
    description,
    attributes: attrs.map((a, i) => ({
      id: ids[i]!,
      name: a.name.trim(),
      type: a.type as AttributeKind,
      array: a.type === 'derived' ? false : a.array,
      ...(a.type === 'reference' ? { reference_type: a.referenceType } : {}),
      ...(a.type === 'derived' ? { path: a.path } : {}),
    })),
  });
  const save = (confirm: boolean) =>
    run(async () => {
      try {
        const t = existing ? await catalogEdit.updateType(existing.type_name, body(), confirm) : await catalogEdit.createType({ ...body(), type_name: typeName.trim() });
        setConfirming(null);
        onSaved(t);
      } catch (err) {
        if (err instanceof ApiError && err.code === 'attribute_in_use') setConfirming(err.message);
        throw err;
      }
    });

  return (
    <form
      className="form card"
      aria-label={existing ? `Edit ${existing.name}` : 'New type'}
      onSubmit={(e) => {
        e.preventDefault();
        void save(false);
      }}
    >
      <h2>{existing ? `Edit ${existing.name}` : 'New type'}</h2>
      <div className="form-row">
        <Field label="Name" hint="What people call it, e.g. “Product”." error={field('name')}>
          {(p) => (
            <input
              {...p}
              required
              value={name}
              onChange={(e) => {
                setName(e.target.value);
                if (!typeNameTouched) setTypeName(e.target.value.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : '')).replace(/^[^A-Za-z]+/, '').replace(/^./, (c) => c.toUpperCase()));
              }}
              autoComplete="off"
            />
          )}
        </Field>
        <Field label="Type name" hint={existing ? 'Fixed: references and catalog files name the type by it.' : 'Letters, digits and underscores; references and catalog files use it.'} error={field('type_name')}>
          {(p) => (
            <input
              {...p}
              required
              disabled={!!existing}
              value={typeName}
              pattern="[A-Za-z][A-Za-z0-9_]*"
              onChange={(e) => {
                setTypeName(e.target.value);
                setTypeNameTouched(true);
              }}
              autoComplete="off"
            />
          )}
        </Field>
      </div>
      <Field label="Description" error={field('description')}>
        {(p) => <textarea {...p} rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />}
      </Field>
      <fieldset className="field">
        <legend>Attributes</legend>
        {attrs.length === 0 ? <p className="muted small">No attributes: entries have a name, aliases and an external id only.</p> : null}
        <ol className="rows">
          {attrs.map((a, i) => (
            <li key={a.key} className="row" data-attribute-row={i}>
              <div className="form-row">
                <Field label="Attribute name" hint={<span className="mono">id: {ids[i]}</span>} error={field(`attributes.${i}.name`) ?? field(`attributes.${i}.id`)}>
                  {(p) => <input {...p} required value={a.name} onChange={(e) => update(a.key, { name: e.target.value })} autoComplete="off" />}
                </Field>
                <Field label="Kind" error={field(`attributes.${i}.type`)}>
                  {(p) => (
                    <select {...p} value={a.type} onChange={(e) => update(a.key, { type: e.target.value, path: [], referenceType: '' })}>
                      {Object.entries(KIND_LABELS).map(([k, label]) => (
                        <option key={k} value={k}>
                          {label}
                        </option>
                      ))}
                    </select>
                  )}
                </Field>
                {a.type === 'reference' ? (
                  <Field label="Referenced type" error={field(`attributes.${i}.reference_type`)}>
                    {(p) => (
                      <select {...p} required value={a.referenceType} onChange={(e) => update(a.key, { referenceType: e.target.value })}>
                        <option value="">Choose a type…</option>
                        <option value={typeName || '(this type)'} disabled={!typeName}>
                          {name || 'This type'} (this type)
                        </option>
                        {types
                          .filter((t) => t.type_name !== (existing?.type_name ?? typeName))
                          .map((t) => (
                            <option key={t.id} value={t.type_name}>
                              {t.name}
                            </option>
                          ))}
                      </select>
                    )}
                  </Field>
                ) : null}
                {a.type !== 'derived' ? (
                  <label className="choice" style={{ alignSelf: 'center' }}>
                    <input type="checkbox" checked={a.array} onChange={(e) => update(a.key, { array: e.target.checked })} />
                    <span>List (several values)</span>
                  </label>
                ) : null}
                <button type="button" className="button-small button-quiet" style={{ alignSelf: 'center', justifySelf: 'end' }} onClick={() => setAttrs((cur) => cur.filter((x) => x.key !== a.key))} aria-label={`Remove attribute ${a.name || ids[i]}`}>
                  Remove
                </button>
              </div>
              {a.type === 'derived' ? <PathPicker label={a.name || ids[i]!} start={self} typeByName={typeByName} path={a.path} onChange={(path) => update(a.key, { path })} error={field(`attributes.${i}.path`)} /> : null}
            </li>
          ))}
        </ol>
        <button type="button" className="button-small" style={{ justifySelf: 'start', alignSelf: 'start', width: 'auto' }} onClick={() => setAttrs((cur) => [...cur, blank()])}>
          Add attribute
        </button>
      </fieldset>
      {confirming ? (
        <div className="notice notice-warn" role="alert">
          <p>{confirming}</p>
          <button type="button" className="button-small button-danger" disabled={busy} onClick={() => void save(true)}>
            Drop those values and save
          </button>
        </div>
      ) : (
        <ErrorMessage error={error} title={existing ? 'The type was not saved.' : 'No type was created.'} />
      )}
      <div className="form-actions">
        <button type="submit" className="button-primary" disabled={busy}>
          {busy ? 'Saving…' : existing ? 'Save type' : 'Create type'}
        </button>
        <button type="button" className="button-quiet" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

type AttributeKind = CatalogAttribute['type'];

/** A derived attribute's path, one select per hop: each lists the attributes of the type the previous hop references. */
function PathPicker({ label, start, typeByName, path, onChange, error }: { label: string; start: TypeShape; typeByName: (n: string) => TypeShape | undefined; path: string[]; onChange: (p: string[]) => void; error?: string }) {
  const hops: { type: TypeShape; value: string }[] = [];
  let cur: TypeShape | undefined = start;
  for (let i = 0; i <= path.length && cur; i++) {
    hops.push({ type: cur, value: path[i] ?? '' });
    const chosen: TypeShape['attributes'][number] | undefined = path[i] ? cur.attributes.find((a) => a.id === path[i]) : undefined;
    if (!chosen || !chosen.reference_type) break;
    cur = typeByName(chosen.reference_type);
  }
  return (
    <div className="field">
      <span>
        Path of “{label}” <span className="muted small">follow references, then pick what to show</span>
      </span>
      <div className="form-row">
        {hops.map((h, i) => (
          <label key={i} className="field">
            <span className="small">{i === 0 ? `From ${h.type.name}` : `then on ${h.type.name}`}</span>
            <select aria-label={`Path step ${i + 1}`} value={h.value} onChange={(e) => onChange([...path.slice(0, i), ...(e.target.value ? [e.target.value] : [])])}>
              <option value="">{i === 0 ? 'Choose an attribute…' : '(stop here)'}</option>
              {h.type.attributes
                .filter((a) => !(i === 0 && a.id === undefined))
                .map((a) => (
                  <option key={a.id} value={a.id}>
                    {a.name}
                    {a.reference_type ? ` → ${typeByName(a.reference_type)?.name ?? a.reference_type}` : ''}
                  </option>
                ))}
            </select>
          </label>
        ))}
      </div>
      {error ? <span className="field-error">{error}</span> : null}
    </div>
  );
}
