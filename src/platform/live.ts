import { sql } from 'kysely';
import type pg from 'pg';
import { loadPg } from './db/lazy-packages.js';
import { afterCommit, beforeCommit, type DatabaseHandle, type Executor } from './db/index.js';
import { nowIso } from './ids.js';
import type { Logger } from './logger.js';

// The live feed: pages that update themselves. Whatever changes something a page shows records it with
// `touch(tx, change)`, in the transaction that makes the change, as a row of `live_changes`. Every process
// serves `GET /api/v1/live` (server-sent events, live.routes.ts) from those rows, so a browser that lost its
// connection resumes with `Last-Event-ID` and misses nothing that happened in the last hour.
//
// Waking: the row is the message; a wake-up only says "read what is new". On PostgreSQL `pg_notify` in the same
// transaction is delivered at commit to one LISTEN connection per process (re-made when it drops, catching up
// from the table). On SQLite (one process) the touching process wakes itself; its read of the table waits for the
// single connection the open transaction holds, so it sees the change only once committed, and never a rolled
// back one. A slow tick (every heartbeat) reads too, so a lost notification delays a change, never loses it.
//
// Order: clients resume from `seq`, the order in which changes became visible. SQLite serialises writers, so
// there seq is the insertion id. PostgreSQL commits transactions out of insertion order, so before reading, a
// process sequences the committed rows that have no seq yet under an advisory lock: a row committed after a
// reader moved past seq N always gets a seq above N.

/** What a page shows that changed. Pages reload what they show when a matching change arrives. */
export type LiveTopic =
  | 'incidents' // the incidents list (any incident created or changed)
  | 'incident' // one incident's details and custom fields (incident_id set)
  | 'timeline' // one incident's timeline (incident_id set)
  | 'escalations' // one incident's escalations and their targets (incident_id set)
  | 'pagerduty_links' // one incident's PagerDuty incidents card (incident_id set)
  | 'catalog_sync' // catalog sync runs and their progress
  | 'settings'; // settings pages
export const liveTopics: readonly LiveTopic[] = ['incidents', 'incident', 'timeline', 'escalations', 'pagerduty_links', 'catalog_sync', 'settings'];

export interface LiveChange {
  topic: LiveTopic;
  incidentId?: string | null;
}

/** A change as clients receive it: `seq` is the SSE event id. */
export interface LiveEvent {
  seq: number;
  topic: LiveTopic;
  incidentId: string | null;
}

export interface LiveSubscriber {
  /** The last seq this subscriber was sent; changes after it are sent next. */
  last: number;
  send(events: LiveEvent[]): void;
}

const CHANNEL = 'firebreak_live';
const SEQUENCER_LOCK = 7_461_002_315; // pg_advisory_xact_lock key of the sequencer (any constant of our own)
const RETENTION_MS = 60 * 60 * 1000;
const PRUNE_EVERY_MS = 5 * 60 * 1000;
const BATCH = 500;

declare module './db/schema.js' {
  interface Database {
    live_changes: LiveChangesTable;
  }
}
type LiveRow = { topic: string; incident_id: string | null; created_at: string; seq: null };
export interface LiveChangesTable {
  id: import('kysely').Generated<number>;
  seq: number | string | null; // bigint: pg returns it as a string
  topic: string;
  incident_id: string | null;
  created_at: string;
}

export class LiveFeed {
  private readonly subscribers = new Set<LiveSubscriber>();
  /** What a transaction already touched: one row per topic and incident is enough. */
  private readonly touched = new WeakMap<object, Set<string>>();
  private running: Promise<void> | null = null;
  private again = false;
  /** Nothing is read until the server listens (start): a Firebreak that never serves (CLI, benchmarks) never reads. */
  private stopped = true;
  private listener: PgListener | null = null;
  private lastPrune = 0;

  constructor(private readonly deps: { database: DatabaseHandle; pgUrl: string | null; logger: Logger }) {}

  private get db() {
    return this.deps.database.db;
  }
  private get postgres() {
    return this.deps.database.dialect === 'postgres';
  }

