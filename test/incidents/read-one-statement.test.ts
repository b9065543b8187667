import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomFieldsService } from '../../src/custom-fields/index.js';
import { IncidentsService } from '../../src/incidents/incidents.service.js';
import type { Database } from '../../src/platform/db/index.js';
import { backends, ownerClient, startTestFirebreak, type Client, type TestFirebreak } from '../helpers.js';
import { catalogType, defineField } from '../custom-fields/helpers.js';

// Reading one incident (GET /api/v1/incidents/:id, and every change's answer) is one statement (issue 18): the
// incident with what it shows beside it as JSON. It must show exactly what the page path (a list) shows for the
// same incident, whatever the incident holds: people, roles (a deleted one still held), custom field values of
// every kind, timestamps set by a person, status times, a merge target.

describe.each(backends)('reading one incident on %s', (backend) => {
  let fb: TestFirebreak;
  let owner: Client;
  let db: Kysely<Database>;
  let svc: IncidentsService;
  let statements: string[] = [];
  let merged: any;
  let target: any;

  beforeAll(async () => {
    fb = await startTestFirebreak(backend);
    owner = await ownerClient(fb);
    // A second connection with its own query log, so the statements one read sends can be counted.
    const cfg = fb.app.config.database;
    const dialect =
      cfg.kind === 'postgres'
        ? new PostgresDialect({ pool: new pg.Pool({ connectionString: cfg.url, max: 4 }) })
        : new SqliteDialect({ database: new SqliteDatabase(cfg.file) });
    db = new Kysely<Database>({ dialect, log: (e) => void statements.push(e.query.sql) });
    svc = new IncidentsService(db, fb.app.events, fb.app.database.dialect, new CustomFieldsService(db));

    const teams = await catalogType(owner, 'Squad', 'Squad', ['Payments', 'Search']);
    await defineField(owner, { key: 'squads', name: 'Squads', type: 'catalog', catalog_type: 'Squad', multiple: true });
    await defineField(owner, { key: 'phase', name: 'Phase', type: 'single_select', options: [{ label: 'Detect' }, { label: 'Mitigate' }] });
    await defineField(owner, { key: 'cost', name: 'Cost', type: 'number' });
    const role = async (name: string) => (await owner.post('/api/v1/incident_roles', { name })).body.incident_role;
    const scribe = await role('Scribe');
    const gone = await role('Liaison');
    const session = (await owner.get('/api/v1/session')).body;
    const me = session.user.id;

    target = (await owner.post('/api/v1/incidents', { name: 'Target', triage: true, custom_field_values: { squads: [teams.entries.Search, teams.entries.Payments], phase: 'Mitigate', cost: 12.5 } })).body.incident;
    expect((await owner.post(`/api/v1/incidents/${target.id}/actions/accept`, {})).status).toBe(200);
    expect((await owner.request('PUT', `/api/v1/incidents/${target.id}/roles/${scribe.id}`, { user_id: me })).status).toBe(200);
    expect((await owner.request('PUT', `/api/v1/incidents/${target.id}/roles/${gone.id}`, { user_id: me })).status).toBe(200);
    expect((await owner.del(`/api/v1/incident_roles/${gone.id}`)).status).toBe(204);
    const at = new Date().toISOString();
    const stamped = await owner.request('PUT', `/api/v1/incidents/${target.id}/timestamps/identified`, { at, reason: 'Spotted in the channel' });
    expect(stamped.status, JSON.stringify(stamped.body)).toBe(200);
    const rosa = await owner.post('/api/v1/users', { name: 'Rosa Lead', email: 'rosa@example.com', role: 'responder' });
    expect(rosa.status, JSON.stringify(rosa.body)).toBe(201);
    await svc.setLead(target.id, rosa.body.user.id, { kind: 'user', userId: me });
    merged = (await owner.post('/api/v1/incidents', { name: 'Duplicate' })).body.incident;
    expect((await owner.post(`/api/v1/incidents/${merged.id}/actions/merge`, { into: target.reference })).status).toBe(200);
  });
  afterAll(async () => {
    await db?.destroy();
    await fb?.destroy();
  });

  it('shows what the list shows for the same incident', async () => {
    const { incidents } = await svc.listIncidents({ limit: 50 });
    expect(incidents.length).toBeGreaterThanOrEqual(2);
    for (const listed of incidents) {
      const one = await svc.getIncident(listed.id);
      expect(one).toEqual(listed);
      expect(await svc.getIncident(listed.reference)).toEqual(listed);
    }
    // The rich ones really hold what they should, so the comparison covers every part.
    const t = await svc.getIncident(target.id);
    expect(t.customFields.map((f) => f.field.key)).toEqual(['squads', 'phase', 'cost']);
    const ownerName = t.creator.user?.name;
    expect(ownerName).toBeTruthy();
    expect(t.lead?.name).toBe('Rosa Lead');
    expect(t.roles.map((r) => [r.role.name, r.user?.name ?? null])).toEqual([['Scribe', ownerName], ['Liaison', ownerName]]);
    expect(t.timestamps.find((x) => x.kind === 'identified')?.setBy?.name).toBe(ownerName);
    expect(t.statusTimestamps.map((s) => s.status.category)).toEqual(['triage', 'live']);
    const m = await svc.getIncident(merged.id);
    expect(m.mergedInto).toEqual({ id: target.id, reference: target.reference });
  });

  it('sends one statement per read once severities and statuses are known (and one for catalog entry names)', async () => {
    await svc.getIncident(target.id);
    statements = [];
    await svc.getIncident(merged.id);
    expect(statements).toHaveLength(1);
    statements = [];
    // The target has catalog values: their entries' names (and whether archived) are read in a second statement.
    await svc.getIncident(target.id);
    expect(statements).toHaveLength(2);
    expect(statements[1]).toMatch(/catalog_entries/);
    statements = [];
    await expect(svc.getIncident('INC-999999')).rejects.toThrow(/not found|INC-999999/i);
    expect(statements).toHaveLength(1);
  });
});
