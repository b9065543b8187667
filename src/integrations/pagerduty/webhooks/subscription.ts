import type { PagerDutyClient } from '../client/client.js';
import type { WebhookSecretStore } from './secrets.js';

// Creating the webhook subscription when Firebreak knows its public URL: incident events for the whole account
// (escalations, links, auto-create) and service events (catalog freshness). PagerDuty returns the signing secret only in the
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

/** Creates the subscription unless one for this URL is already stored. Returns its id. */
export async function ensureSubscription(client: PagerDutyClient, from: string, store: WebhookSecretStore, publicUrl: string): Promise<string> {
  const url = webhookUrl(publicUrl);
  const current = await store.state();
  if (current.subscriptionId && current.url === url && current.secretCount > 0) return current.subscriptionId;
  const sub = await client.createWebhookSubscription(
    { url, description: 'Firebreak: escalation status and PagerDuty catalog freshness', events: SUBSCRIBED_EVENTS },
    { from, priority: 'interactive' },
  );
  const secret = sub.delivery_method.secret;
  if (!secret) throw new Error('PagerDuty created the webhook subscription but returned no signing secret');
  await store.addSecret(secret, { subscriptionId: sub.id, url });
  return sub.id;
}
