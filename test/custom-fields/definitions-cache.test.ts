import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyClient, backends, freshPostgresDatabase, ownerClient, postgresAvailable, startTestFirebreak, type Client, type TestFirebreak } from '../helpers.js';
import { defineField, fieldOf } from './helpers.js';

// Declarations use the field definitions a process remembers while their version (migration 0031, raised by the
// database in every transaction that changes a definition) is unchanged. These tests change definitions behind the
// remembering process's back, by hand in SQL and through another process, and check the very next declaration sees it.

describe.each(backends)('custom field definitions remembered by a process, on %s', (backend) => {
  let fb: TestFirebreak;
  let owner: Client;

  beforeAll(async () => {
    fb = await startTestFirebreak(backend);
    owner = await ownerClient(fb);
  });
  afterAll(async () => fb?.destroy());

  it('a definition changed in SQL, outside Firebreak, holds from the next declaration', async () => {
    await defineField(owner, { key: 'region', name: 'Region', type: 'text' });
    await defineField(owner, { key: 'ticket', name: 'Ticket', type: 'text' });
    // Remembered now: both fields live, neither required.
    const first = await owner.post('/api/v1/incidents', { name: 'First', custom_field_values: { region: 'eu' } });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(fieldOf(first.body.incident, 'region')?.value).toBe('eu');

    const db = fb.app.database.db;
    await sql`update custom_fields set deleted_at = ${new Date().toISOString()} where key = 'region'`.execute(db);
    await sql`update custom_fields set required_at_declaration = 1 where key = 'ticket'`.execute(db);

    const deleted = await owner.post('/api/v1/incidents', { name: 'Second', custom_field_values: { region: 'eu', ticket: 'T-1' } });
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(400);
    expect(deleted.body.error.details.fields.map((f: any) => f.path)).toEqual(['custom_field_values.region']);
    const missing = await owner.post('/api/v1/incidents', { name: 'Third' });
    expect(missing.status, JSON.stringify(missing.body)).toBe(400);
    expect(missing.body.error.message).toMatch(/Ticket is required when declaring/);
    const ok = await owner.post('/api/v1/incidents', { name: 'Fourth', custom_field_values: { ticket: 'T-2' } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(ok.body.incident.custom_fields.map((f: any) => f.field.key)).toEqual(['ticket']);
  });

  it('a change through the API is seen by the next declaration of the same process', async () => {
    const f = await defineField(owner, { key: 'service_tier', name: 'Service tier', type: 'single_select', options: [{ label: 'Gold' }] });
    const before = await owner.post('/api/v1/incidents', { name: 'Gold one', custom_field_values: { service_tier: 'Gold', ticket: 'T-0' } });
    expect(before.status, JSON.stringify(before.body)).toBe(201);
    const renamed = await owner.patch(`/api/v1/custom_fields/${f.id}`, { options: [{ id: f.options[0].id, label: 'Platinum' }], default_value: 'Platinum' });
    expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
    const after = await owner.post('/api/v1/incidents', { name: 'Defaulted', custom_field_values: { ticket: 'T-3' } });
    expect(after.status, JSON.stringify(after.body)).toBe(201);
    // The default given by the change is applied, under the option's new label.
    const tier = fieldOf(after.body.incident, 'service_tier');
    expect(tier?.value).toBe(f.options[0].id);
    expect(JSON.stringify(tier?.display)).toContain('Platinum');
  });
});

describe.skipIf(!postgresAvailable)('custom field definitions changed by another process (PostgreSQL)', () => {
  let db: { url: string; drop(): Promise<void> };
  let a: TestFirebreak;
  let b: TestFirebreak;
  let ownerA: Client;
  let ownerB: Client;

  beforeAll(async () => {
    db = await freshPostgresDatabase();
    a = await startTestFirebreak('postgres', { pgUrl: db.url });
    ownerA = await ownerClient(a);
    b = await startTestFirebreak('postgres', { pgUrl: db.url, masterKey: a.app.config.masterKey ?? undefined });
    // B's requests go to B's own HTTP server, so changes through it are made by the other process.
    const key = await ownerA.post('/api/v1/api_keys', { name: 'process b', scopes: ['admin'] });
    expect(key.status, JSON.stringify(key.body)).toBe(201);
    ownerB = apiKeyClient(b.baseUrl, key.body.token);
  });
  afterAll(async () => {
    await b?.destroy();
    await a?.destroy();
    await db?.drop();
  });

  it('a field deleted or made required in process B is applied by process A at its next declaration', async () => {
    const f = await defineField(ownerA, { key: 'customer', name: 'Customer', type: 'text' });
    const warm = await ownerA.post('/api/v1/incidents', { name: 'Warm', custom_field_values: { customer: 'Acme' } });
    expect(warm.status, JSON.stringify(warm.body)).toBe(201);

    const viaB = ownerB;
    expect((await viaB.request('DELETE', `/api/v1/custom_fields/${f.id}?confirm=true`)).status).toBeLessThan(300);
    const required = await defineField(viaB, { key: 'impact', name: 'Impact', type: 'text', required_at_declaration: true });

    const stale = await ownerA.post('/api/v1/incidents', { name: 'Stale', custom_field_values: { customer: 'Acme', impact: 'Some' } });
    expect(stale.status, JSON.stringify(stale.body)).toBe(400);
    expect(stale.body.error.details.fields.map((x: any) => x.path)).toEqual(['custom_field_values.customer']);
    const missing = await ownerA.post('/api/v1/incidents', { name: 'Missing' });
    expect(missing.status, JSON.stringify(missing.body)).toBe(400);
    expect(missing.body.error.details.fields.map((x: any) => x.path)).toEqual([`custom_field_values.${required.key}`]);
  });
});
