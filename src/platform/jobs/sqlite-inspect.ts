import type { Db } from '../db/index.js';
import type { DeadJob, JobStats } from './types.js';

// What the SQLite runner reports about its `jobs` table without running anything: counts by state (metrics,
// /readyz, tests), the dead jobs with their last error, and whether work is still ready or running (drain).

export async function sqliteJobStats(db: Db): Promise<JobStats> {
  const rows = await db
    .selectFrom('jobs')
    .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('state')
    .execute();
  const stats: JobStats = { pending: 0, running: 0, dead: 0 };
  for (const r of rows) {
    if (r.state === 'pending' || r.state === 'running' || r.state === 'dead') stats[r.state] = Number(r.n);
  }
  return stats;
}

/** Most recently failed first. */
export async function sqliteDeadJobs(db: Db, limit: number): Promise<DeadJob[]> {
  const rows = await db
    .selectFrom('jobs')
    .selectAll()
    .where('state', '=', 'dead')
    .orderBy('updated_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    payload: JSON.parse(r.payload) as unknown,
    attempts: r.attempts,
    lastError: r.last_error,
    failedAt: r.updated_at,
  }));
}

/** Jobs running, or pending and due now (delayed ones excepted). */
export async function readyOrRunningCount(db: Db): Promise<number> {
  const now = new Date().toISOString();
  const row = await db
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where((eb) => eb.or([eb('state', '=', 'running'), eb.and([eb('state', '=', 'pending'), eb('run_at', '<=', now)])]))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
