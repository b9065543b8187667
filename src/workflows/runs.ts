import type { IncidentsService } from '../incidents/incidents.service.js';
import type { Db, Executor } from '../platform/db/index.js';
import { NotFoundError, ValidationError } from '../platform/errors.js';
import type { RunError, RunStatus, StepRecord, StepStatus, StepType, TriggerType, WorkflowEvaluation, WorkflowRun } from './model.js';
import type { WorkflowRunStepsTable, WorkflowRunsTable } from './tables.js';
import './tables.js';

// Run history as the API shows it: runs made from their rows (the record JSON and one row per step), per workflow
// (keyset pages by id, newest first) and per incident with the evaluations saying why other workflows did not run.

export function runFromRows(r: WorkflowRunsTable, steps: WorkflowRunStepsTable[]): WorkflowRun {
  const rec = JSON.parse(r.record) as Record<string, any>;
  const actor = rec.trigger?.actor ?? { kind: 'system' };
  return {
    id: r.id,
    workflow_id: r.workflow_id,
    workflow_key: rec.workflow_key,
    workflow_name: rec.workflow_name,
    workflow_version: Number(r.workflow_version),
    incident_id: r.incident_id,
    incident_reference: rec.incident_reference ?? null,
    trigger: { type: r.trigger_type as TriggerType, event_id: r.event_id, actor: { kind: actor.kind, name: actor.name ?? actor.ref ?? null }, data: rec.trigger?.data ?? {} },
    depth: Number(r.depth),
    status: r.status as RunStatus,
    incident_snapshot: rec.incident_snapshot ?? null,
    conditions: rec.conditions ?? [],
    skip_reason: rec.skip_reason ?? null,
    error: (rec.error as RunError | null) ?? null,
    items: rec.items ?? null,
    steps: steps
      .sort((a, b) => a.item_index - b.item_index || a.step_index - b.step_index)
      .map(
        (s): StepRecord => ({
          step_id: s.step_id,
          index: Number(s.step_index),
          item_index: Number(s.item_index) < 0 ? null : Number(s.item_index),
          type: s.type as StepType,
          status: s.status as StepStatus,
          inputs: JSON.parse(s.inputs),
          outputs: s.outputs ? JSON.parse(s.outputs) : null,
          error: s.error ? JSON.parse(s.error) : null,
          attempts: Number(s.attempts),
          started_at: s.started_at,
          finished_at: s.finished_at,
          duration_ms: s.duration_ms === null ? null : Number(s.duration_ms),
        }),
      ),
    created_at: r.created_at,
    started_at: r.started_at,
    finished_at: r.finished_at,
  };
}

export class WorkflowRuns {
  constructor(private readonly deps: { db: Db; incidents: IncidentsService }) {}

  private async withSteps(rows: WorkflowRunsTable[], db: Executor = this.deps.db): Promise<WorkflowRun[]> {
    if (rows.length === 0) return [];
    const steps = await db.selectFrom('workflow_run_steps').selectAll().where('run_id', 'in', rows.map((r) => r.id)).execute();
    const names = await this.actorNames(rows);
    return rows.map((r) => {
      const run = runFromRows(r, steps.filter((s) => s.run_id === r.id));
      const rec = JSON.parse(r.record);
      const uid = rec.trigger?.actor?.user_id;
      if (uid && names.has(uid)) run.trigger.actor.name = names.get(uid)!;
      return run;
    });
  }

  /** People by name, workflows by name: never ids on screens. */
  private async actorNames(rows: WorkflowRunsTable[]): Promise<Map<string, string>> {
    const ids = [...new Set(rows.map((r) => JSON.parse(r.record).trigger?.actor?.user_id).filter((x): x is string => typeof x === 'string'))];
    if (!ids.length) return new Map();
    const users = await this.deps.db.selectFrom('users').select(['id', 'name']).where('id', 'in', ids).execute();
    return new Map(users.map((u) => [u.id, u.name]));
  }

  async get(id: string): Promise<WorkflowRun> {
    const row = await this.deps.db.selectFrom('workflow_runs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new NotFoundError('Workflow run', id);
    return (await this.withSteps([row]))[0]!;
  }

  async listForWorkflow(workflowId: string, cursor: string | null, limit = 50): Promise<{ runs: WorkflowRun[]; next_cursor: string | null }> {
    if (cursor !== null && !/^[0-9a-f-]{36}$/i.test(cursor)) throw new ValidationError('The cursor is not one this list gave.', [{ path: 'cursor', message: 'invalid cursor' }]);
    let q = this.deps.db.selectFrom('workflow_runs').selectAll().where('workflow_id', '=', workflowId);
    if (cursor) q = q.where('id', '<', cursor);
    const rows = await q.orderBy('id', 'desc').limit(limit + 1).execute();
    const page = rows.slice(0, limit);
    return { runs: await this.withSteps(page), next_cursor: rows.length > limit ? page[page.length - 1]!.id : null };
  }

  async listForIncident(incident: string): Promise<{ runs: WorkflowRun[]; evaluations: WorkflowEvaluation[] }> {
    const incidentId = await this.deps.incidents.findIncidentId(incident);
    const rows = await this.deps.db.selectFrom('workflow_runs').selectAll().where('incident_id', '=', incidentId).orderBy('id', 'desc').limit(200).execute();
    const evals = await this.deps.db.selectFrom('workflow_evaluations').selectAll().where('incident_id', '=', incidentId).orderBy('id', 'desc').limit(200).execute();
    return {
      runs: await this.withSteps(rows),
      evaluations: evals.map((e) => ({ id: e.id, incident_id: e.incident_id!, trigger_type: e.trigger_type as TriggerType, event_id: e.event_id, evaluated_at: e.evaluated_at, skipped: JSON.parse(e.skipped), run_ids: JSON.parse(e.run_ids) })),
    };
  }
}
