import { sql, type Kysely } from 'kysely';

// Workflows (src/workflows): definitions (soft-deleted; one JSON document each, the shape people write), their
// runs (one row per match: immutable once finished, unique per workflow and trigger event so a redelivered trigger
// makes no second run, and per workflow and dedupe key), each step of a run (one row per step and for-each item,
// claimed before it acts), and per trigger why each active workflow did not run.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('workflows')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull()) // draft | active | disabled
    .addColumn('trigger_type', 'text', (c) => c.notNull())
    .addColumn('definition', 'text', (c) => c.notNull()) // JSON: WorkflowDefinition
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('secret', 'text') // SecretBox ciphertext, purpose workflow.http_secret
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('activated_at', 'text')
    .addColumn('deleted_at', 'text')
    .execute();
  await db.schema.createIndex('workflows_key_live_uq').on('workflows').column('key').unique().where(sql.ref('deleted_at'), 'is', null).execute();
  await db.schema.createIndex('workflows_active_idx').on('workflows').columns(['state', 'trigger_type']).execute();

  await db.schema
    .createTable('workflow_runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('workflow_id', 'text', (c) => c.notNull().references('workflows.id'))
    .addColumn('workflow_version', 'integer', (c) => c.notNull())
    .addColumn('incident_id', 'text', (c) => c.references('incidents.id').onDelete('cascade'))
    .addColumn('trigger_type', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text') // the domain event or trigger id; null for manual runs
    .addColumn('dedupe_key', 'text')
    .addColumn('depth', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull()) // waiting | running | succeeded | failed | skipped
    .addColumn('record', 'text', (c) => c.notNull()) // JSON: trigger, incident_snapshot, conditions, items, skip_reason, error
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text')
    .addColumn('finished_at', 'text')
    .execute();
  await db.schema.createIndex('workflow_runs_event_uq').on('workflow_runs').columns(['workflow_id', 'event_id']).unique().where(sql.ref('event_id'), 'is not', null).execute();
  await db.schema.createIndex('workflow_runs_dedupe_uq').on('workflow_runs').columns(['workflow_id', 'dedupe_key']).unique().where(sql.ref('dedupe_key'), 'is not', null).execute();
  await db.schema.createIndex('workflow_runs_workflow_idx').on('workflow_runs').columns(['workflow_id', 'id']).execute();
  await db.schema.createIndex('workflow_runs_incident_idx').on('workflow_runs').columns(['incident_id', 'id']).execute();

  await db.schema
    .createTable('workflow_run_steps')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('run_id', 'text', (c) => c.notNull().references('workflow_runs.id').onDelete('cascade'))
    .addColumn('step_id', 'text', (c) => c.notNull())
    .addColumn('step_index', 'integer', (c) => c.notNull())
    .addColumn('item_index', 'integer', (c) => c.notNull()) // -1 without for_each
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull()) // pending | running | succeeded | failed | skipped
    .addColumn('inputs', 'text', (c) => c.notNull()) // JSON
    .addColumn('outputs', 'text') // JSON
    .addColumn('error', 'text') // JSON: RunError
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'text')
    .addColumn('finished_at', 'text')
    .addColumn('duration_ms', 'integer')
    .execute();
  await db.schema.createIndex('workflow_run_steps_uq').on('workflow_run_steps').columns(['run_id', 'step_index', 'item_index']).unique().execute();

  await db.schema
    .createTable('workflow_evaluations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('incident_id', 'text', (c) => c.references('incidents.id').onDelete('cascade'))
    .addColumn('trigger_type', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text')
    .addColumn('skipped', 'text', (c) => c.notNull()) // JSON: SkippedWorkflow[]
    .addColumn('run_ids', 'text', (c) => c.notNull()) // JSON: string[]
    .addColumn('evaluated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('workflow_evaluations_incident_idx').on('workflow_evaluations').columns(['incident_id', 'id']).execute();
  await db.schema.createIndex('workflow_evaluations_event_uq').on('workflow_evaluations').columns(['event_id', 'trigger_type']).unique().where(sql.ref('event_id'), 'is not', null).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['workflow_evaluations', 'workflow_run_steps', 'workflow_runs', 'workflows']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
