import { AppError } from '../platform/errors.js';
import type { Actor } from '../platform/events.js';
import { newId, nowIso } from '../platform/ids.js';
import type { JobContext, JobQueue } from '../platform/jobs/types.js';
import type { Logger } from '../platform/logger.js';
import { createEvaluator, failing, type Evaluator, type EvaluatorDeps } from './evaluate.js';
import { MAX_FOR_EACH, type RunError, type WorkflowDefinition } from './model.js';
import { StepUpstreamError } from './ports.js';
import { stepKinds } from './steps/index.js';
import './tables.js';

// Running a matched workflow: one durable job per run at a time (queue per run, so in order). The job re-reads the
// run: after a delay it loads the incident again and checks the conditions again; then it makes one row per step
// (and for-each item), and works through them in order. Each row is claimed (status running, attempts + 1) and
// committed before the step acts, and records the step's inputs (names included), outputs or error (the upstream's
// own message). A job that dies mid-step is run again and finds the row claimed: the step runs again with the same
// idempotency key (`wf:<runId>:<stepIndex>:<itemIndex>`), which PagerDuty escalations, Slack posts, timeline notes
// and HTTP receivers use to do it once. Retryable failures (PagerDuty 5xx, timeouts) retry the job with backoff;
// others fail the step and, unless continue_on_error, the run (later steps skipped).

export const RUN_JOB = 'workflows.run';
export const RUN_MAX_ATTEMPTS = 6;
export const runQueue = (runId: string) => `wf-run:${runId}`;

export interface RunnerDeps extends EvaluatorDeps {
  jobs: JobQueue;
  logger: Logger;
  /** The workflow's HTTP signing secret, decrypted (null when it has none). */
  secretFor(workflowId: string): Promise<string | null>;
  /** Tests: called right after a step row is claimed (a crash point). */
  faults?: {
    afterClaim?: (runId: string, stepIndex: number, itemIndex: number) => void | Promise<void>;
    /** Tests: called after the step acted, before its success is recorded (a crash point). */
    afterExecute?: (runId: string, stepIndex: number, itemIndex: number) => void | Promise<void>;
  };
}

interface RunRecord {
  workflow_key: string;
  workflow_name: string;
  trigger: { type: string; actor: { kind: Actor['kind']; user_id: string | null; ref: string | null } };
  conditions: unknown[];
  skip_reason: string | null;
  error: RunError | null;
  items: unknown[] | null;
  inputs: Record<string, unknown> | null;
  definition: WorkflowDefinition;
  [k: string]: unknown;
}

export function idempotencyKey(runId: string, stepIndex: number, itemIndex: number): string {
  return `wf:${runId}:${stepIndex}:${Math.max(0, itemIndex)}`;
}

export function toRunError(err: unknown): { error: RunError; retryable: boolean } {
  if (err instanceof StepUpstreamError) return { error: { source: err.source, message: err.message, code: err.code, status: err.status }, retryable: err.retryable };
  if (err instanceof AppError) return { error: { source: 'firebreak', message: err.message, code: err.code, status: err.status }, retryable: err.status >= 500 };
  return { error: { source: 'firebreak', message: (err as Error)?.message ?? String(err), code: null, status: null }, retryable: true };
}

export class WorkflowRunner {
  constructor(private readonly deps: RunnerDeps) {}

  register(): void {
    this.deps.jobs.define<{ runId: string }>(RUN_JOB, ({ runId }, ctx) => this.advance(runId, ctx), { maxAttempts: RUN_MAX_ATTEMPTS });
  }

  private async finish(runId: string, record: RunRecord, status: 'succeeded' | 'failed' | 'skipped', patch: Partial<RunRecord> = {}): Promise<void> {
    await this.deps.db
      .updateTable('workflow_runs')
      .set({ status, record: JSON.stringify({ ...record, ...patch }), finished_at: nowIso() })
      .where('id', '=', runId)
      .where('status', 'in', ['waiting', 'running'])
      .execute();
  }

