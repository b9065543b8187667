// Custom fields: what incidents record beyond name, summary and severity (text, numbers, links, options, or entries
// of a catalog type such as "Affected services"). Admins add, change and delete them; a field's key is chosen when
// it is added and never changes (API filters and expressions use it). Deleting a field that incidents use asks first,
// saying how many (the server counts them and refuses until told to go ahead).
import { useState } from 'react';
import { ApiError } from '../../api.js';
import { useLoad, useSubmit } from '../../hooks.js';
import { isAdmin, useSession } from '../../session.js';
import { Empty, ErrorMessage, Field } from '../../components/ui.js';
import { LoadGate, SettingsPage } from '../../components/settings.js';
import { useEntryNames, type PickedEntry } from '../../components/CatalogEntryPicker.js';
import { FIELD_TYPES, fieldsApi, typeLabel, type CatalogTypeSummary, type CustomField, type CustomFieldType } from '../../components/custom-fields/api.js';
import { draftFromValue, draftToValue, emptyDraft, FieldValueControl, type Draft, type FieldShape } from '../../components/custom-fields/FieldValueControl.js';

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function CustomFieldsPage() {
  const session = useSession();
  const admin = isAdmin(session.user.role);
  const list = useLoad(() => fieldsApi.list(), []);
  const types = useLoad(() => fieldsApi.catalogTypes(), []);

  return (
    <SettingsPage
      title="Custom fields"
      lead="What every incident records beyond its name, summary and severity: text, numbers, links, options, or entries from the catalog."
    >
      {!admin && !list.error ? <p className="notice">Only owners and admins can change custom fields.</p> : null}
      <LoadGate
        state={list}
        loading="Loading custom fields…"
        failed="Could not load custom fields."
        empty={<Empty title="No custom fields yet.">{admin ? <p>Add one below, e.g. “Affected services” from the catalog.</p> : null}</Empty>}
      >
        {(fields) => (
          <ul className="rows" aria-label="Custom fields">
            {fields.map((f) => (
              <FieldRow key={f.id} field={f} admin={admin} catalogTypes={types.data ?? []} onChanged={list.reload} />
            ))}
          </ul>
        )}
      </LoadGate>
      {admin ? (
        <section className="card" aria-labelledby="add-field">
          <h2 id="add-field">Add a custom field</h2>
          <ErrorMessage error={types.error} title="Could not load catalog types." />
          <FieldForm catalogTypes={types.data ?? []} onSaved={list.reload} />
        </section>
      ) : null}
    </SettingsPage>
  );
}

function Flags({ field }: { field: CustomField }) {
  const flags = [
    field.required_at_declaration ? 'Required at declaration' : null,
    field.required_before_close ? 'Required before closing' : null,
    field.show_in_declare ? 'In the declare form' : null,
  ].filter((x): x is string => x !== null);
  return (
    <ul className="inline-list flags" aria-label="Settings">
      {flags.map((f) => (
        <li key={f} className="badge badge-flag">
          {f}
        </li>
      ))}
    </ul>
  );
}

