import { createEvaluator, failing, type EvaluatorDeps } from './evaluate.js';
import type { ConditionResult, RunError, StepType, WorkflowDefinition } from './model.js';
import { toRunError } from './runner.js';
import { stepKinds } from './steps/index.js';

// Preview: what a workflow (saved or being edited) would do to a real incident, through the same evaluation and
// the same step `resolve` as runs, without executing anything. Nothing is sent, nothing is written.

export interface PreviewResult {
  matched: boolean;
  skip_reason: string | null;
  conditions: ConditionResult[];
  items: unknown[] | null;
  steps: { step_id: string; index: number; item_index: number | null; type: StepType; inputs: Record<string, unknown>; would: string; error: RunError | null }[];
}

export async function previewWorkflow(
  deps: EvaluatorDeps,
  input: { workflowId: string | null; definition: WorkflowDefinition; incident: string; inputs?: Record<string, unknown> },
): Promise<PreviewResult> {
  const incidentId = await deps.incidents.findIncidentId(input.incident);
  const def = input.definition;
  const ev = await createEvaluator(deps, incidentId, undefined, def.trigger.type === 'manual' ? (input.inputs ?? {}) : undefined);
  const { matched, results } = await ev.conditions(def);
  let skip: string | null = matched ? null : `Its conditions do not hold: ${failing(results)}.`;
  if (def.test_mode && ev.ctx.incident.mode !== 'test') skip = `It is in test mode and ${ev.ctx.incident.reference} is not a test incident.`;
  let items: unknown[] | null = null;
  const steps: PreviewResult['steps'] = [];
  try {
    items = await ev.items(def);
  } catch (err) {
    return { matched, skip_reason: skip, conditions: results, items: null, steps: [{ step_id: def.steps[0]!.id, index: 0, item_index: null, type: def.steps[0]!.type, inputs: {}, would: 'Nothing: the for-each list could not be computed', error: toRunError(err).error }] };
  }
  const itemIndexes = items ? items.map((_, i) => i) : [null];
  for (const itemIndex of itemIndexes) {
    for (const [index, step] of def.steps.entries()) {
      const kind = stepKinds[step.type] as (typeof stepKinds)['escalate'];
      try {
        const r = await kind.resolve(step as never, ev.resolveContext(def, { id: null, workflowId: input.workflowId ?? '', workflowName: def.name }, itemIndex));
        steps.push({ step_id: step.id, index, item_index: itemIndex, type: step.type, inputs: r.inputs, would: r.would, error: null });
      } catch (err) {
        steps.push({ step_id: step.id, index, item_index: itemIndex, type: step.type, inputs: {}, would: 'Nothing: this step cannot be resolved for this incident', error: toRunError(err).error });
      }
    }
  }
  return { matched: matched && !skip, skip_reason: skip, conditions: results, items, steps };
}
