// The incident page's Escalations card: who was paged through PagerDuty and where each page stands (refreshed
// while any is open), a retry for failed ones, and an Escalate form (escalation policies and PagerDuty users
// searched by name or email, why, urgency, priority, and who each policy would page). When the incident has
// unresolved PagerDuty incidents linked, the form can instead add the people as responders to one of them; such an
// escalation lists each responder by name with their state (asked, joined, declined) as PagerDuty's webhooks report it.
import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { useLive } from '../../live.js';
import { DateTime, Empty, ErrorMessage, Field, Loading } from '../ui.js';
import { pagerdutyLinksApi } from '../pagerduty-links/pagerdutyLinksApi.js';
import { escalationsApi, type Escalation, type EscalationOption, type EscalationTarget } from './escalationsApi.js';
import { WouldPage } from '../oncall/OnCallCard.js';

// Small layout for the pickers, kept here so the shared stylesheet stays untouched.
const listStyle = { listStyle: 'none', padding: 0, margin: '0.25rem 0', display: 'flex', flexWrap: 'wrap', gap: '0.25rem' } as const;

const STATUS_TEXT: Record<EscalationTarget['status'], string> = {
  pending: 'Paging…',
  triggered: 'Paged',
  acknowledged: 'Acknowledged',
  resolved: 'Resolved',
  failed: 'Failed',
};

export function EscalationsCard({ incidentId, editable, onChanged }: { incidentId: string; editable: boolean; onChanged?: () => void }) {
  const list = useLoad(() => escalationsApi.list(incidentId), [incidentId]);
  useLive(['escalations'], incidentId, list.refresh);
  const [formOpen, setFormOpen] = useState(false);
  const open = (list.data ?? []).some((e) => e.targets.some((t) => t.status === 'pending' || t.status === 'triggered') || e.responder_request?.state === 'pending');

  // Follow open pages without a reload (webhooks or polling update the server side).
  useEffect(() => {
    if (!open) return;
    const timer = setInterval(list.reload, 5000);
    return () => clearInterval(timer);
  }, [open, list.reload]);

  const changed = () => {
    list.reload();
    onChanged?.();
  };

  return (
    <section className="card" aria-labelledby="escalations-heading">
      <div className="card-head">
        <h2 id="escalations-heading">Escalations</h2>
        {editable && !formOpen ? (
          <button type="button" className="button-small" onClick={() => setFormOpen(true)}>
            Escalate…
          </button>
        ) : null}
      </div>
      {formOpen ? (
        <EscalateForm
          incidentId={incidentId}
          onDone={() => {
            setFormOpen(false);
            changed();
          }}
          onCancel={() => setFormOpen(false)}
        />
      ) : null}
      {list.error ? <ErrorMessage error={list.error} title="Could not load escalations." /> : null}
      {!list.data ? (
        list.loading ? <Loading label="Loading escalations…" /> : null
      ) : list.data.length === 0 ? (
        <Empty title="Nobody has been paged through PagerDuty for this incident." />
      ) : (
        list.data.map((e) => <EscalationItem key={e.id} escalation={e} editable={editable} onChanged={changed} />)
      )}
    </section>
  );
}

type ResponderRequest = NonNullable<Escalation['responder_request']>;
const RESPONDER_TEXT: Record<ResponderRequest['responders'][number]['state'], string> = {
  pending: 'Asked, no answer yet',
  joined: 'Joined',
  declined: 'Declined',
  user_cancelled: 'Request cancelled',
};

function pdIncidentLabel(p: { number: number | null; id: string; title: string }) {
  return `PagerDuty #${p.number ?? p.id} “${p.title}”`;
}

