/** PagerDuty's rules as a Firebreak client meets them: keys, From, pagination, errors, the incident lifecycle. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PdError, startPagerDutyEmulator, type PagerDutyEmulator } from './index.js';
import { pdCall } from './test-helpers.js';

let pd: PagerDutyEmulator;
let from: string;
beforeAll(async () => { pd = await startPagerDutyEmulator({ seed: 'medium', rateLimitPerMinute: false }); });
afterAll(async () => { await pd.stop(); });
beforeEach(async () => {
  await pd.reset();
  from = [...pd.state.users.values()].find((u) => u.email === u.email.trim() && u.email === u.email.toLowerCase())!.email;
});

const firstService = () => [...pd.state.services.values()][0]!;
const trigger = async (extra: Record<string, unknown> = {}, service = firstService()) => {
  const r = await pdCall(pd, 'POST', '/incidents', { from, body: { incident: { type: 'incident', title: 'Database on fire', service: { id: service.id, type: 'service_reference' }, ...extra } } });
  return r;
};

describe('authentication and key scopes', () => {
  it('rejects a missing, malformed or unknown key with 401 and PagerDuty\'s envelope', async () => {
    for (const headers of [{}, { authorization: `Bearer ${pd.fullAccessKey}` }, { authorization: 'Token token=nope' }] as Record<string, string>[]) {
      const r = await pdCall(pd, 'GET', '/users', { key: null, headers });
      expect(r.status).toBe(401);
      expect(r.json).toEqual({ error: { message: 'Authentication failed', code: 2006 } });
    }
  });

  it('a read-only key reads, but every write answers 403 before any lookup and changes nothing', async () => {
    expect((await pdCall(pd, 'GET', '/services', { key: pd.readOnlyKey })).status).toBe(200);
    const before = pd.state.incidents.size;
    const writes = [
      await pdCall(pd, 'POST', '/incidents', { key: pd.readOnlyKey, from, body: { incident: { type: 'incident', title: 'x', service: { id: firstService().id, type: 'service_reference' } } } }),
      await pdCall(pd, 'PUT', '/incidents/PDOESNOTEXIST', { key: pd.readOnlyKey, from, body: { incident: { type: 'incident_reference', status: 'resolved' } } }),
      await pdCall(pd, 'DELETE', '/webhook_subscriptions/PNOPE', { key: pd.readOnlyKey }),
    ];
    expect(writes.map((w) => w.status)).toEqual([403, 403, 403]);
    expect(writes[1]!.json.error.code).toBe(2010);
    expect(pd.state.incidents.size).toBe(before);
    // The same write with a full-access key finds nothing: 404.
    expect((await pdCall(pd, 'PUT', '/incidents/PDOESNOTEXIST', { from, body: { incident: { type: 'incident_reference', status: 'resolved' } } })).status).toBe(404);
  });

  it('GET /users/me with an account key answers 400 with a plain-string error', async () => {
    const r = await pdCall(pd, 'GET', '/users/me');
    expect(r.status).toBe(400);
    expect(typeof r.json.error).toBe('string');
    expect(r.json.error).toMatch(/account-level access token/);
  });
});

describe('the From header', () => {
  it('is required on writes that need a requester, and must name a user in the account', async () => {
    const body = { incident: { type: 'incident', title: 'x', service: { id: firstService().id, type: 'service_reference' } } };
    const missing = await pdCall(pd, 'POST', '/incidents', { body });
    expect(missing.status).toBe(400);
    expect(missing.json.error.message).toBe('You must specify a user\'s email address in the "From" header to perform this action');
    const malformed = await pdCall(pd, 'POST', '/incidents', { body, from: 'not-an-email' });
    expect(malformed.status).toBe(400);
    expect(malformed.json.error.code).toBe(1028);
    const unknown = await pdCall(pd, 'POST', '/incidents', { body, from: 'nobody@nowhere.example' });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.message).toBe('Requester User Not Found');
    expect(pd.state.incidents.size).toBe(0);
  });

  it('matches emails case-insensitively and ignoring stray spaces, and becomes the agent of log entries', async () => {
    const messy = [...pd.state.users.values()].find((u) => u.email !== u.email.trim())!;
    expect(messy).toBeDefined();
    const r = await pdCall(pd, 'POST', '/incidents', { from: messy.email.trim().toUpperCase(), body: { incident: { type: 'incident', title: 'x', service: { id: firstService().id, type: 'service_reference' } } } });
    expect(r.status).toBe(201);
    const logs = await pdCall(pd, 'GET', `/incidents/${r.json.incident.id}/log_entries`);
    const trig = logs.json.log_entries.find((l: { type: string }) => l.type === 'trigger_log_entry');
    expect(trig.agent).toMatchObject({ id: messy.id, type: 'user_reference' });
  });
});

describe('classic pagination', () => {
  it('defaults to 25, caps at 100, reports more, and total only when asked', async () => {
    const d = await pdCall(pd, 'GET', '/users');
    expect(d.json).toMatchObject({ limit: 25, offset: 0, more: true, total: null });
    expect(d.json.users).toHaveLength(25);
    const big = await pdCall(pd, 'GET', '/users', { query: { limit: 500, total: true } });
    expect(big.json.limit).toBe(100);
    expect(big.json.users).toHaveLength(100);
    expect(big.json.total).toBe(200);
    const last = await pdCall(pd, 'GET', '/users', { query: { limit: 100, offset: 100 } });
    expect(last.json.more).toBe(false);
    const ids = new Set([...big.json.users, ...last.json.users].map((u: { id: string }) => u.id));
    expect(ids.size).toBe(200);
  });

  it('rejects offset + limit beyond 10000 and non-numeric values with 400', async () => {
    const r = await pdCall(pd, 'GET', '/users', { query: { offset: 9950, limit: 100 } });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ code: 2001, message: 'Invalid Input Provided' });
    expect((await pdCall(pd, 'GET', '/users', { query: { offset: 9900, limit: 100 } })).status).toBe(200);
    expect((await pdCall(pd, 'GET', '/users', { query: { limit: 'ten' } })).status).toBe(400);
  });
});

describe('catalog reads', () => {
  it('filters users by query and team, and side-loads teams', async () => {
    const team = [...pd.state.teams.values()].find((t) => t.members.length > 2)!;
    const r = await pdCall(pd, 'GET', '/users', { query: { 'team_ids[]': [team.id], limit: 100, 'include[]': ['teams'] } });
    expect(r.json.users.map((u: { id: string }) => u.id).sort()).toEqual(team.members.map((m) => m.user_id).sort());
    expect(r.json.users[0].teams.some((t: { id: string; type: string; name: string }) => t.id === team.id && t.type === 'team' && t.name === team.name)).toBe(true);
    const someone = [...pd.state.users.values()][5]!;
    const q = await pdCall(pd, 'GET', '/users', { query: { query: someone.name.toUpperCase() } });
    expect(q.json.users.map((u: { id: string }) => u.id)).toContain(someone.id);
  });

  it('lists team members with their role', async () => {
    const team = [...pd.state.teams.values()].find((t) => t.members.length > 0)!;
    const r = await pdCall(pd, 'GET', `/teams/${team.id}/members`, { query: { limit: 100 } });
    expect(r.json.members).toEqual(team.members.map((m) => expect.objectContaining({ role: m.role, user: expect.objectContaining({ id: m.user_id, type: 'user_reference' }) })));
  });

  it('services point at their escalation policy and side-load it and teams; some carry incident-io-ignore', async () => {
    const r = await pdCall(pd, 'GET', '/services', { query: { limit: 100, 'include[]': ['escalation_policies', 'teams'] } });
    expect(r.json.services).toHaveLength(60);
    for (const s of r.json.services) {
      const rec = pd.state.services.get(s.id)!;
      expect(s.escalation_policy.id).toBe(rec.escalation_policy_id);
      expect(s.escalation_policy.type).toBe('escalation_policy');
      expect(Array.isArray(s.escalation_policy.escalation_rules)).toBe(true);
    }
    expect(r.json.services.some((s: { description: string }) => s.description.includes('incident-io-ignore'))).toBe(true);
    const names = r.json.services.map((s: { name: string }) => s.name);
    expect(names).toEqual([...names].sort((a: string, b: string) => a.localeCompare(b, 'en', { sensitivity: 'base' })));
  });

  it('finds every policy tagged incident-io-ignore in two requests via the tag reverse lookup', async () => {
    const tags = await pdCall(pd, 'GET', '/tags', { query: { query: 'incident-io-ignore' } });
    expect(tags.json.tags).toHaveLength(1);
    const tagged = await pdCall(pd, 'GET', `/tags/${tags.json.tags[0].id}/escalation_policies`, { query: { limit: 100 } });
    const expected = [...pd.state.tags.values()].find((t) => t.label === 'incident-io-ignore')!.escalation_policies;
    expect(expected.length).toBeGreaterThan(0);
    expect(tagged.json.escalation_policies.map((p: { id: string }) => p.id)).toEqual(expected);
    const back = await pdCall(pd, 'GET', `/escalation_policies/${expected[0]}/tags`);
    expect(back.json.tags.map((t: { label: string }) => t.label)).toContain('incident-io-ignore');
  });

  it('filters escalation policies by user and team', async () => {
    const p = [...pd.state.escalationPolicies.values()].find((x) => x.escalation_rules[0]!.targets[0]!.type === 'user' && x.team_ids.length > 0)!;
    const user = p.escalation_rules[0]!.targets[0]!.id;
    const r = await pdCall(pd, 'GET', '/escalation_policies', { query: { 'user_ids[]': [user], limit: 100 } });
    expect(r.json.escalation_policies.map((x: { id: string }) => x.id)).toContain(p.id);
    const t = await pdCall(pd, 'GET', '/escalation_policies', { query: { 'team_ids[]': p.team_ids, limit: 100 } });
    for (const x of t.json.escalation_policies) expect(x.teams.map((y: { id: string }) => y.id)).toContain(p.team_ids[0]);
  });

  it('answers 404 with PagerDuty\'s envelope for unknown ids and paths', async () => {
    for (const p of ['/users/PNOSUCH', '/teams/PNOSUCH', '/services/PNOSUCH', '/escalation_policies/PNOSUCH', '/incidents/PNOSUCH', '/nothing/here/at/all']) {
      const r = await pdCall(pd, 'GET', p);
      expect(r.status, p).toBe(404);
      expect(r.json).toEqual({ error: { message: 'Not Found', code: 2100 } });
    }
  });
});

describe('POST /incidents rules', () => {
  it('requires a service, rejects escalation_policy with assignments, more than one assignee and unknown references', async () => {
    const users = [...pd.state.users.values()];
    const svc = { id: firstService().id, type: 'service_reference' };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ type: 'incident', title: 'x' }, /Service/],
      [{ type: 'incident', title: 'x', service: svc, escalation_policy: { id: firstService().escalation_policy_id, type: 'escalation_policy_reference' }, assignments: [{ assignee: { id: users[0]!.id, type: 'user_reference' } }] }, /not both/],
      [{ type: 'incident', title: 'x', service: svc, assignments: [{ assignee: { id: users[0]!.id, type: 'user_reference' } }, { assignee: { id: users[1]!.id, type: 'user_reference' } }] }, /one assignee/],
      [{ type: 'incident', title: 'x', service: { id: 'PNOSUCH', type: 'service_reference' } }, /Service not found/],
      [{ type: 'incident', title: 42, service: svc }, /Title/],
      [{ type: 'incidentx', title: 'x', service: svc }, /type/],
      [{ type: 'incident', title: 'x', service: svc, urgency: 'extreme' }, /Urgency/],
    ];
    for (const [incident, msg] of cases) {
      const r = await pdCall(pd, 'POST', '/incidents', { from, body: { incident } });
      expect(r.status, JSON.stringify(incident)).toBe(400);
      expect(r.json.error.code).toBe(2001);
      expect(r.json.error.errors.join(' ')).toMatch(msg);
    }
    expect(pd.state.incidents.size).toBe(0);
  });

  it('refuses a second open incident with the same incident_key on the service, but allows it once resolved', async () => {
    const a = await trigger({ incident_key: 'db-1' });
    expect(a.status).toBe(201);
    const dup = await trigger({ incident_key: 'db-1' });
    expect(dup.status).toBe(400);
    await pdCall(pd, 'PUT', `/incidents/${a.json.incident.id}`, { from, body: { incident: { type: 'incident_reference', status: 'resolved' } } });
    expect((await trigger({ incident_key: 'db-1' })).status).toBe(201);
  });

  it('assigns the first level of the escalation policy (users directly, schedules through the on-call user) and logs trigger, assign, notify', async () => {
    const withSchedule = [...pd.state.services.values()].find((s) => pd.state.escalationPolicies.get(s.escalation_policy_id)!.escalation_rules[0]!.targets.some((t) => t.type === 'schedule'))!;
    const r = await trigger({}, withSchedule);
    expect(r.status).toBe(201);
    const inc = r.json.incident;
    const rule = pd.state.escalationPolicies.get(withSchedule.escalation_policy_id)!.escalation_rules[0]!;
    const schedule = pd.state.schedules.get(rule.targets.find((t) => t.type === 'schedule')!.id)!;
    const onCall = pd.onCall(schedule.id);
    expect(onCall).toBeDefined();
    expect(inc.assignments.map((a: { assignee: { id: string } }) => a.assignee.id)).toContain(onCall);
    expect(inc).toMatchObject({ status: 'triggered', urgency: 'high', assigned_via: 'escalation_policy', escalation_policy: { id: withSchedule.escalation_policy_id } });
    const logs = await pdCall(pd, 'GET', `/incidents/${inc.id}/log_entries`);
    const types = logs.json.log_entries.map((l: { type: string }) => l.type).reverse();
    expect(types.slice(0, 2)).toEqual(['trigger_log_entry', 'assign_log_entry']);
    expect(types.filter((t: string) => t === 'notify_log_entry')).toHaveLength(inc.assignments.length);
    const notify = logs.json.log_entries.find((l: { type: string }) => l.type === 'notify_log_entry');
    expect(notify.user.id).toBe(inc.assignments[0].assignee.id);
    const overview = await pdCall(pd, 'GET', `/incidents/${inc.id}/log_entries`, { query: { is_overview: true } });
    expect(overview.json.log_entries.some((l: { type: string }) => l.type === 'notify_log_entry')).toBe(false);
  });

  it('a new incident shows on its service as last_incident_timestamp in list pages', async () => {
    const before = (await pdCall(pd, 'GET', '/services', { query: { limit: 100 } })).json.services.find((s: { id: string }) => s.id === firstService().id);
    expect(before.last_incident_timestamp).toBeNull();
    const inc = (await trigger()).json.incident;
    const after = (await pdCall(pd, 'GET', '/services', { query: { limit: 100 } })).json.services.find((s: { id: string }) => s.id === firstService().id);
    expect(after.last_incident_timestamp).toBe(inc.created_at);
  });

  it('GET /incidents side-loads assignees, services and priorities on request', async () => {
    const p1 = [...pd.state.priorities.values()][0]!;
    await trigger({ priority: { id: p1.id, type: 'priority_reference' } });
    const plain = (await pdCall(pd, 'GET', '/incidents')).json.incidents[0];
    expect(plain.assignments[0].assignee.type).toBe('user_reference');
    const r = (await pdCall(pd, 'GET', '/incidents', { query: { 'include[]': ['assignees', 'services', 'priorities'] } })).json.incidents[0];
    const assignee = pd.state.users.get(r.assignments[0].assignee.id)!;
    expect(r.assignments[0].assignee).toMatchObject({ type: 'user', email: assignee.email });
    expect(r.service).toMatchObject({ type: 'service', name: firstService().name });
    expect(r.priority).toMatchObject({ type: 'priority', name: 'P1', description: p1.description });
  });

  it('a direct assignment goes to that one user', async () => {
    const user = [...pd.state.users.values()][7]!;
    const r = await trigger({ assignments: [{ assignee: { id: user.id, type: 'user_reference' } }] });
    expect(r.json.incident.assignments.map((a: { assignee: { id: string } }) => a.assignee.id)).toEqual([user.id]);
    expect(r.json.incident.assigned_via).toBe('direct_assignment');
  });
});

describe('incident lifecycle', () => {
  const put = (id: string, incident: Record<string, unknown>) => pdCall(pd, 'PUT', `/incidents/${id}`, { from, body: { incident: { type: 'incident_reference', ...incident } } });

  it('goes triggered -> acknowledged -> resolved, with PagerDuty\'s errors for going back', async () => {
    const id = (await trigger()).json.incident.id;
    const ack = await put(id, { status: 'acknowledged' });
    expect(ack.json.incident.status).toBe('acknowledged');
    expect(ack.json.incident.acknowledgements[0].acknowledger.id).toBe(pd.state.incidents.get(id)!.acknowledgements[0]!.user_id);
    const again = await put(id, { status: 'acknowledged' });
    expect(again.status).toBe(400);
    expect(again.json.error).toMatchObject({ code: 1002, message: 'Incident Already Acknowledged' });
    const res = await put(id, { status: 'resolved' });
    expect(res.json.incident).toMatchObject({ status: 'resolved', assignments: [], acknowledgements: [] });
    expect(res.json.incident.resolved_at).toEqual(expect.any(String));
    for (const change of [{ status: 'acknowledged' }, { status: 'resolved' }, { escalation_level: 1 }]) {
      const r = await put(id, change);
      expect(r.status).toBe(400);
      expect(r.json.error).toMatchObject({ code: 1001, message: 'Incident Already Resolved' });
    }
    const types = pd.state.logEntries.filter((l) => l.incident_id === id).map((l) => l.type);
    expect(types).toContain('acknowledge_log_entry');
    expect(types.at(-1)).toBe('resolve_log_entry');
  });

  it('escalates to the requested level, reassigns, sets priority, and rejects a level the policy lacks', async () => {
    const svc = [...pd.state.services.values()].find((s) => pd.state.escalationPolicies.get(s.escalation_policy_id)!.escalation_rules.length >= 2)!;
    const id = (await trigger({}, svc)).json.incident.id;
    const policy = pd.state.escalationPolicies.get(svc.escalation_policy_id)!;
    const esc = await put(id, { escalation_level: 2 });
    expect(esc.status).toBe(200);
    const level2 = policy.escalation_rules[1]!.targets.filter((t) => t.type === 'user').map((t) => t.id);
    for (const u of level2) expect(esc.json.incident.assignments.map((a: { assignee: { id: string } }) => a.assignee.id)).toContain(u);
    expect(pd.state.logEntries.some((l) => l.incident_id === id && l.type === 'escalate_log_entry')).toBe(true);
    expect((await put(id, { escalation_level: 99 })).status).toBe(400);
    const user = [...pd.state.users.values()][11]!;
    const re = await put(id, { assignments: [{ assignee: { id: user.id, type: 'user_reference' } }] });
    expect(re.json.incident.assignments.map((a: { assignee: { id: string } }) => a.assignee.id)).toEqual([user.id]);
    const p1 = [...pd.state.priorities.values()][0]!;
    const pr = await put(id, { priority: { id: p1.id, type: 'priority_reference' } });
    expect(pr.json.incident.priority).toMatchObject({ id: p1.id, summary: 'P1' });
  });

  it('escalating without a level goes to the next level, and not past the last one of a policy that does not repeat', async () => {
    const svc = [...pd.state.services.values()].find((s) => { const p = pd.state.escalationPolicies.get(s.escalation_policy_id)!; return p.escalation_rules.length === 2 && p.num_loops === 0; })!;
    expect(svc).toBeDefined();
    const id = (await trigger({}, svc)).json.incident.id;
    const user = [...pd.state.users.values()][1]!;
    expect(pd.actAs(user.id).escalate(id).escalation_level).toBe(2);
    let err: unknown;
    try { pd.actAs(user.id).escalate(id); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(PdError);
    expect((err as PdError).status).toBe(400);
    expect(JSON.stringify((err as PdError).body)).toMatch(/last escalation level/);
    expect(pd.actAs(user.id).escalate(id, 1).escalation_level).toBe(1);
  });

  it('bulk updates apply all or nothing', async () => {
    const a = (await trigger({ incident_key: 'a' })).json.incident.id;
    const b = (await trigger({ incident_key: 'b' })).json.incident.id;
    const bad = await pdCall(pd, 'PUT', '/incidents', { from, body: { incidents: [{ id: a, type: 'incident_reference', status: 'resolved' }, { id: 'PNOSUCH', type: 'incident_reference', status: 'resolved' }] } });
    expect(bad.status).toBe(400);
    expect(pd.state.incidents.get(a)!.status).toBe('triggered');
    const ok = await pdCall(pd, 'PUT', '/incidents', { from, body: { incidents: [{ id: a, type: 'incident_reference', status: 'acknowledged' }, { id: b, type: 'incident_reference', status: 'resolved' }] } });
    expect(ok.status).toBe(200);
    expect(ok.json.incidents.map((i: { status: string }) => i.status)).toEqual(['acknowledged', 'resolved']);
  });

  it('notes: 200 on create, listed back, recorded as annotate log entries', async () => {
    const id = (await trigger()).json.incident.id;
    const r = await pdCall(pd, 'POST', `/incidents/${id}/notes`, { from, body: { note: { content: 'Failing over to the replica' } } });
    expect(r.status).toBe(200);
    expect(r.json.note).toMatchObject({ content: 'Failing over to the replica', user: { type: 'user_reference' } });
    const list = await pdCall(pd, 'GET', `/incidents/${id}/notes`);
    expect(list.json.notes.map((n: { content: string }) => n.content)).toEqual(['Failing over to the replica']);
    expect((await pdCall(pd, 'POST', `/incidents/${id}/notes`, { from, body: { note: { content: '' } } })).status).toBe(400);
    expect(pd.state.logEntries.filter((l) => l.incident_id === id && l.type === 'annotate_log_entry')).toHaveLength(1);
  });

  it('GET /incidents applies filters and a default window of about a month', async () => {
    const a = (await trigger({ incident_key: 'w1', urgency: 'low' })).json.incident.id;
    const b = (await trigger({ incident_key: 'w2' })).json.incident.id;
    await put(b, { status: 'acknowledged' });
    const low = await pdCall(pd, 'GET', '/incidents', { query: { 'urgencies[]': ['low'] } });
    expect(low.json.incidents.map((i: { id: string }) => i.id)).toEqual([a]);
    const acked = await pdCall(pd, 'GET', '/incidents', { query: { 'statuses[]': ['acknowledged'] } });
    expect(acked.json.incidents.map((i: { id: string }) => i.id)).toEqual([b]);
    // An incident created 40 days ago is outside the default window, inside date_range=all.
    pd.state.incidents.get(a)!.created_at = new Date(Date.now() - 40 * 86_400_000).toISOString();
    const dflt = await pdCall(pd, 'GET', '/incidents');
    expect(dflt.json.incidents.map((i: { id: string }) => i.id)).toEqual([b]);
    const all = await pdCall(pd, 'GET', '/incidents', { query: { date_range: 'all' } });
    expect(all.json.incidents.map((i: { id: string }) => i.id)).toEqual([a, b]);
    expect((await pdCall(pd, 'GET', '/incidents', { query: { since: 'yesterday-ish' } })).status).toBe(400);
  });
});

describe('bad input never crashes the emulator', () => {
  it('answers malformed JSON, wrong types and junk with 400s, then keeps serving', async () => {
    const svc = firstService().id;
    const junk = ['{', 'null', '[]', '"text"', '{"incident": 5}', '{"incident": {"type": "incident", "title": "x", "service": "P1"}}',
      `{"incident": {"type": "incident", "title": "x", "service": {"id": "${svc}"}, "assignments": "me"}}`,
      `{"incident": {"type": "incident", "title": "x", "service": {"id": "${svc}"}, "priority": {"id": 7}}}`];
    for (const rawBody of junk) {
      const r = await pdCall(pd, 'POST', '/incidents', { from, rawBody, headers: { 'content-type': 'application/json' } });
      expect(r.status, rawBody).toBe(400);
      expect(r.json.error.code).toBe(2001);
    }
    for (const rawBody of ['{', '{"note": {"content": 5}}', '{"webhook_subscription": []}']) {
      expect((await pdCall(pd, 'POST', '/webhook_subscriptions', { rawBody })).status).toBe(400);
    }
    expect((await pdCall(pd, 'GET', '/users/%E0%A4%A')).status).toBe(404);
    expect((await pdCall(pd, 'GET', '/users', { query: { 'team_ids[]': ['', ','] } })).status).toBe(200);
    expect((await pdCall(pd, 'GET', '/users')).status).toBe(200);
  });
});

describe('fuzzing', () => {
  it('answers hundreds of random requests with PagerDuty statuses (never 5xx) and stays up', async () => {
    let seed = Number(process.env.FUZZ_SEED ?? 12345);
    const rand = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const inc = (await trigger()).json.incident.id as string;
    const ids = ['PNOSUCH', inc, [...pd.state.users.keys()][0]!, '%00', '..', 'a'.repeat(300), '{id}'];
    const paths = ['/users', '/users/{id}', '/users/me', '/teams', '/teams/{id}', '/teams/{id}/members', '/services', '/services/{id}',
      '/priorities', '/escalation_policies', '/escalation_policies/{id}', '/tags', '/tags/{id}', '/tags/{id}/users', '/users/{id}/tags',
      '/incidents', '/incidents/{id}', '/incidents/{id}/notes', '/incidents/{id}/log_entries', '/webhook_subscriptions',
      '/webhook_subscriptions/{id}', '/webhook_subscriptions/{id}/enable', '/webhook_subscriptions/{id}/ping', '/abilities', '/abilities/{id}', '/bogus/{id}/tags'];
    const bodies = [undefined, '', '{', 'null', '0', '[]', '{"incident":null}', '{"incident":{"type":"incident_reference","status":7}}',
      '{"incident":{"type":"incident_reference","assignments":[{"assignee":null}]}}', '{"incidents":[null, 1, {"id": 5}]}',
      '{"note":{"content":[]}}', '{"webhook_subscription":{"type":"webhook_subscription","delivery_method":{"type":"http_delivery_method","url":"http://x"},"events":[1],"filter":{"type":"team_reference","id":null}}}',
      '{"incident":{"type":"incident","title":"t","service":{"id":[]},"priority":"P1","escalation_policy":{"id":{}}}}',
      JSON.stringify({ incident: { type: 'incident_reference', escalation_level: 1.5, priority: { id: 'PNOSUCH' } } })];
    const queries = ['', 'limit=-1', 'offset=abc', 'total=maybe', 'include[]=teams&include[]=nope', 'statuses[]=x', 'since=2020-13-45', 'date_range=some', 'sort_by=age', 'team_ids[]=&user_ids[]=,,,', 'filter_type=planet'];
    for (let n = 0; n < Number(process.env.FUZZ_N ?? 400); n++) {
      const method = pick(['GET', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH']);
      const p = pick(paths).replace('{id}', encodeURIComponent(pick(ids)));
      const q = pick(queries);
      const body = pick(bodies);
      const res = await fetch(`${pd.baseUrl}${p}${q ? `?${q}` : ''}`, { method, body: method === 'GET' ? undefined : body,
        headers: { authorization: `Token token=${pick([pd.fullAccessKey, pd.fullAccessKey, pd.readOnlyKey])}`, from: pick([from, '', 'x@y', from.toUpperCase()]), 'content-type': 'application/json' } });
      const text = await res.text();
      expect(res.status, `${method} ${p}?${q} ${body}: ${text}`).toBeLessThan(500);
      if (text) expect(() => JSON.parse(text)).not.toThrow();
    }
    expect((await pdCall(pd, 'GET', '/users')).status).toBe(200);
  });
});
