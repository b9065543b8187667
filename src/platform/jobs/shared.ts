import type { EnqueueOptions, JobEvent } from './types.js';

/** The slice of a pino logger the queues use. */
export interface QueueLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const noopLogger: QueueLogger = { debug() {}, info() {}, warn() {}, error() {} };

export class JobEvents {
  private readonly listeners: Array<(e: JobEvent) => void> = [];
  on(listener: (e: JobEvent) => void): void {
    this.listeners.push(listener);
  }
  emit(e: JobEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // A failing metrics/log listener must not affect the job.
      }
    }
  }
}

export function resolveRunAt(opts: EnqueueOptions): Date {
  if (opts.runAt) return opts.runAt;
  if (opts.delayMs !== undefined && opts.delayMs > 0) return new Date(Date.now() + opts.delayMs);
  return new Date();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves true when p settles within ms, false otherwise; the timer does not outlive the race. */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
