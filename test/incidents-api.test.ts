import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyClient, backends, ownerClient, startTestFirebreak, userClient, type Client, type TestFirebreak } from './helpers.js';

// The incident lifecycle through the REST API, as an owner, a responder, a viewer and API keys would use it,
// on each storage backend.

describe.each(backends)('incidents API on %s', (backend) => {
  let fb: TestFirebreak;
  let owner: Client;

  beforeAll(async () => {
    fb = await startTestFirebreak(backend);
    owner = await ownerClient(fb);
  });
  afterAll(async () => fb?.destroy());

  it('declares an incident with the next reference and a declared timeline item', async () => {
    const sevs = (await owner.get('/api/v1/severities')).body.severities;
    expect(sevs.map((s: any) => s.name)).toEqual(['Critical', 'Major', 'Minor', 'Low']);
    const a = await owner.post('/api/v1/incidents', { name: 'Checkout is down', summary: 'Card payments fail', severity_id: sevs[0].id });
    expect(a.status).toBe(201);
    const b = await owner.post('/api/v1/incidents', { name: 'Search is slow', severity_id: sevs[2].id });
    expect(b.body.incident.number).toBe(a.body.incident.number + 1);
    expect(a.body.incident.reference).toBe(`INC-${a.body.incident.number}`);
    expect(a.body.incident.status.name).toBe('Investigating');
    expect(a.body.incident.severity.name).toBe('Critical');
    expect(a.body.incident.creator.kind).toBe('user');
    const tl = await owner.get(`/api/v1/incidents/${a.body.incident.reference}/timeline`);
    expect(tl.body.items).toHaveLength(1);
    expect(tl.body.items[0].kind).toBe('incident_declared');
    expect(tl.body.items[0].actor.user.name).toBe('Owner');
  });

  it('the same idempotency key returns the same incident, also under concurrency', async () => {
    const body = { name: 'Duplicate submit', idempotency_key: `k-${backend}-1` };
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => owner.post('/api/v1/incidents', body)));
    const ids = new Set(results.map((r) => r.body.incident.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 200)).toHaveLength(4);
    const viaHeader = await owner.request('POST', '/api/v1/incidents', { name: 'Header key' }, { 'idempotency-key': `h-${backend}` });
    const again = await owner.request('POST', '/api/v1/incidents', { name: 'Header key' }, { 'idempotency-key': `h-${backend}` });
    expect(again.body.incident.id).toBe(viaHeader.body.incident.id);
  });

  it('runs triage → accept → Fixing → close, stamping each status and refusing illegal moves', async () => {
    const created = await owner.post('/api/v1/incidents', { name: 'Maybe an outage', triage: true });
    const inc = created.body.incident;
    expect(inc.status.category).toBe('triage');
    expect(inc.available_actions.map((a: any) => a.action).sort()).toEqual(['accept', 'decline', 'merge']);

    const illegal = await owner.post(`/api/v1/incidents/${inc.id}/actions/close`);
    expect(illegal.status).toBe(409);
    expect(illegal.body.error.code).toBe('illegal_transition');
    expect(illegal.body.error.message).toContain('Allowed from Triage: accept, decline, merge');

    const accepted = await owner.post(`/api/v1/incidents/${inc.id}/actions/accept`);
    expect(accepted.status).toBe(200);
    expect(accepted.body.incident.status.name).toBe('Investigating');
    const fixing = await owner.post(`/api/v1/incidents/${inc.id}/actions/status`, { status_id: 'fixing' });
    expect(fixing.body.incident.status.name).toBe('Fixing');
    const closed = await owner.post(`/api/v1/incidents/${inc.id}/actions/close`);
    expect(closed.body.incident.status.category).toBe('closed');
    const stamps = closed.body.incident.status_timestamps.map((t: any) => t.status.name);
    expect(stamps).toEqual(['Triage', 'Investigating', 'Fixing', 'Closed']);

    const texts = (await owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items.map((i: any) => i.text);
    expect(texts).toEqual([
      'Incident declared: "Maybe an outage" (Low, Triage)',
      'Status changed from Triage to Investigating',
      'Status changed from Investigating to Fixing',
      'Status changed from Fixing to Closed',
    ]);
    // a closed incident can be reopened into a live status, but not declined
    const decline = await owner.post(`/api/v1/incidents/${inc.id}/actions/decline`);
    expect(decline.status).toBe(409);
    const reopen = await owner.post(`/api/v1/incidents/${inc.id}/actions/status`, { status_id: 'monitoring' });
    expect(reopen.body.incident.status.name).toBe('Monitoring');
  });

  it('declines and merges triage incidents; merged ones point at their target and are final', async () => {
    const target = (await owner.post('/api/v1/incidents', { name: 'Main incident' })).body.incident;
    const dup = (await owner.post('/api/v1/incidents', { name: 'Same thing', triage: true })).body.incident;
    const merged = await owner.post(`/api/v1/incidents/${dup.id}/actions/merge`, { into: target.reference });
    expect(merged.body.incident.status.category).toBe('merged');
    expect(merged.body.incident.merged_into.reference).toBe(target.reference);
    expect(merged.body.incident.available_actions).toEqual([]);
    const targetTl = (await owner.get(`/api/v1/incidents/${target.id}/timeline`)).body.items.map((i: any) => i.text);
    expect(targetTl).toContain(`${dup.reference} was merged into this incident`);
    const noise = (await owner.post('/api/v1/incidents', { name: 'Noise', triage: true })).body.incident;
    const declined = await owner.post(`/api/v1/incidents/${noise.id}/actions/decline`, { reason: 'flapping alert' });
    expect(declined.body.incident.status.category).toBe('declined');
    const self = await owner.post(`/api/v1/incidents/${target.id}/actions/merge`, { into: target.id });
    expect(self.status).toBe(409);
  });

  it('edits name, summary and severity with timeline items, and adds notes', async () => {
    const inc = (await owner.post('/api/v1/incidents', { name: 'Old name' })).body.incident;
    await owner.patch(`/api/v1/incidents/${inc.id}`, { name: 'New name', summary: 'We know more now' });
    await owner.post(`/api/v1/incidents/${inc.id}/actions/severity`, { severity_id: 'sev-major' });
    const note = await owner.post(`/api/v1/incidents/${inc.id}/timeline/notes`, { text: 'Rolled back deploy 123' });
    expect(note.status).toBe(201);
    const got = (await owner.get(`/api/v1/incidents/${inc.reference}`)).body.incident;
    expect(got).toMatchObject({ name: 'New name', summary: 'We know more now', severity: { name: 'Major' } });
    const kinds = (await owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items.map((i: any) => [i.kind, i.text]);
    expect(kinds).toEqual([
      ['incident_declared', 'Incident declared: "Old name" (Low, Investigating)'],
      ['name_changed', 'Renamed from "Old name" to "New name"'],
      ['summary_updated', 'Summary updated: We know more now'],
      ['severity_changed', 'Severity changed from Low to Major'],
      ['note_added', 'Rolled back deploy 123'],
    ]);
  });

  it('lists with filters and cursor pagination without gaps or repeats', async () => {
    for (let i = 0; i < 7; i++) await owner.post('/api/v1/incidents', { name: `Test mode ${i}`, mode: 'test', triage: i % 2 === 0 });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await owner.get(`/api/v1/incidents?mode=test&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.incidents.map((i: any) => i.name));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([6, 5, 4, 3, 2, 1, 0].map((i) => `Test mode ${i}`));
    const triage = await owner.get('/api/v1/incidents?mode=test&status_category=triage');
    expect(triage.body.incidents.map((i: any) => i.name)).toEqual(['Test mode 6', 'Test mode 4', 'Test mode 2', 'Test mode 0']);
    const both = await owner.get('/api/v1/incidents?mode=test&status_category=triage,live');
    expect(both.body.incidents).toHaveLength(7);
    const bad = await owner.get('/api/v1/incidents?status_category=bogus');
    expect(bad.status).toBe(400);
  });

  it('lets a viewer read but not change, and a read key read but not write', async () => {
    const inc = (await owner.post('/api/v1/incidents', { name: 'Access check' })).body.incident;
    const { client: viewer } = await userClient(fb, owner, 'viewer');
    expect((await viewer.get(`/api/v1/incidents/${inc.id}`)).status).toBe(200);
    const denied = await viewer.post(`/api/v1/incidents/${inc.id}/actions/close`);
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toContain('viewer');
    expect((await viewer.post('/api/v1/incidents', { name: 'nope' })).status).toBe(403);

    const { client: responder } = await userClient(fb, owner, 'responder');
    expect((await responder.post(`/api/v1/incidents/${inc.id}/timeline/notes`, { text: 'on it' })).status).toBe(201);
    expect((await responder.post('/api/v1/api_keys', { name: 'x', scopes: ['read'] })).status).toBe(403);

    const readKey = await owner.post('/api/v1/api_keys', { name: 'dashboards', scopes: ['read'] });
    expect(readKey.status).toBe(201);
    expect(readKey.body.token).toMatch(/^fbk_/);
    const reader = apiKeyClient(fb.baseUrl, readKey.body.token);
    expect((await reader.get(`/api/v1/incidents/${inc.id}`)).status).toBe(200);
    const w = await reader.post('/api/v1/incidents', { name: 'from a read key' });
    expect(w.status).toBe(403);
    expect(w.body.error.message).toContain('needs write');

    const writeKey = (await owner.post('/api/v1/api_keys', { name: 'alertmanager', scopes: ['write'] })).body;
    const writer = apiKeyClient(fb.baseUrl, writeKey.token);
    const made = await writer.post('/api/v1/incidents', { name: 'From automation' });
    expect(made.status).toBe(201);
    expect(made.body.incident.creator).toEqual({ kind: 'integration', user: null, ref: 'api_key:alertmanager' });
    expect(made.body.incident.source).toBe('api');

    const keys = (await owner.get('/api/v1/api_keys')).body.api_keys;
    expect(JSON.stringify(keys)).not.toContain(writeKey.token);
    expect(keys.find((k: any) => k.id === writeKey.api_key.id).last_used_at).not.toBeNull();
    expect((await owner.del(`/api/v1/api_keys/${writeKey.api_key.id}`)).status).toBe(204);
    const revoked = await writer.post('/api/v1/incidents', { name: 'after revoke' });
    expect(revoked.status).toBe(401);
  });

  it('requires the CSRF token for writes from a browser session', async () => {
    const noCsrf = await fetch(`${fb.baseUrl}/api/v1/incidents`, {
      method: 'POST',
      headers: { cookie: (owner as any).cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'forged' }),
    });
    expect(noCsrf.status).toBe(403);
    const list = await owner.get('/api/v1/incidents?limit=100');
    expect(list.body.incidents.map((i: any) => i.name)).not.toContain('forged');
  });

  it('publishes every change as a domain event in the same transaction (outbox)', async () => {
    const inc = (await owner.post('/api/v1/incidents', { name: 'Events', triage: true })).body.incident;
    await owner.post(`/api/v1/incidents/${inc.id}/actions/accept`);
    const rows = await fb.app.database.db.selectFrom('domain_events').select(['type']).where('incident_id', '=', inc.id).orderBy('id').execute();
    expect(rows.map((r) => r.type)).toEqual([
      'incident.timeline_item_added',
      'incident.created',
      'incident.timeline_item_added',
      'incident.status_changed',
    ]);
  });
});
