import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign } from '../../src/integrations/pagerduty/webhooks/signature.js';
import { webhookPlacement } from '../../src/integrations/pagerduty/webhooks/subscription.js';
import { backends, userClient } from '../helpers.js';
import { setupEscalations, waitFor, type EscSetup } from '../escalations/helpers.js';

// Webhooks out of the box: with PagerDuty (the emulator) on this machine and no PUBLIC_URL, connecting creates the
// subscription to Firebreak's listening address. The settings show its health: the last delivery received, the
// last signature failure, and "Send test", which asks PagerDuty to ping the subscription and shows when it arrived.

describe('where PagerDuty delivers', () => {
  it('PUBLIC_URL when given; else the listening address, subscribed automatically only when PagerDuty is on this machine', () => {
    expect(webhookPlacement('https://fb.example.com/', true, null)).toEqual({ url: 'https://fb.example.com/webhooks/pagerduty', automatic: true, reason: 'public_url' });
    expect(webhookPlacement('http://0.0.0.0:3000', false, 'http://127.0.0.1:8091')).toEqual({ url: 'http://127.0.0.1:3000/webhooks/pagerduty', automatic: true, reason: 'same_machine' });
    expect(webhookPlacement('http://0.0.0.0:3000', false, null)).toEqual({ url: 'http://127.0.0.1:3000/webhooks/pagerduty', automatic: false, reason: 'not_reachable' });
    expect(webhookPlacement('http://localhost:3000', true, null).automatic).toBe(true);
  });
});

for (const backend of backends) {
  describe(`webhook health and Send test (${backend})`, () => {
    let s: EscSetup;
    const health = async () => (await s.owner.get('/api/v1/integrations/pagerduty/webhook_health')).body;
    beforeAll(async () => {
      s = await setupEscalations(backend, { autoWebhook: true, seed: 'small' });
    }, 180_000);
    afterAll(async () => {
      await s?.close();
    });

    it('connecting to a PagerDuty on this machine created the subscription to the listening address, and both texts agree', async () => {
      const h = await waitFor('the subscription', async () => {
        const x = await health();
        return x.secret_configured ? x : null;
      });
      expect(h).toMatchObject({ url: `${s.fb.baseUrl}/webhooks/pagerduty`, automatic: true, reason: 'same_machine', error: null, last_delivery: null, last_signature_failure_at: null, ping: { sent_at: null, received_at: null } });
      const subs = [...s.pd.state.webhookSubscriptions.values()];
      expect(subs.map((x) => [x.id, x.url])).toEqual([[h.subscription_id, `${s.fb.baseUrl}/webhooks/pagerduty`]]);
      expect((await s.owner.get('/api/v1/integrations/pagerduty/escalation_settings')).body.webhook).toMatchObject({ automatic: true, url: h.url, subscription_id: h.subscription_id });
    });

    it('Send test: PagerDuty pings the subscription, a signed pagey.ping arrives, and the health shows it', async () => {
      const before = Date.now();
      const r = await s.owner.post('/api/v1/integrations/pagerduty/webhook_test');
      expect(r.status).toBe(202);
      expect(r.body.ping.sent_at).toBeTruthy();
      expect(s.pd.requestLog().filter((e) => e.method === 'POST' && e.path.endsWith('/ping')).map((e) => e.path)).toEqual([`/webhook_subscriptions/${r.body.subscription_id}/ping`]);
      await s.pd.webhooks.flush();
      const h = await waitFor('the ping to arrive', async () => {
        const x = await health();
        return x.ping.received_at ? x : null;
      });
      expect(Date.parse(h.ping.received_at)).toBeGreaterThanOrEqual(Date.parse(h.ping.sent_at));
      expect(h.last_delivery.event_type).toBe('pagey.ping');
      expect(Date.parse(h.last_delivery.received_at)).toBeGreaterThanOrEqual(before - 1000);
      const ping = s.pd.webhooks.deliveries().find((d) => d.event_type === 'pagey.ping')!;
      expect(ping.status).toBe('delivered');
      expect(ping.headers['x-pagerduty-signature']).toMatch(/^v1=[0-9a-f]{64}/);
    });

    it('a delivery with a bad signature is refused and shows as the last signature failure', async () => {
      const body = JSON.stringify({ event: { id: 'evt-forged', event_type: 'pagey.ping', resource_type: 'pagey', occurred_at: new Date().toISOString(), agent: null, client: null, data: {} } });
      const res = await fetch(`${s.fb.baseUrl}/webhooks/pagerduty`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-pagerduty-signature': sign(body, 'not-the-secret') }, body });
      expect(res.status).toBe(401);
      const h = await health();
      expect(h.last_signature_failure_at).toBeTruthy();
      expect(Date.now() - Date.parse(h.last_signature_failure_at)).toBeLessThan(10_000);
      expect(h.last_delivery.event_type).toBe('pagey.ping');
    });

    it('people who are not admins read the health but cannot send a test', async () => {
      const viewer = await userClient(s.fb, s.owner, 'viewer');
      expect((await viewer.client.get('/api/v1/integrations/pagerduty/webhook_health')).status).toBe(200);
      const r = await viewer.client.post('/api/v1/integrations/pagerduty/webhook_test');
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBeTruthy();
    });
  });
}
