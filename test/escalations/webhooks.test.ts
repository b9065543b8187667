import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign } from '../../src/integrations/pagerduty/webhooks/signature.js';
import { backends } from '../helpers.js';
import { declare, manualWebhook, setupEscalations, waitFor, waitForTargets, type EscSetup } from './helpers.js';

// PagerDuty tells Firebreak what happened through signed webhooks: a person acknowledging on their phone shows
// on the escalation and the timeline; forged, unsigned and stale-secret deliveries change nothing; a delivery
// sent again is applied once; service events keep the catalog fresh.

async function post(s: EscSetup, body: string, headers: Record<string, string>) {
  const res = await fetch(`${s.fb.baseUrl}/webhooks/pagerduty`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, body: (await res.json()) as any };
}

const countEvents = async (s: EscSetup) => Number((await s.fb.app.database.db.selectFrom('pagerduty_webhook_events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

function ackEvent(pdIncidentId: string, user: { id: string; name: string }, eventId = randomUUID()) {
  return JSON.stringify({
    event: {
      id: eventId,
      event_type: 'incident.acknowledged',
      resource_type: 'incident',
      occurred_at: new Date().toISOString(),
      agent: { id: user.id, type: 'user_reference', summary: user.name },
      client: { name: 'PagerDuty Mobile' },
      data: { id: pdIncidentId, type: 'incident', status: 'acknowledged', number: 1, assignees: [] },
    },
  });
}

for (const backend of backends) {
  describe(`PagerDuty webhooks (${backend})`, () => {
    let s: EscSetup;
    let secret: string;
    beforeAll(async () => {
      s = await setupEscalations(backend);
      secret = (await manualWebhook(s)).secret;
    }, 90_000);
    afterAll(async () => {
      await s?.close();
    });

    async function triggeredTarget(userIndex: number) {
      const inc = await declare(s.owner);
      const user = [...s.pd.state.users.values()][userIndex]!;
      const r = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, { user_ids: [user.id], message: 'help' });
      const done = await waitForTargets(s.owner, r.body.escalation.id);
      // Paging records the incident from PagerDuty's answer, usually before PagerDuty's own webhook about it
      // arrives: let that delivery land, so what a test counts afterwards is only what it sent.
      await s.pd.webhooks.flush();
      return { inc, user, escalation: done, target: done.targets[0] };
    }

    it('the settings page shows the URL to give PagerDuty and that a secret is configured', async () => {
      const r = await s.owner.get('/api/v1/integrations/pagerduty/escalation_settings');
      expect(r.body.webhook.url).toBe(`${s.fb.baseUrl}/webhooks/pagerduty`);
      expect(r.body.webhook.secret_configured).toBe(true);
      expect(r.body.webhook.automatic).toBe(true); // PagerDuty (the emulator) is on this machine
      expect(JSON.stringify(r.body)).not.toContain(secret);
    });

    it('an acknowledgement made in PagerDuty (as that person) reaches the escalation and the timeline', async () => {
      const { inc, user, escalation, target } = await triggeredTarget(3);
      s.pd.actAs(user.email).acknowledge(target.pagerduty_incident.id);
      await s.pd.webhooks.flush();
      const acked = await waitForTargets(s.owner, escalation.id, (t) => t.status === 'acknowledged');
      expect(acked.targets[0].acknowledged_by).toMatchObject([{ id: user.id, name: user.name }]);
      expect(acked.targets[0].acknowledged_at).toBeTruthy();
      const items = (await s.owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items;
      expect(items.filter((i: any) => i.kind === 'pagerduty.escalation_acknowledged').map((i: any) => i.text)).toEqual([`${user.name}: PagerDuty incident #${acked.targets[0].pagerduty_incident.number} acknowledged by ${user.name}`]);
      // The "PagerDuty incidents" card tells the same status as the escalation (the link copies the target's).
      const linkStatus = async () => ((await s.owner.get(`/api/v1/incidents/${inc.id}/pagerduty_incidents`)).body.pagerduty_incidents as any[]).find((l) => l.pagerduty_incident.id === target.pagerduty_incident.id)?.pagerduty_incident.status;
      expect(await linkStatus()).toBe('acknowledged');
      s.pd.actAs(user.email).resolve(target.pagerduty_incident.id);
      await s.pd.webhooks.flush();
      await waitForTargets(s.owner, escalation.id, (t) => t.status === 'resolved');
      expect(await linkStatus()).toBe('resolved');
      expect(s.pd.webhooks.deliveries().every((d) => d.status === 'delivered')).toBe(true);
    });

    it('forged, unsigned, malformed and stale-secret deliveries are refused with 401 and change nothing', async () => {
      const { escalation, target, user } = await triggeredTarget(4);
      const before = await countEvents(s);
      const body = ackEvent(target.pagerduty_incident.id, user);
      expect((await post(s, body, {})).status).toBe(401);
      expect((await post(s, body, { 'x-pagerduty-signature': sign(body, 'not-the-secret') })).status).toBe(401);
      expect((await post(s, body, { 'x-pagerduty-signature': 'v1=zz' })).status).toBe(401);
      expect((await post(s, body, { 'x-pagerduty-signature': sign(body.replace('acknowledged', 'resolved'), secret) })).status).toBe(401);
      // Rotate twice: the newest two secrets are accepted, the oldest is stale.
      await s.owner.request('PUT', '/api/v1/integrations/pagerduty/webhook_secret', { secret: 'second-secret-123' });
      await s.owner.request('PUT', '/api/v1/integrations/pagerduty/webhook_secret', { secret: 'third-secret-456' });
      await new Promise((r) => setTimeout(r, 1100)); // the receiver caches secrets for a second
      const stale = await post(s, body, { 'x-pagerduty-signature': sign(body, secret) });
      expect(stale.status).toBe(401);
      expect(await countEvents(s)).toBe(before);
      expect((await s.owner.get(`/api/v1/escalations/${escalation.id}`)).body.escalation.targets[0].status).toBe('triggered');
      // During a rotation PagerDuty sends both signatures; either secret we know is enough.
      const ok = await post(s, body, { 'x-pagerduty-signature': `${sign(body, 'unknown-new-secret')},${sign(body, 'second-secret-123')}` });
      expect(ok.status).toBe(200);
      secret = 'third-secret-456';
      await waitForTargets(s.owner, escalation.id, (t) => t.status === 'acknowledged');
    });

    it('a signed body that is not a webhook event Firebreak can read is refused with 400 saying what is wrong, and nothing is stored', async () => {
      const before = await countEvents(s);
      const send = (event: unknown) => {
        const body = JSON.stringify(event);
        return post(s, body, { 'x-pagerduty-signature': sign(body, secret) });
      };
      const good = JSON.parse(ackEvent('PNOSUCH1', { id: 'PUSER01', name: 'Ann' })) as { event: Record<string, any> };
      const noIncidentId = await send({ event: { ...good.event, data: { ...good.event.data, id: undefined } } });
      expect(noIncidentId.status).toBe(400);
      expect(noIncidentId.body.error.code).toBe('invalid_event');
      expect(noIncidentId.body.error.message).toContain('event.data.id');
      const badNumber = await send({ event: { ...good.event, data: { ...good.event.data, number: 'one' } } });
      expect(badNumber.status).toBe(400);
      expect(badNumber.body.error.message).toContain('event.data.number');
      const noEventType = await send({ event: { ...good.event, event_type: undefined } });
      expect(noEventType.status).toBe(400);
      expect(noEventType.body.error.message).toContain('event.event_type');
      const noteWithoutIncident = await send({ event: { ...good.event, event_type: 'incident.annotated', data: { id: 'PNOTE01', type: 'incident_note', content: 'hello' } } });
      expect(noteWithoutIncident.status).toBe(400);
      expect(noteWithoutIncident.body.error.message).toContain('event.data.incident');
      expect(await countEvents(s)).toBe(before);
      // PagerDuty's own example of an event (fields Firebreak does not read included) is accepted.
      expect((await send({ event: { ...good.event, id: randomUUID(), data: { ...good.event.data, incident_type: { name: 'major' }, resolve_reason: null } } })).status).toBe(200);
    });

    it('the same delivery sent five times is stored and applied once', async () => {
      const { inc, escalation, target, user } = await triggeredTarget(5);
      const before = await countEvents(s);
      const body = ackEvent(target.pagerduty_incident.id, user);
      const headers = { 'x-pagerduty-signature': sign(body, secret), 'x-webhook-id': randomUUID() };
      const answers = await Promise.all([1, 2, 3, 4, 5].map(() => post(s, body, headers)));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
      expect(answers.filter((a) => !a.body.duplicate)).toHaveLength(1);
      expect(await countEvents(s)).toBe(before + 1);
      await waitForTargets(s.owner, escalation.id, (t) => t.status === 'acknowledged');
      // The same event under another delivery id (e.g. a second subscription) is a duplicate too.
      expect((await post(s, body, { 'x-pagerduty-signature': sign(body, secret), 'x-webhook-id': randomUUID() })).body.duplicate).toBe(true);
      await s.fb.app.jobs.drain();
      const acks = (await s.owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items.filter((i: any) => i.kind === 'pagerduty.escalation_acknowledged');
      expect(acks).toHaveLength(1);
    });

    it('service events update the PagerDuty Service catalog entries at once', async () => {
      // Firebreak now knows the newest secret only; tell the emulator's subscription to sign with it.
      const sub = [...s.pd.state.webhookSubscriptions.values()][0]!;
      await s.owner.request('PUT', '/api/v1/integrations/pagerduty/webhook_secret', { secret: sub.secret });
      await new Promise((r) => setTimeout(r, 1100));
      const svc = [...s.pd.state.services.values()].find((x) => !x.description.includes('incident-io-ignore'))!;
      s.pd.admin.updateService(svc.id, { name: 'Renamed by webhook' });
      await s.pd.webhooks.flush();
      await waitFor('the catalog entry renamed', async () => {
        const r = await s.owner.get('/api/v1/integrations/pagerduty/escalation_options?type=service&query=Renamed%20by%20webhook');
        return r.body.options.some((o: any) => o.id === svc.id);
      });
      s.pd.admin.deleteService(svc.id);
      await s.pd.webhooks.flush();
      await waitFor('the catalog entry archived', async () => {
        const r = await s.owner.get('/api/v1/integrations/pagerduty/escalation_options?type=service&query=Renamed%20by%20webhook');
        return r.body.options.length === 0;
      });
    });
  });

  describe(`PagerDuty webhook subscription made on connect (${backend})`, () => {
    let s: EscSetup;
    beforeAll(async () => {
      s = await setupEscalations(backend, { publicUrl: true, seed: 'small' });
    }, 90_000);
    afterAll(async () => {
      await s?.close();
    });

    it('connecting with a public URL creates the subscription, stores its secret, and deliveries arrive', async () => {
      const settings = await waitFor('the subscription', async () => {
        const r = await s.owner.get('/api/v1/integrations/pagerduty/escalation_settings');
        return r.body.webhook.subscription_id ? r.body : null;
      });
      expect(settings.webhook.automatic).toBe(true);
      const sub = s.pd.state.webhookSubscriptions.get(settings.webhook.subscription_id)!;
      expect(sub.url).toBe(`${s.fb.baseUrl}/webhooks/pagerduty`);
      expect(sub.events).toEqual(expect.arrayContaining(['incident.acknowledged', 'service.updated']));
      expect(sub.filter.type).toBe('account_reference');
      const inc = await declare(s.owner);
      const user = [...s.pd.state.users.values()][2]!;
      const r = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, { user_ids: [user.id], message: 'help' });
      const done = await waitForTargets(s.owner, r.body.escalation.id);
      s.pd.actAs(user.id).acknowledge(done.targets[0].pagerduty_incident.id);
      await s.pd.webhooks.flush();
      await waitForTargets(s.owner, done.id, (t) => t.status === 'acknowledged');
      expect(s.pd.webhooks.deliveries().filter((d) => d.status !== 'delivered')).toEqual([]);
    });
  });
}
