// The three parts of the catalog work meet here: a custom type imported as code (a "Product" whose entries name
// synced PagerDuty services and an owning team, with a derived attribute Product → services → escalation policy),
// a custom field that references it, and expressions that follow the derived attribute from an incident.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers.js';
import { expectedCatalog } from '../pagerduty/catalog-check.js';
import { connect, setup, syncNow, type Setup } from '../pagerduty/helpers.js';

for (const backend of backends) {
  describe(`expressions over a derived attribute of a custom type (${backend})`, () => {
    let s: Setup;
    let incidentId: string;
    let services: { id: string; policyId: string }[];
    let team: { id: string; name: string };
    const policyName = (id: string) => s.pd.state.escalationPolicies.get(id)!.name;

    beforeAll(async () => {
      s = await setup(backend, 'small');
      await connect(s);
      const kept = expectedCatalog(s.pd);
      const seen = new Set<string>();
      services = [...s.pd.state.services.values()]
        .filter((x) => kept.PagerDutyService.has(x.id) && kept.PagerDutyEscalationPolicy.has(x.escalation_policy_id) && !seen.has(x.escalation_policy_id) && seen.add(x.escalation_policy_id))
        .slice(0, 2)
        .map((x) => ({ id: x.id, policyId: x.escalation_policy_id }));
      expect(services).toHaveLength(2);
      const t = [...s.pd.state.teams.values()].find((x) => kept.PagerDutyTeam.has(x.id))!;
      team = { id: t.id, name: t.name };
      const document = `type:
  type_name: Product
  name: Product
  attributes:
    - { id: services, name: Services, type: reference, reference_type: PagerDutyService, array: true }
    - { id: owner, name: Owning team, type: reference, reference_type: PagerDutyTeam }
    - { id: escalation_policies, name: Escalation policies, type: derived, path: [services, escalation_policy] }
entries:
  - external_id: checkout
    name: Checkout
    attributes:
      services: [${services.map((x) => x.id).join(', ')}]
      owner: ${team.id}
`;
      const applied = await s.owner.post('/api/v1/catalog/apply', { document, dry_run: false });
      expect(applied.status).toBe(200);
      const field = await s.owner.post('/api/v1/custom_fields', { key: 'product', name: 'Product', type: 'catalog', catalog_type: 'Product' });
      expect(field.status).toBe(201);
      const entries = await s.owner.get('/api/v1/catalog_entries?type_id=Product');
      const checkout = entries.body.catalog_entries.find((e: { name: string }) => e.name === 'Checkout');
      const inc = await s.owner.post('/api/v1/incidents', { name: 'Checkout is down', custom_field_values: { product: checkout.id } });
      expect(inc.status).toBe(201);
      incidentId = inc.body.incident.id;
    }, 60_000);
    afterAll(async () => s?.close());

    const preview = (expression: string) => s.owner.post('/api/v1/expressions/preview', { expression, incident_id: incidentId });

    it('follows the derived attribute to the policies of the product, and sees a rename after a sync', async () => {
      const r = await preview('incident.custom_fields.product.escalation_policies.map(p, p.name)');
      expect(r.status).toBe(200);
      expect(r.body.type).toBe('list<string>');
      expect([...r.body.value].sort()).toEqual(services.map((x) => policyName(x.policyId)).sort());
      expect((await preview('incident.custom_fields.product.owner.name')).body.value).toBe(team.name);

      s.pd.admin.updateEscalationPolicy(services[0]!.policyId, { name: 'Checkout Escalation (renamed)' });
      expect((await syncNow(s)).status).toBe('succeeded');
      const after = await preview('incident.custom_fields.product.escalation_policies.map(p, p.name)');
      expect(after.body.value).toContain('Checkout Escalation (renamed)');
    });

    it('checks a derived path when saved: a misspelled field of the type it ends on is refused', async () => {
      const bad = await s.owner.post('/api/v1/expressions/check', { expression: 'incident.custom_fields.product.escalation_policies.map(p, p.nam)' });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('invalid_expression');
      expect(bad.body.error.details.available).toContain('name: string');
    });
  });
}
