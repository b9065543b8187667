import { EvaluationError } from '@marcbachmann/cel-js';
import type { CatalogModule } from '../catalog/index.js';
import { typeFromRow } from '../catalog/model.js';
import '../catalog/tables.js';
import '../custom-fields/tables.js';
import type { IncidentsService } from '../incidents/incidents.service.js';
import type { Db } from '../platform/db/index.js';
import { AppError } from '../platform/errors.js';
import type { Actor } from '../platform/events.js';
import { compileWith, type CompiledExpression, type Expect } from './compile.js';
import { DEFAULT_BOUNDS, loadContext, type ContextBounds, type CustomFieldValuesPort } from './context.js';
import { buildEnvironment, type BuiltEnvironment } from './environment.js';
import { ExpressionEvaluationError, positionAt } from './errors.js';
import { DEFAULT_BUDGET, RunState, withRun, type Budget, type EvaluationContext, type Visit } from './runtime.js';
import type { FieldDef, Schema, SchemaType } from './schema.js';

// The expression language (CEL over incidents and the catalog): check when saved, load a context once per
// incident change, evaluate synchronously within a budget. See docs/expressions.md.

export type { CompiledExpression, Expect } from './compile.js';
export type { EvaluationContext, Visit } from './runtime.js';
export { ExpressionCostError, ExpressionError, ExpressionEvaluationError } from './errors.js';

/** The custom fields module as expressions read it (contracts §1). */
export interface CustomFieldsPort extends CustomFieldValuesPort {
  listFields(opts?: { includeDeleted?: boolean }): Promise<FieldDef[]>;
}

export interface EvaluationResult {
  value: unknown;
  type: string;
  visited: Visit[];
}

export interface ExpressionsModule {
  check(source: string, opts?: { expect?: Expect }): Promise<{ type: string }>;
  compile(source: string, opts?: { expect?: Expect }): Promise<CompiledExpression>;
  contextFor(incidentId: string, actor?: Actor): Promise<EvaluationContext>;
  evaluate(expr: CompiledExpression, ctx: EvaluationContext, budget?: Partial<Budget>): EvaluationResult;
  /** The environment of the current schema (variables, types and their members, functions) for references. */
  environment(): Promise<BuiltEnvironment>;
}

