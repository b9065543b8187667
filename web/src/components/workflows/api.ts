// Workflows over the REST API: definitions (list, one, save, state, check, audit, secret) and what runs did
// (preview, runs per workflow and per incident, manual runs). The shapes are the server's own
// (src/workflows/model.ts, the one definition shape the API, the YAML files and this editor share), imported as
// types only, so nothing of the server ends up in the bundle.
import { request } from '../../api.js';
import type {
  ConditionResult,
  FormField,
  RunError,
  RunStatus,
  StepRecord,
  StepStatus,
  StepType,
  Trigger,
  TriggerType,
  Workflow,
  WorkflowDefinition,
  WorkflowEvaluation,
  WorkflowRun,
  WorkflowState,
} from '../../../../src/workflows/model.js';

export type {
  Condition,
  ConditionGroup,
  ConditionOperator,
  Dedupe,
  SlackDestination,
  Step,
} from '../../../../src/workflows/model.js';
export type { ConditionResult, FormField, RunError, RunStatus, StepRecord, StepStatus, StepType, Trigger, TriggerType, Workflow, WorkflowDefinition, WorkflowEvaluation, WorkflowRun, WorkflowState };

export interface PreviewStep {
  step_id: string;
  index: number;
  item_index: number | null;
  type: StepType;
  inputs: Record<string, unknown>;
  would: string;
  error: RunError | null;
}
export interface Preview {
  matched: boolean;
  skip_reason: string | null;
  conditions: ConditionResult[];
  items: unknown[] | null;
  steps: PreviewStep[];
}
export interface AuditEntry {
  action: string;
  actor: { kind: string; name: string | null };
  at: string;
  before: Partial<WorkflowDefinition> | null;
  after: Partial<WorkflowDefinition> | null;
}
export interface ManualWorkflow {
  id: string;
  name: string;
  description?: string | null;
  form?: FormField[] | null;
}

const enc = encodeURIComponent;

export const workflowsApi = {
  list: () => request<{ workflows: Workflow[] }>('GET', '/api/v1/workflows').then((r) => r.workflows),
  get: (idOrKey: string) => request<Workflow>('GET', `/api/v1/workflows/${enc(idOrKey)}`),
  create: (def: WorkflowDefinition) => request<Workflow & { secret?: string }>('POST', '/api/v1/workflows', def),
  update: (id: string, def: WorkflowDefinition) => request<Workflow & { secret?: string }>('PUT', `/api/v1/workflows/${enc(id)}`, def),
  setState: (id: string, state: WorkflowState, applyToExisting?: boolean) =>
    request<Workflow>('POST', `/api/v1/workflows/${enc(id)}/state`, applyToExisting === undefined ? { state } : { state, apply_to_existing: applyToExisting }),
  remove: (id: string) => request<void>('DELETE', `/api/v1/workflows/${enc(id)}`),
  rotateSecret: (id: string) => request<{ secret: string }>('POST', `/api/v1/workflows/${enc(id)}/secret`),
  /** The save-time checker: resolves when the definition would be accepted, else throws its 400 invalid_workflow. */
  check: (def: WorkflowDefinition) => request<{ ok: true }>('POST', '/api/v1/workflows/check', def),
  audit: (id: string) => request<{ entries: AuditEntry[] }>('GET', `/api/v1/workflows/${enc(id)}/audit`).then((r) => r.entries),

  preview: (body: { workflow_id?: string; definition?: WorkflowDefinition; incident: string; inputs?: Record<string, unknown> }) =>
    request<Preview>('POST', '/api/v1/workflows/preview', body),
  runs: (id: string, cursor?: string | null) =>
    request<{ runs: WorkflowRun[]; next_cursor: string | null }>('GET', `/api/v1/workflows/${enc(id)}/runs${cursor ? `?cursor=${enc(cursor)}` : ''}`),
  run: (runId: string) => request<WorkflowRun>('GET', `/api/v1/workflow_runs/${enc(runId)}`),
  incidentRuns: (incidentId: string) => request<{ runs: WorkflowRun[]; evaluations: WorkflowEvaluation[] }>('GET', `/api/v1/incidents/${enc(incidentId)}/workflow_runs`),
  manual: (incidentId: string) => request<{ workflows: ManualWorkflow[] }>('GET', `/api/v1/incidents/${enc(incidentId)}/workflows/manual`).then((r) => r.workflows),
  runManual: (incidentId: string, workflowId: string, inputs: Record<string, unknown>) =>
    request<{ run: WorkflowRun }>('POST', `/api/v1/incidents/${enc(incidentId)}/workflows/${enc(workflowId)}/run`, { inputs }).then((r) => r.run),
};
