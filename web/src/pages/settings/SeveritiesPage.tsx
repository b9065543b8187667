// Severities: the ordered scale incidents are rated on. Most severe first; admins add, rename, reorder and
// delete them (the server refuses to delete one that incidents still use, and we show why).
import { useState, type FormEvent } from 'react';
import { ApiError, api } from '../../api.js';
import { useLoad, useTitle } from '../../hooks.js';
import { isAdmin, useSession } from '../../session.js';
import { Empty, ErrorMessage, Field, Loading } from '../../components/ui.js';
import type { Severity } from '../../types.js';

export function SeveritiesPage() {
  useTitle('Severities');
  const session = useSession();
  const admin = isAdmin(session.user.role);
  const list = useLoad(() => api.severities(), []);
  const sorted = [...(list.data ?? [])].sort((a, b) => b.rank - a.rank);

  return (
    <>
      <h1>Severities</h1>
      <p className="lead-text">How bad an incident is. The list runs from most to least severe.</p>
      {!admin && !list.error ? <p className="notice">Only owners and admins can change severities.</p> : null}
      {list.loading && !list.data ? (
        <Loading label="Loading severities…" />
      ) : list.error && !list.data ? (
        <ErrorMessage error={list.error} title="Could not load severities." />
      ) : sorted.length === 0 ? (
        <Empty title="No severities yet.">{admin ? <p>Add one below; incidents need at least one.</p> : null}</Empty>
      ) : (
        <ul className="rows" aria-label="Severities, most severe first">
          {sorted.map((s, i) => (
            <SeverityRow
              key={s.id}
              severity={s}
              admin={admin}
              above={sorted[i - 1]}
              below={sorted[i + 1]}
              onChanged={list.reload}
            />
          ))}
        </ul>
      )}
      {admin ? <AddSeverity onAdded={list.reload} /> : null}
    </>
  );
}

function SeverityRow({
  severity,
  admin,
  above,
  below,
  onChanged,
}: {
  severity: Severity;
  admin: boolean;
  above: Severity | undefined;
  below: Severity | undefined;
  onChanged: () => void;
}) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(severity.name);
  const [description, setDescription] = useState(severity.description);
  const [busy, setBusy] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const apiError = error instanceof ApiError ? error : null;

  const act = async (fn: () => Promise<unknown>, after?: () => void) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
      after?.();
      onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const save = (e: FormEvent) => {
    e.preventDefault();
    void act(() => api.updateSeverity(severity.id, { name: name.trim(), description: description.trim() }), () => setEditing(false));
  };

  return (
    <li className="row">
      {editing ? (
        <form className="form" onSubmit={save}>
          <Field label="Name" error={apiError?.field('name')}>
            {(p) => <input {...p} required value={name} onChange={(e) => setName(e.target.value)} />}
          </Field>
          <Field label="Description" error={apiError?.field('description')}>
            {(p) => <input {...p} value={description} onChange={(e) => setDescription(e.target.value)} />}
          </Field>
          <ErrorMessage error={error} title="Not saved." />
          <div className="form-actions">
            <button type="submit" className="button-primary" disabled={busy}>
              {busy ? 'Saving…' : 'Save'}
            </button>
            <button type="button" className="button-quiet" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <>
          <div className="row-main">
            <div>
              <strong>{severity.name}</strong>
              <p className="muted">{severity.description || 'No description.'}</p>
            </div>
            {admin ? (
              <div className="row-actions">
                {/* Ranks: a higher rank is more severe. Moving up swaps with the one above. */}
                <button
                  type="button"
                  className="button-small button-quiet"
                  disabled={busy || !above}
                  aria-label={`Move ${severity.name} up (more severe)`}
                  onClick={() => above && void act(() => api.updateSeverity(severity.id, { rank: above.rank }))}
                >
                  Move up
                </button>
                <button
                  type="button"
                  className="button-small button-quiet"
                  disabled={busy || !below}
                  aria-label={`Move ${severity.name} down (less severe)`}
                  onClick={() => below && void act(() => api.updateSeverity(severity.id, { rank: below.rank }))}
                >
                  Move down
                </button>
                <button
                  type="button"
                  className="button-small button-quiet"
                  disabled={busy}
                  onClick={() => {
                    setName(severity.name);
                    setDescription(severity.description);
                    setError(null);
                    setEditing(true);
                  }}
                >
                  Edit
                </button>
                {confirmDelete ? (
                  <>
                    <button type="button" className="button-small button-danger" disabled={busy} onClick={() => void act(() => api.deleteSeverity(severity.id), () => setConfirmDelete(false))}>
                      Delete {severity.name}
                    </button>
                    <button type="button" className="button-small button-quiet" onClick={() => setConfirmDelete(false)}>
                      Keep
                    </button>
                  </>
                ) : (
                  <button type="button" className="button-small button-quiet" disabled={busy} onClick={() => (setError(null), setConfirmDelete(true))}>
                    Delete…
                  </button>
                )}
              </div>
            ) : null}
          </div>
          <ErrorMessage error={error} />
        </>
      )}
    </li>
  );
}

function AddSeverity({ onAdded }: { onAdded: () => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const apiError = error instanceof ApiError ? error : null;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.createSeverity({ name: name.trim(), description: description.trim() });
      setName('');
      setDescription('');
      onAdded();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="add-severity">
      <h2 id="add-severity">Add a severity</h2>
      <p className="muted">After adding it, move it up or down to put it in its place on the scale.</p>
      <form className="form" onSubmit={(e) => void submit(e)}>
        <Field label="Name" error={apiError?.field('name')}>
          {(p) => <input {...p} required value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Critical" />}
        </Field>
        <Field label="Description" error={apiError?.field('description')}>
          {(p) => <input {...p} value={description} onChange={(e) => setDescription(e.target.value)} placeholder="When to use it" />}
        </Field>
        <ErrorMessage error={error} title="Not added." />
        <div className="form-actions">
          <button type="submit" className="button-primary" disabled={busy}>
            {busy ? 'Adding…' : 'Add severity'}
          </button>
        </div>
      </form>
    </section>
  );
}
