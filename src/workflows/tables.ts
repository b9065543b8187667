// The workflows module's tables (migration 0017_workflows), added to the Database interface.

export interface WorkflowsTable {
  id: string;
  key: string;
  name: string;
  state: string;
  trigger_type: string;
  definition: string;
  version: number;
  secret: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  activated_at: string | null;
  deleted_at: string | null;
}

export interface WorkflowRunsTable {
  id: string;
  workflow_id: string;
  workflow_version: number;
  incident_id: string | null;
  trigger_type: string;
  event_id: string | null;
  dedupe_key: string | null;
  depth: number;
  status: string;
  record: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface WorkflowRunStepsTable {
  id: string;
  run_id: string;
  step_id: string;
  step_index: number;
  item_index: number;
  type: string;
  status: string;
  inputs: string;
  outputs: string | null;
  error: string | null;
  attempts: number;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
}

export interface WorkflowEvaluationsTable {
  id: string;
  incident_id: string | null;
  trigger_type: string;
  event_id: string | null;
  skipped: string;
  run_ids: string;
  evaluated_at: string;
}

declare module '../platform/db/schema.js' {
  interface Database {
    workflows: WorkflowsTable;
    workflow_runs: WorkflowRunsTable;
    workflow_run_steps: WorkflowRunStepsTable;
    workflow_evaluations: WorkflowEvaluationsTable;
  }
}
