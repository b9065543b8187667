import type { PagerDutyClient } from '../client/client.js';
import type { EscalationSettingsStore } from '../escalations/settings.js';

// Creating the webhook subscription when Firebreak knows its public URL: incident events for the whole account
// (escalation status) and service events (catalog freshness). PagerDuty returns the signing secret only in the
// create response; it is stored encrypted at once.

export const SUBSCRIBE_JOB = 'pagerduty.webhook-subscribe';

export const SUBSCRIBED_EVENTS = [
  'incident.triggered',
  'incident.acknowledged',
  'incident.unacknowledged',
  'incident.resolved',
  'incident.reopened',
  'incident.reassigned',
  'incident.escalated',
  'incident.delegated',
  'incident.priority_updated',
  'incident.annotated',
  'service.created',
  'service.updated',
  'service.deleted',
];

export function webhookUrl(publicUrl: string): string {
  return `${publicUrl.replace(/\/$/, '')}/webhooks/pagerduty`;
}

interface CreatedSubscription {
  webhook_subscription: { id: string; delivery_method: { secret?: string | null; url: string } };
}

/** Creates the subscription unless one for this URL is already stored. Returns its id. */
export async function ensureSubscription(client: PagerDutyClient, from: string, settings: EscalationSettingsStore, publicUrl: string): Promise<string> {
  const url = webhookUrl(publicUrl);
  const current = await settings.get();
  if (current.webhook.subscriptionId && current.webhook.url === url && current.webhook.secretCount > 0) return current.webhook.subscriptionId;
  const r = await client.post<CreatedSubscription>(
    '/webhook_subscriptions',
    {
      webhook_subscription: {
        type: 'webhook_subscription',
        delivery_method: { type: 'http_delivery_method', url },
        description: 'Firebreak: escalation status and PagerDuty catalog freshness',
        events: SUBSCRIBED_EVENTS,
        filter: { type: 'account_reference' },
      },
    },
    { from, priority: 'interactive' },
  );
  const secret = r.webhook_subscription.delivery_method.secret;
  if (!secret) throw new Error('PagerDuty created the webhook subscription but returned no signing secret');
  await settings.addWebhookSecret(secret, { subscriptionId: r.webhook_subscription.id, url });
  return r.webhook_subscription.id;
}
