import type { Db } from '../db/index.js';
import type { EnqueueOptions } from './types.js';

// Schedules of the SQLite runner: rows in `job_schedules` (migration 0002). Registering keeps the slot already
// planned; each due slot is claimed with a compare-and-set on next_run_at and then enqueued as an ordinary job,
// so several runners on one file, or overlapping polls, run a slot at most once.

export async function saveSchedule(db: Db, scheduleName: string, task: string, intervalMs: number, payload: unknown): Promise<void> {
  if (!Number.isFinite(intervalMs) || intervalMs < 1) throw new Error('intervalMs must be positive');
  const now = new Date().toISOString();
  await db
    .insertInto('job_schedules')
    .values({
      name: scheduleName,
      task,
      payload: JSON.stringify(payload ?? null),
      interval_ms: Math.round(intervalMs),
      next_run_at: now,
      updated_at: now,
    })
    // Re-registering (every start) keeps the slot already planned, so a restart does not run it early.
    .onConflict((oc) =>
      oc.column('name').doUpdateSet({
        task: (eb) => eb.ref('excluded.task'),
        payload: (eb) => eb.ref('excluded.payload'),
        interval_ms: (eb) => eb.ref('excluded.interval_ms'),
        updated_at: (eb) => eb.ref('excluded.updated_at'),
      }),
    )
    .execute();
}

/**
 * Each due schedule is advanced with a compare-and-set on next_run_at; only the runner whose update matched
 * enqueues the run, so overlapping polls or several runners never double a slot. The job key names the slot
 * as a second guard. A crash between the two statements skips that one run (at most once per interval).
 */
export async function enqueueDueSchedules(db: Db, enqueue: (task: string, payload: unknown, opts: EnqueueOptions) => Promise<void>): Promise<void> {
  const nowMs = Date.now();
  const now = new Date(nowMs).toISOString();
  const due = await db.selectFrom('job_schedules').selectAll().where('next_run_at', '<=', now).execute();
  for (const s of due) {
    const slotMs = Date.parse(s.next_run_at);
    let nextMs = slotMs + s.interval_ms;
    if (nextMs <= nowMs) nextMs = nowMs + s.interval_ms; // fell behind (process was down): skip missed slots
    const res = await db
      .updateTable('job_schedules')
      .set({ next_run_at: new Date(nextMs).toISOString(), updated_at: now })
      .where('name', '=', s.name)
      .where('next_run_at', '=', s.next_run_at)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) continue;
    await enqueue(s.task, JSON.parse(s.payload) as unknown, { jobKey: `schedule:${s.name}:${s.next_run_at}` });
  }
}
