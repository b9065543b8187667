import { sql } from 'kysely';
import type { Db } from '../../../platform/db/index.js';

// One request budget per PagerDuty connection, shared by every job. PagerDuty allows 960 requests a minute per
// account key; a token bucket with capacity C refilled at (limit - C) / 60 per second can never exceed the
// limit in any 60-second window, sliding or fixed, so a well-behaved budget meets no 429 at all.
//
// Interactive calls (escalations, acknowledgements) go first: waiters are served in priority order, and
// background work (catalog syncs) may only take a token while a reserve stays in the bucket, so a page never
// waits behind a sync. The server's own view (`ratelimit-remaining`, `ratelimit-reset`, a 429) pauses the
// bucket until the reset it names.
//
// Two stores for the bucket:
// - SQLite deployments run one process: the bucket lives in memory (MemoryRequestBudget).
// - PostgreSQL deployments run several processes: the bucket is one row per connection in
//   `pagerduty_request_budget`, refilled and debited by a single conditional UPDATE using the database clock
//   (PostgresRequestBudget). Each process keeps its own priority queue of waiters; the row is the shared truth.

export type RequestPriority = 'interactive' | 'background';

export interface RequestBudget {
  /** Resolves when this request may go out. */
  acquire(priority: RequestPriority, signal?: AbortSignal): Promise<void>;
  /**
   * Takes `count` interactive tokens now for interactive calls this process is about to make (an escalation's
   * pages, while the escalation is being recorded): those calls then take a token already taken.
   */
  takeAhead(count: number): void;
  /** What the server said after a response. */
  observe(info: { status: number; remaining: number | null; resetMs: number | null }): void;
}

export interface BudgetOptions {
  /** PagerDuty's limit for the key; default 960. */
  limitPerMinute?: number;
}

interface Waiter {
  prio: 0 | 1;
  seq: number;
  resolve: () => void;
  reject: (e: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * How long a token taken ahead waits for its call. One not used by then is forgotten: it stays spent (never given back
 * to the bucket), so the budget only ever errs on the side of fewer requests, and a call is at most this late after
 * its token was debited.
 */
export const TAKEN_AHEAD_TTL_MS = 2000;

/** `granted`: tokens debited (at least 1, at most the `max` asked for). */
type TakeResult = { ok: true; granted: number } | { ok: false; waitMs: number };

abstract class QueuedBudget implements RequestBudget {
  protected readonly capacity: number;
  protected readonly ratePerSec: number;
  protected readonly reserve: number;
  private readonly waiters: Waiter[] = [];
  private seq = 0;
  private pumping = false;
  private timer: NodeJS.Timeout | null = null;
  /** Local pauses learnt from response headers (the shared row also holds the hard pause). */
  protected backgroundPausedUntil = 0;

  constructor(opts: BudgetOptions) {
    const limit = Math.max(1, opts.limitPerMinute ?? 960);
    this.capacity = Math.max(1, Math.min(60, Math.floor(limit / 8)));
    this.ratePerSec = (limit - this.capacity) / 60;
    this.reserve = Math.max(1, Math.floor(this.capacity / 6));
  }

  /**
   * Debits up to `max` tokens when at least `need` are there (background calls need the reserve too), so that
   * waiters queued together cost one trip to the shared store, not one each.
   */
  protected abstract take(need: number, max: number): Promise<TakeResult>;
  protected abstract pauseAll(untilMs: number): void;

  /** Interactive tokens taken ahead (`takeAhead`), oldest first. */
  private takenAhead: { until: number; taken: Promise<boolean> }[] = [];

  takeAhead(count: number): void {
    const until = Date.now() + TAKEN_AHEAD_TTL_MS;
    for (let i = 0; i < count; i++) {
      // false when the store failed: the call that finds it takes its own token.
      this.takenAhead.push({ until, taken: this.wait('interactive').then(() => true, () => false) });
    }
  }

  acquire(priority: RequestPriority, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (priority === 'interactive' && this.takenAhead.length > 0) {
      const now = Date.now();
      while (this.takenAhead.length > 0 && this.takenAhead[0]!.until < now) this.takenAhead.shift();
      const ahead = this.takenAhead.shift();
      if (ahead) return ahead.taken.then((ok) => (ok ? undefined : this.wait(priority, signal)));
    }
    return this.wait(priority, signal);
  }

  /** Queues for a token of the bucket. */
  private wait(priority: RequestPriority, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { prio: priority === 'interactive' ? 0 : 1, seq: this.seq++, resolve, reject, signal };
      if (signal) {
        w.onAbort = () => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiters.push(w);
      this.waiters.sort((a, b) => a.prio - b.prio || a.seq - b.seq);
      if (this.sharedStore) this.kickSoon();
      else this.kick();
    });
  }

  /**
   * True when taking tokens is a trip to a shared store (PostgreSQL): then calls asked together wait for one
   * another (`kickSoon`). In memory a take costs nothing, and waiting a turn would let other work go first.
   */
  protected readonly sharedStore: boolean = false;
  private starting = false;

  /**
   * Starts the pump once the calls made together have all asked: an escalation's targets each ask as their
   * page starts, in the same turn of the event loop, so they queue together and the first one does not go to
   * the shared store alone (one trip for all of them instead of two).
   */
  private kickSoon(): void {
    if (this.pumping || this.starting) return;
    this.starting = true;
    setImmediate(() => {
      this.starting = false;
      this.kick();
    });
  }

  observe(info: { status: number; remaining: number | null; resetMs: number | null }): void {
    const now = Date.now();
    if (info.status === 429) {
      this.pauseAll(now + (info.resetMs ?? 1000));
    } else if (info.remaining !== null && info.resetMs !== null) {
      if (info.remaining <= 0) this.pauseAll(now + info.resetMs);
      else if (info.remaining <= this.reserve) this.backgroundPausedUntil = Math.max(this.backgroundPausedUntil, now + info.resetMs);
    }
    this.kick();
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      for (;;) {
        const head = this.waiters[0];
        if (!head) return;
        const now = Date.now();
        if (head.prio === 1 && now < this.backgroundPausedUntil) return this.wakeIn(this.backgroundPausedUntil - now);
        // Interactive waiters queued together (an escalation's targets) take their tokens in one go.
        const max = head.prio === 0 ? this.waiters.filter((w) => w.prio === 0).length : 1;
        const r = await this.take(head.prio === 0 ? 1 : 1 + this.reserve, max);
        if (!r.ok) {
          // A higher-priority waiter may have arrived meanwhile; the next loop serves it.
          if (this.waiters[0] !== head) continue;
          return this.wakeIn(r.waitMs);
        }
        // The tokens are spent: give them to whoever is first now (an interactive call that arrived wins).
        for (let i = 0; i < r.granted; i++) {
          const current = this.waiters.shift();
          if (!current) return;
          if (current.signal && current.onAbort) current.signal.removeEventListener('abort', current.onAbort);
          current.resolve();
        }
      }
    } catch (err) {
      // The shared store failed: fail the waiters rather than leaving them hanging.
      for (const w of this.waiters.splice(0)) w.reject(err);
    } finally {
      this.pumping = false;
    }
  }

