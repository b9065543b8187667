import { z } from 'zod';
import type { App } from '../platform/http/server.js';
import { actorOf, requireAccess } from '../users/auth.js';
import { workflowDefinitionSchema, type WorkflowDefinition } from './model.js';
import { NotFoundError } from '../platform/errors.js';
import type { ActiveWorkflow } from './engine.js';
import type { WorkflowsPort } from './ports.js';
import type { PreviewResult } from './preview.js';
import type { WorkflowRuns } from './runs.js';

// REST for running workflows: preview (reading is enough: nothing is sent), run history per workflow and per
// incident (with why the others did not run), and manual runs (write: it acts on the incident).

const runErrorJson = z.object({ source: z.enum(['firebreak', 'pagerduty', 'slack', 'http']), message: z.string(), code: z.union([z.string(), z.number()]).nullable().optional(), status: z.number().nullable().optional() });
const conditionJson = z.object({ group: z.number(), index: z.number(), expression: z.string(), words: z.string(), value: z.unknown(), result: z.boolean(), error: z.string().nullable() });
const stepJson = z.object({
  step_id: z.string(),
  index: z.number(),
  item_index: z.number().nullable(),
  type: z.string(),
  status: z.enum(['pending', 'running', 'succeeded', 'failed', 'skipped']),
  inputs: z.record(z.string(), z.unknown()),
  outputs: z.record(z.string(), z.unknown()).nullable(),
  error: runErrorJson.nullable(),
  attempts: z.number(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  duration_ms: z.number().nullable(),
});
export const runJson = z.object({
  id: z.string(),
  workflow_id: z.string(),
  workflow_key: z.string(),
  workflow_name: z.string(),
  workflow_version: z.number(),
  incident_id: z.string().nullable(),
  incident_reference: z.string().nullable(),
  trigger: z.object({ type: z.string(), event_id: z.string().nullable(), actor: z.object({ kind: z.string(), name: z.string().nullable() }), data: z.record(z.string(), z.unknown()) }),
  depth: z.number(),
  status: z.enum(['waiting', 'running', 'succeeded', 'failed', 'skipped']),
  incident_snapshot: z.record(z.string(), z.unknown()).nullable(),
  conditions: z.array(conditionJson),
  skip_reason: z.string().nullable(),
  error: runErrorJson.nullable(),
  items: z.array(z.unknown()).nullable(),
  steps: z.array(stepJson),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
});
const evaluationJson = z.object({
  id: z.string(),
  incident_id: z.string(),
  trigger_type: z.string(),
  event_id: z.string().nullable(),
  evaluated_at: z.string(),
  skipped: z.array(z.object({ workflow_id: z.string(), workflow_name: z.string(), reason: z.string(), message: z.string(), conditions: z.array(conditionJson) })),
  run_ids: z.array(z.string()),
});
const formFieldJson = z.object({ key: z.string(), label: z.string(), type: z.enum(['text', 'number', 'select']), options: z.array(z.string()).optional(), required: z.boolean().optional() });
const inputsJson = z.record(z.string().max(63), z.union([z.string().max(2000), z.number(), z.boolean(), z.null()])).refine((r) => Object.keys(r).length <= 20, 'at most 20 form values');
// Ids and references: trimmed, 1 to 64 characters (like every id parameter of the API).
const idParam = z.string().trim().min(1).max(64);

/** What the run routes use of the engine (setup.ts passes the engine module). */
export interface RunRoutesEngine {
  port: WorkflowsPort;
  runs: Pick<WorkflowRuns, 'get' | 'listForIncident' | 'listForWorkflow'>;
  preview(input: { workflowId: string | null; definition: WorkflowDefinition; incident: string; inputs?: Record<string, unknown> }): Promise<PreviewResult>;
  workflow(idOrKey: string): Promise<ActiveWorkflow & { state: string }>;
}

export function registerRunRoutes(app: App, deps: { module: RunRoutesEngine }): void {
  const m = deps.module;
  const read = requireAccess('read');
  const write = requireAccess('write');
  const tags = ['workflows'];

  app.post(
    '/api/v1/workflows/preview',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'What a workflow (saved, or a definition being edited) would do to a real incident; nothing is sent',
        body: z.strictObject({ workflow_id: idParam.optional(), definition: workflowDefinitionSchema.optional(), incident: z.string().min(1).max(100), inputs: inputsJson.optional() }),
        response: {
          200: z.object({
            matched: z.boolean(),
            skip_reason: z.string().nullable(),
            conditions: z.array(conditionJson),
            items: z.array(z.unknown()).nullable(),
            steps: z.array(z.object({ step_id: z.string(), index: z.number(), item_index: z.number().nullable(), type: z.string(), inputs: z.record(z.string(), z.unknown()), would: z.string(), error: runErrorJson.nullable() })),
          }),
        },
      },
    },
    async (req) => {
      const b = req.body;
      let definition: WorkflowDefinition | undefined = b.definition;
      let workflowId: string | null = null;
      if (!definition) {
        if (!b.workflow_id) throw new NotFoundError('Workflow', '(give workflow_id or definition)');
        const wf = await m.workflow(b.workflow_id);
        definition = wf.definition;
        workflowId = wf.id;
      }
      return m.preview({ workflowId, definition, incident: b.incident, inputs: b.inputs });
    },
  );

  app.get(
    '/api/v1/workflows/:id/runs',
    { onRequest: read, schema: { tags, summary: "A workflow's runs, newest first", params: z.strictObject({ id: idParam }), querystring: z.strictObject({ cursor: z.string().max(100).optional() }), response: { 200: z.object({ runs: z.array(runJson), next_cursor: z.string().nullable() }) } } },
    async (req) => {
      const wf = await m.workflow(req.params.id);
      return m.runs.listForWorkflow(wf.id, req.query.cursor ?? null);
    },
  );

  app.get('/api/v1/workflow_runs/:id', { onRequest: read, schema: { tags, summary: 'One run, step by step', params: z.strictObject({ id: idParam }), response: { 200: runJson } } }, async (req) => m.runs.get(req.params.id));

  app.get(
    '/api/v1/incidents/:id/workflow_runs',
    { onRequest: read, schema: { tags, summary: "Workflow runs on an incident, and why other workflows did not run", params: z.strictObject({ id: idParam }), response: { 200: z.object({ runs: z.array(runJson), evaluations: z.array(evaluationJson) }) } } },
    async (req) => m.runs.listForIncident(req.params.id),
  );

  app.get(
    '/api/v1/incidents/:id/workflows/manual',
    { onRequest: read, schema: { tags, summary: 'Workflows that can be run by hand on this incident', params: z.strictObject({ id: idParam }), response: { 200: z.object({ workflows: z.array(z.object({ id: z.string(), name: z.string(), description: z.string().nullable(), form: z.array(formFieldJson) })) }) } } },
    async (req) => ({ workflows: await m.port.manualWorkflows(req.params.id) }),
  );

  app.post(
    '/api/v1/incidents/:id/workflows/:workflow_id/run',
    { onRequest: write, schema: { tags, summary: 'Run a manual workflow on this incident now', params: z.strictObject({ id: idParam, workflow_id: idParam }), body: z.strictObject({ inputs: inputsJson.optional() }), response: { 202: z.object({ run: runJson }) } } },
    async (req, reply) => {
      const run = await m.port.runManual(req.params.workflow_id, req.params.id, req.body?.inputs ?? {}, actorOf(req.principal!));
      return reply.status(202).send({ run });
    },
  );
}
