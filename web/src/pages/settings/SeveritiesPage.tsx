// Severities: the ordered scale incidents are rated on. Most severe first; admins add, rename, reorder and
// delete them (the server refuses to delete one that incidents still use, and we show why).
import { useState } from 'react';
import { api } from '../../api.js';
import { useLoad, useSubmit } from '../../hooks.js';
import { isAdmin, useSession } from '../../session.js';
import { Empty, ErrorMessage, Field } from '../../components/ui.js';
import { LoadGate, SettingsPage } from '../../components/settings.js';
import type { Severity } from '../../types.js';

export function SeveritiesPage() {
  const session = useSession();
  const admin = isAdmin(session.user.role);
  const list = useLoad(() => api.severities().then((all) => [...all].sort((a, b) => b.rank - a.rank)), []);

  return (
    <SettingsPage title="Severities" lead="How bad an incident is. The list runs from most to least severe.">
      {!admin && !list.error ? <p className="notice">Only owners and admins can change severities.</p> : null}
      <LoadGate
        state={list}
        loading="Loading severities…"
        failed="Could not load severities."
        empty={<Empty title="No severities yet.">{admin ? <p>Add one below; incidents need at least one.</p> : null}</Empty>}
      >
        {(sorted) => (
          <ul className="rows" aria-label="Severities, most severe first">
            {sorted.map((s, i) => (
              <SeverityRow key={s.id} severity={s} admin={admin} above={sorted[i - 1]} below={sorted[i + 1]} onChanged={list.reload} />
            ))}
          </ul>
        )}
      </LoadGate>
      {admin ? <AddSeverity onAdded={list.reload} /> : null}
    </SettingsPage>
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
  const [confirmDelete, setConfirmDelete] = useState(false);
  const { busy, error, setError, field, run, onSubmit } = useSubmit();

  const act = (fn: () => Promise<unknown>, after?: () => void) =>
    run(async () => {
      await fn();
      after?.();
      onChanged();
    });
  const save = onSubmit(async () => {
    await api.updateSeverity(severity.id, { name: name.trim(), description: description.trim() });
    setEditing(false);
    onChanged();
  });

  return (
    <li className="row">
      {editing ? (
        <form className="form" onSubmit={save}>
          <Field label="Name" error={field('name')}>
            {(p) => <input {...p} required value={name} onChange={(e) => setName(e.target.value)} />}
          </Field>
          <Field label="Description" error={field('description')}>
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
  const { busy, error, field, onSubmit } = useSubmit();
  const submit = onSubmit(async () => {
    await api.createSeverity({ name: name.trim(), description: description.trim() });
    setName('');
    setDescription('');
    onAdded();
  });
  return (
    <section className="card" aria-labelledby="add-severity">
      <h2 id="add-severity">Add a severity</h2>
      <p className="muted">After adding it, move it up or down to put it in its place on the scale.</p>
      <form className="form" onSubmit={submit}>
        <Field label="Name" error={field('name')}>
          {(p) => <input {...p} required value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Critical" />}
        </Field>
        <Field label="Description" error={field('description')}>
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
