// "Next steps": the status changes the server offers (available_actions), with a reason for declining or
// canceling and the incident to merge into.
import { useState, type ReactNode } from 'react';
import { ApiError, api, type ActionBody, type ActionName } from '../../api.js';
import { ErrorMessage, Field } from '../../components/ui.js';
import type { AvailableAction, Incident } from '../../types.js';

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

export function ActionsCard({ incident, onDone }: { incident: Incident; onDone: (i: Incident) => void }) {
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
