import type { WorkflowDefinition, WorkflowRun } from '../../src/workflows/model.js';
import { newId, nowIso } from '../../src/platform/ids.js';
import type { Client, TestFirebreak } from '../helpers.js';
import { waitFor } from '../escalations/helpers.js';

// Workflows for the engine's tests, written straight into the table (the definition side has its own tests), and
// ways to wait for what the engine does.

export async function putWorkflow(fb: TestFirebreak, def: WorkflowDefinition, state: 'active' | 'draft' | 'disabled' = 'active'): Promise<string> {
  const id = newId();
  const now = nowIso();
  await fb.app.database.db
    .insertInto('workflows')
    .values({ id, key: def.key, name: def.name, state, trigger_type: def.trigger.type, definition: JSON.stringify({ ...def, state }), version: 1, secret: null, created_by: null, created_at: now, updated_at: now, activated_at: state === 'active' ? now : null, deleted_at: null })
    .execute();
  return id;
}

export async function setState(fb: TestFirebreak, id: string, state: 'active' | 'draft' | 'disabled'): Promise<void> {
  await fb.app.database.db.updateTable('workflows').set({ state, updated_at: nowIso() }).where('id', '=', id).execute();
}

export async function runsOf(owner: Client, incident: string): Promise<{ runs: WorkflowRun[]; evaluations: any[] }> {
  const r = await owner.get(`/api/v1/incidents/${incident}/workflow_runs`);
  if (r.status !== 200) throw new Error(`runs: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Waits until the incident has `n` runs of the workflow, all finished. */
export async function finishedRuns(owner: Client, incident: string, workflowId: string, n = 1, timeoutMs = 30_000): Promise<WorkflowRun[]> {
  return waitFor(`${n} finished run(s) of ${workflowId}`, async () => {
    const runs = (await runsOf(owner, incident)).runs.filter((r) => r.workflow_id === workflowId);
    return runs.length >= n && runs.every((r) => !['waiting', 'running'].includes(r.status)) ? runs : null;
  }, timeoutMs);
}

export async function severities(owner: Client): Promise<{ id: string; name: string; rank: number }[]> {
  return (await owner.get('/api/v1/severities')).body.severities;
}
