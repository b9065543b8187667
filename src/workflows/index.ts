import type { ExpressionsModule } from '../expressions/index.js';
import type { SecretBox } from '../platform/crypto/secrets.js';
import type { Db } from '../platform/db/index.js';
import type { App } from '../platform/http/server.js';
import { registerWorkflowRoutes } from './routes.js';
import { WorkflowsService } from './service.js';
import type { WorkflowStore } from './store.js';

// Workflows (docs/workflows.md): definitions (this module: check, store, service, routes, as code) and, wired by
// the engine's setup, their runs.

export { checkWorkflow, parseDefinition, WorkflowError } from './check.js';
export { WorkflowNotFoundError, WorkflowsService, SECRET_PURPOSE, type Activation } from './service.js';
export { WorkflowStore } from './store.js';

export interface WorkflowsModule {
  service: WorkflowsService;
  store: WorkflowStore;
}

export function createWorkflows(deps: { db: Db; secrets: SecretBox; expressions: ExpressionsModule }): WorkflowsModule {
  const service = new WorkflowsService({ db: deps.db, secrets: deps.secrets, check: { expressions: deps.expressions } });
  return { service, store: service.store };
}

/** The definitions' REST API (after authentication is registered). */
export function setupWorkflowRoutes(http: App, module: WorkflowsModule): void {
  registerWorkflowRoutes(http, { workflows: module.service });
}