export function createExpressions(deps: {
  db: Db;
  catalog: CatalogModule;
  customFields: { service: CustomFieldsPort } | null;
  incidents: IncidentsService;
  bounds?: Partial<ContextBounds>;
}): ExpressionsModule {
  const { db } = deps;
  const bounds = { ...DEFAULT_BOUNDS, ...deps.bounds };
  let cached: { version: string; built: Promise<BuiltEnvironment> } | null = null;
  const compiled = new Map<string, CompiledExpression>();

  /** Cheap: what changes when the schema does (catalog types, custom fields, severities). */
  async function schemaVersion(): Promise<string> {
    const [types, sevs, fields] = await Promise.all([
      db.selectFrom('catalog_types').select([(eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.max('updated_at').as('at')]).executeTakeFirst(),
      db.selectFrom('severities').select(['id', 'name', 'rank']).orderBy('id').execute(),
      fieldsVersion(),
    ]);
    return `${types?.n ?? 0}@${types?.at ?? ''}|${fields}|${sevs.map((s) => `${s.id}:${s.name}:${s.rank}`).join(',')}`;
  }

  async function fieldsVersion(): Promise<string> {
    if (!deps.customFields) return '';
    const r = await db.selectFrom('custom_fields').select([(eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.max('updated_at').as('at')]).executeTakeFirst();
    return `${r?.n ?? 0}@${r?.at ?? ''}`;
  }

  async function loadSchema(): Promise<Schema> {
    const [types, fields, severities] = await Promise.all([
      db.selectFrom('catalog_types').selectAll().orderBy('type_name').execute(),
      deps.customFields ? deps.customFields.service.listFields() : Promise.resolve([] as FieldDef[]),
      db.selectFrom('severities').select(['id', 'name', 'rank']).orderBy('rank').execute(),
    ]);
    return { types: types.map((r) => typeFromRow(r) as unknown as SchemaType), fields, severities: severities.map((s) => ({ id: s.id, name: s.name, rank: Number(s.rank) })) };
  }

  async function environment(): Promise<BuiltEnvironment> {
    const version = await schemaVersion();
    if (cached?.version !== version) {
      compiled.clear();
      const built = loadSchema().then((schema) => buildEnvironment(schema, version));
      cached = { version, built };
      built.catch(() => {
        if (cached?.built === built) cached = null;
      });
    }
    return cached.built;
  }

  async function compile(source: string, opts: { expect?: Expect } = {}): Promise<CompiledExpression> {
    const built = await environment();
    const expect = opts.expect ?? 'any';
    const key = `${expect}\u0000${source}`;
    const hit = compiled.get(key);
    if (hit && hit.built === built) return hit;
    const c = compileWith(built, source, expect);
    if (compiled.size >= 500) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, c);
    return c;
  }

  function evaluate(expr: CompiledExpression, ctx: EvaluationContext, budgetOverride: Partial<Budget> = {}): EvaluationResult {
    const built = expr.built;
    const budget = { ...DEFAULT_BUDGET, ...budgetOverride };
    const s = new RunState(
      ctx,
      (typeId) => built.typesById.get(typeId)?.ctor,
      (typeId) => built.typesById.get(typeId)?.type.name ?? 'Unknown type',
      budget,
    );
    const c = built.ctors;
    const i = ctx.incident;
    const vars = {
      incident: new c.Incident({
        id: i.id,
        reference: i.reference,
        name: i.name,
        summary: i.summary,
        severity: new c.Severity({ name: i.severity.name, rank: BigInt(i.severity.rank) }),
        status: new c.Status({ name: i.status.name, category: i.status.category }),
        mode: i.mode,
        lead: i.lead ? new c.Person({ name: i.lead.name, email: i.lead.email }) : undefined,
        created_at: new Date(i.createdAt),
        updated_at: new Date(i.updatedAt),
        custom_fields: new c.CustomFields(s),
      }),
      actor: new c.Actor({ kind: ctx.actor.kind, name: ctx.actor.name ?? undefined, email: ctx.actor.email ?? undefined }),
    };
    let raw: unknown;
    try {
      raw = withRun(s, () => expr.fn(vars));
    } catch (e) {
      if (s.stopped) throw s.stopped;
      if (e instanceof AppError) throw e;
      if (e instanceof EvaluationError) {
        const at = e.range?.start ?? (e.node as { pos?: number } | undefined)?.pos;
        throw new ExpressionEvaluationError(`The expression failed on this incident: ${e.summary}${e.code === 'no_such_key' ? ' (the value is absent here: test it with has() first)' : ''}`, {
          position: at === undefined ? null : positionAt(expr.source, at),
          reason: e.code,
        });
      }
      throw e;
    }
    if (s.stopped) throw s.stopped;
    const value = withRun(s, () => toJson(raw, s, built));
    return { value, type: expr.type, visited: s.visited };
  }

  return {
    async check(source, opts) {
      const c = await compile(source, opts);
      return { type: c.type };
    },
    compile,
    async contextFor(incidentId, actor) {
      const built = await environment();
      return loadContext({ db, getIncident: (id) => deps.incidents.getIncident(id), customFields: deps.customFields?.service ?? null }, built, incidentId, actor, bounds);
    },
    evaluate,
    environment,
  };
}

/** The value as JSON: entries as { id, name, type }, ints as numbers, timestamps as ISO text. Counted as work. */
function toJson(v: unknown, s: RunState, built: BuiltEnvironment): unknown {
  s.tick();
  switch (typeof v) {
    case 'bigint':
      return Number(v);
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : String(v);
    case 'undefined':
      return null;
    case 'object': {
      if (v === null) return null;
      if (Array.isArray(v)) return v.map((x) => toJson(x, s, built));
      if (v instanceof Set) return [...v].map((x) => toJson(x, s, built));
      if (v instanceof Date) return v.toISOString();
      if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
      if (v instanceof Map) return Object.fromEntries([...v.entries()].map(([k, x]) => [String(k), toJson(x, s, built)]));
      const o = v as Record<string, unknown>;
      if ('$e' in o && '$s' in o) {
        const e = (o as unknown as { $e: { id: string; name: string; typeId: string } }).$e;
        return { id: e.id, name: e.name, type: built.typesById.get(e.typeId)?.type.name ?? 'Unknown type' };
      }
      if ('$owner' in o) return {}; // an entry's referenced_by: read its members instead
      if ('$s' in o) {
        // custom_fields: the fields with a value on this incident
        const out: Record<string, unknown> = {};
        for (const key of built.fieldsByKey.keys()) {
          const x = o[key];
          if (x !== undefined) out[key] = toJson(x, s, built);
        }
        return out;
      }
      if (v.constructor !== Object && typeof (v as { toString?: unknown }).toString === 'function' && !Object.keys(o).length) return String(v);
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, toJson(x, s, built)]));
    }
    default:
      return String(v);
  }
}
