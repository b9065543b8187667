// Preview: the workflow being edited (saved or not) against a real incident chosen here. Shows whether it would
// match (each condition's value and result), the items a for-each would go over, and exactly what each step would
// do, in the server's words, with the targets by name. Nothing is sent.
import { useEffect, useState } from 'react';
import { call } from '../../api.js';
import { useLoad } from '../../hooks.js';
import { ErrorMessage } from '../../components/ui.js';
import { workflowsApi, type Preview, type WorkflowDefinition } from '../../components/workflows/api.js';
import { InputsForm, filledInputs, type Inputs } from '../../components/workflows/InputsForm.js';
import { ConditionResults, RunErrorText, ValueTable, ValueView } from '../../components/workflows/ui.js';
import { stepTypeLabel } from '../../components/workflows/words.js';

export function PreviewPanel({ definition, workflowId }: { definition: WorkflowDefinition; workflowId: string | null }) {
  const incidents = useLoad(() => call('get', '/api/v1/incidents', { query: { limit: 50 } }).then((r) => r.incidents), []);
  const [incident, setIncident] = useState('');
  const [inputs, setInputs] = useState<Inputs>({});
  const [result, setResult] = useState<{ preview: Preview; incident: string; json: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!incident && incidents.data?.[0]) setIncident(incidents.data[0].reference);
  }, [incidents.data, incident]);

  const form = definition.trigger.type === 'manual' ? (definition.trigger.form ?? []) : [];
  const json = JSON.stringify(definition);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      const preview = await workflowsApi.preview({ ...(workflowId ? { workflow_id: workflowId } : {}), definition, incident, ...(form.length ? { inputs: filledInputs(inputs) } : {}) });
      setResult({ preview, incident, json });
    } catch (e) {
      setError(e);
      setResult(null);
    } finally {
      setBusy(false);
    }
  };
  const p = result?.preview;
  const chosen = incidents.data?.find((i) => i.reference === result?.incident);
  return (
    <section className="card wf-preview" aria-labelledby="wf-preview-heading">
      <h2 id="wf-preview-heading">Preview</h2>
      <p className="small muted">What this workflow would do to a real incident, as it is now in the editor. Nothing is sent.</p>
      <div className="form">
        <div className="field">
          <label htmlFor="wf-preview-incident">Incident</label>
          <select id="wf-preview-incident" value={incident} onChange={(e) => setIncident(e.target.value)}>
            {(incidents.data ?? []).length === 0 ? <option value="">No incidents yet</option> : null}
            {(incidents.data ?? []).map((i) => (
              <option key={i.id} value={i.reference}>
                {i.reference} · {i.name}
              </option>
            ))}
          </select>
        </div>
        {form.length ? <InputsForm form={form} values={inputs} onChange={setInputs} /> : null}
        <div className="form-actions">
          <button type="button" onClick={() => void run()} disabled={busy || !incident}>
            {busy ? 'Working it out…' : 'Preview'}
          </button>
          {result && result.json !== json ? <span className="small muted">The workflow changed since this preview.</span> : null}
        </div>
      </div>
      {error ? <ErrorMessage error={error} title="Could not preview." /> : null}
      {p ? (
        <div data-testid="workflow-preview" aria-live="polite">
          <p className={`notice ${p.matched ? 'notice-ok' : 'notice-warn'}`}>
            {p.matched ? `It would run on ${result.incident}${chosen ? ` (${chosen.name})` : ''}.` : `It would not run on ${result.incident}.`} {p.skip_reason ?? ''}
          </p>
          <h3>Conditions</h3>
          <ConditionResults conditions={p.conditions} />
          {p.items ? (
            <p className="small">
              For each of {p.items.length}: <ValueView value={p.items} />
            </p>
          ) : null}
          <h3>Steps</h3>
          <ol className="wf-step-records">
            {p.steps.map((s) => (
              <li key={`${s.index}-${s.item_index ?? ''}`} className="wf-step-record" data-testid="preview-step">
                <div className="wf-step-head">
                  <strong>
                    {s.index + 1}. {stepTypeLabel(s.type)}
                    {s.item_index !== null ? ` (item ${s.item_index + 1})` : ''}
                  </strong>{' '}
                  <span className="muted small mono">{s.step_id}</span>
                </div>
                <p className="wf-would">{s.would}</p>
                {s.error ? <RunErrorText error={s.error} /> : null}
                <details>
                  <summary className="small">Inputs</summary>
                  <ValueTable value={s.inputs} />
                </details>
              </li>
            ))}
          </ol>
        </div>
      ) : null}
    </section>
  );
}
