// A workflow's runs, newest first: status, incident, trigger and who made it fire, duration, and per run its
// conditions and each step's inputs, outputs, error, attempts and duration. More pages with "Show older runs".
import { useState } from 'react';
import { useLoad } from '../../hooks.js';
import { useLive } from '../../live.js';
import { Empty, ErrorMessage, Loading } from '../../components/ui.js';
import { workflowsApi, type WorkflowRun } from '../../components/workflows/api.js';
import { RunRow } from '../../components/workflows/ui.js';

export function HistoryTab({ workflowId }: { workflowId: string }) {
  const first = useLoad(() => workflowsApi.runs(workflowId), [workflowId]);
  const [older, setOlder] = useState<{ runs: WorkflowRun[]; next: string | null } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // Runs touch their incident's timeline as they go: follow them while this tab is open.
  useLive(['incident', 'timeline', 'escalations'], null, first.refresh);
  if (!first.data) return first.loading ? <Loading label="Loading runs…" /> : <ErrorMessage error={first.error} title="Could not load the runs." />;
  const runs = [...first.data.runs, ...(older?.runs ?? []).filter((r) => !first.data!.runs.some((x) => x.id === r.id))];
  const next = older ? older.next : first.data.next_cursor;
  const more = async () => {
    if (!next) return;
    setBusy(true);
    setError(null);
    try {
      const page = await workflowsApi.runs(workflowId, next);
      setOlder((o) => ({ runs: [...(o?.runs ?? []), ...page.runs], next: page.next_cursor }));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  if (runs.length === 0) return <Empty title="No runs yet.">Runs show here once the workflow is active and its trigger fires, or it is run by hand.</Empty>;
  return (
    <>
      <ul className="rows" aria-label="Runs">
        {runs.map((r) => (
          <RunRow key={r.id} run={r} show="incident" />
        ))}
      </ul>
      <ErrorMessage error={error} />
      {next ? (
        <div className="pager">
          <button type="button" onClick={() => void more()} disabled={busy}>
            {busy ? 'Loading…' : 'Show older runs'}
          </button>
        </div>
      ) : null}
    </>
  );
}
