// The incident's name and summary, and editing them.
import { useState } from 'react';
import { api } from '../../api.js';
import { ErrorMessage, Field } from '../../components/ui.js';
import { useSubmit } from '../../hooks.js';
import type { Incident } from '../../types.js';

export function SummaryCard({ incident, editable, onSaved }: { incident: Incident; editable: boolean; onSaved: (i: Incident) => void }) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(incident.name);
  const [summary, setSummary] = useState(incident.summary ?? '');
  const { busy, error, setError, field, onSubmit } = useSubmit();

  const start = () => {
    setName(incident.name);
    setSummary(incident.summary ?? '');
    setError(null);
    setEditing(true);
  };
  const save = onSubmit(async () => {
    onSaved(await api.updateIncident(incident.id, { name: name.trim(), summary: summary.trim() }));
    setEditing(false);
  });

  return (
    <section className="card" aria-labelledby="summary-heading">
      <div className="card-head">
        <h2 id="summary-heading">Summary</h2>
        {editable && !editing ? (
          <button type="button" className="button-quiet button-small" onClick={start}>
            Edit name and summary
          </button>
        ) : null}
      </div>
      {editing ? (
        <form className="form" onSubmit={save}>
          <Field label="Name" error={field('name')}>
            {(p) => <input {...p} required value={name} onChange={(e) => setName(e.target.value)} />}
          </Field>
          <Field label="Summary" error={field('summary')}>
            {(p) => <textarea {...p} rows={5} value={summary} onChange={(e) => setSummary(e.target.value)} />}
          </Field>
          <ErrorMessage error={error} title="Not saved." />
          <div className="form-actions">
            <button type="submit" className="button-primary" disabled={busy}>
              {busy ? 'Saving…' : 'Save'}
            </button>
            <button type="button" className="button-quiet" onClick={() => setEditing(false)} disabled={busy}>
              Cancel
            </button>
          </div>
        </form>
      ) : incident.summary ? (
        <p className="prewrap">{incident.summary}</p>
      ) : (
        <p className="muted">No summary yet.</p>
      )}
    </section>
  );
}
