import type { ExpressionsModule } from '../expressions/index.js';
import type { IncidentsService } from '../incidents/incidents.service.js';
import type { SecretBox } from '../platform/crypto/secrets.js';
import type { Db, Executor } from '../platform/db/index.js';
import { NotFoundError } from '../platform/errors.js';
import type { EventBus } from '../platform/events.js';
import type { App } from '../platform/http/server.js';
import type { JobQueue } from '../platform/jobs/types.js';
import type { Logger } from '../platform/logger.js';
import { WorkflowEngine, type ActiveWorkflow } from './engine.js';
import type { WorkflowDefinition } from './model.js';
import type { WorkflowEscalationPort, WorkflowSlackPort, WorkflowTriggerPort, WorkflowsPort } from './ports.js';
import { previewWorkflow, type PreviewResult } from './preview.js';
import { WorkflowRunner, type RunnerDeps } from './runner.js';
import { WorkflowRuns } from './runs.js';
import { registerRunRoutes } from './runs.routes.js';

// Running workflows, wired in one place: the engine (triggers → runs), the runner (steps as durable jobs), run
// history, preview and the routes. The ports to PagerDuty and Slack are passed in (app.ts), as functions so a test
// can swap one. Call before jobs start.

export interface WorkflowEngineDeps {
  db: Db;
  jobs: JobQueue;
  events: EventBus;
  logger: Logger;
  http: App;
  expressions: ExpressionsModule;
  incidents: IncidentsService;
  secrets: SecretBox;
  escalation: () => WorkflowEscalationPort | null;
  slack: () => WorkflowSlackPort | null;
  /** WF-DEF's store when present: active workflows, and a workflow's decrypted HTTP secret. */
  listActive?: (db: Executor) => Promise<ActiveWorkflow[]>;
  secretFor?: (workflowId: string) => Promise<string | null>;
}

export interface WorkflowsEngineModule {
  engine: WorkflowEngine;
  runner: WorkflowRunner;
  runs: WorkflowRuns;
  /** Manual runs (routes, Slack). */
  port: WorkflowsPort;
  /** What the PagerDuty wing fires. */
  triggers: WorkflowTriggerPort;
  preview(input: { workflowId: string | null; definition: WorkflowDefinition; incident: string; inputs?: Record<string, unknown> }): Promise<PreviewResult>;
  /** A stored workflow by id or key (any state). */
  workflow(idOrKey: string): Promise<ActiveWorkflow & { state: string }>;
  /** Tests: crash points. */
  faults: NonNullable<RunnerDeps['faults']>;
}

export function setupWorkflowEngine(deps: WorkflowEngineDeps): WorkflowsEngineModule {
  const logger = deps.logger.child({ module: 'workflows' });
  const secretFor =
    deps.secretFor ??
    (async (workflowId: string) => {
      const row = await deps.db.selectFrom('workflows').select('secret').where('id', '=', workflowId).executeTakeFirst();
      return row?.secret ? deps.secrets.decrypt(row.secret, 'workflow.http_secret') : null;
    });
  const base = { db: deps.db, expressions: deps.expressions, incidents: deps.incidents, escalation: deps.escalation, slack: deps.slack };
  const engine = new WorkflowEngine({ ...base, jobs: deps.jobs, logger, listActive: deps.listActive });
  const faults: NonNullable<RunnerDeps['faults']> = {};
  const runner = new WorkflowRunner({ ...base, jobs: deps.jobs, logger, secretFor, faults });
  const runs = new WorkflowRuns({ db: deps.db, incidents: deps.incidents });
  engine.register(deps.events);
  runner.register();

  async function workflow(idOrKey: string) {
    const row = await deps.db
      .selectFrom('workflows')
      .select(['id', 'key', 'name', 'version', 'definition', 'state'])
      .where((eb) => eb.or([eb('id', '=', idOrKey), eb('key', '=', idOrKey)]))
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (!row) throw new NotFoundError('Workflow', idOrKey);
    return { id: row.id, key: row.key, name: row.name, version: Number(row.version), state: row.state, definition: JSON.parse(row.definition) as WorkflowDefinition };
  }

  const port: WorkflowsPort = {
    manualWorkflows: (incidentId) => engine.manualWorkflows(incidentId),
    runManual: (workflowId, incident, inputs, actor) => engine.runManual(workflowId, incident, inputs, actor, (id) => runs.get(id)),
  };
  const module: WorkflowsEngineModule = {
    engine,
    runner,
    runs,
    port,
    triggers: engine.triggerPort,
    preview: (input) => previewWorkflow(base, input),
    workflow,
    faults,
  };
  registerRunRoutes(deps.http, { module });
  return module;
}
