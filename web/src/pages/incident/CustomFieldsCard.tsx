// The incident's custom fields: every defined field with its value as a person reads it (options by label, catalog
// entries by name linking to their catalog page, archived ones marked), "Not set" for the empty ones, each editable
// in place. A change is one PATCH of custom_field_values; the server writes its timeline item.
import { useState } from 'react';
import { useLoad, useSubmit } from '../../hooks.js';
import { Link } from '../../router.js';
import { ErrorMessage, Loading } from '../../components/ui.js';
import { fieldsApi, shapeOf, type CustomField, type IncidentFieldValue } from '../../components/custom-fields/api.js';
import { draftFromValue, draftToValue, FieldValueControl, type Draft } from '../../components/custom-fields/FieldValueControl.js';
import type { Incident } from '../../types.js';

export function CustomFieldsCard({ incident, editable, onChanged }: { incident: Incident; editable: boolean; onChanged: (i: Incident) => void }) {
  const fields = useLoad(() => fieldsApi.list(), []);
  const values = incident.custom_fields;
  if (fields.data && fields.data.length === 0) return null;
  return (
    <section className="card" aria-labelledby="custom-fields-heading">
      <h2 id="custom-fields-heading">Custom fields</h2>
      {fields.data === undefined ? (
        fields.error ? (
          <ErrorMessage error={fields.error} title="Could not load the custom fields." />
        ) : (
          <Loading label="Loading custom fields…" />
        )
      ) : (
        <ul className="cf-list" aria-label="Custom fields">
          {fields.data.map((f) => (
            <FieldItem key={f.id} incident={incident} field={f} value={values.find((v) => v.field.id === f.id)} editable={editable} onChanged={onChanged} />
          ))}
        </ul>
      )}
    </section>
  );
}

function FieldItem({ incident, field, value, editable, onChanged }: { incident: Incident; field: CustomField; value: IncidentFieldValue | undefined; editable: boolean; onChanged: (i: Incident) => void }) {
  const [draft, setDraft] = useState<Draft | null>(null);
  const { busy, error, setError, field: fieldError, onSubmit } = useSubmit();
  const shape = shapeOf(field);
  const start = () => {
    setError(null);
    const entries = value?.display.filter((d) => d.id !== null).map((d) => ({ id: d.id ?? '', name: d.label, archived: d.archived }));
    setDraft(draftFromValue(shape, value?.value, entries));
  };
  const save = onSubmit(async () => {
    if (draft === null) return;
    onChanged(await fieldsApi.setValues(incident.id, { [field.key]: draftToValue(shape, draft) }));
    setDraft(null);
  });

  if (draft !== null) {
    return (
      <li className="cf-item cf-editing" data-field={field.key}>
        <form className="form" onSubmit={save} aria-label={`Change ${field.name}`}>
          <FieldValueControl field={shape} draft={draft} onChange={setDraft} error={fieldError(`custom_field_values.${field.key}`)} />
          <ErrorMessage error={error} title="Not saved." />
          <div className="form-actions">
            <button type="submit" className="button-small button-primary" disabled={busy}>
              {busy ? 'Saving…' : 'Save'}
            </button>
            <button type="button" className="button-small button-quiet" disabled={busy} onClick={() => setDraft(null)}>
              Cancel
            </button>
          </div>
        </form>
      </li>
    );
  }

  return (
    <li className="cf-item" data-field={field.key}>
      <div className="cf-head">
        <span className="cf-name">
          {field.name}
          {field.required_before_close && !value ? <span className="muted small"> (needed to close)</span> : null}
        </span>
        {editable ? (
          <button type="button" className="button-link" aria-label={value ? `Change ${field.name}` : `Set ${field.name}`} onClick={start}>
            {value ? 'Change' : 'Set'}
          </button>
        ) : null}
      </div>
      <div className="cf-value">{value ? <FieldValue value={value} /> : <span className="muted">Not set</span>}</div>
    </li>
  );
}

/** A value as a person reads it: catalog entries link to their catalog page, links open, the rest is text. */
export function FieldValue({ value }: { value: IncidentFieldValue }) {
  const { field, display } = value;
  if (field.type === 'catalog' || field.type === 'multi_select') {
    return (
      <ul className="inline-list">
        {display.map((d, i) => (
          <li key={d.id ?? i}>
            {field.type === 'catalog' && d.id ? <Link to={`/catalog/entries/${encodeURIComponent(d.id)}`}>{d.label}</Link> : d.label}
            {d.archived ? <span className="badge badge-archived">archived</span> : null}
          </li>
        ))}
      </ul>
    );
  }
  if (field.type === 'link') {
    const href = display[0]?.url ?? String(value.value);
    // The server takes only http(s) links; anything else is shown, never made clickable.
    if (!/^https?:\/\//i.test(href)) return <span>{display[0]?.label ?? href}</span>;
    return (
      <a href={href} target="_blank" rel="noreferrer" className="cf-link">
        {display[0]?.label ?? href}
      </a>
    );
  }
  return <span className="prewrap">{display.map((d) => d.label).join(', ')}</span>;
}
