// Who does what on this incident: the lead (changed in the Details card, where it always was), then each role an
// admin defined (Settings → Roles), in their order, with who holds it. People who may change incidents pick
// someone from a list of Firebreak users (or Nobody);
// a change made elsewhere (Slack, the API, another tab) or a role renamed shows without a reload.
import { api, call } from '../../api.js';
import { useLoad, useSubmit } from '../../hooks.js';
import { useLive } from '../../live.js';
import { ErrorMessage } from '../../components/ui.js';
import type { Incident, User } from '../../types.js';

type HeldRole = Incident['roles'][number];

export function RolesCard({ incident, editable, onChanged, onStale }: { incident: Incident; editable: boolean; onChanged: (i: Incident) => void; onStale: () => void }) {
  // Role definitions are settings: a rename or a new role reloads the incident, which carries them.
  useLive(['settings'], null, onStale);
  const category = incident.status.category;
  const open = category === 'triage' || category === 'live';
  const assignable = editable && category !== 'merged' && category !== 'canceled';
  const users = useLoad(async () => (editable ? api.users() : undefined), [editable]);

  return (
    <section className="card" aria-labelledby="roles-heading">
      <h2 id="roles-heading">Roles</h2>
      <dl className="details roles">
        <dt>Lead</dt>
        <dd>
          {incident.lead?.name ?? <span className="muted">Nobody</span>}
          {editable && open ? <div className="hint">Change it under Details.</div> : null}
        </dd>
        {incident.roles.map((r) => (
          <RoleEntry key={r.role.id} held={r} incident={incident} users={assignable ? users.data : undefined} onChanged={onChanged} />
        ))}
      </dl>
      {incident.roles.length === 0 ? <p className="muted small">No other roles are defined. Admins add them, such as Communications or Scribe, under Settings → Roles.</p> : null}
      {editable && !assignable ? <p className="muted small">Roles no longer change: this incident is {incident.status.name.toLowerCase()}.</p> : null}
      <ErrorMessage error={users.error} title="Could not load the people to choose from." />
    </section>
  );
}

function RoleEntry({ held, incident, users, onChanged }: { held: HeldRole; incident: Incident; users: User[] | undefined; onChanged: (i: Incident) => void }) {
  return (
    <>
      <dt title={held.role.description || undefined}>
        {held.role.name}
        {held.role.description ? <div className="hint">{held.role.description}</div> : null}
      </dt>
      <dd>
        {users ? (
          <PersonPicker
            label={held.role.name}
            current={held.user}
            users={users}
            allowNobody
            onPick={(userId) =>
              call('put', '/api/v1/incidents/{incident_id}/roles/{role_id}', { params: { incident_id: incident.id, role_id: held.role.id }, body: { user_id: userId } }).then((r) => r.incident)
            }
            onChanged={onChanged}
          />
        ) : (
          (held.user?.name ?? <span className="muted">Nobody</span>)
        )}
      </dd>
    </>
  );
}

function PersonPicker({
  label,
  current,
  users,
  allowNobody,
  onPick,
  onChanged,
}: {
  label: string;
  current: { id: string; name: string } | null;
  users: User[];
  allowNobody: boolean;
  onPick: (userId: string | null) => Promise<Incident>;
  onChanged: (i: Incident) => void;
}) {
  const { busy, error, run } = useSubmit();
  const change = async (value: string) => {
    const userId = value || null;
    if (userId === (current?.id ?? null)) return;
    await run(async () => onChanged(await onPick(userId)));
  };
  // People who can act on incidents, plus whoever holds it now (even a viewer, so the page never lies).
  const choices = users.filter((u) => u.role !== 'viewer' || u.id === current?.id);
  return (
    <>
      <select aria-label={`${label}: who holds it`} value={current?.id ?? ''} disabled={busy} onChange={(e) => void change(e.target.value)}>
        {allowNobody || !current ? <option value="">Nobody</option> : null}
        {choices.map((u) => (
          <option key={u.id} value={u.id}>
            {u.name}
          </option>
        ))}
      </select>
      <ErrorMessage error={error} />
    </>
  );
}
