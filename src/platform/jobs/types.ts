import type { Executor } from '../db/index.js';

/** What a running job knows about itself. */
export interface JobContext {
  jobId: string;
  name: string;
  /** 1 on the first run. */
  attempt: number;
  maxAttempts: number;
  /** Aborted when the process shuts down; long jobs should stop and throw so the job is retried. */
  signal: AbortSignal;
}

export type JobHandler<P = unknown> = (payload: P, ctx: JobContext) => Promise<void>;

export interface EnqueueOptions {
  /** Deduplicates: while a job with this key is pending (or running), enqueueing it again adds nothing. */
  jobKey?: string;
  /** Run no earlier than this. */
  runAt?: Date;
  /** Run no earlier than now + delayMs. */
  delayMs?: number;
  /** Default from the job definition, else 10. */
  maxAttempts?: number;
  /** Lower runs first. Interactive work uses negative priorities. Default 0. */
  priority?: number;
  /** Jobs sharing a queue name run one at a time, in enqueue order (e.g. per PagerDuty incident). */
  queue?: string;
}

export interface NewJob {
  name: string;
  payload: unknown;
  opts?: EnqueueOptions;
}

export interface JobEvent {
  type: 'completed' | 'failed' | 'dead';
  name: string;
  jobId: string;
  attempt: number;
  durationMs: number;
  error?: string;
}

export interface DeadJob {
  id: string;
  name: string;
  payload: unknown;
  attempts: number;
  lastError: string | null;
  failedAt: string | null;
}

export interface JobStats {
  pending: number;
  running: number;
  dead: number;
}

/**
 * One job interface, two adapters: an in-process runner persisting to SQLite, and graphile-worker on
 * PostgreSQL (several Firebreak processes share the work; a job runs once).
 */
export interface JobQueue {
  readonly kind: 'sqlite' | 'postgres';
  /** Register a handler before start(). */
  define<P>(name: string, handler: JobHandler<P>, opts?: { maxAttempts?: number }): void;
  /**
   * Record a job. Pass the open transaction as `executor` to make the job part of it (outbox): the job
   * exists exactly when the transaction commits.
   */
  enqueue(name: string, payload: unknown, opts?: EnqueueOptions, executor?: Executor): Promise<void>;
  /**
   * Record several jobs at once, in order (one statement on PostgreSQL where it can). Same outbox rule as enqueue.
   * Jobs sharing a `queue` run in the order given.
   */
  enqueueMany(jobs: NewJob[], executor?: Executor): Promise<void>;
  /** A recurring job: `task` runs every intervalMs (at most once per interval across all processes). */
  schedule(scheduleName: string, task: string, intervalMs: number, payload?: unknown): Promise<void>;
  start(): Promise<void>;
  /** Stop taking jobs; let running ones finish within timeoutMs, then release them to be retried. */
  stop(opts?: { timeoutMs?: number }): Promise<void>;
  stats(): Promise<JobStats>;
  deadJobs(limit?: number): Promise<DeadJob[]>;
  /** True when the queue's storage answers. */
  healthy(): Promise<boolean>;
  /** Tests and benchmarks: resolve when no job is ready or running (delayed ones excepted). */
  drain(timeoutMs?: number): Promise<void>;
  /** Observe completions and failures (metrics, logs). */
  onEvent(listener: (e: JobEvent) => void): void;
}

/** Backoff after attempt n (1-based): exponential, capped. Both adapters follow it where they can. */
export function backoffMs(attempt: number, baseMs = 1000, capMs = 3_600_000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
}
