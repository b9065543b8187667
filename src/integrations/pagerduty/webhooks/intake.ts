import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CatalogService } from '../../../catalog/catalog.service.js';
import type { Db } from '../../../platform/db/index.js';
import type { App } from '../../../platform/http/server.js';
import { errorBody } from '../../../platform/http/server.js';
import { nowIso } from '../../../platform/ids.js';
import type { JobQueue } from '../../../platform/jobs/types.js';
import type { Logger } from '../../../platform/logger.js';
import type { EscalationsService, PersonAt } from '../escalations/escalations.service.js';
import type { EscalationSettingsStore } from '../escalations/settings.js';
import '../escalations/tables.js';
import type { PdIncidentEventData, PdWebhookEnvelope } from '../escalations/wire.js';
import { applyServiceEvent, type ServiceEventData } from './catalog-update.js';
import { verifySignature } from './signature.js';

// The PagerDuty webhook receiver, POST /webhooks/pagerduty: verify the signature on the raw bytes, store the
// delivery once by its id (X-Webhook-Id, else event.id; a redelivery is a no-op), answer 2xx at once. One
// statement per delivery: nothing else stands between PagerDuty and its 2xx.
//
// Applying is a job: the drain job reads stored deliveries not applied yet, in arrival order, and applies them
// one after the other, so events of one PagerDuty incident apply in the order they came. Intake asks for a
// drain keyed by a 50 ms time slot and due at the slot's end: every delivery stored during a slot is there
// when that slot's drain starts, and a burst of deliveries costs one job per slot, not one per delivery. A
// schedule drains every minute as well, which covers a process that died between storing and asking.

export const DRAIN_JOB = 'pagerduty.webhook.drain';
export const DRAIN_SCHEDULE = 'pagerduty.webhook.drain-sweep';
const DRAIN_QUEUE = 'pd-webhook-drain';
const SLOT_MS = 50;
const BATCH = 500;
const MAX_BODY = 512 * 1024;

export interface IntakeDeps {
  db: Db;
  jobs: JobQueue;
  settings: EscalationSettingsStore;
  escalations: EscalationsService;
  catalog: CatalogService;
  logger: Logger;
}

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

export class WebhookIntake {
  private readonly appliedListeners: ((ev: PdWebhookEnvelope['event']) => Promise<void>)[] = [];

  constructor(private readonly deps: IntakeDeps) {}

  /** Other PagerDuty features (links, auto-create) act on each event in the same ordered apply job. */
  onApplied(listener: (ev: PdWebhookEnvelope['event']) => Promise<void>): void {
    this.appliedListeners.push(listener);
  }

