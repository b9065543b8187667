import type { Db } from '../../../platform/db/index.js';
import { nowIso } from '../../../platform/ids.js';
import type { Logger } from '../../../platform/logger.js';
import { parseWebhookEvent, type PdWebhookEvent } from '../client/events.js';
import './tables.js';

// Applying stored webhook deliveries: the drain job reads deliveries not applied yet, in arrival order, and hands
// each event to every subscriber (escalations, links and auto-create, the catalog) one after the other, so
// events of one PagerDuty incident apply in the order they came. The webhooks module knows nothing about what
// subscribers do with an event; each says what it did (recorded as the delivery's outcome).

const BATCH = 500;

/** Reacts to one applied event; returns what it did (e.g. "escalation_updated"), or nothing when it did not care. */
export type WebhookSubscriber = (ev: PdWebhookEvent) => Promise<string | void>;

export class WebhookDrain {
  private readonly subscribers: WebhookSubscriber[] = [];

  constructor(private readonly deps: { db: Db; logger: Logger }) {}

  subscribe(subscriber: WebhookSubscriber): void {
    this.subscribers.push(subscriber);
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

  /** The sweep's and each slot's job: applies every stored delivery not applied yet, in arrival order. */
  async drain(): Promise<number> {
    let applied = 0;
    for (;;) {
      const rows = await this.deps.db
        .selectFrom('pagerduty_webhook_events')
        .select(['delivery_id', 'payload'])
        .where('applied_at', 'is', null)
        .orderBy('applied_at')
        .orderBy('received_at')
        .orderBy('delivery_id')
        .limit(BATCH)
        .execute();
      if (rows.length === 0) return applied;
      const outcomes = new Map<string, string[]>();
      const mark = async () => {
        const now = nowIso();
        for (const [outcome, ids] of outcomes) {
          for (let i = 0; i < ids.length; i += 200) {
            await this.deps.db.updateTable('pagerduty_webhook_events').set({ applied_at: now, outcome }).where('delivery_id', 'in', ids.slice(i, i + 200)).execute();
          }
        }
      };
      try {
        for (const r of rows) {
          let outcome: string;
          let ev: PdWebhookEvent | null = null;
          try {
            ev = parseWebhookEvent(JSON.parse(r.payload));
          } catch (err) {
            // Stored before intake parsed events (or by hand): nothing to apply, and it must not block the rest.
            outcome = `unreadable: ${(err as Error).message}`.slice(0, 500);
            this.deps.logger.warn({ delivery: r.delivery_id, error: (err as Error).message }, 'stored PagerDuty webhook delivery is not an event Firebreak can read; skipped');
          }
          if (ev) outcome = await this.apply(ev);
          outcomes.set(outcome!, [...(outcomes.get(outcome!) ?? []), r.delivery_id]);
        }
      } finally {
        // What was applied stays applied when a later event fails (the job retries from that one).
        await mark();
      }
      applied += rows.length;
    }
  }
}
