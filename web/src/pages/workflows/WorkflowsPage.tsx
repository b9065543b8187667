// Workflows: each with its state, its trigger in words, when it last ran, and a link to edit it. Admins make new
// ones. The list follows changes made elsewhere (another tab, `firebreak workflows apply`).
import { useLoad, useTitle } from '../../hooks.js';
import { useLive } from '../../live.js';
import { Link } from '../../router.js';
import { isAdmin, useSession } from '../../session.js';
import { DateTime, Empty } from '../../components/ui.js';
import { LoadGate } from '../../components/settings.js';
import { fieldsApi } from '../../components/custom-fields/api.js';
import { workflowsApi } from '../../components/workflows/api.js';
import { StateBadge } from '../../components/workflows/ui.js';
import { triggerWords } from '../../components/workflows/words.js';

export function WorkflowsPage() {
  useTitle('Workflows');
  const admin = isAdmin(useSession().user.role);
  const list = useLoad(() => workflowsApi.list(), []);
  const fields = useLoad(() => fieldsApi.list().catch(() => []), []);
  const fieldNames = Object.fromEntries((fields.data ?? []).map((f) => [f.key, f.name]));
  // Runs and saves elsewhere move "last run" and states: reload quietly on the changes that go with them.
  useLive(['settings', 'incident'], null, list.refresh);
  return (
    <>
      <div className="page-head">
        <h1>Workflows</h1>
        {admin ? (
          <Link to="/workflows/new" className="button button-primary">
            New workflow
          </Link>
        ) : null}
      </div>
      <p className="lead-text">Automation over incidents and the catalog: when something happens and the conditions hold, the steps run (page, post, invite, set, note, call). Preview one against a real incident before you turn it on.</p>
      <LoadGate
        state={list}
        loading="Loading workflows…"
        failed="Could not load workflows."
        empty={
          <Empty title="No workflows yet.">
            {admin ? (
              <p>
                <Link to="/workflows/new">Make the first one</Link>, for instance: when an incident is declared with affected services, page each service's escalation policy.
              </p>
            ) : (
              <p>Owners and admins make them.</p>
            )}
          </Empty>
        }
      >
        {(workflows) => (
          <div className="table-wrap">
            <table className="table" aria-label="Workflows">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">State</th>
                  <th scope="col">Trigger</th>
                  <th scope="col">Last run</th>
                  <th scope="col">
                    <span className="visually-hidden">Edit</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {workflows.map((w) => (
                  <tr key={w.id} data-workflow={w.key}>
                    <td>
                      <Link to={`/workflows/${encodeURIComponent(w.id)}`} className="row-title">
                        {w.name}
                      </Link>
                      {w.test_mode ? <span className="badge badge-mode">Test only</span> : null}
                      {w.description ? <p className="muted small">{w.description}</p> : null}
                    </td>
                    <td>
                      <StateBadge state={w.state} />
                    </td>
                    <td>{triggerWords(w.trigger, fieldNames)}</td>
                    <td>{w.last_run_at ? <DateTime value={w.last_run_at} /> : <span className="muted">never</span>}</td>
                    <td>
                      <Link to={`/workflows/${encodeURIComponent(w.id)}`} aria-label={`${admin ? 'Edit' : 'Open'} ${w.name}`}>
                        {admin ? 'Edit' : 'Open'}
                      </Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </LoadGate>
    </>
  );
}
