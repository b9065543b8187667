import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers.js';
import { setupLinks, waitFor, type LinksSetup } from '../pagerduty-links/helpers.js';

// Incidents opened from PagerDuty get a sensible severity without any mapping (a high-urgency page is never the
// least severe), an admin's mapping wins, and the settings answer what each priority and urgency opens as.

for (const backend of backends) {
  describe(`severity of incidents opened from PagerDuty (${backend})`, () => {
    let s: LinksSetup;
    let svc: string;
    const priority: Record<string, string> = {};
    const severity: Record<string, string> = {};
    beforeAll(async () => {
      s = await setupLinks(backend);
      svc = s.policies.flatMap((p) => p.serviceIds)[0]!;
      for (const p of s.pd.state.priorities.values()) priority[p.name] = p.id;
      for (const v of (await s.owner.get('/api/v1/severities')).body.severities) severity[v.name] = v.id;
      const rule = await s.owner.post('/api/v1/integrations/pagerduty/auto_create_rules', { name: 'Everything', service_ids: [svc] });
      expect(rule.status).toBe(201);
    }, 120_000);
    afterAll(async () => {
      await s?.close();
    });

    const openedAs = async (pdId: string) => {
      const row = await waitFor(`the incident opened from ${pdId}`, async () => (await s.fb.app.database.db.selectFrom('incidents').select('id').where('idempotency_key', '=', `pagerduty:${pdId}`).executeTakeFirst()) ?? null);
      return (await s.owner.get(`/api/v1/incidents/${row.id}`)).body.incident.severity.name as string;
    };

    it('defaults from priority and urgency: P1 Critical, P2 Major, P3 Minor, P4 Low; high urgency at least Major', async () => {
      const pages = {
        highNoPriority: await s.trigger(svc, { title: 'high, no priority', urgency: 'high' }),
        lowNoPriority: await s.trigger(svc, { title: 'low, no priority', urgency: 'low' }),
        p1Low: await s.trigger(svc, { title: 'P1 low', urgency: 'low', priorityId: priority.P1 }),
        p2Low: await s.trigger(svc, { title: 'P2 low', urgency: 'low', priorityId: priority.P2 }),
        p3Low: await s.trigger(svc, { title: 'P3 low', urgency: 'low', priorityId: priority.P3 }),
        p4High: await s.trigger(svc, { title: 'P4 high', urgency: 'high', priorityId: priority.P4 }),
        p5Low: await s.trigger(svc, { title: 'P5 low', urgency: 'low', priorityId: priority.P5 }),
      };
      await s.settle();
      const got: Record<string, string> = {};
      for (const [k, v] of Object.entries(pages)) got[k] = await openedAs(v.id);
      expect(got).toEqual({ highNoPriority: 'Major', lowNoPriority: 'Low', p1Low: 'Critical', p2Low: 'Major', p3Low: 'Minor', p4High: 'Major', p5Low: 'Low' });
    });

    it("an admin's mapping wins over the default, and the settings say what every priority and urgency opens as", async () => {
      const set = await s.owner.patch('/api/v1/integrations/pagerduty/auto_create_settings', { severity_map: { [priority.P4!]: severity.Critical } });
      expect(set.status).toBe(200);
      expect(set.body.defaults).toEqual({
        priorities: ['P1', 'P2', 'P3', 'P4', 'P5'].map((n, i) => ({ id: priority[n], name: n, severity: { id: severity[['Critical', 'Major', 'Minor', 'Low', 'Low'][i]!], name: ['Critical', 'Major', 'Minor', 'Low', 'Low'][i] } })),
        high_urgency: { id: severity.Major, name: 'Major' },
        low_urgency: { id: severity.Low, name: 'Low' },
      });
      const mapped = await s.trigger(svc, { title: 'P4 low, mapped', urgency: 'low', priorityId: priority.P4 });
      const unmapped = await s.trigger(svc, { title: 'P3 low, unmapped', urgency: 'low', priorityId: priority.P3 });
      await s.settle();
      expect(await openedAs(mapped.id)).toBe('Critical');
      expect(await openedAs(unmapped.id)).toBe('Minor');
      const bad = await s.owner.patch('/api/v1/integrations/pagerduty/auto_create_settings', { severity_map: { [priority.P1!]: 'no-such-severity' } });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details.fields[0].path).toBe(`severity_map.${priority.P1}`);
    });
  });
}
