import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { sign } from '../../src/integrations/pagerduty/webhooks/signature.js';
import { startCheckedPagerDuty } from '../pagerduty-requests.js';
import { pagerDutyCli } from '../../src/integrations/pagerduty/cli.js';
import { backends, userClient } from '../helpers.js';
import { createsByKey, declare, setupEscalations, waitFor, waitForTargets, type EscSetup } from '../escalations/helpers.js';
import { allEntries, type Setup } from './helpers.js';
import { expectCatalogMatches } from './catalog-check.js';
import { seedOnCallAccount, T0 } from '../oncall/helpers.js';
import { defineField } from '../custom-fields/helpers.js';

// Several PagerDuty accounts (issue 17, part 5), end to end with two emulator instances as two accounts: the first
// account connected as before, a second one ("EU") added through the API with its own key, region, bot and webhook
// subscription. Each account syncs its own entries (marked with the account), escalating pages each target in its
// own account as that account's bot, PagerDuty's webhooks reach the account whose subscription sent them, and
// disconnecting the second account leaves the first untouched.

const run = async (s: EscSetup, runId: string) =>
  waitFor(`sync run ${runId}`, async () => {
    const r = (await s.owner.get(`/api/v1/catalog_sync_runs/${runId}`)).body.sync_run;
    return r && !['queued', 'running'].includes(r.status) ? r : null;
  }, 60_000);

