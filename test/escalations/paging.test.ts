import { createRequire } from 'node:module';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backends, userClient } from '../helpers.js';
import { createsByKey, declare, quiesce, setupEscalations, waitFor, waitForTargets, type EscSetup } from './helpers.js';

// A responder asks for help through the REST API; PagerDuty (the emulator) gets one incident per target with
// the right service, policy or assignee, urgency, priority, From and incident_key, and nobody is paged twice.

for (const backend of backends) {
  describe(`escalating to PagerDuty through the API (${backend})`, () => {
    let s: EscSetup;
    beforeAll(async () => {
      s = await setupEscalations(backend);
    }, 90_000);
    afterAll(async () => {
      await s?.close();
    });
    beforeEach(async () => {
      // Whatever an earlier test started is finished before this one looks at PagerDuty's request log.
      await quiesce(s);
    });

    const escalate = (incidentId: string, body: Record<string, unknown>) => s.owner.post(`/api/v1/incidents/${incidentId}/escalations`, body);

    it('the options search finds synced services and teams by name or exact PagerDuty id, and leaves out ignored services', async () => {
      const team = [...s.pd.state.teams.values()][0]!;
      const byName = (await s.owner.get(`/api/v1/integrations/pagerduty/escalation_options?type=team&query=${encodeURIComponent(team.name)}`)).body.options;
      expect(byName).toContainEqual(expect.objectContaining({ id: team.id, name: team.name }));
      const byId = (await s.owner.get(`/api/v1/integrations/pagerduty/escalation_options?type=team&query=${team.id}`)).body.options;
      expect(byId.map((o: any) => o.id)).toEqual([team.id]);
      const ignored = [...s.pd.state.services.values()].find((x) => x.description.includes('incident-io-ignore'))!;
      const services = (await s.owner.get(`/api/v1/integrations/pagerduty/escalation_options?type=service&query=${ignored.id}`)).body.options;
      expect(services).toEqual([]);
      const bad = await s.owner.get('/api/v1/integrations/pagerduty/escalation_options?type=schedule');
      expect(bad.status).toBe(400);
    });

    it('pages one escalation policy on a service that uses it, and records the PagerDuty incident', async () => {
      const inc = await declare(s.owner, 'Payments are slow');
      const policy = s.policies[0]!;
      const r = await escalate(inc.reference, { escalation_policy_ids: [policy.id], message: 'Card authorisations time out' });
      expect(r.status).toBe(201);
      expect(r.body.escalation.targets).toHaveLength(1);
      const done = await waitForTargets(s.owner, r.body.escalation.id);
      const t = done.targets[0];
      expect(t.status).toBe('triggered');
      expect(t.pagerduty_incident.id).toMatch(/^P/);
      expect(t.paged.length).toBeGreaterThan(0);
      const pdInc = s.pd.state.incidents.get(t.pagerduty_incident.id)!;
      expect(pdInc.escalation_policy_id).toBe(policy.id);
      expect(policy.serviceIds).toContain(pdInc.service_id);
      expect(pdInc.incident_key).toBe(t.incident_key);
      expect(pdInc.title).toBe(`[${inc.reference}] Payments are slow`);
      const sent = createsByKey(s.pd).get(t.incident_key)!;
      expect(sent).toHaveLength(1);
      expect(sent[0].body.incident.urgency).toBe('high');
      expect(sent[0].body.incident.body.details).toContain('Card authorisations time out');
      expect(sent[0].body.incident.body.details).toContain(`/incidents/${inc.reference}`);
      // The owner has no PagerDuty account: the bot account asks.
      const bot = [...s.pd.state.users.values()][0]!;
      expect(sent[0].from.trim().toLowerCase()).toBe(bot.email.trim().toLowerCase());
      const timeline = (await s.owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items.map((i: any) => i.kind);
      expect(timeline).toContain('pagerduty.escalation_requested');
      expect(timeline).toContain('pagerduty.escalation_triggered');
      const list = await s.owner.get(`/api/v1/incidents/${inc.id}/escalations`);
      expect(list.body.escalations.map((e: any) => e.id)).toEqual([done.id]);
    });

    it('pages people only: each on the fallback service with that person as the only assignee', async () => {
      const inc = await declare(s.owner);
      const users = [...s.pd.state.users.values()].slice(3, 5);
      const r = await escalate(inc.id, { user_ids: users.map((u) => u.id), message: 'Need a DBA', urgency: 'low' });
      expect(r.status).toBe(201);
      const done = await waitForTargets(s.owner, r.body.escalation.id);
      for (const [i, t] of done.targets.entries()) {
        expect(t.status).toBe('triggered');
        const pdInc = s.pd.state.incidents.get(t.pagerduty_incident.id)!;
        expect(pdInc.service_id).toBe(s.fallbackServiceId);
        expect(pdInc.assignments.map((a) => a.user_id)).toEqual([users[i]!.id]);
        expect(pdInc.urgency).toBe('low');
        const sent = createsByKey(s.pd).get(t.incident_key)!;
        expect(sent[0].body.incident.escalation_policy).toBeUndefined();
        expect(sent[0].body.incident.assignments).toEqual([{ assignee: { id: users[i]!.id, type: 'user_reference' } }]);
      }
    });

    it('pages 2 policies and 3 people at once: 5 PagerDuty incidents, each right, From the requester when they have a PagerDuty account', async () => {
      // A responder whose email is a PagerDuty user's (in another case): PagerDuty is told who really asked.
      const pdUser = [...s.pd.state.users.values()][7]!;
      const { client } = await userClient(s.fb, s.owner, 'responder', pdUser.email.trim().toUpperCase());
      const inc = await declare(s.owner, 'Search is down');
      const priority = [...s.pd.state.priorities.values()][1]!;
      const users = [...s.pd.state.users.values()].slice(8, 11);
      const r = await client.post(`/api/v1/incidents/${inc.id}/escalations`, {
        escalation_policy_ids: [s.policies[0]!.id, s.policies[1]!.id],
        user_ids: users.map((u) => u.id),
        message: 'Index is corrupt',
        urgency: 'high',
        priority_id: priority.id,
      });
      expect(r.status).toBe(201);
      const done = await waitForTargets(s.owner, r.body.escalation.id);
      expect(done.targets.map((t: any) => t.status)).toEqual(Array(5).fill('triggered'));
      const creates = createsByKey(s.pd);
      expect([...creates.values()].flat()).toHaveLength(5);
      for (const t of done.targets) {
        const sent = creates.get(t.incident_key)!;
        expect(sent).toHaveLength(1);
        const body = sent[0].body.incident;
        expect(body.incident_key).toBe(t.incident_key);
        expect(body.urgency).toBe('high');
        expect(body.priority).toEqual({ id: priority.id, type: 'priority_reference' });
        expect(sent[0].from.trim().toLowerCase()).toBe(pdUser.email.trim().toLowerCase());
        const pdInc = s.pd.state.incidents.get(t.pagerduty_incident.id)!;
        expect(pdInc.priority_id).toBe(priority.id);
        if (t.type === 'escalation_policy') {
          expect(body.escalation_policy.id).toBe(t.pagerduty_id);
          expect(s.policies.find((p) => p.id === t.pagerduty_id)!.serviceIds).toContain(body.service.id);
        } else {
          expect(body.service.id).toBe(s.fallbackServiceId);
          expect(body.assignments[0].assignee.id).toBe(t.pagerduty_id);
        }
      }
      expect(done.requester.name).toBe('A responder');
    });

    it('answers with the escalation as recorded (what reading it back gives, before PagerDuty answers), and pages each target once', async () => {
      const inc = await declare(s.owner, 'Logins fail');
      const users = [...s.pd.state.users.values()].slice(12, 14);
      const r = await escalate(inc.id, { escalation_policy_ids: [s.policies[0]!.id, s.policies[1]!.id], user_ids: users.map((u) => u.id), message: 'SSO returns 500' });
      expect(r.status).toBe(201);
      const answer = r.body.escalation;
      expect(answer.targets.map((t: any) => t.status)).toEqual(Array(4).fill('pending'));
      const done = await waitForTargets(s.owner, answer.id);
      // Reading it back gives the same escalation, but for what PagerDuty's answers changed since.
      const asRecorded = {
        ...done,
        updated_at: answer.updated_at,
        targets: done.targets.map((t: any) => ({ ...t, status: 'pending', pagerduty_incident: null, paged: [], acknowledged_by: [], triggered_at: null })),
      };
      expect(answer).toEqual(asRecorded);
      expect(answer.targets.map((t: any) => t.name)).toEqual([s.policies[0]!.name, s.policies[1]!.name, ...users.map((u) => u.name)]);
      const creates = createsByKey(s.pd);
      for (const t of done.targets) expect(creates.get(t.incident_key)).toHaveLength(1);
    });

    if (backend === 'postgres') {
      it('records an escalation to 10 targets in one short transaction: one statement for the targets, one for every job it adds, nothing read back, the pages’ request budget taken meanwhile', async () => {
        const inc = await declare(s.owner, 'Everything is slow');
        const policies = s.policies.slice(0, 4).map((p) => p.id);
        const users = [...s.pd.state.users.values()].slice(20, 20 + 10 - policies.length).map((u) => u.id);
        // Every statement Firebreak's pg clients send while the escalation is submitted, by connection.
        const require = createRequire(import.meta.url);
        const pg = require('pg') as typeof import('pg');
        const sent: { conn: object; sql: string; params: unknown[] }[] = [];
        const query = pg.Client.prototype.query;
        pg.Client.prototype.query = function (this: object, config: unknown, ...rest: unknown[]) {
          const params = (Array.isArray(rest[0]) ? rest[0] : ((config as { values?: unknown[] })?.values ?? [])) as unknown[];
          sent.push({ conn: this, sql: (typeof config === 'string' ? config : ((config as { text?: string })?.text ?? '')).replace(/\s+/g, ' ').trim().toLowerCase(), params });
          return (query as (...a: unknown[]) => unknown).call(this, config, ...rest);
        } as typeof query;
        let r;
        try {
          r = await escalate(inc.id, { escalation_policy_ids: policies, user_ids: users, message: 'Latency everywhere' });
        } finally {
          pg.Client.prototype.query = query;
        }
        expect(r.status).toBe(201);
        expect(r.body.escalation.targets).toHaveLength(10);
        const insert = sent.findIndex((x) => x.sql.startsWith('insert into "pagerduty_escalations"'));
        expect(insert).toBeGreaterThan(0);
        const conn = sent[insert]!.conn;
        const mine = sent.filter((x) => x.conn === conn);
        const begin = mine.map((x) => x.sql).lastIndexOf('begin', mine.indexOf(sent[insert]!));
        const tx = mine.slice(begin, mine.findIndex((x, i) => i > begin && x.sql === 'commit') + 1).map((x) => x.sql);
        // begin; the escalation; its 10 targets; the timeline item; its domain event; every job the transaction adds
        // (the 10 paging jobs, the event's and the Slack message's) in one statement; the live feed; commit. Reading
        // back or a statement per target/job would show here.
        expect(tx.length, tx.join('\n')).toBeLessThanOrEqual(8);
        expect(tx.filter((q) => q.startsWith('insert into "pagerduty_escalation_targets"'))).toHaveLength(1);
        expect(tx.filter((q) => q.startsWith('select') && q.includes('pagerduty_escalation'))).toEqual([]);
        // The requester is the session's user, read with the session: their name and email are not read again.
        expect(sent.filter((x) => x.sql.includes('from "users"') && !x.sql.includes('from "sessions"')).map((x) => x.sql)).toEqual([]);
        // The ten paging jobs are all there, one per target, in that one statement.
        const addJobs = mine.slice(begin).filter((x) => x.sql.includes('add_jobs('));
        expect(addJobs[0]!.sql === tx.find((q) => q.includes('add_jobs('))).toBe(true);
        expect(tx.filter((q) => q.includes('add_jobs('))).toHaveLength(1);
        const names = addJobs[0]!.params[0] as string[];
        const pages = names.flatMap((n, i) => (n === 'pagerduty.escalation.page' ? [JSON.parse((addJobs[0]!.params[1] as string[])[i]!).targetId] : []));
        expect(pages.sort()).toEqual(r.body.escalation.targets.map((t: any) => t.id).sort());
        // The pages' share of the request budget is taken while the escalation is recorded, so no trip to the
        // shared budget row stands between the commit and the pages.
        const commitAt = sent.indexOf(mine[mine.findIndex((x, i) => i > begin && x.sql === 'commit')]!);
        const budgetAt = sent.findIndex((x, i) => i > sent.indexOf(mine[begin]!) - 1 && x.sql.includes('update pagerduty_request_budget'));
        expect(budgetAt).toBeGreaterThan(-1);
        expect(budgetAt).toBeLessThan(commitAt);
        const done = await waitForTargets(s.owner, r.body.escalation.id);
        const creates = createsByKey(s.pd);
        for (const t of done.targets) expect(creates.get(t.incident_key)).toHaveLength(1);
      });
    }

    it('always pages as the bot account when the setting says so', async () => {
      const pdUser = [...s.pd.state.users.values()][11]!;
      const { client } = await userClient(s.fb, s.owner, 'responder', pdUser.email.trim());
      await s.owner.patch('/api/v1/integrations/pagerduty/escalation_settings', { always_use_bot_account: true });
      try {
        const inc = await declare(s.owner);
        const r = await client.post(`/api/v1/incidents/${inc.id}/escalations`, { user_ids: [pdUser.id], message: 'help' });
        const done = await waitForTargets(s.owner, r.body.escalation.id);
        const bot = [...s.pd.state.users.values()][0]!;
        expect(createsByKey(s.pd).get(done.targets[0].incident_key)![0].from.trim().toLowerCase()).toBe(bot.email.trim().toLowerCase());
      } finally {
        await s.owner.patch('/api/v1/integrations/pagerduty/escalation_settings', { always_use_bot_account: false });
      }
    });

    it('refuses what cannot be paged, with reasons, and pages nothing', async () => {
      const inc = await declare(s.owner);
      expect((await escalate(inc.id, { message: 'help' })).body.error.message).toMatch(/at least one/);
      expect((await escalate(inc.id, { user_ids: [[...s.pd.state.users.values()][1]!.id], message: '  ' })).body.error.message).toMatch(/what the people paged will read/);
      const noAccount = await escalate(inc.id, { user_emails: ['nobody@nowhere.example'], message: 'help' });
      expect(noAccount.status).toBe(400);
      expect(noAccount.body.error.message).toMatch(/nobody@nowhere\.example has no PagerDuty account/);
      const unknown = await escalate(inc.id, { escalation_policy_ids: ['PNOPE00'], message: 'help' });
      expect(unknown.status).toBe(400);
      // The lookups run side by side; which fault is reported does not depend on which answered first: the
      // incident, then the message, then policies, then people, then emails.
      for (let i = 0; i < 3; i++) {
        const many = { escalation_policy_ids: ['PNOPE00'], user_ids: ['PNOUSER'], user_emails: ['nobody@nowhere.example'], message: 'help' };
        expect((await escalate('INC-999999', many)).status).toBe(404);
        expect((await escalate(inc.id, { ...many, message: ' ' })).body.error.details.fields[0].path).toBe('message');
        expect((await escalate(inc.id, many)).body.error.details.fields[0].path).toBe('escalation_policy_ids');
        expect((await escalate(inc.id, { ...many, escalation_policy_ids: [s.policies[0]!.id] })).body.error.details.fields[0].path).toBe('user_ids');
      }
      expect(s.pd.requestLog().filter((e) => e.method === 'POST')).toHaveLength(0);
    });

    it('a policy deleted in PagerDuty and archived by the next sync can no longer be paged', async () => {
      // A synced policy no service uses (PagerDuty refuses to delete one in use): deleted there, then synced.
      const used = new Set(s.policies.map((p) => p.id));
      const synced = (await s.owner.get('/api/v1/integrations/pagerduty/escalation_options?type=escalation_policy&limit=100')).body.options.map((o: any) => o.id as string);
      const gone = synced.find((id: string) => !used.has(id) && ![...s.pd.state.services.values()].some((x) => x.escalation_policy_id === id))!;
      expect(gone).toBeTruthy();
      s.pd.admin.deleteEscalationPolicy(gone);
      const run = (await s.owner.post('/api/v1/integrations/pagerduty/sync', {})).body.run;
      await waitFor('the sync', async () => {
        const r = (await s.owner.get(`/api/v1/catalog_sync_runs/${run.id}`)).body.sync_run;
        return r && !['queued', 'running'].includes(r.status) && r;
      });
      const inc = await declare(s.owner);
      const r = await escalate(inc.id, { escalation_policy_ids: [gone], message: 'help' });
      expect(r.status).toBe(400);
      expect(r.body.error.message).toContain(`No escalation policy "${gone}" is in the synced PagerDuty catalog`);
      expect(s.pd.requestLog().filter((e) => e.method === 'POST')).toHaveLength(0);
    });

    it('maps people picked by email (e.g. from Slack) to their PagerDuty user', async () => {
      const inc = await declare(s.owner);
      const u = [...s.pd.state.users.values()][5]!;
      const r = await escalate(inc.id, { user_emails: [` ${u.email.trim().toUpperCase()} `], message: 'help' });
      expect(r.status).toBe(201);
      expect(r.body.escalation.targets[0].pagerduty_id).toBe(u.id);
    });

    it('a duplicate submission (same idempotency key) returns the same escalation and pages nobody again', async () => {
      const inc = await declare(s.owner);
      const body = { escalation_policy_ids: [s.policies[0]!.id], message: 'dup', idempotency_key: `dup-${inc.id}` };
      const [a, b] = await Promise.all([escalate(inc.id, body), escalate(inc.id, body)]);
      expect([a.status, b.status].sort()).toEqual([200, 201]);
      expect(a.body.escalation.id).toBe(b.body.escalation.id);
      const done = await waitForTargets(s.owner, a.body.escalation.id);
      expect((await escalate(inc.id, body)).status).toBe(200);
      expect(createsByKey(s.pd).get(done.targets[0].incident_key)).toHaveLength(1);
      expect([...createsByKey(s.pd).values()].flat()).toHaveLength(1);
    });

    it('a crash between creating the PagerDuty incident and recording it does not page twice on retry', async () => {
      let crashes = 0;
      s.esc.tuning.faults.afterCreate = () => {
        if (crashes++ === 0) throw new Error('simulated crash after PagerDuty answered');
      };
      const inc = await declare(s.owner);
      const r = await escalate(inc.id, { escalation_policy_ids: [s.policies[0]!.id], message: 'crash' });
      const done = await waitForTargets(s.owner, r.body.escalation.id, undefined, 30_000);
      const t = done.targets[0];
      expect(crashes).toBe(1);
      expect(t.status).toBe('triggered');
      expect(createsByKey(s.pd).get(t.incident_key)).toHaveLength(1);
      const mine = [...s.pd.state.incidents.values()].filter((i) => i.incident_key === t.incident_key);
      expect(mine).toHaveLength(1);
      expect(t.pagerduty_incident.id).toBe(mine[0]!.id);
      // The retry looked the incident up by its key instead of creating another.
      expect(s.pd.requestLog().some((e) => e.method === 'GET' && e.path === '/incidents' && e.query.incident_key === t.incident_key)).toBe(true);
    });

    it('a deleted service fails only its target, with PagerDuty’s reason; the others are paged; retry pages it once fixed', async () => {
      const inc = await declare(s.owner);
      const victim = s.fallbackServiceId;
      const policy = s.policies.find((p) => !p.serviceIds.includes(victim))!;
      const saved = s.pd.state.services.get(victim)!;
      s.pd.admin.deleteService(victim);
      try {
        const user = [...s.pd.state.users.values()][2]!;
        const r = await escalate(inc.id, { escalation_policy_ids: [policy.id], user_ids: [user.id], message: 'partial' });
        const done = await waitForTargets(s.owner, r.body.escalation.id);
        const byType = Object.fromEntries(done.targets.map((t: any) => [t.type, t]));
        expect(byType.escalation_policy.status).toBe('triggered');
        expect(byType.user.status).toBe('failed');
        expect(byType.user.error).toMatch(/PagerDuty refused the incident: 400 .*Service not found/);
        const items = (await s.owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items;
        expect(items.some((i: any) => i.kind === 'pagerduty.escalation_failed' && /Service not found/.test(i.text))).toBe(true);
        // Once the fallback service is back (another one chosen), the retry pages the person.
        const other = [...s.pd.state.services.values()].find((x) => x.id !== victim && !x.description.includes('incident-io-ignore'))!;
        await s.owner.patch('/api/v1/integrations/pagerduty/escalation_settings', { fallback_service_id: other.id });
        await s.fb.app.database.db.updateTable('pagerduty_escalation_targets').set({ service_id: null }).where('id', '=', byType.user.id).execute();
        const retried = await s.owner.post(`/api/v1/escalations/${done.id}/retry`);
        expect(retried.status).toBe(200);
        const after = await waitForTargets(s.owner, done.id, (t) => t.status === 'triggered');
        expect(after.targets.find((t: any) => t.type === 'user').service.id).toBe(other.id);
      } finally {
        s.pd.admin.addService({ ...saved });
        await s.owner.patch('/api/v1/integrations/pagerduty/escalation_settings', { fallback_service_id: victim });
      }
    });

    it('429s past the retries are reported per target', async () => {
      s.fb.app.pagerduty.integration.interactiveTuning.maxRateLimitRetries = 1;
      try {
        s.pd.faults.set({ rateLimitBurst: 1000 });
        const inc = await declare(s.owner);
        const r = await escalate(inc.id, { escalation_policy_ids: [s.policies[0]!.id], user_ids: [[...s.pd.state.users.values()][4]!.id], message: 'busy' });
        const done = await waitForTargets(s.owner, r.body.escalation.id, undefined, 30_000);
        for (const t of done.targets) {
          expect(t.status).toBe('failed');
          expect(t.error).toMatch(/429 Rate Limit Exceeded/);
        }
        s.pd.faults.clear();
        await new Promise((res) => setTimeout(res, 1100)); // the budget waits out PagerDuty's ratelimit-reset
        await s.owner.post(`/api/v1/escalations/${done.id}/retry`);
        const after = await waitForTargets(s.owner, done.id, (t) => t.status === 'triggered', 30_000);
        expect(after.targets).toHaveLength(2);
      } finally {
        s.fb.app.pagerduty.integration.interactiveTuning.maxRateLimitRetries = 3;
      }
    });

    it('a requester whose PagerDuty role may not write (observer) is paged for by the bot account, once', async () => {
      const pdUser = [...s.pd.state.users.values()][12]!;
      const role = pdUser.role;
      s.pd.admin.updateUser(pdUser.id, { role: 'observer' });
      try {
        const { client } = await userClient(s.fb, s.owner, 'responder', pdUser.email.trim());
        const inc = await declare(s.owner, 'Observer asks for help');
        const r = await client.post(`/api/v1/incidents/${inc.id}/escalations`, { escalation_policy_ids: [s.policies[0]!.id], message: 'help' });
        const done = await waitForTargets(s.owner, r.body.escalation.id);
        expect(done.targets[0].status).toBe('triggered');
        // PagerDuty refused the write made as the observer; the bot's went through: one PagerDuty incident.
        const sent = createsByKey(s.pd).get(done.targets[0].incident_key)!;
        const bot = [...s.pd.state.users.values()][0]!;
        expect(sent.map((e) => [e.from.trim().toLowerCase(), e.status])).toEqual([
          [pdUser.email.trim().toLowerCase(), 403],
          [bot.email.trim().toLowerCase(), 201],
        ]);
        expect([...s.pd.state.incidents.values()].filter((i) => i.incident_key === done.targets[0].incident_key)).toHaveLength(1);
      } finally {
        s.pd.admin.updateUser(pdUser.id, { role });
      }
    });

    it('a read-only key fails every target with the reason, and changes nothing in PagerDuty', async () => {
      await s.fb.app.connections.setSecret('pagerduty', 'api_key', s.pd.readOnlyKey);
      try {
        const before = s.pd.state.incidents.size;
        const inc = await declare(s.owner);
        const r = await escalate(inc.id, { escalation_policy_ids: [s.policies[0]!.id], user_ids: [[...s.pd.state.users.values()][4]!.id], message: 'ro' });
        const done = await waitForTargets(s.owner, r.body.escalation.id);
        for (const t of done.targets) {
          expect(t.status).toBe('failed');
          expect(t.error).toMatch(/read-only/);
        }
        expect(s.pd.state.incidents.size).toBe(before);
      } finally {
        await s.fb.app.connections.setSecret('pagerduty', 'api_key', s.pd.fullAccessKey);
      }
    });

    it('without webhooks, open escalations are polled until resolved', async () => {
      s.esc.tuning.pollBaseMs = 150;
      s.esc.tuning.pollCapMs = 300;
      try {
        const inc = await declare(s.owner);
        const user = [...s.pd.state.users.values()][6]!;
        const r = await escalate(inc.id, { user_ids: [user.id], message: 'poll me' });
        const done = await waitForTargets(s.owner, r.body.escalation.id);
        const pdId = done.targets[0].pagerduty_incident.id;
        s.pd.actAs(user.id).acknowledge(pdId);
        const acked = await waitForTargets(s.owner, done.id, (t) => t.status === 'acknowledged');
        expect(acked.targets[0].acknowledged_by.map((p: any) => p.id)).toEqual([user.id]);
        expect(acked.targets[0].paged.map((p: any) => p.id)).toContain(user.id);
        s.pd.actAs(user.id).resolve(pdId);
        await waitForTargets(s.owner, done.id, (t) => t.status === 'resolved');
        const texts = (await s.owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items.map((i: any) => i.text);
        expect(texts.some((t: string) => t.includes(`acknowledged by ${user.name}`))).toBe(true);
        // Polling stops once resolved.
        await new Promise((res) => setTimeout(res, 800));
        const polls = s.pd.requestLog().filter((e) => e.path === `/incidents/${pdId}`).length;
        await new Promise((res) => setTimeout(res, 800));
        expect(s.pd.requestLog().filter((e) => e.path === `/incidents/${pdId}`).length).toBe(polls);
      } finally {
        s.esc.tuning.pollBaseMs = 60_000;
        s.esc.tuning.pollCapMs = 300_000;
      }
    });
  });
}
