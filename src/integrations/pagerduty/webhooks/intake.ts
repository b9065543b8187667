import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CatalogService } from '../../../catalog/catalog.service.js';
import type { Db } from '../../../platform/db/index.js';
import { inTransaction } from '../../../platform/db/index.js';
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
// delivery once by its id (X-Webhook-Id, else event.id; a redelivery is a no-op), answer 2xx at once, and let
// a job apply it. Jobs for one PagerDuty incident (or service) share a queue, so they apply in arrival order.

export const APPLY_JOB = 'pagerduty.webhook.apply';
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

  /** Stores a delivery and queues its application in one transaction. False when it was already stored. */
  async store(deliveryId: string, env: PdWebhookEnvelope, raw: string): Promise<boolean> {
    const ev = env.event;
    const data = (ev.data ?? {}) as { id?: unknown };
    const resourceId = typeof data.id === 'string' ? data.id : null;
    return inTransaction(this.deps.db, async (tx) => {
      const inserted = await tx
        .insertInto('pagerduty_webhook_events')
        .values({
          delivery_id: deliveryId,
          event_id: ev.id,
          event_type: ev.event_type,
          resource_type: typeof ev.resource_type === 'string' ? ev.resource_type : '',
          resource_id: resourceId,
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
      await this.deps.jobs.enqueue(APPLY_JOB, { deliveryId }, { jobKey: `pd-webhook:${deliveryId}`, queue: `pd-webhook:${resourceId ?? 'none'}`, priority: -5, maxAttempts: 10 }, tx);
      return true;
    });
  }

  /** The job: applies one stored delivery (escalation status, catalog freshness). Applying twice changes nothing. */
  async apply(deliveryId: string): Promise<void> {
    const row = await this.deps.db.selectFrom('pagerduty_webhook_events').selectAll().where('delivery_id', '=', deliveryId).executeTakeFirst();
    if (!row || row.applied_at) return;
    const env = JSON.parse(row.payload) as PdWebhookEnvelope;
    const ev = env.event;
    let outcome = 'ignored';
    if (ev.resource_type === 'incident' && ev.data && typeof ev.data.id === 'string') {
      const data = ev.data as unknown as PdIncidentEventData;
      const targetId = await this.deps.escalations.findTarget(data.id, typeof data.incident_key === 'string' ? data.incident_key : null);
      if (!targetId) outcome = 'not_an_escalation';
      else {
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
        outcome = 'escalation_updated';
      }
    } else if (ev.resource_type === 'service' && ev.data && typeof ev.data.id === 'string') {
      outcome = `catalog_${await applyServiceEvent(this.deps.catalog, ev.event_type, ev.data as unknown as ServiceEventData)}`;
    }
    for (const l of this.appliedListeners) await l(ev);
    await this.deps.db.updateTable('pagerduty_webhook_events').set({ applied_at: nowIso(), outcome }).where('delivery_id', '=', deliveryId).execute();
  }
}