/** An add-responders escalation: the PagerDuty incident, and each person asked with their state. */
function ResponderRequestItem({ escalation: e, request: r }: { escalation: Escalation; request: ResponderRequest }) {
  const pd = r.pagerduty_incident;
  return (
    <div className="escalation" style={{ marginBottom: '1rem' }}>
      <p>
        <strong>{e.requester.name}</strong> asked {r.targets.map((t) => t.name).join(', ')} to join{' '}
        {pd.html_url ? (
          <a href={pd.html_url} target="_blank" rel="noreferrer">
            {pdIncidentLabel(pd)}
          </a>
        ) : (
          pdIncidentLabel(pd)
        )}{' '}
        <DateTime value={e.created_at} />
      </p>
      <blockquote className="prewrap">{e.message}</blockquote>
      {r.state === 'failed' ? <div className="field-error">{r.error}</div> : null}
      {r.state === 'pending' && r.responders.length === 0 ? <p className="muted">Asking PagerDuty…</p> : null}
      {r.responders.length ? (
        <table className="table table-compact" aria-label="Responders">
          <thead>
            <tr>
              <th scope="col">Responder</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {r.responders.map((x) => (
              <tr key={x.pagerduty_user_id}>
                <td>
                  {x.name}
                  {x.via ? <div className="muted">via {x.via}</div> : null}
                </td>
                <td>{RESPONDER_TEXT[x.state]}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}

function EscalationItem({ escalation: e, editable, onChanged }: { escalation: Escalation; editable: boolean; onChanged: () => void }) {
  if (e.responder_request) return <ResponderRequestItem escalation={e} request={e.responder_request} />;
  return <PagingItem escalation={e} editable={editable} onChanged={onChanged} />;
}

function PagingItem({ escalation: e, editable, onChanged }: { escalation: Escalation; editable: boolean; onChanged: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const failed = e.targets.some((t) => t.status === 'failed');
  const retry = async () => {
    setBusy(true);
    setError(null);
    try {
      await escalationsApi.retry(e.id);
      onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="escalation" style={{ marginBottom: '1rem' }}>
      <p>
        <strong>{e.requester.name}</strong> paged {e.urgency === 'low' ? 'at low urgency ' : ''}
        {e.priority ? `(${e.priority.name}) ` : ''}
        <DateTime value={e.created_at} />
      </p>
      <blockquote className="prewrap">{e.message}</blockquote>
      <table className="table table-compact">
        <thead>
          <tr>
            <th scope="col">Paged</th>
            <th scope="col">Status</th>
            <th scope="col">PagerDuty</th>
          </tr>
        </thead>
        <tbody>
          {e.targets.map((t) => (
            <tr key={t.id}>
              <td>
                {t.name}
                <div className="muted">{t.type === 'escalation_policy' ? 'Escalation policy' : 'Person'}{t.paged.length ? ` · notified ${t.paged.map((p) => p.name).join(', ')}` : ''}</div>
              </td>
              <td>
                {STATUS_TEXT[t.status]}
                {t.status === 'acknowledged' && t.acknowledged_by.length ? ` by ${t.acknowledged_by.map((p) => p.name).join(', ')}` : ''}
                {t.error ? <div className="field-error">{t.error}</div> : null}
              </td>
              <td>
                {t.pagerduty_incident?.html_url ? (
                  <a href={t.pagerduty_incident.html_url} target="_blank" rel="noreferrer">
                    #{t.pagerduty_incident.number ?? t.pagerduty_incident.id}
                  </a>
                ) : (
                  <span className="muted">—</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {editable && failed ? (
        <button type="button" className="button-small" disabled={busy} onClick={() => void retry()}>
          {busy ? 'Retrying…' : 'Retry failed'}
        </button>
      ) : null}
      <ErrorMessage error={error} title="Retry did not work." />
    </div>
  );
}

function Picker({ label, hint, type, chosen, setChosen, error, detail }: { label: string; hint: string; type: 'escalation_policy' | 'user'; chosen: EscalationOption[]; setChosen: (o: EscalationOption[]) => void; error?: string; detail?: (o: EscalationOption) => ReactNode }) {
  const [query, setQuery] = useState('');
  const results = useLoad(() => escalationsApi.options(type, query.trim()), [type, query]);
  const shown = (results.data ?? []).filter((o) => !chosen.some((c) => c.id === o.id));
  return (
    <Field label={label} hint={hint} error={error}>
      {(p) => (
        <div>
          {chosen.length ? (
            <ul className="chips" style={listStyle} aria-label={`Chosen ${label.toLowerCase()}`}>
              {chosen.map((c) => (
                <li key={c.id}>
                  {c.name}{' '}
                  <button type="button" className="button-quiet button-small" aria-label={`Remove ${c.name}`} onClick={() => setChosen(chosen.filter((x) => x.id !== c.id))}>
                    ×
                  </button>
                  {detail ? <> {detail(c)}</> : null}
                </li>
              ))}
            </ul>
          ) : null}
          <input {...p} type="search" value={query} placeholder="Type to search" onChange={(e) => setQuery(e.target.value)} />
          <ul className="options" style={listStyle} aria-label={`${label} found`}>
            {shown.slice(0, 8).map((o) => (
              <li key={o.id}>
                <button type="button" className="button-quiet button-small" onClick={() => setChosen([...chosen, o])}>
                  {o.name}
                  {o.email ? <span className="muted"> {o.email}</span> : null}
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </Field>
  );
}

function EscalateForm({ incidentId, onDone, onCancel }: { incidentId: string; onDone: () => void; onCancel: () => void }) {
  const [policies, setPolicies] = useState<EscalationOption[]>([]);
  const [users, setUsers] = useState<EscalationOption[]>([]);
  const [message, setMessage] = useState('');
  const [urgency, setUrgency] = useState<'high' | 'low'>('high');
  const [priority, setPriority] = useState('');
  const priorities = useLoad(() => escalationsApi.options('priority', ''), []);
  // PagerDuty incidents people can be added to: linked, unresolved, not marked unrelated.
  const links = useLoad(() => pagerdutyLinksApi.list(incidentId), [incidentId]);
  const openPd = (links.data ?? []).filter((l) => l.pagerduty_incident.status !== 'resolved' && l.related !== 'rejected').map((l) => l.pagerduty_incident);
  // '' = a new PagerDuty incident per target; otherwise the PagerDuty incident to add responders to.
  const [addTo, setAddTo] = useState('');
  const adding = addTo !== '' && openPd.some((p) => p.id === addTo);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  // One key per form: a double click or a retried request pages once.
  const [key] = useState(() => `web:${incidentId}:${Date.now()}:${Math.random().toString(36).slice(2)}`);
  const apiError = error instanceof ApiError ? error : null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const targets = { escalation_policy_ids: policies.map((p) => p.id), user_ids: users.map((u) => u.id), message: message.trim(), idempotency_key: key };
      await escalationsApi.escalate(incidentId, adding ? { ...targets, mode: 'add_responders', pagerduty_incident_id: addTo } : { ...targets, urgency, priority_id: priority || null });
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="form" aria-label="Escalate" onSubmit={(e) => void submit(e)}>
      {openPd.length ? (
        <fieldset className="choice-list">
          <legend>How</legend>
          <label className="choice">
            <input type="radio" name="escalate-mode" value="" checked={!adding} onChange={() => setAddTo('')} /> Page them: a new PagerDuty incident each
          </label>
          {openPd.map((p) => (
            <label key={p.id} className="choice">
              <input type="radio" name="escalate-mode" value={p.id} checked={addTo === p.id} onChange={() => setAddTo(p.id)} /> Add them as responders to {pdIncidentLabel(p)}
            </label>
          ))}
          {apiError?.field('pagerduty_incident_id') ? <div className="field-error">{apiError.field('pagerduty_incident_id')}</div> : null}
        </fieldset>
      ) : null}
      <Picker label="Escalation policies" hint="Pages whoever is on call." type="escalation_policy" chosen={policies} setChosen={setPolicies} error={apiError?.field('escalation_policy_ids') ?? apiError?.field('targets')} detail={(o) => <WouldPage policyId={o.id} />} />
      <Picker label="PagerDuty users" hint="Search by name or email." type="user" chosen={users} setChosen={setUsers} error={apiError?.field('user_ids')} />
      <Field label="Why do you need them?" hint="This is what the people paged will read." error={apiError?.field('message')}>
        {(p) => <textarea {...p} required rows={3} value={message} onChange={(e) => setMessage(e.target.value)} />}
      </Field>
      {adding ? null : (
        <Field label="Urgency">
          {(p) => (
            <select {...p} value={urgency} onChange={(e) => setUrgency(e.target.value === 'low' ? 'low' : 'high')}>
              <option value="high">High (page now)</option>
              <option value="low">Low</option>
            </select>
          )}
        </Field>
      )}
      {!adding && priorities.data?.length ? (
        <Field label="PagerDuty priority (optional)" error={apiError?.field('priority_id')}>
          {(p) => (
            <select {...p} value={priority} onChange={(e) => setPriority(e.target.value)}>
              <option value="">None</option>
              {priorities.data!.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name}
                </option>
              ))}
            </select>
          )}
        </Field>
      ) : null}
      <ErrorMessage error={error} title="Nobody was paged." />
      <div className="form-actions">
        <button type="submit" className="button-primary" disabled={busy || policies.length + users.length === 0 || !message.trim()}>
          {busy ? (adding ? 'Asking…' : 'Paging…') : adding ? 'Ask them to join' : 'Page them'}
        </button>
        <button type="button" className="button-quiet" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}
