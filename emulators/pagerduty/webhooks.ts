/**
 * Webhooks v3 delivery: PagerDuty's envelope, `X-PagerDuty-Signature` (v1 = HMAC-SHA256 hex of the raw body,
 * one value per active secret), a stable `X-Webhook-Id` across retries, retries with backoff on timeouts, 5xx,
 * 429 and connection errors, drops on other 4xx, and ordering kept per incident (per ordering key).
 */
import { createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { DomainEvent, AccountStore } from './store.js';
import type { DeliveryRecord, PdWebhookEvent, WebhookSubscriptionRecord } from './types.js';

export interface WebhookOptions {
  /** Delay before each retry; the number of entries is the number of retries. */
  retryDelaysMs: number[];
  /** How long a receiver may take before the attempt counts as a timeout (PagerDuty: 5 s). */
  timeoutMs: number;
}

export const DEFAULT_WEBHOOK_OPTIONS: WebhookOptions = { retryDelaysMs: [100, 250, 500, 1000, 2000], timeoutMs: 5000 };

export function signatureHeader(body: string, secrets: string[]): string {
  return secrets.map((s) => `v1=${createHmac('sha256', s).update(body, 'utf8').digest('hex')}`).join(',');
}

export class WebhookDispatcher {
  private records: DeliveryRecord[] = [];
  private queues = new Map<string, DeliveryRecord[]>();
  private running = new Set<string>();
  private idle: (() => void)[] = [];
  private timers = new Set<NodeJS.Timeout>();
  private generation = 0;
  options: WebhookOptions;
  /** Set by fault injection: overrides `options.timeoutMs`. */
  receiverTimeoutMs: number | undefined;

  constructor(private readonly store: AccountStore, options: Partial<WebhookOptions> = {}) {
    this.options = { ...DEFAULT_WEBHOOK_OPTIONS, ...options };
  }

  deliveries(): DeliveryRecord[] { return this.records; }

  /** Called by the store for every domain event: fan out to matching subscriptions. */
  publish(e: DomainEvent): void {
    const occurred = new Date().toISOString();
    for (const sub of this.store.webhookSubscriptions.values()) {
      if (!sub.active || sub.temporarily_disabled || !sub.events.includes(e.event_type) || !this.matches(sub, e)) continue;
      const event: PdWebhookEvent = { event: { id: randomUUID(), event_type: e.event_type, resource_type: e.resource_type,
        occurred_at: occurred, agent: e.agent, client: e.client, data: e.data } };
      this.enqueue(sub, event, e.ordering_key);
    }
  }

  /** `pagey.ping` for `POST /webhook_subscriptions/{id}/ping`. */
  ping(sub: WebhookSubscriptionRecord): void {
    this.enqueue(sub, { event: { id: randomUUID(), event_type: 'pagey.ping', resource_type: 'pagey',
      occurred_at: new Date().toISOString(), agent: null, client: null, data: { message: 'Hello from your friend Pagey!', type: 'ping' } } }, sub.id);
  }

  private matches(sub: WebhookSubscriptionRecord, e: DomainEvent): boolean {
    if (sub.filter.type === 'account_reference') return true;
    if (sub.filter.type === 'service_reference') return sub.filter.id === e.service_id;
    return sub.filter.id !== undefined && e.team_ids.includes(sub.filter.id);
  }

  private enqueue(sub: WebhookSubscriptionRecord, event: PdWebhookEvent, orderingKey: string): void {
    const body = JSON.stringify(event);
    const id = randomUUID();
    const headers: Record<string, string> = {
      'content-type': 'application/json', 'user-agent': 'PagerDuty-Webhook/V3.0',
      'x-pagerduty-signature': signatureHeader(body, [sub.secret, ...sub.rotating_secrets]),
      'x-webhook-id': id, 'x-webhook-subscription': sub.id,
    };
    for (const h of sub.custom_headers) headers[h.name.toLowerCase()] = h.value;
    const rec: DeliveryRecord = { id, subscription_id: sub.id, event_id: event.event.id, event_type: event.event.event_type,
      ordering_key: orderingKey, url: sub.url, headers, body, status: 'pending', attempts: [] };
    this.records.push(rec);
    if (this.records.length > 20_000) this.records.splice(0, this.records.length - 20_000);
    const key = `${sub.id}:${orderingKey}`;
    const q = this.queues.get(key);
    if (q) q.push(rec); else this.queues.set(key, [rec]);
    if (!this.running.has(key)) void this.drain(key, this.generation);
  }

  private async drain(key: string, gen: number): Promise<void> {
    this.running.add(key);
    try {
      for (;;) {
        const q = this.queues.get(key);
        const rec = q?.[0];
        if (!rec || gen !== this.generation) break;
        await this.deliver(rec, gen);
        q!.shift();
        if (q!.length === 0) { this.queues.delete(key); break; }
      }
    } finally {
      this.running.delete(key);
      if (this.running.size === 0) { const w = this.idle; this.idle = []; for (const f of w) f(); }
    }
  }

  private async deliver(rec: DeliveryRecord, gen: number): Promise<void> {
    const delays = this.options.retryDelaysMs;
    for (let attempt = 0; ; attempt++) {
      if (gen !== this.generation) return;
      const sub = this.store.webhookSubscriptions.get(rec.subscription_id);
      // Deleted, disabled or temporarily disabled while this delivery waited: PagerDuty does not send it.
      if (!sub || !sub.active || sub.temporarily_disabled) { rec.status = 'dropped'; return; }
      const started = Date.now();
      const { status, error } = await this.post(rec);
      rec.attempts.push({ at: new Date(started).toISOString(), status, error, duration_ms: Date.now() - started });
      if (status !== null && status >= 200 && status < 300) { rec.status = 'delivered'; sub.consecutive_drops = 0; return; }
      const retryable = status === null || status >= 500 || status === 429 || status === 408;
      if (!retryable) {
        rec.status = 'dropped';
        sub.consecutive_drops++;
        // PagerDuty disables a subscription temporarily after three consecutive drops.
        if (sub.consecutive_drops >= 3) sub.temporarily_disabled = true;
        return;
      }
      const delay = delays[attempt];
      if (delay === undefined) { rec.status = 'failed'; return; }
      await new Promise<void>((resolve) => { const t = setTimeout(() => { this.timers.delete(t); resolve(); }, delay); this.timers.add(t); });
    }
  }

  private post(rec: DeliveryRecord): Promise<{ status: number | null; error: string | null }> {
    return new Promise((resolve) => {
      let url: URL;
      try { url = new URL(rec.url); } catch { resolve({ status: null, error: 'invalid url' }); return; }
      const mod = url.protocol === 'https:' ? https : http;
      const timeout = this.receiverTimeoutMs ?? this.options.timeoutMs;
      let done = false;
      const finish = (r: { status: number | null; error: string | null }) => { if (!done) { done = true; resolve(r); } };
      const req = mod.request(url, { method: 'POST', headers: { ...rec.headers, 'content-length': String(Buffer.byteLength(rec.body)) }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => finish({ status: res.statusCode ?? null, error: null }));
        res.on('error', () => finish({ status: res.statusCode ?? null, error: null }));
      });
      req.setTimeout(timeout, () => { req.destroy(new Error('timeout')); finish({ status: null, error: 'timeout' }); });
      req.on('error', (e) => finish({ status: null, error: e.message }));
      req.end(rec.body);
    });
  }

  /** Resolves once every queued delivery is delivered, dropped or has failed all retries. */
  flush(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Forget all deliveries and stop pending retries. */
  reset(): void {
    this.generation++;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.queues.clear();
    this.records = [];
    this.running.clear();
    const w = this.idle; this.idle = []; for (const f of w) f();
  }
}
