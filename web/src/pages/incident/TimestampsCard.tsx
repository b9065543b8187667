// The incident's timestamps (reported, impact started, identified, fixed, resolved, and PagerDuty's first triggered
// and first acknowledged when linked), each with where it came from, and the durations derived from them in words.
// People who may respond edit a time with a reason; the server refuses one out of order, naming both. The page
// reloads the incident through the live feed, so times set by status changes or PagerDuty show by themselves.
import { useState } from 'react';
import { api, call } from '../../api.js';
import { useSubmit } from '../../hooks.js';
import { DateTime, ErrorMessage } from '../../components/ui.js';
import type { Incident } from '../../types.js';

type Stamp = Incident['timestamps'][number];
type Durations = Incident['durations'];

const PAGERDUTY_KINDS: Stamp['kind'][] = ['pagerduty_first_triggered', 'pagerduty_first_acknowledged'];

const DURATIONS: { key: keyof Durations; label: string }[] = [
  { key: 'time_to_acknowledge_seconds', label: 'Time to acknowledge' },
  { key: 'time_to_identify_seconds', label: 'Time to identify' },
  { key: 'time_to_fix_seconds', label: 'Time to fix' },
  { key: 'time_to_resolve_seconds', label: 'Time to resolve' },
  { key: 'impact_duration_seconds', label: 'Impact duration' },
];

/** "1 h 12 min", "3 min 5 s", "2 d 4 h": the two largest units that are not zero. */
export function durationWords(seconds: number | null): string {
  if (seconds === null) return 'Not known yet';
  const units: [string, number][] = [['d', 86_400], ['h', 3600], ['min', 60], ['s', 1]];
  const parts: string[] = [];
  let rest = Math.max(0, Math.round(seconds));
  let first = -1;
  units.forEach(([u, n], i) => {
    const v = Math.floor(rest / n);
    rest -= v * n;
    if (v > 0 && first < 0) first = i;
    if (v > 0 && first >= 0 && i <= first + 1) parts.push(`${v} ${u}`);
  });
  return parts.length ? parts.join(' ') : '0 s';
}

function sourceWords(t: Stamp): string {
  if (t.source === 'user') return `Set by ${t.set_by?.name ?? 'an API key'}${t.reason ? `: ${t.reason}` : ''}`;
  if (t.source === 'pagerduty') return 'From PagerDuty';
  if (t.source === 'auto') return 'From the status';
  return '';
}

/** The local "YYYY-MM-DDTHH:MM" a datetime-local input shows for an ISO time. */
function toLocalInput(iso: string | null): string {
  const d = iso ? new Date(iso) : new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function TimestampsCard({ incident, editable, onChanged }: { incident: Incident; editable: boolean; onChanged: (i: Incident) => void }) {
  const [editing, setEditing] = useState<Stamp['kind'] | null>(null);
  const shown = incident.timestamps.filter((t) => !PAGERDUTY_KINDS.includes(t.kind) || t.at !== null);
  return (
    <section className="card" aria-labelledby="timestamps-heading">
      <h2 id="timestamps-heading">Timestamps</h2>
      <ul className="cf-list" aria-label="Timestamps">
        {shown.map((t) =>
          editing === t.kind ? (
            <li key={t.kind} className="cf-item cf-editing" data-kind={t.kind}>
              <TimestampForm incident={incident} stamp={t} onDone={(next) => { setEditing(null); if (next) onChanged(next); }} />
            </li>
          ) : (
            <li key={t.kind} className="cf-item" data-kind={t.kind}>
              <div className="cf-head">
                <span className="cf-name">{t.label}</span>
                {editable && !PAGERDUTY_KINDS.includes(t.kind) ? (
                  <button type="button" className="button-link" aria-label={t.at ? `Change ${t.label}` : `Set ${t.label}`} onClick={() => setEditing(t.kind)}>
                    {t.at ? 'Change' : 'Set'}
                  </button>
                ) : null}
              </div>
              <div className="cf-value">{t.at ? <DateTime value={t.at} /> : <span className="muted">Not set</span>}</div>
              {t.source ? <div className="cf-summary muted">{sourceWords(t)}</div> : null}
            </li>
          ),
        )}
      </ul>
      <h3>Durations</h3>
      <dl className="details" aria-label="Durations">
        {DURATIONS.map((d) => (
          <div key={d.key} style={{ display: 'contents' }}>
            <dt>{d.label}</dt>
            <dd data-duration={d.key}>{incident.durations[d.key] === null ? <span className="muted">{durationWords(null)}</span> : durationWords(incident.durations[d.key])}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

function TimestampForm({ incident, stamp, onDone }: { incident: Incident; stamp: Stamp; onDone: (next: Incident | null) => void }) {
  const [when, setWhen] = useState(toLocalInput(stamp.at));
  const [reason, setReason] = useState('');
  const { busy, error, field, run } = useSubmit();
  const save = (at: string | null) =>
    run(async () => {
      await call('put', '/api/v1/incidents/{incident_id}/timestamps/{kind}', { params: { incident_id: incident.id, kind: stamp.kind }, body: { at, reason } });
      onDone(await api.incident(incident.id));
    });
  return (
    <form
      className="form"
      aria-label={`Change ${stamp.label}`}
      onSubmit={(e) => {
        e.preventDefault();
        void save(when ? new Date(when).toISOString() : null);
      }}
    >
      <label>
        {stamp.label}
        <input type="datetime-local" value={when} onChange={(e) => setWhen(e.target.value)} required />
      </label>
      <label>
        Reason
        <input type="text" value={reason} onChange={(e) => setReason(e.target.value)} maxLength={500} required placeholder="Why this time is right" aria-invalid={field('reason') ? true : undefined} />
      </label>
      <ErrorMessage error={error} title="Not saved." />
      <div className="form-actions">
        <button type="submit" className="button-small button-primary" disabled={busy || !reason.trim()}>
          {busy ? 'Saving…' : 'Save'}
        </button>
        {stamp.at ? (
          <button type="button" className="button-small button-quiet" disabled={busy || !reason.trim()} onClick={() => void save(null)}>
            Clear
          </button>
        ) : null}
        <button type="button" className="button-small button-quiet" disabled={busy} onClick={() => onDone(null)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