function FieldRow({ field, admin, catalogTypes, onChanged }: { field: CustomField; admin: boolean; catalogTypes: CatalogTypeSummary[]; onChanged: () => void }) {
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  // How many incidents use it, as last counted: from the list, or from the server's refusal to delete.
  const [inUse, setInUse] = useState(field.incident_count);
  const { busy, error, setError, run } = useSubmit();

  const startDelete = () => {
    setError(null);
    setInUse(field.incident_count);
    setConfirming(true);
  };
  const remove = () =>
    run(async () => {
      try {
        // Confirm only what the person was shown: if incidents started using it meanwhile, the server refuses
        // and the question is asked again with its count.
        await fieldsApi.remove(field.id, inUse > 0);
      } catch (err) {
        if (err instanceof ApiError && err.code === 'field_in_use') {
          const n = incidentsFrom(err);
          setInUse(n ?? Math.max(inUse, 1));
          return;
        }
        throw err;
      }
      setConfirming(false);
      onChanged();
    });

  if (editing) {
    return (
      <li className="row">
        <h3 className="row-form-title">Edit {field.name}</h3>
        <FieldForm
          field={field}
          catalogTypes={catalogTypes}
          onSaved={() => {
            setEditing(false);
            onChanged();
          }}
          onCancel={() => setEditing(false)}
        />
      </li>
    );
  }

  return (
    <li className="row" data-field={field.key}>
      <div className="row-main">
        <div>
          <strong>{field.name}</strong> <span className="badge badge-type">{typeLabel(field.type)}</span>
          {field.type === 'catalog' && field.catalog_type ? (
            <span className="muted">
              {' '}
              of {field.catalog_type.name}
              {field.multiple ? ', several entries' : ', one entry'}
            </span>
          ) : null}
          <p className="muted small">
            Key <code>{field.key}</code>
            {field.description ? ` · ${field.description}` : ''}
            {field.type === 'single_select' || field.type === 'multi_select' ? ` · Options: ${field.options.map((o) => o.label).join(', ') || 'none'}` : ''}
            {` · Used by ${plural(field.incident_count, 'incident')}`}
            {field.default_value !== null ? <DefaultShown field={field} /> : null}
          </p>
          <Flags field={field} />
        </div>
        {admin ? (
          <div className="row-actions">
            <button
              type="button"
              className="button-small button-quiet"
              disabled={busy}
              aria-label={`Edit ${field.name}`}
              onClick={() => {
                setConfirming(false);
                setEditing(true);
              }}
            >
              Edit
            </button>
            {confirming ? null : (
              <button type="button" className="button-small button-quiet" disabled={busy} aria-label={`Delete ${field.name}…`} onClick={startDelete}>
                Delete…
              </button>
            )}
          </div>
        ) : null}
      </div>
      {confirming ? (
        <div className="notice notice-warn confirm-delete" role="alertdialog" aria-label={`Delete ${field.name}?`}>
          <p>
            {inUse > 0 ? (
              <>
                <strong>{plural(inUse, 'incident uses', 'incidents use')} {field.name}.</strong> Deleting it removes it from them and from every form;
                their timelines keep its history.
              </>
            ) : (
              <>No incident uses {field.name}. Delete it?</>
            )}
          </p>
          <div className="form-actions">
            <button type="button" className="button-small button-danger" disabled={busy} onClick={() => void remove()}>
              {busy ? 'Deleting…' : inUse > 0 ? `Delete from ${plural(inUse, 'incident')}` : `Delete ${field.name}`}
            </button>
            <button type="button" className="button-small button-quiet" disabled={busy} onClick={() => setConfirming(false)}>
              Keep it
            </button>
          </div>
        </div>
      ) : null}
      <ErrorMessage error={error} title="Not deleted." />
    </li>
  );
}

/** " · Default: …" by what people read: option labels, entry names, the text itself. */
function DefaultShown({ field }: { field: CustomField }) {
  const values = field.default_value === null ? [] : [field.default_value].flat().map(String);
  const entries = useEntryNames(field.type === 'catalog' ? values : []);
  const labels =
    field.type === 'catalog' ? entries.map((e) => e.name) : field.type === 'single_select' || field.type === 'multi_select' ? values.map((v) => field.options.find((o) => o.id === v)?.label ?? v) : values;
  return <> · Default: {labels.join(', ')}</>;
}

/** The count in a 409 `field_in_use` (details `{ incidents: n }`), else the first number before "incident" in its message. */
function incidentsFrom(err: ApiError): number | null {
  const d = err.details;
  if (d && typeof d === 'object' && 'incidents' in d && typeof (d as { incidents: unknown }).incidents === 'number') return (d as { incidents: number }).incidents;
  const m = /(\d+)\s+incident/.exec(err.message);
  return m ? Number(m[1]) : null;
}

/** A key from a name: lower case, words joined by underscores, starting with a letter ("Affected services" → affected_services). */
export function keyFrom(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^[^a-z]+/, '')
    .replace(/_+$/, '')
    .slice(0, 63)
    .replace(/_+$/, '');
  return slug;
}

interface OptionRow {
  /** The option's id once saved; new rows get a temporary `new:<n>` until the server gives them one. */
  id: string;
  label: string;
}

let tmpCounter = 0;
const newOption = (): OptionRow => ({ id: `new:${++tmpCounter}`, label: '' });

