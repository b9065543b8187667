import type pg from 'pg';

// Schedules of the graphile-worker adapter: rows in `<schema>._firebreak_schedules` (graphile-worker's own crontab
// is minute-granular, too coarse for intervals). A due row is advanced and its run added as a graphile-worker
// job in one transaction under FOR UPDATE SKIP LOCKED, so across all processes each slot runs once.
// `s` is the quoted schema name throughout (safe to splice into SQL).

export async function createSchedulesTable(client: pg.ClientBase, s: string): Promise<void> {
  await client.query(`create table if not exists ${s}._firebreak_schedules (
    name text primary key,
    task text not null,
    payload json not null,
    interval_ms bigint not null,
    next_run_at timestamptz not null,
    updated_at timestamptz not null
  )`);
}

export async function saveSchedule(pool: pg.Pool, s: string, scheduleName: string, task: string, intervalMs: number, payload: unknown): Promise<void> {
  // Re-registering (every start) keeps the slot already planned.
  await pool.query(
    `insert into ${s}._firebreak_schedules (name, task, payload, interval_ms, next_run_at, updated_at)
     values ($1, $2, $3::json, $4, now(), now())
     on conflict (name) do update set task = excluded.task, payload = excluded.payload,
       interval_ms = excluded.interval_ms, updated_at = now()`,
    [scheduleName, task, JSON.stringify(payload ?? null), Math.round(intervalMs)],
  );
}

/** Due schedules: advance and add the run in one transaction; SKIP LOCKED keeps processes off each other. */
export async function enqueueDueSchedules(pool: pg.Pool, s: string, maxAttemptsOf: (task: string) => number): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const { rows } = await client.query<{ name: string; task: string; payload: unknown; slot: string }>(
      `select name, task, payload, next_run_at::text as slot from ${s}._firebreak_schedules
       where next_run_at <= now() for update skip locked`,
    );
    for (const r of rows) {
      await client.query(
        `update ${s}._firebreak_schedules
         set next_run_at = case
               when next_run_at + interval_ms * interval '1 millisecond' > now()
                 then next_run_at + interval_ms * interval '1 millisecond'
               else now() + interval_ms * interval '1 millisecond' -- fell behind: skip missed slots
             end,
             updated_at = now()
         where name = $1`,
        [r.name],
      );
      await client.query(
        `select 1 from ${s}.add_job(identifier => $1::text, payload => $2::json,
           max_attempts => $3::int, job_key => $4::text, job_key_mode => 'unsafe_dedupe')`,
        [r.task, JSON.stringify(r.payload), maxAttemptsOf(r.task), `schedule:${r.name}:${r.slot}`],
      );
    }
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
