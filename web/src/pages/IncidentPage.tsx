// One incident: what it is, what can be done to it next (from the server's available_actions), its details,
// and its timeline with notes.
import { useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, api, type ActionBody, type ActionName } from '../api.js';
import { useLoad, useTitle } from '../hooks.js';
import { Link } from '../router.js';
import { canRespond, useSession } from '../session.js';
import { DateTime, Empty, ErrorMessage, Field, Loading, SeverityBadge, StatusBadge, titleCase } from '../components/ui.js';
import { EscalationsCard } from '../components/escalations/EscalationsCard.js';
import type { Actor, AvailableAction, Incident, TimelineItem } from '../types.js';
import { PagerDutyIncidentsCard } from '../components/pagerduty-links/PagerDutyIncidentsCard.js';

export function IncidentPage({ idOrRef }: { idOrRef: string }) {
  const session = useSession();
  const incident = useLoad(() => api.incident(idOrRef), [idOrRef]);
  const inc = incident.data;
  useTitle(inc ? `${inc.reference} ${inc.name}` : idOrRef);
  const timeline = useLoad(async () => (inc ? api.timeline(inc.id) : undefined), [inc?.id]);
  const severities = useLoad(() => api.severities(), []);

  if (incident.loading && !inc) return <Loading label={`Loading ${idOrRef}…`} />;
  if (!inc) {
    const notFound = incident.error instanceof ApiError && incident.error.status === 404;
    return (
      <>
        <Breadcrumb reference={idOrRef} />
        <h1>{notFound ? `No incident ${idOrRef}` : `Could not load ${idOrRef}`}</h1>
        {notFound ? <p>It may have been typed wrongly. Check the reference and try again.</p> : <ErrorMessage error={incident.error} />}
        {!notFound ? (
          <button type="button" onClick={incident.reload}>
            Try again
          </button>
        ) : null}
      </>
    );
  }

  const editable = canRespond(session.user.role);
  const updated = (next: Incident) => {
    incident.setData(next);
    timeline.reload();
  };
  const maxRank = Math.max(inc.severity.rank, ...(severities.data ?? []).map((s) => s.rank));

  return (
    <>
      <Breadcrumb reference={inc.reference} />
      <div className="incident-head">
        <div>
          <p className="incident-ref mono">{inc.reference}</p>
          <h1>{inc.name}</h1>
          <div className="badges" aria-label="Status and severity">
            <StatusBadge name={inc.status.name} category={inc.status.category} />
            <SeverityBadge name={inc.severity.name} rank={inc.severity.rank} maxRank={maxRank} />
            {inc.mode !== 'standard' ? <span className="badge badge-mode">{titleCase(inc.mode)}</span> : null}
          </div>
          {inc.merged_into ? (
            <p className="notice">
              Merged into{' '}
              <Link to={`/incidents/${encodeURIComponent(inc.merged_into.reference)}`}>{inc.merged_into.reference}</Link>. Follow it there.
            </p>
          ) : null}
        </div>
      </div>

      <div className="incident-grid">
        <div className="incident-main">
          <SummaryCard incident={inc} editable={editable} onSaved={updated} />
          {editable ? <ActionsCard incident={inc} onDone={updated} /> : null}
          <EscalationsCard incidentId={inc.id} editable={editable} onChanged={timeline.reload} />
          <section className="card" aria-labelledby="timeline-heading">
            <div className="card-head">
              <h2 id="timeline-heading">Timeline</h2>
              <button type="button" className="button-quiet button-small" onClick={timeline.reload} disabled={timeline.loading}>
                Refresh
              </button>
            </div>
            <Timeline items={timeline.data} loading={timeline.loading} error={timeline.error} />
            {editable ? <NoteForm incidentId={inc.id} onAdded={timeline.reload} /> : null}
          </section>
        </div>
        <aside className="incident-side" aria-label="Details">
          <DetailsCard incident={inc} editable={editable} onChanged={updated} />
          <PagerDutyIncidentsCard incidentId={inc.id} editable={editable} closed={inc.status.category === 'closed'} onChanged={timeline.reload} />
        </aside>
      </div>
    </>
  );
}

function Breadcrumb({ reference }: { reference: string }) {
  return (
    <nav aria-label="Breadcrumb" className="breadcrumb">
      <Link to="/">Incidents</Link> <span aria-hidden="true">/</span> <span aria-current="page">{reference}</span>
    </nav>
  );
}

