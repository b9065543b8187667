// One catalog sync run: a progress bar per type while it runs, then what it did.
import { useEffect, useState } from 'react';
import { DateTime, ErrorMessage } from '../components/ui.js';
import { pdApi, TYPE_LABELS, type SyncRun } from './api.js';

const LIVE = new Set(['queued', 'running']);

/** Follows a run until it finishes (polling once a second) and calls onDone with the final run. */
export function useFollowRun(initial: SyncRun | null | undefined, onDone?: (r: SyncRun) => void): { run: SyncRun | null; error: unknown } {
  const [run, setRun] = useState<SyncRun | null>(initial ?? null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => setRun(initial ?? null), [initial?.id]);
  useEffect(() => {
    if (!run || !LIVE.has(run.status)) return;
    let live = true;
    const t = setTimeout(() => {
      pdApi.run(run.id).then(
        (r) => {
          if (!live) return;
          setRun(r.sync_run);
          if (!LIVE.has(r.sync_run.status)) onDone?.(r.sync_run);
        },
        (e: unknown) => live && setError(e),
      );
    }, 700);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [run]);
  return { run, error };
}

const STATUS_TEXT: Record<SyncRun['status'], string> = {
  queued: 'Waiting to start',
  running: 'Syncing',
  succeeded: 'Synced',
  partial: 'Partly synced',
  failed: 'Failed',
  stopped: 'Stopped for safety',
  abandoned: 'Abandoned',
  cancelled: 'Cancelled',
};

/** "users: 991 of 20,000 users are…" → the type's label and the sentence. */
function warningParts(w: string): { label: string | null; text: string } {
  const m = /^([a-z_]+): (.*)$/s.exec(w);
  return m ? { label: TYPE_LABELS[m[1]!] ?? m[1]!, text: m[2]! } : { label: null, text: w };
}

export function SyncRunView({ run }: { run: SyncRun }) {
  const live = LIVE.has(run.status);
  const keys = run.types.length ? run.types : Object.keys(run.progress);
  return (
    <div className="sync-run" aria-live="polite">
      <p>
        <strong className={`sync-status sync-status-${run.status}`}>{STATUS_TEXT[run.status]}</strong>{' '}
        <span className="muted small">
          ({run.trigger}, started <DateTime value={run.started_at ?? run.created_at} />
          {run.finished_at ? <>, finished <DateTime value={run.finished_at} /></> : null}, {run.requests} PagerDuty requests
          {run.rows_written !== null ? `, ${run.rows_written} rows written` : ''})
        </span>
      </p>
      {run.stop_reason ? <p className="notice notice-warn">{run.stop_reason}</p> : null}
      {(run.warnings ?? []).map((w) => {
        const { label, text } = warningParts(w);
        return (
          <p key={w} className="notice notice-warn" data-warning>
            {label ? <strong>{label}: </strong> : null}
            {text}
          </p>
        );
      })}
      {run.errors.map((e) => (
        <p key={e} className="notice notice-error">
          {e}
        </p>
      ))}
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col">Fetched</th>
              {live ? null : (
                <>
                  <th scope="col">Created</th>
                  <th scope="col">Updated</th>
                  <th scope="col">Archived</th>
                  <th scope="col">Unchanged</th>
                  <th scope="col">Skipped by marker</th>
                  <th scope="col" title="Entries the listing could not reach, checked one by one">Looked up</th>
                </>
              )}
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => {
              const p = run.progress[k] ?? { fetched: 0, total: null };
              const s = run.stats[k];
              return (
                <tr key={k} data-type={k}>
                  <th scope="row">{TYPE_LABELS[k] ?? k}</th>
                  <td className="nowrap">
                    {live ? <progress max={p.total ?? undefined} value={p.fetched} aria-label={`${TYPE_LABELS[k] ?? k} fetched`} /> : null} {p.fetched} / {p.total ?? '?'}
                  </td>
                  {live ? null : (
                    <>
                      <td>{s?.created ?? 0}</td>
                      <td>{s?.updated ?? 0}</td>
                      <td>{s?.archived ?? 0}</td>
                      <td>{s?.unchanged ?? 0}</td>
                      <td>{s?.skipped_by_marker ?? 0}</td>
                      <td>{s?.looked_up ?? 0}</td>
                    </>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}

export function FollowedRun({ run, onDone }: { run: SyncRun; onDone?: (r: SyncRun) => void }) {
  const f = useFollowRun(run, onDone);
  if (f.error) return <ErrorMessage error={f.error} title="Could not follow the sync." />;
  return f.run ? <SyncRunView run={f.run} /> : null;
}