  /** Mounted in its own plugin scope: only this route reads bodies as raw bytes. */
  register(http: App): void {
    http.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_BODY }, (_req, body, done) => done(null, body));
      scope.post('/webhooks/pagerduty', { schema: { hide: true } }, (req, reply) => this.handle(req, reply));
    });
  }

  private async handle(req: FastifyRequest, reply: FastifyReply) {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const secrets = await this.deps.settings.webhookSecrets();
    if (secrets.length === 0) return reply.status(401).send(errorBody('webhooks_not_configured', 'No PagerDuty webhook secret is configured in Firebreak.'));
    if (!verifySignature(raw, one(req.headers['x-pagerduty-signature']), secrets)) {
      return reply.status(401).send(errorBody('invalid_signature', 'The X-PagerDuty-Signature header does not match the body.'));
    }
    let env: PdWebhookEnvelope;
    try {
      env = JSON.parse(raw.toString('utf8')) as PdWebhookEnvelope;
    } catch {
      return reply.status(400).send(errorBody('invalid_json', 'The body is not JSON.'));
    }
    const ev = env?.event;
    if (!ev || typeof ev.id !== 'string' || typeof ev.event_type !== 'string') return reply.status(400).send(errorBody('invalid_event', 'The body is not a PagerDuty webhook event.'));
    const deliveryId = one(req.headers['x-webhook-id']) || ev.id;
    const duplicate = !(await this.store(deliveryId, env, raw.toString('utf8')));
    return reply.status(200).send({ ok: true, duplicate });
  }

  /** Stores a delivery and asks for a drain. False when it was already stored. */
  async store(deliveryId: string, env: PdWebhookEnvelope, raw: string): Promise<boolean> {
    const ev = env.event;
    const data = (ev.data ?? {}) as { id?: unknown };
    const inserted = await this.deps.db
      .insertInto('pagerduty_webhook_events')
      .values({
        delivery_id: deliveryId,
        event_id: ev.id,
        event_type: ev.event_type,
        resource_type: typeof ev.resource_type === 'string' ? ev.resource_type : '',
        resource_id: typeof data.id === 'string' ? data.id : null,
        occurred_at: typeof ev.occurred_at === 'string' ? ev.occurred_at : null,
        payload: raw,
        received_at: nowIso(),
        applied_at: null,
        outcome: null,
      })
      .onConflict((oc) => oc.doNothing())
      .returning('delivery_id')
      .executeTakeFirst();
    if (!inserted) return false;
    await this.askForDrain();
    return true;
  }

  private lastSlot = -1;
  private asking: Promise<void> | null = null;

  /** One drain job per 50 ms slot, due when the slot ends (deduplicated by its key across processes). */
  private async askForDrain(): Promise<void> {
    const slot = Math.floor(Date.now() / SLOT_MS);
    if (slot === this.lastSlot && this.asking) return this.asking;
    this.lastSlot = slot;
    this.asking = this.deps.jobs
      .enqueue(DRAIN_JOB, {}, { jobKey: `pd-webhook-drain:${slot}`, runAt: new Date((slot + 1) * SLOT_MS), queue: DRAIN_QUEUE, priority: -5, maxAttempts: 25 })
      .catch((err: unknown) => {
        // The delivery is stored; the minute sweep applies it.
        this.deps.logger.warn({ error: (err as Error).message }, 'could not queue the webhook drain; the sweep will apply the delivery');
      });
    return this.asking;
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
          const env = JSON.parse(r.payload) as PdWebhookEnvelope;
          const outcome = await this.apply(env);
          for (const l of this.appliedListeners) await l(env.event);
          outcomes.set(outcome, [...(outcomes.get(outcome) ?? []), r.delivery_id]);
        }
      } finally {
        // What was applied stays applied when a later event fails (the job retries from that one).
        await mark();
      }
      applied += rows.length;
    }
  }

  /** Applies one event (escalation status, catalog freshness) and says what it did. Applying twice changes nothing. */
  async apply(env: PdWebhookEnvelope): Promise<string> {
    const ev = env.event;
    if (ev.resource_type === 'incident' && ev.data && typeof ev.data.id === 'string') {
      const data = ev.data as unknown as PdIncidentEventData;
      const targetId = await this.deps.escalations.findTarget(data.id, typeof data.incident_key === 'string' ? data.incident_key : null);
      if (!targetId) return 'not_an_escalation';
      const at = ev.occurred_at ?? nowIso();
      const paged: PersonAt[] = ['incident.triggered', 'incident.reassigned', 'incident.escalated', 'incident.delegated'].includes(ev.event_type)
        ? (data.assignees ?? []).filter((a) => a?.id).map((a) => ({ id: a.id, name: a.summary ?? a.id, at }))
        : [];
      const acknowledgedBy: PersonAt[] = ev.event_type === 'incident.acknowledged' && ev.agent?.id && ev.agent.type?.startsWith('user') ? [{ id: ev.agent.id, name: ev.agent.summary ?? ev.agent.id, at }] : [];
      await this.deps.escalations.applyUpdate(targetId, {
        pdIncident: { id: data.id, number: typeof data.number === 'number' ? data.number : null, htmlUrl: typeof data.html_url === 'string' ? data.html_url : null },
        status: typeof data.status === 'string' ? data.status : undefined,
        statusAt: at,
        paged,
        acknowledgedBy,
        eventId: ev.id,
      });
      return 'escalation_updated';
    }
    if (ev.resource_type === 'service' && ev.data && typeof ev.data.id === 'string') {
      return `catalog_${await applyServiceEvent(this.deps.catalog, ev.event_type, ev.data as unknown as ServiceEventData)}`;
    }
    return 'ignored';
  }
}
