import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers.js';
import { declare, setupEscalations, waitFor, waitForTargets, type EscSetup } from '../escalations/helpers.js';
import { setupLinks, type LinksSetup } from '../pagerduty-links/helpers.js';

// The incident page's two PagerDuty cards read the same truth: whatever PagerDuty says about a PagerDuty incident an
// escalation created (by a poll, by a webhook, or because Firebreak resolved it itself), the escalations card
// (the target) and the "PagerDuty incidents" card (the link) show the same status at every moment.

async function escalateToPerson(s: EscSetup, userIndex: number) {
  const inc = await declare(s.owner, 'Search is slow');
  const user = [...s.pd.state.users.values()][userIndex]!;
  const r = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, { user_ids: [user.id], message: 'please look' });
  expect(r.status).toBe(201);
  const esc = await waitForTargets(s.owner, r.body.escalation.id, (t) => t.status === 'triggered');
  const pdId = esc.targets[0].pagerduty_incident.id as string;
  await waitFor('the link of the paged incident', async () => (await s.owner.get(`/api/v1/incidents/${inc.id}/pagerduty_incidents`)).body.pagerduty_incidents.length === 1);
  return { inc, user, escalationId: r.body.escalation.id as string, pdId };
}

/**
 * Both cards, through the API the page reads them from: the escalation target's status, then the link's. One after
 * the other, in that order: whatever change the target read saw had committed before the link read began, so a
 * status the link does not share yet means the copy was not in the target's transaction. (Read side by side, a
 * change committing between the two reads showed the link a moment behind: a race of the test, not of the cards.)
 */
async function cards(s: EscSetup, incidentId: string) {
  const e = await s.owner.get(`/api/v1/incidents/${incidentId}/escalations`);
  const l = await s.owner.get(`/api/v1/incidents/${incidentId}/pagerduty_incidents`);
  return { target: e.body.escalations[0].targets[0], link: l.body.pagerduty_incidents[0] };
}

/** Waits until the escalations card says `status`, then checks the other card says it too at that moment. */
async function expectAgreement(s: EscSetup, incidentId: string, status: string) {
  const both = await waitFor(`the escalations card to say ${status}`, async () => {
    const c = await cards(s, incidentId);
    return c.target.status === status ? c : null;
  });
  expect(both.link.pagerduty_incident.status).toBe(status);
  return both;
}

for (const backend of backends) {
  describe(`PagerDuty cards agree when PagerDuty is polled (${backend})`, () => {
    let s: EscSetup;
    beforeAll(async () => {
      s = await setupEscalations(backend);
    }, 180_000);
    afterAll(async () => {
      await s?.close();
    });

    it('an acknowledgement seen by polling shows on both cards, with who acknowledged', async () => {
      expect((await s.owner.get('/api/v1/integrations/pagerduty/escalation_settings')).body.webhook.secret_configured).toBe(false);
      s.esc.tuning.pollBaseMs = 150;
      const { inc, user, pdId } = await escalateToPerson(s, 3);
      expect((await cards(s, inc.id)).link.pagerduty_incident.status).toBe('triggered');
      s.pd.actAs(user.email).acknowledge(pdId);
      const both = await expectAgreement(s, inc.id, 'acknowledged');
      expect(both.target.acknowledged_by.map((p: any) => p.name)).toEqual([user.name]);
      s.pd.actAs(user.email).resolve(pdId);
      await expectAgreement(s, inc.id, 'resolved');
    });

    it('resolving from Firebreak ("Also resolve in PagerDuty") shows resolved on both cards at once, without waiting for a poll', async () => {
      s.esc.tuning.pollBaseMs = 600_000;
      const { inc } = await escalateToPerson(s, 4);
      await s.fb.app.jobs.drain();
      const r = await s.owner.post(`/api/v1/incidents/${inc.id}/pagerduty_incidents/resolve`, {});
      expect(r.status).toBe(200);
      expect(r.body.resolved).toHaveLength(1);
      const c = await cards(s, inc.id);
      expect(c.target.status).toBe('resolved');
      expect(c.link.pagerduty_incident.status).toBe('resolved');
    });
  });

  describe(`PagerDuty cards agree when PagerDuty sends webhooks (${backend})`, () => {
    let s: LinksSetup;
    beforeAll(async () => {
      s = await setupLinks(backend);
    }, 180_000);
    afterAll(async () => {
      await s?.close();
    });

    it('an acknowledgement delivered by webhook shows on both cards, and a later mirror read does not move the link alone', async () => {
      const { inc, user, pdId } = await escalateToPerson(s, 5);
      await s.settle();
      s.pd.actAs(user.email).acknowledge(pdId);
      await s.pd.webhooks.flush();
      const both = await expectAgreement(s, inc.id, 'acknowledged');
      expect(both.target.acknowledged_by.map((p: any) => p.name)).toEqual([user.name]);
      await s.settle();
      // PagerDuty changes it again while its webhook is switched off: a read of the incident by the mirror must
      // not move the link ahead of the escalation target; the target's own read then moves both.
      const subs = [...s.pd.state.webhookSubscriptions.values()];
      for (const sub of subs) sub.active = false;
      s.pd.actAs(user.email).resolve(pdId);
      await s.fb.app.pagerduty.links.links.syncLink(both.link.id);
      const mid = await cards(s, inc.id);
      expect(mid.target.status).toBe('acknowledged');
      expect(mid.link.pagerduty_incident.status).toBe('acknowledged');
      for (const sub of subs) sub.active = true;
      await s.esc.follow.refresh(both.target.id, false, 0);
      await expectAgreement(s, inc.id, 'resolved');
    });
  });
}
