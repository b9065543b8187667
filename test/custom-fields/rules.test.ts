import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { apiKeyClient, backends, ownerClient, startTestFirebreak, type Client, type TestFirebreak } from '../helpers.js';
import { catalogType, defineField, fieldOf } from './helpers.js';

// The rules custom fields add to incidents: required at declaration, required before closing, and the list
// filter `custom_field=<key>:<value>`.

describe.each(backends)('custom field rules on %s', (backend) => {
  let fb: TestFirebreak;
  let owner: Client;
  let products: Awaited<ReturnType<typeof catalogType>>;

  beforeAll(async () => {
    fb = await startTestFirebreak(backend);
    owner = await ownerClient(fb);
    products = await catalogType(owner, 'Product', 'Product', ['Checkout', 'Search', 'Maps']);
  });
  afterAll(async () => fb?.destroy());

  describe('required fields', () => {
    let product: any;
    let cause: any;
    beforeAll(async () => {
      product = await defineField(owner, { key: 'product', name: 'Product', type: 'catalog', catalog_type: 'Product', multiple: true, required_at_declaration: true });
      cause = await defineField(owner, { key: 'cause', name: 'Cause', type: 'single_select', options: [{ label: 'Deploy' }, { label: 'Capacity' }], required_before_close: true });
    });
    afterAll(async () => {
      await owner.request('DELETE', `/api/v1/custom_fields/${product.id}?confirm=true`);
      await owner.request('DELETE', `/api/v1/custom_fields/${cause.id}?confirm=true`);
    });

    it('a field required at declaration must be given: 400 naming it and what it takes', async () => {
      const r = await owner.post('/api/v1/incidents', { name: 'No product' });
      expect(r.status).toBe(400);
      expect(r.body.error.details.fields).toEqual([{ path: 'custom_field_values.product', message: 'Product is required when declaring an incident; it takes the ids of Product entries' }]);
      const key = await owner.post('/api/v1/api_keys', { name: 'declarer', scopes: ['write'] });
      const viaKey = await apiKeyClient(fb.baseUrl, key.body.token).post('/api/v1/incidents', { name: 'No product by key' });
      expect(viaKey.status).toBe(400);
      expect(viaKey.body.error.details.fields[0].path).toBe('custom_field_values.product');
      const empty = await owner.post('/api/v1/incidents', { name: 'Empty product', custom_field_values: { product: [] } });
      expect(empty.status).toBe(400);
      const ok = await owner.post('/api/v1/incidents', { name: 'With product', custom_field_values: { product: products.entries['Checkout'] } });
      expect(ok.status).toBe(201);
      expect(fieldOf(ok.body.incident, 'product').display.map((d: any) => d.label)).toEqual(['Checkout']);
    });

    it('incidents opened automatically (an integration, not a person or API key) are not held by required-at-declaration', async () => {
      const { incident } = await fb.app.incidents.createIncident({ name: 'Opened from PagerDuty', source: 'pagerduty' }, { kind: 'integration', ref: 'pagerduty' });
      expect(incident.customFields).toEqual([]);
      const refused = await owner.post(`/api/v1/incidents/${incident.id}/actions/close`);
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe('required_fields_missing');
    });

    it('a default satisfies a required field', async () => {
      await owner.patch(`/api/v1/custom_fields/${product.id}`, { default_value: [products.entries['Maps']] });
      const r = await owner.post('/api/v1/incidents', { name: 'Default product' });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(fieldOf(r.body.incident, 'product').display.map((d: any) => d.label)).toEqual(['Maps']);
      await owner.patch(`/api/v1/custom_fields/${product.id}`, { default_value: null });
    });

    it('closing is refused while a field required before closing is empty, by any route to closed', async () => {
      const inc = (await owner.post('/api/v1/incidents', { name: 'To close', custom_field_values: { product: products.entries['Search'] } })).body.incident;
      const refused = await owner.post(`/api/v1/incidents/${inc.id}/actions/close`);
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe('required_fields_missing');
      expect(refused.body.error.message).toBe(`${inc.reference} cannot close yet: set Cause first (required before closing).`);
      expect(refused.body.error.details.fields).toEqual([{ id: cause.id, key: 'cause', name: 'Cause' }]);
      const statuses = (await owner.get('/api/v1/statuses')).body.statuses;
      const closed = statuses.find((s: any) => s.category === 'closed');
      const viaStatus = await owner.post(`/api/v1/incidents/${inc.id}/actions/status`, { status_id: closed.id });
      expect(viaStatus.status).toBe(409);
      expect(viaStatus.body.error.code).toBe('required_fields_missing');
      expect((await owner.get(`/api/v1/incidents/${inc.id}`)).body.incident.status.category).toBe('live');

      await owner.patch(`/api/v1/incidents/${inc.id}`, { custom_field_values: { cause: 'Deploy' } });
      const done = await owner.post(`/api/v1/incidents/${inc.id}/actions/close`);
      expect(done.status).toBe(200);
      expect(done.body.incident.status.category).toBe('closed');
      // Other moves are not held up by the rule.
      const other = (await owner.post('/api/v1/incidents', { name: 'Cancelled', custom_field_values: { product: products.entries['Search'] } })).body.incident;
      expect((await owner.post(`/api/v1/incidents/${other.id}/actions/cancel`)).status).toBe(200);
    });
  });

  describe('the list filter', () => {
    let inc: Record<string, any>;
    beforeAll(async () => {
      await defineField(owner, { key: 'products', name: 'Products', type: 'catalog', catalog_type: 'Product', multiple: true });
      await defineField(owner, { key: 'tier', name: 'Tier', type: 'single_select', options: [{ label: 'Gold' }, { label: 'Silver' }] });
      await defineField(owner, { key: 'tags', name: 'Tags', type: 'multi_select', options: [{ label: 'db' }, { label: 'network' }] });
      await defineField(owner, { key: 'ticket', name: 'Ticket', type: 'text' });
      await defineField(owner, { key: 'count', name: 'Count', type: 'number' });
      const declare = async (name: string, values: Record<string, unknown>) => (await owner.post('/api/v1/incidents', { name, custom_field_values: values })).body.incident;
      const long = 'x'.repeat(500);
      inc = {
        a: await declare('A', { products: [products.entries['Checkout'], products.entries['Search']], tier: 'Gold', tags: ['db'], ticket: 'OPS-1', count: 3 }),
        b: await declare('B', { products: products.entries['Search'], tier: 'Silver', tags: ['db', 'network'], ticket: long, count: 3.5 }),
        c: await declare('C', {}),
      };
      inc.long = long;
    });
    const names = async (query: string) => {
      const r = await owner.get(`/api/v1/incidents?limit=100&${query}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body.incidents.map((i: any) => i.name).filter((n: string) => ['A', 'B', 'C'].includes(n)).sort();
    };

    it('finds incidents by catalog entry, option, text, number and any value; several filters must all match', async () => {
      expect(await names(`custom_field=products:${products.entries['Search']}`)).toEqual(['A', 'B']);
      expect(await names(`custom_field=products:${products.entries['Checkout']}`)).toEqual(['A']);
      expect(await names(`custom_field=products:${products.entries['Maps']}`)).toEqual([]);
      const tier = (await owner.get('/api/v1/custom_fields/tier')).body.custom_field;
      expect(await names(`custom_field=tier:${tier.options[1].id}`)).toEqual(['B']);
      expect(await names('custom_field=tier:gold')).toEqual(['A']);
      expect(await names('custom_field=tags:db')).toEqual(['A', 'B']);
      expect(await names('custom_field=ticket:OPS-1')).toEqual(['A']);
      expect(await names(`custom_field=ticket:${inc.long}`)).toEqual(['B']);
      expect(await names('custom_field=ticket:OPS')).toEqual([]);
      expect(await names('custom_field=count:3')).toEqual(['A']);
      expect(await names('custom_field=count:3.50')).toEqual(['B']);
      expect(await names('custom_field=products:*')).toEqual(['A', 'B']);
      expect(await names(`custom_field=products:${products.entries['Search']}&custom_field=tags:network`)).toEqual(['B']);
      expect(await names(`custom_field=products:*&custom_field=tier:Gold&custom_field=count:3`)).toEqual(['A']);
    });

    it('an unknown key or value is a 400 that says what exists', async () => {
      const unknown = await owner.get('/api/v1/incidents?custom_field=nope:1');
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.message).toBe('No custom field has the key "nope".');
      expect(unknown.body.error.details.fields[0].message).toMatch(/the keys are: .*products, tier, tags, ticket, count/);
      const option = await owner.get('/api/v1/incidents?custom_field=tier:Bronze');
      expect(option.status).toBe(400);
      expect(option.body.error.details.fields[0].message).toMatch(/\(Gold\), .*\(Silver\)/);
      const number = await owner.get('/api/v1/incidents?custom_field=count:many');
      expect(number.status).toBe(400);
      const noValue = await owner.get('/api/v1/incidents?custom_field=tier');
      expect(noValue.status).toBe(400);
      expect(noValue.body.error.details.fields[0].message).toMatch(/tier:\* for any value/);
    });

    it('lists a page of incidents with their values in one batch, not a lookup per incident', async () => {
      const spy = vi.spyOn(fb.app.customFields.service, 'valuesFor');
      try {
        const r = await owner.get('/api/v1/incidents?limit=100');
        expect(r.body.incidents.length).toBeGreaterThan(5);
        expect(fieldOf(r.body.incidents.find((i: any) => i.name === 'A'), 'products').display.map((d: any) => d.label)).toEqual(['Checkout', 'Search']);
        expect(spy).toHaveBeenCalledTimes(1);
        expect([...spy.mock.calls[0]![0]].sort()).toEqual(r.body.incidents.map((i: any) => i.id).sort());
      } finally {
        spy.mockRestore();
      }
    });
  });
});
