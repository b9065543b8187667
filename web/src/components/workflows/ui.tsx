// Small pieces the workflow pages share: state and status badges, a value shown with names (catalog entries,
// people, PagerDuty incidents as links), a run's error with whose message it is, and one run in full.
import { Fragment, useState } from 'react';
import { Link } from '../../router.js';
import { DateTime } from '../ui.js';
import type { ConditionResult, RunError, RunStatus, StepRecord, StepStatus, WorkflowRun, WorkflowState } from './api.js';
import { RUN_STATUS_WORDS, STATE_WORDS, TRIGGER_SHORT, durationWords, stepTypeLabel } from './words.js';

const STATE_CLASS: Record<WorkflowState, string> = { active: 'badge-closed', draft: 'badge-declined', disabled: 'badge-declined' };
export function StateBadge({ state }: { state: WorkflowState }) {
  return <span className={`badge ${STATE_CLASS[state]}`}>{STATE_WORDS[state]}</span>;
}

const STATUS_CLASS: Record<RunStatus | StepStatus, string> = {
  succeeded: 'badge-closed',
  failed: 'badge-failed',
  running: 'badge-triage',
  waiting: 'badge-triage',
  pending: 'badge-declined',
  skipped: 'badge-declined',
};
export function RunStatusBadge({ status }: { status: RunStatus | StepStatus }) {
  return <span className={`badge ${STATUS_CLASS[status]}`}>{RUN_STATUS_WORDS[status]}</span>;
}

