import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers.js';
import { declare, quiesce, setupEscalations, waitFor, type EscSetup } from './helpers.js';

// "The checkout incident already has its PagerDuty incident; the lead asks the database team and Ada to join it
// instead of opening new pages, and the escalations card shows who joined and who declined."
// Everything goes through Firebreak's API, PagerDuty (the emulator) and its signed webhooks.

const RESPONDER_POSTS = (s: EscSetup, pdId: string) => s.pd.requestLog().filter((e) => e.method === 'POST' && e.path === `/incidents/${pdId}/responder_requests`);

for (const backend of backends) {
  describe(`adding responders to a linked PagerDuty incident (${backend})`, () => {
    let s: EscSetup;
    beforeAll(async () => {
      // Firebreak subscribes to PagerDuty's webhooks itself (the emulator is on this machine).
      s = await setupEscalations(backend, { autoWebhook: true });
    }, 120_000);
    afterAll(async () => {
      await s?.close();
    });
    beforeEach(async () => {
      await quiesce(s);
    });

    /** A Firebreak incident with a PagerDuty incident (triggered by a monitor) linked to it. */
    async function linkedIncident(name = 'Checkout is failing') {
      const inc = await declare(s.owner, name);
      const service = [...s.pd.state.services.values()].find((x) => s.policies.some((p) => p.serviceIds.includes(x.id)))!;
      const pdInc = s.pd.admin.triggerIncident({ service_id: service.id, title: `${name} (monitor)` });
      const r = await s.owner.post(`/api/v1/incidents/${inc.id}/pagerduty_incidents`, { pagerduty_incident: pdInc.id });
      expect([200, 201]).toContain(r.status);
      await s.pd.webhooks.flush();
      return { inc, pdInc };
    }

    const people = () => [...s.pd.state.users.values()].filter((u) => ['user', 'admin', 'limited_user'].includes(u.role));
    /** A policy whose first level names people directly (so who it asks is known). */
    const policyWithPeople = () => s.policies.find((p) => s.pd.state.escalationPolicies.get(p.id)!.escalation_rules[0]!.targets.every((t) => t.type === 'user'))!;

    it('asks a person and a policy to join the linked PagerDuty incident once, and shows each responder by name as pending', async () => {
      const { inc, pdInc } = await linkedIncident();
      const ada = people()[3]!;
      const policy = policyWithPeople();
      const policyPeople = s.pd.state.escalationPolicies.get(policy.id)!.escalation_rules[0]!.targets.map((t) => s.pd.state.users.get(t.id)!.name);
      const r = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, { mode: 'add_responders', escalation_policy_ids: [policy.id], user_ids: [ada.id], message: 'Database latency is through the roof' });
      expect(r.status).toBe(201);
      expect(r.body.escalation).toMatchObject({ mode: 'add_responders', targets: [], responder_request: { pagerduty_incident: { id: pdInc.id, number: pdInc.incident_number }, state: 'pending' } });
      const done = await waitFor('PagerDuty took the request', async () => {
        const e = (await s.owner.get(`/api/v1/escalations/${r.body.escalation.id}`)).body.escalation;
        return e.responder_request.state === 'sent' ? e : null;
      });
      expect(done.responder_request.targets.map((t: any) => t.name)).toEqual([policy.name, ada.name]);
      const byName = new Map(done.responder_request.responders.map((x: any) => [x.name, x]));
      expect([...byName.keys()].sort()).toEqual([...new Set([ada.name, ...policyPeople])].sort());
      for (const x of byName.values()) expect((x as any).state).toBe('pending');
      if (!policyPeople.includes(ada.name)) expect((byName.get(ada.name) as any).via).toBeNull();
      for (const n of policyPeople) if (n !== ada.name) expect((byName.get(n) as any).via).toBe(policy.name);
      // PagerDuty got one request, from the bot (the owner has no PagerDuty account), with the Firebreak link in it.
      const posts = RESPONDER_POSTS(s, pdInc.id);
      expect(posts).toHaveLength(1);
      const bot = [...s.pd.state.users.values()][0]!;
      expect((posts[0]!.body as any).requester_id).toBe(bot.id);
      expect((posts[0]!.body as any).message).toContain('Database latency is through the roof');
      expect((posts[0]!.body as any).message).toContain(`/incidents/${inc.reference}`);
      expect(s.pd.state.incidents.get(pdInc.id)!.responder_requests).toHaveLength(1);
      // No new PagerDuty incident was opened.
      expect(s.pd.requestLog().filter((e) => e.method === 'POST' && e.path === '/incidents')).toEqual([]);
      const items = (await s.owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items.filter((i: any) => i.kind === 'pagerduty.responders_requested');
      expect(items.map((i: any) => i.text)).toEqual([`Owner asked ${policy.name}, ${ada.name} to join PagerDuty incident #${pdInc.incident_number} "${pdInc.title}": "Database latency is through the roof"`]);
    });

    it('the webhooks move each responder to joined or declined, once, with a timeline item each', async () => {
      const { inc, pdInc } = await linkedIncident('Search is slow');
      const [ada, ben] = [people()[4]!, people()[5]!];
      const r = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, { mode: 'add_responders', user_ids: [ada.id, ben.id], message: 'Need eyes on the search cluster' });
      const id = r.body.escalation.id;
      await waitFor('sent', async () => (await s.owner.get(`/api/v1/escalations/${id}`)).body.escalation.responder_request.state === 'sent');
      s.pd.actAs(ada.id).acceptResponderRequest(pdInc.id);
      s.pd.actAs(ben.id).declineResponderRequest(pdInc.id);
      await s.pd.webhooks.flush();
      const e = await waitFor('both answers', async () => {
        const x = (await s.owner.get(`/api/v1/escalations/${id}`)).body.escalation;
        const states = Object.fromEntries(x.responder_request.responders.map((p: any) => [p.name, p.state]));
        return states[ada.name] === 'joined' && states[ben.name] === 'declined' ? x : null;
      });
      expect(e.responder_request.responders).toHaveLength(2);
      const timeline = async () => (await s.owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items.filter((i: any) => i.kind.startsWith('pagerduty.responder_')).map((i: any) => i.text);
      expect((await timeline()).sort()).toEqual([`${ada.name} joined PagerDuty incident #${pdInc.incident_number}`, `${ben.name} declined to join PagerDuty incident #${pdInc.incident_number}`].sort());
      // PagerDuty delivering the same events again changes nothing.
      for (const d of s.pd.webhooks.deliveries().filter((x) => x.event_type === 'incident.responder.replied')) {
        const res = await fetch(`${s.fb.baseUrl}/webhooks/pagerduty`, { method: 'POST', headers: d.headers, body: d.body });
        expect(res.status).toBe(200);
      }
      await s.fb.app.jobs.drain();
      expect(await timeline()).toHaveLength(2);
    });

    it('refuses clearly when there is nothing to add responders to, or when it is unclear which', async () => {
      const ada = people()[3]!;
      const body = { mode: 'add_responders', user_ids: [ada.id], message: 'help' };
      const lonely = await declare(s.owner, 'No PagerDuty here');
      const none = await s.owner.post(`/api/v1/incidents/${lonely.id}/escalations`, body);
      expect(none.status).toBe(400);
      expect(none.body.error.message).toMatch(/No PagerDuty incident is linked/);
      expect(none.body.error.details.fields).toEqual([expect.objectContaining({ path: 'pagerduty_incident_id' })]);

      const { inc, pdInc } = await linkedIncident('Two pages');
      const second = s.pd.admin.triggerIncident({ service_id: pdInc.service_id, title: 'Two pages (second monitor)' });
      await s.owner.post(`/api/v1/incidents/${inc.id}/pagerduty_incidents`, { pagerduty_incident: second.id });
      const which = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, body);
      expect(which.status).toBe(400);
      expect(which.body.error.message).toMatch(/choose which one/);
      const notLinked = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, { ...body, pagerduty_incident_id: 'PNOTLINKED' });
      expect(notLinked.status).toBe(400);
      expect(notLinked.body.error.message).toMatch(/is not linked to this incident/);
      const wrongMode = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, { user_ids: [ada.id], message: 'help', pagerduty_incident_id: pdInc.id });
      expect(wrongMode.status).toBe(400);
      // Resolved in PagerDuty (the webhook tells the link): no longer offered.
      s.pd.actAs(ada.id).resolve(second.id);
      await s.pd.webhooks.flush();
      await waitFor('the link resolved', async () => (await s.owner.get(`/api/v1/incidents/${inc.id}/pagerduty_incidents`)).body.pagerduty_incidents.find((l: any) => l.pagerduty_incident.id === second.id)?.pagerduty_incident.status === 'resolved');
      const resolved = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, { ...body, pagerduty_incident_id: second.id });
      expect(resolved.status).toBe(400);
      expect(resolved.body.error.message).toMatch(/is resolved in PagerDuty/);
      // With one unresolved incident left, it needs no choosing.
      const ok = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, body);
      expect(ok.status).toBe(201);
      expect(ok.body.escalation.responder_request.pagerduty_incident.id).toBe(pdInc.id);
      expect(s.pd.requestLog().filter((e) => e.method === 'POST' && e.path.endsWith('/responder_requests') && e.path.includes(second.id))).toEqual([]);
    });

    it('a request PagerDuty refuses is final and shows PagerDuty\'s message', async () => {
      const { inc, pdInc } = await linkedIncident('Refused');
      // Gone from PagerDuty since the last catalog sync: Firebreak still offers them, PagerDuty refuses. (The last
      // such person, in no escalation policy, so the other tests' people and policies stay as they were.)
      const inPolicies = new Set([...s.pd.state.escalationPolicies.values()].flatMap((p) => p.escalation_rules.flatMap((x) => x.targets.map((t) => t.id))));
      const gone = [...people()].reverse().find((u) => !inPolicies.has(u.id))!;
      s.pd.admin.deleteUser(gone.id);
      const r = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, { mode: 'add_responders', user_ids: [gone.id], message: 'help' });
      expect(r.status).toBe(201);
      const e = await waitFor('refused', async () => {
        const x = (await s.owner.get(`/api/v1/escalations/${r.body.escalation.id}`)).body.escalation;
        return x.responder_request.state === 'failed' ? x : null;
      });
      expect(e.responder_request.error).toMatch(/^PagerDuty refused the request: .*Invalid Input Provided/);
      expect(e.responder_request.error).toContain(`User ${gone.id} not found`);
      await s.fb.app.jobs.drain();
      expect(RESPONDER_POSTS(s, pdInc.id)).toHaveLength(1);
      const items = (await s.owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items.filter((i: any) => i.kind === 'pagerduty.responder_request_failed');
      expect(items.map((i: any) => i.text)).toEqual([expect.stringContaining(`Adding responders to PagerDuty incident #${pdInc.incident_number} failed: PagerDuty refused the request`)]);
    });

    it('a 429 then success asks once', async () => {
      const { inc, pdInc } = await linkedIncident('Rate limited');
      const ada = people()[6]!;
      // Whatever attaching the link queued has run, so the next request PagerDuty sees is the responder request.
      await s.fb.app.jobs.drain();
      await s.pd.webhooks.flush();
      s.pd.faults.set({ rateLimitBurst: 1 });
      const r = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, { mode: 'add_responders', user_ids: [ada.id], message: 'help after a 429' });
      await waitFor('sent', async () => (await s.owner.get(`/api/v1/escalations/${r.body.escalation.id}`)).body.escalation.responder_request.state === 'sent');
      expect(RESPONDER_POSTS(s, pdInc.id).map((e) => e.status)).toEqual([429, 200]);
      expect(s.pd.state.incidents.get(pdInc.id)!.responder_requests).toHaveLength(1);
    });

    it('PagerDuty took the request but the worker died before recording it: the retry finds it on the incident and does not ask again', async () => {
      const { inc, pdInc } = await linkedIncident('Crash after send');
      const ada = people()[7]!;
      let crashes = 0;
      s.esc.tuning.faults.responderCrash = () => crashes++ === 0;
      const r = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, { mode: 'add_responders', user_ids: [ada.id], message: 'help, exactly once' });
      const e = await waitFor('recorded by the retry', async () => {
        const x = (await s.owner.get(`/api/v1/escalations/${r.body.escalation.id}`)).body.escalation;
        return x.responder_request.state === 'sent' ? x : null;
      }, 30_000);
      expect(crashes).toBe(1);
      expect(RESPONDER_POSTS(s, pdInc.id)).toHaveLength(1);
      expect(s.pd.state.incidents.get(pdInc.id)!.responder_requests).toHaveLength(1);
      // The retry looked on the incident after the request that was not recorded.
      const log = s.pd.requestLog();
      const post = log.findIndex((x) => x.method === 'POST' && x.path === `/incidents/${pdInc.id}/responder_requests`);
      expect(log.slice(post + 1).some((x) => x.method === 'GET' && x.path === `/incidents/${pdInc.id}`)).toBe(true);
      expect(e.responder_request.responders.map((x: any) => [x.name, x.state])).toEqual([[ada.name, 'pending']]);
    }, 40_000);
  });
}
