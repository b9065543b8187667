// "On call now" on the catalog pages of a PagerDuty service, escalation policy, team and schedule: who PagerDuty
// would page, by escalation level, by name, with each turn's end and the schedule it comes from. The server keeps
// answers a minute, so the card asks again every minute, and as soon as a shown turn ends. PagerDuty's failures
// (deleted schedule, timeout, rate limit, not connected) are shown as what happened; the rest of the page is unaffected.
import { useEffect } from 'react';
import { DateTime, ErrorMessage, Loading } from '../ui.js';
import { useLoad } from '../../hooks.js';
import { oncallApi, type OnCallAnswer, type OnCallKind } from './oncallApi.js';

type Person = OnCallAnswer['policies'][number]['levels'][number]['people'][number];

const REFRESH_MS = 60_000;

function nextRefresh(a: OnCallAnswer | undefined, now = Date.now()): number {
  const ends = [...(a?.policies.flatMap((p) => p.levels.flatMap((l) => l.people)) ?? []), ...(a?.schedule?.people ?? [])]
    .map((p) => (p.until ? Date.parse(p.until) - now + 1_000 : Infinity))
    .filter((ms) => ms > 0);
  return Math.max(5_000, Math.min(REFRESH_MS, ...ends));
}

function PersonLine({ p }: { p: Person }) {
  return (
    <span data-person={p.user.name}>
      <strong>{p.user.name}</strong>
      {p.user.firebreak_user && p.user.firebreak_user.name !== p.user.name ? <span className="muted"> ({p.user.firebreak_user.name} in Firebreak)</span> : null}
      {p.until || p.via ? (
        <span className="muted">
          {' '}
          ({p.until ? <>until <DateTime value={p.until} /></> : null}
          {p.until && p.via ? ' ' : null}
          {p.via ? `via ${p.via.name}` : null})
        </span>
      ) : null}
    </span>
  );
}

export function OnCallCard({ kind, pagerdutyId }: { kind: OnCallKind; pagerdutyId: string }) {
  const d = useLoad(() => oncallApi.get(kind, pagerdutyId), [kind, pagerdutyId]);
  const a = d.data;
  useEffect(() => {
    if (d.loading) return;
    const t = setTimeout(() => d.refresh(), nextRefresh(a));
    return () => clearTimeout(t);
  }, [a, d.loading, d.refresh]);
  return (
    <section className="card" aria-label="On call now" data-oncall-state={a?.state ?? (d.error ? 'error' : 'loading')}>
      <h2>On call now</h2>
      {d.loading && !a ? <Loading label="Asking PagerDuty who is on call…" /> : null}
      <ErrorMessage error={d.error} title="Could not ask who is on call." />
      {a?.error ? (
        <p className="notice notice-warn" role="status">
          {a.error.message}
        </p>
      ) : null}
      {a && a.state === 'ok' && a.schedule ? (
        a.schedule.people.length ? (
          <ul className="plain-list">
            {a.schedule.people.map((p) => (
              <li key={p.user.id}>
                <PersonLine p={p} />
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted">Nobody is on call on this schedule right now.</p>
        )
      ) : null}
      {a && a.state === 'ok' && !a.schedule
        ? a.policies.map((policy) => (
            <div key={policy.id} data-policy={policy.name}>
              {a.policies.length > 1 || kind !== 'escalation_policy' ? <h3>{policy.name}</h3> : null}
              {policy.levels.length ? (
                <ol className="plain-list">
                  {policy.levels.map((l) => (
                    <li key={l.level} data-level={l.level}>
                      <span className="muted">Level {l.level}: </span>
                      {l.people.map((p, i) => (
                        <span key={`${p.user.id}:${p.via?.id ?? ''}`}>
                          {i > 0 ? ' and ' : null}
                          <PersonLine p={p} />
                        </span>
                      ))}
                    </li>
                  ))}
                </ol>
              ) : (
                <p className="muted">Nobody is on call for this policy right now: a page would reach nobody.</p>
              )}
            </div>
          ))
        : null}
      {a?.note ? <p className="muted small">{a.note}</p> : null}
      {a ? (
        <p className="muted small">
          Asked PagerDuty at <DateTime value={a.fetched_at} timeOnly />; refreshes every minute.
        </p>
      ) : null}
    </section>
  );
}

/** One line for a chosen policy in the escalate form: "would page: Alan Weber (level 1), then …", fetched as it is chosen. */
export function WouldPage({ policyId }: { policyId: string }) {
  const d = useLoad(() => oncallApi.get('escalation_policy', policyId), [policyId]);
  if (d.loading && !d.data) return <span className="muted small">checking who is on call…</span>;
  if (d.error) return <span className="muted small">could not ask who is on call</span>;
  const a = d.data!;
  if (a.error) return <span className="small notice-warn" data-would-page="unavailable">{a.error.message}</span>;
  return (
    <span className="muted small" data-would-page={a.subject.id}>
      {a.policies[0]?.would_page ?? 'would page nobody'}
    </span>
  );
}