  /**
   * Records that something a page shows changed: in `tx` when given (delivered when it commits, never when it
   * rolls back), else at once.
   */
  async touch(tx: Executor | null, change: LiveChange): Promise<void> {
    const incidentId = change.incidentId ?? null;
    if (tx?.isTransaction) {
      const key = `${change.topic}:${incidentId ?? ''}`;
      let seen = this.touched.get(tx);
      if (!seen) this.touched.set(tx, (seen = new Set()));
      if (seen.has(key)) return;
      seen.add(key);
    }
    const row = { topic: change.topic, incident_id: incidentId, created_at: nowIso(), seq: null };
    if (tx && this.queueForCommit(tx, row)) return;
    const exec = tx ?? this.db;
    await exec.insertInto('live_changes').values(row).execute();
    if (this.postgres) await sql`select pg_notify(${CHANNEL}, '')`.execute(exec);
    // SQLite: the read waits for the transaction's connection, so it runs after the commit (or rollback).
    else setImmediate(() => this.wake());
  }

  /** Rows touched in a transaction opened by inTransaction, inserted together just before it commits. */
  private readonly pending = new WeakMap<object, LiveRow[]>();

  /**
   * In a transaction opened by inTransaction: the row joins the transaction's others, inserted in one statement
   * just before COMMIT, and the wake-up is sent after COMMIT. A NOTIFY inside a writing transaction takes
   * PostgreSQL's notification lock from its pre-commit until its commit record is flushed, which makes all such
   * commits in the cluster wait for one another (no group commit); after COMMIT it costs nobody a wait.
   */
  private queueForCommit(tx: Executor, row: LiveRow): boolean {
    const rows = this.pending.get(tx);
    if (rows) {
      rows.push(row);
      return true;
    }
    const batch = [row];
    const queued = beforeCommit(tx, async () => {
      this.pending.delete(tx);
      await tx.insertInto('live_changes').values(batch).execute();
    });
    if (!queued) return false;
    this.pending.set(tx, batch);
    afterCommit(tx, () => (this.postgres ? this.notifyOthers() : this.wake()));
    return true;
  }

  private notifying: Promise<void> | null = null;
  private notifyAgain = false;

  /** PostgreSQL, after a commit: one NOTIFY at a time (the row is the message; a wake-up says "read"), coalesced. */
  private notifyOthers(): void {
    if (this.notifying) {
      this.notifyAgain = true;
      return;
    }
    this.notifying = (async () => {
      do {
        this.notifyAgain = false;
        try {
          await sql`select pg_notify(${CHANNEL}, '')`.execute(this.db);
        } catch (err) {
          // Readers also read every heartbeat: a lost wake-up delays a change, never loses it.
          this.deps.logger.debug({ err }, 'live feed: wake-up not sent');
        }
      } while (this.notifyAgain);
    })().finally(() => (this.notifying = null));
  }

