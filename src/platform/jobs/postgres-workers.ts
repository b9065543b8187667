import type pg from 'pg';

// Crash recovery for the graphile-worker adapter. graphile-worker alone waits 4 hours before it runs a job locked
// by a process that died; instead every worker pool writes a heartbeat to `<schema>._firebreak_workers`, and jobs
// (and named queues) locked by a pool whose heartbeat is older than the lock timeout are unlocked for the others.
// The interrupted run counts as an attempt. `s` is the quoted schema name (safe to splice into SQL).

export const ABANDONED_ERROR = 'interrupted: the process running this job stopped before it finished';

export async function createWorkersTable(client: pg.ClientBase, s: string): Promise<void> {
  await client.query(`create table if not exists ${s}._firebreak_workers (
    pool_id text primary key,
    heartbeat_at timestamptz not null
  )`);
}

export async function writeHeartbeat(pool: pg.Pool, s: string, poolId: string): Promise<void> {
  await pool.query(
    `insert into ${s}._firebreak_workers (pool_id, heartbeat_at) values ($1, now())
     on conflict (pool_id) do update set heartbeat_at = now()`,
    [poolId],
  );
}

/** A pool stopping cleanly says so, so nobody waits for its heartbeat to age. */
export async function forgetWorker(pool: pg.Pool, s: string, poolId: string): Promise<void> {
  await pool.query(`delete from ${s}._firebreak_workers where pool_id = $1`, [poolId]);
}

/**
 * Unlock jobs (and their queues) held by worker pools that stopped heartbeating: their process died. The lock
 * itself must also be older than the timeout, so a pool that has not written its first heartbeat yet is safe.
 * Returns how many jobs were unlocked.
 */
export async function unlockAbandoned(pool: pg.Pool, s: string, lockTimeoutMs: number): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    `with dead as (
       select distinct j.locked_by as pool_id from ${s}._private_jobs j
       where j.locked_by is not null and j.locked_at < now() - $1 * interval '1 millisecond'
         and not exists (select 1 from ${s}._firebreak_workers w
                         where w.pool_id = j.locked_by and w.heartbeat_at >= now() - $1 * interval '1 millisecond')
     ), unlocked as (
       update ${s}._private_jobs j set locked_by = null, locked_at = null, last_error = $2, updated_at = now()
       where j.locked_by in (select pool_id from dead)
       returning j.id
     ), queues as (
       update ${s}._private_job_queues q set locked_by = null, locked_at = null
       where q.locked_by in (select pool_id from dead)
     ), forgotten as (
       delete from ${s}._firebreak_workers where heartbeat_at < now() - 10 * $1 * interval '1 millisecond'
     )
     select count(*) as n from unlocked`,
    [lockTimeoutMs, ABANDONED_ERROR],
  );
  return Number(rows[0]!.n);
}

/** The tasks and queues a batch of jobs names, created when missing (both functions below begin with it). */
const ensureTasksAndQueues = (s: string) => `insert into ${s}._private_tasks as tasks (identifier)
        select distinct n from unnest(names) n
        on conflict do nothing;
      insert into ${s}._private_job_queues as job_queues (queue_name)
        select distinct q from unnest(queues) q where q is not null
        on conflict do nothing;`;

/**
 * `_firebreak_add_jobs(...)`: graphile-worker 0.17's add_jobs for jobs without a key, minus its NOTIFY (the caller
 * sends the wake-up after COMMIT, see PostgresJobQueue.enqueueMany), in the order given. A function rather than
 * one statement because the tasks and queues it may create must be visible to the insert that follows (each
 * statement of a plpgsql function takes a new snapshot, as add_jobs relies on). Keep in step with graphile-worker's
 * add_jobs when upgrading it (the queue contract suite runs against it).
 */
export async function createAddJobsQuietly(client: pg.ClientBase, s: string): Promise<void> {
  await client.query(`create or replace function ${s}._firebreak_add_jobs(
      names text[], payloads json[], queues text[], run_ats timestamptz[], max_attempts int[], priorities int[]
    ) returns void language plpgsql volatile as $$
    begin
      ${ensureTasksAndQueues(s)}
      insert into ${s}._private_jobs (job_queue_id, task_id, payload, run_at, max_attempts, priority)
        select job_queues.id, tasks.id, coalesce(spec.payload, '{}'::json), coalesce(spec.run_at, now()),
               spec.max_attempts::smallint, spec.priority::smallint
        from unnest(names, payloads, queues, run_ats, max_attempts, priorities) with ordinality
               as spec(name, payload, queue, run_at, max_attempts, priority, ord)
        join ${s}._private_tasks as tasks on tasks.identifier = spec.name
        left join ${s}._private_job_queues as job_queues on job_queues.queue_name = spec.queue
        order by spec.ord;
    end
    $$`);
}

/**
 * `_firebreak_add_keyed_jobs(...)`: jobs with keys, in one statement, by the rules `enqueue` follows one job at a
 * time (graphile-worker 0.17's add_job with job_key_mode 'unsafe_dedupe', minus its NOTIFY): a dead job's key is
 * freed first; a key held by a pending or running job adds nothing, and of several jobs with one key in a call the
 * first is added (inserted in the order given, the later ones conflict with it), as adding them one by one would.
 * Keep in step with graphile-worker's add_job when upgrading it (the queue contract suite runs against it).
 */
export async function createAddKeyedJobsQuietly(client: pg.ClientBase, s: string): Promise<void> {
  await client.query(`create or replace function ${s}._firebreak_add_keyed_jobs(
      names text[], payloads json[], queues text[], run_ats timestamptz[], max_attempts int[], priorities int[], keys text[]
    ) returns void language plpgsql volatile as $$
    begin
      update ${s}._private_jobs as dead set key = null
        where dead.key = any(keys) and dead.locked_at is null and dead.attempts >= dead.max_attempts;
      ${ensureTasksAndQueues(s)}
      insert into ${s}._private_jobs as jobs (job_queue_id, task_id, payload, run_at, max_attempts, key, priority)
        select job_queues.id, tasks.id, coalesce(spec.payload, '{}'::json), coalesce(spec.run_at, now()),
               spec.max_attempts::smallint, spec.key, spec.priority::smallint
        from unnest(names, payloads, queues, run_ats, max_attempts, priorities, keys) with ordinality
               as spec(name, payload, queue, run_at, max_attempts, priority, key, ord)
        join ${s}._private_tasks as tasks on tasks.identifier = spec.name
        left join ${s}._private_job_queues as job_queues on job_queues.queue_name = spec.queue
        order by spec.ord
        on conflict (key) do nothing;
    end
    $$`);
}
