import { EventEmitter } from 'node:events';
import { Kysely, PostgresDialect, sql } from 'kysely';
import type pg from 'pg';
import { loadGraphileWorker, loadPg } from '../db/lazy-packages.js';
import type { Logger, Job, Runner, TaskList, WorkerEvents, WorkerPool } from 'graphile-worker';
import { afterCommit, beforeCommit, type Executor } from '../db/index.js';
import type { DeadJob, EnqueueOptions, JobEvent, JobHandler, JobQueue, JobStats, NewJob } from './types.js';
import { createSchedulesTable, enqueueDueSchedules, saveSchedule } from './postgres-schedules.js';
import { createAddJobsQuietly, createAddKeyedJobsQuietly, createWorkersTable, forgetWorker, unlockAbandoned, writeHeartbeat } from './postgres-workers.js';
import { errorMessage, JobEvents, noopLogger, settlesWithin, sleep, type QueueLogger } from './shared.js';

export interface PostgresJobQueueOptions {
  /** The pool from openDatabase's pgPool; the queue shares it and never ends it. */
  pool?: pg.Pool;
  /** Used only when no pool is given: the queue opens its own pool and ends it in stop(). */
  connectionString?: string;
  /** Jobs this process runs at the same time. Default 4. */
  concurrency?: number;
  logger?: QueueLogger;
  /** graphile-worker's schema. Default 'graphile_worker'. Tests use one per test for isolation. */
  schema?: string;
  /**
   * How often to look for due delayed jobs and due schedules (new jobs arrive at once through LISTEN/NOTIFY).
   * Default 1000 ms.
   */
  pollIntervalMs?: number;
  /**
   * A process that stopped heartbeating for this long is taken for dead: the jobs it had locked are unlocked
   * and run again by the others (graphile-worker alone would wait 4 hours). Every process heartbeats every
   * lockTimeoutMs / 4, so all processes sharing a database should use the same value. Default 60 s.
   */
  lockTimeoutMs?: number;
}

interface Definition {
  handler: JobHandler<unknown>;
  maxAttempts?: number;
}

const DEFAULT_MAX_ATTEMPTS = 10;

/**
 * JobQueue over graphile-worker 0.17 (library mode). Several Firebreak processes share the work through
 * graphile-worker's SKIP LOCKED job fetching; a job runs once.
 *
 * - enqueue: `add_job(..., job_key_mode => 'unsafe_dedupe')` through the caller's executor (outbox). That mode
 *   adds nothing while a job with the key exists and is pending or running, which is our contract; the default
 *   'replace' mode would overwrite a pending job's payload and, for a running one, add a second job. A dead job
 *   would still hold its key, so enqueue first clears the key of a dead job with that key.
 * - retries: graphile-worker's own backoff, exp(min(attempts, 10)) seconds (2.7 s, 7.4 s, 20 s … about 6 h).
 * - dead jobs: graphile-worker keeps them with attempts = max_attempts and last_error.
 * - schedules: rows in `<schema>._firebreak_schedules`; a due row is advanced and its job added in one
 *   transaction under FOR UPDATE SKIP LOCKED, so across all processes each slot runs once (graphile-worker's
 *   crontab is minute-granular, too coarse for intervals).
 * - crash recovery: `<schema>._firebreak_workers` holds a heartbeat per worker pool; jobs locked by a pool whose
 *   heartbeat is older than lockTimeoutMs are unlocked (the interrupted run counts as an attempt).
 */
function runAtOf(opts: EnqueueOptions): Date | null {
  return opts.runAt ?? (opts.delayMs !== undefined && opts.delayMs > 0 ? new Date(Date.now() + opts.delayMs) : null);
}

/** An unkeyed job as `_firebreak_add_jobs` takes it. */
interface PlainJobRow {
  name: string;
  payload: string;
  queue: string | null;
  runAt: string | null;
  maxAttempts: number;
  priority: number;
}

export function createPostgresJobQueue(options: PostgresJobQueueOptions): JobQueue {
  return new PostgresJobQueue(options);
}

