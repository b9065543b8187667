import { z } from 'zod';
import { ConflictError, UpstreamError } from '../../../platform/errors.js';
import type { App } from '../../../platform/http/server.js';
import { requireAccess } from '../../../users/auth.js';
import { PagerDutyError } from '../client/errors.js';
import type { PagerDutyIntegration } from '../connect.js';
import type { WebhookHealthStore } from './health.js';
import type { WebhookPlacement } from './subscription.js';
import type { WebhookSecretStore } from './secrets.js';

// REST: webhook health for the PagerDuty settings page (last delivery received, last signature failure, the test
// ping) and "Send test", which asks PagerDuty to ping the subscription (POST /webhook_subscriptions/{id}/ping).

const healthJson = z.object({
  url: z.string(),
  automatic: z.boolean(),
  reason: z.enum(['public_url', 'same_machine', 'not_reachable']),
  subscription_id: z.string().nullable(),
  secret_configured: z.boolean(),
  error: z.string().nullable(),
  last_delivery: z.object({ received_at: z.string(), event_type: z.string() }).nullable(),
  last_signature_failure_at: z.string().nullable(),
  ping: z.object({ sent_at: z.string().nullable(), received_at: z.string().nullable() }),
});

export function registerWebhookRoutes(app: App, deps: { store: WebhookSecretStore; health: WebhookHealthStore; integration: PagerDutyIntegration; placement: () => Promise<WebhookPlacement> }): void {
  const tags = ['pagerduty'];
  const base = '/api/v1/integrations/pagerduty';
  const out = async () => {
    const [where, state, h] = await Promise.all([deps.placement(), deps.store.state(), deps.health.read()]);
    return {
      url: where.url,
      automatic: where.automatic,
      reason: where.reason,
      subscription_id: state.subscriptionId,
      secret_configured: state.secretCount > 0,
      error: state.error,
      last_delivery: h.lastDelivery ? { received_at: h.lastDelivery.receivedAt, event_type: h.lastDelivery.eventType } : null,
      last_signature_failure_at: h.lastSignatureFailureAt,
      ping: { sent_at: h.ping.sentAt, received_at: h.ping.receivedAt },
    };
  };

  app.get(`${base}/webhook_health`, { onRequest: requireAccess('read'), schema: { tags, summary: 'Webhook health: where PagerDuty delivers, the last delivery received, the last signature failure, the test ping', response: { 200: healthJson } } }, out);

  app.post(
    `${base}/webhook_test`,
    {
      config: { upstream: true },
      onRequest: requireAccess('admin'),
      schema: { tags, summary: 'Send test: asks PagerDuty to deliver a test event (pagey.ping) to the subscription; the health shows when it arrived', response: { 202: healthJson } },
    },
    async (_req, reply) => {
      const c = await deps.integration.connected();
      if (!c) throw new ConflictError('pagerduty_not_connected', 'PagerDuty is not connected. Connect it in Settings → Integrations first.');
      const { subscriptionId } = await deps.store.state();
      if (!subscriptionId) {
        throw new ConflictError('no_webhook_subscription', 'Firebreak does not know the id of the webhook subscription, so it cannot ask PagerDuty to test it. Save the subscription id with its secret, or use "Send test event" on the subscription in PagerDuty.');
      }
      try {
        await c.client.pingWebhookSubscription(subscriptionId, { priority: 'interactive' });
      } catch (err) {
        if (err instanceof PagerDutyError && err.kind === 'not_found') throw new ConflictError('webhook_subscription_gone', `PagerDuty has no webhook subscription ${subscriptionId} any more. Reconnect PagerDuty to create a new one, or save the secret of one made by hand.`);
        if (err instanceof PagerDutyError) throw new UpstreamError(`PagerDuty did not send the test: ${err.message}`);
        throw err;
      }
      await deps.health.pingSent();
      return reply.status(202).send(await out());
    },
  );
}
