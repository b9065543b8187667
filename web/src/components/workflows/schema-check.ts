// Compile-time guard: the pages type workflow answers with the server's model (src/workflows/model.ts), which is
// more precise than the generated OpenAPI types (unions where those say string). Where the two describe the same
// thing, the generated shape must still fit the model, so a route that drifts from the model fails the typecheck.
// (Runs, preview and audit answers are generated with plain strings for their kinds, so they are not checked here.)
import type { Body, Ok } from '../../api/operations.js';
import type { ManualWorkflow, Workflow, WorkflowDefinition } from './api.js';

type Fits<A extends B, B> = A;
export type SchemaChecks = [
  Fits<Ok<'/api/v1/workflows', 'get'>, { workflows: Workflow[] }>,
  Fits<Ok<'/api/v1/workflows/{id}', 'get'>, Workflow>,
  Fits<Ok<'/api/v1/workflows/{id}/state', 'post'>, Workflow>,
  Fits<Ok<'/api/v1/incidents/{id}/workflows/manual', 'get'>, { workflows: ManualWorkflow[] }>,
  Fits<WorkflowDefinition, Body<'/api/v1/workflows', 'post'>>,
  Fits<WorkflowDefinition, Body<'/api/v1/workflows/check', 'post'>>,
];
