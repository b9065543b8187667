// Checking a workflow as it is edited: the whole definition goes to the save-time checker (POST
// /api/v1/workflows/check) a moment after the last change; its one message is shown at the part it names
// (details.path, e.g. "steps[1].policies_expression"), with a caret under the expression's mistake when it has one.
import { createContext, useContext, useEffect, useId, useState, type ReactNode } from 'react';
import { ApiError } from '../../api.js';
import { workflowsApi, type WorkflowDefinition } from './api.js';

export interface CheckProblem {
  /** Dotted: "steps.1.policies_expression", "conditions.0.all.1.subject", "" for the whole. */
  path: string;
  message: string;
  position: { offset: number; line: number; column: number } | null;
  available: string[];
}
export interface CheckState {
  status: 'idle' | 'checking' | 'ok' | 'problem' | 'unavailable';
  problem: CheckProblem | null;
}

/** "steps[1].policies_expression" or ["steps", 1, "policies_expression"] → "steps.1.policies_expression". */
export function normalPath(p: unknown): string {
  if (Array.isArray(p)) return p.map(String).join('.');
  if (typeof p !== 'string') return '';
  return p.replace(/\[(\d+)\]/g, '.$1').replace(/^\./, '');
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function problemOf(e: unknown): CheckProblem | null {
  if (!(e instanceof ApiError) || e.status !== 400) return null;
  const d = e.details ?? {};
  const expr = isRecord(d.expression_error) ? d.expression_error : null;
  const pos = expr && isRecord(expr.position) ? (expr.position as unknown as CheckProblem['position']) : null;
  const path = d.path !== undefined ? normalPath(d.path) : e.fields[0] ? normalPath(e.fields[0].path) : '';
  return { path, message: e.message, position: pos, available: expr && Array.isArray(expr.available) ? (expr.available as string[]) : [] };
}

/** Checks `def` 400 ms after its last change; an answer for an older definition is ignored. */
export function useDefinitionCheck(def: WorkflowDefinition): CheckState {
  const json = JSON.stringify(def);
  const [state, setState] = useState<CheckState>({ status: 'idle', problem: null });
  useEffect(() => {
    let live = true;
    setState((s) => ({ status: 'checking', problem: s.problem }));
    const t = setTimeout(() => {
      workflowsApi.check(JSON.parse(json) as WorkflowDefinition).then(
        () => live && setState({ status: 'ok', problem: null }),
        (e: unknown) => {
          if (!live) return;
          const p = problemOf(e);
          setState(p ? { status: 'problem', problem: p } : { status: 'unavailable', problem: null });
        },
      );
    }, 400);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [json]);
  return state;
}

const CheckContext = createContext<CheckState>({ status: 'idle', problem: null });
export const CheckProvider = ({ value, children }: { value: CheckState; children: ReactNode }) => <CheckContext.Provider value={value}>{children}</CheckContext.Provider>;

/** The checker's problem when it is about `path` or something inside it. */
export function problemFor(state: CheckState, path: string): CheckProblem | null {
  const { problem } = state;
  if (!problem || !problem.path) return null;
  return problem.path === path || problem.path.startsWith(`${path}.`) ? problem : null;
}
export const useCheckState = (): CheckState => useContext(CheckContext);
export const useProblemAt = (path: string): CheckProblem | null => problemFor(useContext(CheckContext), path);

/** Text of an expression (or a template with {{ }} parts), checked with the rest of the workflow as you type. */
export function ExpressionField({
  label,
  path,
  value,
  onChange,
  hint,
  rows = 1,
  placeholder,
}: {
  label: ReactNode;
  path: string;
  value: string;
  onChange: (v: string) => void;
  hint?: ReactNode;
  rows?: number;
  placeholder?: string;
}) {
  const problem = useProblemAt(path);
  const id = useId();
  const describedBy = [hint ? `${id}-hint` : '', problem ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  const props = { id, className: 'mono', spellCheck: false, value, placeholder, 'aria-invalid': problem ? true : undefined, 'aria-describedby': describedBy, 'data-path': path };
  return (
    <div className={`field${problem ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {rows > 1 ? <textarea {...props} rows={rows} onChange={(e) => onChange(e.target.value)} /> : <input {...props} autoComplete="off" onChange={(e) => onChange(e.target.value)} />}
      {problem ? (
        <div id={`${id}-error`} className="wf-problem">
          <span className="field-error">{problem.message}</span>
          {problem.position ? <Caret source={value} position={problem.position} /> : null}
          {problem.available.length ? (
            <span className="hint">
              Available here:{' '}
              {problem.available.slice(0, 20).map((a, i) => (
                <span key={a}>
                  {i > 0 ? ', ' : null}
                  <code>{a}</code>
                </span>
              ))}
            </span>
          ) : null}
        </div>
      ) : null}
      {hint ? (
        <span id={`${id}-hint`} className="hint">
          {hint}
        </span>
      ) : null}
    </div>
  );
}

function Caret({ source, position }: { source: string; position: NonNullable<CheckProblem['position']> }) {
  const line = source.split('\n')[position.line - 1];
  if (line === undefined) return null;
  return (
    <pre className="small wf-caret" aria-label={`At line ${position.line}, column ${position.column}`}>
      {line}
      {'\n'}
      {' '.repeat(Math.max(0, position.column - 1))}^
    </pre>
  );
}

/** The checker's state in a line: "Checks", "Checking…", or the message (with the part it names when not shown elsewhere). */
export function CheckSummary({ state }: { state: CheckState }) {
  return (
    <p className="small wf-check" role="status" aria-live="polite" data-testid="workflow-check">
      {state.status === 'checking' ? (
        <span className="muted">Checking…</span>
      ) : state.status === 'ok' ? (
        <span className="wf-ok">✓ The workflow checks.</span>
      ) : state.status === 'problem' && state.problem ? (
        <span className="field-error">{state.problem.message}</span>
      ) : state.status === 'unavailable' ? (
        <span className="muted">Could not check the workflow just now.</span>
      ) : null}
    </p>
  );
}