for (const backend of backends) {
  describe(`several PagerDuty accounts (${backend})`, () => {
    let s: EscSetup;
    let eu: PagerDutyEmulator;
    let euId: string;
    let euStory: ReturnType<typeof seedOnCallAccount>;
    /** The incident escalated to both accounts, and EU's PagerDuty incident and service it is linked to. */
    let both: { incidentId: string; euIncident: string; euService: string; mainIncident: string };
    /** A change event sent to a service of an account through the Events API v2, as a deploy tool would. */
    const sendChange = async (pd: PagerDutyEmulator, serviceId: string, summary: string) => {
      const res = await fetch(`${pd.baseUrl}/v2/change/enqueue`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ routing_key: pd.state.services.get(serviceId)!.integrations![0]!.integration_key, payload: { summary, timestamp: new Date(Date.now() - 60_000).toISOString(), source: 'ci' } }),
      });
      expect(res.status).toBe(202);
    };
    const asSetup = (pd: PagerDutyEmulator): Setup => ({ fb: s.fb, pd, owner: s.owner as any, close: async () => {} });

    beforeAll(async () => {
      s = await setupEscalations(backend, { autoWebhook: true });
      eu = await startCheckedPagerDuty({ port: 0, seed: 'small', rateLimitPerMinute: false, webhookRetryDelaysMs: [50, 100] });
      // EU has a known on-call story (team, schedule, policy, service); the first account has none of it.
      euStory = seedOnCallAccount(eu);
    }, 180_000);
    afterAll(async () => {
      await s?.close();
      await eu?.stop();
    });

    it('adds a second account with its own key, region and bot; the list shows both, keys only masked', async () => {
      const bot = [...eu.state.users.values()][0]!;
      const r = await s.owner.post('/api/v1/integrations/pagerduty/accounts', { name: 'EU', region: 'eu', base_url: eu.baseUrl, api_key: eu.fullAccessKey, bot_user_id: bot.id });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      euId = r.body.account.id;
      expect(r.body.account).toMatchObject({ name: 'EU', first: false, region: 'eu', base_url: eu.baseUrl, bot_user: { id: bot.id } });
      expect(await run(s, r.body.account.last_run.id)).toMatchObject({ status: 'succeeded' });
      const list = await waitFor('the EU webhook subscription', async () => {
        const l = (await s.owner.get('/api/v1/integrations/pagerduty/accounts')).body.accounts;
        return l.every((a: any) => a.webhook.secret_configured) ? l : null;
      });
      expect(list.map((a: any) => [a.name, a.first])).toEqual([['Main', true], ['EU', false]]);
      expect(list[1].webhook.url).toBe(`${s.fb.baseUrl}/webhooks/pagerduty/accounts/${euId}`);
      expect(list[0].webhook.url).toBe(`${s.fb.baseUrl}/webhooks/pagerduty`);
      const text = JSON.stringify(list);
      expect(text).not.toContain(eu.fullAccessKey);
      expect(text).not.toContain(s.pd.fullAccessKey);
      // EU's subscription in EU's PagerDuty points at EU's URL.
      expect([...eu.state.webhookSubscriptions.values()].map((w) => w.url)).toEqual([`${s.fb.baseUrl}/webhooks/pagerduty/accounts/${euId}`]);
      // The first account is still the one /api/v1/integrations/pagerduty describes.
      expect((await s.owner.get('/api/v1/integrations/pagerduty')).body).toMatchObject({ connected: true, base_url: s.pd.baseUrl });
    }, 90_000);

    it("each account's entries carry the account and match that account's PagerDuty; syncing one leaves the other's alone", async () => {
      await expectCatalogMatches(asSetup(s.pd));
      await expectCatalogMatches(asSetup(eu), { id: euId, name: 'EU' });
      const before = (await allEntries(asSetup(eu), 'PagerDutyUser')).length;
      // A first-account sync archives nothing of EU's (its entries are not in the first account's listing).
      const r = await s.owner.post('/api/v1/integrations/pagerduty/sync', {});
      const done = await run(s, r.body.run.id);
      expect(done.status).toBe('succeeded');
      expect(Object.values(done.stats).reduce((n: number, t: any) => n + t.archived, 0)).toBe(0);
      expect((await allEntries(asSetup(eu), 'PagerDutyUser')).length).toBe(before);
      await expectCatalogMatches(asSetup(eu), { id: euId, name: 'EU' });
      // EU's own re-sync finds nothing to change.
      const again = await run(s, (await s.owner.post(`/api/v1/integrations/pagerduty/accounts/${euId}/sync`, {})).body.run.id);
      expect(again.status).toBe('succeeded');
      expect(again.rows_written).toBe(0);
    }, 90_000);

    it('escalating pages each target in its own account, as that account’s bot, and webhooks reach the account that sent them', async () => {
      const euBot = [...eu.state.users.values()][0]!;
      const euService = [...eu.state.services.values()].find((x: any) => x.status !== 'disabled' && eu.state.escalationPolicies.has(x.escalation_policy_id))!;
      const euPolicy = eu.state.escalationPolicies.get(euService.escalation_policy_id)!;
      const mainPolicy = s.policies[0]!;
      const inc = await declare(s.owner, 'Payments down in both regions');
      const r = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, { escalation_policy_ids: [mainPolicy.id, `${euId}:${euPolicy.id}`], message: 'both regions' });
      expect(r.status, r.status === 201 ? '' : s.fb.logs.lines.filter((l) => l.includes('"level":50')).join('\n')).toBe(201);
      const esc = await waitForTargets(s.owner, r.body.escalation.id);
      expect(esc.targets.map((t: any) => [t.name, t.status])).toEqual([[mainPolicy.name, 'triggered'], [euPolicy.name, 'triggered']]);
      const [mainTarget, euTarget] = esc.targets;
      both = { incidentId: inc.id, euIncident: euTarget.pagerduty_incident.id, euService: '', mainIncident: mainTarget.pagerduty_incident.id };
      const mainSent = createsByKey(s.pd).get(mainTarget.incident_key)!;
      const euSent = createsByKey(eu).get(euTarget.incident_key)!;
      expect(mainSent).toHaveLength(1);
      expect(euSent).toHaveLength(1);
      expect(createsByKey(s.pd).has(euTarget.incident_key)).toBe(false);
      expect(createsByKey(eu).has(mainTarget.incident_key)).toBe(false);
      expect((euSent[0].body as any).incident.escalation_policy.id).toBe(euPolicy.id);
      // Through a service of EU's account that uses the policy.
      const euServices = [...eu.state.services.values()].filter((x) => x.escalation_policy_id === euPolicy.id).map((x) => x.id);
      expect(euServices).toContain((euSent[0].body as any).incident.service.id);
      both.euService = (euSent[0].body as any).incident.service.id;
      // The owner has no user in EU's account: EU's bot pages there.
      expect(euSent[0].from.trim().toLowerCase()).toBe(euBot.email.trim().toLowerCase());

      // Somebody acknowledges in EU's PagerDuty: EU's subscription delivers to EU's URL, and the EU target follows.
      const responder = [...eu.state.users.values()][1]!;
      eu.actAs(responder.id).acknowledge(euTarget.pagerduty_incident.id);
      await eu.webhooks.flush();
      const acked = await waitForTargets(s.owner, r.body.escalation.id, (t) => t.id !== euTarget.id || t.status === 'acknowledged');
      expect(acked.targets.find((t: any) => t.id === mainTarget.id).status).toBe('triggered');
      // The acknowledgement was stored as EU's delivery (each emulator numbers its incidents alike, so the same
      // PagerDuty id can name an incident in each account: the account is what tells them apart).
      const stored = await s.fb.app.database.db.selectFrom('pagerduty_webhook_events').select(['account_id', 'event_type']).where('resource_id', '=', euTarget.pagerduty_incident.id).execute();
      expect(stored.filter((x) => x.event_type === 'incident.acknowledged').map((x) => x.account_id)).toEqual([euId]);
      expect(stored.filter((x) => x.event_type === 'incident.triggered').map((x) => x.account_id).sort()).toEqual(mainTarget.pagerduty_incident.id === euTarget.pagerduty_incident.id ? ['default', euId].sort() : [euId]);
    }, 90_000);

    it("a person of EU is paged directly through EU's own fallback service, chosen beside the first account's, which stays", async () => {
      const settingsUrl = '/api/v1/integrations/pagerduty/escalation_settings';
      const before = (await s.owner.get(settingsUrl)).body;
      expect(before.fallback_service).not.toBeNull(); // the first account's, set up by the escalation helpers
      const euService = [...eu.state.services.values()].find((x: any) => x.status !== 'disabled')!;
      const euPerson = [...eu.state.users.values()][2]!;
      // A service of one account cannot be another account's fallback.
      const wrong = await s.owner.patch(settingsUrl, { fallback_service_id: `${euId}:${euService.id}`, account_id: 'default' });
      expect(wrong.status).toBe(400);
      expect(wrong.body.error.details.fields[0].path).toBe('fallback_service_id');
      const set = await s.owner.patch(settingsUrl, { fallback_service_id: `${euId}:${euService.id}` });
      expect(set.status).toBe(200);
      expect(set.body.fallback_service).toEqual(before.fallback_service);
      expect(set.body.fallback_services).toEqual([
        { account_id: 'default', account_name: 'Main', service: before.fallback_service },
        { account_id: euId, account_name: 'EU', service: { id: `${euId}:${euService.id}`, name: euService.name } },
      ]);

      const inc = await declare(s.owner, 'EU checkout needs Yusuf');
      const r = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, { user_ids: [`${euId}:${euPerson.id}`], message: 'EU checkout' });
      expect(r.status).toBe(201);
      const esc = await waitForTargets(s.owner, r.body.escalation.id);
      expect(esc.targets.map((t: any) => [t.name, t.status])).toEqual([[euPerson.name, 'triggered']]);
      const [sent] = createsByKey(eu).get(esc.targets[0].incident_key)!;
      expect((sent.body as any).incident.service.id).toBe(euService.id);
      expect((sent.body as any).incident.assignments.map((a: any) => a.assignee.id)).toEqual([euPerson.id]);
      expect(createsByKey(s.pd).has(esc.targets[0].incident_key)).toBe(false);

      // Clearing EU's leaves the first account's.
      const cleared = await s.owner.patch(settingsUrl, { fallback_service_id: null, account_id: euId });
      expect(cleared.body.fallback_services.map((f: any) => f.service?.id ?? null)).toEqual([before.fallback_service.id, null]);
    }, 90_000);

    it("who is on call for an EU service, policy, team or schedule is asked of EU's PagerDuty with EU's ids, and names EU's people", async () => {
      const oncall = s.fb.app.pagerduty.oncall.service;
      oncall.clear();
      oncall.now = () => eu.clock.now().getTime();
      eu.clock.set(T0);
      const key = (id: string) => `${euId}:${id}`;
      const ask = async (q: string) => {
        const r = await s.owner.get(`/api/v1/integrations/pagerduty/oncall?${q}`);
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        return r.body.oncall;
      };
      const mainBefore = s.pd.requestLog().length;
      const euBefore = eu.requestLog().length;
      const svc = await ask(`service_id=${key(euStory.ids.service)}`);
      expect(svc).toMatchObject({ state: 'ok', subject: { type: 'service', id: key(euStory.ids.service), name: 'Payments API' } });
      expect(svc.policies.map((p: any) => [p.id, p.name, p.would_page])).toEqual([[key(euStory.ids.policy), 'Payments Escalation', 'would page: Alan Weber (level 1), then Cem Yilmaz (level 2)']]);
      expect(svc.policies[0].levels[0].people[0].via).toMatchObject({ id: key(euStory.ids.schedule), name: 'Payments Primary' });
      expect(svc.policies[0].levels[0].people[0].user.id).toBe(key(euStory.ids.alan));
      const team = await ask(`team_id=${key(euStory.ids.team)}`);
      expect(team.subject.name).toBe('Payments Crew');
      expect(team.policies.map((p: any) => p.would_page)).toEqual(['would page: Alan Weber (level 1), then Cem Yilmaz (level 2)']);
      const policy = await ask(`escalation_policy_id=${key(euStory.ids.policy)}`);
      expect(policy.policies[0].levels.map((l: any) => l.people.map((p: any) => p.user.name))).toEqual([['Alan Weber'], ['Cem Yilmaz']]);
      const schedule = await ask(`schedule_id=${key(euStory.ids.schedule)}`);
      expect(schedule).toMatchObject({ state: 'ok', schedule: { id: key(euStory.ids.schedule), name: 'Payments Primary' } });
      expect(schedule.schedule.people.map((p: any) => p.user.name)).toEqual(['Alan Weber']);
      // EU's PagerDuty was asked with its own ids; the first account's PagerDuty was not asked at all.
      const euAsked = eu.requestLog().slice(euBefore).map((e) => `${e.path} ${JSON.stringify(e.query ?? {})}`).join('\n');
      expect(euAsked).toContain(`/schedules/${euStory.ids.schedule}`);
      expect(euAsked).toContain('/oncalls');
      expect(euAsked).not.toContain(`${euId}:`);
      expect(s.pd.requestLog().slice(mainBefore).filter((e) => e.path === '/oncalls' || e.path.startsWith('/schedules'))).toEqual([]);
      oncall.now = () => Date.now();
    }, 60_000);

    it("recent changes: an EU service in the field and a linked EU PagerDuty incident are read in EU, with EU's ids; pinning reads the change in EU", async () => {
      await defineField(s.owner, { key: 'affected_services', name: 'Affected services', type: 'catalog', catalog_type: 'PagerDutyService', multiple: true });
      const euEntry = (await allEntries(asSetup(eu), 'PagerDutyService')).find((e) => e.external_id === `${euId}:${euStory.ids.service}`)!;
      expect(euEntry).toBeTruthy();
      await sendChange(eu, euStory.ids.service, 'Deploy EU payments v9');
      await sendChange(eu, both.euService, 'Deploy EU checkout v4');
      const mainBefore = s.pd.requestLog().length;
      const euBefore = eu.requestLog().length;

      // A service of EU's account named in the field.
      const declared = await s.owner.post('/api/v1/incidents', { name: 'EU payments slow', custom_field_values: { affected_services: [euEntry.id] } });
      expect(declared.status, JSON.stringify(declared.body)).toBe(201);
      const r = await s.owner.get(`/api/v1/incidents/${declared.body.incident.id}/pagerduty_changes?refresh=true`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.problems).toEqual([]);
      expect(r.body.services.map((x: any) => [x.id, x.name])).toEqual([[euEntry.external_id, 'Payments API']]);
      expect(r.body.change_events.map((c: any) => [c.summary, c.services])).toEqual([['Deploy EU payments v9', [{ id: euEntry.external_id, name: 'Payments API' }]]]);
      const change = r.body.change_events[0];
      expect(change.id.startsWith(`${euId}:`)).toBe(true);

      // The incident linked to EU's PagerDuty incident: its service's changes and those PagerDuty relates to it, from EU.
      const linked = await s.owner.get(`/api/v1/incidents/${both.incidentId}/pagerduty_changes?refresh=true`);
      expect(linked.body.problems).toEqual([]);
      expect(linked.body.services.map((x: any) => x.id)).toContain(`${euId}:${both.euService}`);
      const eu4 = linked.body.change_events.find((c: any) => c.summary === 'Deploy EU checkout v4');
      expect(eu4, JSON.stringify(linked.body.change_events)).toBeTruthy();
      expect(eu4.related_to.map((x: any) => x.pagerduty_incident_id)).toContain(both.euIncident);

      // Pinning reads the change event in EU's PagerDuty.
      const pin = await s.owner.post(`/api/v1/incidents/${declared.body.incident.id}/pagerduty_changes/${change.id}/pin`, {});
      expect(pin.status, JSON.stringify(pin.body)).toBe(201);
      expect(pin.body).toMatchObject({ pinned: true, change_event_id: change.id, text: 'Change on Payments API: Deploy EU payments v9 (from ci)' });

      const euAsked = eu.requestLog().slice(euBefore).map((e) => e.path);
      expect(euAsked).toContain(`/services/${euStory.ids.service}/change_events`);
      expect(euAsked).toContain(`/incidents/${both.euIncident}/related_change_events`);
      expect(euAsked).toContain(`/change_events/${change.id.slice(euId.length + 1)}`);
      expect(euAsked.join(' ')).not.toContain(`${euId}:`);
      // The first account's PagerDuty was asked only about its own linked incident
      const mainAsked = s.pd.requestLog().slice(mainBefore).map((e) => e.path).filter((p) => p.includes('change_events'));
      // (its service's changes and its related changes), never about EU's service, incident or change.
      expect(mainAsked.filter((p) => p.endsWith('/related_change_events'))).toEqual([`/incidents/${both.mainIncident}/related_change_events`]);
      expect(mainAsked).not.toContain(`/services/${euStory.ids.service}/change_events`);
      expect(mainAsked.filter((p) => p.startsWith('/change_events'))).toEqual([]);
    }, 60_000);

    it("adding responders to EU's linked PagerDuty incident and status updates act in EU, with EU's ids and bot; a target of another account is refused", async () => {
      const euBot = [...eu.state.users.values()][0]!;
      const mainBefore = s.pd.requestLog().length;
      const euBefore = eu.requestLog().length;
      const euPolicy = `${euId}:${euStory.ids.policy}`;
      // Other accounts' people cannot join EU's incident: a 400 that says why, nothing recorded.
      const mixed = await s.owner.post(`/api/v1/incidents/${both.incidentId}/escalations`, { mode: 'add_responders', pagerduty_incident_id: both.euIncident, escalation_policy_ids: [euPolicy, s.policies[0]!.id], message: 'join' });
      expect(mixed.status, JSON.stringify(mixed.body)).toBe(400);
      expect(mixed.body.error.message).toContain(`${s.policies[0]!.name} is in the PagerDuty account Main`);

      const r = await s.owner.post(`/api/v1/incidents/${both.incidentId}/escalations`, { mode: 'add_responders', pagerduty_incident_id: both.euIncident, escalation_policy_ids: [euPolicy], message: 'Payments team, please join' });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      const done = await waitFor('EU took the responder request', async () => {
        const e = (await s.owner.get(`/api/v1/escalations/${r.body.escalation.id}`)).body.escalation;
        return e.responder_request.state !== 'pending' ? e : null;
      });
      expect(done.responder_request).toMatchObject({ state: 'sent', pagerduty_incident: { id: both.euIncident } });
      expect(done.responder_request.targets.map((t: any) => t.name)).toEqual(['Payments Escalation']);
      const posts = eu.requestLog().slice(euBefore).filter((e) => e.method === 'POST' && e.path === `/incidents/${both.euIncident}/responder_requests`);
      expect(posts).toHaveLength(1);
      // EU's own ids, as EU's bot (the owner has no user in EU).
      expect((posts[0]!.body as any).responder_request_targets.map((t: any) => t.responder_request_target.id)).toEqual([euStory.ids.policy]);
      expect((posts[0]!.body as any).requester_id).toBe(euBot.id);
      expect(eu.state.incidents.get(both.euIncident)!.responder_requests).toHaveLength(1);

      // An incident update reaches each linked PagerDuty incident in its own account, as that account's bot.
      const u = await s.owner.post(`/api/v1/incidents/${both.incidentId}/updates`, { message: 'Failing over the EU database' });
      expect(u.status, JSON.stringify(u.body)).toBe(201);
      const euSent = await waitFor('the EU status update', async () => {
        const x = eu.requestLog().slice(euBefore).filter((e) => e.method === 'POST' && e.path === `/incidents/${both.euIncident}/status_updates`);
        return x.length ? x : null;
      });
      expect(euSent).toHaveLength(1);
      expect(String(euSent[0]!.from).trim().toLowerCase()).toBe(euBot.email.trim().toLowerCase());
      expect(eu.state.incidents.get(both.euIncident)!.status_updates!.map((x) => x.message)).toEqual(['Failing over the EU database']);
      await waitFor('the Main status update', async () => s.pd.requestLog().slice(mainBefore).some((e) => e.method === 'POST' && e.path === `/incidents/${both.mainIncident}/status_updates`));
      const rows = await s.fb.app.database.db.selectFrom('pagerduty_status_updates').select(['account_id', 'pd_incident_id', 'state']).where('incident_id', '=', both.incidentId).execute();
      await waitFor('both status updates settled', async () => {
        const now = await s.fb.app.database.db.selectFrom('pagerduty_status_updates').select(['account_id', 'state']).where('incident_id', '=', both.incidentId).execute();
        return now.length === 2 && now.every((x) => x.state === 'sent');
      });
      expect(rows.map((x) => x.account_id).sort()).toEqual(['default', euId].sort());
      // The first account's PagerDuty heard nothing of EU's incident.
      expect(s.pd.requestLog().slice(mainBefore).filter((e) => e.path.includes('responder_requests'))).toEqual([]);
    }, 60_000);

    it("auto-create: an EU PagerDuty incident matching a rule on EU's service opens a triage incident, read in EU and linked in EU", async () => {
      const euService = `${euId}:${euStory.ids.service}`;
      const rule = await s.owner.post('/api/v1/integrations/pagerduty/auto_create_rules', { name: 'EU payments', service_ids: [euService], create_as: 'triage' });
      expect(rule.status, JSON.stringify(rule.body)).toBe(201);
      try {
        const euBefore = eu.requestLog().length;
        const mainBefore = s.pd.requestLog().length;
        const pdInc = eu.admin.triggerIncident({ service_id: euStory.ids.service, title: 'EU card declines' });
        await eu.webhooks.flush();
        const created = await waitFor('the triage incident from EU', async () =>
          s.fb.app.database.db.selectFrom('incidents').select(['id', 'name']).where('idempotency_key', '=', `pagerduty:${euId}:${pdInc.id}`).executeTakeFirst(), 30_000);
        const inc = (await s.owner.get(`/api/v1/incidents/${created.id}`)).body.incident;
        expect(inc).toMatchObject({ name: 'EU card declines', status: { category: 'triage' } });
        // The source link is written just after the incident (its own step).
        const links = await waitFor('the source link', async () => {
          const l = await s.fb.app.database.db.selectFrom('pagerduty_incident_links').select(['account_id', 'pd_incident_id', 'reason']).where('incident_id', '=', created.id).execute();
          return l.length ? l : null;
        });
        expect(links).toEqual([{ account_id: euId, pd_incident_id: pdInc.id, reason: 'source' }]);
        // Whether the service is marked ignored was asked of EU's PagerDuty, with EU's id; never of the first account.
        expect(eu.requestLog().slice(euBefore).map((e) => e.path)).toContain(`/services/${euStory.ids.service}`);
        expect(s.pd.requestLog().slice(mainBefore).map((e) => e.path)).not.toContain(`/services/${euStory.ids.service}`);
      } finally {
        await s.owner.request('DELETE', `/api/v1/integrations/pagerduty/auto_create_rules/${rule.body.rule.id}`);
      }
    }, 60_000);

    it("two-way close: EU's PagerDuty incident resolved holds the episode; a link shown open again by an old delivery is asked of EU, not of the first account", async () => {
      const euPolicy = `${euId}:${euStory.ids.policy}`;
      const inc = await declare(s.owner, 'EU only: card declines');
      const r = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, { escalation_policy_ids: [euPolicy], message: 'EU only' });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      const [target] = (await waitForTargets(s.owner, r.body.escalation.id)).targets;
      const pdId = target.pagerduty_incident.id as string;
      const db = s.fb.app.database.db;
      const link = await waitFor('the EU link', async () => db.selectFrom('pagerduty_incident_links').select(['id', 'account_id', 'status']).where('incident_id', '=', inc.id).executeTakeFirst());
      expect(link.account_id).toBe(euId);
      eu.actAs([...eu.state.users.values()][1]!.id).resolve(pdId);
      await eu.webhooks.flush();
      const episode = await waitFor('the all-resolved episode', async () => db.selectFrom('pagerduty_all_resolved').selectAll().where('incident_id', '=', inc.id).where('ended_at', 'is', null).executeTakeFirst(), 30_000);
      // An old delivery sets the link back to triggered for a moment: the check asks EU's PagerDuty, which says resolved.
      const euBefore = eu.requestLog().length;
      const mainBefore = s.pd.requestLog().length;
      await db.updateTable('pagerduty_incident_links').set({ status: 'triggered' }).where('id', '=', link.id).execute();
      await s.fb.app.pagerduty.allResolved.service.queueCheck(inc.id);
      await waitFor('EU asked about its incident', async () => eu.requestLog().slice(euBefore).some((e) => e.method === 'GET' && e.path === `/incidents/${pdId}`), 30_000);
      await s.fb.app.jobs.drain(20_000);
      expect(s.pd.requestLog().slice(mainBefore).filter((e) => e.path === `/incidents/${pdId}`)).toEqual([]);
      // The episode holds: nobody is asked twice.
      const after = await db.selectFrom('pagerduty_all_resolved').selectAll().where('incident_id', '=', inc.id).execute();
      expect(after.map((e) => [e.id, e.ended_at])).toEqual([[episode.id, null]]);
    }, 60_000);

    it("a delivery signed with EU's secret is refused at the first account's URL, and an unknown account's URL is 404", async () => {
      const secret = (eu.state.webhookSubscriptions.values().next().value as any).secret as string;
      const body = JSON.stringify({ event: { id: 'x1', event_type: 'incident.acknowledged', resource_type: 'incident', occurred_at: new Date().toISOString(), data: { id: 'Q1', type: 'incident', status: 'acknowledged' } } });
      const at = (path: string) => fetch(`${s.fb.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-pagerduty-signature': sign(body, secret) }, body });
      const first = await at('/webhooks/pagerduty');
      expect(first.status).toBe(401);
      expect(((await first.json()) as any).error.code).toBe('invalid_signature');
      const unknown = await at('/webhooks/pagerduty/accounts/nonsense');
      expect(unknown.status).toBe(404);
      expect(((await unknown.json()) as any).error.code).toBe('not_found');
    });

    it('only admins add or disconnect accounts; bad input is a 400 in the one error shape', async () => {
      const viewer = await userClient(s.fb, s.owner as any, 'viewer');
      expect((await viewer.client.get('/api/v1/integrations/pagerduty/accounts')).status).toBe(200);
      expect((await viewer.client.post('/api/v1/integrations/pagerduty/accounts', { name: 'X', api_key: 'k', bot_user_id: 'P1' })).status).toBe(403);
      expect((await viewer.client.request('DELETE', `/api/v1/integrations/pagerduty/accounts/${euId}`)).status).toBe(403);
      const noName = await s.owner.post('/api/v1/integrations/pagerduty/accounts', { region: 'eu', base_url: eu.baseUrl, api_key: eu.fullAccessKey, bot_user_id: 'P1' });
      expect(noName.status).toBe(400);
      expect(noName.body.error.code).toBeTypeOf('string');
      const taken = await s.owner.post('/api/v1/integrations/pagerduty/accounts', { name: 'eu', region: 'eu', base_url: eu.baseUrl, api_key: eu.fullAccessKey, bot_user_id: [...eu.state.users.values()][0]!.id });
      expect(taken.status).toBe(409);
      expect(taken.body.error.code).toBe('pagerduty_account_name_taken');
      expect((await s.owner.get('/api/v1/integrations/pagerduty/accounts/a0000000000')).status).toBe(404);
    });

    it('the CLI syncs and shows one account chosen by --account, and names the accounts when none matches', async () => {
      const cli = async (...args: string[]) => {
        let out = '';
        let err = '';
        const code = await pagerDutyCli(s.fb.app.pagerduty.integration, args, { out: (x) => (out += x), err: (x) => (err += x), isTTY: false });
        return { code, out, err };
      };
      const synced = await cli('sync', '--account', 'eu', '--types', 'users');
      expect(synced.code, synced.err).toBe(0);
      const last = (await s.owner.get(`/api/v1/integrations/pagerduty/accounts/${euId}`)).body.account.last_run;
      expect(last).toMatchObject({ trigger: 'cli', status: 'succeeded', types: ['users'] });
      expect(last.stats.users.fetched).toBe(eu.state.users.size);
      const status = await cli('status', '--account', 'EU');
      expect(status.out).toContain('account EU');
      expect(status.out).toContain(eu.baseUrl);
      const unknown = await cli('sync', '--account', 'Mars');
      expect(unknown.code).toBe(2);
      expect(unknown.err).toContain('Main, EU');
    }, 60_000);

    it('disconnecting EU leaves the first account, its entries and settings untouched; EU entries stay, its webhooks are refused', async () => {
      const mainUsers = (await allEntries(asSetup(s.pd), 'PagerDutyUser')).filter((e) => !e.external_id.includes(':')).length;
      const euUsers = (await allEntries(asSetup(eu), 'PagerDutyUser')).filter((e) => e.external_id.startsWith(`${euId}:`)).length;
      expect((await s.owner.request('DELETE', `/api/v1/integrations/pagerduty/accounts/${euId}`)).status).toBe(204);
      const list = (await s.owner.get('/api/v1/integrations/pagerduty/accounts')).body.accounts;
      expect(list.map((a: any) => a.name)).toEqual(['Main']);
      expect(list[0].webhook.secret_configured).toBe(true);
      await expectCatalogMatches(asSetup(s.pd));
      const users = await allEntries(asSetup(s.pd), 'PagerDutyUser');
      expect(users.filter((e) => !e.external_id.includes(':')).length).toBe(mainUsers);
      expect(users.filter((e) => e.external_id.startsWith(`${euId}:`)).length).toBe(euUsers);
      // The catalog types still say they sync (the first account syncs them), and it does.
      const types = (await s.owner.get('/api/v1/catalog_types')).body.catalog_types.filter((t: any) => t.type_name.startsWith('PagerDuty'));
      expect(types.length).toBeGreaterThan(0);
      expect(types.every((t: any) => t.syncing)).toBe(true);
      const r = await s.owner.post('/api/v1/integrations/pagerduty/sync', {});
      expect((await run(s, r.body.run.id)).status).toBe('succeeded');
      // EU's secrets went with it.
      const secret = (eu.state.webhookSubscriptions.values().next().value as any).secret as string;
      const body = JSON.stringify({ event: { id: 'x2', event_type: 'incident.acknowledged', resource_type: 'incident', occurred_at: new Date().toISOString(), data: { id: 'Q1', type: 'incident', status: 'acknowledged' } } });
      const res = await fetch(`${s.fb.baseUrl}/webhooks/pagerduty/accounts/${euId}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-pagerduty-signature': sign(body, secret) }, body });
      expect(res.status).toBe(401);
    }, 90_000);
  });
}
