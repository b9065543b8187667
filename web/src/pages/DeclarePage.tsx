// Declare a new incident. The form carries an idempotency key, so a double click or a retry after a
// network error cannot declare the same incident twice. Custom fields shown in the declare form (and every field
// required at declaration) follow the built-in ones, filled with their defaults.
import { useState, type FormEvent } from 'react';
import { ApiError, api } from '../api.js';
import { useLoad, useTitle } from '../hooks.js';
import { Link, navigate } from '../router.js';
import { canRespond, useSession } from '../session.js';
import { ErrorMessage, Field, Loading, titleCase } from '../components/ui.js';
import { MODES, type Mode } from '../types.js';
import { useEntryNames } from '../components/CatalogEntryPicker.js';
import { fieldsApi, shapeOf } from '../components/custom-fields/api.js';
import { draftFromValue, draftToValue, FieldValueControl, type Draft } from '../components/custom-fields/FieldValueControl.js';

const MODE_HINTS: Record<Mode, string> = {
  standard: 'A real incident that is happening now.',
  test: 'A drill or a try-out. Kept apart from real incidents.',
  retrospective: 'Something that already happened, recorded after the fact.',
};

function newKey(): string {
  return typeof crypto !== 'undefined' && 'randomUUID' in crypto
    ? crypto.randomUUID()
    : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

export function DeclarePage() {
  useTitle('Declare incident');
  const session = useSession();
  const severities = useLoad(() => api.severities().then((s) => [...s].sort((a, b) => b.rank - a.rank)), []);
  const [name, setName] = useState('');
  const [summary, setSummary] = useState('');
  const [severityId, setSeverityId] = useState('');
  const [mode, setMode] = useState<Mode>('standard');
  const [triage, setTriage] = useState(false);
  const fields = useLoad(() => fieldsApi.list().then((all) => all.filter((f) => f.show_in_declare || f.required_at_declaration)), []);
  const defaultIds = (fields.data ?? []).flatMap((f) => (f.type === 'catalog' && f.default_value !== null ? [f.default_value].flat().map(String) : []));
  const defaultEntries = useEntryNames(defaultIds);
  const [drafts, setDrafts] = useState<Record<string, Draft>>({});
  const [key] = useState(newKey);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  if (!canRespond(session.user.role)) {
    return (
      <>
        <h1>Declare incident</h1>
        <p>Viewers cannot declare incidents. Ask an owner or admin to give you the responder role.</p>
      </>
    );
  }

  const apiError = error instanceof ApiError ? error : null;
  const shown = (fields.data ?? []).map((f) => ({ field: f, shape: shapeOf(f) }));
  const draftOf = ({ field, shape }: (typeof shown)[number]): Draft => drafts[field.key] ?? draftFromValue(shape, field.default_value, defaultEntries);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    // Fields with a value are sent by key. A field whose default the person emptied is sent as null (no value);
    // other empty ones are left out.
    const customFieldValues: Record<string, unknown> = {};
    for (const s of shown) {
      const value = draftToValue(s.shape, draftOf(s));
      if (value !== null || s.field.default_value !== null) customFieldValues[s.field.key] = value;
    }
    try {
      const incident = await api.declare({
        name: name.trim(),
        summary: summary.trim() || undefined,
        severity_id: severityId,
        mode,
        triage,
        idempotency_key: key,
        ...(Object.keys(customFieldValues).length > 0 ? { custom_field_values: customFieldValues } : {}),
      });
      navigate(`/incidents/${encodeURIComponent(incident.reference)}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <div className="narrow">
      <h1>Declare incident</h1>
      <p className="lead-text">Say what is wrong and how bad it is. You can change everything later.</p>
      {severities.loading ? (
        <Loading label="Loading severities…" />
      ) : severities.error ? (
        <ErrorMessage error={severities.error} title="Could not load severities." />
      ) : (severities.data ?? []).length === 0 ? (
        <div className="notice">
          There are no severities yet, so an incident cannot be declared. An admin can add them in{' '}
          <Link to="/settings/severities">Settings → Severities</Link>.
        </div>
      ) : (
        <form className="card form" onSubmit={(e) => void submit(e)} noValidate={false}>
          <Field label="Name" hint="A short description people will recognise, e.g. “Checkout is failing for EU customers”." error={apiError?.field('name')}>
            {(p) => <input {...p} name="name" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} autoFocus />}
          </Field>
          <Field label="Summary (optional)" hint="What do we know so far? Impact, symptoms, links." error={apiError?.field('summary')}>
            {(p) => <textarea {...p} name="summary" rows={4} value={summary} onChange={(e) => setSummary(e.target.value)} />}
          </Field>
          <Field label="Severity" error={apiError?.field('severity_id')}>
            {(p) => (
              <select {...p} name="severity_id" required value={severityId} onChange={(e) => setSeverityId(e.target.value)}>
                <option value="" disabled>
                  Choose a severity…
                </option>
                {(severities.data ?? []).map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name}
                    {s.description ? ` — ${s.description}` : ''}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <fieldset className="field">
            <legend>Mode</legend>
            {MODES.map((m) => (
              <label key={m} className="choice">
                <input type="radio" name="mode" value={m} checked={mode === m} onChange={() => setMode(m)} />
                <span>
                  <strong>{titleCase(m)}</strong> <span className="muted">{MODE_HINTS[m]}</span>
                </span>
              </label>
            ))}
            {apiError?.field('mode') ? <span className="field-error">{apiError.field('mode')}</span> : null}
          </fieldset>
          {fields.error ? <ErrorMessage error={fields.error} title="Could not load the custom fields." /> : null}
          {shown.length > 0 ? (
            <fieldset className="field custom-fields-group">
              <legend>Details</legend>
              {shown.map((s) => (
                <FieldValueControl
                  key={s.field.id}
                  field={s.shape}
                  draft={draftOf(s)}
                  required={s.field.required_at_declaration}
                  onChange={(d) => setDrafts((all) => ({ ...all, [s.field.key]: d }))}
                  error={apiError?.field(`custom_field_values.${s.field.key}`)}
                />
              ))}
            </fieldset>
          ) : null}
          <label className="choice">
            <input type="checkbox" name="triage" checked={triage} onChange={(e) => setTriage(e.target.checked)} />
            <span>
              <strong>Start in triage</strong>{' '}
              <span className="muted">Not sure it is an incident yet? Someone will accept or decline it.</span>
            </span>
          </label>
          <ErrorMessage error={error} title="The incident was not declared." />
          <div className="form-actions">
            <button type="submit" className="button-primary" disabled={busy}>
              {busy ? 'Declaring…' : 'Declare incident'}
            </button>
            <Link to="/" className="button button-quiet">
              Cancel
            </Link>
          </div>
        </form>
      )}
    </div>
  );
}
