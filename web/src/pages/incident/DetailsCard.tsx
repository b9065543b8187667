// The incident's details beside the main column: status, severity and lead (changeable while it is open), who
// declared it and when, and its status history.
import { api } from '../../api.js';
import { useLoad, useSubmit } from '../../hooks.js';
import { DateTime, ErrorMessage, StatusBadge, titleCase } from '../../components/ui.js';
import type { Incident } from '../../types.js';
import { actorName } from './Timeline.js';

export function DetailsCard({ incident, editable, onChanged }: { incident: Incident; editable: boolean; onChanged: (i: Incident) => void }) {
  const open = incident.status.category === 'triage' || incident.status.category === 'live';
  return (
    <section className="card" aria-labelledby="details-heading">
      <h2 id="details-heading">Details</h2>
      <dl className="details">
        <dt>Status</dt>
        <dd>
          <StatusBadge name={incident.status.name} category={incident.status.category} />
        </dd>
        <dt>Severity</dt>
        <dd>{editable && open ? <SeverityControl incident={incident} onChanged={onChanged} /> : incident.severity.name}</dd>
        <dt>Lead</dt>
        <dd>{editable && open ? <LeadControl incident={incident} onChanged={onChanged} /> : (incident.lead?.name ?? <span className="muted">Nobody</span>)}</dd>
        <dt>Mode</dt>
        <dd>{titleCase(incident.mode)}</dd>
        <dt>Declared by</dt>
        <dd>{actorName(incident.creator)}</dd>
        <dt>Source</dt>
        <dd>{titleCase(incident.source)}</dd>
        <dt>Declared</dt>
        <dd>
          <DateTime value={incident.created_at} />
        </dd>
        <dt>Last updated</dt>
        <dd>
          <DateTime value={incident.updated_at} />
        </dd>
        {incident.slack_channel_id ? (
          <>
            <dt>Slack channel</dt>
            <dd>{incident.slack_channel?.name ? `#${incident.slack_channel.name}` : <span className="mono">{incident.slack_channel_id}</span>}</dd>
          </>
        ) : null}
      </dl>
      {incident.status_timestamps.length > 0 ? (
        <>
          <h3>Status history</h3>
          <table className="table table-compact">
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">First entered</th>
              </tr>
            </thead>
            <tbody>
              {incident.status_timestamps.map((t) => (
                <tr key={t.status.id}>
                  <td>{t.status.name}</td>
                  <td>
                    <DateTime value={t.first_at} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}

function SeverityControl({ incident, onChanged }: { incident: Incident; onChanged: (i: Incident) => void }) {
  const severities = useLoad(() => api.severities().then((s) => [...s].sort((a, b) => b.rank - a.rank)), []);
  const { busy, error, run } = useSubmit();
  const change = async (severityId: string) => {
    if (severityId === incident.severity.id) return;
    await run(async () => onChanged(await api.action(incident.id, 'severity', { severity_id: severityId })));
  };
  if (!severities.data) return <>{incident.severity.name}</>;
  return (
    <>
      <select aria-label="Change severity" value={incident.severity.id} disabled={busy} onChange={(e) => void change(e.target.value)}>
        {severities.data.map((s) => (
          <option key={s.id} value={s.id}>
            {s.name}
          </option>
        ))}
      </select>
      <ErrorMessage error={error} />
    </>
  );
}

function LeadControl({ incident, onChanged }: { incident: Incident; onChanged: (i: Incident) => void }) {
  const users = useLoad(() => api.users(), []);
  const { busy, error, run } = useSubmit();
  const change = async (userId: string) => {
    if (!userId || userId === incident.lead?.id) return;
    await run(async () => onChanged(await api.action(incident.id, 'lead', { user_id: userId })));
  };
  if (!users.data) return <>{incident.lead?.name ?? <span className="muted">Nobody</span>}</>;
  return (
    <>
      <select aria-label="Change lead" value={incident.lead?.id ?? ''} disabled={busy} onChange={(e) => void change(e.target.value)}>
        {incident.lead ? null : <option value="">Nobody</option>}
        {users.data
          .filter((u) => u.role !== 'viewer' || u.id === incident.lead?.id)
          .map((u) => (
            <option key={u.id} value={u.id}>
              {u.name}
            </option>
          ))}
      </select>
      <ErrorMessage error={error} />
    </>
  );
}
