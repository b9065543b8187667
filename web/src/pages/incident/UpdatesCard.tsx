// Updates: "what changed", posted with the status, severity and summary it leaves the incident in, and where each
// update went (Slack, PagerDuty status updates). The list follows changes made anywhere through the live feed.
import { useState } from 'react';
import { call } from '../../api.js';
import type { Ok } from '../../api/operations.js';
import { DateTime, Empty, ErrorMessage, Field, Loading } from '../../components/ui.js';
import { useLoad, useSubmit } from '../../hooks.js';
import { useLive } from '../../live.js';
import type { Incident, Severity } from '../../types.js';

export type IncidentUpdate = Ok<'/api/v1/incidents/{incident_id}/updates', 'get'>['updates'][number];
type Status = Ok<'/api/v1/statuses', 'get'>['statuses'][number];

export const updatesApi = {
  list: (incidentId: string) => call('get', '/api/v1/incidents/{incident_id}/updates', { params: { incident_id: incidentId } }).then((r) => r.updates),
  post: (incidentId: string, body: { message: string; status_id?: string; severity_id?: string; summary?: string; idempotency_key?: string }) =>
    call('post', '/api/v1/incidents/{incident_id}/updates', { params: { incident_id: incidentId }, body }).then((r) => r.update),
};

/** Where the incident can go from here, plus where it is (the moves its status allows, as the server says). */
function reachable(incident: Incident, statuses: Status[]): Status[] {
  const ids = new Set<string>([incident.status.id]);
  for (const a of incident.available_actions) {
    if (a.action === 'status' && a.status) ids.add(a.status.id);
    if (a.action === 'accept') statuses.filter((s) => s.category === 'live').forEach((s) => ids.add(s.id));
    if (a.action === 'close') {
      const closed = statuses.find((s) => s.category === 'closed');
      if (closed) ids.add(closed.id);
    }
  }
  return statuses.filter((s) => ids.has(s.id));
}

export function UpdatesCard({ incident, editable, severities, onPosted }: { incident: Incident; editable: boolean; severities: Severity[]; onPosted: () => void }) {
  const updates = useLoad(() => updatesApi.list(incident.id), [incident.id]);
  // Deliveries are reported after the update (Slack posts, PagerDuty status updates): they touch these topics.
  useLive(['incident', 'timeline', 'pagerduty_links'], incident.id, updates.refresh);
  const open = incident.status.category === 'live' || incident.status.category === 'triage';

  return (
    <section className="card" aria-labelledby="updates-heading">
      <div className="card-head">
        <h2 id="updates-heading">Updates</h2>
      </div>
      {editable && open ? (
        <UpdateForm
          incident={incident}
          severities={severities}
          onPosted={() => {
            updates.reload();
            onPosted();
          }}
        />
      ) : null}
      {editable && !open ? <p className="muted">The incident is {incident.status.name}: updates can be posted while it is open.</p> : null}
      <UpdateList updates={updates.data} loading={updates.loading} error={updates.error} />
    </section>
  );
}

function UpdateForm({ incident, severities, onPosted }: { incident: Incident; severities: Severity[]; onPosted: () => void }) {
  const statuses = useLoad(() => call('get', '/api/v1/statuses').then((r) => r.statuses), []);
  const [message, setMessage] = useState('');
  const [statusId, setStatusId] = useState(incident.status.id);
  const [severityId, setSeverityId] = useState(incident.severity.id);
  const [summary, setSummary] = useState(incident.summary ?? '');
  const [key, setKey] = useState(() => crypto.randomUUID());
  const { busy, error, field, onSubmit } = useSubmit();
  const options = statuses.data ? reachable(incident, statuses.data) : [incident.status as Status];

  const submit = onSubmit(async () => {
    await updatesApi.post(incident.id, {
      message: message.trim(),
      ...(statusId !== incident.status.id ? { status_id: statusId } : {}),
      ...(severityId !== incident.severity.id ? { severity_id: severityId } : {}),
      ...(summary.trim() !== (incident.summary ?? '') ? { summary: summary.trim() } : {}),
      // One click, one update, even if the request is sent twice.
      idempotency_key: key,
    });
    setMessage('');
    setKey(crypto.randomUUID());
    onPosted();
  });

  return (
    <form className="form" onSubmit={submit} aria-label="Post an update">
      <Field label="What changed" hint="Posted on the timeline, in Slack and to linked PagerDuty incidents." error={field('message')}>
        {(p) => <textarea {...p} rows={3} maxLength={3000} required value={message} onChange={(e) => setMessage(e.target.value)} placeholder="Rolled back the deploy; error rate is falling" />}
      </Field>
      <div className="form-row">
        <Field label="Status" error={field('status_id')}>
          {(p) => (
            <select {...p} value={statusId} onChange={(e) => setStatusId(e.target.value)}>
              {options.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Severity" error={field('severity_id')}>
          {(p) => (
            <select {...p} value={severityId} onChange={(e) => setSeverityId(e.target.value)}>
              {(severities.length ? severities : [incident.severity]).map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <Field label="Summary" error={field('summary')}>
        {(p) => <textarea {...p} rows={2} value={summary} onChange={(e) => setSummary(e.target.value)} />}
      </Field>
      <ErrorMessage error={error} title="The update was not posted." />
      <div className="form-actions">
        <button type="submit" className="button-primary" disabled={busy || !message.trim()}>
          {busy ? 'Posting…' : 'Post update'}
        </button>
      </div>
    </form>
  );
}

function UpdateList({ updates, loading, error }: { updates: IncidentUpdate[] | undefined; loading: boolean; error: unknown }) {
  if (!updates && loading) return <Loading label="Loading updates…" />;
  if (!updates) return <ErrorMessage error={error} title="Could not load the updates." />;
  if (updates.length === 0) return <Empty title="No updates yet">Each update says what changed and where the incident stands; it is posted in Slack and to PagerDuty too.</Empty>;
  return (
    <ol className="updates" aria-label="Updates, newest first">
      {updates.map((u) => (
        <li key={u.id} className="update">
          <p className="prewrap">{u.message}</p>
          <p className="muted">
            {u.status.name} · {u.severity.name} · {u.actor.user?.name ?? (u.actor.ref ? u.actor.ref.replace(/^api_key:/, 'API key ') : 'Firebreak')} · <DateTime value={u.created_at} />
          </p>
          {u.summary !== null ? <p className="muted">Summary: {u.summary}</p> : null}
          {u.deliveries.length ? (
            <ul className="deliveries" aria-label="Delivered to">
              {u.deliveries.map((d) => (
                <li key={`${d.target}:${d.ref}`} className={`delivery delivery-${d.state}`}>
                  {d.url ? (
                    <a href={d.url} target="_blank" rel="noreferrer">
                      {d.label}
                    </a>
                  ) : (
                    d.label
                  )}
                  : {d.state === 'sent' ? 'sent' : d.state === 'pending' ? 'sending…' : d.state === 'skipped' ? 'skipped' : 'failed'}
                  {d.message ? <span className="delivery-message"> ({d.message})</span> : null}
                </li>
              ))}
            </ul>
          ) : null}
        </li>
      ))}
    </ol>
  );
}