  /** Does what is left of a run. */
  async advance(runId: string, job: Pick<JobContext, 'attempt' | 'maxAttempts'>): Promise<void> {
    const { db } = this.deps;
    const run = await db.selectFrom('workflow_runs').selectAll().where('id', '=', runId).executeTakeFirst();
    if (!run || !run.incident_id || (run.status !== 'waiting' && run.status !== 'running')) return;
    const record = JSON.parse(run.record) as RunRecord;
    const def = record.definition;
    const a = record.trigger.actor;
    const triggerActor: Actor = { kind: a.kind, userId: a.user_id, ref: a.ref };
    const inputs = record.inputs ?? undefined;
    const load = () => createEvaluator(this.deps, run.incident_id!, triggerActor, inputs);
    let ev: Evaluator = await load();

    if (run.status === 'waiting') {
      const { matched, results } = await ev.conditions(def);
      if (!matched) {
        await this.finish(runId, record, 'skipped', { conditions_after_delay: results, skip_reason: `Conditions no longer hold after the ${def.delay_minutes}-minute delay: ${failing(results)}.` });
        return;
      }
      record.conditions_after_delay = results;
      await db.updateTable('workflow_runs').set({ status: 'running', started_at: nowIso(), record: JSON.stringify(record) }).where('id', '=', runId).where('status', '=', 'waiting').execute();
    }

    let rows = await this.stepRows(runId);
    if (rows.length === 0) {
      let items: unknown[] | null;
      try {
        items = await ev.items(def);
      } catch (err) {
        await this.finish(runId, record, 'failed', { error: toRunError(err).error });
        return;
      }
      if (items && items.length > MAX_FOR_EACH) {
        await this.finish(runId, record, 'failed', { items, error: { source: 'firebreak', message: `for_each gave ${items.length} items; a run takes at most ${MAX_FOR_EACH}.`, code: 'too_many_items' } });
        return;
      }
      record.items = items;
      const itemIndexes = items ? items.map((_, i) => i) : [-1];
      const values = itemIndexes.flatMap((itemIndex) =>
        def.steps.map((s, stepIndex) => ({ id: newId(), run_id: runId, step_id: s.id, step_index: stepIndex, item_index: itemIndex, type: s.type, status: 'pending', inputs: '{}', outputs: null, error: null, attempts: 0, started_at: null, finished_at: null, duration_ms: null })),
      );
      await db.transaction().execute(async (tx) => {
        if (values.length) await tx.insertInto('workflow_run_steps').values(values).onConflict((oc) => oc.doNothing()).execute();
        await tx.updateTable('workflow_runs').set({ record: JSON.stringify(record) }).where('id', '=', runId).execute();
      });
      rows = await this.stepRows(runId);
    }

    const actor: Actor = { kind: 'workflow', ref: `workflow:${run.workflow_id}:${run.id}` };
    let changedIncident = false;
    for (const [n, row] of rows.entries()) {
      if (row.status !== 'pending' && row.status !== 'running') continue;
      const step = def.steps[row.step_index]!;
      const kind = stepKinds[step.type] as (typeof stepKinds)['escalate'];
      const itemIndex = row.item_index < 0 ? null : row.item_index;
      if (changedIncident) {
        ev = await load(); // a step changed the incident: later steps see it as it is now
        changedIncident = false;
      }
      const started = Date.now();
      let inputs: Record<string, unknown> = {};
      let outputs: Record<string, unknown>;
      try {
        const resolved = await kind.resolve(step as never, ev.resolveContext(def, { id: runId, workflowId: run.workflow_id, workflowName: record.workflow_name }, itemIndex));
        inputs = resolved.inputs;
        // Claimed (and committed) before it acts.
        const claimed = await db
          .updateTable('workflow_run_steps')
          .set((eb) => ({ status: 'running', attempts: eb('attempts', '+', 1), inputs: JSON.stringify({ ...inputs, would: resolved.would }), started_at: row.started_at ?? nowIso(), error: null }))
          .where('id', '=', row.id)
          .where('status', 'in', ['pending', 'running'])
          .returning('id')
          .executeTakeFirst();
        if (!claimed) continue;
        await this.deps.faults?.afterClaim?.(runId, row.step_index, row.item_index);
        outputs = await kind.execute(inputs, {
          incidentId: run.incident_id,
          actor,
          idempotencyKey: idempotencyKey(runId, row.step_index, row.item_index),
          workflowId: run.workflow_id,
          runId,
          escalation: this.deps.escalation(),
          slack: this.deps.slack(),
          incidents: this.deps.incidents,
          secret: () => this.deps.secretFor(run.workflow_id),
        });
        await this.deps.faults?.afterExecute?.(runId, row.step_index, row.item_index);
      } catch (err) {
        const { error, retryable } = toRunError(err);
        const finalAttempt = job.attempt >= job.maxAttempts;
        if (retryable && !finalAttempt) {
          await db.updateTable('workflow_run_steps').set({ error: JSON.stringify(error) }).where('id', '=', row.id).execute();
          throw err; // the job retries with backoff; the row stays claimed
        }
        await db
          .updateTable('workflow_run_steps')
          .set({ status: 'failed', error: JSON.stringify(error), finished_at: nowIso(), duration_ms: Date.now() - started })
          .where('id', '=', row.id)
          .execute();
        if (step.continue_on_error) continue;
        const later = rows.slice(n + 1).filter((r) => r.status === 'pending' || r.status === 'running').map((r) => r.id);
        if (later.length) await db.updateTable('workflow_run_steps').set({ status: 'skipped' }).where('id', 'in', later).execute();
        await this.finish(runId, record, 'failed', { error: { ...error, message: `Step ${row.step_index + 1} (${step.name ?? step.id}) failed: ${error.message}` } });
        return;
      }
      await db.updateTable('workflow_run_steps').set({ status: 'succeeded', outputs: JSON.stringify(outputs), finished_at: nowIso(), duration_ms: Date.now() - started }).where('id', '=', row.id).execute();
      if (step.type === 'set_severity' || step.type === 'set_lead' || step.type === 'set_custom_field') changedIncident = true;
    }
    await this.finish(runId, record, 'succeeded');
  }

  private stepRows(runId: string) {
    return this.deps.db.selectFrom('workflow_run_steps').selectAll().where('run_id', '=', runId).orderBy('item_index').orderBy('step_index').execute();
  }
}
