import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db, Executor } from '../db/index.js';
import type { JobsTable } from '../db/schema.js';
import { newId } from '../ids.js';
import {
  backoffMs,
  type DeadJob,
  type EnqueueOptions,
  type JobEvent,
  type JobHandler,
  type JobQueue,
  type JobStats,
  type NewJob,
} from './types.js';
import { errorMessage, JobEvents, noopLogger, resolveRunAt, settlesWithin, sleep, type QueueLogger } from './shared.js';
import { readyOrRunningCount, sqliteDeadJobs, sqliteJobStats } from './sqlite-inspect.js';
import { enqueueDueSchedules, saveSchedule } from './sqlite-schedules.js';

export interface SqliteJobQueueOptions {
  db: Db;
  /** Identifies this runner in `locked_by`. Default: a random id. */
  workerId?: string;
  /** How often to look for due jobs when nothing woke the runner. Default 250 ms. */
  pollIntervalMs?: number;
  /** Jobs run at the same time. Default 4. */
  concurrency?: number;
  logger?: QueueLogger;
  /** Base of the exponential retry backoff. Default 1000 ms (capped at 1 h). Tests use a few ms. */
  backoffBaseMs?: number;
  /**
   * A `running` job whose lock has not been refreshed for this long belongs to a runner that died and is
   * returned to pending. Running jobs refresh their lock every lockTimeoutMs / 3. Default 60 s.
   */
  lockTimeoutMs?: number;
  /**
   * On start, return every `running` job to pending. True by default: with SQLite one Firebreak process owns
   * the database file, so any job still marked running was left by a previous process that died. Set false
   * when several runners share one file (tests) and rely on lockTimeoutMs instead.
   */
  releaseRunningOnStart?: boolean;
}

interface Definition {
  handler: JobHandler<unknown>;
  maxAttempts?: number;
}

interface Running {
  id: string;
  controller: AbortController;
  done: Promise<void>;
}

const DEFAULT_MAX_ATTEMPTS = 10;

/**
 * A job whose runner died mid-run goes back to pending; the interrupted run counts as an attempt, so a job that
 * kills its process every time ends up dead instead of looping forever.
 */
function releaseAbandoned() {
  return {
    state: sql<'pending' | 'dead'>`case when attempts >= max_attempts then 'dead' else 'pending' end`,
    last_error: sql<string>`${ABANDONED_ERROR}`,
    locked_by: null,
    locked_at: null,
    updated_at: nowIso(),
  };
}

export const ABANDONED_ERROR = 'interrupted: the process running this job stopped before it finished';

function nowIso(): string {
  return new Date().toISOString();
}

/**
 * The in-process runner used with SQLite. Every job is a row in `jobs`; the runner claims ready rows with
 * one atomic UPDATE … RETURNING (pending → running, locked_by/locked_at, attempts + 1), so several runners on
 * one file never take the same job. Completed jobs are deleted; failed ones are rescheduled with
 * backoffMs(attempt) until max_attempts, then kept as `dead` with their last error.
 *
 * The runner never holds a transaction open across an await (each step is a single statement), so it cannot
 * deadlock against another connection to the same file.
 */
export function createSqliteJobQueue(options: SqliteJobQueueOptions): JobQueue {
  return new SqliteJobQueue(options);
}

class SqliteJobQueue implements JobQueue {
  readonly kind = 'sqlite' as const;
  private readonly db: Db;
  private readonly workerId: string;
  private readonly pollIntervalMs: number;
  private readonly concurrency: number;
  private readonly logger: QueueLogger;
  private readonly backoffBaseMs: number;
  private readonly lockTimeoutMs: number;
  private readonly releaseRunningOnStart: boolean;
  private readonly definitions = new Map<string, Definition>();
  private readonly running = new Map<string, Running>();
  private readonly events = new JobEvents();
  private started = false;
  private stopping = false;
  private loopPromise: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private wakeRequested = false;
  private lastSweepAt = 0;

