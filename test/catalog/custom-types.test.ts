// Custom catalog types through the REST API, on both backends: attribute ids as slugs, references to any type
// (the type itself included) checked and kept as reference rows so backlinks work, derived attributes checked
// when the type is saved and computed when read, type changes that would drop values refused unless confirmed,
// entries edited, archived and restored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, ownerClient, startTestFirebreak, userClient, type Client, type TestFirebreak } from '../helpers.js';

for (const backend of backends) {
  describe(`custom catalog types (${backend})`, () => {
    let fb: TestFirebreak;
    let owner: Client;
    beforeAll(async () => {
      fb = await startTestFirebreak(backend, { logLevel: 'warn' });
      owner = await ownerClient(fb);
    });
    afterAll(async () => fb?.destroy());

    const ok = async (r: Promise<{ status: number; body: any }>, status = 200) => {
      const x = await r;
      expect(x.status, JSON.stringify(x.body)).toBe(status);
      return x.body;
    };
    const entry = async (id: string) => ok(owner.get(`/api/v1/catalog_entries/${id}`));
    const attr = (d: any, id: string) => d.attributes.find((a: any) => a.attribute.id === id);

    let team: any;
    let service: any;
    const ids = {} as Record<'payments' | 'search' | 'db' | 'checkout' | 'indexer', string>;

    it('creates types with slug attribute ids, references to other types and to itself', async () => {
      team = (await ok(owner.post('/api/v1/catalog_types', { type_name: 'Squad', name: 'Squad', attributes: [{ name: 'Slack channel', type: 'string' }, { name: 'Lead', type: 'firebreak_user' }] }), 201)).catalog_type;
      expect(team.attributes.map((a: any) => a.id)).toEqual(['slack_channel', 'lead']);
      service = (
        await ok(
          owner.post('/api/v1/catalog_types', {
            type_name: 'App',
            name: 'App',
            attributes: [
              { name: 'Tier', type: 'number' },
              { name: 'Owning squad', type: 'reference', reference_type: 'Squad' },
              { name: 'Depends on', type: 'reference', reference_type: 'App', array: true },
              { id: 'squad_channel', name: 'Squad channel', type: 'derived', path: ['owning_squad', 'slack_channel'] },
              { name: 'Dependency squads', type: 'derived', path: ['depends_on', 'owning_squad'] },
            ],
          }),
          201,
        )
      ).catalog_type;
      expect(service.attributes.map((a: any) => [a.id, a.type, a.array, a.reference_type, a.path, a.derived_kind])).toEqual([
        ['tier', 'number', false, null, null, null],
        ['owning_squad', 'reference', false, 'Squad', null, null],
        ['depends_on', 'reference', true, 'App', null, null],
        ['squad_channel', 'derived', false, null, ['owning_squad', 'slack_channel'], 'string'],
        ['dependency_squads', 'derived', true, 'Squad', ['depends_on', 'owning_squad'], 'reference'],
      ]);
    });

    it('refuses derived paths that do not hold when the type is saved', async () => {
      const make = (attributes: unknown[]) => owner.post('/api/v1/catalog_types', { type_name: 'Broken', name: 'Broken', attributes });
      let r = await make([{ name: 'Tier', type: 'string' }, { name: 'Via', type: 'derived', path: ['tier', 'name'] }]);
      expect(r.status).toBe(400);
      expect(r.body.error.message).toMatch(/"Tier" \(tier\) is not a reference/);
      r = await make([{ name: 'Squad', type: 'reference', reference_type: 'Squad' }, { name: 'Via', type: 'derived', path: ['squad', 'nope'] }]);
      expect(r.status).toBe(400);
      expect(r.body.error.message).toContain('Squad has no attribute "nope" (it has: slack_channel, lead)');
      r = await make([{ name: 'Self', type: 'reference', reference_type: 'Broken' }, { id: 'a', name: 'A', type: 'derived', path: ['self', 'b'] }, { id: 'b', name: 'B', type: 'derived', path: ['self', 'a'] }]);
      expect(r.status).toBe(400);
      expect(r.body.error.message).toMatch(/cycle: Broken\.a → Broken\.b → Broken\.a/);
      r = await make([{ name: 'Thing', type: 'reference', reference_type: 'Nowhere' }]);
      expect(r.status).toBe(400);
      expect(r.body.error.message).toContain('references Nowhere, which does not exist');
      expect((await owner.get('/api/v1/catalog_types/Broken')).status).toBe(404);
    });

    it('keeps reference rows for custom entries, so backlinks and derived values work', async () => {
      const squad = async (name: string, channel: string) => (await ok(owner.post('/api/v1/catalog_entries', { catalog_type_id: 'Squad', name, attribute_values: { slack_channel: channel, lead: 'owner@localhost' } }), 201)).catalog_entry;
      const payments = await squad('Payments', '#payments');
      const search = await squad('Search', '#search');
      ids.payments = payments.id;
      ids.search = search.id;
      const app = async (name: string, values: Record<string, unknown>) => (await ok(owner.post('/api/v1/catalog_entries', { catalog_type_id: 'App', name, attribute_values: values }), 201)).catalog_entry;
      const db = await app('Ledger DB', { tier: 1, owning_squad: payments.id });
      const idx = await app('Indexer', { tier: 2, owning_squad: search.id });
      const checkout = await app('Checkout', { tier: 1, owning_squad: payments.id, depends_on: [db.id, idx.id, db.id] });
      ids.db = db.id;
      ids.checkout = checkout.id;
      ids.indexer = idx.id;
      expect(checkout.attribute_values.depends_on).toEqual([db.id, idx.id]);

      const c = await entry(checkout.id);
      expect(attr(c, 'squad_channel').value).toBe('#payments');
      expect(attr(c, 'dependency_squads').links.map((l: any) => l.name).sort()).toEqual(['Payments', 'Search']);
      expect(attr(c, 'owning_squad').links.map((l: any) => l.name)).toEqual(['Payments']);

      // Two dependencies owned by one squad: the derived list names it once.
      const gateway = await app('Gateway', { depends_on: [db.id, checkout.id] });
      const g = await entry(gateway.id);
      expect(attr(g, 'dependency_squads').value).toEqual([payments.id]);
      expect(attr(g, 'dependency_squads').links.map((l: any) => l.name)).toEqual(['Payments']);
      expect(attr(g, 'squad_channel').value).toBeNull();
      // Emptied, it references nothing any more (no reference rows left behind).
      expect((await ok(owner.patch(`/api/v1/catalog_entries/${gateway.id}`, { attribute_values: { depends_on: [] } }))).catalog_entry.attribute_values).toEqual({});
      await ok(owner.post(`/api/v1/catalog_entries/${gateway.id}/actions/archive`));

      const p = await entry(payments.id);
      expect(attr(p, 'lead').links[0]).toMatchObject({ kind: 'user', name: expect.any(String), email: 'owner@localhost' });
      const squadBacklinks = p.backlinks.find((b: any) => b.attribute.id === 'owning_squad');
      expect(squadBacklinks.type.name).toBe('App');
      expect(squadBacklinks.entries.map((e: any) => e.name)).toEqual(['Checkout', 'Ledger DB']);
      const d = await entry(db.id);
      expect(d.backlinks).toEqual([{ type: { id: service.id, name: 'App' }, attribute: { id: 'depends_on', name: 'Depends on' }, entries: [{ id: checkout.id, name: 'Checkout', archived: false }] }]);
    });

    it('checks references: the entry must exist and be of the referenced type', async () => {
      let r = await owner.post('/api/v1/catalog_entries', { catalog_type_id: 'App', name: 'X', attribute_values: { owning_squad: ids.db } });
      expect(r.status).toBe(400);
      expect(r.body.error.message).toContain('must reference Squad entries');
      r = await owner.post('/api/v1/catalog_entries', { catalog_type_id: 'App', name: 'X', attribute_values: { depends_on: ['0190-nope'] } });
      expect(r.status).toBe(400);
      expect(r.body.error.message).toContain('names entry 0190-nope, which does not exist');
      r = await owner.post('/api/v1/catalog_entries', { catalog_type_id: 'App', name: 'X', attribute_values: { squad_channel: '#x' } });
      expect(r.status).toBe(400);
      expect(r.body.error.message).toContain('is derived');
      r = await owner.post('/api/v1/catalog_entries', { catalog_type_id: 'Squad', name: 'X', attribute_values: { lead: 'nobody@example.com' } });
      expect(r.status).toBe(400);
      expect(r.body.error.message).toContain('names no Firebreak user');
    });

    it('edits an entry: references rewritten with their rows, null clears a value', async () => {
      const e = (await ok(owner.patch(`/api/v1/catalog_entries/${ids.checkout}`, { name: 'Checkout v2', attribute_values: { owning_squad: ids.search, depends_on: [ids.indexer], tier: null } }))).catalog_entry;
      expect(e.name).toBe('Checkout v2');
      expect(e.attribute_values).toEqual({ owning_squad: ids.search, depends_on: [ids.indexer] });
      expect((await entry(ids.db)).backlinks).toEqual([]);
      const s = await entry(ids.search);
      expect(s.backlinks.find((b: any) => b.attribute.id === 'owning_squad').entries.map((x: any) => x.name)).toEqual(['Checkout v2', 'Indexer']);
      expect(attr(await entry(ids.checkout), 'squad_channel').value).toBe('#search');
      const r = await owner.patch(`/api/v1/catalog_entries/${ids.checkout}`, { attribute_values: { owning_squad: ids.checkout } });
      expect(r.status).toBe(400);
    });

    it('archives and restores an entry; backlinks mark it archived meanwhile', async () => {
      const a = (await ok(owner.post(`/api/v1/catalog_entries/${ids.checkout}/actions/archive`))).catalog_entry;
      expect(a.archived_at).not.toBeNull();
      expect((await entry(ids.indexer)).backlinks[0].entries).toEqual([{ id: ids.checkout, name: 'Checkout v2', archived: true }]);
      const r = (await ok(owner.post(`/api/v1/catalog_entries/${ids.checkout}/actions/restore`))).catalog_entry;
      expect(r.archived_at).toBeNull();
    });

    it('changes a type: renames keep values, dropping values needs confirm, derived dependents are protected', async () => {
      const t = (await ok(owner.get('/api/v1/catalog_types/App'))).catalog_type;
      const keep = t.attributes.map(({ id, name, type, array, reference_type, path }: any) => ({ id, name, type, array, ...(reference_type && type === 'reference' ? { reference_type } : {}), ...(path ? { path } : {}) }));
      // Rename a type and an attribute: values stay (ids are stable).
      const renamed = keep.map((a: any) => (a.id === 'tier' ? { ...a, name: 'Service tier' } : a));
      const u = (await ok(owner.patch('/api/v1/catalog_types/App', { name: 'Application', attributes: renamed }))).catalog_type;
      expect(u.name).toBe('Application');
      expect(u.type_name).toBe('App');
      expect(u.attributes.find((a: any) => a.id === 'tier').name).toBe('Service tier');
      expect(attr(await entry(ids.db), 'tier').value).toBe(1);

      // Removing "owning_squad" breaks the derived "squad_channel": refused whatever the confirmation.
      let r = await owner.patch('/api/v1/catalog_types/App?confirm=true', { attributes: renamed.filter((a: any) => a.id !== 'owning_squad') });
      expect(r.status).toBe(400);
      expect(r.body.error.message).toContain('"Squad channel" (owning_squad → slack_channel) is not valid');

      // Another type's derived attribute goes through Squad.slack_channel: Squad cannot drop it.
      r = await owner.patch('/api/v1/catalog_types/Squad?confirm=true', { attributes: [{ id: 'lead', name: 'Lead', type: 'firebreak_user' }] });
      expect(r.status).toBe(400);
      expect(r.body.error.message).toContain("Application's derived attribute \"Squad channel\"");

      // Removing "tier", which entries use: 409 naming it, then confirmed, its values are gone.
      const withoutTier = renamed.filter((a: any) => a.id !== 'tier');
      r = await owner.patch('/api/v1/catalog_types/App', { attributes: withoutTier });
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('attribute_in_use');
      expect(r.body.error.message).toContain('"Service tier" (2 entries)');
      expect(attr(await entry(ids.db), 'tier').value).toBe(1);
      await ok(owner.patch('/api/v1/catalog_types/App?confirm=true', { attributes: withoutTier }));
      expect((await entry(ids.db)).catalog_entry.attribute_values).toEqual({ owning_squad: ids.payments });

      // An attribute nobody uses goes without confirmation; a new one gets a fresh slug.
      const added = (await ok(owner.patch('/api/v1/catalog_types/App', { attributes: [...withoutTier, { name: 'Tier' }].map((a: any) => ({ type: 'string', ...a })) }))).catalog_type;
      expect(added.attributes.at(-1)).toMatchObject({ id: 'tier', name: 'Tier', type: 'string' });
    });

    it('needs admin to change the catalog, read to look at it', async () => {
      const { client: viewer } = await userClient(fb, owner, 'viewer');
      expect((await viewer.get('/api/v1/catalog_types/App')).status).toBe(200);
      expect((await viewer.patch('/api/v1/catalog_types/App', { name: 'X' })).status).toBe(403);
      expect((await viewer.patch(`/api/v1/catalog_entries/${ids.db}`, { name: 'X' })).status).toBe(403);
    });
  });
}
