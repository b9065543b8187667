import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureHeader } from '../../emulators/pagerduty/index.js';
import { backends } from '../helpers.js';
import { attach, setupLinks, timeline, waitFor, type LinksSetup } from './helpers.js';

// Incidents opened from PagerDuty: rules by service, urgency and priority; one incident per PagerDuty incident
// however often PagerDuty delivers the trigger; a triage incident declined when PagerDuty resolves it first; and
// accepting it acknowledges PagerDuty for the paged person who accepted.

for (const backend of backends) {
  describe(`incidents opened from PagerDuty (${backend})`, () => {
    let s: LinksSetup;
    let svcA: string;
    let svcB: string;
    let p1: any;
    let p2: any;
    let sev: any;
    beforeAll(async () => {
      s = await setupLinks(backend);
      const services = s.policies.flatMap((p) => p.serviceIds);
      svcA = services[0]!;
      svcB = services.find((x) => x !== svcA)!;
      [p1, p2] = [...s.pd.state.priorities.values()];
      sev = (await s.owner.get('/api/v1/severities')).body.severities[0];
      const rule = await s.owner.post('/api/v1/integrations/pagerduty/auto_create_rules', { name: 'Checkout pages', service_ids: [svcA], urgencies: ['high'], priority_ids: [p1.id] });
      expect(rule.status).toBe(201);
      const set = await s.owner.patch('/api/v1/integrations/pagerduty/auto_create_settings', { severity_map: { [p1.id]: sev.id } });
      expect(set.status).toBe(200);
    }, 120_000);
    afterAll(async () => {
      await s?.close();
    });

    const opened = (pdId: string) => waitFor(`the incident opened from ${pdId}`, async () => (await createdFrom(pdId))[0]);
    const createdFrom = async (pdId: string) => {
      const rows = await s.fb.app.database.db.selectFrom('incidents').selectAll().where('idempotency_key', '=', `pagerduty:${pdId}`).execute();
      return rows;
    };

    it('only PagerDuty incidents matching a rule (service, urgency and priority) open an incident, as triage, named and rated from PagerDuty', async () => {
      const match = await s.trigger(svcA, { title: 'Checkout 500s', urgency: 'high', priorityId: p1.id });
      const otherService = await s.trigger(svcB, { title: 'Other service', urgency: 'high', priorityId: p1.id });
      const low = await s.trigger(svcA, { title: 'Low urgency', urgency: 'low', priorityId: p1.id });
      const otherPriority = await s.trigger(svcA, { title: 'P2', urgency: 'high', priorityId: p2.id });
      await s.settle();
      const row = await opened(match.id);
      await s.settle();
      expect(await createdFrom(otherService.id)).toEqual([]);
      expect(await createdFrom(low.id)).toEqual([]);
      expect(await createdFrom(otherPriority.id)).toEqual([]);
      const inc = (await s.owner.get(`/api/v1/incidents/${row.id}`)).body.incident;
      expect(inc).toMatchObject({ name: 'Checkout 500s', status: { category: 'triage' }, severity: { id: sev.id } });
      const links = (await s.owner.get(`/api/v1/incidents/${inc.id}/pagerduty_incidents`)).body.pagerduty_incidents;
      expect(links).toMatchObject([{ reason: 'source', pagerduty_incident: { id: match.id } }]);
      // The log is backfilled a little later (incident creation goes first in a storm).
      await waitFor('the backfilled trigger', async () => (await timeline(s.owner, inc.id)).some((i) => i.kind === 'pagerduty.triggered'));
    });

    it('a trigger delivered again (same delivery, new delivery ids, at once) creates one incident', async () => {
      const pd = await s.trigger(svcA, { title: 'Redelivered', urgency: 'high', priorityId: p1.id });
      await s.pd.webhooks.flush();
      const d = s.pd.webhooks.deliveries().find((x) => x.ordering_key === pd.id && x.event_type === 'incident.triggered')!;
      const secret = [...s.pd.state.webhookSubscriptions.values()][0]!.secret;
      const sends = Array.from({ length: 6 }, (_, i) => {
        const headers: Record<string, string> = { ...d.headers };
        let body = d.body;
        if (i % 2 === 1) {
          const env = JSON.parse(body);
          env.event.id = randomUUID();
          body = JSON.stringify(env);
          headers['x-webhook-id'] = randomUUID();
          headers['x-pagerduty-signature'] = signatureHeader(body, [secret]);
        }
        return fetch(`${s.fb.baseUrl}/webhooks/pagerduty`, { method: 'POST', headers, body }).then((r) => r.status);
      });
      expect(await Promise.all(sends)).toEqual([200, 200, 200, 200, 200, 200]);
      await s.settle();
      expect(await createdFrom(pd.id)).toHaveLength(1);
      const [row] = await createdFrom(pd.id);
      expect((await s.owner.get(`/api/v1/incidents/${row!.id}/pagerduty_incidents`)).body.pagerduty_incidents).toHaveLength(1);
    });

    it('resolved in PagerDuty before anyone accepts: the triage incident is declined with a timeline note', async () => {
      const pd = await s.trigger(svcA, { title: 'Flapping check', urgency: 'high', priorityId: p1.id });
      await s.settle();
      const row = await opened(pd.id);
      s.pd.actAs(s.assignees(pd.id)[0]!).resolve(pd.id);
      await s.settle();
      const inc = await waitFor('declined', async () => {
        const i = (await s.owner.get(`/api/v1/incidents/${row.id}`)).body.incident;
        return i.status.category === 'declined' ? i : null;
      });
      const items = await timeline(s.owner, inc.id);
      expect(items.find((i) => i.kind === 'pagerduty.auto_declined').text).toContain('resolved in PagerDuty');
    });

    it('accepting the triage incident acknowledges PagerDuty for the paged person who accepted', async () => {
      const pd = await s.trigger(svcA, { title: 'Card declines', urgency: 'high', priorityId: p1.id });
      await s.settle();
      const row = await opened(pd.id);
      const paged = s.assignees(pd.id)[0]!;
      const person = await s.personFor(paged);
      const acc = await person.client.post(`/api/v1/incidents/${row.id}/actions/accept`, {});
      expect(acc.status, JSON.stringify(acc.body)).toBe(200);
      await s.settle();
      await waitFor('acknowledged in PagerDuty', async () => s.pd.state.incidents.get(pd.id)!.status === 'acknowledged');
      expect(s.pd.state.incidents.get(pd.id)!.acknowledgements.map((a) => a.user_id)).toEqual([paged]);
    });

    it('a trigger on a service another open incident already follows, within the grouping window, is offered for attachment instead', async () => {
      await s.owner.patch('/api/v1/integrations/pagerduty/auto_create_settings', { grouping_window_minutes: 30 });
      try {
        const first = await s.trigger(svcA, { title: 'Group 1', urgency: 'high', priorityId: p1.id });
        await s.settle();
        await waitFor('group 1 followed', async () => s.fb.app.database.db.selectFrom('pagerduty_incident_links').select('id').where('pd_incident_id', '=', first.id).executeTakeFirst());
        const second = await s.trigger(svcA, { title: 'Group 2', urgency: 'high', priorityId: p1.id });
        await s.settle();
        expect(await createdFrom(second.id)).toEqual([]);
        const links = await waitFor('the grouped link', async () => {
          const l = await s.fb.app.database.db.selectFrom('pagerduty_incident_links').selectAll().where('pd_incident_id', '=', second.id).execute();
          return l.length ? l : null;
        });
        expect(links).toHaveLength(1);
        expect(links[0]).toMatchObject({ reason: 'grouped', related: 'pending' });
        // Group 1 itself may have been grouped into an earlier incident on the same service: follow it there.
        const firstLink = await s.fb.app.database.db.selectFrom('pagerduty_incident_links').select('incident_id').where('pd_incident_id', '=', first.id).executeTakeFirstOrThrow();
        expect(links[0]!.incident_id).toBe(firstLink.incident_id);
      } finally {
        await s.owner.patch('/api/v1/integrations/pagerduty/auto_create_settings', { grouping_window_minutes: 0 });
      }
    });

    /** A rule made for one test and removed after it, so the other tests keep their one rule. */
    const withRule = async (body: Record<string, unknown>, fn: () => Promise<void>) => {
      const r = await s.owner.post('/api/v1/integrations/pagerduty/auto_create_rules', body);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      try {
        await fn();
      } finally {
        expect((await s.owner.del(`/api/v1/integrations/pagerduty/auto_create_rules/${r.body.rule.id}`)).status).toBe(204);
      }
    };
    let markedLater = '';
    const ignoredServices = () => [...s.pd.state.services.values()].filter((x) => x.description.toLowerCase().includes('incident-io-ignore'));
    const skipLogged = (pdId: string) => s.fb.logs.lines.map((l) => JSON.parse(l)).find((l) => l.pagerduty === pdId && l.reason === 'service_ignored');

    it('a catch-all rule never opens an incident for a service marked incident-io-ignore: the skip is logged with its reason, and a person can still attach it by hand', async () => {
      const ignored = ignoredServices()[0]!;
      expect(ignored, 'the medium seed has services marked incident-io-ignore').toBeTruthy();
      await withRule({ name: 'Everything', create_as: 'triage' }, async () => {
        // The same catch-all rule opens one for an ordinary service (so the rule itself works)…
        const ordinary = await s.trigger(svcB, { title: 'Ordinary service', urgency: 'low' });
        const skipped = await s.trigger(ignored.id, { title: 'Synthetic check failed', urgency: 'high' });
        await s.settle();
        await opened(ordinary.id);
        // …and none for the ignored service, delivered by the emulator's signed webhook just the same.
        expect(s.pd.webhooks.deliveries().some((d) => d.ordering_key === skipped.id && d.event_type === 'incident.triggered' && d.status === 'delivered')).toBe(true);
        expect(await createdFrom(skipped.id)).toEqual([]);
        expect(await s.fb.app.database.db.selectFrom('pagerduty_incident_links').select('id').where('pd_incident_id', '=', skipped.id).execute()).toEqual([]);
        const line = skipLogged(skipped.id);
        expect(line, 'the skip is logged').toMatchObject({ service: ignored.id, reason: 'service_ignored', decided_by: 'pagerduty' });
        expect(line.msg).toContain('"Everything"');
        expect(line.msg).toContain('incident-io-ignore');

        // By hand it still attaches: a responder links it to an incident they run.
        const inc = (await s.owner.post('/api/v1/incidents', { name: 'Synthetic checks flapping' })).body.incident;
        const link = await attach(s.owner, inc.id, skipped.id);
        expect(link).toMatchObject({ reason: 'related', pagerduty_incident: { id: skipped.id } });
      });
    });

    it('a service marked incident-io-ignore after the last sync (catalog stale) is still left alone; a group window does not offer it either', async () => {
      const used = new Set([svcA, svcB]);
      const target = s.policies.flatMap((p) => p.serviceIds).find((x) => !used.has(x))!;
      markedLater = target;
      expect((await s.owner.get(`/api/v1/integrations/pagerduty/escalation_options?type=service&query=${target}`)).body.options.map((o: any) => o.id)).toContain(target);
      const before = s.pd.state.services.get(target)!.description;
      await s.owner.patch('/api/v1/integrations/pagerduty/auto_create_settings', { grouping_window_minutes: 30 });
      // PagerDuty's answer is reused for 10 s per service; here the marker is added right after a trigger.
      const tuning = s.fb.app.pagerduty.links.autoCreate.tuning;
      tuning.serviceCacheMs = 0;
      await withRule({ name: 'Everything', create_as: 'live' }, async () => {
        const first = await s.trigger(target, { title: 'Before marking' });
        await s.settle();
        await opened(first.id);
        // PagerDuty's side changes; no service webhook reaches Firebreak (this subscription has incident events only).
        s.pd.admin.updateService(target, { description: `${before} (incident-io-ignore)` });
        const second = await s.trigger(target, { title: 'After marking' });
        await s.settle();
        expect(await createdFrom(second.id)).toEqual([]);
        expect(await s.fb.app.database.db.selectFrom('pagerduty_incident_links').select('id').where('pd_incident_id', '=', second.id).execute()).toEqual([]);
        expect(skipLogged(second.id)).toMatchObject({ service: target, decided_by: 'pagerduty' });
      }).finally(async () => {
        s.pd.admin.updateService(target, { description: before });
        tuning.serviceCacheMs = 10_000;
        await s.owner.patch('/api/v1/integrations/pagerduty/auto_create_settings', { grouping_window_minutes: 0 });
      });
    });

    it('when PagerDuty cannot say, the catalog decides: a live entry opens, a service the catalog does not have is retried, not opened', async () => {
      const svc = s.fb.app.pagerduty.links.autoCreate;
      const synced = s.policies.flatMap((p) => p.serviceIds).at(-1)!;
      const ignored = ignoredServices().at(-1)!;
      s.pd.faults.set({ errorRate5xx: 1 });
      try {
        expect(await svc.serviceIgnored(synced)).toEqual({ ignored: false, decidedBy: 'catalog' });
        await expect(svc.serviceIgnored(ignored.id)).rejects.toThrow(/cannot tell whether PagerDuty service .* is marked incident-io-ignore/);
      } finally {
        s.pd.faults.clear();
      }
      // PagerDuty answers again: decided there.
      expect(await svc.serviceIgnored(ignored.id)).toEqual({ ignored: true, decidedBy: 'pagerduty' });
    });

    it('team rules: a PagerDuty incident on a service of a chosen team opens an incident; one on a service of no chosen team does not', async () => {
      const ignored = new Set(ignoredServices().map((x) => x.id));
      const candidates = [...s.pd.state.services.values()].filter((x) => !ignored.has(x.id) && ![svcA, svcB, markedLater].includes(x.id));
      const withTeam = candidates.find((x) => x.team_ids.length > 0)!;
      const team = withTeam.team_ids[0]!;
      const outside = candidates.find((x) => !x.team_ids.includes(team))!;
      expect(withTeam && outside).toBeTruthy();
      await withRule({ name: `Team ${team}`, team_ids: [team] }, async () => {
        const inTeam = await s.trigger(withTeam.id, { title: 'Team service down', urgency: 'low' });
        const notInTeam = await s.trigger(outside.id, { title: 'Other team service down', urgency: 'low' });
        await s.settle();
        const row = await opened(inTeam.id);
        await s.settle();
        expect(await createdFrom(notInTeam.id)).toEqual([]);
        expect(row).toMatchObject({ name: 'Team service down' });
      });
      // A team rule does not open one for the team's service marked incident-io-ignore either.
      const ignoredWithTeam = ignoredServices().find((x) => x.team_ids.length > 0)!;
      expect(ignoredWithTeam, 'an ignored service with a team in the seed').toBeTruthy();
      await withRule({ name: 'Ignored team', team_ids: [ignoredWithTeam.team_ids[0]!] }, async () => {
        const pd = await s.trigger(ignoredWithTeam.id, { title: 'Ignored team service down', urgency: 'low' });
        await s.settle();
        expect(await createdFrom(pd.id)).toEqual([]);
        expect(skipLogged(pd.id)).toMatchObject({ service: ignoredWithTeam.id, reason: 'service_ignored' });
      });
    });

    it('only admins change rules', async () => {
      const { userClient } = await import('../helpers.js');
      const r = await userClient(s.fb, s.owner, 'responder');
      expect((await r.client.post('/api/v1/integrations/pagerduty/auto_create_rules', { name: 'x' })).status).toBe(403);
      expect((await r.client.get('/api/v1/integrations/pagerduty/auto_create_rules')).status).toBe(200);
    });
  });
}
