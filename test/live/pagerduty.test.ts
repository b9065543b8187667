import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers.js';
import { declare } from '../escalations/helpers.js';
import { attach, setupLinks, type LinksSetup } from '../pagerduty-links/helpers.js';
import { openLive, type SseStream } from './sse.js';

// The PagerDuty wing touches the live feed where the incident page's cards and the sync progress change: an
// escalation and its targets, the PagerDuty incidents card (attached, mirror switched, status from PagerDuty),
// and catalog sync runs. Through the real edges: the REST API and the PagerDuty emulator (webhooks, polling).

for (const backend of backends) {
  describe(`live changes from the PagerDuty wing (${backend})`, () => {
    let s: LinksSetup;
    let stream: SseStream;
    beforeAll(async () => {
      s = await setupLinks(backend);
      stream = await openLive(s.fb.baseUrl, { cookie: (s.owner as unknown as { cookie: string }).cookie });
      expect(stream.status).toBe(200);
    }, 120_000);
    afterAll(async () => {
      stream?.close();
      await s?.close();
    });
    const after = (id: string | null) => (e: { id: string | null }) => Number(e.id) > Number(id ?? 0);

    it('an escalation changes the escalations card and, once paged, the PagerDuty incidents card', async () => {
      const inc = await declare(s.owner, 'Payments are slow');
      const r = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, { escalation_policy_ids: [s.policies[0]!.id], message: 'Card authorisations time out' });
      expect(r.status).toBe(201);
      await stream.waitFor((e) => e.data.topic === 'escalations' && e.data.incident_id === inc.id, 5000);
      await stream.waitFor((e) => e.data.topic === 'pagerduty_links' && e.data.incident_id === inc.id, 10_000);
    });

    it('attaching, switching the mirror and an acknowledgement in PagerDuty change the PagerDuty incidents card', async () => {
      const inc = await declare(s.owner, 'Queue backlog');
      const pd = await s.trigger(s.fallbackServiceId, { title: 'Queue backlog' });
      const link = await attach(s.owner, inc.id, pd.id);
      await stream.waitFor((e) => e.data.topic === 'pagerduty_links' && e.data.incident_id === inc.id, 5000);
      await s.settle();
      let mark = stream.lastId();
      await s.owner.patch(`/api/v1/incidents/${inc.id}/pagerduty_incidents/${link.id}`, { mirror: false });
      await stream.waitFor((e) => after(mark)(e) && e.data.topic === 'pagerduty_links' && e.data.incident_id === inc.id, 2000);
      // Mirroring is off, so nothing reaches the timeline: only the link's status changes.
      await s.settle();
      mark = stream.lastId();
      s.pd.actAs(s.assignees(pd.id)[0]!).acknowledge(pd.id);
      await s.settle();
      await stream.waitFor((e) => after(mark)(e) && e.data.topic === 'pagerduty_links' && e.data.incident_id === inc.id, 10_000);
      expect(stream.events.filter((e) => after(mark)(e) && e.data.incident_id === inc.id).map((e) => e.data.topic)).not.toContain('timeline');
    });

    it('a catalog sync run reports its progress', async () => {
      const mark = stream.lastId();
      const r = await s.owner.post('/api/v1/integrations/pagerduty/sync', {});
      expect(r.status).toBeLessThan(300);
      await stream.waitFor((e) => after(mark)(e) && e.data.topic === 'catalog_sync', 5000);
    });
  });
}
