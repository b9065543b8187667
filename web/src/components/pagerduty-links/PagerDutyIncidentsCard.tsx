// The incident page's "PagerDuty incidents" card: attach one by URL or id, each with its status, service,
// urgency and assignees; "Is this related?" for ones attached by hand or grouped; the mirroring switch; and,
// once the incident is closed, an offer (never automatic) to resolve the open ones in PagerDuty too. The person an
// acknowledgement was offered to (they said "related" or accepted, but PagerDuty had not paged them, or knows no
// user with their email) sees "Acknowledge this PagerDuty incident?" with its button; nobody else does.
import { useState, type FormEvent } from 'react';
import { useLoad } from '../../hooks.js';
import { useSession } from '../../session.js';
import { useLive } from '../../live.js';
import { Empty, ErrorMessage, Loading } from '../ui.js';
import { pagerdutyLinksApi, type AckOffer, type PdLink } from './pagerdutyLinksApi.js';

const OFFER_WHY: Record<string, string> = {
  not_paged: 'PagerDuty did not page you for it, so Firebreak did not acknowledge it for you.',
  unmatched: 'Firebreak could not match you to a PagerDuty user, so it did not acknowledge it for you.',
};
const OFFER_OUTCOME: Record<string, string> = { acknowledged: 'Acknowledged in PagerDuty as you.', already_acknowledged: 'Someone had already acknowledged it.', resolved: 'It was already resolved.' };

const REASON: Record<PdLink['reason'], string> = { escalation: 'Paged from this incident', related: 'Attached by hand', source: 'Opened this incident', grouped: 'Triggered on the same service' };

export function PagerDutyIncidentsCard({ incidentId, editable, closed, onChanged }: { incidentId: string; editable: boolean; closed: boolean; onChanged?: () => void }) {
  const list = useLoad(() => pagerdutyLinksApi.list(incidentId), [incidentId]);
  const session = useSession();
  const offers = useLoad(() => pagerdutyLinksApi.offers(incidentId), [incidentId]);
  const mine = (linkId: string): AckOffer[] => (offers.data ?? []).filter((o) => o.link_id === linkId && o.status === 'open' && o.user_id === session.user.id);
  useLive(['pagerduty_links'], incidentId, () => {
    list.refresh();
    offers.refresh();
  });
  const [ref, setRef] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState<string | null>(null);

  const run = async (f: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await f();
      list.reload();
      offers.reload();
      onChanged?.();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const attach = (e: FormEvent) => {
    e.preventDefault();
    if (!ref.trim()) return;
    void run(async () => {
      await pagerdutyLinksApi.attach(incidentId, ref.trim());
      setRef('');
    });
  };
  const open = (list.data ?? []).filter((l) => l.pagerduty_incident.status !== 'resolved');

  return (
    <section className="card" aria-labelledby="pd-incidents-heading">
      <div className="card-head">
        <h2 id="pd-incidents-heading">PagerDuty incidents</h2>
      </div>
      {error ? <ErrorMessage error={error} /> : null}
      {list.error ? <ErrorMessage error={list.error} title="Could not load PagerDuty incidents." /> : null}
      {closed && editable && open.length > 0 ? (
        <p className="notice">
          {open.length} attached PagerDuty incident{open.length === 1 ? ' is' : 's are'} still open.{' '}
          <button type="button" className="button-small" disabled={busy} onClick={() => void run(async () => {
            const r = await pagerdutyLinksApi.resolveOpen(incidentId);
            setNote(`Resolved ${r.resolved.length} in PagerDuty${r.skipped.length ? `; ${r.skipped.length} skipped` : ''}.`);
          })}>
            Also resolve in PagerDuty
          </button>
        </p>
      ) : null}
      {note ? <p role="status">{note}</p> : null}
      {!list.data ? (
        list.loading ? <Loading label="Loading PagerDuty incidents…" /> : null
      ) : list.data.length === 0 ? (
        <Empty title="No PagerDuty incident is attached." />
      ) : (
        <ul style={{ listStyle: 'none', padding: 0 }}>
          {list.data.map((l) => (
            <li key={l.id} style={{ marginBottom: '0.75rem' }}>
              <div>
                {l.pagerduty_incident.html_url ? <a href={l.pagerduty_incident.html_url} target="_blank" rel="noreferrer">#{l.pagerduty_incident.number ?? l.pagerduty_incident.id}</a> : <span>#{l.pagerduty_incident.number ?? l.pagerduty_incident.id}</span>}{' '}
                <strong>{l.pagerduty_incident.title}</strong> <span className="badge">{l.pagerduty_incident.status}</span>
              </div>
              <div className="muted">
                {[l.pagerduty_incident.service?.name, l.pagerduty_incident.urgency ? `${l.pagerduty_incident.urgency} urgency` : null, l.pagerduty_incident.priority?.name, l.pagerduty_incident.assignees.length ? `assigned to ${l.pagerduty_incident.assignees.map((a) => a.name).join(', ')}` : null, REASON[l.reason]].filter(Boolean).join(' · ')}
              </div>
              {mine(l.id).map((o) => (
                <div key={o.id} className="notice" role="group" aria-label={`Acknowledgement offer for #${l.pagerduty_incident.number ?? l.pagerduty_incident.id}`}>
                  {OFFER_WHY[o.reason] ?? ''} Acknowledge this PagerDuty incident?{' '}
                  <button type="button" className="button-small" disabled={busy} onClick={() => void run(async () => {
                    const r = await pagerdutyLinksApi.acceptOffer(o.id);
                    setNote(OFFER_OUTCOME[r.status] ?? r.status);
                  })}>
                    Acknowledge in PagerDuty
                  </button>
                </div>
              ))}
              {editable && l.related === 'pending' ? (
                <div>
                  Is this PagerDuty incident related to this incident?{' '}
                  <button type="button" className="button-small" disabled={busy} onClick={() => void run(() => pagerdutyLinksApi.related(incidentId, l.id, true))}>Yes</button>{' '}
                  <button type="button" className="button-small button-quiet" disabled={busy} onClick={() => void run(() => pagerdutyLinksApi.related(incidentId, l.id, false))}>No</button>
                </div>
              ) : null}
              {editable ? (
                <div>
                  <label>
                    <input type="checkbox" checked={l.mirror} disabled={busy} onChange={(e) => void run(() => pagerdutyLinksApi.mirror(incidentId, l.id, e.target.checked))} /> Show its activity on the timeline
                  </label>{' '}
                  <button type="button" className="button-small button-quiet" disabled={busy} onClick={() => void run(() => pagerdutyLinksApi.detach(incidentId, l.id))}>Detach</button>
                </div>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      {editable ? (
        <form onSubmit={attach} aria-label="Attach a PagerDuty incident">
          <label htmlFor="pd-link-ref">PagerDuty incident URL or id</label>{' '}
          <input id="pd-link-ref" value={ref} onChange={(e) => setRef(e.target.value)} placeholder="https://acme.pagerduty.com/incidents/Q1ABC…" />{' '}
          <button type="submit" className="button-small" disabled={busy || !ref.trim()}>Attach</button>
        </form>
      ) : null}
    </section>
  );
}
