import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers.js';
import { allEntries, connect, setup, syncNow, type Setup } from '../pagerduty/helpers.js';
import { defineField, fieldOf, timelineTexts } from './helpers.js';

// "Affected services" over the synced PagerDuty catalog: set by id, shown by name, renamed and archived by
// syncs (shown as PagerDuty now names them, archived ones marked), the timeline keeping the names of the time.

describe.each(backends)('a PagerDuty Service field on %s', (backend) => {
  let s: Setup;

  beforeAll(async () => {
    s = await setup(backend, 'small');
    await connect(s);
  }, 60_000);
  afterAll(async () => s?.close());

  it('declares with services, follows renames and archiving from PagerDuty, filters by service', async () => {
    const field = await defineField(s.owner, { key: 'affected_services', name: 'Affected services', type: 'catalog', catalog_type: 'PagerDutyService', multiple: true });
    expect(field.catalog_type.type_name).toBe('PagerDutyService');
    const entries = (await allEntries(s, 'PagerDutyService')).slice(0, 2);
    expect(entries).toHaveLength(2);
    const [first, second] = entries as [any, any];

    const r = await s.owner.post('/api/v1/incidents', { name: 'Paging broken', custom_field_values: { affected_services: [first.id, second.id] } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const inc = r.body.incident;
    const shown = fieldOf(inc, 'affected_services').display;
    expect(shown.map((d: any) => d.label)).toEqual([first.name, second.name]);
    expect(shown[0].url).toBe(first.external_url);

    const oldName = second.name;
    s.pd.admin.updateService(first.external_id, { name: 'Renamed in PagerDuty' });
    const svc = s.pd.state.services.get(second.external_id)!;
    s.pd.admin.updateService(second.external_id, { description: `${svc.description} (incident-io-ignore)` });
    const run = await syncNow(s);
    expect(run.status).toBe('succeeded');

    const after = fieldOf((await s.owner.get(`/api/v1/incidents/${inc.id}`)).body.incident, 'affected_services').display;
    expect(after.map((d: any) => [d.label, d.archived])).toEqual([
      ['Renamed in PagerDuty', false],
      [oldName, true],
    ]);
    // The archived service stays while another is changed, and cannot be set anew elsewhere.
    const kept = await s.owner.patch(`/api/v1/incidents/${inc.id}`, { custom_field_values: { affected_services: [second.id] } });
    expect(kept.status).toBe(200);
    expect(await timelineTexts(s.owner, inc.id, 'custom_field_changed')).toEqual([`Affected services changed from Renamed in PagerDuty, ${oldName} to ${oldName}`]);
    const other = await s.owner.post('/api/v1/incidents', { name: 'Other', custom_field_values: { affected_services: [second.id] } });
    expect(other.status).toBe(400);
    expect(other.body.error.details.fields[0].message).toBe(`${oldName} is archived; choose a PagerDutyService entry that is not archived`);

    const found = await s.owner.get(`/api/v1/incidents?custom_field=affected_services:${second.id}`);
    expect(found.body.incidents.map((i: any) => i.id)).toEqual([inc.id]);
  }, 60_000);
});
