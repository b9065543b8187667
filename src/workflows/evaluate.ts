import type { CompiledExpression, EvaluationContext, ExpressionsModule } from '../expressions/index.js';
import type { IncidentsService } from '../incidents/incidents.service.js';
import type { Db } from '../platform/db/index.js';
import type { Actor } from '../platform/events.js';
import { withBindings } from './bindings.js';
import { conditionExpression, describeCondition, subjectExpression } from './conditions.js';
import type { ConditionResult, WorkflowDefinition } from './model.js';
import type { ResolveContext } from './steps/types.js';
import { parseTemplate, renderValue } from './template.js';
import type { WorkflowEscalationPort, WorkflowSlackPort } from './ports.js';

// One evaluation of workflows against one incident: one expressions context (loaded once), conditions with each
// subject's value recorded, for-each items, and the context steps resolve against. The engine (matching), the
// runner (re-check after a delay, steps) and preview all use this, so they cannot disagree.

export interface EvaluatorDeps {
  db: Db;
  expressions: ExpressionsModule;
  incidents: IncidentsService;
  escalation: () => WorkflowEscalationPort | null;
  slack: () => WorkflowSlackPort | null;
}

export interface Evaluator {
  ctx: EvaluationContext;
  /** Evaluates with `inputs` (manual form) and, when given, `item` bound. JSON out. */
  evaluate(source: string, item?: { forEach: string; index: number }): Promise<unknown>;
  conditions(def: WorkflowDefinition): Promise<{ matched: boolean; results: ConditionResult[] }>;
  items(def: WorkflowDefinition): Promise<unknown[] | null>;
  resolveContext(def: WorkflowDefinition, run: { id: string | null; workflowId: string; workflowName: string }, itemIndex: number | null): ResolveContext;
  snapshot(): Promise<Record<string, unknown>>;
}

/**
 * Compiled expressions per process, by the schema version of the context and the source. The expressions module
 * checks the schema version (a few queries) on every compile; an evaluation compiles each condition of every active
 * workflow, so it asks once per context instead (the context was loaded under that version).
 */
const compiledCache = new Map<string, CompiledExpression>();
const CACHE_MAX = 5000;

async function compileFor(expressions: ExpressionsModule, ctx: EvaluationContext, source: string): Promise<CompiledExpression> {
  const key = `${ctx.version}\u0000${source}`;
  const hit = compiledCache.get(key);
  if (hit) return hit;
  const c = await expressions.compile(source);
  if (compiledCache.size >= CACHE_MAX) compiledCache.delete(compiledCache.keys().next().value!);
  compiledCache.set(key, c);
  return c;
}

export async function createEvaluator(deps: EvaluatorDeps, incidentId: string, actor: Actor | undefined, inputs: Record<string, unknown> | undefined): Promise<Evaluator> {
  const ctx = await deps.expressions.contextFor(incidentId, actor);
  const bind = (source: string, item?: { forEach: string; index: number }) =>
    withBindings(source, { ...(item ? { forEach: item.forEach, itemIndex: item.index } : {}), ...(inputs ? { inputs } : {}) }).source;

  async function evaluate(source: string, item?: { forEach: string; index: number }): Promise<unknown> {
    const compiled = await compileFor(deps.expressions, ctx, bind(source, item));
    return deps.expressions.evaluate(compiled, ctx).value;
  }

  const severities = ctx.severities.map((s) => ({ name: s.name, rank: s.rank }));

  async function conditions(def: WorkflowDefinition): Promise<{ matched: boolean; results: ConditionResult[] }> {
    const results: ConditionResult[] = [];
    const groups = def.conditions ?? [];
    let matched = groups.length === 0;
    for (const [gi, g] of groups.entries()) {
      let all = true;
      for (const [ci, c] of g.all.entries()) {
        const subject = subjectExpression(c);
        let expression = 'subject' in c ? '' : c.expression;
        let value: unknown = null;
        let result = false;
        let error: string | null = null;
        try {
          let subjectType: string | undefined;
          if (subject) {
            const compiled = await compileFor(deps.expressions, ctx, bind(subject));
            subjectType = compiled.type;
            value = deps.expressions.evaluate(compiled, ctx).value;
          }
          expression = conditionExpression(c, { severities, subjectType });
          result = (await evaluate(expression)) === true;
        } catch (err) {
          error = (err as Error).message;
        }
        results.push({ group: gi, index: ci, expression, words: describeCondition(c), value, result, error });
        if (!result) all = false;
      }
      if (all) matched = true;
    }
    return { matched, results };
  }

  async function items(def: WorkflowDefinition): Promise<unknown[] | null> {
    if (!def.for_each) return null;
    const v = await evaluate(def.for_each);
    if (!Array.isArray(v)) throw new Error(`for_each must give a list, got ${v === null ? 'nothing' : typeof v}`);
    return v;
  }

  async function render(template: string, item?: { forEach: string; index: number }): Promise<string> {
    let out = '';
    for (const part of parseTemplate(template)) out += 'text' in part ? part.text : renderValue(await evaluate(part.expression, item));
    return out;
  }

  function resolveContext(def: WorkflowDefinition, run: { id: string | null; workflowId: string; workflowName: string }, itemIndex: number | null): ResolveContext {
    const item = def.for_each && itemIndex !== null ? { forEach: def.for_each, index: itemIndex } : undefined;
    const i = ctx.incident;
    return {
      incident: { id: i.id, reference: i.reference, name: i.name, severity: i.severity },
      run,
      evaluate: (source) => evaluate(source, item),
      render: (t) => render(t, item),
      async externalIds(entryIds) {
        const out = new Map<string, { externalId: string; name: string; type: string }>();
        const missing: string[] = [];
        for (const id of entryIds) {
          const e = ctx.entries.get(id);
          if (e) out.set(id, { externalId: e.externalId, name: e.name, type: e.typeId });
          else missing.push(id);
        }
        if (missing.length) {
          const rows = await deps.db.selectFrom('catalog_entries').select(['id', 'external_id', 'name', 'type_id']).where('id', 'in', missing).execute();
          for (const r of rows) out.set(r.id, { externalId: r.external_id, name: r.name, type: r.type_id });
        }
        return out;
      },
      escalation: deps.escalation(),
      slack: deps.slack(),
      incidents: deps.incidents,
      db: deps.db,
    };
  }

  async function snapshot(): Promise<Record<string, unknown>> {
    const i = ctx.incident;
    let customFields: unknown = {};
    try {
      customFields = await evaluate('incident.custom_fields');
    } catch {
      customFields = Object.fromEntries(ctx.customValues);
    }
    return { id: i.id, reference: i.reference, name: i.name, severity: i.severity.name, status: i.status.name, status_category: i.status.category, mode: i.mode, lead: i.lead, custom_fields: customFields, updated_at: i.updatedAt };
  }

  return { ctx, evaluate, conditions, items, resolveContext, snapshot };
}

/** Failing conditions in words, for skip reasons. */
export function failing(results: ConditionResult[]): string {
  const bad = results.filter((r) => !r.result);
  return bad.map((r) => (r.error ? `${r.words} (${r.error})` : `${r.words} (it is ${valueWords(r.value)})`)).join('; ') || 'no condition group holds';
}

export function valueWords(v: unknown): string {
  const s = renderValue(v);
  return s === '' ? 'not set' : s;
}
