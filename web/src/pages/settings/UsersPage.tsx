// Users: who can sign in and what they may do. Admins add people, change roles and names, and create
// one-time sign-in links (shown once, to pass on to the person), for people whose role is not above their own;
// the server refuses the rest, so the page offers only what it would allow and says why for owners.
import { useState } from 'react';
import { api } from '../../api.js';
import { useLoad, useSubmit } from '../../hooks.js';
import { isAdmin, useSession } from '../../session.js';
import { CopyField, DateTime, Empty, ErrorMessage, Field, titleCase } from '../../components/ui.js';
import { LoadGate, SettingsPage } from '../../components/settings.js';
import { ROLES, type Role, type User } from '../../types.js';

const RANK: Record<Role, number> = { viewer: 0, responder: 1, admin: 2, owner: 3 };
/** The roles `me` may act for or give: their own and below (the server's rule; see README, Roles). */
const rolesUpTo = (me: Role): Role[] => ROLES.filter((r) => RANK[r] <= RANK[me]);

const ROLE_HINTS: Record<Role, string> = {
  owner: 'Everything, including managing admins.',
  admin: 'Settings, users, API keys and integrations.',
  responder: 'Declares and runs incidents.',
  viewer: 'Reads incidents; changes nothing.',
};

export function UsersPage() {
  const session = useSession();
  const admin = isAdmin(session.user.role);
  const list = useLoad(() => api.users().then((all) => [...all].sort((a, b) => a.name.localeCompare(b.name))), []);

  return (
    <SettingsPage title="Users" lead="People who can sign in to Firebreak. Emails match their Slack and PagerDuty accounts.">
      {!admin && !list.error ? <p className="notice">Only owners and admins can add people or change roles.</p> : null}
      {admin && session.user.role !== 'owner' && !list.error ? (
        <p className="notice">Only owners can change owners, make someone an owner or create sign-in links for owners.</p>
      ) : null}
      <LoadGate state={list} loading="Loading users…" failed="Could not load users." empty={<Empty title="No users yet." />}>
        {(users) => (
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Slack</th>
                  <th scope="col">Added</th>
                  {admin ? <th scope="col">Sign-in link</th> : null}
                </tr>
              </thead>
              <tbody>
                {users.map((u) => (
                  <UserRow key={u.id} user={u} admin={admin} me={session.user.role} self={u.id === session.user.id} onChanged={list.reload} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </LoadGate>
      {admin ? <AddUser me={session.user.role} onAdded={list.reload} /> : null}
    </SettingsPage>
  );
}

function UserRow({ user, admin, me, self, onChanged }: { user: User; admin: boolean; me: Role; self: boolean; onChanged: () => void }) {
  // Only people whose role is not above mine can be renamed, given a role or sent a sign-in link.
  const manage = admin && RANK[user.role] <= RANK[me];
  const { busy, error, run, onSubmit } = useSubmit();
  const [link, setLink] = useState<{ url: string; expires_at: string } | null>(null);
  const [editingName, setEditingName] = useState(false);
  const [name, setName] = useState(user.name);

  const saveName = onSubmit(async () => {
    await api.updateUser(user.id, { name: name.trim() });
    setEditingName(false);
    onChanged();
  });

  return (
    <>
      <tr>
        <td>
          {editingName ? (
            <form className="inline-edit" onSubmit={saveName}>
              <input aria-label={`New name for ${user.name}`} required value={name} onChange={(e) => setName(e.target.value)} autoFocus />
              <button type="submit" className="button-small button-primary" disabled={busy}>
                Save
              </button>
              <button type="button" className="button-small button-quiet" onClick={() => setEditingName(false)}>
                Cancel
              </button>
            </form>
          ) : (
            <>
              <strong>{user.name}</strong>
              {self ? <span className="muted"> (you)</span> : null}
              {manage ? (
                <button type="button" className="button-link" onClick={() => (setName(user.name), setEditingName(true))} aria-label={`Rename ${user.name}`}>
                  Rename
                </button>
              ) : null}
            </>
          )}
        </td>
        <td>{user.email}</td>
        <td>
          {manage ? (
            <select
              aria-label={`Role of ${user.name}`}
              value={user.role}
              disabled={busy}
              onChange={(e) => {
                const role = e.target.value as Role;
                void run(async () => {
                  await api.updateUser(user.id, { role });
                  onChanged();
                });
              }}
            >
              {rolesUpTo(me).map((r) => (
                <option key={r} value={r}>
                  {titleCase(r)}
                </option>
              ))}
            </select>
          ) : (
            titleCase(user.role)
          )}
        </td>
        <td className="mono">{user.slack_user_id ?? <span className="muted">—</span>}</td>
        <td className="nowrap">
          <DateTime value={user.created_at} />
        </td>
        {admin && !manage ? (
          <td className="muted">Owners only</td>
        ) : admin ? (
          <td>
            <button
              type="button"
              className="button-small"
              disabled={busy}
              onClick={() => void run(async () => setLink(await api.loginLink(user.id)))}
              aria-label={`Create a sign-in link for ${user.name}`}
            >
              Create sign-in link
            </button>
          </td>
        ) : null}
      </tr>
      {error || link ? (
        <tr className="row-detail">
          <td colSpan={admin ? 6 : 5}>
            <ErrorMessage error={error} />
            {link ? (
              <div className="secret">
                <CopyField label={`One-time sign-in link for ${user.name}`} value={link.url} />
                <p className="hint">
                  Send it to {user.name} privately. It works once and expires <DateTime value={link.expires_at} />. It is not shown again.
                </p>
                <button type="button" className="button-small button-quiet" onClick={() => setLink(null)}>
                  Done
                </button>
              </div>
            ) : null}
          </td>
        </tr>
      ) : null}
    </>
  );
}

function AddUser({ me, onAdded }: { me: Role; onAdded: () => void }) {
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('responder');
  const { busy, error, field, onSubmit } = useSubmit();
  const [added, setAdded] = useState<User | null>(null);
  const submit = onSubmit(async () => {
    setAdded(null);
    const user = await api.createUser({ name: name.trim(), email: email.trim(), role });
    setAdded(user);
    setName('');
    setEmail('');
    onAdded();
  });
  return (
    <section className="card" aria-labelledby="add-user">
      <h2 id="add-user">Add a person</h2>
      <form className="form" onSubmit={submit}>
        <div className="form-row">
          <Field label="Name" error={field('name')}>
            {(p) => <input {...p} required value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />}
          </Field>
          <Field label="Email" error={field('email')}>
            {(p) => <input {...p} type="email" required value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="off" />}
          </Field>
          <Field label="Role" hint={ROLE_HINTS[role]} error={field('role')}>
            {(p) => (
              <select {...p} value={role} onChange={(e) => setRole(e.target.value as Role)}>
                {rolesUpTo(me).map((r) => (
                  <option key={r} value={r}>
                    {titleCase(r)}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <ErrorMessage error={error} title="Not added." />
        {added ? (
          <p className="notice notice-ok" role="status">
            Added {added.name}. Create a sign-in link for them in the list above.
          </p>
        ) : null}
        <div className="form-actions">
          <button type="submit" className="button-primary" disabled={busy}>
            {busy ? 'Adding…' : 'Add person'}
          </button>
        </div>
      </form>
    </section>
  );
}
