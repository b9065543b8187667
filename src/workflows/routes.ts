import { z } from 'zod';
import type { App } from '../platform/http/server.js';
import { actorOf, requireAccess } from '../users/auth.js';
import { applyWorkflowDocuments, exportWorkflow, exportWorkflows, joinDocuments } from './as-code.js';
import { parseDefinition } from './check.js';
import { workflowDefinitionSchema, workflowStates, type Workflow } from './model.js';
import type { WorkflowsService } from './service.js';

// REST API for workflow definitions: /api/v1/workflows (read to list, check and export; admin to change).
// Runs, preview and manual runs are the engine's routes (runs.routes.ts).

const workflowJson = workflowDefinitionSchema.extend({
  id: z.string(),
  state: z.enum(workflowStates),
  version: z.number(),
  created_at: z.string(),
  updated_at: z.string(),
  created_by: z.string().nullable(),
  last_run_at: z.string().nullable(),
  has_secret: z.boolean(),
});
const idParams = z.strictObject({ id: z.string().trim().min(1).max(100) });
const withSecret = workflowJson.extend({ secret: z.string().optional().describe('The HTTP signing secret: shown once, when it is made') });
const planJson = z.object({
  plan: z.array(z.object({ key: z.string(), name: z.string(), action: z.enum(['create', 'update', 'unchanged', 'delete']), changes: z.array(z.string()) })),
  applied: z.boolean(),
});
const auditJson = z.object({
  entries: z.array(z.object({ action: z.string(), actor: z.object({ kind: z.string(), name: z.string().nullable() }), at: z.string(), before: z.unknown(), after: z.unknown() })),
});

export function registerWorkflowRoutes(app: App, deps: { workflows: WorkflowsService }): void {
  const svc = deps.workflows;
  const read = requireAccess('read');
  const admin = requireAccess('admin');
  const tags = ['workflows'];
  // The definition is documented by its schema; when it does not parse, the answer is 400 invalid_workflow naming
  // the part (parseDefinition), like the YAML files and the check route.
  const definitionBody = { body: workflowDefinitionSchema } as const;
  const withSecretJson = (w: Workflow, secret: string | null) => (secret ? { ...w, secret } : w);

  app.get('/api/v1/workflows', { onRequest: read, schema: { tags, summary: 'Workflows (with state, trigger and last run), by name', response: { 200: z.object({ workflows: z.array(workflowJson) }) } } }, async () => ({
    workflows: await svc.list(),
  }));

  app.post(
    '/api/v1/workflows/check',
    { onRequest: read, attachValidation: true, schema: { tags, summary: 'Check a definition as saving it would (nothing is written): 400 invalid_workflow names the part', body: workflowDefinitionSchema, response: { 200: z.object({ ok: z.literal(true) }) } } },
    async (req) => {
      await svc.check(req.validationError ? parseDefinition(req.body) : req.body);
      return { ok: true as const };
    },
  );

  app.get(
    '/api/v1/workflows/export',
    { onRequest: read, schema: { tags, summary: 'Every workflow as YAML, one document each (application/yaml)', response: { 200: z.string().describe('YAML documents') } } },
    async (_req, reply) => reply.type('application/yaml; charset=utf-8').send(joinDocuments((await exportWorkflows(svc)).map((d) => d.text))),
  );

  app.post(
    '/api/v1/workflows/apply',
    {
      onRequest: admin,
      schema: {
        tags,
        summary: 'Apply YAML documents (one per workflow): the plan, written in one transaction unless dry_run; prune deletes workflows not in the documents',
        body: z.strictObject({ document: z.string().max(2_000_000), dry_run: z.boolean().optional(), prune: z.boolean().optional() }),
        response: { 200: planJson },
      },
    },
    async (req) => applyWorkflowDocuments(svc, [{ name: 'document', text: req.body.document }], { dryRun: req.body.dry_run ?? false, prune: req.body.prune ?? false, actor: actorOf(req.principal!) }),
  );

  app.post(
    '/api/v1/workflows',
    { onRequest: admin, attachValidation: true, schema: { tags, summary: 'Create a workflow (checked; a draft unless state says otherwise). With an HTTP step its signing secret is in the answer, once', body: definitionBody.body, response: { 201: withSecret } } },
    async (req, reply) => {
      const { workflow, secret } = await svc.create(req.validationError ? parseDefinition(req.body) : req.body, actorOf(req.principal!));
      return reply.status(201).send(withSecretJson(workflow, secret));
    },
  );

  app.get('/api/v1/workflows/:id', { onRequest: read, schema: { tags, summary: 'A workflow by id or key', params: idParams, response: { 200: workflowJson } } }, async (req) => svc.get(req.params.id));

  app.put(
    '/api/v1/workflows/:id',
    { onRequest: admin, attachValidation: true, schema: { tags, summary: 'Replace a workflow definition (checked; version + 1)', params: idParams, body: definitionBody.body, response: { 200: withSecret } } },
    async (req) => {
      const { workflow, secret } = await svc.update(req.params.id, req.validationError ? parseDefinition(req.body) : req.body, actorOf(req.principal!));
      return withSecretJson(workflow, secret);
    },
  );

  app.post(
    '/api/v1/workflows/:id/state',
    {
      onRequest: admin,
      schema: {
        tags,
        summary: 'Activate, disable or return a workflow to draft; apply_to_existing on activation also runs it on open incidents',
        params: idParams,
        body: z.strictObject({ state: z.enum(workflowStates), apply_to_existing: z.boolean().optional() }),
        response: { 200: workflowJson },
      },
    },
    async (req) => svc.setState(req.params.id, req.body.state, { applyToExisting: req.body.apply_to_existing }, actorOf(req.principal!)),
  );

  app.delete('/api/v1/workflows/:id', { onRequest: admin, schema: { tags, summary: 'Delete a workflow (its runs stay)', params: idParams } }, async (req, reply) => {
    await svc.delete(req.params.id, actorOf(req.principal!));
    return reply.status(204).send();
  });

  app.post(
    '/api/v1/workflows/:id/secret',
    { onRequest: admin, schema: { tags, summary: 'Make a new HTTP signing secret (the old one stops working); shown once', params: idParams, response: { 200: z.object({ secret: z.string() }) } } },
    async (req) => ({ secret: await svc.rotateSecret(req.params.id, actorOf(req.principal!)) }),
  );

  app.get(
    '/api/v1/workflows/:id/export',
    { onRequest: read, schema: { tags, summary: 'A workflow as YAML (application/yaml)', params: idParams, response: { 200: z.string().describe('A YAML document') } } },
    async (req, reply) => reply.type('application/yaml; charset=utf-8').send((await exportWorkflow(svc, req.params.id)).text),
  );

  app.get(
    '/api/v1/workflows/:id/audit',
    { onRequest: read, schema: { tags, summary: 'Who created, changed, enabled, disabled or deleted the workflow, with the definition before and after', params: idParams, response: { 200: auditJson } } },
    async (req) => ({ entries: await svc.audit(req.params.id) }),
  );
}
