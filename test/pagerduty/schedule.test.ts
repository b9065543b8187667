import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers.js';
import { connect, setup, waitForRun, type Setup } from './helpers.js';

// The hourly (priorities: daily) catalog sync runs because starting Firebreak registers a schedule with the job
// queue, and the queue's scheduler runs it. Tested through that scheduler on each backend: the schedule row the
// queue keeps, and runs it starts on its own once the row is due (here made due at once instead of waiting the
// minute), with types picked by their interval. Nothing here calls tick() or enqueues the tick job itself.

const SCHEDULE = 'pagerduty.catalog-sync';
const TICK_TASK = 'pagerduty.catalog-sync-tick';
const HOUR = 3_600_000;
const HOURLY = ['PagerDutyUser', 'PagerDutyTeam', 'PagerDutyService', 'PagerDutyEscalationPolicy'];

for (const backend of backends) {
  describe(`PagerDuty catalog sync schedule (${backend})`, () => {
    let s: Setup;
    beforeAll(async () => {
      s = await setup(backend, 'small');
      await connect(s);
    }, 120_000);
    afterAll(async () => s?.close());

    const db = () => s.fb.app.database.db;
    const table = backend === 'sqlite' ? sql.table('job_schedules') : sql.raw('graphile_worker._firebreak_schedules');
    /** The schedule as the job queue stores it. */
    const scheduleRow = async () =>
      (await sql<{ name: string; task: string; interval_ms: number | string }>`select name, task, interval_ms from ${table} where name = ${SCHEDULE}`.execute(db())).rows[0];
    /** Time passes: the queue's next slot is now (the scheduler, polling, picks it up). */
    const makeDue = async () => {
      const past = new Date(Date.now() - 1000).toISOString();
      await sql`update ${table} set next_run_at = ${past} where name = ${SCHEDULE}`.execute(db());
    };
    const lastSynced = async (typeName: string, agoMs: number) => {
      await db().updateTable('catalog_types').set({ last_synced_at: new Date(Date.now() - agoMs).toISOString() }).where('type_name', '=', typeName).execute();
    };
    const scheduledRuns = async () => (await s.owner.get('/api/v1/catalog_sync_runs?source=pagerduty&limit=100')).body.sync_runs.filter((r: any) => r.trigger === 'schedule');
    const nextScheduledRun = async (known: number) => {
      const until = Date.now() + 20_000;
      for (;;) {
        const runs = await scheduledRuns();
        if (runs.length > known) return runs[0];
        if (Date.now() > until) throw new Error('the scheduler started no sync run');
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    it('starting Firebreak registers the catalog-sync schedule with the job queue, every minute', async () => {
      const row = await scheduleRow();
      expect(row, 'schedule row').toBeDefined();
      expect(row).toMatchObject({ name: SCHEDULE, task: TICK_TASK });
      expect(Number(row!.interval_ms)).toBe(60_000);
    });

    it('when the schedule fires, hourly types older than an hour sync and priorities (daily) wait for a day', async () => {
      const known = (await scheduledRuns()).length;
      for (const t of HOURLY) await lastSynced(t, HOUR + 60_000);
      await lastSynced('PagerDutyPriority', HOUR + 60_000);
      await makeDue();
      const run = await nextScheduledRun(known);
      expect([...run.types].sort()).toEqual(['escalation_policies', 'services', 'teams', 'users']);
      expect((await waitForRun(s, run.id)).status).toBe('succeeded');

      // A day later for priorities; the hourly types were just synced, so only priorities are due.
      await lastSynced('PagerDutyPriority', 24 * HOUR + 60_000);
      await makeDue();
      const daily = await nextScheduledRun(known + 1);
      expect(daily.types).toEqual(['priorities']);
      expect((await waitForRun(s, daily.id)).status).toBe('succeeded');
    });

    it('when nothing is due, the schedule fires and starts no run', async () => {
      const known = (await scheduledRuns()).length;
      const before = await sql<{ n: number | string }>`select count(*) as n from ${table} where name = ${SCHEDULE}`.execute(db());
      expect(Number(before.rows[0]!.n)).toBe(1);
      await makeDue();
      // The scheduler advanced the slot (it fired) ...
      const until = Date.now() + 10_000;
      for (;;) {
        const r = await sql<{ next_run_at: string | Date }>`select next_run_at from ${table} where name = ${SCHEDULE}`.execute(db());
        if (new Date(r.rows[0]!.next_run_at).getTime() > Date.now()) break;
        if (Date.now() > until) throw new Error('the scheduler never fired the due schedule');
        await new Promise((res) => setTimeout(res, 100));
      }
      await s.fb.app.jobs.drain(10_000);
      // ... and the tick found every type fresh.
      expect((await scheduledRuns()).length).toBe(known);
    });
  });
}