class PostgresJobQueue implements JobQueue {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  private readonly kdb: Kysely<unknown>;
  private readonly schema: string;
  /** Quoted schema name, safe to splice into SQL. */
  private readonly s: string;
  private readonly concurrency: number;
  private readonly logger: QueueLogger;
  private readonly pollIntervalMs: number;
  private readonly lockTimeoutMs: number;
  private readonly definitions = new Map<string, Definition>();
  private readonly events = new JobEvents();
  private setupPromise: Promise<void> | null = null;
  private runner: Runner | null = null;
  private workerPool: WorkerPool | null = null;
  private abort = new AbortController();
  private readonly startedAt = new Map<string, number>();
  private readonly released = new Set<string>();
  private running = false;
  private timers: NodeJS.Timeout[] = [];
  private scheduleTick: Promise<void> | null = null;

  constructor(options: PostgresJobQueueOptions) {
    if (options.pool) {
      this.pool = options.pool;
      this.ownsPool = false;
    } else if (options.connectionString) {
      this.pool = new (loadPg().Pool)({ connectionString: options.connectionString });
      this.pool.on('error', () => {});
      this.ownsPool = true;
    } else {
      throw new Error('createPostgresJobQueue needs a pool or a connectionString');
    }
    // Errors on checked-out clients (graphile-worker's LISTEN connection) must not crash the process; the pool
    // reconnects. graphile-worker would otherwise install its own handlers and warn on every start.
    if (this.pool.listeners('connect').length === 0) {
      this.pool.on('connect', (client) => {
        client.on('error', (err) => this.logger.warn({ err }, 'job queue database connection error'));
      });
    }
    // Never destroyed: destroying would end the shared pool.
    this.kdb = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: this.pool }) });
    this.schema = options.schema ?? 'graphile_worker';
    this.s = `"${this.schema.replace(/"/g, '""')}"`;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.logger = options.logger ?? noopLogger;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 60_000;
  }

  define<P>(name: string, handler: JobHandler<P>, opts?: { maxAttempts?: number }): void {
    if (this.running) throw new Error(`job "${name}" must be defined before start()`);
    if (this.definitions.has(name)) throw new Error(`job "${name}" is already defined`);
    this.definitions.set(name, { handler: handler as JobHandler<unknown>, maxAttempts: opts?.maxAttempts });
  }

  async enqueue(name: string, payload: unknown, opts: EnqueueOptions = {}, executor?: Executor): Promise<void> {
    if (opts.jobKey === undefined && executor) return this.enqueueMany([{ name, payload, opts }], executor);
    await this.setup();
    const maxAttempts = this.maxAttemptsOf(name, opts);
    const runAt = runAtOf(opts);
    const exec = executor ?? this.kdb;
    const S = sql.raw(this.s);
    if (opts.jobKey !== undefined) {
      // A dead job keeps its key in graphile-worker; our keys dedupe only pending/running jobs.
      await sql`update ${S}._private_jobs set key = null
        where key = ${opts.jobKey} and locked_at is null and attempts >= max_attempts`.execute(exec);
    }
    await sql`select 1 from ${S}.add_job(
        identifier => ${name}::text,
        payload => ${JSON.stringify(payload ?? null)}::json,
        queue_name => ${opts.queue ?? null}::text,
        run_at => ${runAt ? runAt.toISOString() : null}::timestamptz,
        max_attempts => ${maxAttempts}::int,
        job_key => ${opts.jobKey ?? null}::text,
        priority => ${opts.priority ?? 0}::int,
        job_key_mode => 'unsafe_dedupe'
      )`.execute(exec);
  }

  /**
   * Jobs without a key. Inside a transaction opened by inTransaction they are gathered and inserted just before
   * COMMIT, every job the transaction added (its domain events' subscribers' included) by one `_firebreak_add_jobs`
   * (graphile-worker's add_jobs without its NOTIFY), and the workers are told after COMMIT: a NOTIFY inside a writing
   * transaction holds PostgreSQL's notification lock until the commit record is flushed, so every such commit in the
   * cluster waits for the one before (no group commit). A wake-up lost to a crash right after COMMIT delays the jobs
   * until the workers' next poll (pollIntervalMs), never loses them. The jobs exist exactly when the transaction
   * commits, as before; an insert that fails fails the commit. Elsewhere graphile-worker's add_jobs (NOTIFY
   * included), at once. Jobs with a key: inside such a transaction all of them in one statement
   * (`_firebreak_add_keyed_jobs`, the rules of enqueue), elsewhere through enqueue one by one (50 people declaring
   * at once in Slack write 50 keyed jobs in one transaction: one statement, not 100 and a NOTIFY).
   */
  async enqueueMany(jobs: NewJob[], executor?: Executor): Promise<void> {
    const keyed = jobs.filter((j) => j.opts?.jobKey !== undefined);
    const plain = jobs.filter((j) => j.opts?.jobKey === undefined);
    if (plain.length > 0) {
      await this.setup();
      const exec = executor ?? this.kdb;
      const S = sql.raw(this.s);
      const rows = plain.map((j) => ({
        name: j.name,
        payload: JSON.stringify(j.payload ?? null),
        queue: j.opts?.queue ?? null,
        runAt: runAtOf(j.opts ?? {})?.toISOString() ?? null,
        maxAttempts: this.maxAttemptsOf(j.name, j.opts ?? {}),
        priority: j.opts?.priority ?? 0,
      }));
      // Only jobs due now are worth a wake-up: a delayed one (an escalation's safety net) is found by the poll
      // when it falls due, and waking workers for it would only send them looking while pages go out.
      const now = Date.now();
      const dueNow = plain.filter((j) => (runAtOf(j.opts ?? {})?.getTime() ?? 0) <= now).length;
      if (executor === undefined || !this.addAtCommit(executor, rows, dueNow)) {
        await sql`select count(*) from ${S}.add_jobs(array(
            select (s.name, s.payload, s.queue, s.run_at, s.max_attempts::smallint, null, s.priority::smallint, null)::${S}.job_spec
            from unnest(${rows.map((r) => r.name)}::text[], ${rows.map((r) => r.payload)}::json[], ${rows.map((r) => r.queue)}::text[],
                        ${rows.map((r) => r.runAt)}::timestamptz[], ${rows.map((r) => r.maxAttempts)}::int[], ${rows.map((r) => r.priority)}::int[])
                 with ordinality as s(name, payload, queue, run_at, max_attempts, priority, ord)
            order by s.ord))`.execute(exec);
      }
    }
    if (keyed.length > 0 && !(await this.addKeyedQuietly(keyed, executor))) {
      for (const j of keyed) await this.enqueue(j.name, j.payload, j.opts, executor);
    }
  }

  /** Unkeyed jobs gathered per transaction opened by inTransaction, until its last work before COMMIT inserts them. */
  private readonly atCommit = new WeakMap<object, { rows: PlainJobRow[]; dueNow: number }>();

  /** Adds the rows to `tx`'s insert before COMMIT (and its wake-up after); false when tx is not opened by inTransaction. */
  private addAtCommit(tx: Executor, rows: PlainJobRow[], dueNow: number): boolean {
    const gathered = this.atCommit.get(tx);
    if (gathered) {
      gathered.rows.push(...rows);
      gathered.dueNow += dueNow;
      return true;
    }
    const batch = { rows: [...rows], dueNow };
    const S = sql.raw(this.s);
    const queued = beforeCommit(
      tx,
      async () => {
        this.atCommit.delete(tx);
        const r = batch.rows;
        await sql`select ${S}._firebreak_add_jobs(${r.map((x) => x.name)}::text[], ${r.map((x) => x.payload)}::json[], ${r.map((x) => x.queue)}::text[],
          ${r.map((x) => x.runAt)}::timestamptz[], ${r.map((x) => x.maxAttempts)}::int[], ${r.map((x) => x.priority)}::int[])`.execute(tx);
      },
      { last: true },
    );
    if (!queued) return false;
    this.atCommit.set(tx, batch);
    afterCommit(tx, () => batch.dueNow > 0 && this.announce(batch.dueNow));
    return true;
  }

  /** Keyed jobs in one statement inside a transaction opened by inTransaction (see enqueueMany); false elsewhere. */
  private async addKeyedQuietly(keyed: NewJob[], executor?: Executor): Promise<boolean> {
    const jobs = keyed;
    const now = Date.now();
    const dueNow = jobs.filter((j) => (runAtOf(j.opts ?? {})?.getTime() ?? 0) <= now).length;
    if (executor === undefined || !afterCommit(executor, () => dueNow > 0 && this.announce(dueNow))) return false;
    await this.setup();
    const S = sql.raw(this.s);
    await sql`select ${S}._firebreak_add_keyed_jobs(${jobs.map((j) => j.name)}::text[], ${jobs.map((j) => JSON.stringify(j.payload ?? null))}::json[],
        ${jobs.map((j) => j.opts?.queue ?? null)}::text[], ${jobs.map((j) => runAtOf(j.opts ?? {})?.toISOString() ?? null)}::timestamptz[],
        ${jobs.map((j) => this.maxAttemptsOf(j.name, j.opts ?? {}))}::int[], ${jobs.map((j) => j.opts?.priority ?? 0)}::int[], ${jobs.map((j) => j.opts!.jobKey!)}::text[])`.execute(executor);
    return true;
  }

  private maxAttemptsOf(name: string, opts: EnqueueOptions): number {
    const maxAttempts = opts.maxAttempts ?? this.definitions.get(name)?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new Error('maxAttempts must be a positive integer');
    return maxAttempts;
  }

  private announcing: Promise<void> | null = null;
  private toAnnounce = 0;

  /**
   * After a commit that added `count` jobs quietly: graphile-worker's own wake-up (every process's pool LISTENs on
   * `jobs:insert` and nudges that many idle workers), one NOTIFY at a time, the counts of commits meanwhile summed.
   */
  private announce(count: number): void {
    this.toAnnounce += count;
    if (this.announcing) return;
    this.announcing = (async () => {
      while (this.toAnnounce > 0) {
        const n = this.toAnnounce;
        this.toAnnounce = 0;
        try {
          await this.pool.query(`select pg_notify('jobs:insert', $1)`, [JSON.stringify({ r: Math.random(), count: n })]);
        } catch (err) {
          this.logger.debug({ err }, 'job queue: wake-up not sent; workers find the jobs at their next poll');
        }
      }
    })().finally(() => (this.announcing = null));
  }

  async schedule(scheduleName: string, task: string, intervalMs: number, payload?: unknown): Promise<void> {
    if (!Number.isFinite(intervalMs) || intervalMs < 1) throw new Error('intervalMs must be positive');
    await this.setup();
    await saveSchedule(this.pool, this.s, scheduleName, task, intervalMs, payload);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.setup();
      this.abort = new AbortController();
      this.released.clear();
      await this.sweepAbandoned();
      this.runner = await loadGraphileWorker().run({
        pgPool: this.pool,
        schema: this.schema,
        concurrency: this.concurrency,
        pollInterval: this.pollIntervalMs,
        noHandleSignals: true,
        logger: this.graphileLogger(),
        events: this.workerEvents(),
        taskList: this.taskList(),
        // Batched (delay 0) completion/failure writes are flushed before a graceful shutdown resolves; unbatched
        // ones (the default) are fire-and-forget, so stop() could return with a finished job still locked.
        preset: { worker: { completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
      });
      await this.heartbeat();
    } catch (err) {
      this.running = false;
      throw err;
    }

    const beat = Math.max(100, Math.floor(this.lockTimeoutMs / 4));
    this.timers.push(
      setInterval(() => {
        void this.heartbeat()
          .then(() => this.sweepAbandoned())
          .catch((err: unknown) => this.logger.error({ err }, 'job queue heartbeat failed'));
      }, beat),
    );
    const tick = () => {
      if (this.scheduleTick || !this.running) return;
      this.scheduleTick = enqueueDueSchedules(this.pool, this.s, (task) => this.definitions.get(task)?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS)
        .catch((err: unknown) => this.logger.error({ err }, 'running due schedules failed'))
        .finally(() => (this.scheduleTick = null));
    };
    this.timers.push(setInterval(tick, this.pollIntervalMs));
    tick();
  }

  async stop(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.scheduleTick;
    const runner = this.runner;
    const workerPool = this.workerPool;
    this.runner = null;
    this.workerPool = null;
    if (runner) {
      const graceful = runner.stop().catch((err: unknown) => this.logger.debug({ err }, 'graceful stop ended with an error'));
      const finished = await settlesWithin(graceful, opts.timeoutMs ?? 10_000);
      if (!finished && workerPool) {
        // forcefulShutdown unlocks the running jobs by failing them (an attempt spent, retry after a backoff);
        // the interruption was ours, not the job's, so give the attempt back and make the job ready now.
        try {
          const { forceFailedJobs } = await workerPool.forcefulShutdown('interrupted: Firebreak job queue stopped');
          const ids = forceFailedJobs.map((j) => j.id);
          for (const id of ids) this.released.add(id);
          if (ids.length > 0) {
            await this.pool.query(
              `update ${this.s}._private_jobs
               set run_at = now(), attempts = greatest(attempts - 1, 0)
               where id = any($1::bigint[]) and locked_at is null`,
              [ids],
            );
            this.logger.warn({ jobs: ids.length }, 'released unfinished jobs at shutdown');
          }
        } catch (err) {
          // Whatever stayed locked is unlocked by the other processes' sweep (or the next start) after lockTimeoutMs.
          this.logger.error({ err }, 'could not release running jobs at shutdown');
        }
        this.abort.abort(new Error('job queue is stopping'));
        await settlesWithin(graceful, 5000);
      }
    }
    await forgetWorker(this.pool, this.s, workerPool?.id ?? '').catch(() => {});
    if (this.ownsPool) await this.pool.end();
  }

  async stats(): Promise<JobStats> {
    await this.setup();
    const { rows } = await this.pool.query<{ pending: string; running: string; dead: string }>(
      `select count(*) filter (where locked_at is null and attempts < max_attempts) as pending,
              count(*) filter (where locked_at is not null) as running,
              count(*) filter (where locked_at is null and attempts >= max_attempts) as dead
       from ${this.s}._private_jobs`,
    );
    const r = rows[0]!;
    return { pending: Number(r.pending), running: Number(r.running), dead: Number(r.dead) };
  }

  async deadJobs(limit = 100): Promise<DeadJob[]> {
    await this.setup();
    const { rows } = await this.pool.query<{
      id: string;
      name: string;
      payload: unknown;
      attempts: number;
      last_error: string | null;
      updated_at: Date;
    }>(
      `select j.id::text as id, t.identifier as name, j.payload, j.attempts, j.last_error, j.updated_at
       from ${this.s}._private_jobs j join ${this.s}._private_tasks t on t.id = j.task_id
       where j.locked_at is null and j.attempts >= j.max_attempts
       order by j.updated_at desc, j.id desc
       limit $1`,
      [limit],
    );
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      payload: r.payload,
      attempts: r.attempts,
      lastError: r.last_error,
      failedAt: r.updated_at.toISOString(),
    }));
  }

  async healthy(): Promise<boolean> {
    try {
      await this.pool.query('select 1');
      return true;
    } catch {
      return false;
    }
  }

  async drain(timeoutMs = 10_000): Promise<void> {
    await this.setup();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await this.pool.query<{ n: string }>(
        `select count(*) as n from ${this.s}._private_jobs
         where locked_at is not null or (run_at <= now() and attempts < max_attempts)`,
      );
      if (Number(rows[0]!.n) === 0 && this.startedAt.size === 0) return;
      if (Date.now() > deadline) throw new Error(`drain: jobs still ready or running after ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  onEvent(listener: (e: JobEvent) => void): void {
    this.events.on(listener);
  }

  // ---- internals ----

  /** graphile-worker's migrations, then our two tables, once per instance. */
  private setup(): Promise<void> {
    this.setupPromise ??= (async () => {
      await loadGraphileWorker().runMigrations({ pgPool: this.pool, schema: this.schema, logger: this.graphileLogger() });
      const client = await this.pool.connect();
      try {
        await client.query('begin');
        // Serialise concurrent starts: CREATE TABLE IF NOT EXISTS can still collide on the type name.
        await client.query('select pg_advisory_xact_lock(hashtext($1))', [`firebreak-jobs:${this.schema}`]);
        await createSchedulesTable(client, this.s);
        await createWorkersTable(client, this.s);
        await createAddJobsQuietly(client, this.s);
        await createAddKeyedJobsQuietly(client, this.s);
        await client.query('commit');
      } catch (err) {
        await client.query('rollback').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    })().catch((err: unknown) => {
      this.setupPromise = null;
      throw err;
    });
    return this.setupPromise;
  }

  private workerEvents(): WorkerEvents {
    const events = new EventEmitter() as WorkerEvents;
    events.on('pool:create', ({ workerPool }) => {
      this.workerPool = workerPool;
    });
    events.on('job:start', ({ job }) => {
      this.startedAt.set(job.id, Date.now());
    });
    // Note: graphile-worker emits these before the job's row is updated.
    events.on('job:success', ({ job }) => this.emit('completed', job));
    events.on('job:error', ({ job, error }) => {
      if (job.attempts < job.max_attempts) this.emit('failed', job, error);
    });
    events.on('job:failed', ({ job, error }) => this.emit('dead', job, error));
    events.on('job:complete', ({ job }) => {
      this.startedAt.delete(job.id);
    });
    return events;
  }

  private taskList(): TaskList {
    const tasks: TaskList = {};
    for (const [name, def] of this.definitions) {
      tasks[name] = async (payload, helpers) => {
        await def.handler(payload, {
          jobId: helpers.job.id,
          name,
          attempt: helpers.job.attempts,
          maxAttempts: helpers.job.max_attempts,
          signal: this.abort.signal,
        });
      };
    }
    return tasks;
  }

  private emit(type: JobEvent['type'], job: Job, error?: unknown): void {
    if (this.released.has(job.id)) return; // released at shutdown: neither a success nor a failure of the job
    const started = this.startedAt.get(job.id);
    this.events.emit({
      type,
      name: job.task_identifier,
      jobId: job.id,
      attempt: job.attempts,
      durationMs: started === undefined ? 0 : Date.now() - started,
      ...(error === undefined ? {} : { error: errorMessage(error) }),
    });
  }

  private async heartbeat(): Promise<void> {
    const id = this.workerPool?.id;
    if (!id || !this.running) return;
    await writeHeartbeat(this.pool, this.s, id);
  }

  /** Jobs locked by a process that died go back to the others (postgres-workers.ts). */
  private async sweepAbandoned(): Promise<void> {
    const n = await unlockAbandoned(this.pool, this.s, this.lockTimeoutMs);
    if (n > 0) {
      this.logger.warn({ jobs: n }, 'unlocked jobs of a worker that stopped heartbeating');
      this.workerPool?.nudge(n);
    }
  }

  private graphileLogger(): Logger {
    const log = this.logger;
    return new (loadGraphileWorker().Logger)((scope) => (level, message, meta) => {
      // Only the scope and an error: graphile-worker's meta carries whole jobs, payloads included.
      const error = meta?.error ?? meta?.fatalError;
      const obj = { ...scope, ...(error === undefined ? {} : { err: error }) };
      // graphile-worker logs every completed job at info; that is debug for us (we emit JobEvents instead).
      if (level === 'error') log.error(obj, message);
      else if (level === 'warning') log.warn(obj, message);
      else log.debug(obj, message);
    });
  }
}
