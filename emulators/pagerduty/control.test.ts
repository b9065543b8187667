/** Starting, seeding, the /_emulator control API, rate limits, fault injection and the request log. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateSeed, startPagerDutyEmulator, type PagerDutyEmulator } from './index.js';
import { pdCall, startReceiver } from './test-helpers.js';

describe('starting and seeding', () => {
  it('starts in-process with the medium seed well under a second, on a free port, and stops', async () => {
    const t0 = performance.now();
    const pd = await startPagerDutyEmulator({ seed: 'medium' });
    const started = performance.now() - t0;
    try {
      expect(started).toBeLessThan(1000);
      expect(pd.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(pd.fullAccessKey).not.toBe(pd.readOnlyKey);
      expect(pd.state.users.size).toBe(200);
      expect(pd.state.teams.size).toBe(20);
      expect(pd.state.services.size).toBe(60);
      expect(pd.state.escalationPolicies.size).toBe(30);
      expect(pd.state.priorities.size).toBe(5);
      expect((await pdCall(pd, 'GET', '/users')).status).toBe(200);
    } finally { await pd.stop(); }
    await expect(fetch(`${pd.baseUrl}/users`)).rejects.toThrow();
  });

  it('generates the same account every time, with realistic and messy data', () => {
    const a = generateSeed('medium');
    const b = generateSeed('medium');
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(a.users.every((u) => /^P[A-Z0-9]{6}$/.test(u.id) && u.name.includes(' ') && u.time_zone.includes('/'))).toBe(true);
    expect(new Set(a.users.map((u) => u.email.trim().toLowerCase())).size).toBe(a.users.length);
    expect(a.users.some((u) => u.email !== u.email.trim())).toBe(true);
    expect(a.users.some((u) => u.email.trim() !== u.email.trim().toLowerCase())).toBe(true);
    expect(new Set(a.users.map((u) => u.role)).size).toBeGreaterThan(4);
    expect(a.services.every((s) => a.escalation_policies.some((p) => p.id === s.escalation_policy_id))).toBe(true);
    expect(a.services.some((s) => s.description.includes('incident-io-ignore'))).toBe(true);
    expect(a.tags.find((t) => t.label === 'incident-io-ignore')!.escalation_policies.length).toBeGreaterThan(0);
    expect(generateSeed('small').users).toHaveLength(12);
  });

  it('the huge seed has the documented size', () => {
    const h = generateSeed('huge');
    expect([h.users.length, h.teams.length, h.services.length, h.escalation_policies.length, h.priorities.length]).toEqual([20_000, 1_000, 5_000, 2_000, 5]);
  });

  it('loads an account from a seed file, and reset returns to it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pd-seed-'));
    const file = path.join(dir, 'account.json');
    const data = generateSeed('none');
    data.users.push({ id: 'PUSER01', name: 'Grace Hopper', email: 'grace@example.com', role: 'owner', job_title: 'Admiral', time_zone: 'America/New_York', description: null, color: 'navy' });
    data.escalation_policies.push({ id: 'PPOL001', name: 'Navy', description: '', num_loops: 0, team_ids: [], escalation_rules: [{ id: 'PRULE01', escalation_delay_in_minutes: 10, targets: [{ type: 'user', id: 'PUSER01' }] }] });
    data.services.push({ id: 'PSVC001', name: 'compiler', description: '', status: 'active', escalation_policy_id: 'PPOL001', team_ids: [], created_at: '2024-01-01T00:00:00Z', updated_at: '2024-01-01T00:00:00Z', auto_resolve_timeout: null, acknowledgement_timeout: null });
    await writeFile(file, JSON.stringify(data));
    const pd = await startPagerDutyEmulator({ seedFile: file });
    try {
      const r = await pdCall(pd, 'POST', '/incidents', { from: 'GRACE@example.com', body: { incident: { type: 'incident', title: 'Moth in relay', service: { id: 'PSVC001', type: 'service_reference' } } } });
      expect(r.json.incident.assignments[0].assignee.id).toBe('PUSER01');
      pd.admin.addUser({ name: 'Extra', email: 'extra@example.com' });
      await pd.reset();
      expect(pd.state.users.size).toBe(1);
      expect(pd.state.incidents.size).toBe(0);
      // over HTTP too
      await pd.reset('small');
      const load = await fetch(`${pd.baseUrl}/_emulator/seed`, { method: 'POST', body: JSON.stringify({ file }) });
      expect(load.status).toBe(200);
      expect([...pd.state.users.keys()]).toEqual(['PUSER01']);
      expect((await fetch(`${pd.baseUrl}/_emulator/seed`, { method: 'POST', body: JSON.stringify({ file: path.join(dir, 'missing.json') }) })).status).toBe(400);
    } finally { await pd.stop(); }
  });
});

describe('control API and account changes', () => {
  let pd: PagerDutyEmulator;
  const ctl = async (method: string, p: string, body?: unknown) => {
    const r = await fetch(`${pd.baseUrl}/_emulator${p}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : undefined };
  };
  beforeAll(async () => { pd = await startPagerDutyEmulator({ seed: 'small', rateLimitPerMinute: false }); });
  afterAll(async () => { await pd.stop(); });
  beforeEach(async () => { await pd.reset(); });

  it('reports keys and counts, and reseeds by size', async () => {
    const keys = await ctl('GET', '/keys');
    expect(keys.json).toEqual({ base_url: pd.baseUrl, full_access_key: pd.fullAccessKey, read_only_key: pd.readOnlyKey });
    expect((await ctl('GET', '/state')).json.counts.users).toBe(12);
    expect((await ctl('POST', '/seed', { size: 'medium' })).status).toBe(200);
    expect((await ctl('GET', '/state')).json.counts.users).toBe(200);
    expect((await ctl('POST', '/seed', { size: 'gigantic' })).status).toBe(400);
    expect((await ctl('POST', '/reset', { seed: 'small' })).status).toBe(200);
    expect(pd.state.users.size).toBe(12);
  });

  it('adds, renames and deletes users, services, policies and tags, as a sync would then see them', async () => {
    const team = [...pd.state.teams.values()][0]!;
    const u = await ctl('POST', '/users', { name: 'New Hire', email: 'New.Hire@Example.com ', team_ids: [team.id], job_title: 'SRE' });
    expect(u.status).toBe(201);
    const id = u.json.user.id;
    expect((await pdCall(pd, 'GET', '/users', { query: { query: 'new hire' } })).json.users.map((x: { id: string }) => x.id)).toEqual([id]);
    expect((await ctl('PATCH', `/users/${id}`, { name: 'Renamed Hire' })).json.user.name).toBe('Renamed Hire');
    expect((await pdCall(pd, 'GET', `/users/${id}`)).json.user.name).toBe('Renamed Hire');
    expect((await ctl('POST', '/users', { name: 'Dup', email: 'new.hire@example.com' })).status).toBe(400);
    // unfiltered list pages (served from the emulator's page cache) see the change too
    const listed = async () => (await Promise.all([0, 100].map((offset) => pdCall(pd, 'GET', '/users', { query: { limit: 100, offset } }))))
      .flatMap((r) => r.json.users as { id: string; name: string }[]);
    expect((await listed()).find((x) => x.id === id)?.name).toBe('Renamed Hire');
    expect((await ctl('DELETE', `/users/${id}`)).status).toBe(204);
    expect((await listed()).some((x) => x.id === id)).toBe(false);
    expect((await pdCall(pd, 'GET', `/users/${id}`)).status).toBe(404);

    const pol = await ctl('POST', '/escalation_policies', { name: 'Night shift', escalation_rules: [{ targets: [{ type: 'user', id: [...pd.state.users.keys()][0] }] }] });
    expect(pol.status).toBe(201);
    const svc = await ctl('POST', '/services', { name: 'night-batch', escalation_policy_id: pol.json.escalation_policy.id, description: 'batch (incident-io-ignore)' });
    expect((await pdCall(pd, 'GET', `/services/${svc.json.service.id}`)).json.service.escalation_policy.id).toBe(pol.json.escalation_policy.id);
    expect((await ctl('DELETE', `/escalation_policies/${pol.json.escalation_policy.id}`)).status).toBe(400);
    expect((await ctl('DELETE', `/services/${svc.json.service.id}`)).status).toBe(204);
    expect((await ctl('DELETE', `/escalation_policies/${pol.json.escalation_policy.id}`)).status).toBe(204);

    const tag = await ctl('POST', '/tags', { label: 'payments' });
    const policyId = [...pd.state.escalationPolicies.keys()][0]!;
    expect((await ctl('POST', `/tags/${tag.json.tag.id}/assign`, { entity_type: 'escalation_policies', entity_id: policyId })).status).toBe(204);
    expect((await pdCall(pd, 'GET', `/escalation_policies/${policyId}/tags`)).json.tags.map((t: { label: string }) => t.label)).toContain('payments');
    await ctl('PATCH', `/tags/${tag.json.tag.id}`, { label: 'payments-v2' });
    expect((await pdCall(pd, 'GET', `/tags/${tag.json.tag.id}`)).json.tag.label).toBe('payments-v2');
    expect((await ctl('DELETE', '/tags/PNOSUCH')).status).toBe(404);
  });

  it('acts as a PagerDuty user over HTTP, and rejects unknown actions and users', async () => {
    const from = [...pd.state.users.values()].find((x) => x.email === x.email.trim())!.email;
    const svc = [...pd.state.services.values()][0]!;
    const inc = await pdCall(pd, 'POST', '/incidents', { from, body: { incident: { type: 'incident', title: 't', service: { id: svc.id, type: 'service_reference' } } } });
    const actor = [...pd.state.users.values()][2]!;
    const r = await ctl('POST', '/act_as', { user: actor.id, action: 'acknowledge', incident_id: inc.json.incident.id });
    expect(r.json.incident.acknowledgements[0].acknowledger.id).toBe(actor.id);
    expect((await ctl('POST', '/act_as', { user: actor.id, action: 'add_note', incident_id: inc.json.incident.id, content: 'on it' })).json.note.content).toBe('on it');
    expect((await ctl('POST', '/act_as', { user: actor.id, action: 'acknowledge', incident_id: inc.json.incident.id })).json.error.code).toBe(1002);
    expect((await ctl('POST', '/act_as', { user: actor.id, action: 'dance', incident_id: inc.json.incident.id })).status).toBe(400);
    expect((await ctl('POST', '/act_as', { user: 'ghost@example.com', action: 'resolve', incident_id: inc.json.incident.id })).status).toBe(400);
    expect((await ctl('POST', '/act_as', { user: actor.email, action: 'resolve', incident_id: inc.json.incident.id })).json.incident.status).toBe('resolved');
    expect((await ctl('GET', '/nope')).status).toBe(404);
    const junk = await fetch(`${pd.baseUrl}/_emulator/users`, { method: 'POST', body: '{oops' });
    expect(junk.status).toBe(400);
  });

  it('records requests with method, path, query, headers incl. From, body and status', async () => {
    pd.clearRequestLog();
    const from = [...pd.state.users.values()][0]!.email;
    await pdCall(pd, 'GET', '/users', { query: { limit: 5, 'team_ids[]': ['A', 'B'] } });
    await pdCall(pd, 'POST', '/incidents', { from, body: { incident: { type: 'incident', title: 'x' } } });
    const log = pd.requestLog();
    expect(log).toHaveLength(2);
    expect(log[0]).toMatchObject({ method: 'GET', path: '/users', query: { limit: '5', 'team_ids[]': ['A', 'B'] }, status: 200 });
    expect(log[1]).toMatchObject({ method: 'POST', path: '/incidents', from, body: { incident: { title: 'x' } }, status: 400 });
    expect(log[1]!.headers.authorization).toBe(`Token token=${pd.fullAccessKey}`);
    expect((await ctl('GET', '/requests?method=post')).json.requests).toHaveLength(1);
    expect((await ctl('DELETE', '/requests')).status).toBe(204);
    expect(pd.requestLog()).toHaveLength(0);
  });
});

describe('rate limits', () => {
  it('counts per key, sends ratelimit headers, and answers 429 with PagerDuty\'s body', async () => {
    const pd = await startPagerDutyEmulator({ seed: 'small', rateLimitPerMinute: 5 });
    try {
      const rs = [];
      for (let i = 0; i < 6; i++) rs.push(await pdCall(pd, 'GET', '/priorities'));
      expect(rs.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429]);
      expect(rs[0]!.headers.get('ratelimit-limit')).toBe('5');
      expect(rs[0]!.headers.get('ratelimit-remaining')).toBe('4');
      expect(Number(rs[5]!.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
      expect(Number(rs[5]!.headers.get('ratelimit-reset'))).toBeLessThanOrEqual(60);
      expect(rs[5]!.json).toEqual({ error: { message: 'Rate Limit Exceeded', code: 2020 } });
      // the read-only key has its own budget
      expect((await pdCall(pd, 'GET', '/priorities', { key: pd.readOnlyKey })).status).toBe(200);
    } finally { await pd.stop(); }
  });

  it('can be turned off', async () => {
    const pd = await startPagerDutyEmulator({ seed: 'none', rateLimitPerMinute: false });
    try {
      const rs = await Promise.all(Array.from({ length: 300 }, () => pdCall(pd, 'GET', '/priorities')));
      expect(rs.every((r) => r.status === 200 && r.headers.get('ratelimit-limit') === null)).toBe(true);
    } finally { await pd.stop(); }
  });
});

describe('fault injection', () => {
  let pd: PagerDutyEmulator;
  beforeAll(async () => { pd = await startPagerDutyEmulator({ seed: 'small', rateLimitPerMinute: false }); });
  afterAll(async () => { await pd.stop(); });
  beforeEach(() => pd.faults.clear());

  it('adds latency', async () => {
    pd.faults.set({ latencyMs: 150 });
    const t = performance.now();
    await pdCall(pd, 'GET', '/priorities');
    expect(performance.now() - t).toBeGreaterThanOrEqual(140);
  });

  it('answers a share of requests with 500', async () => {
    pd.faults.set({ errorRate5xx: 0.5 });
    const rs = await Promise.all(Array.from({ length: 200 }, () => pdCall(pd, 'GET', '/priorities')));
    const fails = rs.filter((r) => r.status === 500).length;
    expect(fails).toBeGreaterThan(60);
    expect(fails).toBeLessThan(140);
    expect(rs.find((r) => r.status === 500)!.json.error.message).toBe('Internal Server Error');
  });

  it('sends a burst of 429s to the next N requests, then recovers', async () => {
    pd.faults.set({ rateLimitBurst: 2 });
    const rs = [];
    for (let i = 0; i < 3; i++) rs.push(await pdCall(pd, 'GET', '/priorities'));
    expect(rs.map((r) => r.status)).toEqual([429, 429, 200]);
    expect(rs[0]!.json.error.code).toBe(2020);
    expect(rs[0]!.headers.get('ratelimit-reset')).toBe('1');
    pd.faults.set({ rateLimitBurst: 1, rateLimitBurstHeaders: false });
    const bare = await pdCall(pd, 'GET', '/priorities');
    expect(bare.status).toBe(429);
    expect(bare.headers.get('ratelimit-reset')).toBeNull();
  });

  it('drops connections', async () => {
    pd.faults.set({ dropConnectionRate: 1 });
    await expect(pdCall(pd, 'GET', '/priorities')).rejects.toThrow();
    pd.faults.clear();
    expect((await pdCall(pd, 'GET', '/priorities')).status).toBe(200);
  });

  it('is settable over HTTP, validated, and does not touch the control API', async () => {
    const put = await fetch(`${pd.baseUrl}/_emulator/faults`, { method: 'PUT', body: JSON.stringify({ errorRate5xx: 1 }) });
    expect(put.status).toBe(200);
    expect((await pdCall(pd, 'GET', '/priorities')).status).toBe(500);
    expect((await fetch(`${pd.baseUrl}/_emulator/state`)).status).toBe(200);
    expect((await fetch(`${pd.baseUrl}/_emulator/faults`, { method: 'PUT', body: JSON.stringify({ errorRate5xx: 7 }) })).status).toBe(400);
    expect((await fetch(`${pd.baseUrl}/_emulator/faults`, { method: 'DELETE' })).status).toBe(204);
    expect((await pdCall(pd, 'GET', '/priorities')).status).toBe(200);
  });

  it('webhook deliveries that keep failing end as failed after the configured retries', async () => {
    const pd2 = await startPagerDutyEmulator({ seed: 'small', webhookRetryDelaysMs: [10, 10] });
    const receiver = await startReceiver(() => 503);
    try {
      await pdCall(pd2, 'POST', '/webhook_subscriptions', { body: { webhook_subscription: { type: 'webhook_subscription', delivery_method: { type: 'http_delivery_method', url: receiver.url }, events: ['incident.triggered'], filter: { type: 'account_reference' } } } });
      const from = [...pd2.state.users.values()].find((x) => x.email === x.email.trim())!.email;
      await pdCall(pd2, 'POST', '/incidents', { from, body: { incident: { type: 'incident', title: 't', service: { id: [...pd2.state.services.keys()][0], type: 'service_reference' } } } });
      await pd2.webhooks.flush();
      expect(receiver.received).toHaveLength(3);
      expect(pd2.webhooks.deliveries()[0]!.status).toBe('failed');
    } finally { await receiver.close(); await pd2.stop(); }
  });
});

describe('standalone command', () => {
  it('starts from the CLI, prints the base URL and both keys, serves PagerDuty calls, and stops on SIGTERM', async () => {
    const { spawn } = await import('node:child_process');
    const cli = path.join(path.dirname(new URL(import.meta.url).pathname), 'cli.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', cli, '--port', '0', '--seed', 'small', '--rate-limit', '100', '--read-only-key', 'ro-fixed'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (c: Buffer) => { out += c.toString(); if (out.includes('Ctrl+C')) resolve(); });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      const base = /Base URL\s+(\S+)/.exec(out)![1]!;
      const full = /Full-access key\s+(\S+)/.exec(out)![1]!;
      const ro = /Read-only key\s+(\S+)/.exec(out)![1]!;
      expect(out).toMatch(/12 users, 3 teams, 6 services, 4 escalation policies, 2 schedules, 5 priorities/);
      expect(ro).toBe('ro-fixed');
      expect(full).not.toBe('ro-fixed');
      const users = await fetch(`${base}/users`, { headers: { authorization: `Token token=${full}` } });
      expect(users.status).toBe(200);
      expect(users.headers.get('ratelimit-limit')).toBe('100');
      const write = await fetch(`${base}/webhook_subscriptions/PX/enable`, { method: 'POST', headers: { authorization: `Token token=${ro}` } });
      expect(write.status).toBe(403);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('explains bad arguments instead of starting', async () => {
    const { spawnSync } = await import('node:child_process');
    const cli = path.join(path.dirname(new URL(import.meta.url).pathname), 'cli.ts');
    const r = spawnSync(process.execPath, ['--import', 'tsx', cli, '--seed', 'enormous'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--seed must be small, medium, large, huge or none/);
  });
});

describe('change events: integrations, routing keys and the per-path latency fault', () => {
  let pd: PagerDutyEmulator;
  beforeAll(async () => { pd = await startPagerDutyEmulator({ seed: 'small', rateLimitPerMinute: false }); });
  afterAll(async () => pd?.stop());

  const enqueue = (routingKey: string, summary: string) => fetch(`${pd.baseUrl}/v2/change/enqueue`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ routing_key: routingKey, payload: { summary } }),
  });

  it('every service has a stable Events API v2 routing key; another can be added; events land on its service', async () => {
    const [svc, other] = [...pd.state.services.values()];
    const key = svc!.integrations![0]!.integration_key;
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    await pd.reset();
    expect(pd.state.services.get(svc!.id)!.integrations![0]!.integration_key).toBe(key);
    const added = await fetch(`${pd.baseUrl}/_emulator/services/${other!.id}/integrations`, { method: 'POST', body: JSON.stringify({ name: 'Deploys', integration_key: 'a'.repeat(32) }) });
    expect(added.status).toBe(201);
    const listed = (await (await fetch(`${pd.baseUrl}/_emulator/services/${other!.id}/integrations`)).json()) as { integrations: { name: string }[] };
    expect(listed.integrations.map((x) => x.name)).toEqual(['Events API V2', 'Deploys']);
    expect((await enqueue('a'.repeat(32), 'Deploy through the added key')).status).toBe(202);
    expect((await enqueue(key, 'Deploy through the first key')).status).toBe(202);
    expect(pd.state.changeEvents.map((c) => [c.summary, c.service_id])).toEqual([['Deploy through the added key', other!.id], ['Deploy through the first key', svc!.id]]);
    expect(pd.requestLog()).toEqual([]);
    await pd.reset();
    expect(pd.state.changeEvents).toEqual([]);
  });

  it('pathLatencyMs slows only the matching paths and refuses bad values', async () => {
    const [svc] = [...pd.state.services.values()];
    pd.faults.set({ pathLatencyMs: { '/services/{id}/change_events': 400 } });
    try {
      // Only the matching path waits (a lower bound, which load cannot break); a request that waited would still
      // be pending when the other answers, so the other's answer arrives first.
      const order: string[] = [];
      const t1 = performance.now();
      const slow = pdCall(pd, 'GET', `/services/${svc!.id}/change_events`).then((r) => { order.push('change_events'); return r; });
      const other = pdCall(pd, 'GET', '/users').then((r) => { order.push('users'); return r; });
      expect((await slow).status).toBe(200);
      expect(performance.now() - t1).toBeGreaterThanOrEqual(390);
      expect((await other).status).toBe(200);
      expect(order).toEqual(['users', 'change_events']);
    } finally { pd.faults.clear(); }
    for (const bad of [{ pathLatencyMs: { '/x': -1 } }, { pathLatencyMs: { 'no-slash': 5 } }, { pathLatencyMs: 5 }]) {
      const r = await fetch(`${pd.baseUrl}/_emulator/faults`, { method: 'PUT', body: JSON.stringify(bad) });
      expect(r.status, JSON.stringify(bad)).toBe(400);
    }
  });
});
