import { inTransaction, type Db, type Executor } from '../../../platform/db/index.js';
import { nowIso } from '../../../platform/ids.js';
import type { Logger } from '../../../platform/logger.js';
import { parseWebhookEvent, type PdWebhookEvent } from '../client/events.js';
import './tables.js';

// Applying stored webhook deliveries: the drain reads deliveries not applied yet, in arrival order, and hands
// each event to every subscriber (escalations, links and auto-create, the catalog) one after the other. The
// webhooks module knows nothing about what subscribers do with an event; each says what it did (recorded as the
// delivery's outcome).
//
// Order is kept per PagerDuty resource (a PagerDuty incident, its notes and responders included; a service): a batch is split
// into one lane per resource, each lane applied in arrival order, and up to LANES lanes side by side, so a burst
// over many incidents applies about LANES times faster than one delivery after the other. A batch finishes
// before the next is read, and only one drain runs at a time (the drain job's queue across processes, `running`
// within one), so no delivery is applied twice at once nor overtaken by a later one of its resource.
//
// A batch ends with one transaction: it marks what was applied and hands those events, in arrival order, to the
// batch subscribers (`onApplied`), which queue their follow-up work in it (the links' jobs: one per PagerDuty
// incident per batch). That work exists exactly when the deliveries are marked applied: a crash before the commit
// applies them again (subscribers are idempotent) and queues it then; after it, nothing is applied twice.

const BATCH = 500;
const LANES = 4;

/** Reacts to one applied event; returns what it did (e.g. "escalation_updated"), or nothing when it did not care. */
export type WebhookSubscriber = (ev: PdWebhookEvent) => Promise<string | void>;

/**
 * Told of a batch's applied events (arrival order) in the transaction that marks them applied; queues follow-up
 * work in `tx` (outbox), so it is queued once per applied delivery, and never for one left to apply again.
 */
export type WebhookBatchSubscriber = (events: PdWebhookEvent[], tx: Executor) => Promise<void>;

/** The resource whose events must apply in order: notes belong to their incident. */
export function laneOf(ev: PdWebhookEvent | null, row: { delivery_id: string }): string {
  if (!ev) return `delivery:${row.delivery_id}`;
  if (ev.kind === 'note' || ev.kind === 'responder') return `incident:${ev.data.incident.id}`;
  const id = typeof ev.data.id === 'string' ? ev.data.id : null;
  return id ? `${ev.resource_type}:${id}` : `delivery:${row.delivery_id}`;
}

export class WebhookDrain {
  private readonly subscribers: WebhookSubscriber[] = [];
  private readonly batchSubscribers: WebhookBatchSubscriber[] = [];
  /** The drain running in this process; a second caller waits for it, then drains what is left. */
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: { db: Db; logger: Logger; lanes?: number }) {}

  subscribe(subscriber: WebhookSubscriber): void {
    this.subscribers.push(subscriber);
  }

  onApplied(subscriber: WebhookBatchSubscriber): void {
    this.batchSubscribers.push(subscriber);
  }

  /** Applies one event to every subscriber. Applying twice changes nothing (each subscriber is idempotent). */
  async apply(ev: PdWebhookEvent): Promise<string> {
    const did: string[] = [];
    for (const s of this.subscribers) {
      const r = await s(ev);
      if (r) did.push(r);
    }
    return did.join(',') || 'ignored';
  }

  /** When the last read that found nothing left began (ms): everything stored before then is applied. */
  private drainedUntil = 0;

  /**
   * The drain job's work: applies every stored delivery not applied yet (one drain at a time in this process).
   * With `storedBefore`, a drain in this process that found nothing left after that moment already covered it.
   */
  drain(storedBefore?: number): Promise<number> {
    const run = this.running.catch(() => {}).then(() => (storedBefore !== undefined && storedBefore <= this.drainedUntil ? 0 : this.drainAll()));
    this.running = run;
    return run;
  }

  private async drainAll(): Promise<number> {
    let applied = 0;
    for (;;) {
      const readAt = Date.now();
      const rows = await this.deps.db
        .selectFrom('pagerduty_webhook_events')
        .select(['delivery_id', 'payload', 'account_id'])
        .where('applied_at', 'is', null)
        .orderBy('applied_at')
        .orderBy('received_at')
        .orderBy('delivery_id')
        .limit(BATCH)
        .execute();
      if (rows.length === 0) {
        this.drainedUntil = Math.max(this.drainedUntil, readAt);
        return applied;
      }
      applied += await this.applyBatch(rows);
    }
  }

  /** Applies one batch lane by lane; marks what was applied even when a lane fails, then rethrows the failure. */
  private async applyBatch(rows: { delivery_id: string; payload: string; account_id?: string }[]): Promise<number> {
    const lanes = new Map<string, { delivery_id: string; ev: PdWebhookEvent | null; unreadable?: string; at: number }[]>();
    for (const [at, r] of rows.entries()) {
      let ev: PdWebhookEvent | null = null;
      let unreadable: string | undefined;
      try {
        ev = parseWebhookEvent(JSON.parse(r.payload));
        // Subscribers act with the client of the account that delivered it.
        ev.account = r.account_id ?? 'default';
      } catch (err) {
        // Stored before intake parsed events (or by hand): nothing to apply, and it must not block the rest.
        unreadable = `unreadable: ${(err as Error).message}`.slice(0, 500);
        this.deps.logger.warn({ delivery: r.delivery_id, error: (err as Error).message }, 'stored PagerDuty webhook delivery is not an event Firebreak can read; skipped');
      }
      const key = laneOf(ev, r);
      const lane = lanes.get(key) ?? [];
      lane.push({ delivery_id: r.delivery_id, ev, unreadable, at });
      lanes.set(key, lane);
    }
    const outcomes = new Map<string, string[]>();
    const applied: { at: number; ev: PdWebhookEvent }[] = [];
    const done = (outcome: string, d: { delivery_id: string; ev: PdWebhookEvent | null; at: number }) => {
      const ids = outcomes.get(outcome) ?? [];
      ids.push(d.delivery_id);
      outcomes.set(outcome, ids);
      if (d.ev) applied.push({ at: d.at, ev: d.ev });
    };
    const queue = [...lanes.values()];
    let failure: unknown = null;
    const worker = async () => {
      for (let lane = queue.shift(); lane; lane = queue.shift()) {
        try {
          // A lane stops at its first failure: later events of that resource wait for the retry (order kept).
          for (const d of lane) done(d.ev ? await this.apply(d.ev) : d.unreadable!, d);
        } catch (err) {
          failure ??= err;
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.deps.lanes ?? LANES, queue.length) }, worker));
    } finally {
      // What was applied stays applied when another event fails (the job retries from the ones left); its
      // follow-up work is queued in the same transaction.
      if (outcomes.size > 0) {
        const now = nowIso();
        const events = applied.sort((a, b) => a.at - b.at).map((a) => a.ev);
        await inTransaction(this.deps.db, async (tx) => {
          for (const [outcome, ids] of outcomes) {
            for (let i = 0; i < ids.length; i += 200) {
              await tx.updateTable('pagerduty_webhook_events').set({ applied_at: now, outcome }).where('delivery_id', 'in', ids.slice(i, i + 200)).execute();
            }
          }
          if (events.length > 0) for (const s of this.batchSubscribers) await s(events, tx);
        });
      }
    }
    if (failure) throw failure;
    return rows.length;
  }
}
