import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Insertable } from 'kysely';
import type { Db } from '../../../platform/db/index.js';
import type { App } from '../../../platform/http/server.js';
import { errorBody } from '../../../platform/http/server.js';
import { nowIso } from '../../../platform/ids.js';
import type { JobQueue } from '../../../platform/jobs/types.js';
import type { Logger } from '../../../platform/logger.js';
import { parseWebhookEvent, WebhookEventError, type PdWebhookEvent } from '../client/events.js';
import type { WebhookHealthStore } from './health.js';
import type { WebhookSecretStore } from './secrets.js';
import { verifySignature } from './signature.js';
import type { PagerDutyWebhookEventsTable } from './tables.js';
import { SETTINGS_ROW } from './tables.js';
import { ACCOUNT_ID } from '../accounts.js';

// The PagerDuty webhook receiver, POST /webhooks/pagerduty: verify the signature on the raw bytes, parse the
// event (zod: a body that is not a webhook event Firebreak can read is refused with 400 and what is wrong), store
// the delivery once by its id (X-Webhook-Id, else event.id; a redelivery is a no-op), answer 2xx once it is
// committed. Deliveries arriving together share one statement (group commit): the first is written at once, and
// those that arrive while a write is in flight go together in the next one (at most STORE_BATCH rows), each
// answered when the write holding it has committed. One statement per write, nothing else before the 2xx.
//
// Applying is a job (drain.ts). Intake asks for a drain keyed by a 50 ms time slot: every delivery stored during
// a slot is there when that slot's drain reads, and a burst of deliveries costs one job per slot, not one per
// delivery. The job is due at once (so the queue's notification starts it, not its next poll) and waits for its
// slot to end before it reads. All drains run in one named queue, so one at a time across processes. A schedule
// asks for a drain every minute as well, which covers a process that died between storing and asking.

export const DRAIN_JOB = 'pagerduty.webhook.drain';
export const DRAIN_SCHEDULE = 'pagerduty.webhook.drain-sweep';
export const DRAIN_SWEEP_JOB = 'pagerduty.webhook.drain-sweep';
export const DRAIN_QUEUE = 'pd-webhook-drain';
export const SLOT_MS = 50;
const MAX_BODY = 512 * 1024;
const STORE_BATCH = 100;

type Row = Insertable<PagerDutyWebhookEventsTable>;
interface Waiting {
  row: Row;
  resolve: (inserted: boolean) => void;
  reject: (err: unknown) => void;
}

export interface IntakeDeps {
  db: Db;
  jobs: JobQueue;
  secrets: WebhookSecretStore;
  health: WebhookHealthStore;
  logger: Logger;
}

/** A drain job's payload: the end of its slot (ms since the epoch), before which it does not read. */
export interface DrainPayload {
  notBefore?: number;
}

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

export class WebhookIntake {
  constructor(private readonly deps: IntakeDeps) {}

