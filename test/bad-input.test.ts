import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anonymousClient, ownerClient, startTestFirebreak, type Client, type TestFirebreak } from './helpers.js';

// Every kind of bad input gets a 4xx a person can act on, and none of it writes anything or crashes.

describe('bad input at the HTTP boundary', () => {
  let fb: TestFirebreak;
  let owner: Client;
  const count = async () => (await owner.get('/api/v1/incidents?limit=100')).body.incidents.length as number;

  beforeAll(async () => {
    fb = await startTestFirebreak('sqlite', { bodyLimitBytes: 64 * 1024 });
    owner = await ownerClient(fb);
  });
  afterAll(async () => fb?.destroy());

  it('malformed JSON → 400 invalid_json', async () => {
    const r = await owner.request('POST', '/api/v1/incidents', '{"name": "x",', { 'content-type': 'application/json' });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_json');
    expect(await count()).toBe(0);
  });

  it('wrong types and missing fields → 400 with a message per field', async () => {
    const r = await owner.post('/api/v1/incidents', { name: 42, triage: 'yes' });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    const paths = r.body.error.details.fields.map((f: any) => f.path).sort();
    expect(paths).toEqual(['name', 'triage']);
    const missing = await owner.post('/api/v1/incidents', {});
    expect(missing.body.error.details.fields.map((f: any) => f.path)).toEqual(['name']);
    expect(await count()).toBe(0);
  });

  it('unknown fields → 400 naming them', async () => {
    const r = await owner.post('/api/v1/incidents', { name: 'ok', sevrity: 'typo' });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body.error)).toContain('sevrity');
    expect(await count()).toBe(0);
  });

  it('over-long strings → 400', async () => {
    const r = await owner.post('/api/v1/incidents', { name: 'x'.repeat(251) });
    expect(r.status).toBe(400);
    expect(r.body.error.details.fields[0].path).toBe('name');
    expect(await count()).toBe(0);
  });

  it('bodies over the limit → 413', async () => {
    const r = await owner.post('/api/v1/incidents', { name: 'big', summary: 'y'.repeat(70 * 1024) });
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('body_too_large');
    expect(await count()).toBe(0);
  });

  it('unknown ids and references → 404; unknown routes → 404 JSON', async () => {
    const a = await owner.get('/api/v1/incidents/INC-999999');
    expect(a.status).toBe(404);
    expect(a.body.error.message).toContain('INC-999999');
    const b = await owner.post('/api/v1/incidents/nope/actions/close');
    expect(b.status).toBe(404);
    const c = await owner.get('/api/v1/nothing-here');
    expect(c.status).toBe(404);
    expect(c.body.error.code).toBe('not_found');
  });

  it('unknown severity or status ids → 400 listing the valid ones, changing nothing', async () => {
    const inc = (await owner.post('/api/v1/incidents', { name: 'Valid' })).body.incident;
    const r = await owner.post(`/api/v1/incidents/${inc.id}/actions/status`, { status_id: 'panicking' });
    expect(r.status).toBe(400);
    expect(r.body.error.details.fields[0].message).toContain('investigating');
    const s = await owner.post('/api/v1/incidents', { name: 'x', severity_id: 'sev-apocalyptic' });
    expect(s.status).toBe(400);
    expect(s.body.error.details.fields[0].message).toContain('sev-critical');
    const after = (await owner.get(`/api/v1/incidents/${inc.id}`)).body.incident;
    expect(after.status.name).toBe('Investigating');
    expect((await owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items).toHaveLength(1);
    expect(await count()).toBe(1);
  });

  it('wrong content type → 415; no credentials → 401; bad bearer → 401', async () => {
    const r = await owner.request('POST', '/api/v1/incidents', 'name=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(r.status).toBe(415);
    expect(r.body).toEqual({ error: { code: 'unsupported_media_type', message: expect.any(String), details: null } });
    const plain = await owner.request('POST', '/api/v1/incidents', '{"name":"x"}', { 'content-type': 'text/plain' });
    expect(plain.status).toBe(415);
    const anon = anonymousClient(fb.baseUrl);
    const none = await anon.get('/api/v1/incidents');
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String), details: null } });
    // credentials first: an invalid body without credentials is 401, not 400
    expect((await anon.post('/api/v1/incidents', { name: 42 })).status).toBe(401);
    const bad = await anon.request('GET', '/api/v1/incidents', undefined, { authorization: 'Bearer fbk_not-a-key' });
    expect(bad.status).toBe(401);
    const weird = await anon.request('GET', '/api/v1/incidents', undefined, { authorization: 'Basic abc' });
    expect(weird.status).toBe(401);
  });

  it('a used or forged sign-in link is refused', async () => {
    const used = await fetch(fb.initialLoginUrl!, { redirect: 'manual' });
    expect(used.status).toBe(400);
    const forged = await fetch(`${fb.baseUrl}/auth/login?token=forged`, { redirect: 'manual' });
    expect(forged.status).toBe(400);
  });

  it('the process is still healthy after all of it', async () => {
    const r = await fetch(`${fb.baseUrl}/readyz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: 'ready', database: 'ok', jobs: 'ok' });
  });
});
