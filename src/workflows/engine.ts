import type { Db, Executor } from '../platform/db/index.js';
import { inTransaction } from '../platform/db/index.js';
import { NotFoundError, ValidationError } from '../platform/errors.js';
import type { Actor, DomainEvent, DomainEventType, EventBus } from '../platform/events.js';
import { newId, nowIso } from '../platform/ids.js';
import type { JobQueue } from '../platform/jobs/types.js';
import type { Logger } from '../platform/logger.js';
import { createEvaluator, failing, type EvaluatorDeps } from './evaluate.js';
import { MAX_CHAIN_DEPTH, type ConditionResult, type FormField, type RunError, type SkippedWorkflow, type TriggerType, type UpdateChange, type WorkflowDefinition, type WorkflowRun } from './model.js';
import type { WorkflowTriggerPort } from './ports.js';
import { RUN_JOB, runQueue } from './runner.js';
import './tables.js';

// Matching: every trigger (a domain event after its change committed, a PagerDuty trigger fired in the wing's
// transaction, a manual run) is evaluated against the active workflows of its type in a job. One expressions context
// per evaluation; for each workflow: trigger filter, test mode, own change / chain depth, conditions, dedupe. A match
// inserts a run (unique per workflow and trigger event, and per workflow and dedupe key: a redelivered trigger inserts
// nothing) and queues its first job in the same transaction; why the others did not run is one evaluation row.

export const EVALUATE_JOB = 'workflows.evaluate';
export const SUBSCRIBER = 'workflows';

export interface Trigger {
  type: TriggerType;
  incidentId: string;
  /** The domain event or PagerDuty trigger id (dedupes redeliveries); null for manual runs. */
  eventId: string | null;
  actor: Actor;
  data: Record<string, unknown>;
  /** incident.updated: what changed. */
  change?: UpdateChange;
  customFieldKey?: string;
}

export interface ActiveWorkflow {
  id: string;
  key: string;
  name: string;
  version: number;
  definition: WorkflowDefinition;
}

/** The workflow actor of a run: its changes carry it, so the engine knows who made them. */
export function workflowActor(workflowId: string, runId: string): Actor {
  return { kind: 'workflow', ref: `workflow:${workflowId}:${runId}` };
}

export function parseWorkflowActor(actor: Actor): { workflowId: string; runId: string } | null {
  if (actor.kind !== 'workflow') return null;
  const m = /^workflow:([^:]+):([^:]+)$/.exec(actor.ref ?? '');
  return m ? { workflowId: m[1]!, runId: m[2]! } : null;
}

/** Domain events → triggers (a status change from triage to active is also "triage accepted"). */
export function triggersOf(ev: DomainEvent): Trigger[] {
  if (!ev.incidentId) return [];
  const base = { incidentId: ev.incidentId, eventId: ev.id, actor: ev.actor, data: ev.data };
  switch (ev.type) {
    case 'incident.created':
      return [{ ...base, type: 'incident.declared' }];
    case 'incident.status_changed': {
      const out: Trigger[] = [{ ...base, type: 'incident.updated', change: 'status' }];
      if (ev.data.fromCategory === 'triage' && ev.data.toCategory === 'live') out.push({ ...base, type: 'incident.triage_accepted' });
      return out;
    }
    case 'incident.severity_changed':
      return [{ ...base, type: 'incident.updated', change: 'severity' }];
    case 'incident.lead_changed':
      return [{ ...base, type: 'incident.updated', change: 'lead' }];
    case 'incident.custom_field_changed':
      return [{ ...base, type: 'incident.updated', change: 'custom_field', customFieldKey: typeof ev.data.key === 'string' ? ev.data.key : undefined }];
    default:
      return [];
  }
}

const EVENT_TYPES: DomainEventType[] = ['incident.created', 'incident.status_changed', 'incident.severity_changed', 'incident.lead_changed', 'incident.custom_field_changed'];

export interface EngineDeps extends EvaluatorDeps {
  jobs: JobQueue;
  logger: Logger;
  /** Active workflows of a trigger type (WF-DEF's store when present; the table otherwise). */
  listActive?: (db: Executor) => Promise<ActiveWorkflow[]>;
}

