// The incident page's "Workflows" card: the runs for this incident with their status and steps (a PagerDuty
// incident a step made links to PagerDuty), why each active workflow that did not run skipped (per trigger), and
// "Run workflow" for manual workflows, with their form. Follows the incident's changes live.
import { useState } from 'react';
import { useLoad, useSubmit } from '../../hooks.js';
import { useLive } from '../../live.js';
import { Link } from '../../router.js';
import { DateTime, ErrorMessage, Loading } from '../ui.js';
import { workflowsApi, type WorkflowEvaluation } from './api.js';
import { InputsForm, filledInputs, type Inputs } from './InputsForm.js';
import { RunRow } from './ui.js';
import { SKIP_REASON_WORDS, TRIGGER_SHORT } from './words.js';

export function IncidentWorkflowsCard({ incidentId, editable, onRan }: { incidentId: string; editable: boolean; onRan?: () => void }) {
  const runs = useLoad(() => workflowsApi.incidentRuns(incidentId), [incidentId]);
  // Runs move as their steps finish, and each step changes the incident, its timeline or its escalations.
  useLive(['incident', 'timeline', 'escalations', 'pagerduty_links'], incidentId, runs.refresh);
  const [running, setRunning] = useState(false);
  const data = runs.data;
  return (
    <section className="card" aria-labelledby="wf-card-heading">
      <div className="card-head">
        <h2 id="wf-card-heading">Workflows</h2>
        {editable && !running ? (
          <button type="button" className="button-small" onClick={() => setRunning(true)}>
            Run workflow…
          </button>
        ) : null}
      </div>
      {running ? (
        <ManualRunForm
          incidentId={incidentId}
          onClose={() => setRunning(false)}
          onRan={() => {
            setRunning(false);
            runs.reload();
            onRan?.();
          }}
        />
      ) : null}
      {!data ? (
        runs.loading ? (
          <Loading label="Loading workflow runs…" />
        ) : (
          <ErrorMessage error={runs.error} title="Could not load workflow runs." />
        )
      ) : (
        <>
          {data.runs.length === 0 ? (
            <p className="muted small">No workflow has run for this incident.</p>
          ) : (
            <ul className="rows wf-runs" aria-label="Workflow runs">
              {data.runs.map((r) => (
                <RunRow key={r.id} run={r} show="workflow" />
              ))}
            </ul>
          )}
          <Skipped evaluations={data.evaluations} />
        </>
      )}
    </section>
  );
}

/** Why active workflows did not run, newest trigger first. */
function Skipped({ evaluations }: { evaluations: WorkflowEvaluation[] }) {
  const withSkips = evaluations.filter((e) => e.skipped.length > 0);
  if (withSkips.length === 0) return null;
  const count = withSkips.reduce((n, e) => n + e.skipped.length, 0);
  return (
    <details className="wf-skipped" data-testid="workflow-skipped">
      <summary>
        {count} workflow{count === 1 ? '' : 's'} did not run: why
      </summary>
      {withSkips.map((e) => (
        <div key={e.id}>
          <p className="small muted">
            {TRIGGER_SHORT[e.trigger_type] ?? e.trigger_type} · <DateTime value={e.evaluated_at} />
          </p>
          <ul className="small">
            {e.skipped.map((s) => (
              <li key={s.workflow_id}>
                <Link to={`/workflows/${encodeURIComponent(s.workflow_id)}`}>{s.workflow_name}</Link>: {s.message || (SKIP_REASON_WORDS[s.reason] ?? s.reason)}
                {!s.message && s.conditions.some((c) => !c.result) ? (
                  <ul>
                    {s.conditions
                      .filter((c) => !c.result)
                      .map((c) => (
                        <li key={`${c.group}-${c.index}`}>
                          {c.words}: {c.error ?? 'does not hold'}
                        </li>
                      ))}
                  </ul>
                ) : null}
              </li>
            ))}
          </ul>
        </div>
      ))}
    </details>
  );
}

function ManualRunForm({ incidentId, onClose, onRan }: { incidentId: string; onClose: () => void; onRan: () => void }) {
  const manual = useLoad(() => workflowsApi.manual(incidentId), [incidentId]);
  const [chosen, setChosen] = useState('');
  const [inputs, setInputs] = useState<Inputs>({});
  const submit = useSubmit();
  const list = manual.data ?? [];
  const wf = list.find((w) => w.id === chosen) ?? (list.length === 1 ? list[0] : undefined);
  const fieldError = (key: string) => submit.field(`inputs.${key}`) ?? submit.field(key);
  return (
    <form
      className="inline-form"
      aria-label="Run a workflow"
      onSubmit={submit.onSubmit(async () => {
        if (!wf) return;
        await workflowsApi.runManual(incidentId, wf.id, filledInputs(inputs));
        onRan();
      })}
    >
      {!manual.data ? (
        manual.loading ? (
          <Loading label="Loading manual workflows…" />
        ) : (
          <ErrorMessage error={manual.error} />
        )
      ) : list.length === 0 ? (
        <p className="muted small">No active workflow is run by hand. Make one with the trigger “Run by hand” on the Workflows page.</p>
      ) : (
        <>
          <div className="field">
            <label htmlFor="wf-manual">Workflow</label>
            <select
              id="wf-manual"
              value={wf?.id ?? ''}
              onChange={(e) => {
                setChosen(e.target.value);
                setInputs({});
              }}
            >
              {list.length > 1 ? <option value="">Choose…</option> : null}
              {list.map((w) => (
                <option key={w.id} value={w.id}>
                  {w.name}
                </option>
              ))}
            </select>
            {wf?.description ? <span className="hint">{wf.description}</span> : null}
          </div>
          {wf?.form?.length ? <InputsForm form={wf.form} values={inputs} onChange={setInputs} fieldError={fieldError} /> : null}
        </>
      )}
      <ErrorMessage error={submit.error} title="Did not run." />
      <div className="form-actions">
        <button type="submit" className="button-primary" disabled={submit.busy || !wf}>
          {submit.busy ? 'Starting…' : 'Run'}
        </button>
        <button type="button" className="button-quiet" onClick={onClose}>
          Cancel
        </button>
      </div>
    </form>
  );
}