  /** Starts listening (PostgreSQL) and pruning; called when the server starts listening. */
  async start(): Promise<void> {
    this.stopped = false;
    if (this.postgres && this.deps.pgUrl && !this.listener) {
      this.listener = new PgListener(this.deps.pgUrl, CHANNEL, () => this.wake(), this.deps.logger.child({ module: 'live' }));
      await this.listener.start();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.subscribers.clear();
    await this.listener?.stop();
    this.listener = null;
    await this.running?.catch(() => {});
  }

  /**
   * Adds a subscriber from `after` (a seq it already has), or from now when null. Returns its unsubscribe.
   */
  async subscribe(after: number | null, send: LiveSubscriber['send']): Promise<{ subscriber: LiveSubscriber; unsubscribe: () => void }> {
    const last = after ?? (await this.head());
    const subscriber: LiveSubscriber = { last, send };
    this.subscribers.add(subscriber);
    if (after !== null) this.wake(); // catch up with what happened while away
    return { subscriber, unsubscribe: () => this.subscribers.delete(subscriber) };
  }

  /** Drops the LISTEN connection as a network failure would (tests: it reconnects and catches up). */
  dropListenerConnection(): void {
    this.listener?.kill();
  }

  /** The newest visible seq (what a new subscriber starts after). */
  async head(): Promise<number> {
    if (this.postgres) await this.sequence();
    const r = await this.db.selectFrom('live_changes').select((eb) => eb.fn.max(this.postgres ? 'seq' : 'id').as('m')).executeTakeFirst();
    return Number(r?.m ?? 0);
  }

  /** Reads what is new for the subscribers; calls coalesce (one read runs at a time, then one more if woken meanwhile). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.deliver();
        } while (this.again && !this.stopped);
      } catch (err) {
        if (!this.stopped) this.deps.logger.warn({ err }, 'live feed: reading changes failed; the next wake-up retries');
      } finally {
        this.running = null;
      }
    })();
  }

  private async deliver(): Promise<void> {
    await this.pruneNowAndThen();
    if (this.subscribers.size === 0) return;
    if (this.postgres) await this.sequence();
    const from = Math.min(...[...this.subscribers].map((s) => s.last));
    const rows = await this.db
      .selectFrom('live_changes')
      .select(['seq', 'id', 'topic', 'incident_id'])
      .where(this.postgres ? 'seq' : 'id', '>', from)
      .orderBy(this.postgres ? 'seq' : 'id')
      .limit(BATCH)
      .execute();
    if (rows.length === BATCH) this.again = true;
    const events: LiveEvent[] = rows.map((r) => ({ seq: Number(this.postgres ? r.seq : r.id), topic: r.topic as LiveTopic, incidentId: r.incident_id }));
    for (const s of this.subscribers) {
      const mine = events.filter((e) => e.seq > s.last);
      if (mine.length === 0) continue;
      s.last = mine[mine.length - 1]!.seq;
      try {
        s.send(mine);
      } catch {
        this.subscribers.delete(s);
      }
    }
  }

  /** PostgreSQL: gives committed rows without a seq the next ones, one sequencer at a time across processes. */
  private async sequence(): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await sql`select pg_advisory_xact_lock(${SEQUENCER_LOCK})`.execute(tx);
      await sql`update live_changes set seq = nextval('live_changes_seq_no') where id in (select id from live_changes where seq is null order by id)`.execute(tx);
    });
  }

  private async pruneNowAndThen(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    await this.prune(new Date(now - RETENTION_MS));
  }

  /** Forgets changes older than `before` (about an hour: a browser away longer reloads everything anyway). */
  async prune(before: Date): Promise<number> {
    const r = await this.db.deleteFrom('live_changes').where('created_at', '<', before.toISOString()).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

/** One LISTEN connection for the process; re-made when it drops, then a wake-up to catch up from the table. */
class PgListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private retryMs = 250;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly wake: () => void,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    await this.connect().catch(() => this.retry());
  }

  private async connect(): Promise<void> {
    const client = new (loadPg().Client)({ connectionString: this.url });
    this.client = client;
    let dropped = false;
    const drop = (err?: Error) => {
      if (dropped) return;
      dropped = true;
      if (this.client === client) this.client = null;
      client.end().catch(() => {});
      if (!this.stopped) {
        this.logger.warn({ error: err?.message }, 'live feed: the LISTEN connection dropped; reconnecting');
        this.retry();
      }
    };
    client.on('error', drop);
    client.on('end', () => drop());
    client.on('notification', () => this.wake());
    await client.connect();
    await client.query(`LISTEN ${this.channel}`);
    if (this.stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.retryMs = 250;
    this.wake(); // whatever was committed while not listening
  }

  private retry(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect().catch((err: Error) => {
        this.logger.warn({ error: err.message }, 'live feed: LISTEN connection failed; retrying');
        this.retry();
      });
    }, this.retryMs);
    this.timer.unref();
    this.retryMs = Math.min(this.retryMs * 2, 5000);
  }

  /** Drops the connection as a network failure would (tests). */
  kill(): void {
    (this.client as unknown as { connection?: { stream?: { destroy(): void } } } | null)?.connection?.stream?.destroy();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => {});
  }
}
