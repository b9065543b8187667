import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPagerDutyEmulator, type PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { declare, freePort, waitFor } from '../escalations/helpers.js';
import { signInWithLink, type Client } from '../helpers.js';
import { connectPagerDuty, escalationWhen, FirebreakProcess, pagedOnceProblem, PAGED, sleep, type PagingSetup } from './harness.js';

// Defect 1 of issue 11, reproduced with a real process: Firebreak (SQLite) is paging five targets while
// PagerDuty answers 429, and is killed with SIGKILL; started again on the same data, every target must end
// paged exactly once (found by its incident_key when PagerDuty already has it) or failed with a retry that
// works, within the paging lease plus one retry. The lease is made short through FIREBREAK_PAGING_LEASE_MS.

const LEASE_MS = 3000;
/** One retry of a page job after the lease ran out: job pick-up, backoff, the PagerDuty calls (generous on a busy 2-core machine). */
const ONE_RETRY_MS = 10_000;

describe('paging after kill -9 (SQLite, real process)', () => {
  let pd: PagerDutyEmulator;
  let fb: FirebreakProcess;
  let owner: Client;
  let paging: PagingSetup;
  let dataDir: string;

  beforeAll(async () => {
    pd = await startPagerDutyEmulator({ port: 0, seed: 'medium', rateLimitPerMinute: false });
    dataDir = mkdtempSync(join(tmpdir(), 'firebreak-chaos-'));
    fb = new FirebreakProcess({ name: 'firebreak', port: await freePort(), env: { DATA_DIR: dataDir, FIREBREAK_PAGING_LEASE_MS: String(LEASE_MS) } });
    await fb.start();
    if (!fb.loginUrl) throw new Error(`no first sign-in link printed:\n${fb.tail()}`);
    owner = await signInWithLink(fb.baseUrl, fb.loginUrl);
    paging = await connectPagerDuty(owner, pd);
    expect(paging.policies.length).toBeGreaterThanOrEqual(3);
  }, 180_000);

  afterAll(async () => {
    await fb?.stop();
    await pd?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const fiveTargets = () => ({
    escalation_policy_ids: paging.policies.slice(0, 3).map((p) => p.id),
    user_ids: [...pd.state.users.values()].slice(3, 5).map((u) => u.id),
  });

  async function escalate(message: string): Promise<{ incident: any; escalation: any }> {
    const incident = await declare(owner, `Crash test: ${message}`);
    const r = await owner.post(`/api/v1/incidents/${incident.id}/escalations`, { ...fiveTargets(), message });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.escalation.targets).toHaveLength(5);
    return { incident, escalation: r.body.escalation };
  }

  /** Every target paged exactly once or failed; a failed one is paged (once) by the retry button. */
  async function expectEveryTargetPagedOnceOrRetryable(escalationId: string, final: any) {
    const problems = final.targets.map((t: any) => pagedOnceProblem(pd, t)).filter(Boolean);
    expect(problems, `after the restart:\n${problems.join('\n')}\n--- Firebreak's last lines ---\n${fb.tail(25)}`).toEqual([]);
    if (final.targets.some((t: any) => t.status === 'failed')) {
      const retry = await owner.post(`/api/v1/escalations/${escalationId}/retry`);
      expect(retry.status, JSON.stringify(retry.body)).toBe(200);
      const after = await escalationWhen(owner, escalationId, (t) => PAGED.has(t.status), LEASE_MS + ONE_RETRY_MS);
      expect(after.settled, JSON.stringify(after.escalation.targets.map((t: any) => [t.name, t.status, t.error]))).toBe(true);
      expect(after.escalation.targets.map((t: any) => pagedOnceProblem(pd, t)).filter(Boolean)).toEqual([]);
    }
  }

  it('killed while PagerDuty answers 429: after the restart every target is paged exactly once (or failed and retryable) within the lease plus one retry', async () => {
    pd.faults.set({ rateLimitBurst: 10 });
    const { escalation } = await escalate('kill -9 under 429');
    await sleep(1000);
    await fb.kill();
    pd.faults.clear();
    const killedCreates = pd.requestLog().filter((e) => e.method === 'POST' && e.path === '/incidents' && e.status === 201).length;
    await fb.start();
    const final = await escalationWhen(owner, escalation.id, (t) => t.status !== 'pending', LEASE_MS + ONE_RETRY_MS);
    expect(
      final.settled,
      `targets still pending ${final.ms} ms after the restart (lease ${LEASE_MS} ms): ${JSON.stringify(final.escalation.targets.map((t: any) => [t.name, t.status, t.error]))}` +
        ` (${killedCreates} creates accepted before the kill)\n--- Firebreak's last lines ---\n${fb.tail(25)}`,
    ).toBe(true);
    await expectEveryTargetPagedOnceOrRetryable(escalation.id, final.escalation);
  }, 120_000);

  it('killed after PagerDuty created all five incidents but before Firebreak heard back: the restart finds them by incident_key and pages nobody twice', async () => {
    // PagerDuty applies each create, then holds its answer: the process dies with five incidents it never saw.
    pd.faults.set({ answerDelayMs: 60_000 });
    const { incident, escalation } = await escalate('kill -9 after the creates');
    const keys = escalation.targets.map((t: any) => t.incident_key as string);
    await waitFor('PagerDuty to accept the five creates', async () => {
      const accepted = new Set(pd.requestLog().filter((e) => e.method === 'POST' && e.path === '/incidents' && e.status === 201).map((e) => (e.body as any).incident.incident_key));
      return keys.every((k: string) => accepted.has(k));
    }, 30_000);
    await fb.kill();
    pd.faults.clear();
    // PagerDuty has one incident per key, and the dead process recorded none of them (its database says so).
    for (const k of keys) expect([...pd.state.incidents.values()].filter((i) => i.incident_key === k)).toHaveLength(1);
    const file = new Database(join(dataDir, 'firebreak.sqlite'), { fileMustExist: true });
    try {
      const rows = file.prepare('select status, pd_incident_id from pagerduty_escalation_targets where escalation_id = ?').all(escalation.id) as { status: string; pd_incident_id: string | null }[];
      expect(rows.map((r) => [r.status, r.pd_incident_id])).toEqual(keys.map(() => ['pending', null]));
    } finally {
      file.close();
    }
    await fb.start();
    const final = await escalationWhen(owner, escalation.id, (t) => t.status !== 'pending', LEASE_MS + ONE_RETRY_MS);
    expect(final.settled, `targets still pending ${final.ms} ms after the restart: ${JSON.stringify(final.escalation.targets.map((t: any) => [t.name, t.status, t.error]))}\n${fb.tail(25)}`).toBe(true);
    for (const t of final.escalation.targets) expect(PAGED.has(t.status), `${t.name}: ${t.status} ${t.error ?? ''}`).toBe(true);
    expect(final.escalation.targets.map((t: any) => pagedOnceProblem(pd, t)).filter(Boolean)).toEqual([]);
    // Found by key: Firebreak asked PagerDuty for each incident_key after the restart.
    for (const k of keys) {
      expect(pd.requestLog().some((e) => e.method === 'GET' && e.path === '/incidents' && e.query.incident_key === k), `no look-up of ${k}`).toBe(true);
    }
    // And followed: the timeline says each was triggered, once.
    const items = (await owner.get(`/api/v1/incidents/${incident.id}/timeline`)).body.items.filter((i: any) => i.kind === 'pagerduty.escalation_triggered');
    expect(items).toHaveLength(5);
  }, 120_000);

  it('after the restart, retry accepts the targets a crash left pending (PagerDuty still throttling), and still pages each once', async () => {
    pd.faults.set({ rateLimitBurst: 10 });
    const { escalation } = await escalate('kill -9 then retry');
    await sleep(1000);
    await fb.kill();
    // PagerDuty keeps answering 429 after the restart, so nothing pages the targets before the person retries.
    pd.faults.set({ rateLimitBurst: 100_000 });
    await fb.start();
    const before = (await owner.get(`/api/v1/escalations/${escalation.id}`)).body.escalation;
    const unpaged = before.targets.filter((t: any) => !PAGED.has(t.status));
    expect(unpaged.length, 'the kill left no target unpaged: nothing to retry').toBeGreaterThan(0);
    const retry = await owner.post(`/api/v1/escalations/${escalation.id}/retry`);
    expect(retry.status, `retry with ${unpaged.length} target(s) not paged: ${JSON.stringify(retry.body)}`).toBe(200);
    pd.faults.clear();
    const final = await escalationWhen(owner, escalation.id, (t) => PAGED.has(t.status), LEASE_MS + ONE_RETRY_MS);
    expect(final.settled, JSON.stringify(final.escalation.targets.map((t: any) => [t.name, t.status, t.error]))).toBe(true);
    expect(final.escalation.targets.map((t: any) => pagedOnceProblem(pd, t)).filter(Boolean)).toEqual([]);
  }, 120_000);
});