function SummaryCard({ incident, editable, onSaved }: { incident: Incident; editable: boolean; onSaved: (i: Incident) => void }) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(incident.name);
  const [summary, setSummary] = useState(incident.summary ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const apiError = error instanceof ApiError ? error : null;

  const start = () => {
    setName(incident.name);
    setSummary(incident.summary ?? '');
    setError(null);
    setEditing(true);
  };
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSaved(await api.updateIncident(incident.id, { name: name.trim(), summary: summary.trim() }));
      setEditing(false);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

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
        <form className="form" onSubmit={(e) => void save(e)}>
          <Field label="Name" error={apiError?.field('name')}>
            {(p) => <input {...p} required value={name} onChange={(e) => setName(e.target.value)} />}
          </Field>
          <Field label="Summary" error={apiError?.field('summary')}>
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

type Pending = { kind: 'decline' } | { kind: 'cancel' } | { kind: 'merge' } | null;

function actionLabel(a: AvailableAction, current: Incident['status']): string {
  switch (a.action) {
    case 'accept':
      return a.status ? `Accept as ${a.status.name}` : 'Accept';
    case 'status':
      // From a live status this moves the response along; from closed (or another end state) it reopens.
      return current.category === 'live' ? `Move to ${a.status?.name ?? 'status'}` : `Reopen as ${a.status?.name ?? 'live'}`;
    case 'close':
      return 'Close incident';
    case 'decline':
      return 'Decline…';
    case 'cancel':
      return 'Cancel incident…';
    case 'merge':
      return 'Merge into…';
  }
}

function ActionsCard({ incident, onDone }: { incident: Incident; onDone: (i: Incident) => void }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [pending, setPending] = useState<Pending>(null);
  const [reason, setReason] = useState('');
  const [into, setInto] = useState('');
  const actions = incident.available_actions;

  const run = async (key: string, action: ActionName, body: ActionBody<ActionName> = {}) => {
    setBusy(key);
    setError(null);
    try {
      onDone(await api.action(incident.id, action, body));
      setPending(null);
      setReason('');
      setInto('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  const open = (p: Pending) => {
    setError(null);
    setReason('');
    setInto('');
    setPending(p);
  };

  const ended = incident.status.category !== 'triage' && incident.status.category !== 'live';
  const primary = actions.filter((a) => a.action === 'accept' || a.action === 'status' || a.action === 'close');
  const secondary = actions.filter((a) => a.action === 'decline' || a.action === 'cancel' || a.action === 'merge');
  const apiError = error instanceof ApiError ? error : null;

  let pendingForm: ReactNode = null;
  if (pending?.kind === 'decline' || pending?.kind === 'cancel') {
    const verb = pending.kind === 'decline' ? 'Decline' : 'Cancel';
    pendingForm = (
      <form className="inline-form" onSubmit={(e) => (e.preventDefault(), void run(pending.kind, pending.kind, { reason: reason.trim() || undefined }))}>
        <Field
          label={`Why ${pending.kind === 'decline' ? 'decline' : 'cancel'} it? (optional)`}
          hint={pending.kind === 'decline' ? 'For example: “Not an incident: planned maintenance.”' : 'For example: “Declared by mistake.”'}
          error={apiError?.field('reason')}
        >
          {(p) => <textarea {...p} rows={2} value={reason} onChange={(e) => setReason(e.target.value)} autoFocus />}
        </Field>
        <div className="form-actions">
          <button type="submit" className="button-danger" disabled={busy !== null}>
            {busy === pending.kind ? (pending.kind === 'decline' ? 'Declining…' : 'Canceling…') : `${verb} incident`}
          </button>
          <button type="button" className="button-quiet" onClick={() => setPending(null)}>
            Keep it
          </button>
        </div>
      </form>
    );
  } else if (pending?.kind === 'merge') {
    pendingForm = (
      <form className="inline-form" onSubmit={(e) => (e.preventDefault(), void run('merge', 'merge', { into: into.trim() }))}>
        <Field label="Merge into incident" hint="The reference of the incident to keep, e.g. INC-12." error={apiError?.field('into')}>
          {(p) => <input {...p} required value={into} onChange={(e) => setInto(e.target.value)} placeholder="INC-12" autoFocus />}
        </Field>
        <div className="form-actions">
          <button type="submit" className="button-primary" disabled={busy !== null}>
            {busy === 'merge' ? 'Merging…' : 'Merge'}
          </button>
          <button type="button" className="button-quiet" onClick={() => setPending(null)}>
            Don’t merge
          </button>
        </div>
      </form>
    );
  }

  return (
    <section className="card" aria-labelledby="actions-heading">
      <h2 id="actions-heading">Next steps</h2>
      {actions.length === 0 ? (
        <p className="muted">
          This incident is {incident.status.name.toLowerCase()}. Nothing more can be done to its status.
        </p>
      ) : (
        <>
          {incident.status.category === 'triage' ? (
            <p className="muted">This incident is in triage. Accept it to start the response, or decline it if it is not an incident.</p>
          ) : ended ? (
            <p className="muted">This incident is {incident.status.name.toLowerCase()}. If the problem comes back, reopen it.</p>
          ) : null}
          <div className="action-row">
            {primary.map((a) => {
              const key = `${a.action}:${a.status?.id ?? ''}`;
              const body = a.status ? { status_id: a.status.id } : {};
              return (
                <button
                  key={key}
                  type="button"
                  className={a.action === 'status' ? (ended ? 'button-quiet' : '') : 'button-primary'}
                  disabled={busy !== null}
                  onClick={() => void run(key, a.action, body)}
                >
                  {busy === key ? 'Working…' : actionLabel(a, incident.status)}
                </button>
              );
            })}
            {secondary.map((a) => (
              <button
                key={a.action}
                type="button"
                className="button-quiet"
                aria-expanded={pending?.kind === a.action}
                disabled={busy !== null}
                onClick={() => open({ kind: a.action as 'decline' | 'cancel' | 'merge' })}
              >
                {actionLabel(a, incident.status)}
              </button>
            ))}
          </div>
          {pendingForm}
        </>
      )}
      <ErrorMessage error={error} title="That did not work." />
    </section>
  );
}

function DetailsCard({ incident, editable, onChanged }: { incident: Incident; editable: boolean; onChanged: (i: Incident) => void }) {
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
            <dd className="mono">{incident.slack_channel_id}</dd>
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
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const change = async (severityId: string) => {
    if (severityId === incident.severity.id) return;
    setBusy(true);
    setError(null);
    try {
      onChanged(await api.action(incident.id, 'severity', { severity_id: severityId }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
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
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const change = async (userId: string) => {
    if (!userId || userId === incident.lead?.id) return;
    setBusy(true);
    setError(null);
    try {
      onChanged(await api.action(incident.id, 'lead', { user_id: userId }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
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

export function actorName(actor: Actor): string {
  if (actor.user) return actor.user.name;
  if (actor.ref) return actor.ref;
  return titleCase(actor.kind);
}

function Timeline({ items, loading, error }: { items: TimelineItem[] | undefined; loading: boolean; error: unknown }) {
  if (error) return <ErrorMessage error={error} title="Could not load the timeline." />;
  if (!items) return loading ? <Loading label="Loading timeline…" /> : null;
  if (items.length === 0) return <Empty title="Nothing on the timeline yet." />;
  return (
    <ol className="timeline" aria-label="Timeline" aria-busy={loading}>
      {items.map((item) => (
        <li key={item.id} className={`timeline-item timeline-${item.kind.replace(/[^a-z0-9_-]/gi, '')}`}>
          <span className="timeline-dot" aria-hidden="true" />
          <div className="timeline-meta">
            <DateTime value={item.occurred_at} />
            <span className="timeline-actor">{actorName(item.actor)}</span>
          </div>
          <p className={`timeline-text${item.kind === 'note' ? ' prewrap' : ''}`}>{item.text}</p>
        </li>
      ))}
    </ol>
  );
}

function NoteForm({ incidentId, onAdded }: { incidentId: string; onAdded: () => void }) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const apiError = error instanceof ApiError ? error : null;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!text.trim()) return;
    setBusy(true);
    setError(null);
    try {
      await api.addNote(incidentId, text.trim());
      setText('');
      onAdded();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="form note-form" onSubmit={(e) => void submit(e)}>
      <Field label="Add a note to the timeline" error={apiError?.field('text')}>
        {(p) => <textarea {...p} rows={2} value={text} onChange={(e) => setText(e.target.value)} placeholder="What did you find or do?" />}
      </Field>
      <ErrorMessage error={error} title="The note was not added." />
      <div className="form-actions">
        <button type="submit" disabled={busy || !text.trim()}>
          {busy ? 'Adding…' : 'Add note'}
        </button>
      </div>
    </form>
  );
}
