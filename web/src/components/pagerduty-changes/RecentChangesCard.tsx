// The incident page's "Recent changes" card: PagerDuty change events (deploys, builds, configuration changes) of
// the incident's affected PagerDuty services in the last hours, newest first, with PagerDuty's related changes of
// linked PagerDuty incidents; a responder pins one to the timeline. A source PagerDuty did not answer for is said
// with what happened, while the rest shows. Reloads on changes to the incident, its PagerDuty links and its
// timeline, and once a minute while the last read went well; Refresh reads PagerDuty again. Nothing retries.
import { useEffect, useRef, useState } from 'react';
import { useLoad } from '../../hooks.js';
import { useLive } from '../../live.js';
import { DateTime, Empty, ErrorMessage, Loading } from '../ui.js';
import { changesApi, type ChangesAnswer, type RecentChange } from './changesApi.js';

const HOURS = [1, 3, 6, 12, 24, 48];
const POLL_MS = 60_000;
const REASON: Record<string, string> = {
  most_recent: 'a recent change on its service',
  related_service: 'a change on a related service',
  intelligent: "PagerDuty's correlation",
};

export function RecentChangesCard({ incidentId, editable, onPinned }: { incidentId: string; editable: boolean; onPinned?: () => void }) {
  const [hours, setHours] = useState(6);
  const fresh = useRef(false);
  const changes = useLoad(() => {
    const f = fresh.current;
    fresh.current = false;
    return changesApi.list(incidentId, hours, f);
  }, [incidentId, hours]);
  useLive(['incident', 'pagerduty_links', 'timeline'], incidentId, changes.refresh);
  const healthy = !!changes.data && changes.data.problems.length === 0 && !changes.error;
  useEffect(() => {
    // PagerDuty tells nobody about new change events, so an open page looks again now and then, only while the last
    // look went well (a failing PagerDuty is not asked again until someone refreshes).
    if (!healthy) return;
    const t = setInterval(() => {
      if (document.visibilityState === 'visible') changes.refresh();
    }, POLL_MS);
    return () => clearInterval(t);
  }, [healthy, changes.refresh]);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState<string | null>(null);

  const pin = async (c: RecentChange) => {
    setBusy(c.id);
    setError(null);
    setNote(null);
    try {
      const r = await changesApi.pin(incidentId, c.id);
      setNote(r.pinned ? 'Pinned to the timeline.' : 'It was already on the timeline.');
      changes.setData((prev) => (prev ? { ...prev, change_events: prev.change_events.map((x) => (x.id === c.id ? { ...x, pinned: true } : x)) } : prev!));
      onPinned?.();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };
  const d = changes.data;

  return (
    <section className="card" aria-labelledby="recent-changes-heading">
      <div className="card-head">
        <h2 id="recent-changes-heading">Recent changes</h2>
        <div style={{ display: 'flex', gap: '0.5rem', alignItems: 'center' }}>
          <label className="small" htmlFor="recent-changes-hours">
            Last
          </label>
          <select id="recent-changes-hours" value={hours} onChange={(e) => setHours(Number(e.target.value))}>
            {HOURS.map((h) => (
              <option key={h} value={h}>
                {h} {h === 1 ? 'hour' : 'hours'}
              </option>
            ))}
          </select>
          <button
            type="button"
            className="button-quiet button-small"
            disabled={changes.loading}
            onClick={() => {
              fresh.current = true;
              setNote(null);
              setError(null);
              changes.reload();
            }}
          >
            Refresh
          </button>
        </div>
      </div>
      {error ? <ErrorMessage error={error} title="Could not pin the change." /> : null}
      {changes.error ? <ErrorMessage error={changes.error} title="Could not load recent changes." /> : null}
      {note ? <p role="status">{note}</p> : null}
      {!d ? (
        changes.loading ? <Loading label="Asking PagerDuty for recent changes…" /> : null
      ) : (
        <ChangesBody d={d} editable={editable} busy={busy} onPin={(c) => void pin(c)} />
      )}
    </section>
  );
}

function ChangesBody({ d, editable, busy, onPin }: { d: ChangesAnswer; editable: boolean; busy: string | null; onPin: (c: RecentChange) => void }) {
  const names = d.services.map((s) => s.name);
  if (names.length === 0 && d.pagerduty_incidents.length === 0) {
    return (
      <Empty title="No affected PagerDuty services yet.">
        Deploys and configuration changes that PagerDuty receives for this incident&apos;s services appear here: set the services in its PagerDuty service
        field, or link a PagerDuty incident.
      </Empty>
    );
  }
  if (!d.connected) return <Empty title="PagerDuty is not connected, so its changes cannot be shown." />;
  return (
    <>
      {d.problems.map((p) => (
        <p key={`${p.source.kind}:${p.source.id}`} className="notice notice-error" role="alert">
          {p.message}
        </p>
      ))}
      {d.skipped.services || d.skipped.pagerduty_incidents ? (
        <p className="small muted">
          Only the first services and PagerDuty incidents were read ({d.skipped.services + d.skipped.pagerduty_incidents} more not checked).
        </p>
      ) : null}
      {d.change_events.length === 0 ? (
        d.problems.length === d.services.length + d.pagerduty_incidents.length ? null : (
          <Empty title={`No changes in the last ${d.hours} ${d.hours === 1 ? 'hour' : 'hours'}.`}>
            PagerDuty has no deploys or configuration changes for {names.length ? names.join(', ') : 'the linked PagerDuty incidents'} in that time.
          </Empty>
        )
      ) : (
        <ul className="recent-changes" style={{ listStyle: 'none', padding: 0, margin: 0 }} aria-label="Changes, newest first">
          {d.change_events.map((c) => (
            <li key={c.id} style={{ marginBottom: '0.75rem' }}>
              <div>
                <span className="small muted">
                  <DateTime value={c.timestamp} />
                </span>{' '}
                <strong>{c.summary}</strong>
              </div>
              <div className="small muted">
                {[c.services.map((s) => s.name).join(', '), c.source ? `from ${c.source}` : null, ...c.related_to.map((r) => `related to PagerDuty #${r.number ?? r.pagerduty_incident_id}${r.reason ? ` (${REASON[r.reason] ?? r.reason})` : ''}`)]
                  .filter(Boolean)
                  .join(' · ')}
              </div>
              <div className="small">
                {c.links.map((l, i) => (
                  <span key={l.href + i}>
                    {i > 0 ? ' · ' : null}
                    <a href={l.href} target="_blank" rel="noreferrer">
                      {l.text ?? l.href}
                    </a>
                  </span>
                ))}
                {c.links.length ? ' ' : null}
                {c.pinned ? (
                  <span className="badge">On the timeline</span>
                ) : editable ? (
                  <button type="button" className="button-small button-quiet" disabled={busy !== null} onClick={() => onPin(c)} aria-label={`Pin "${c.summary}" to the timeline`}>
                    {busy === c.id ? 'Pinning…' : 'Pin to timeline'}
                  </button>
                ) : null}
              </div>
            </li>
          ))}
        </ul>
      )}
      <p className="small muted">
        {names.length ? `Services: ${names.join(', ')}.` : null}
        {d.pagerduty_incidents.length ? ` With PagerDuty's related changes for ${d.pagerduty_incidents.map((p) => `#${p.number ?? p.id}`).join(', ')}.` : null}
      </p>
    </>
  );
}
