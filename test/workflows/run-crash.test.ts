import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPagerDutyEmulator, type PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { freePort, waitFor } from '../escalations/helpers.js';
import { signInWithLink, type Client } from '../helpers.js';
import { connectPagerDuty, FirebreakProcess, sleep, type PagingSetup } from '../chaos/harness.js';
import { newId, nowIso } from '../../src/platform/ids.js';

// A real Firebreak process (SQLite) is killed with SIGKILL while a workflow's escalate step is talking to PagerDuty
// (PagerDuty answers slowly); started again on the same data, the run finishes and the step was done once: one
// escalation, one PagerDuty incident for the policy.

describe('a workflow run after kill -9 (SQLite, real process)', () => {
  let pd: PagerDutyEmulator;
  let fb: FirebreakProcess;
  let owner: Client;
  let paging: PagingSetup;
  let dataDir: string;

  beforeAll(async () => {
    pd = await startPagerDutyEmulator({ port: 0, seed: 'medium', rateLimitPerMinute: false });
    dataDir = mkdtempSync(join(tmpdir(), 'firebreak-wf-crash-'));
    fb = new FirebreakProcess({ name: 'firebreak', port: await freePort(), env: { DATA_DIR: dataDir, FIREBREAK_PAGING_LEASE_MS: '3000' } });
    await fb.start();
    if (!fb.loginUrl) throw new Error(`no first sign-in link printed:\n${fb.tail()}`);
    owner = await signInWithLink(fb.baseUrl, fb.loginUrl);
    paging = await connectPagerDuty(owner, pd);
  }, 180_000);

  afterAll(async () => {
    await fb?.stop();
    await pd?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('killed mid-step and restarted: the run finishes and PagerDuty was paged once', async () => {
    const policy = paging.policies[0]!;
    const serviceId = policy.serviceIds[0]!;
    expect((await owner.post('/api/v1/custom_fields', { key: 'affected_services', name: 'Affected services', type: 'catalog', catalog_type: 'PagerDutyService', multiple: true })).status).toBe(201);
    const entries = (await owner.get('/api/v1/catalog_entries?catalog_type_id=PagerDutyService&limit=250')).body.catalog_entries;
    const entry = entries.find((e: any) => e.external_id === serviceId);
    const def = {
      key: 'page-affected',
      name: 'Page affected services',
      state: 'active',
      trigger: { type: 'incident.declared' },
      steps: [{ id: 'page', type: 'escalate', policies_expression: 'incident.custom_fields.affected_services.map(s, s.escalation_policy)', message: 'help' }],
    };
    const file = new Database(join(dataDir, 'firebreak.sqlite'), { fileMustExist: true });
    try {
      file.prepare('insert into workflows (id, key, name, state, trigger_type, definition, version, created_at, updated_at) values (?, ?, ?, ?, ?, ?, 1, ?, ?)').run(newId(), def.key, def.name, 'active', 'incident.declared', JSON.stringify(def), nowIso(), nowIso());
    } finally {
      file.close();
    }
    pd.faults.set({ latencyMs: 4000 }); // PagerDuty is slow: the step is in flight when the process dies
    const inc = (await owner.post('/api/v1/incidents', { name: 'Crash mid-run', custom_field_values: { affected_services: [entry.id] } })).body.incident;
    const run = await waitFor('the step to be claimed', async () => {
      const r = (await owner.get(`/api/v1/incidents/${inc.id}/workflow_runs`)).body.runs[0];
      return r?.steps?.[0]?.status === 'running' ? r : null;
    }, 30_000);
    await sleep(1500);
    await fb.kill();
    pd.faults.clear();
    await fb.start();
    const done = await waitFor('the run to finish after the restart', async () => {
      const r = (await owner.get(`/api/v1/workflow_runs/${run.id}`)).body;
      return r.status !== 'running' ? r : null;
    }, 90_000);
    expect(done.status, JSON.stringify(done.steps)).toBe('succeeded');
    expect(done.steps[0].attempts).toBeGreaterThanOrEqual(2);
    const pdIncidents = [...pd.state.incidents.values()].filter((i) => i.escalation_policy_id === policy.id && i.title.includes(`[${inc.reference}]`));
    expect(pdIncidents).toHaveLength(1);
    expect((await owner.get(`/api/v1/incidents/${inc.id}/escalations`)).body.escalations).toHaveLength(1);
  }, 180_000);
});