const SOURCE_WORDS: Record<RunError['source'], string> = { firebreak: 'Firebreak', pagerduty: 'PagerDuty', slack: 'Slack', http: 'The HTTP endpoint' };
export function RunErrorText({ error }: { error: RunError }) {
  const code = error.code !== undefined && error.code !== null && String(error.code) !== error.message ? ` (${String(error.code)})` : error.status ? ` (HTTP ${error.status})` : '';
  return (
    <span className="field-error">
      {SOURCE_WORDS[error.source] ?? error.source} said: {error.message}
      {code}
    </span>
  );
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const URL_RE = /^https?:\/\//;

/** A value as people read it: entries and people by name, PagerDuty incidents as links, lists with commas. */
export function ValueView({ value }: { value: unknown }) {
  if (value === null || value === undefined || value === '') return <span className="muted">(none)</span>;
  if (typeof value === 'string') return URL_RE.test(value) ? <a href={value} target="_blank" rel="noreferrer">{value}</a> : <span className="prewrap">{value}</span>;
  if (typeof value === 'number' || typeof value === 'boolean') return <span>{String(value)}</span>;
  if (Array.isArray(value)) {
    if (value.length === 0) return <span className="muted">(empty list)</span>;
    return (
      <>
        {value.map((v, i) => (
          <Fragment key={i}>
            {i > 0 ? ', ' : null}
            <ValueView value={v} />
          </Fragment>
        ))}
      </>
    );
  }
  if (isRecord(value)) {
    const name = typeof value.name === 'string' ? value.name : typeof value.title === 'string' ? value.title : typeof value.summary === 'string' ? value.summary : null;
    const url = typeof value.html_url === 'string' ? value.html_url : typeof value.url === 'string' ? value.url : null;
    if (name) {
      const label = typeof value.number === 'number' ? `#${value.number} ${name}` : name;
      const kind = typeof value.type === 'string' ? value.type : null;
      return (
        <span>
          {url ? <a href={url} target="_blank" rel="noreferrer">{label}</a> : label}
          {kind ? <span className="muted"> ({kind.replace(/_reference$/, '').replace(/_/g, ' ')})</span> : null}
        </span>
      );
    }
    return <ValueTable value={value} />;
  }
  return <code>{JSON.stringify(value)}</code>;
}

/** An object's fields, one line each (inputs and outputs of a step). */
export function ValueTable({ value }: { value: Record<string, unknown> }) {
  // Ids are for machines: what a step did is read by the names beside them (PagerDuty incidents are linked apart).
  const keys = Object.keys(value).filter((k) => value[k] !== undefined && k !== 'id' && !k.endsWith('_id'));
  if (keys.length === 0) return <span className="muted">(nothing)</span>;
  return (
    <dl className="details wf-values">
      {keys.map((k) => (
        <Fragment key={k}>
          <dt>{k.replace(/_/g, ' ')}</dt>
          <dd>
            <ValueView value={value[k]} />
          </dd>
        </Fragment>
      ))}
    </dl>
  );
}

/** Each condition: in words, the value its subject had, and whether it held. */
export function ConditionResults({ conditions }: { conditions: ConditionResult[] }) {
  if (conditions.length === 0) return <p className="muted small">No conditions: it matches every incident its trigger fires for.</p>;
  let lastGroup = -1;
  return (
    <table className="table table-compact" aria-label="Conditions">
      <thead>
        <tr>
          <th scope="col">Condition</th>
          <th scope="col">Value</th>
          <th scope="col">Result</th>
        </tr>
      </thead>
      <tbody>
        {conditions.map((c) => {
          const newGroup = c.group !== lastGroup && lastGroup !== -1;
          lastGroup = c.group;
          return (
            <tr key={`${c.group}-${c.index}`} data-testid="condition-result">
              <td>
                {newGroup ? <span className="muted small">or </span> : null}
                {c.words}
              </td>
              <td>
                <ValueView value={c.value} />
              </td>
              <td>{c.error ? <span className="field-error">{c.error}</span> : c.result ? <span className="badge badge-closed">Holds</span> : <span className="badge badge-declined">Does not hold</span>}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function stepTitle(s: StepRecord): string {
  return `${s.index + 1}. ${stepTypeLabel(s.type)}${s.item_index !== null ? ` (item ${s.item_index + 1})` : ''}`;
}

/** A step's record: status, inputs (resolved with names), outputs, error, attempts and duration. */
export function StepRecordView({ step }: { step: StepRecord }) {
  return (
    <li className="wf-step-record" data-testid="step-record">
      <div className="wf-step-head">
        <strong>{stepTitle(step)}</strong> <span className="muted small mono">{step.step_id}</span> <RunStatusBadge status={step.status} />
        <span className="muted small">
          {step.attempts > 1 ? `${step.attempts} attempts · ` : ''}
          {durationWords(step.duration_ms)}
        </span>
      </div>
      {step.error ? <RunErrorText error={step.error} /> : null}
      <div className="wf-io">
        <div>
          <p className="field-label">Inputs</p>
          <ValueTable value={step.inputs} />
        </div>
        {step.outputs ? (
          <div>
            <p className="field-label">Outputs</p>
            <ValueTable value={step.outputs} />
          </div>
        ) : null}
      </div>
    </li>
  );
}

function runDuration(r: WorkflowRun): number | null {
  if (!r.finished_at) return null;
  return new Date(r.finished_at).getTime() - new Date(r.started_at ?? r.created_at).getTime();
}

/** One run on one line, opening to its conditions and steps. `show` picks which side to name: the workflow or the incident. */
export function RunRow({ run, show }: { run: WorkflowRun; show: 'workflow' | 'incident' }) {
  const [open, setOpen] = useState(false);
  return (
    <li className="row wf-run" data-testid="workflow-run" data-status={run.status}>
      <div className="row-main">
        <div>
          {show === 'workflow' ? (
            <Link to={`/workflows/${encodeURIComponent(run.workflow_id)}?tab=history`} className="row-title">
              {run.workflow_name}
            </Link>
          ) : run.incident_reference ? (
            <Link to={`/incidents/${encodeURIComponent(run.incident_reference)}`} className="row-title">
              {run.incident_reference}
            </Link>
          ) : (
            <span className="muted">No incident</span>
          )}{' '}
          <RunStatusBadge status={run.status} />
          <p className="muted small">
            {TRIGGER_SHORT[run.trigger.type] ?? run.trigger.type}
            {run.trigger.actor.name ? ` by ${run.trigger.actor.name}` : ''} · <DateTime value={run.created_at} /> · {durationWords(runDuration(run))}
            {run.depth > 0 ? ` · started by another workflow (depth ${run.depth})` : ''}
          </p>
          {run.skip_reason ? <p className="small">{run.skip_reason}</p> : null}
          {run.error ? <RunErrorText error={run.error} /> : null}
          <ul className="wf-step-summary small">
            {run.steps.map((s) => (
              <li key={`${s.index}-${s.item_index ?? ''}`}>
                {stepTitle(s)}: {RUN_STATUS_WORDS[s.status].toLowerCase()}
                {s.error ? (
                  <>
                    {' '}
                    — <RunErrorText error={s.error} />
                  </>
                ) : null}
                {s.outputs ? <PagerDutyLinks outputs={s.outputs} /> : null}
              </li>
            ))}
          </ul>
        </div>
        <button type="button" className="button-small button-quiet" aria-expanded={open} onClick={() => setOpen((o) => !o)}>
          {open ? 'Hide details' : 'Details'}
        </button>
      </div>
      {open ? (
        <div className="wf-run-details">
          <h3>Conditions</h3>
          <ConditionResults conditions={run.conditions} />
          {run.items ? (
            <p className="small">
              For each of: <ValueView value={run.items} />
            </p>
          ) : null}
          <h3>Steps</h3>
          {run.steps.length === 0 ? (
            <p className="muted small">No step ran.</p>
          ) : (
            <ol className="wf-step-records">
              {run.steps.map((s) => (
                <StepRecordView key={`${s.index}-${s.item_index ?? ''}`} step={s} />
              ))}
            </ol>
          )}
        </div>
      ) : null}
    </li>
  );
}

/** The PagerDuty incidents a step made (its targets' `pagerduty_incident_id`, or objects with an `html_url`), named. */
function PagerDutyLinks({ outputs }: { outputs: Record<string, unknown> }) {
  const found: { url: string | null; label: string }[] = [];
  const visit = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (isRecord(v)) {
      const url = typeof v.html_url === 'string' ? v.html_url : null;
      const pdId = typeof v.pagerduty_incident_id === 'string' ? v.pagerduty_incident_id : null;
      if (pdId || (url && /pagerduty/.test(url))) {
        const who = typeof v.name === 'string' ? `${v.name}: ` : '';
        const number = typeof v.number === 'number' ? `#${v.number}` : pdId ?? '';
        found.push({ url, label: `${who}PagerDuty incident ${number}${typeof v.status === 'string' ? ` (${v.status})` : ''}` });
      } else Object.values(v).forEach(visit);
    }
  };
  visit(outputs);
  if (found.length === 0) return null;
  return (
    <ul className="wf-pd-links" data-testid="run-pagerduty">
      {found.map((f, i) => (
        <li key={i}>
          {f.url ? (
            <a href={f.url} target="_blank" rel="noreferrer">
              {f.label}
            </a>
          ) : (
            f.label
          )}
        </li>
      ))}
    </ul>
  );
}