export class WorkflowEngine {
  private cache: { version: string; all: Promise<ActiveWorkflow[]> } | null = null;
  private readonly depths = new Map<string, number>();

  constructor(private readonly deps: EngineDeps) {}

  /** Register the domain-event subscriber and the evaluation job (before jobs start). */
  register(events: EventBus): void {
    events.subscribe(SUBSCRIBER, EVENT_TYPES, async (ev) => {
      for (const t of triggersOf(ev)) await this.evaluate(t);
    });
    this.deps.jobs.define<Trigger>(EVALUATE_JOB, async (t) => {
      await this.evaluate(t);
    }, { maxAttempts: 8 });
  }

  /** The PagerDuty wing's port: queue the evaluation in the caller's transaction (an outbox). */
  readonly triggerPort: WorkflowTriggerPort = {
    fire: async (tx, t) => {
      const trigger: Trigger = { type: t.type, incidentId: t.incidentId, eventId: t.eventId, actor: { kind: 'integration', ref: 'pagerduty' }, data: t.data };
      await this.deps.jobs.enqueue(EVALUATE_JOB, trigger, { jobKey: `wf-eval:${t.type}:${t.eventId}`, queue: `ev:${SUBSCRIBER}:${t.incidentId}` }, tx);
    },
  };

  /** Cheap: what changes when any workflow is written (count and latest update). */
  private async version(): Promise<string> {
    const r = await this.deps.db
      .selectFrom('workflows')
      .select([(eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.max('updated_at').as('at')])
      .where('state', '=', 'active')
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return `${r?.n ?? 0}@${r?.at ?? ''}`;
  }

  /** Active workflows, cached per process until the version changes. */
  async active(type?: TriggerType): Promise<ActiveWorkflow[]> {
    const version = await this.version();
    if (this.cache?.version !== version) {
      const all = (this.deps.listActive ?? loadActive)(this.deps.db);
      this.cache = { version, all };
      all.catch(() => {
        if (this.cache?.all === all) this.cache = null;
      });
    }
    const all = await this.cache.all;
    return type ? all.filter((w) => w.definition.trigger.type === type) : all;
  }

  /** Chain depth of a change: 0 for people and integrations, the run's depth + 1 for a run's change. */
  private async depthOf(actor: Actor): Promise<number> {
    const wa = parseWorkflowActor(actor);
    if (!wa) return 0;
    let d = this.depths.get(wa.runId);
    if (d === undefined) {
      const row = await this.deps.db.selectFrom('workflow_runs').select('depth').where('id', '=', wa.runId).executeTakeFirst();
      d = Number(row?.depth ?? 0);
      if (this.depths.size > 10_000) this.depths.clear();
      this.depths.set(wa.runId, d);
    }
    return d + 1;
  }

  /** Evaluates one trigger against the active workflows of its type. */
  async evaluate(t: Trigger): Promise<{ runIds: string[]; skipped: SkippedWorkflow[] }> {
    const workflows = await this.active(t.type);
    if (workflows.length === 0) return { runIds: [], skipped: [] };
    const exists = await this.deps.db.selectFrom('incidents').select('id').where('id', '=', t.incidentId).executeTakeFirst();
    if (!exists) return { runIds: [], skipped: [] };
    if (t.eventId) {
      // A redelivered trigger that was evaluated already: nothing to do (the unique indexes would insert nothing anyway).
      const seen = await this.deps.db.selectFrom('workflow_evaluations').select('id').where('event_id', '=', t.eventId).where('trigger_type', '=', t.type).executeTakeFirst();
      if (seen) return { runIds: [], skipped: [] };
    }
    const ev = await createEvaluator(this.deps, t.incidentId, t.actor, undefined);
    const origin = parseWorkflowActor(t.actor);
    const depth = await this.depthOf(t.actor);
    const skipped: SkippedWorkflow[] = [];
    const runs: NewRun[] = [];
    let snapshot: Record<string, unknown> | null = null;
    for (const wf of workflows) {
      const def = wf.definition;
      const skip = (reason: SkippedWorkflow['reason'], message: string, conditions: ConditionResult[] = []) => skipped.push({ workflow_id: wf.id, workflow_name: wf.name, reason, message, conditions });
      const mismatch = triggerMismatch(def, t);
      if (mismatch) {
        skip('trigger_mismatch', mismatch);
        continue;
      }
      if (def.test_mode && ev.ctx.incident.mode !== 'test') {
        skip('test_mode', `It is in test mode and ${ev.ctx.incident.reference} is not a test incident.`);
        continue;
      }
      if (origin?.workflowId === wf.id) {
        skip('own_change', 'The change was made by this workflow itself.');
        continue;
      }
      let matched: boolean;
      let results: ConditionResult[];
      let dedupeKey: string | null = null;
      try {
        ({ matched, results } = await ev.conditions(def));
        if (matched) dedupeKey = await dedupeKeyOf(def, t.incidentId, ev.evaluate);
      } catch (err) {
        skip('evaluation_failed', `Evaluating it failed: ${(err as Error).message}`);
        continue;
      }
      if (!matched) {
        skip('conditions_not_met', `Its conditions do not hold: ${failing(results)}.`, results);
        continue;
      }
      if (dedupeKey) {
        const dup = await this.deps.db.selectFrom('workflow_runs').select('id').where('workflow_id', '=', wf.id).where('dedupe_key', '=', dedupeKey).executeTakeFirst();
        if (dup) {
          skip('deduplicated', def.dedupe?.mode === 'once_per_value' ? 'It already ran on this incident for this value.' : 'It already ran on this incident.', results);
          continue;
        }
      }
      snapshot ??= await ev.snapshot();
      const tooDeep = depth > MAX_CHAIN_DEPTH;
      runs.push({
        wf,
        trigger: t,
        depth,
        dedupeKey,
        conditions: results,
        snapshot,
        status: tooDeep ? 'failed' : def.delay_minutes ? 'waiting' : 'running',
        error: tooDeep ? { source: 'firebreak', message: `Stopped: this change comes from a chain of ${depth} workflow runs, and chains stop at ${MAX_CHAIN_DEPTH} (a workflow's change triggering another workflow, and so on).`, code: 'chain_too_deep' } : null,
      });
    }
    const runIds = await inTransaction(this.deps.db, async (tx) => {
      const ids: string[] = [];
      for (const r of runs) {
        const id = await insertRun(tx, this.deps.jobs, r);
        if (id) ids.push(id);
      }
      await tx
        .insertInto('workflow_evaluations')
        .values({ id: newId(), incident_id: t.incidentId, trigger_type: t.type, event_id: t.eventId, skipped: JSON.stringify(skipped), run_ids: JSON.stringify(ids), evaluated_at: nowIso() })
        .onConflict((oc) => oc.doNothing())
        .execute();
      return ids;
    });
    return { runIds, skipped };
  }

  /** Manual workflows for an incident (active, trigger manual; test-mode ones only on test incidents). */
  async manualWorkflows(incident: string): Promise<{ id: string; name: string; description: string | null; form: FormField[] }[]> {
    const inc = await this.deps.incidents.getIncident(incident);
    return (await this.active('manual'))
      .filter((w) => !w.definition.test_mode || inc.mode === 'test')
      .map((w) => ({ id: w.id, name: w.name, description: w.definition.description ?? null, form: w.definition.trigger.type === 'manual' ? (w.definition.trigger.form ?? []) : [] }));
  }

  /** Runs a manual workflow now (form values checked against its form). The run is recorded even when its conditions do not hold. */
  async runManual(workflowId: string, incident: string, rawInputs: Record<string, unknown>, actor: Actor, load: (id: string) => Promise<WorkflowRun>): Promise<WorkflowRun> {
    const wf = (await this.active('manual')).find((w) => w.id === workflowId || w.key === workflowId);
    if (!wf) throw new NotFoundError('Active manual workflow', workflowId);
    const inc = await this.deps.incidents.getIncident(incident);
    if (wf.definition.test_mode && inc.mode !== 'test') throw new ValidationError(`${wf.name} is in test mode: it runs only on test incidents, and ${inc.reference} is not one.`);
    const form = wf.definition.trigger.type === 'manual' ? (wf.definition.trigger.form ?? []) : [];
    const inputs = checkInputs(form, rawInputs);
    const ev = await createEvaluator(this.deps, inc.id, actor, inputs);
    const { matched, results } = await ev.conditions(wf.definition);
    const depth = await this.depthOf(actor);
    const run: NewRun = {
      wf,
      trigger: { type: 'manual', incidentId: inc.id, eventId: null, actor, data: { inputs } },
      depth,
      dedupeKey: null,
      conditions: results,
      snapshot: await ev.snapshot(),
      status: matched ? (wf.definition.delay_minutes ? 'waiting' : 'running') : 'skipped',
      skipReason: matched ? null : `Its conditions do not hold: ${failing(results)}.`,
      error: null,
      inputs,
    };
    const id = await inTransaction(this.deps.db, (tx) => insertRun(tx, this.deps.jobs, run));
    return load(id!);
  }

  /**
   * Activation with apply_to_existing: run the workflow (declared trigger) on every incident open now, as if each
   * had just been declared. One trigger id per workflow version and incident, so activating twice runs once.
   */
  async applyToExisting(workflowId: string): Promise<number> {
    const wf = (await this.active()).find((w) => w.id === workflowId);
    if (!wf || wf.definition.trigger.type !== 'incident.declared') return 0;
    const open = await this.deps.db
      .selectFrom('incidents as i')
      .innerJoin('incident_statuses as s', 's.id', 'i.status_id')
      .select('i.id')
      .where('s.category', 'in', ['triage', 'live'])
      .execute();
    for (const row of open) {
      await this.deps.jobs.enqueue(EVALUATE_JOB, { type: 'incident.declared', incidentId: row.id, eventId: `apply:${wf.id}:${wf.version}:${row.id}`, actor: { kind: 'system', ref: 'workflow.activation' }, data: { apply_to_existing: wf.id } } satisfies Trigger, { jobKey: `wf-apply:${wf.id}:${wf.version}:${row.id}` });
    }
    return open.length;
  }
}

/** Why a workflow's trigger does not fit this trigger (null when it does). */
function triggerMismatch(def: WorkflowDefinition, t: Trigger): string | null {
  const tr = def.trigger;
  if (tr.type !== t.type) return `It listens to ${tr.type}, not ${t.type}.`;
  if (tr.type === 'incident.updated' && t.change) {
    if (!tr.changes.includes(t.change)) return `It listens to changes of ${tr.changes.join(', ')}, and this was a ${t.change.replace('_', ' ')} change.`;
    if (t.change === 'custom_field' && tr.custom_field_keys?.length && t.customFieldKey && !tr.custom_field_keys.includes(t.customFieldKey)) {
      return `It listens to the custom fields ${tr.custom_field_keys.join(', ')}, and ${t.customFieldKey} changed.`;
    }
  }
  if (tr.type === 'pagerduty.escalation_target_changed') {
    const st = t.data.status as 'acknowledged' | 'resolved';
    if (!tr.statuses.includes(st)) return `It listens to targets ${tr.statuses.join(' or ')}, and this one was ${st}.`;
  }
  return null;
}

async function dedupeKeyOf(def: WorkflowDefinition, incidentId: string, evaluate: (s: string) => Promise<unknown>): Promise<string | null> {
  const d = def.dedupe;
  if (!d || d.mode === 'every_time') return null;
  if (d.mode === 'once_per_incident') return `incident:${incidentId}`;
  const v = await evaluate(d.expression);
  return `incident:${incidentId}:value:${JSON.stringify(v)}`.slice(0, 1000);
}

function checkInputs(form: FormField[], raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields: { path: string; message: string }[] = [];
  for (const key of Object.keys(raw)) if (!form.some((f) => f.key === key)) fields.push({ path: `inputs.${key}`, message: 'this workflow has no such form field' });
  for (const f of form) {
    const v = raw[f.key];
    if (v === undefined || v === null || v === '') {
      if (f.required) fields.push({ path: `inputs.${f.key}`, message: `${f.label} is required` });
      else out[f.key] = f.type === 'number' ? null : '';
      continue;
    }
    if (f.type === 'number') {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (!Number.isFinite(n)) fields.push({ path: `inputs.${f.key}`, message: `${f.label} must be a number` });
      else out[f.key] = n;
    } else if (typeof v !== 'string') {
      fields.push({ path: `inputs.${f.key}`, message: `${f.label} must be text` });
    } else if (f.type === 'select' && !(f.options ?? []).includes(v)) {
      fields.push({ path: `inputs.${f.key}`, message: `${f.label} must be one of ${(f.options ?? []).join(', ')}` });
    } else {
      out[f.key] = v.slice(0, 2000);
    }
  }
  if (fields.length) throw new ValidationError(`The form is not filled in as the workflow needs: ${fields.map((f) => f.message).join('; ')}.`, fields);
  return out;
}

interface NewRun {
  wf: ActiveWorkflow;
  trigger: Trigger;
  depth: number;
  dedupeKey: string | null;
  conditions: ConditionResult[];
  snapshot: Record<string, unknown>;
  status: 'waiting' | 'running' | 'failed' | 'skipped';
  error: RunError | null;
  skipReason?: string | null;
  inputs?: Record<string, unknown>;
}

/** Inserts the run and queues its first job in `tx`; null when the unique indexes say it exists already. */
async function insertRun(tx: Executor, jobs: JobQueue, r: NewRun): Promise<string | null> {
  const id = newId();
  const now = nowIso();
  const done = r.status === 'failed' || r.status === 'skipped';
  const actorName = r.trigger.actor.kind === 'user' ? null : (r.trigger.actor.ref ?? r.trigger.actor.kind);
  const record = {
    workflow_key: r.wf.key,
    workflow_name: r.wf.name,
    incident_reference: (r.snapshot.reference as string) ?? null,
    trigger: { type: r.trigger.type, event_id: r.trigger.eventId, actor: { kind: r.trigger.actor.kind, user_id: r.trigger.actor.userId ?? null, ref: actorName }, data: r.trigger.data },
    incident_snapshot: r.snapshot,
    conditions: r.conditions,
    skip_reason: r.skipReason ?? null,
    error: r.error,
    items: null,
    inputs: r.inputs ?? null,
    definition: r.wf.definition,
  };
  const row = await tx
    .insertInto('workflow_runs')
    .values({
      id,
      workflow_id: r.wf.id,
      workflow_version: r.wf.version,
      incident_id: r.trigger.incidentId,
      trigger_type: r.trigger.type,
      event_id: r.trigger.eventId,
      dedupe_key: r.dedupeKey,
      depth: r.depth,
      status: r.status,
      record: JSON.stringify(record),
      created_at: now,
      started_at: r.status === 'running' ? now : null,
      finished_at: done ? now : null,
    })
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!row) return null;
  if (!done) {
    const delayMs = r.status === 'waiting' ? (r.wf.definition.delay_minutes ?? 0) * 60_000 : 0;
    await jobs.enqueue(RUN_JOB, { runId: id }, { jobKey: `wf-run:${id}:start`, queue: runQueue(id), ...(delayMs ? { delayMs } : {}), priority: -2 }, tx);
  }
  return id;
}

/** The active workflows straight from the table (used until a store lists them). */
export async function loadActive(db: Executor): Promise<ActiveWorkflow[]> {
  const rows = await db.selectFrom('workflows').select(['id', 'key', 'name', 'version', 'definition']).where('state', '=', 'active').where('deleted_at', 'is', null).orderBy('id').execute();
  return rows.map((r) => ({ id: r.id, key: r.key, name: r.name, version: Number(r.version), definition: JSON.parse(r.definition) as WorkflowDefinition }));
}
