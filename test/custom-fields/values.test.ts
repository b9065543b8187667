import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, ownerClient, startTestFirebreak, type Client, type TestFirebreak } from '../helpers.js';
import { catalogType, defineField, fieldOf, timelineTexts } from './helpers.js';

// Custom field values on incidents through the REST API: declared with values and defaults, changed and
// cleared with a timeline item and a domain event per field, catalog references checked against the catalog.

describe.each(backends)('custom field values on %s', (backend) => {
  let fb: TestFirebreak;
  let owner: Client;
  let services: Awaited<ReturnType<typeof catalogType>>;
  let customers: Awaited<ReturnType<typeof catalogType>>;
  let affected: any;
  let customer: any;
  let impact: any;
  let regions: any;
  let runbook: any;
  let users: any;
  let notes: any;

  beforeAll(async () => {
    fb = await startTestFirebreak(backend);
    owner = await ownerClient(fb);
    services = await catalogType(owner, 'Service', 'Service', ['Checkout API', 'Payments API', 'Search']);
    customers = await catalogType(owner, 'Customer', 'Customer', ['Acme', 'Globex']);
    affected = await defineField(owner, { key: 'affected_services', name: 'Affected services', type: 'catalog', catalog_type: 'Service', multiple: true });
    customer = await defineField(owner, { key: 'customer', name: 'Customer', type: 'catalog', catalog_type: customers.type.id });
    impact = await defineField(owner, { key: 'impact', name: 'Impact', type: 'single_select', options: [{ label: 'None' }, { label: 'Partial' }, { label: 'Full outage' }], default_value: 'None' });
    regions = await defineField(owner, { key: 'regions', name: 'Regions', type: 'multi_select', options: [{ label: 'EU' }, { label: 'US' }, { label: 'APAC' }] });
    runbook = await defineField(owner, { key: 'runbook', name: 'Runbook', type: 'link' });
    users = await defineField(owner, { key: 'users_affected', name: 'Users affected', type: 'number' });
    notes = await defineField(owner, { key: 'root_cause', name: 'Root cause', type: 'text' });
  });
  afterAll(async () => fb?.destroy());

  it('defines each type of field and lists them in order with their shape', async () => {
    const list = await owner.get('/api/v1/custom_fields');
    expect(list.status).toBe(200);
    expect(list.body.custom_fields.map((f: any) => `${f.key}:${f.type}`)).toEqual([
      'affected_services:catalog',
      'customer:catalog',
      'impact:single_select',
      'regions:multi_select',
      'runbook:link',
      'users_affected:number',
      'root_cause:text',
    ]);
    expect(affected.catalog_type).toEqual({ id: services.type.id, type_name: 'Service', name: 'Service' });
    expect(affected.multiple).toBe(true);
    expect(customer.multiple).toBe(false);
    expect(regions.multiple).toBe(true);
    expect(impact.options.map((o: any) => o.label)).toEqual(['None', 'Partial', 'Full outage']);
    // The default is stored as the option's id.
    expect(impact.default_value).toBe(impact.options[0].id);
    expect(runbook.options).toEqual([]);
    expect(runbook.catalog_type).toBeNull();
    const byKey = await owner.get('/api/v1/custom_fields/customer');
    expect(byKey.body.custom_field.id).toBe(customer.id);
  });

  it('declares an incident with values of every type, applies defaults, and shows names', async () => {
    const r = await owner.post('/api/v1/incidents', {
      name: 'Checkout broken',
      custom_field_values: {
        affected_services: [services.entries['Checkout API'], services.entries['Payments API']],
        [customer.id]: customers.entries['Acme'],
        regions: ['EU', regions.options[1].id],
        runbook: 'https://runbooks.example.com/checkout',
        users_affected: 1200,
        root_cause: 'A bad deploy',
      },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const inc = r.body.incident;
    expect(fieldOf(inc, 'affected_services').display.map((d: any) => d.label)).toEqual(['Checkout API', 'Payments API']);
    expect(fieldOf(inc, 'affected_services').value).toEqual([services.entries['Checkout API'], services.entries['Payments API']]);
    expect(fieldOf(inc, 'customer').value).toBe(customers.entries['Acme']);
    expect(fieldOf(inc, 'customer').display).toEqual([{ id: customers.entries['Acme'], label: 'Acme', archived: false, url: null }]);
    expect(fieldOf(inc, 'customer').field).toEqual({ id: customer.id, key: 'customer', name: 'Customer', type: 'catalog', multiple: false, catalog_type_name: 'Customer' });
    expect(fieldOf(inc, 'impact').display.map((d: any) => d.label)).toEqual(['None']);
    expect(fieldOf(inc, 'regions').display.map((d: any) => d.label)).toEqual(['EU', 'US']);
    expect(fieldOf(inc, 'runbook').display).toEqual([{ id: null, label: 'https://runbooks.example.com/checkout', archived: false, url: 'https://runbooks.example.com/checkout' }]);
    expect(fieldOf(inc, 'users_affected').value).toBe(1200);
    expect(fieldOf(inc, 'root_cause').value).toBe('A bad deploy');
    // Field order, and only fields with a value.
    expect(inc.custom_fields.map((f: any) => f.field.key)).toEqual(['affected_services', 'customer', 'impact', 'regions', 'runbook', 'users_affected', 'root_cause']);

    const again = await owner.get(`/api/v1/incidents/${inc.reference}`);
    expect(again.body.incident.custom_fields).toEqual(inc.custom_fields);
    const [declared] = (await owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items;
    expect(declared.kind).toBe('incident_declared');
    expect(declared.payload.customFields).toContainEqual({ key: 'affected_services', name: 'Affected services', labels: ['Checkout API', 'Payments API'] });
    expect(declared.text).toContain('Affected services: Checkout API, Payments API');
    expect(declared.text).toContain('Impact: None');
  });

  it('an incident without values has only the defaults', async () => {
    const r = await owner.post('/api/v1/incidents', { name: 'Nothing set' });
    expect(r.body.incident.custom_fields.map((f: any) => f.field.key)).toEqual(['impact']);
    const noDefault = await owner.post('/api/v1/incidents', { name: 'Explicitly none', custom_field_values: { impact: null } });
    expect(noDefault.body.incident.custom_fields).toEqual([]);
  });

  it('changes, sets and clears values with one timeline item and one domain event per changed field', async () => {
    const inc = (await owner.post('/api/v1/incidents', { name: 'Payments slow', custom_field_values: { affected_services: services.entries['Search'] } })).body.incident;
    const eventsBefore = await fb.app.database.db.selectFrom('domain_events').select('payload').where('incident_id', '=', inc.id).where('type', '=', 'incident.custom_field_changed').execute();
    expect(eventsBefore).toHaveLength(0);

    const changed = await owner.patch(`/api/v1/incidents/${inc.id}`, {
      custom_field_values: { affected_services: [services.entries['Checkout API'], services.entries['Payments API']], impact: 'Partial', users_affected: 5, runbook: null },
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(fieldOf(changed.body.incident, 'impact').display[0].label).toBe('Partial');
    const texts = await timelineTexts(owner, inc.id, 'custom_field_changed');
    // runbook had no value: clearing it changes nothing and writes nothing.
    expect(texts).toEqual(['Affected services changed from Search to Checkout API, Payments API', 'Impact changed from None to Partial', 'Users affected set to 5']);
    const events = await fb.app.database.db.selectFrom('domain_events').select('payload').where('incident_id', '=', inc.id).where('type', '=', 'incident.custom_field_changed').execute();
    expect(events.map((e) => JSON.parse(e.payload).data)).toEqual([
      { fieldId: affected.id, key: 'affected_services' },
      { fieldId: impact.id, key: 'impact' },
      { fieldId: users.id, key: 'users_affected' },
    ]);

    // The same values again change nothing.
    await owner.patch(`/api/v1/incidents/${inc.id}`, { custom_field_values: { impact: impact.options[1].id, users_affected: 5 } });
    expect(await timelineTexts(owner, inc.id, 'custom_field_changed')).toHaveLength(3);

    const cleared = await owner.patch(`/api/v1/incidents/${inc.id}`, { custom_field_values: { affected_services: null, users_affected: null } });
    expect(fieldOf(cleared.body.incident, 'affected_services')).toBeUndefined();
    expect((await timelineTexts(owner, inc.id, 'custom_field_changed')).slice(3)).toEqual(['Affected services cleared (was Checkout API, Payments API)', 'Users affected cleared (was 5)']);
  });

  it('refuses bad values with a 400 that names the field and says what it takes', async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ impact: 'Catastrophic' }, 'impact', /"None", "Partial", "Full outage"/],
      [{ regions: ['EU', 'Mars'] }, 'regions', /"EU", "US", "APAC"/],
      [{ runbook: 'ftp://example.com/x' }, 'runbook', /http:\/\/ or https:\/\//],
      [{ users_affected: 'many' }, 'users_affected', /number/],
      [{ root_cause: 42 }, 'root_cause', /text/],
      [{ customer: [customers.entries['Acme'], customers.entries['Globex']] }, 'customer', /one Customer entry/],
      [{ customer: services.entries['Search'] }, 'customer', /Search is a Service entry; Customer takes Customer entries/],
      [{ affected_services: 'no-such-entry' }, 'affected_services', /not a catalog entry; give the id of a Service entry/],
      [{ nope: 1 }, 'nope', /the fields are: affected_services, customer/],
    ];
    for (const [values, key, message] of cases) {
      const r = await owner.post('/api/v1/incidents', { name: 'Bad value', custom_field_values: values });
      expect(r.status, `${key}: ${JSON.stringify(r.body)}`).toBe(400);
      const field = r.body.error.details.fields.find((f: any) => f.path === `custom_field_values.${key}`);
      expect(field, JSON.stringify(r.body)).toBeDefined();
      expect(field.message).toMatch(message);
      const patched = await owner.patch(`/api/v1/incidents/INC-1`, { custom_field_values: values });
      expect(patched.status).toBe(400);
    }
    // Nothing was declared by the refused requests.
    const list = await owner.get('/api/v1/incidents?limit=100');
    expect(list.body.incidents.filter((i: any) => i.name === 'Bad value')).toHaveLength(0);
  });

  it('keeps an archived entry already set, marked archived, but refuses setting it anew', async () => {
    const globex = customers.entries['Globex'];
    const inc = (await owner.post('/api/v1/incidents', { name: 'Globex down', custom_field_values: { customer: globex } })).body.incident;
    const archived = await owner.post(`/api/v1/catalog_entries/${globex}/actions/archive`);
    expect(archived.status).toBe(200);
    const shown = (await owner.get(`/api/v1/incidents/${inc.id}`)).body.incident;
    expect(fieldOf(shown, 'customer').display).toEqual([{ id: globex, label: 'Globex', archived: true, url: null }]);
    // Unrelated changes keep it; setting it again (same value) is fine.
    const kept = await owner.patch(`/api/v1/incidents/${inc.id}`, { summary: 'still down', custom_field_values: { customer: globex } });
    expect(kept.status).toBe(200);
    expect(fieldOf(kept.body.incident, 'customer').display[0].archived).toBe(true);
    const refused = await owner.post('/api/v1/incidents', { name: 'Globex again', custom_field_values: { customer: globex } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details.fields[0]).toEqual({ path: 'custom_field_values.customer', message: 'Globex is archived; choose a Customer entry that is not archived' });
    const other = (await owner.post('/api/v1/incidents', { name: 'Acme down', custom_field_values: { customer: customers.entries['Acme'] } })).body.incident;
    const moved = await owner.patch(`/api/v1/incidents/${other.id}`, { custom_field_values: { customer: globex } });
    expect(moved.status).toBe(400);
  });
});
