import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers.js';
import { createsByKey, declare, quiesce, setupEscalations, waitForTargets, type EscSetup } from './helpers.js';

// A worker that stops in the middle of paging (its process killed) must not leave anybody unpaged: whoever
// comes next takes the targets over once the lease runs out, finds incidents PagerDuty already created by their
// incident_key, and pages each target exactly once. The kill -9 of a real process is in test/chaos; here the
// crash is the paging code stopping where it stands (no release, no lease renewal), which is what a process
// that vanished leaves in the database.

const PAGE_JOB = 'pagerduty.escalation.page';
const SWEEP = 'pagerduty.escalation.sweep';

for (const backend of backends) {
  describe(`paging after a crash (${backend})`, () => {
    let s: EscSetup;
    beforeAll(async () => {
      s = await setupEscalations(backend);
    }, 90_000);
    afterAll(async () => {
      await s?.close();
    });
    beforeEach(async () => {
      await quiesce(s);
      s.esc.tuning.leaseMs = 2000;
    });

    const fiveTargets = () => ({
      escalation_policy_ids: s.policies.slice(0, 3).map((p) => p.id),
      user_ids: [...s.pd.state.users.values()].slice(3, 5).map((u) => u.id),
    });

    /** Every target triggered, and PagerDuty holds exactly one incident per incident key, created by one request. */
    function expectPagedOnce(targets: any[]) {
      expect(targets).toHaveLength(5);
      for (const t of targets) {
        expect(t.status).toBe('triggered');
        const mine = [...s.pd.state.incidents.values()].filter((i) => i.incident_key === t.incident_key);
        expect(mine).toHaveLength(1);
        expect(t.pagerduty_incident.id).toBe(mine[0]!.id);
        expect(createsByKey(s.pd).get(t.incident_key)).toHaveLength(1);
      }
    }

    it('targets held by a worker that died before creating anything are paged once its lease runs out, each exactly once', async () => {
      const crashed = new Set<string>();
      s.esc.tuning.faults.crash = (id, point) => point === 'before_create' && !crashed.has(id) && !!crashed.add(id);
      const inc = await declare(s.owner);
      const r = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, { ...fiveTargets(), message: 'crash before create' });
      expect(r.status).toBe(201);
      const started = Date.now();
      const done = await waitForTargets(s.owner, r.body.escalation.id, (t) => t.status === 'triggered', 20_000);
      expect(crashed.size).toBe(5);
      expectPagedOnce(done.targets);
      // Lease (2 s) plus one job run, not a string of failed attempts.
      expect(Date.now() - started).toBeLessThan(12_000);
      expect((await s.fb.app.jobs.deadJobs(100)).filter((j) => j.name === PAGE_JOB)).toEqual([]);
    }, 30_000);

    it('when PagerDuty had already created every incident before the crash, the next worker finds them by incident_key instead of paging again', async () => {
      const crashed = new Set<string>();
      s.esc.tuning.faults.crash = (id, point) => point === 'after_create' && !crashed.has(id) && !!crashed.add(id);
      const inc = await declare(s.owner);
      const r = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, { ...fiveTargets(), message: 'crash after create' });
      const done = await waitForTargets(s.owner, r.body.escalation.id, (t) => t.status === 'triggered', 20_000);
      expect(crashed.size).toBe(5);
      expectPagedOnce(done.targets);
      for (const t of done.targets) {
        expect(s.pd.requestLog().some((e) => e.method === 'GET' && e.path === '/incidents' && e.query.incident_key === t.incident_key)).toBe(true);
      }
      // And PagerDuty's incidents are followed: the timeline says each was triggered.
      const items = (await s.owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items.filter((i: any) => i.kind === 'pagerduty.escalation_triggered');
      expect(items).toHaveLength(5);
    }, 30_000);

    it('a live worker that PagerDuty keeps waiting holds on to its target: the job does not page it a second time', async () => {
      s.esc.tuning.leaseMs = 1000; // far shorter than one PagerDuty round trip below; renewed while it waits
      s.pd.faults.set({ latencyMs: 2600 });
      const inc = await declare(s.owner);
      const r = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, { escalation_policy_ids: [s.policies[0]!.id], message: 'slow PagerDuty' });
      const done = await waitForTargets(s.owner, r.body.escalation.id, (t) => t.status === 'triggered', 20_000);
      // Paged once. What follows the page (reading the new incident back) need not wait 2.6 s a request any more;
      // the jobs it queued are given time to finish, so a second worker taking the target over would show below.
      s.pd.faults.clear();
      await s.esc.paging.settle();
      await s.fb.app.jobs.drain(25_000);
      const key = done.targets[0].incident_key;
      expect(createsByKey(s.pd).get(key)).toHaveLength(1);
      // Nobody took the target over: no second worker went looking for the incident by its key.
      expect(s.pd.requestLog().filter((e) => e.method === 'GET' && e.path === '/incidents' && e.query.incident_key === key)).toEqual([]);
    }, 60_000);

    it('retry pages a target left pending by a crash, without waiting for anything else, and never twice', async () => {
      s.esc.tuning.leaseMs = 600_000; // the dead worker's lease would outlast the test
      let crash = true;
      s.esc.tuning.faults.crash = (_id, point) => point === 'before_create' && crash;
      const inc = await declare(s.owner);
      const user = [...s.pd.state.users.values()][4]!;
      const r = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, { user_ids: [user.id], message: 'stuck' });
      const id = r.body.escalation.id;
      await s.esc.paging.settle();
      crash = false;
      expect((await s.owner.get(`/api/v1/escalations/${id}`)).body.escalation.targets[0].status).toBe('pending');
      // The operator takes over the dead worker's target (as after a restart with a long lease).
      await s.fb.app.database.db.updateTable('pagerduty_escalation_targets').set({ lease_until: null }).where('escalation_id', '=', id).execute();
      const retried = await s.owner.post(`/api/v1/escalations/${id}/retry`);
      expect(retried.status).toBe(200);
      const done = await waitForTargets(s.owner, id, (t) => t.status === 'triggered', 15_000);
      expect(createsByKey(s.pd).get(done.targets[0].incident_key)).toHaveLength(1);
      // Paged: nothing is left to retry.
      const again = await s.owner.post(`/api/v1/escalations/${id}/retry`);
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('nothing_to_retry');
    }, 30_000);

    it('the sweep (on its schedule, registered at start) queues a pending target whose jobs were lost, and it is paged', async () => {
      let crash = true;
      s.esc.tuning.faults.crash = (_id, point) => point === 'before_create' && crash;
      const inc = await declare(s.owner);
      const r = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, { escalation_policy_ids: [s.policies[0]!.id], message: 'lost job' });
      const id = r.body.escalation.id;
      await s.esc.paging.settle();
      const db = s.fb.app.database.db;
      // Lose the job (as a queue that dropped it would), and let the lease and two lease lengths pass.
      if (backend === 'sqlite') await db.deleteFrom('jobs' as any).where('name', '=', PAGE_JOB).execute();
      else await sql`delete from graphile_worker._private_jobs j using graphile_worker._private_tasks t where j.task_id = t.id and t.identifier = ${PAGE_JOB}`.execute(db);
      crash = false;
      const old = new Date(Date.now() - 10_000).toISOString();
      await db.updateTable('pagerduty_escalation_targets').set({ lease_until: old, updated_at: old }).where('escalation_id', '=', id).execute();
      // The sweep runs on its schedule (registered at start): make the schedule due and the queue runs it.
      if (backend === 'sqlite') await db.updateTable('job_schedules' as any).set({ next_run_at: new Date(0).toISOString() } as any).where('name' as any, '=', SWEEP).execute();
      else await sql`update graphile_worker._firebreak_schedules set next_run_at = now() - interval '1 second' where name = ${SWEEP}`.execute(db);
      const done = await waitForTargets(s.owner, id, (t) => t.status === 'triggered', 15_000);
      expect(createsByKey(s.pd).get(done.targets[0].incident_key)).toHaveLength(1);
      expect(await s.esc.paging.sweep()).toBe(0);
    }, 30_000);
  });
}

describe('a lease longer than all of a job’s retries (sqlite)', () => {
  let s: EscSetup;
  beforeAll(async () => {
    s = await setupEscalations('sqlite');
  }, 90_000);
  afterAll(async () => {
    await s?.close();
  });

  it('the page job waits for the lease to run out instead of spending its attempts and dying', async () => {
    // Six attempts back off 1 + 2 + 4 + 8 + 16 s after the 2 s grace: 33 s. The lease outlasts them all.
    s.esc.tuning.leaseMs = 36_000;
    const crashed = new Set<string>();
    s.esc.tuning.faults.crash = (id, point) => point === 'before_create' && !crashed.has(id) && !!crashed.add(id);
    const inc = await declare(s.owner);
    const r = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, { escalation_policy_ids: [s.policies[0]!.id], message: 'long lease' });
    const done = await waitForTargets(s.owner, r.body.escalation.id, (t) => t.status === 'triggered', 55_000);
    expect(done.targets[0].status).toBe('triggered');
    expect(createsByKey(s.pd).get(done.targets[0].incident_key)).toHaveLength(1);
    expect((await s.fb.app.jobs.deadJobs(100)).filter((j) => j.name === PAGE_JOB)).toEqual([]);
  }, 70_000);
});
