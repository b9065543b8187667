// Incident roles: the jobs people take on during an incident besides the lead (Communications, Scribe,
// Operations…), each with a description, in the order incidents show them. Admins add, rename, describe, reorder
// and delete them (a deleted role stays on incidents where someone held it); everyone else reads the list.
import { useState } from 'react';
import { call } from '../../api.js';
import type { Body, Ok } from '../../api/operations.js';
import { useLoad, useSubmit } from '../../hooks.js';
import { useLive } from '../../live.js';
import { isAdmin, useSession } from '../../session.js';
import { Empty, ErrorMessage, Field } from '../../components/ui.js';
import { LoadGate, SettingsPage } from '../../components/settings.js';

type Role = Ok<'/api/v1/incident_roles', 'get'>['incident_roles'][number];

const roleApi = {
  list: () => call('get', '/api/v1/incident_roles').then((r) => r.incident_roles),
  create: (body: Body<'/api/v1/incident_roles', 'post'>) => call('post', '/api/v1/incident_roles', { body }),
  update: (id: string, body: Body<'/api/v1/incident_roles/{id}', 'patch'>) => call('patch', '/api/v1/incident_roles/{id}', { params: { id }, body }),
  remove: (id: string) => call('delete', '/api/v1/incident_roles/{id}', { params: { id } }),
};

export function RolesPage() {
  const session = useSession();
  const admin = isAdmin(session.user.role);
  const list = useLoad(roleApi.list, []);
  // Another admin's change shows here without a reload.
  useLive(['settings'], null, list.refresh);

  return (
    <SettingsPage title="Roles" lead="Who does what during an incident, besides the lead. Incidents list them in this order; responders give them to people on the incident page or with /incident role in Slack.">
      {!admin && !list.error ? <p className="notice">Only owners and admins can change roles.</p> : null}
      <LoadGate
        state={list}
        loading="Loading roles…"
        failed="Could not load roles."
        empty={<Empty title="No roles yet besides the lead.">{admin ? <p>Add one below, such as Communications or Scribe.</p> : null}</Empty>}
      >
        {(roles) => (
          <ul className="rows" aria-label="Roles, in the order incidents show them">
            {roles.map((r, i) => (
              <RoleRow key={r.id} role={r} admin={admin} first={i === 0} last={i === roles.length - 1} onChanged={list.reload} />
            ))}
          </ul>
        )}
      </LoadGate>
      {admin ? <AddRole onAdded={list.reload} /> : null}
    </SettingsPage>
  );
}

function RoleRow({ role, admin, first, last, onChanged }: { role: Role; admin: boolean; first: boolean; last: boolean; onChanged: () => void }) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(role.name);
  const [description, setDescription] = useState(role.description);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const { busy, error, setError, field, run, onSubmit } = useSubmit();

  const act = (fn: () => Promise<unknown>, after?: () => void) =>
    run(async () => {
      await fn();
      after?.();
      onChanged();
    });
  const save = onSubmit(async () => {
    await roleApi.update(role.id, { name: name.trim(), description: description.trim() });
    setEditing(false);
    onChanged();
  });

  if (editing) {
    return (
      <li className="row">
        <form className="form" onSubmit={save} aria-label={`Edit ${role.name}`}>
          <Field label="Name" error={field('name')}>
            {(p) => <input {...p} required maxLength={60} value={name} onChange={(e) => setName(e.target.value)} />}
          </Field>
          <Field label="Description" error={field('description')}>
            {(p) => <textarea {...p} rows={2} maxLength={1000} value={description} onChange={(e) => setDescription(e.target.value)} />}
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
      </li>
    );
  }
  return (
    <li className="row">
      <div className="row-main">
        <div>
          <strong>{role.name}</strong>
          <p className="muted">{role.description || 'No description.'}</p>
        </div>
        {admin ? (
          <div className="row-actions">
            <button type="button" className="button-small button-quiet" disabled={busy || first} aria-label={`Move ${role.name} up`} onClick={() => void act(() => roleApi.update(role.id, { rank: role.rank - 1 }))}>
              Move up
            </button>
            <button type="button" className="button-small button-quiet" disabled={busy || last} aria-label={`Move ${role.name} down`} onClick={() => void act(() => roleApi.update(role.id, { rank: role.rank + 1 }))}>
              Move down
            </button>
            <button
              type="button"
              className="button-small button-quiet"
              disabled={busy}
              aria-label={`Edit ${role.name}`}
              onClick={() => {
                setName(role.name);
                setDescription(role.description);
                setError(null);
                setEditing(true);
              }}
            >
              Edit
            </button>
            {confirmDelete ? (
              <>
                <button type="button" className="button-small button-danger" disabled={busy} onClick={() => void act(() => roleApi.remove(role.id), () => setConfirmDelete(false))}>
                  Delete {role.name}
                </button>
                <button type="button" className="button-small button-quiet" onClick={() => setConfirmDelete(false)}>
                  Keep
                </button>
              </>
            ) : (
              <button type="button" className="button-small button-quiet" disabled={busy} aria-label={`Delete ${role.name}…`} onClick={() => (setError(null), setConfirmDelete(true))}>
                Delete…
              </button>
            )}
          </div>
        ) : null}
      </div>
      {confirmDelete ? <p className="muted small">Incidents where someone held {role.name} keep showing it; it leaves the list and the pickers.</p> : null}
      <ErrorMessage error={error} />
    </li>
  );
}

function AddRole({ onAdded }: { onAdded: () => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const { busy, error, field, onSubmit } = useSubmit();
  const submit = onSubmit(async () => {
    await roleApi.create({ name: name.trim(), description: description.trim() });
    setName('');
    setDescription('');
    onAdded();
  });
  return (
    <section className="card" aria-labelledby="add-role">
      <h2 id="add-role">Add a role</h2>
      <p className="muted">It goes to the end of the list; move it up to put it in its place.</p>
      <form className="form" onSubmit={submit}>
        <Field label="Name" error={field('name')}>
          {(p) => <input {...p} required maxLength={60} value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Communications" />}
        </Field>
        <Field label="Description" error={field('description')}>
          {(p) => <textarea {...p} rows={2} maxLength={1000} value={description} onChange={(e) => setDescription(e.target.value)} placeholder="What the person in this role does" />}
        </Field>
        <ErrorMessage error={error} title="Not added." />
        <div className="form-actions">
          <button type="submit" className="button-primary" disabled={busy}>
            {busy ? 'Adding…' : 'Add role'}
          </button>
        </div>
      </form>
    </section>
  );
}
