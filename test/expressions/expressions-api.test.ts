import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anonymousClient, apiKeyClient, backends, userClient } from '../helpers.js';
import { expectedCatalog } from '../pagerduty/catalog-check.js';
import { allEntries, connect, setup, syncNow, type Setup } from '../pagerduty/helpers.js';
import { createExpressions, ExpressionCostError } from '../../src/expressions/index.js';

// Expressions end to end: a synced PagerDuty emulator catalog, an "Affected services" catalog custom field, an
// incident naming three services, and the check and preview endpoints through the real server.

const POLICIES = 'incident.custom_fields.affected_services.map(s, s.escalation_policy.name)';

for (const backend of backends) {
  describe(`expressions over incidents and the catalog (${backend})`, () => {
    let s: Setup;
    let incidentId: string;
    let chosen: { id: string; name: string; escalation_policy_id: string }[];
    const policyName = (id: string) => s.pd.state.escalationPolicies.get(id)!.name;

    beforeAll(async () => {
      s = await setup(backend, 'small');
      await connect(s);
      const field = await s.owner.post('/api/v1/custom_fields', { key: 'affected_services', name: 'Affected services', type: 'catalog', catalog_type: 'PagerDutyService', multiple: true });
      expect(field.status).toBe(201);
      // Three synced services whose (synced) policies differ.
      const kept = expectedCatalog(s.pd);
      const seen = new Set<string>();
      chosen = [...s.pd.state.services.values()].filter((x) => kept.PagerDutyService.has(x.id) && kept.PagerDutyEscalationPolicy.has(x.escalation_policy_id) && !seen.has(x.escalation_policy_id) && seen.add(x.escalation_policy_id)).slice(0, 3);
      expect(chosen).toHaveLength(3);
      const entries = await allEntries(s, 'PagerDutyService');
      const entryIds = chosen.map((c) => entries.find((e) => e.external_id === c.id)!.id);
      const inc = await s.owner.post('/api/v1/incidents', { name: 'Checkout errors', custom_field_values: { affected_services: entryIds } });
      expect(inc.status).toBe(201);
      incidentId = inc.body.incident.id;
    });
    afterAll(async () => s?.close());

    const preview = (expression: string, client = s.owner) => client.post('/api/v1/expressions/preview', { expression, incident_id: incidentId });

    it("incident → affected services → escalation policy gives the services' policies, and the new name after a sync renames one", async () => {
      const r = await preview(POLICIES);
      expect(r.status).toBe(200);
      expect(r.body.type).toBe('list<string>');
      expect(r.body.value).toEqual(chosen.map((c) => policyName(c.escalation_policy_id)));
      // As entries: by name and type.
      const entries = await preview('incident.custom_fields.affected_services.map(s, s.escalation_policy)');
      expect(entries.body.value.map((v: { name: string; type: string }) => [v.name, v.type])).toEqual(chosen.map((c) => [policyName(c.escalation_policy_id), 'PagerDuty Escalation Policy']));

      const renamed = chosen[1]!.escalation_policy_id;
      s.pd.admin.updateEscalationPolicy(renamed, { name: 'Payments Escalation (renamed)' });
      expect((await syncNow(s)).status).toBe('succeeded');
      const after = await preview(POLICIES);
      expect(after.body.value[1]).toBe('Payments Escalation (renamed)');
      expect(after.body.value).toEqual(chosen.map((c) => policyName(c.escalation_policy_id)));
    });

    it('a condition over the catalog: filter and exists, three hops to the teams, backlinks', async () => {
      const withTeam = chosen.find((c) => s.pd.state.escalationPolicies.get(c.escalation_policy_id)!.team_ids.length > 0)!;
      expect(withTeam).toBeDefined();
      const teamId = s.pd.state.escalationPolicies.get(withTeam.escalation_policy_id)!.team_ids[0]!;
      const teamName = s.pd.state.teams.get(teamId)!.name;
      const r = await preview(`incident.custom_fields.affected_services.filter(s, s.escalation_policy.teams.exists(t, t.name == ${JSON.stringify(teamName)})).map(s, s.name)`);
      expect(r.status).toBe(200);
      const expected = chosen.filter((c) => s.pd.state.escalationPolicies.get(c.escalation_policy_id)!.team_ids.includes(teamId)).map((c) => c.name);
      expect(expected.length).toBeGreaterThan(0);
      expect(r.body.value).toEqual(expected);
      // Policies are pointed at by services, not by policies: the checker says which backlinks exist.
      const back = await preview('incident.custom_fields.affected_services[0].escalation_policy.referenced_by.PagerDutyEscalationPolicy_teams');
      expect(back.status).toBe(400);
      expect(back.body.error.details.available).toEqual(['PagerDutyService_escalation_policy: list<PagerDutyService>']);
      const users = await preview('incident.custom_fields.affected_services[0].escalation_policy.referenced_by.PagerDutyService_escalation_policy.map(s, s.name)');
      expect(users.status).toBe(200);
      const sharing = [...s.pd.state.services.values()].filter((x) => x.escalation_policy_id === chosen[0]!.escalation_policy_id && expectedCatalog(s.pd).PagerDutyService.has(x.id)).map((x) => x.name);
      expect([...users.body.value].sort()).toEqual([...sharing].sort());
      const sev = await preview('incident.severity.rank >= severity("' + (await s.owner.get('/api/v1/severities')).body.severities.at(-1).name + '").rank');
      expect(sev.body.value).toBe(true);
    });

    it('preview shows the value and the path it took', async () => {
      const r = await preview('incident.custom_fields.affected_services[0].escalation_policy.name');
      expect(r.status).toBe(200);
      const svc = chosen[0]!;
      expect(r.body.value).toBe(policyName(svc.escalation_policy_id));
      // Reading the field reaches its three services; only the first one's policy is visited.
      expect(r.body.visited.map((v: { name: string; type: string; via: string }) => [v.name, v.type, v.via])).toEqual([
        ...chosen.map((c) => [c.name, 'PagerDuty Service', 'incident.custom_fields.affected_services']),
        [policyName(svc.escalation_policy_id), 'PagerDuty Escalation Policy', `incident.custom_fields.affected_services → ${svc.name}.escalation_policy`],
      ]);
      expect(r.body.duration_ms).toBeGreaterThanOrEqual(0);
      // Values are JSON: the whole custom fields object, entries by name.
      const all = await preview('incident.custom_fields');
      expect(all.body.value).toEqual({ affected_services: chosen.map((c) => ({ id: expect.any(String), name: c.name, type: 'PagerDuty Service' })) });
      expect(r.body.context.entries).toBeGreaterThanOrEqual(3);
    });

    it('a bad expression is refused with 400 pointing at the mistake and saying what exists there', async () => {
      const unknown = await s.owner.post('/api/v1/expressions/check', { expression: 'incident.custom_fields.affected_services.map(s, s.escalation_polcy.name)' });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.code).toBe('invalid_expression');
      const d = unknown.body.error.details;
      expect(d.position).toEqual({ offset: 50, line: 1, column: 51 });
      expect(d.available).toEqual(expect.arrayContaining(['escalation_policy: PagerDutyEscalationPolicy', 'teams: list<PagerDutyTeam>', 'name: string']));
      expect(d.message).toMatch(/has no field "escalation_polcy"/);

      const attr = await s.owner.post('/api/v1/expressions/check', { expression: 'incident.custom_fields.affected_servics' });
      expect(attr.status).toBe(400);
      expect(attr.body.error.details.available).toContain('affected_services: list<PagerDutyService>');

      const mismatch = await s.owner.post('/api/v1/expressions/check', { expression: 'incident.severity.rank >= "Critical"' });
      expect(mismatch.status).toBe(400);
      expect(mismatch.body.error.details.reason).toBe('type_mismatch');
      expect(mismatch.body.error.details.message).toMatch(/int >= string/);

      const multi = await s.owner.post('/api/v1/expressions/check', { expression: 'incident.name == "x" &&\n  incident.custom_fields.affected_services.exists(s, s.statuz == "active")' });
      expect(multi.body.error.details.position).toMatchObject({ line: 2, column: 56 });

      const cond = await s.owner.post('/api/v1/expressions/check', { expression: POLICIES, expect: 'bool' });
      expect(cond.status).toBe(400);
      const ok = await s.owner.post('/api/v1/expressions/check', { expression: POLICIES });
      expect(ok.body).toEqual({ type: 'list<string>' });
      // The preview refuses the same way before evaluating.
      expect((await preview('incident.nme')).body.error.details.available).toContain('name: string');
    });

    it('a runaway expression is stopped within the budget and reported', async () => {
      const xs = `[${Array.from({ length: 300 }, (_, i) => i).join(',')}]`;
      const started = Date.now();
      const r = await preview(`cel.bind(xs, ${xs}, xs.map(a, xs.map(b, xs.map(c, xs.filter(d, a + b + c + d == -1).size()))).size())`);
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('expression_too_costly');
      expect(r.body.error.details.limit).toBe('time');
      expect(Date.now() - started).toBeLessThan(3000);
      // The server still answers at once.
      expect((await preview(POLICIES)).status).toBe(200);
    });

    it('what the context bounds leave out stops the evaluation instead of answering wrongly', async () => {
      const app = s.fb.app;
      // No hop followed: the services the field names are loaded, not their policies.
      const shallow = createExpressions({ db: app.database.db, catalog: app.catalog, customFields: app.customFields, incidents: app.incidents, bounds: { maxDepth: 0 } });
      const ctx = await shallow.contextFor(incidentId);
      expect(ctx.stats.truncated).toBe(true);
      expect(shallow.evaluate(await shallow.compile('incident.custom_fields.affected_services.map(s, s.name)'), ctx).value).toEqual(chosen.map((c) => c.name));
      const deep = await shallow.compile('incident.custom_fields.affected_services.map(s, s.escalation_policy.teams.map(t, t.name))');
      expect(() => shallow.evaluate(deep, ctx)).toThrow(ExpressionCostError);
      expect(() => shallow.evaluate(deep, ctx)).toThrow(/further into the catalog/);
      // The default bounds reach it.
      const full = app.expressions;
      expect(full.evaluate(await full.compile(deep.source), await full.contextFor(incidentId)).value).toHaveLength(3);
    });

    it('a new custom field is usable at once: the environment follows the schema', async () => {
      expect((await s.owner.post('/api/v1/expressions/check', { expression: 'incident.custom_fields.customer_count > 10.0' })).status).toBe(400);
      expect((await s.owner.post('/api/v1/custom_fields', { key: 'customer_count', name: 'Customers affected', type: 'number' })).status).toBe(201);
      expect((await s.owner.post('/api/v1/expressions/check', { expression: 'incident.custom_fields.customer_count > 10.0' })).body).toEqual({ type: 'bool' });
      expect((await s.owner.patch(`/api/v1/incidents/${incidentId}`, { custom_field_values: { customer_count: 42 } })).status).toBe(200);
      expect((await preview('incident.custom_fields.customer_count > 10.0')).body.value).toBe(true);
    });

    it('check and preview need authentication; any role that reads may use them', async () => {
      const anon = anonymousClient(s.fb.baseUrl);
      expect((await anon.post('/api/v1/expressions/check', { expression: 'true' })).status).toBe(401);
      expect((await anon.post('/api/v1/expressions/preview', { expression: 'true', incident_id: incidentId })).status).toBe(401);
      const viewer = (await userClient(s.fb, s.owner, 'viewer')).client;
      expect((await viewer.post('/api/v1/expressions/check', { expression: 'incident.name' })).body).toEqual({ type: 'string' });
      expect((await preview('incident.name', viewer)).body.value).toBe('Checkout errors');
      const key = await s.owner.post('/api/v1/api_keys', { name: 'reader', scopes: ['read'] });
      const reader = apiKeyClient(s.fb.baseUrl, key.body.token);
      expect((await reader.post('/api/v1/expressions/check', { expression: 'incident.name' })).status).toBe(200);
      // A browser session without the CSRF token is refused before anything runs.
      const noCsrf = await fetch(`${s.fb.baseUrl}/api/v1/expressions/check`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: (viewer as unknown as { cookie: string }).cookie }, body: JSON.stringify({ expression: 'true' }) });
      expect(noCsrf.status).toBe(403);
      expect((await preview('true').then(() => s.owner.post('/api/v1/expressions/preview', { expression: 'true', incident_id: 'INC-999' }))).status).toBe(404);
    });
  });
}