function FieldForm({ field, catalogTypes, onSaved, onCancel }: { field?: CustomField; catalogTypes: CatalogTypeSummary[]; onSaved: () => void; onCancel?: () => void }) {
  const editing = field !== undefined;
  // The server changes a field's type (and catalog type) only while no incident has a value for it.
  const typeFixed = editing && field.incident_count > 0;
  const [name, setName] = useState(field?.name ?? '');
  const [key, setKey] = useState(field?.key ?? '');
  const [keyTouched, setKeyTouched] = useState(false);
  const [description, setDescription] = useState(field?.description ?? '');
  const [type, setType] = useState<CustomFieldType>(field?.type ?? 'text');
  const [options, setOptions] = useState<OptionRow[]>(field?.options.length ? field.options.map((o) => ({ ...o })) : [newOption(), newOption()]);
  const [catalogTypeId, setCatalogTypeId] = useState(field?.catalog_type?.id ?? '');
  const [multiple, setMultiple] = useState(field?.multiple ?? false);
  const [requiredAtDeclaration, setRequiredAtDeclaration] = useState(field?.required_at_declaration ?? false);
  const [requiredBeforeClose, setRequiredBeforeClose] = useState(field?.required_before_close ?? false);
  const [showInDeclare, setShowInDeclare] = useState(field?.show_in_declare ?? true);
  const defaultIds = field?.type === 'catalog' && field.default_value !== null ? (Array.isArray(field.default_value) ? field.default_value.map(String) : [String(field.default_value)]) : [];
  const defaultEntries = useEntryNames(defaultIds);
  const [defaultDraft, setDefaultDraft] = useState<Draft | null>(null);
  const { busy, error, field: fieldError, onSubmit } = useSubmit();

  const shownKey = editing || keyTouched ? key : keyFrom(name);
  const selects = type === 'single_select' || type === 'multi_select';
  const shape: FieldShape = {
    key: shownKey || 'new_field',
    name: 'Default value',
    type,
    options: options.filter((o) => o.label.trim() !== ''),
    catalogTypeId: type === 'catalog' ? catalogTypeId || null : null,
    multiple: type === 'multi_select' || multiple,
  };
  // Until the person touches it, the default shows what is stored (catalog names once they have loaded).
  const draft: Draft = defaultDraft ?? (field ? draftFromValue(shape, field.default_value, defaultEntries) : emptyDraft(shape));
  const changeType = (t: CustomFieldType) => {
    setType(t);
    setDefaultDraft(emptyDraft({ ...shape, type: t }));
  };

  const submit = onSubmit(async () => {
    const opts = options.filter((o) => o.label.trim() !== '');
    // A default naming an option not saved yet is sent by its label (the API takes either).
    let defaultValue = draftToValue(shape, draft);
    if (selects && defaultValue !== null) {
      const byTmp = (id: string) => (id.startsWith('new:') ? (opts.find((o) => o.id === id)?.label.trim() ?? id) : id);
      defaultValue = Array.isArray(defaultValue) ? (defaultValue as string[]).map(byTmp) : byTmp(defaultValue as string);
    }
    const body = {
      name: name.trim(),
      description: description.trim(),
      required_at_declaration: requiredAtDeclaration,
      required_before_close: requiredBeforeClose,
      show_in_declare: showInDeclare,
      default_value: defaultValue,
      ...(selects ? { options: opts.map((o) => (o.id.startsWith('new:') ? { label: o.label.trim() } : { id: o.id, label: o.label.trim() })) } : {}),
      ...(type === 'catalog' ? { multiple } : {}),
    };
    const typed = { type, ...(type === 'catalog' ? { catalog_type: catalogTypeId } : {}) };
    if (editing) {
      await fieldsApi.update(field.id, typeFixed ? body : { ...body, ...typed });
    } else {
      await fieldsApi.create({ ...body, ...typed, key: shownKey });
      setName('');
      setKey('');
      setKeyTouched(false);
      setDescription('');
      setType('text');
      setOptions([newOption(), newOption()]);
      setCatalogTypeId('');
      setMultiple(false);
      setRequiredAtDeclaration(false);
      setRequiredBeforeClose(false);
      setShowInDeclare(true);
      setDefaultDraft(null);
    }
    onSaved();
  });

  return (
    <form className="form" onSubmit={submit} aria-label={editing ? `Edit ${field.name}` : 'Add a custom field'}>
      <div className="form-row">
        <Field label="Name" error={fieldError('name')}>
          {(p) => <input {...p} required maxLength={120} value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Affected services" />}
        </Field>
        {editing ? (
          <div className="field">
            <span className="field-label">Key</span>
            <code className="key-fixed" aria-label="Key">
              {field.key}
            </code>
            <span className="hint">Fixed: API filters and expressions use it.</span>
          </div>
        ) : (
          <Field label="Key" hint="Used in API filters and expressions; it cannot change later." error={fieldError('key')}>
            {(p) => (
              <input
                {...p}
                required
                className="mono"
                pattern="[a-z][a-z0-9_]{0,62}"
                value={shownKey}
                onChange={(e) => {
                  setKeyTouched(true);
                  setKey(e.target.value);
                }}
              />
            )}
          </Field>
        )}
      </div>
      <Field label="Description (optional)" hint="Shown under the field where people fill it in." error={fieldError('description')}>
        {(p) => <input {...p} maxLength={500} value={description} onChange={(e) => setDescription(e.target.value)} />}
      </Field>
      <div className="form-row">
        <Field label="Type" hint={typeFixed ? 'Fixed: incidents have values for this field.' : undefined} error={fieldError('type')}>
          {(p) => (
            <select {...p} value={type} disabled={typeFixed} onChange={(e) => changeType(e.target.value as CustomFieldType)}>
              {FIELD_TYPES.map((t) => (
                <option key={t.value} value={t.value}>
                  {t.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        {type === 'catalog' ? (
          <Field label="Catalog type" hint={typeFixed ? 'Fixed: incidents have values for this field.' : 'People choose entries of this type.'} error={fieldError('catalog_type')}>
            {(p) => (
              <select
                {...p}
                required
                disabled={typeFixed}
                value={catalogTypeId}
                onChange={(e) => {
                  setCatalogTypeId(e.target.value);
                  setDefaultDraft([]);
                }}
              >
                <option value="" disabled>
                  Choose a catalog type…
                </option>
                {catalogTypes.map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
        ) : null}
      </div>
      {type === 'catalog' ? (
        <fieldset className="field">
          <legend>How many entries</legend>
          <label className="choice">
            <input type="radio" name="multiple" checked={!multiple} onChange={() => {
                setMultiple(false);
                setDefaultDraft((d) => (Array.isArray(d) ? (d as PickedEntry[]).slice(0, 1) : d));
              }} />
            <span>One entry</span>
          </label>
          <label className="choice">
            <input type="radio" name="multiple" checked={multiple} onChange={() => setMultiple(true)} />
            <span>Several entries</span>
          </label>
        </fieldset>
      ) : null}
      {selects ? (
        <fieldset className="field">
          <legend>Options</legend>
          <ol className="option-rows">
            {options.map((o, i) => (
              <li key={o.id} className="option-row">
                <input
                  aria-label={`Option ${i + 1}`}
                  value={o.label}
                  maxLength={120}
                  onChange={(e) => setOptions((all) => all.map((x) => (x.id === o.id ? { ...x, label: e.target.value } : x)))}
                />
                <button type="button" className="button-small button-quiet" aria-label={`Remove option ${o.label || i + 1}`} onClick={() => setOptions((all) => all.filter((x) => x.id !== o.id))}>
                  Remove
                </button>
              </li>
            ))}
          </ol>
          <div>
            <button type="button" className="button-small" onClick={() => setOptions((all) => [...all, newOption()])}>
              Add option
            </button>
          </div>
          {editing ? <span className="hint">Renaming an option keeps it on the incidents that have it.</span> : null}
          {fieldError('options') ? <span className="field-error">{fieldError('options')}</span> : null}
        </fieldset>
      ) : null}
      <fieldset className="field">
        <legend>When</legend>
        <label className="choice">
          <input type="checkbox" checked={showInDeclare} onChange={(e) => setShowInDeclare(e.target.checked)} />
          <span>Show in the declare form</span>
        </label>
        <label className="choice">
          <input type="checkbox" checked={requiredAtDeclaration} onChange={(e) => setRequiredAtDeclaration(e.target.checked)} />
          <span>
            Required at declaration <span className="muted">(always in the declare form)</span>
          </span>
        </label>
        <label className="choice">
          <input type="checkbox" checked={requiredBeforeClose} onChange={(e) => setRequiredBeforeClose(e.target.checked)} />
          <span>Required before closing</span>
        </label>
      </fieldset>
      {type !== 'catalog' || catalogTypeId ? (
        <FieldValueControl
          field={shape}
          draft={draft}
          onChange={setDefaultDraft}
          label="Default value (optional)"
          hint="Given to new incidents that do not set the field."
          error={fieldError('default_value')}
        />
      ) : null}
      <ErrorMessage error={error} title={editing ? 'Not saved.' : 'Not added.'} />
      <div className="form-actions">
        <button type="submit" className="button-primary" disabled={busy}>
          {busy ? 'Saving…' : editing ? 'Save' : 'Add field'}
        </button>
        {onCancel ? (
          <button type="button" className="button-quiet" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
        ) : null}
      </div>
    </form>
  );
}
