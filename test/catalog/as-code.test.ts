// Catalog as code against the PagerDuty emulator, on both backends: a "Product" type whose entries reference
// synced PagerDuty Services and an owning PagerDuty Team, with a derived attribute Product → services →
// escalation policy, imported from YAML; a dry run writes nothing; re-importing changes nothing; a changed file
// adds, changes and archives; an export applies back unchanged; bad documents get a 400 pointing at the problem.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { backends } from '../helpers.js';
import { allEntries, connect, setup, type Setup } from '../pagerduty/helpers.js';

for (const backend of backends) {
  describe(`catalog as code (${backend})`, () => {
    let s: Setup;
    let svc: { id: string; name: string; policy: string }[];
    let team: { id: string; name: string };
    beforeAll(async () => {
      s = await setup(backend, 'small');
      await connect(s);
      const policies = s.pd.state.escalationPolicies;
      const synced = new Set((await allEntries(s, 'PagerDutyService')).map((e) => e.external_id));
      svc = [...s.pd.state.services.values()].filter((x) => synced.has(x.id)).map((x) => ({ id: x.id, name: x.name, policy: policies.get(x.escalation_policy_id)!.name }));
      // two services on different policies, and a third sharing the first one's policy when the seed has one
      svc.sort((a, b) => a.policy.localeCompare(b.policy));
      const t = [...s.pd.state.teams.values()][0]!;
      team = { id: t.id, name: t.name };
      expect(new Set(svc.map((x) => x.policy)).size).toBeGreaterThan(1);
    }, 60_000);
    afterAll(async () => s?.close());

    const apply = (document: string, dry_run = false, confirm = false) => s.owner.post('/api/v1/catalog/apply', { document, dry_run, confirm });
    const products = () => allEntries(s, 'Product', 'include');
    const describe_ = async (externalId: string) => {
      const e = (await products()).find((x) => x.external_id === externalId)!;
      return (await s.owner.get(`/api/v1/catalog_entries/${e.id}`)).body;
    };

    const first = () => `# Products and the PagerDuty services behind them
type:
  type_name: Product
  name: Product
  description: What customers buy
  attributes:
    - { id: tier, name: Tier, type: string }
    - { id: services, name: Services, type: reference, reference_type: PagerDutyService, array: true }
    - { id: owner, name: Owning team, type: reference, reference_type: PagerDutyTeam }
    - { id: escalation_policies, name: Escalation policies, type: derived, path: [services, escalation_policy] }
    - { id: parent, name: Part of, type: reference, reference_type: Product }
entries:
  - external_id: checkout
    name: Checkout
    aliases: [cart]
    attributes:
      tier: gold
      services: [${svc[0]!.id}, "${svc[svc.length - 1]!.name}"]
      owner: ${team.id}
  - external_id: search
    name: Search
    attributes:
      tier: silver
      services: [${svc[0]!.id}]
      parent: Checkout
`;

    it('a dry run shows the plan and writes nothing', async () => {
      const r = await apply(first(), true);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const plan = r.body.plan;
      expect(plan).toMatchObject({ dry_run: true, changed: true, type: { type_name: 'Product', action: 'create' } });
      expect(plan.type.changes.map((c: any) => c.message)).toContain('attribute "Escalation policies" (escalation_policies, derived: services → escalation_policy)');
      expect(plan.entries).toEqual({ add: [{ external_id: 'checkout', name: 'Checkout' }, { external_id: 'search', name: 'Search' }], change: [], archive: [], unchanged: 0 });
      expect((await s.owner.get('/api/v1/catalog_types/Product')).status).toBe(404);
    });

    it('imports the type and its entries; references, backlinks and the derived attribute resolve to names', async () => {
      const r = await apply(first());
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.plan).toMatchObject({ dry_run: false, changed: true, type: { action: 'create' } });
      const t = (await s.owner.get('/api/v1/catalog_types/Product')).body.catalog_type;
      expect(t.attributes.find((a: any) => a.id === 'escalation_policies')).toMatchObject({ type: 'derived', array: true, reference_type: 'PagerDutyEscalationPolicy', derived_kind: 'reference' });

      const c = await describe_('checkout');
      const byId = (id: string) => c.attributes.find((a: any) => a.attribute.id === id);
      expect(byId('services').links.map((l: any) => l.name)).toEqual([svc[0]!.name, svc[svc.length - 1]!.name]);
      expect(byId('owner').links.map((l: any) => l.name)).toEqual([team.name]);
      const policies = [...new Set([svc[0]!.policy, svc[svc.length - 1]!.policy])].sort();
      expect(byId('escalation_policies').links.map((l: any) => l.name).sort()).toEqual(policies);
      expect(byId('escalation_policies').value).toHaveLength(policies.length);
      expect(c.backlinks).toEqual([{ type: { id: t.id, name: 'Product' }, attribute: { id: 'parent', name: 'Part of' }, entries: [{ id: expect.any(String), name: 'Search', archived: false }] }]);

      // The derived list is de-duplicated: Search's one service gives one policy.
      const sr = await describe_('search');
      expect(sr.attributes.find((a: any) => a.attribute.id === 'escalation_policies').links.map((l: any) => l.name)).toEqual([svc[0]!.policy]);

      // The PagerDuty service and team now show the products that reference them.
      const pdSvc = (await allEntries(s, 'PagerDutyService')).find((e) => e.external_id === svc[0]!.id)!;
      const back = (await s.owner.get(`/api/v1/catalog_entries/${pdSvc.id}`)).body.backlinks.find((b: any) => b.type.name === 'Product');
      expect(back.attribute.name).toBe('Services');
      expect(back.entries.map((e: any) => e.name)).toEqual(['Checkout', 'Search']);
      const pdTeam = (await allEntries(s, 'PagerDutyTeam')).find((e) => e.external_id === team.id)!;
      expect((await s.owner.get(`/api/v1/catalog_entries/${pdTeam.id}`)).body.backlinks.find((b: any) => b.type.name === 'Product').entries.map((e: any) => e.name)).toEqual(['Checkout']);
    });

    it('applying the same file again changes nothing: plan all unchanged, no writes', async () => {
      const before = await products();
      const typeBefore = (await s.owner.get('/api/v1/catalog_types/Product')).body.catalog_type;
      const rowsBefore = await s.fb.app.database.db.selectFrom('catalog_types').select(['updated_at']).where('type_name', '=', 'Product').executeTakeFirstOrThrow();
      await new Promise((r) => setTimeout(r, 5));
      const r = await apply(first());
      expect(r.status).toBe(200);
      expect(r.body.plan).toEqual({
        dry_run: false,
        changed: false,
        type: { type_name: 'Product', name: 'Product', action: 'unchanged', changes: [], values_dropped: [] },
        entries: { add: [], change: [], archive: [], unchanged: 2 },
      });
      expect((await products()).map((e) => [e.external_id, e.updated_at])).toEqual(before.map((e) => [e.external_id, e.updated_at]));
      expect((await s.fb.app.database.db.selectFrom('catalog_types').select(['updated_at']).where('type_name', '=', 'Product').executeTakeFirstOrThrow()).updated_at).toBe(rowsBefore.updated_at);
      expect(typeBefore.id).toBeTruthy();
    });

    it('a changed file adds, changes (naming the attributes) and archives; the dry run says so first', async () => {
      const changed = first()
        .replace(`services: [${svc[0]!.id}, "${svc[svc.length - 1]!.name}"]`, `services: [${svc[svc.length - 1]!.id}]`)
        .replace(/  - external_id: search[\s\S]*$/, `  - external_id: billing\n    name: Billing\n    attributes: { tier: bronze, owner: "${team.name}" }\n`);
      const dry = await apply(changed, true);
      expect(dry.status, JSON.stringify(dry.body)).toBe(200);
      const plan = dry.body.plan;
      expect(plan.type.action).toBe('unchanged');
      expect(plan.entries.add).toEqual([{ external_id: 'billing', name: 'Billing' }]);
      expect(plan.entries.archive).toEqual([{ external_id: 'search', name: 'Search' }]);
      expect(plan.entries.change).toEqual([{ external_id: 'checkout', name: 'Checkout', restore: false, changes: [{ field: 'services', label: 'Services', from: `${svc[0]!.name}, ${svc[svc.length - 1]!.name}`, to: svc[svc.length - 1]!.name }] }]);
      expect(plan.entries.unchanged).toBe(0);
      expect((await products()).filter((e) => !e.archived_at).map((e) => e.external_id).sort()).toEqual(['checkout', 'search']);

      const r = await apply(changed);
      expect(r.body.plan.entries).toEqual({ ...plan.entries });
      const now = await products();
      expect(now.filter((e) => !e.archived_at).map((e) => e.external_id).sort()).toEqual(['billing', 'checkout']);
      expect(now.find((e) => e.external_id === 'search')!.archived_at).not.toBeNull();
      expect((await apply(changed)).body.plan.changed).toBe(false);

      // Bringing Search back restores it.
      const back = await apply(first(), true);
      expect(back.body.plan.entries.change.find((c: any) => c.external_id === 'search')).toMatchObject({ restore: true });
      expect(back.body.plan.entries.archive).toEqual([{ external_id: 'billing', name: 'Billing' }]);
    });

    it('an exported document applies back unchanged, as YAML and as JSON', async () => {
      await apply(first());
      const y = await s.owner.request('GET', '/api/v1/catalog_types/Product/export?format=yaml');
      expect(y.status).toBe(200);
      expect(y.headers.get('content-type')).toContain('application/yaml');
      const text = y.body as string;
      expect(text).toContain(`- ${svc[0]!.id} # ${svc[0]!.name}`);
      expect(parse(text).entries.map((e: any) => e.external_id)).toEqual(['checkout', 'search']);
      expect((await apply(text)).body.plan).toMatchObject({ changed: false, entries: { unchanged: 2 } });
      const j = await s.owner.request('GET', '/api/v1/catalog_types/Product/export?format=json');
      expect(j.headers.get('content-type')).toContain('application/json');
      expect(j.body.type.type_name).toBe('Product');
      expect((await apply(JSON.stringify(j.body))).body.plan).toMatchObject({ changed: false, entries: { unchanged: 2 } });
    });

    it('removing an attribute entries use needs confirm; the dry run says which values go', async () => {
      const without = first().replace('    - { id: tier, name: Tier, type: string }\n', '').replace(/      tier: \w+\n/g, '');
      const dry = (await apply(without, true)).body.plan;
      expect(dry.type.values_dropped).toEqual([{ id: 'tier', name: 'Tier', entries: 2 }]);
      expect(dry.type.changes.map((c: any) => c.message)).toEqual(['attribute "Tier" removed (drops its values on 2 entries)']);
      const r = await apply(without);
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('attribute_in_use');
      expect((await describe_('checkout')).catalog_entry.attribute_values.tier).toBe('gold');
      expect((await apply(without, false, true)).status).toBe(200);
      expect((await describe_('checkout')).catalog_entry.attribute_values.tier).toBeUndefined();
      await apply(first());
    });

    it('bad documents get a 400 pointing at the problem', async () => {
      const bad = async (doc: string, code = 'invalid_document') => {
        const r = await apply(doc, true);
        expect(r.status, JSON.stringify(r.body)).toBe(400);
        expect(r.body.error.code).toBe(code);
        return r.body.error;
      };
      let e = await bad('type:\n  type_name: Product\n  name: [Product\nentries: []\n');
      expect(e.message).toMatch(/^The document is not valid YAML: line \d+, column \d+: /);
      expect(e.details.position.line).toBeGreaterThanOrEqual(3);

      e = await bad('{"type": {"type_name": "Product", "name": "Product",}}');
      expect(e.message).toMatch(/not valid JSON: line 1, column \d+/);

      e = await bad(first().replace('    name: Search\n', '    nmae: Search\n'));
      // name is missing from the second entry (at line 20) and "nmae" (line 21) is not a field
      expect(e.details.path).toBe('entries[1].name');
      expect(e.details.position).toEqual({ line: 20, column: 5 });
      expect(e.message).toContain('line 20, column 5: entries[1].name:');
      expect(e.details.problems.map((p: any) => [p.path, p.position.line])).toContainEqual(['entries[1].nmae', 21]);

      e = await bad(first().replace('owner: ', 'owner: NOPE'), 'unknown_reference');
      expect(e.message).toContain(`entry "checkout", attribute "Owning team" (owner): no PagerDuty Team entry has the external id or name "NOPE${team.id}"`);
      expect(e.details).toMatchObject({ entry: 'checkout', attribute: 'owner', position: { line: 19, column: 14 } });

      e = await bad(first().replace('parent: Checkout', 'parent: Nowhere'), 'unknown_reference');
      expect(e.message).toContain('entry "search", attribute "Part of" (parent): no Product entry has the external id or name "Nowhere"');

      e = await bad(first().replace('path: [services, escalation_policy]', 'path: [tier, escalation_policy]'));
      expect(e.message).toContain('"Tier" (tier) is not a reference');
      expect(e.details.position.line).toBe(10);

      e = await bad(first().replace('external_id: search', 'external_id: checkout'));
      expect(e.message).toContain('has the external id "checkout" of entries[0] too');

      e = await bad(first().replace('tier: gold', 'tier: [gold]'));
      expect(e.message).toContain('Entry "checkout", attribute "Tier" (tier) expects one value, not a list');

      e = await bad('just text');
      expect(e.message).toContain('expected object');
    });

    it('integration types stay read-only', async () => {
      const r = await apply('type: { type_name: PagerDutyService, name: Services }\nentries: []\n');
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('read_only_type');
      expect((await s.owner.patch('/api/v1/catalog_types/PagerDutyService', { name: 'Mine' })).status).toBe(409);
      expect((await allEntries(s, 'PagerDutyService')).length).toBeGreaterThan(0);
    });
  });
}
