import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyClient, backends, ownerClient, startTestFirebreak, userClient, type Client, type TestFirebreak } from '../helpers.js';
import { catalogType, defineField, fieldOf, timelineTexts } from './helpers.js';

// Defining custom fields through the REST API: what a definition must say, what can never change, deleting a
// field incidents use, and who may do what.

describe.each(backends)('custom field definitions on %s', (backend) => {
  let fb: TestFirebreak;
  let owner: Client;
  let teams: Awaited<ReturnType<typeof catalogType>>;

  beforeAll(async () => {
    fb = await startTestFirebreak(backend);
    owner = await ownerClient(fb);
    teams = await catalogType(owner, 'Team', 'Team', ['Payments', 'Search']);
  });
  afterAll(async () => fb?.destroy());

  it('refuses definitions that cannot work, saying what is allowed', async () => {
    const bad: [Record<string, unknown>, string, RegExp][] = [
      [{ key: 'Bad Key', name: 'x', type: 'text' }, 'key', /lower-case letter/],
      [{ key: 'sel', name: 'Sel', type: 'single_select', options: [] }, 'options', /at least one option/],
      [{ key: 'sel', name: 'Sel', type: 'multi_select', options: [{ label: 'A' }, { label: 'a ' }] }, 'options.1.label', /"a" is already option 1; option labels must be unique/],
      [{ key: 'cat', name: 'Cat', type: 'catalog' }, 'catalog_type', /needs a catalog type; one of: Team \(Team\)/],
      [{ key: 'cat', name: 'Cat', type: 'catalog', catalog_type: 'Nope' }, 'catalog_type', /"Nope" is not a catalog type; one of: Team \(Team\)/],
      [{ key: 'txt', name: 'Txt', type: 'text', options: [{ label: 'A' }] }, 'options', /only single_select and multi_select fields have options/],
      [{ key: 'num', name: 'Num', type: 'number', default_value: 'ten' }, 'default_value', /must be a number/],
      [{ key: 'cat', name: 'Cat', type: 'catalog', catalog_type: 'Team', default_value: 'missing' }, 'default_value', /not a catalog entry; give the id of a Team entry/],
    ];
    for (const [body, path, message] of bad) {
      const r = await owner.post('/api/v1/custom_fields', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      const err = [...(r.body.error.details?.fields ?? []), ...(r.body.error.details?.issues ?? [])].find((f: any) => f.path === path || f.path?.join?.('.') === path);
      expect(err, JSON.stringify(r.body)).toBeDefined();
      expect(err.message).toMatch(message);
    }
    expect((await owner.get('/api/v1/custom_fields')).body.custom_fields).toEqual([]);
  });

  it('keys are unique among live fields and never change', async () => {
    const f = await defineField(owner, { key: 'owning_team', name: 'Owning team', type: 'catalog', catalog_type: 'Team' });
    const dup = await owner.post('/api/v1/custom_fields', { key: 'owning_team', name: 'Another', type: 'text' });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('field_key_taken');
    const rekey = await owner.patch(`/api/v1/custom_fields/${f.id}`, { key: 'team' });
    expect(rekey.status).toBe(400);
    expect(rekey.body.error.message).toMatch(/key never changes/);
    const renamed = await owner.patch(`/api/v1/custom_fields/${f.id}`, { name: 'Team', key: 'owning_team' });
    expect(renamed.status).toBe(200);
    expect(renamed.body.custom_field).toMatchObject({ key: 'owning_team', name: 'Team' });
  });

  it('the type changes only while no incident has a value, and options in use cannot be removed', async () => {
    const f = await defineField(owner, { key: 'phase', name: 'Phase', type: 'single_select', options: [{ label: 'Detect' }, { label: 'Mitigate' }] });
    const t = await owner.patch(`/api/v1/custom_fields/phase`, { type: 'multi_select' });
    expect(t.status).toBe(200);
    expect(t.body.custom_field.multiple).toBe(true);
    const [detect, mitigate] = t.body.custom_field.options;
    await owner.post('/api/v1/incidents', { name: 'In a phase', custom_field_values: { phase: ['Detect'] } });

    const locked = await owner.patch(`/api/v1/custom_fields/${f.id}`, { type: 'text' });
    expect(locked.status).toBe(409);
    expect(locked.body.error.code).toBe('field_type_locked');
    expect(locked.body.error.message).toMatch(/1 incident has a value/);

    const removeUsed = await owner.patch(`/api/v1/custom_fields/${f.id}`, { options: [{ id: mitigate.id, label: 'Mitigate' }] });
    expect(removeUsed.status).toBe(409);
    expect(removeUsed.body.error.code).toBe('option_in_use');
    expect(removeUsed.body.error.message).toMatch(/"Detect" is set on 1 incident/);

    // Renaming an option keeps its id (values follow), removing an unused one and adding one are fine.
    const ok = await owner.patch(`/api/v1/custom_fields/${f.id}`, { options: [{ id: detect.id, label: 'Detection' }, { label: 'Resolve' }] });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.custom_field.options.map((o: any) => o.label)).toEqual(['Detection', 'Resolve']);
    expect(ok.body.custom_field.options[0].id).toBe(detect.id);
    const inc = (await owner.get('/api/v1/incidents?custom_field=phase:*')).body.incidents[0];
    expect(fieldOf(inc, 'phase').display.map((d: any) => d.label)).toEqual(['Detection']);
  });

  it('a catalog field keeps its catalog type once used, and becomes single only while no incident has several', async () => {
    await catalogType(owner, 'Region', 'Region', ['EU']);
    const f = await defineField(owner, { key: 'teams_involved', name: 'Teams involved', type: 'catalog', catalog_type: 'Team', multiple: true });
    await owner.post('/api/v1/incidents', { name: 'Two teams', custom_field_values: { teams_involved: [teams.entries['Payments'], teams.entries['Search']] } });
    const retype = await owner.patch(`/api/v1/custom_fields/${f.id}`, { catalog_type: 'Region' });
    expect(retype.status).toBe(409);
    expect(retype.body.error.message).toMatch(/Teams involved can no longer change its catalog type: 1 incident has a value/);
    const single = await owner.patch(`/api/v1/custom_fields/${f.id}`, { multiple: false });
    expect(single.status).toBe(409);
    expect(single.body.error.message).toMatch(/1 incident has several/);
    // A catalog type a field uses can still be deleted by the catalog; the incident stays readable.
    const region = await defineField(owner, { key: 'region', name: 'Region', type: 'catalog', catalog_type: 'Region' });
    const regionEntry = (await owner.get('/api/v1/catalog_entries?catalog_type_id=Region')).body.catalog_entries[0];
    const inRegion = (await owner.post('/api/v1/incidents', { name: 'In EU', custom_field_values: { region: regionEntry.id } })).body.incident;
    expect((await owner.del('/api/v1/catalog_types/Region')).status).toBe(204);
    const shown = await owner.get(`/api/v1/incidents/${inRegion.id}`);
    expect(shown.status).toBe(200);
    expect(fieldOf(shown.body.incident, 'region').display[0]).toMatchObject({ archived: true, label: '(deleted entry)' });
    expect((await owner.get(`/api/v1/custom_fields/${region.id}`)).body.custom_field.catalog_type.name).toBe('(deleted catalog type)');
    const deleted = await owner.request('DELETE', `/api/v1/custom_fields/${f.id}?confirm=true`);
    expect(deleted.status).toBe(204);
    const changeDeleted = await owner.patch(`/api/v1/custom_fields/${f.id}`, { name: 'Back' });
    expect(changeDeleted.status).toBe(409);
    expect(changeDeleted.body.error.code).toBe('field_deleted');
    expect((await owner.del(`/api/v1/custom_fields/${f.id}`)).status).toBe(404);
  });

  it('deleting a field incidents use needs confirmation; then it leaves incidents, the timeline keeps its history', async () => {
    const sev = await defineField(owner, { key: 'blast_radius', name: 'Blast radius', type: 'text' });
    const unused = await defineField(owner, { key: 'unused', name: 'Unused', type: 'text' });
    const inc = (await owner.post('/api/v1/incidents', { name: 'Wide', custom_field_values: { blast_radius: 'all of EU', owning_team: teams.entries['Payments'] } })).body.incident;
    await owner.patch(`/api/v1/incidents/${inc.id}`, { custom_field_values: { blast_radius: 'half of EU' } });
    expect((await owner.get(`/api/v1/custom_fields/${sev.id}`)).body.custom_field.incident_count).toBe(1);

    const refused = await owner.del(`/api/v1/custom_fields/${sev.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'field_in_use', details: { incidents: 1 } });
    expect(refused.body.error.message).toMatch(/Blast radius is set on 1 incident.*confirm=true/);
    expect(fieldOf((await owner.get(`/api/v1/incidents/${inc.id}`)).body.incident, 'blast_radius')).toBeDefined();

    expect((await owner.del(`/api/v1/custom_fields/${unused.id}`)).status).toBe(204);
    expect((await owner.request('DELETE', `/api/v1/custom_fields/${sev.id}?confirm=true`)).status).toBe(204);

    const after = (await owner.get(`/api/v1/incidents/${inc.id}`)).body.incident;
    expect(fieldOf(after, 'blast_radius')).toBeUndefined();
    expect(fieldOf(after, 'owning_team')).toBeDefined();
    expect(await timelineTexts(owner, inc.id, 'custom_field_changed')).toEqual(['Blast radius changed from all of EU to half of EU']);
    expect((await timelineTexts(owner, inc.id, 'incident_declared'))[0]).toContain('Blast radius: all of EU');

    const live = (await owner.get('/api/v1/custom_fields')).body.custom_fields.map((f: any) => f.key);
    expect(live).not.toContain('blast_radius');
    const all = (await owner.get('/api/v1/custom_fields?include_deleted=true')).body.custom_fields;
    expect(all.find((f: any) => f.key === 'blast_radius').deleted_at).not.toBeNull();
    // Gone from values and filters; its key may be used again by a new field.
    const setDeleted = await owner.patch(`/api/v1/incidents/${inc.id}`, { custom_field_values: { blast_radius: 'x' } });
    expect(setDeleted.status).toBe(400);
    expect((await owner.get('/api/v1/incidents?custom_field=blast_radius:*')).status).toBe(400);
    const again = await defineField(owner, { key: 'blast_radius', name: 'Blast radius (new)', type: 'number' });
    expect(again.id).not.toBe(sev.id);
    expect(fieldOf((await owner.get(`/api/v1/incidents/${inc.id}`)).body.incident, 'blast_radius')).toBeUndefined();
  });

  it('roles: viewers read; responders set values but cannot define fields; admins define them', async () => {
    const viewer = (await userClient(fb, owner, 'viewer')).client;
    const responder = (await userClient(fb, owner, 'responder')).client;
    const admin = (await userClient(fb, owner, 'admin')).client;
    await defineField(owner, { key: 'ticket', name: 'Ticket', type: 'link' });
    const inc = (await owner.post('/api/v1/incidents', { name: 'Roles' })).body.incident;

    expect((await viewer.get('/api/v1/custom_fields')).status).toBe(200);
    expect((await viewer.get('/api/v1/custom_fields/ticket')).status).toBe(200);
    for (const c of [viewer, responder]) {
      expect((await c.post('/api/v1/custom_fields', { key: 'nope', name: 'Nope', type: 'text' })).status).toBe(403);
      expect((await c.patch('/api/v1/custom_fields/ticket', { name: 'Nope' })).status).toBe(403);
      expect((await c.del('/api/v1/custom_fields/ticket')).status).toBe(403);
    }
    expect((await viewer.patch(`/api/v1/incidents/${inc.id}`, { custom_field_values: { ticket: 'https://tickets.example.com/1' } })).status).toBe(403);
    expect((await viewer.post('/api/v1/incidents', { name: 'Viewer', custom_field_values: { ticket: 'https://tickets.example.com/1' } })).status).toBe(403);
    const set = await responder.patch(`/api/v1/incidents/${inc.id}`, { custom_field_values: { ticket: 'https://tickets.example.com/1' } });
    expect(set.status).toBe(200);
    expect(fieldOf(set.body.incident, 'ticket').value).toBe('https://tickets.example.com/1');
    expect((await admin.post('/api/v1/custom_fields', { key: 'by_admin', name: 'By admin', type: 'text' })).status).toBe(201);

    const key = await owner.post('/api/v1/api_keys', { name: 'ci', scopes: ['read', 'write'] });
    expect(key.status).toBe(201);
    const bot = apiKeyClient(fb.baseUrl, key.body.token);
    expect((await bot.post('/api/v1/custom_fields', { key: 'by_key', name: 'By key', type: 'text' })).status).toBe(403);
    expect((await bot.patch(`/api/v1/incidents/${inc.id}`, { custom_field_values: { ticket: null } })).status).toBe(200);
    expect((await owner.get('/api/v1/custom_fields/no_such_field')).status).toBe(404);
  });
});
