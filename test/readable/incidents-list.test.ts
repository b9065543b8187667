import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyClient, backends, ownerClient, startTestFirebreak, userClient, type Client, type TestFirebreak } from '../helpers.js';

// The incidents list as a person searches, sorts and pages it, on each storage backend; and who leads an incident
// that was accepted without a lead.

describe.each(backends)('incidents list search, sort and paging on %s', (backend) => {
  let fb: TestFirebreak;
  let owner: Client;
  const refs: Record<string, string> = {};

  beforeAll(async () => {
    fb = await startTestFirebreak(backend);
    owner = await ownerClient(fb);
    const sevs = (await owner.get('/api/v1/severities')).body.severities as { id: string; name: string }[];
    const sev = (n: string) => sevs.find((s) => s.name === n)!.id;
    const make = async (name: string, summary: string, severity: string) => {
      const r = await owner.post('/api/v1/incidents', { name, summary, severity_id: sev(severity) });
      expect(r.status).toBe(201);
      refs[name] = r.body.incident.reference;
    };
    await make('Checkout errors', 'Card payments FAIL in EU', 'Minor');
    await make('Search is slow', 'p99 above 3 s', 'Critical');
    await make('Login outage', 'nobody can sign in; checkout unaffected', 'Low');
    await make('Ünïcode name 100% done_', 'percent and underscore', 'Major');
    await make('Billing delay', 'invoices late', 'Major');
  });
  afterAll(async () => fb?.destroy());

  const names = (r: { body: { incidents: { name: string }[] } }) => r.body.incidents.map((i) => i.name);

  it('finds incidents by words in the name, summary or reference, whatever their case', async () => {
    // Best match first (full-text search, test/incidents/search.test.ts): the name before the summary.
    expect(names(await owner.get('/api/v1/incidents?q=CHECKOUT'))).toEqual(['Checkout errors', 'Login outage']);
    expect(names(await owner.get('/api/v1/incidents?q=payments%20fail'))).toEqual(['Checkout errors']);
    expect(names(await owner.get(`/api/v1/incidents?q=${refs['Search is slow']!.toLowerCase()}`))).toEqual(['Search is slow']);
    // % and _ are never wildcards: words are letters and digits, punctuation alone matches nothing.
    expect(names(await owner.get('/api/v1/incidents?q=100%25'))).toEqual(['Ünïcode name 100% done_']);
    expect(names(await owner.get('/api/v1/incidents?q=%C3%BCn%C3%AFcode'))).toEqual(['Ünïcode name 100% done_']);
    expect(names(await owner.get('/api/v1/incidents?q=_'))).toEqual([]);
    expect(names(await owner.get('/api/v1/incidents?q=%25'))).toEqual([]);
    expect(names(await owner.get('/api/v1/incidents?q=c_eckout'))).toEqual([]);
    expect(names(await owner.get('/api/v1/incidents?q=nothing-like-this'))).toEqual([]);
    // Search combines with the other filters.
    const sevs = (await owner.get('/api/v1/severities')).body.severities as { id: string; name: string }[];
    expect(names(await owner.get(`/api/v1/incidents?q=checkout&severity_id=${sevs.find((s) => s.name === 'Low')!.id}`))).toEqual(['Login outage']);
  });

  it('sorts by creation, severity, status and last update, both ways', async () => {
    expect(names(await owner.get('/api/v1/incidents'))).toEqual(['Billing delay', 'Ünïcode name 100% done_', 'Login outage', 'Search is slow', 'Checkout errors']);
    expect(names(await owner.get('/api/v1/incidents?sort=created&order=asc'))).toEqual(['Checkout errors', 'Search is slow', 'Login outage', 'Ünïcode name 100% done_', 'Billing delay']);
    // Most severe first; equal severities newest first.
    expect(names(await owner.get('/api/v1/incidents?sort=severity'))).toEqual(['Search is slow', 'Billing delay', 'Ünïcode name 100% done_', 'Checkout errors', 'Login outage']);
    expect(names(await owner.get('/api/v1/incidents?sort=severity&order=asc'))).toEqual(['Login outage', 'Checkout errors', 'Ünïcode name 100% done_', 'Billing delay', 'Search is slow']);
    await owner.post(`/api/v1/incidents/${refs['Search is slow']}/actions/status`, { status_id: 'fixing' });
    expect(names(await owner.get('/api/v1/incidents?sort=status'))[0]).toBe('Search is slow');
    await owner.patch(`/api/v1/incidents/${refs['Checkout errors']}`, { summary: 'Card payments fail in the EU only' });
    expect(names(await owner.get('/api/v1/incidents?sort=updated'))[0]).toBe('Checkout errors');
    expect(names(await owner.get('/api/v1/incidents?sort=updated&order=asc')).at(-1)).toBe('Checkout errors');
  });

  it('pages through every sort with the cursor, never repeating or skipping an incident', async () => {
    for (const sort of ['created', 'updated', 'severity', 'status']) {
      for (const order of ['asc', 'desc']) {
        const all = names(await owner.get(`/api/v1/incidents?sort=${sort}&order=${order}`));
        const paged: string[] = [];
        let cursor: string | null = null;
        do {
          const r: any = await owner.get(`/api/v1/incidents?sort=${sort}&order=${order}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
          expect(r.status).toBe(200);
          expect(r.body.incidents.length).toBeLessThanOrEqual(2);
          paged.push(...names(r));
          cursor = r.body.next_cursor;
        } while (cursor);
        expect(paged, `${sort} ${order}`).toEqual(all);
      }
    }
  });

  it('refuses bad sorts and cursors with a clear 400', async () => {
    const badSort = await owner.get('/api/v1/incidents?sort=name');
    expect(badSort.status).toBe(400);
    expect(badSort.body.error.code).toBe('validation_failed');
    const first = await owner.get('/api/v1/incidents?sort=severity&limit=1');
    const mixed = await owner.get(`/api/v1/incidents?sort=updated&cursor=${encodeURIComponent(first.body.next_cursor)}`);
    expect(mixed.status).toBe(400);
    expect(mixed.body.error.details.fields[0].path).toBe('cursor');
    const junk = await owner.get('/api/v1/incidents?cursor=not-a-cursor');
    expect(junk.status).toBe(400);
    expect(junk.body.error.code).toBe('validation_failed');
  });

  it('makes whoever accepts an incident without a lead its lead, and keeps an existing lead', async () => {
    const { client: responder, user: me } = await userClient(fb, owner, 'responder');
    // Declared by an API key, as an alert would be: nobody leads it yet.
    const bot = apiKeyClient(fb.baseUrl, (await owner.post('/api/v1/api_keys', { name: 'bot', scopes: ['write'] })).body.token);
    const a = (await bot.post('/api/v1/incidents', { name: 'Triage me', triage: true })).body.incident;
    expect(a.lead).toBeNull();
    const accepted = await responder.post(`/api/v1/incidents/${a.id}/actions/accept`);
    expect(accepted.status).toBe(200);
    expect(accepted.body.incident.lead).toEqual({ id: me.id, name: 'A responder' });
    const tl = (await owner.get(`/api/v1/incidents/${a.id}/timeline`)).body.items as { kind: string; text: string }[];
    expect(tl.filter((i) => i.kind === 'lead_changed').map((i) => i.text)).toEqual(['Lead set to A responder']);

    const b = (await bot.post('/api/v1/incidents', { name: 'Already led', triage: true })).body.incident;
    await owner.post(`/api/v1/incidents/${b.id}/actions/lead`, { user_id: (await owner.get('/api/v1/session')).body.user.id });
    const kept = await responder.post(`/api/v1/incidents/${b.id}/actions/accept`);
    expect(kept.body.incident.lead.name).toBe('Owner');

    // An API key is not a person: accepting with one leaves the lead empty.
    const c = (await bot.post('/api/v1/incidents', { name: 'Accepted by a key', triage: true })).body.incident;
    const byKey = await bot.post(`/api/v1/incidents/${c.id}/actions/accept`);
    expect(byKey.status).toBe(200);
    expect(byKey.body.incident.lead).toBeNull();
  });
});
