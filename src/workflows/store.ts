import type { Executor } from '../platform/db/index.js';
import './tables.js';
import type { WorkflowsTable } from './tables.js';
import { workflowDefinitionSchema, type TriggerType, type Workflow, type WorkflowDefinition, type WorkflowState } from './model.js';

// The workflows table: one row per workflow, its definition as JSON (the shape people write, without `state`,
// which is a column so the engine can find active workflows of a trigger cheaply). Rows are soft-deleted; the key
// is unique among live rows (a partial unique index).

export type WorkflowRow = WorkflowsTable;

/** The definition as stored: in the schema's key order (zod's output), without the state. */
export function canonicalDefinition(def: WorkflowDefinition): WorkflowDefinition {
  const parsed = workflowDefinitionSchema.parse(def);
  delete parsed.state;
  return parsed;
}

export function rowDefinition(row: Pick<WorkflowRow, 'definition'>): WorkflowDefinition {
  return JSON.parse(row.definition) as WorkflowDefinition;
}

/** A stored workflow as the API answers it: the definition's keys in order, `state` where the schema puts it. */
export function workflowFromRow(row: WorkflowRow, lastRunAt: string | null = null): Workflow {
  const def = rowDefinition(row);
  const { key, name, description, ...rest } = def;
  return {
    key,
    name,
    ...(description !== undefined ? { description } : {}),
    state: row.state as WorkflowState,
    ...rest,
    id: row.id,
    version: Number(row.version),
    created_at: row.created_at,
    updated_at: row.updated_at,
    created_by: row.created_by,
    last_run_at: lastRunAt,
    has_secret: row.secret !== null,
  };
}

/** The definition with its state, as exported and compared (key order as the schema). */
export function definitionWithState(row: WorkflowRow): WorkflowDefinition {
  const w = workflowFromRow(row);
  const { id: _i, version: _v, created_at: _c, updated_at: _u, created_by: _b, last_run_at: _l, has_secret: _h, ...def } = w;
  return def;
}

export class WorkflowStore {
  constructor(private readonly db: Executor) {}

  get database(): Executor {
    return this.db;
  }

  /** A live workflow by id, or by key. */
  async find(idOrKey: string, db: Executor = this.db): Promise<WorkflowRow | null> {
    const byId = await db.selectFrom('workflows').selectAll().where('id', '=', idOrKey).where('deleted_at', 'is', null).executeTakeFirst();
    if (byId) return byId;
    return (await db.selectFrom('workflows').selectAll().where('key', '=', idOrKey).where('deleted_at', 'is', null).executeTakeFirst()) ?? null;
  }

  async list(db: Executor = this.db): Promise<WorkflowRow[]> {
    return db.selectFrom('workflows').selectAll().where('deleted_at', 'is', null).orderBy('name').orderBy('id').execute();
  }

  /** When each workflow last ran (its newest run), by workflow id. */
  async lastRuns(ids: string[], db: Executor = this.db): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < ids.length; i += 200) {
      const rows = await db
        .selectFrom('workflow_runs')
        .select(['workflow_id', (eb) => eb.fn.max('created_at').as('at')])
        .where('workflow_id', 'in', ids.slice(i, i + 200))
        .groupBy('workflow_id')
        .execute();
      for (const r of rows) if (r.at) out.set(r.workflow_id, String(r.at));
    }
    return out;
  }

  async keyTaken(key: string, exceptId: string | null, db: Executor = this.db): Promise<boolean> {
    let q = db.selectFrom('workflows').select('id').where('key', '=', key).where('deleted_at', 'is', null);
    if (exceptId) q = q.where('id', '!=', exceptId);
    return !!(await q.executeTakeFirst());
  }

  async insert(db: Executor, row: WorkflowRow): Promise<void> {
    await db.insertInto('workflows').values(row).execute();
  }

  async update(db: Executor, id: string, patch: Partial<Omit<WorkflowRow, 'id'>>): Promise<void> {
    await db.updateTable('workflows').set(patch).where('id', '=', id).execute();
  }

  /** Active, live workflows of one trigger type (what the engine evaluates). */
  async listActive(triggerType: TriggerType, db: Executor = this.db): Promise<Workflow[]> {
    const rows = await db.selectFrom('workflows').selectAll().where('state', '=', 'active').where('trigger_type', '=', triggerType).where('deleted_at', 'is', null).orderBy('id').execute();
    return rows.map((r) => workflowFromRow(r));
  }

  /** Changes whenever any workflow is created, changed, activated, disabled or deleted: a cache key. */
  async version(db: Executor = this.db): Promise<string> {
    const r = await db.selectFrom('workflows').select([(eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.max('updated_at').as('at'), (eb) => eb.fn.sum<number>('version').as('v')]).executeTakeFirst();
    return `${r?.n ?? 0}@${r?.at ?? ''}#${r?.v ?? 0}`;
  }
}
