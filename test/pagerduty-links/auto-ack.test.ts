import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autoAcknowledge } from '../../src/integrations/pagerduty/auto-ack/auto-acknowledge.js';
import { apiKeyClient, backends } from '../helpers.js';
import { declare } from '../escalations/helpers.js';
import { attach, setupLinks, timeline, waitFor, type LinksSetup } from './helpers.js';

// Auto-acknowledgement by the product's rules. A person says "yes, this PagerDuty incident is related": Firebreak
// acknowledges it for them only when PagerDuty paged them and nobody has acknowledged it yet, and never for a
// workflow or an API key. People who were not paged get a button instead.

for (const backend of backends) {
  describe(`auto-acknowledgement (${backend})`, () => {
    let s: LinksSetup;
    const notes: any[] = [];
    beforeAll(async () => {
      s = await setupLinks(backend);
      s.fb.app.pagerduty.links.port.onNotification(async (n) => {
        notes.push(n);
      });
    }, 120_000);
    afterAll(async () => {
      await s?.close();
    });

    const writesTo = (pdId: string) => s.pd.requestLog().filter((e) => e.method !== 'GET' && e.path.startsWith(`/incidents/${pdId}`));

    async function linkedIncident() {
      const inc = await declare(s.owner, 'Payments degraded');
      const pd = await s.trigger(s.fallbackServiceId);
      const link = await attach(s.owner, inc.id, `https://firebreak-emulator.pagerduty.com/incidents/${pd.id}`);
      await s.settle();
      return { inc, pd, link };
    }

    it('the happy path: the paged person confirms, Firebreak acknowledges as them, notes it with a link, writes the timeline and DMs them', async () => {
      const { inc, pd, link } = await linkedIncident();
      expect(link.related).toBe('pending');
      expect(notes.some((n) => n.type === 'related_question' && n.linkId === link.id)).toBe(true);
      const pagedId = s.assignees(pd.id)[0]!;
      const pagedUser = s.pd.state.users.get(pagedId)!;
      const person = await s.personFor(pagedId);
      const r = await person.client.post(`/api/v1/incidents/${inc.id}/pagerduty_incidents/${link.id}/related`, { related: true });
      expect(r.status).toBe(200);
      await s.settle();

      const record = s.pd.state.incidents.get(pd.id)!;
      expect(record.status).toBe('acknowledged');
      expect(record.acknowledgements.map((a) => a.user_id)).toEqual([pagedId]);
      const ack = writesTo(pd.id).find((e) => e.method === 'PUT');
      expect(String(ack!.headers.from).trim().toLowerCase()).toBe(pagedUser.email.trim().toLowerCase());
      const noteReq = writesTo(pd.id).filter((e) => e.method === 'POST' && e.path.endsWith('/notes'));
      expect(noteReq).toHaveLength(1);
      expect(String(noteReq[0]!.headers.from).trim().toLowerCase()).toBe(pagedUser.email.trim().toLowerCase());
      expect(record.notes).toHaveLength(1);
      expect(record.notes[0]!.content).toContain('Automatically acknowledged via Firebreak');
      expect(record.notes[0]!.content).toContain(`${s.fb.app.publicUrl()}/incidents/${inc.reference}`);

      const items = await timeline(s.owner, inc.id);
      const auto = items.filter((i) => i.kind === 'pagerduty.auto_acknowledged');
      expect(auto).toHaveLength(1);
      expect(auto[0].actor.user.id).toBe(person.user.id);
      expect(auto[0].text).toContain(`PagerDuty incident #${record.incident_number}`);
      const dm = notes.filter((n) => n.type === 'acknowledged_for_you' && n.pagerduty.id === pd.id);
      expect(dm).toHaveLength(1);
      expect(dm[0].userId).toBe(person.user.id);
    });

    it('does nothing when PagerDuty already says acknowledged (read just before acting), even if the webhook lags', async () => {
      const { inc, pd, link } = await linkedIncident();
      const pagedId = s.assignees(pd.id)[0]!;
      // Acknowledged on the phone; Firebreak has not heard of it yet (webhooks held back).
      s.pd.faults.set({ webhookReceiverTimeoutMs: 1 });
      s.pd.actAs(pagedId).acknowledge(pd.id);
      const person = await s.personFor(pagedId);
      await person.client.post(`/api/v1/incidents/${inc.id}/pagerduty_incidents/${link.id}/related`, { related: true });
      await s.fb.app.jobs.drain(20_000);
      s.pd.faults.clear();
      await s.settle();
      expect(writesTo(pd.id)).toEqual([]);
      expect(s.pd.state.incidents.get(pd.id)!.notes).toEqual([]);
      const d = (await s.owner.get(`/api/v1/incidents/${inc.id}/pagerduty_incidents/${link.id}/auto_ack_decisions`)).body.decisions;
      expect(d.map((x: any) => x.outcome)).toEqual(['already_acknowledged']);
    });

    it('does nothing when the one confirming is not a human (an API key)', async () => {
      const { inc, pd, link } = await linkedIncident();
      const key = await s.owner.post('/api/v1/api_keys', { name: 'pager-bot', scopes: ['write'] });
      const bot = apiKeyClient(s.fb.baseUrl, key.body.token);
      expect((await bot.post(`/api/v1/incidents/${inc.id}/pagerduty_incidents/${link.id}/related`, { related: true })).status).toBe(200);
      await s.settle();
      expect(writesTo(pd.id)).toEqual([]);
      expect(s.pd.state.incidents.get(pd.id)!.status).toBe('triggered');
      const d = (await s.owner.get(`/api/v1/incidents/${inc.id}/pagerduty_incidents/${link.id}/auto_ack_decisions`)).body.decisions;
      expect(d.map((x: any) => x.outcome)).toEqual(['not_human']);
      expect(notes.some((n) => n.type === 'ack_offer' && n.incidentId === inc.id)).toBe(false);
    });

    it('a person PagerDuty did not page gets a button instead; pressing it acknowledges as them', async () => {
      const { inc, pd, link } = await linkedIncident();
      const other = s.bystander(pd.id);
      const person = await s.personFor(other.id);
      await person.client.post(`/api/v1/incidents/${inc.id}/pagerduty_incidents/${link.id}/related`, { related: true });
      await s.settle();
      expect(writesTo(pd.id)).toEqual([]);
      const offer = notes.find((n) => n.type === 'ack_offer' && n.incidentId === inc.id);
      expect(offer).toMatchObject({ userId: person.user.id, reason: 'not_paged' });
      expect(offer.explanation).toContain('did not page you');
      // Someone else cannot press their button.
      expect((await s.owner.post(`/api/v1/pagerduty_ack_offers/${offer.offerId}/acknowledge`)).status).toBe(403);
      const pressed = await person.client.post(`/api/v1/pagerduty_ack_offers/${offer.offerId}/acknowledge`);
      expect(pressed.body).toEqual({ status: 'acknowledged' });
      const record = s.pd.state.incidents.get(pd.id)!;
      expect(record.acknowledgements.map((a) => a.user_id)).toEqual([other.id]);
      const put = writesTo(pd.id).find((e) => e.method === 'PUT')!;
      expect(String(put.headers.from).trim().toLowerCase()).toBe(other.email.trim().toLowerCase());
      const offers = (await s.owner.get(`/api/v1/incidents/${inc.id}/pagerduty_ack_offers`)).body.offers;
      expect(offers).toMatchObject([{ id: offer.offerId, status: 'acknowledged', reason: 'not_paged' }]);
    });

    it('a person who cannot be matched to a PagerDuty user gets the button path with an explanation', async () => {
      const { inc, pd, link } = await linkedIncident();
      const created = await s.owner.post('/api/v1/users', { name: 'Nobody In PD', email: 'not-in-pagerduty@example.com', role: 'responder' });
      const loginLink = await s.owner.post(`/api/v1/users/${created.body.user.id}/login_link`);
      const { signInWithLink } = await import('../helpers.js');
      const stranger = await signInWithLink(s.fb.baseUrl, loginLink.body.url);
      await stranger.post(`/api/v1/incidents/${inc.id}/pagerduty_incidents/${link.id}/related`, { related: true });
      await s.settle();
      expect(writesTo(pd.id)).toEqual([]);
      const offer = notes.find((n) => n.type === 'ack_offer' && n.incidentId === inc.id);
      expect(offer).toMatchObject({ userId: created.body.user.id, reason: 'unmatched' });
      expect(offer.explanation).toContain('could not match you');
      const pressed = await stranger.post(`/api/v1/pagerduty_ack_offers/${offer.offerId}/acknowledge`);
      expect(pressed.status).toBe(409);
      expect(pressed.body.error.message).toContain('PagerDuty has no user with your email');
      expect(s.pd.state.incidents.get(pd.id)!.status).toBe('triggered');
    });

    it('a failed DM does not fail the acknowledgement', async () => {
      const { inc, pd, link } = await linkedIncident();
      let attempts = 0;
      s.fb.app.pagerduty.links.port.onNotification(async (n) => {
        if (n.type === 'acknowledged_for_you' && n.pagerduty.id === pd.id) {
          attempts++;
          throw new Error('Slack is down');
        }
      });
      const pagedId = s.assignees(pd.id)[0]!;
      const person = await s.personFor(pagedId);
      await person.client.post(`/api/v1/incidents/${inc.id}/pagerduty_incidents/${link.id}/related`, { related: true });
      await s.settle();
      expect(attempts).toBe(1);
      expect(s.pd.state.incidents.get(pd.id)!.status).toBe('acknowledged');
      expect((await timeline(s.owner, inc.id)).filter((i) => i.kind === 'pagerduty.auto_acknowledged')).toHaveLength(1);
      expect((await s.fb.app.jobs.deadJobs()).filter((j) => j.name.startsWith('pagerduty.'))).toEqual([]);
    });

    it('two triggers at once acknowledge once and add one note', async () => {
      const { inc, pd, link } = await linkedIncident();
      const pagedId = s.assignees(pd.id)[0]!;
      const person = await s.personFor(pagedId);
      const actor = { kind: 'user' as const, userId: person.user.id };
      const m = s.fb.app.pagerduty.links;
      const results = await Promise.all([
        autoAcknowledge(m.ack, { linkId: link.id, trigger: 'related_confirmed', actor }),
        autoAcknowledge(m.ack, { linkId: link.id, trigger: 'triage_accepted', actor }),
        autoAcknowledge(m.ack, { linkId: link.id, trigger: 'related_confirmed', actor: { ...actor } }).catch((e) => ({ outcome: `error ${e.message}` })),
      ]);
      await s.settle();
      expect(results.filter((r) => r.outcome === 'acknowledged')).toHaveLength(1);
      expect(writesTo(pd.id).filter((e) => e.method === 'PUT' && e.status < 300)).toHaveLength(1);
      expect(s.pd.state.incidents.get(pd.id)!.notes).toHaveLength(1);
      expect((await timeline(s.owner, inc.id)).filter((i) => i.kind === 'pagerduty.auto_acknowledged')).toHaveLength(1);
      await waitFor('link status', async () => (await s.owner.get(`/api/v1/incidents/${inc.id}/pagerduty_incidents`)).body.pagerduty_incidents[0].pagerduty_incident.status === 'acknowledged');
    });
  });
}