  private wakeIn(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.pumping) void this.pump();
    }, Math.max(1, Math.ceil(ms)));
    this.timer.unref?.();
  }
}

/** The bucket in memory: one process (SQLite deployments, tests). */
export class MemoryRequestBudget extends QueuedBudget {
  private tokens: number;
  private updatedMs = Date.now();
  private pausedUntil = 0;

  constructor(opts: BudgetOptions = {}) {
    super(opts);
    this.tokens = this.capacity;
  }

  protected async take(need: number, max: number): Promise<TakeResult> {
    const now = Date.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedMs) * this.ratePerSec) / 1000);
    this.updatedMs = now;
    if (now < this.pausedUntil) return { ok: false, waitMs: this.pausedUntil - now };
    if (this.tokens >= need) {
      const granted = Math.max(1, Math.min(max, Math.floor(this.tokens - need + 1)));
      this.tokens -= granted;
      return { ok: true, granted };
    }
    return { ok: false, waitMs: ((need - this.tokens) / this.ratePerSec) * 1000 };
  }

  protected pauseAll(untilMs: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, untilMs);
  }
}

/** The bucket as a row in PostgreSQL, shared by every Firebreak process using the same connection. */
export class PostgresRequestBudget extends QueuedBudget {
  protected override readonly sharedStore = true;
  private ensured = false;

  constructor(
    private readonly db: Db,
    private readonly connection: string,
    opts: BudgetOptions = {},
  ) {
    super(opts);
  }

  private async ensureRow(): Promise<void> {
    if (this.ensured) return;
    await sql`insert into pagerduty_request_budget (connection, tokens, updated_ms, paused_until_ms)
      values (${this.connection}, ${this.capacity}, extract(epoch from clock_timestamp()) * 1000, 0)
      on conflict (connection) do nothing`.execute(this.db);
    this.ensured = true;
  }

  protected async take(need: number, max: number): Promise<TakeResult> {
    await this.ensureRow();
    const cap = this.capacity;
    const rate = this.ratePerSec / 1000;
    // One statement: refill from the elapsed time and debit up to `max` tokens (at least one) only if `need` are
    // there and no pause is in force. Concurrent updates serialise on the row; each re-reads the latest version.
    const now = sql`(extract(epoch from statement_timestamp()) * 1000)`;
    const refilled = sql`least(${cap}::double precision, tokens + greatest(0, ${now} - updated_ms) * ${rate}::double precision)`;
    // The row is read locked (FOR UPDATE takes the latest version), so the debit and the count returned agree.
    const granted = sql`greatest(1, least(${max}::int, floor(cur.r - ${need}::double precision + 1)::int))`;
    const taken = await sql<{ granted: number }>`with cur as (
        select connection, ${refilled} as r from pagerduty_request_budget
        where connection = ${this.connection} and paused_until_ms <= ${now} for update
      )
      update pagerduty_request_budget b
      set tokens = cur.r - ${granted}, updated_ms = greatest(b.updated_ms, ${now})
      from cur
      where b.connection = cur.connection and cur.r >= ${need}::double precision
      returning ${granted} as granted`.execute(this.db);
    if (taken.rows.length > 0) return { ok: true, granted: Number(taken.rows[0]!.granted) };
    const row = await sql<{ tokens: number; wait_pause: number }>`select ${refilled} as tokens, paused_until_ms - ${now} as wait_pause
      from pagerduty_request_budget where connection = ${this.connection}`.execute(this.db);
    const r = row.rows[0];
    if (!r) return { ok: false, waitMs: 50 };
    const pause = Number(r.wait_pause);
    if (pause > 0) return { ok: false, waitMs: pause };
    return { ok: false, waitMs: Math.max(5, ((need - Number(r.tokens)) / this.ratePerSec) * 1000) };
  }

  protected pauseAll(untilMs: number): void {
    // Written with the database clock so every process agrees on the end of the pause.
    const delta = Math.max(0, untilMs - Date.now());
    void sql`update pagerduty_request_budget
      set paused_until_ms = greatest(paused_until_ms, extract(epoch from clock_timestamp()) * 1000 + ${delta})
      where connection = ${this.connection}`
      .execute(this.db)
      .catch(() => {});
  }
}