  constructor(options: SqliteJobQueueOptions) {
    this.db = options.db;
    this.workerId = options.workerId ?? `sqlite-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.logger = options.logger ?? noopLogger;
    this.backoffBaseMs = options.backoffBaseMs ?? 1000;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 60_000;
    this.releaseRunningOnStart = options.releaseRunningOnStart ?? true;
  }

  define<P>(name: string, handler: JobHandler<P>, opts?: { maxAttempts?: number }): void {
    if (this.started) throw new Error(`job "${name}" must be defined before start()`);
    if (this.definitions.has(name)) throw new Error(`job "${name}" is already defined`);
    this.definitions.set(name, { handler: handler as JobHandler<unknown>, maxAttempts: opts?.maxAttempts });
  }

  async enqueueMany(jobs: NewJob[], executor?: Executor): Promise<void> {
    for (const j of jobs) await this.enqueue(j.name, j.payload, j.opts, executor);
  }

  async enqueue(name: string, payload: unknown, opts: EnqueueOptions = {}, executor?: Executor): Promise<void> {
    const now = nowIso();
    const maxAttempts = opts.maxAttempts ?? this.definitions.get(name)?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new Error(`maxAttempts must be a positive integer`);
    await (executor ?? this.db)
      .insertInto('jobs')
      .values({
        id: newId(),
        name,
        payload: JSON.stringify(payload ?? null),
        job_key: opts.jobKey ?? null,
        queue: opts.queue ?? null,
        priority: opts.priority ?? 0,
        run_at: resolveRunAt(opts).toISOString(),
        attempts: 0,
        max_attempts: maxAttempts,
        state: 'pending',
        locked_by: null,
        locked_at: null,
        last_error: null,
        created_at: now,
        updated_at: now,
      })
      // The only unique constraints are the primary key (a fresh UUID) and the partial index on job_key for
      // pending/running jobs, so "do nothing" is exactly the dedupe.
      .onConflict((oc) => oc.doNothing())
      .execute();
    // Inside a transaction the row is not visible until commit; the regular poll picks it up then.
    this.wake();
  }

  async schedule(scheduleName: string, task: string, intervalMs: number, payload?: unknown): Promise<void> {
    await saveSchedule(this.db, scheduleName, task, intervalMs, payload);
    this.wake();
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stopping = false;
    if (this.releaseRunningOnStart) {
      const res = await this.db.updateTable('jobs').set(releaseAbandoned()).where('state', '=', 'running').executeTakeFirst();
      const n = Number(res.numUpdatedRows);
      if (n > 0) this.logger.warn({ jobs: n }, 'released jobs left running by a previous process');
    }
    this.loopPromise = this.loop();
  }

  async stop(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (!this.started) return;
    this.stopping = true;
    this.wake();
    await this.loopPromise;
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const finished = await settlesWithin(Promise.all([...this.running.values()].map((r) => r.done)), timeoutMs);
    if (!finished) {
      const ids = [...this.running.keys()];
      // The interrupted attempt does not count: the job goes back to pending, ready to run again.
      await this.db
        .updateTable('jobs')
        .set({
          state: 'pending',
          locked_by: null,
          locked_at: null,
          attempts: sql<number>`max(attempts - 1, 0)`,
          run_at: nowIso(),
          updated_at: nowIso(),
        })
        .where('id', 'in', ids)
        .where('state', '=', 'running')
        .where('locked_by', '=', this.workerId)
        .execute();
      // Released first, then aborted: whatever the handler does next can no longer change the job's row.
      for (const r of this.running.values()) r.controller.abort(new Error('job queue is stopping'));
      this.logger.warn({ jobs: ids.length }, 'released unfinished jobs at shutdown');
    }
    this.running.clear();
    this.started = false;
  }

  stats(): Promise<JobStats> {
    return sqliteJobStats(this.db);
  }

  deadJobs(limit = 100): Promise<DeadJob[]> {
    return sqliteDeadJobs(this.db, limit);
  }

  async healthy(): Promise<boolean> {
    try {
      await sql`select 1`.execute(this.db);
      return true;
    } catch {
      return false;
    }
  }

  async drain(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if ((await readyOrRunningCount(this.db)) === 0 && this.running.size === 0) return;
      if (Date.now() > deadline) throw new Error(`drain: jobs still ready or running after ${timeoutMs} ms`);
      this.wake();
      await sleep(10);
    }
  }

  onEvent(listener: (e: JobEvent) => void): void {
    this.events.on(listener);
  }

  // ---- runner ----

  private wake(): void {
    this.wakeRequested = true;
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      this.wakeRequested = false;
      try {
        await this.tick();
      } catch (err) {
        this.logger.error({ err }, 'job runner poll failed');
      }
      if (this.stopping) break;
      if (this.wakeRequested) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.wakeUp = null;
          resolve();
        }, this.pollIntervalMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    if (now - this.lastSweepAt >= Math.min(this.lockTimeoutMs / 3, 5_000)) {
      this.lastSweepAt = now;
      await this.refreshLocks();
      await this.releaseStaleLocks();
    }
    await enqueueDueSchedules(this.db, (task, payload, opts) => this.enqueue(task, payload, opts));
    while (!this.stopping && this.running.size < this.concurrency) {
      const job = await this.claim();
      if (!job) break;
      this.execute(job);
    }
  }

  /** Running jobs keep their lock fresh so that no other runner mistakes them for abandoned ones. */
  private async refreshLocks(): Promise<void> {
    if (this.running.size === 0) return;
    await this.db
      .updateTable('jobs')
      .set({ locked_at: nowIso() })
      .where('id', 'in', [...this.running.keys()])
      .where('locked_by', '=', this.workerId)
      .where('state', '=', 'running')
      .execute();
  }

  /** A runner that died mid-job left it `running`; after lockTimeoutMs it returns to pending and is retried. */
  private async releaseStaleLocks(): Promise<void> {
    const cutoff = new Date(Date.now() - this.lockTimeoutMs).toISOString();
    const res = await this.db
      .updateTable('jobs')
      .set(releaseAbandoned())
      .where('state', '=', 'running')
      .where('locked_at', '<', cutoff)
      .executeTakeFirst();
    const n = Number(res.numUpdatedRows);
    if (n > 0) this.logger.warn({ jobs: n }, 'released jobs whose runner stopped refreshing its lock');
  }

  private async claim(): Promise<JobsTable | undefined> {
    const names = [...this.definitions.keys()];
    if (names.length === 0) return undefined;
    const now = nowIso();
    // A read first: an idle poll then never takes SQLite's write lock.
    const ready = await this.db
      .selectFrom('jobs')
      .select('id')
      .where('state', '=', 'pending')
      .where('run_at', '<=', now)
      .where('name', 'in', names)
      .limit(1)
      .executeTakeFirst();
    if (!ready) return undefined;
    // One statement: pick the best ready job this runner can handle (priority, run_at, enqueue order), skipping
    // queues that already have a running job or an earlier ready job, and lock it.
    const res = await sql<JobsTable>`
      update jobs
      set state = 'running', locked_by = ${this.workerId}, locked_at = ${now},
          attempts = attempts + 1, updated_at = ${now}
      where id = (
        select j.id from jobs j
        where j.state = 'pending' and j.run_at <= ${now}
          and j.name in (${sql.join(names)})
          and (j.queue is null or not exists (
            select 1 from jobs o
            where o.queue = j.queue and o.id <> j.id and (
              o.state = 'running'
              or (o.state = 'pending' and o.run_at <= ${now} and o.rowid < j.rowid)
            )
          ))
        order by j.priority, j.run_at, j.rowid
        limit 1
      ) and state = 'pending'
      returning *`.execute(this.db);
    return res.rows[0];
  }

  private execute(job: JobsTable): void {
    const def = this.definitions.get(job.name);
    const controller = new AbortController();
    const started = Date.now();
    const done = (async () => {
      try {
        if (!def) throw new Error(`no handler defined for job "${job.name}"`);
        await def.handler(JSON.parse(job.payload) as unknown, {
          jobId: job.id,
          name: job.name,
          attempt: job.attempts,
          maxAttempts: job.max_attempts,
          signal: controller.signal,
        });
        await this.complete(job, Date.now() - started);
      } catch (err) {
        await this.fail(job, err, Date.now() - started);
      }
    })()
      .catch((err: unknown) => this.logger.error({ err, jobId: job.id }, 'could not record job outcome'))
      .finally(() => {
        this.running.delete(job.id);
        this.wake();
      });
    this.running.set(job.id, { id: job.id, controller, done });
  }

  private async complete(job: JobsTable, durationMs: number): Promise<void> {
    const res = await this.db
      .deleteFrom('jobs')
      .where('id', '=', job.id)
      .where('state', '=', 'running')
      .where('locked_by', '=', this.workerId)
      .executeTakeFirst();
    // Zero rows: the lock was taken away (released at shutdown or as stale); the job will run again.
    if (Number(res.numDeletedRows) === 1) {
      this.events.emit({ type: 'completed', name: job.name, jobId: job.id, attempt: job.attempts, durationMs });
    }
  }

  private async fail(job: JobsTable, err: unknown, durationMs: number): Promise<void> {
    const message = errorMessage(err);
    const dead = job.attempts >= job.max_attempts;
    const now = nowIso();
    const res = await this.db
      .updateTable('jobs')
      .set({
        state: dead ? 'dead' : 'pending',
        locked_by: null,
        locked_at: null,
        last_error: message,
        run_at: dead ? job.run_at : new Date(Date.now() + backoffMs(job.attempts, this.backoffBaseMs)).toISOString(),
        updated_at: now,
      })
      .where('id', '=', job.id)
      .where('state', '=', 'running')
      .where('locked_by', '=', this.workerId)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return;
    const event: JobEvent = {
      type: dead ? 'dead' : 'failed',
      name: job.name,
      jobId: job.id,
      attempt: job.attempts,
      durationMs,
      error: message,
    };
    this.logger[dead ? 'error' : 'warn']({ jobId: job.id, job: job.name, attempt: job.attempts, err: message }, dead ? 'job is dead' : 'job failed; will retry');
    this.events.emit(event);
  }
}
