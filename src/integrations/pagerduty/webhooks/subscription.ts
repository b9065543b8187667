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
  'incident.responder.added',
  'incident.responder.replied',
  'service.created',
  'service.updated',
  'service.deleted',
];

export function webhookUrl(publicUrl: string): string {
  return `${publicUrl.replace(/\/$/, '')}/webhooks/pagerduty`;
}

const LOCAL_HOST = /^(localhost|127(?:\.\d{1,3}){3}|\[?::1\]?|0\.0\.0\.0|\[?::\]?)$/i;

/** Whether a URL's host is this machine (loopback, or the any-address a server listens on). */
export function isLocalUrl(url: string): boolean {
  try {
    return LOCAL_HOST.test(new URL(url).hostname);
  } catch {
    return false;
  }
}

/**
 * Where PagerDuty should deliver, and whether Firebreak makes the subscription itself on connect. The URL is
 * `PUBLIC_URL`'s, else the listening address's (an any-address such as 0.0.0.0 named as 127.0.0.1, which is where
 * a PagerDuty on this machine reaches it). Automatic when PagerDuty can reach that URL: `PUBLIC_URL` is set, the URL
 * is not on this machine, or PagerDuty itself is on this machine (the emulator).
 */
/** Where PagerDuty should deliver, and whether Firebreak subscribes itself. */
export interface WebhookPlacement {
  url: string;
  automatic: boolean;
  reason: 'public_url' | 'same_machine' | 'not_reachable';
}

export function webhookPlacement(publicUrl: string, publicUrlConfigured: boolean, pagerDutyBaseUrl: string | null): WebhookPlacement {
  let base = publicUrl;
  if (!publicUrlConfigured) base = base.replace(/^(https?:\/\/)(0\.0\.0\.0|\[::\])(?=[:/]|$)/i, (_m, scheme: string, host: string) => `${scheme}${host === '0.0.0.0' ? '127.0.0.1' : '[::1]'}`);
  const url = webhookUrl(base);
  if (publicUrlConfigured || !isLocalUrl(url)) return { url, automatic: true, reason: 'public_url' };
  if (pagerDutyBaseUrl && isLocalUrl(pagerDutyBaseUrl)) return { url, automatic: true, reason: 'same_machine' };
  return { url, automatic: false, reason: 'not_reachable' };
}

/** Creates the subscription unless one for this URL is already stored. Returns its id. */
export async function ensureSubscription(client: PagerDutyClient, from: string, store: WebhookSecretStore, url: string): Promise<string> {
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