  /** Mounted in its own plugin scope: only this route reads bodies as raw bytes. */
  register(http: App): void {
    http.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_BODY }, (_req, body, done) => done(null, body));
      scope.post('/webhooks/pagerduty', { schema: { hide: true } }, (req, reply) => this.handle(req, reply, null));
      // Accounts after the first deliver to their own URL, checked with their own secrets.
      scope.post<{ Params: { account: string } }>('/webhooks/pagerduty/accounts/:account', { schema: { hide: true } }, (req, reply) => {
        if (!ACCOUNT_ID.test(req.params.account)) return reply.status(404).send(errorBody('not_found', 'No PagerDuty account has this webhook URL.'));
        return this.handle(req, reply, req.params.account);
      });
    });
  }

  private readonly subscriptions = new Map<string, { at: number; account: string | null }>();

  /** The account whose subscription a delivery names (X-Webhook-Subscription), cached for a few seconds. */
  private async accountOfSubscription(id: string | undefined): Promise<string | null> {
    if (!id) return null;
    const hit = this.subscriptions.get(id);
    if (hit && Date.now() - hit.at < 5000) return hit.account;
    const account = await this.deps.secrets.accountOfSubscription(id);
    if (this.subscriptions.size > 100) this.subscriptions.clear();
    this.subscriptions.set(id, { at: Date.now(), account });
    return account;
  }

  private async handle(req: FastifyRequest, reply: FastifyReply, urlAccount: string | null) {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    // The account: the URL's, else the one whose subscription the delivery names, else the first account.
    const account = urlAccount ?? (await this.accountOfSubscription(one(req.headers['x-webhook-subscription']))) ?? SETTINGS_ROW;
    const secrets = await this.deps.secrets.forAccount(account).secrets();
    if (secrets.length === 0) return reply.status(401).send(errorBody('webhooks_not_configured', 'No PagerDuty webhook secret is configured in Firebreak.'));
    if (!verifySignature(raw, one(req.headers['x-pagerduty-signature']), secrets)) {
      await this.deps.health.signatureFailed().catch((err: unknown) => this.deps.logger.warn({ error: (err as Error).message }, 'could not record a webhook signature failure'));
      return reply.status(401).send(errorBody('invalid_signature', 'The X-PagerDuty-Signature header does not match the body.'));
    }
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      return reply.status(400).send(errorBody('invalid_json', 'The body is not JSON.'));
    }
    let ev: PdWebhookEvent;
    try {
      ev = parseWebhookEvent(json);
    } catch (err) {
      if (!(err instanceof WebhookEventError)) throw err;
      return reply.status(400).send(errorBody('invalid_event', `The body is not a PagerDuty webhook event Firebreak can read (${err.message}).`));
    }
    const deliveryId = one(req.headers['x-webhook-id']) || ev.id;
    const duplicate = !(await this.store(deliveryId, ev, raw.toString('utf8'), account));
    if (ev.event_type === 'pagey.ping' && !duplicate) await this.deps.health.pingReceived(nowIso());
    return reply.status(200).send({ ok: true, duplicate });
  }

  /** Stores a delivery and asks for a drain. False when it was already stored. */
  async store(deliveryId: string, ev: PdWebhookEvent, raw: string, account: string = SETTINGS_ROW): Promise<boolean> {
    const resourceId = typeof ev.data.id === 'string' ? ev.data.id : null;
    const row: Row = {
      delivery_id: deliveryId,
      account_id: account,
      event_id: ev.id,
      event_type: ev.event_type,
      resource_type: ev.resource_type,
      resource_id: resourceId,
      occurred_at: ev.occurred_at,
      payload: raw,
      received_at: nowIso(),
      applied_at: null,
      outcome: null,
    };
    return new Promise<boolean>((resolve, reject) => {
      this.waiting.push({ row, resolve, reject });
      if (!this.writing) void this.write();
    });
  }

  private waiting: Waiting[] = [];
  private writing = false;

  /** Writes what is waiting, STORE_BATCH rows a statement, until nothing waits; one write at a time. */
  private async write(): Promise<void> {
    this.writing = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, STORE_BATCH);
        // The same delivery twice in one write: the first is stored (or was already), the others are duplicates.
        const first = new Map<string, Waiting>();
        for (const w of batch) if (!first.has(w.row.delivery_id)) first.set(w.row.delivery_id, w);
        try {
          const stored = await this.deps.db
            .insertInto('pagerduty_webhook_events')
            .values([...first.values()].map((w) => w.row))
            .onConflict((oc) => oc.doNothing())
            .returning('delivery_id')
            .execute();
          const inserted = new Set(stored.map((r) => r.delivery_id));
          const answer = () => {
            for (const w of batch) w.resolve(first.get(w.row.delivery_id) === w && inserted.has(w.row.delivery_id));
          };
          // Answered once the drain is asked for (never fails: the sweep covers a failed ask); the next write goes on.
          if (inserted.size > 0) void this.askForDrain().then(answer);
          else answer();
        } catch (err) {
          // Nothing of this write is stored: every delivery in it is refused (5xx), so PagerDuty sends it again.
          for (const w of batch) w.reject(err);
        }
      }
    } finally {
      this.writing = false;
    }
  }

  private lastSlot = -1;
  private asking: Promise<void> | null = null;

  /** One drain job per 50 ms slot, reading once the slot has ended (deduplicated by its key across processes). */
  private async askForDrain(): Promise<void> {
    const slot = Math.floor(Date.now() / SLOT_MS);
    if (slot === this.lastSlot && this.asking) return this.asking;
    this.lastSlot = slot;
    this.asking = this.deps.jobs
      .enqueue(DRAIN_JOB, { notBefore: (slot + 1) * SLOT_MS } satisfies DrainPayload, { jobKey: `pd-webhook-drain:${slot}`, queue: DRAIN_QUEUE, priority: -5, maxAttempts: 25 })
      .catch((err: unknown) => {
        // The delivery is stored; the minute sweep applies it.
        this.deps.logger.warn({ error: (err as Error).message }, 'could not queue the webhook drain; the sweep will apply the delivery');
      });
    return this.asking;
  }
}
