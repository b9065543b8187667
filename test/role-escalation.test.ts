import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyClient, backends, ownerClient, signInWithLink, startTestFirebreak, userClient, type Client, type TestFirebreak } from './helpers.js';

// Nobody climbs the roles. Every way to act as a person (sign-in links), make credentials (API keys, sessions)
// or change a role is tried over HTTP by every kind of caller (viewer, responder, admin and owner sessions;
// read, write and admin API keys) against people of every role. Each answer is checked for its exact status,
// and each refusal for having left nothing behind: no sign-in token, no changed role or email, no new person
// or key, no audit entry.

type Role = 'viewer' | 'responder' | 'admin' | 'owner';
type Scope = 'read' | 'write' | 'admin';
const ROLES: Role[] = ['viewer', 'responder', 'admin', 'owner'];
const SCOPES: Scope[] = ['read', 'write', 'admin'];
const rank: Record<Role, number> = { viewer: 0, responder: 1, admin: 2, owner: 3 };
/** The role each key scope stands for (all matrix keys are made by the owner, so the scope is the limit). */
const scopeRole: Record<Scope, Role> = { read: 'viewer', write: 'responder', admin: 'admin' };

interface Caller {
  name: string;
  kind: 'session' | 'key';
  /** The role this caller counts as. */
  acts: Role;
  scope?: Scope;
  client: Client;
}

/**
 * The rule as the issue states it: people and credentials are managed by admins and owners only, and only for
 * people whose role, before and after the change, is not above the caller's own.
 */
function mayActOn(c: Caller, ...roles: Role[]): boolean {
  return rank[c.acts] >= rank.admin && roles.every((r) => rank[r] <= rank[c.acts]);
}

function isForbiddenShape(body: any): boolean {
  return body?.error?.code === 'forbidden' && typeof body.error.message === 'string' && body.error.message.length > 0;
}

let seq = 0;
const unique = (what: string) => `${what}-${Date.now().toString(36)}-${++seq}`;

describe.each(backends)('role-escalation matrix (%s)', (backend) => {
  let fb: TestFirebreak;
  let owner: Awaited<ReturnType<typeof ownerClient>>;
  let ownerId: string;
  const callers: Caller[] = [];

  const db = () => fb.app.database.db;
  const person = async (role: Role) => {
    const r = await owner.post('/api/v1/users', { name: `Target ${role}`, email: `${unique(role)}@example.com`, role });
    if (r.status !== 201) throw new Error(`making a ${role}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.user as { id: string; email: string; role: Role };
  };
  const userNow = async (id: string) => ((await owner.get('/api/v1/users')).body.users as any[]).find((u) => u.id === id);
  const auditFor = (targetId: string, action: string) =>
    db().selectFrom('audit_events').select('id').where('target_id', '=', targetId).where('action', '=', action).execute();
  const auditCount = async (action: string) => (await db().selectFrom('audit_events').select('id').where('action', '=', action).execute()).length;
  const loginTokens = (userId: string) => db().selectFrom('login_tokens').select('token_hash').where('user_id', '=', userId).execute();

  beforeAll(async () => {
    fb = await startTestFirebreak(backend);
    owner = await ownerClient(fb);
    ownerId = (await owner.get('/api/v1/session')).body.user.id;
    for (const role of ['viewer', 'responder', 'admin'] as const) {
      callers.push({ name: `${role} session`, kind: 'session', acts: role, client: (await userClient(fb, owner, role)).client });
    }
    callers.push({ name: 'owner session', kind: 'session', acts: 'owner', client: owner });
    for (const scope of SCOPES) {
      const k = await owner.post('/api/v1/api_keys', { name: `${scope} key`, scopes: [scope] });
      if (k.status !== 201) throw new Error(`making a ${scope} key: ${k.status}`);
      callers.push({ name: `${scope} key`, kind: 'key', acts: scopeRole[scope], scope, client: apiKeyClient(fb.baseUrl, k.body.token) });
    }
  });
  afterAll(async () => fb?.destroy());

  /** A refusal must be a 403 in the error shape; a refusal by the role rule (caller has admin rights) also says whose roles. */
  function checkRefusal(c: Caller, body: any, problems: string[], cell: string) {
    if (!isForbiddenShape(body)) problems.push(`${cell}: refusal not in the error shape: ${JSON.stringify(body)}`);
    else if (rank[c.acts] >= rank.admin && body.error.details?.caller_role !== c.acts) problems.push(`${cell}: details do not name the caller's role: ${JSON.stringify(body.error)}`);
  }

  it('the reported attack: an admin session or an admin key cannot get a sign-in link for the owner, make an owner or become one', async () => {
    const admin = callers.find((c) => c.name === 'admin session')!;
    const adminKey = callers.find((c) => c.name === 'admin key')!;
    const adminId = (await admin.client.get('/api/v1/session')).body.user.id;
    const tokensBefore = (await loginTokens(ownerId)).length;
    const linksBefore = (await auditFor(ownerId, 'user.login_link_created')).length;
    for (const c of [admin, adminKey]) {
      const link = await c.client.post(`/api/v1/users/${ownerId}/login_link`);
      expect(link.status, `${c.name} asking for the owner's sign-in link`).toBe(403);
      expect(isForbiddenShape(link.body)).toBe(true);
      expect(link.body.error.message).toMatch(/owner/);
      expect(link.body.url).toBeUndefined();

      const email = `${unique('new-owner')}@example.com`;
      const made = await c.client.post('/api/v1/users', { name: 'Sock puppet', email, role: 'owner' });
      expect(made.status, `${c.name} making an owner`).toBe(403);
      expect(((await owner.get('/api/v1/users')).body.users as any[]).some((u) => u.email === email)).toBe(false);
    }
    const self = await admin.client.patch(`/api/v1/users/${adminId}`, { role: 'owner' });
    expect(self.status).toBe(403);
    expect((await userNow(adminId)).role).toBe('admin');
    expect((await loginTokens(ownerId)).length).toBe(tokensBefore);
    expect((await auditFor(ownerId, 'user.login_link_created')).length).toBe(linksBefore);
  });

  it('sign-in links: allowed only for people not above the caller, and an allowed link signs in as that person', async () => {
    const problems: string[] = [];
    for (const c of callers) {
      for (const t of ROLES) {
        const cell = `${c.name} → link for ${t === "owner" || t === "admin" ? "an" : "a"} ${t}`;
        const target = await person(t);
        const r = await c.client.post(`/api/v1/users/${target.id}/login_link`);
        const expected = mayActOn(c, t) ? 200 : 403;
        if (r.status !== expected) {
          problems.push(`${cell}: ${r.status}, expected ${expected}`);
          continue;
        }
        if (expected === 200) {
          const s = await signInWithLink(fb.baseUrl, r.body.url);
          const me = (await s.get('/api/v1/session')).body.user;
          if (me.id !== target.id || me.role !== t) problems.push(`${cell}: link signed in as ${JSON.stringify(me)}`);
        } else {
          checkRefusal(c, r.body, problems, cell);
          if ((await loginTokens(target.id)).length !== 0) problems.push(`${cell}: a sign-in token was stored`);
          if ((await auditFor(target.id, 'user.login_link_created')).length !== 0) problems.push(`${cell}: audited as created`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('role changes up and down: allowed only when both the old and the new role are not above the caller', async () => {
    const problems: string[] = [];
    for (const c of callers) {
      for (const from of ROLES) {
        for (const to of ROLES.filter((r) => r !== from)) {
          const cell = `${c.name} → ${from} to ${to}`;
          const target = await person(from);
          const r = await c.client.patch(`/api/v1/users/${target.id}`, { role: to });
          const expected = mayActOn(c, from, to) ? 200 : 403;
          if (r.status !== expected) {
            problems.push(`${cell}: ${r.status}, expected ${expected} ${JSON.stringify(r.body)}`);
            continue;
          }
          const now = await userNow(target.id);
          if (now.role !== (expected === 200 ? to : from)) problems.push(`${cell}: role is now ${now.role}`);
          const audited = (await auditFor(target.id, 'user.updated')).length;
          if (audited !== (expected === 200 ? 1 : 0)) problems.push(`${cell}: ${audited} user.updated audit entries`);
          if (expected === 403) checkRefusal(c, r.body, problems, cell);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("changing someone's email (how CLI links and Slack find a person) follows the same rule", async () => {
    const problems: string[] = [];
    for (const c of callers) {
      for (const t of ROLES) {
        const cell = `${c.name} → email of ${t === "owner" || t === "admin" ? "an" : "a"} ${t}`;
        const target = await person(t);
        const email = `${unique('taken-over')}@example.com`;
        const r = await c.client.patch(`/api/v1/users/${target.id}`, { email });
        const expected = mayActOn(c, t) ? 200 : 403;
        if (r.status !== expected) {
          problems.push(`${cell}: ${r.status}, expected ${expected}`);
          continue;
        }
        const now = await userNow(target.id);
        if (now.email !== (expected === 200 ? email : target.email)) problems.push(`${cell}: email is now ${now.email}`);
        if (expected === 403) checkRefusal(c, r.body, problems, cell);
      }
    }
    expect(problems).toEqual([]);
  });

  it('adding a person: only with a role not above the caller', async () => {
    const problems: string[] = [];
    for (const c of callers) {
      for (const role of ROLES) {
        const cell = `${c.name} → add a ${role}`;
        const email = `${unique('added')}@example.com`;
        const auditsBefore = await auditCount('user.created');
        const r = await c.client.post('/api/v1/users', { name: 'Added', email, role });
        const expected = mayActOn(c, role) ? 201 : 403;
        if (r.status !== expected) {
          problems.push(`${cell}: ${r.status}, expected ${expected}`);
          continue;
        }
        const found = ((await owner.get('/api/v1/users')).body.users as any[]).find((u) => u.email === email);
        if (expected === 201 && found?.role !== role) problems.push(`${cell}: stored as ${JSON.stringify(found)}`);
        if (expected === 403) {
          checkRefusal(c, r.body, problems, cell);
          if (found) problems.push(`${cell}: the person was stored`);
          if ((await auditCount('user.created')) !== auditsBefore) problems.push(`${cell}: audited as created`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('API keys: made only by a signed-in admin or owner, never by a key, never above the maker', async () => {
    const problems: string[] = [];
    for (const c of callers) {
      for (const scope of SCOPES) {
        const cell = `${c.name} → key with scope ${scope}`;
        const name = unique(`key-${scope}`);
        const auditsBefore = await auditCount('api_key.created');
        const r = await c.client.post('/api/v1/api_keys', { name, scopes: [scope] });
        const expected = c.kind === 'session' && mayActOn(c, scopeRole[scope]) ? 201 : 403;
        if (r.status !== expected) {
          problems.push(`${cell}: ${r.status}, expected ${expected}`);
          continue;
        }
        const listed = ((await owner.get('/api/v1/api_keys')).body.api_keys as any[]).find((k) => k.name === name);
        if (expected === 201) {
          if (JSON.stringify(listed?.scopes) !== JSON.stringify([scope])) problems.push(`${cell}: listed as ${JSON.stringify(listed)}`);
          if (JSON.stringify(r.body.api_key.created_by) !== JSON.stringify({ id: listed?.created_by.id, name: listed?.created_by.name })) {
            problems.push(`${cell}: created_by answered as ${JSON.stringify(r.body.api_key.created_by)}`);
          }
          if ((await apiKeyClient(fb.baseUrl, r.body.token).get('/api/v1/users')).status !== 200) problems.push(`${cell}: the new key does not work`);
        } else {
          if (!isForbiddenShape(r.body)) problems.push(`${cell}: refusal not in the error shape`);
          if (listed) problems.push(`${cell}: the key was stored`);
          if ((await auditCount('api_key.created')) !== auditsBefore) problems.push(`${cell}: audited as created`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('an API key has no session to take over', async () => {
    for (const c of callers) {
      const r = await c.client.get('/api/v1/session');
      expect(r.status, c.name).toBe(c.kind === 'session' ? 200 : 403);
    }
  });

  it("a raise ends the person's sessions and unused links, so what an admin got for a responder never becomes an owner's", async () => {
    const admin = callers.find((c) => c.name === 'admin session')!;
    const target = await person('responder');
    const held = await admin.client.post(`/api/v1/users/${target.id}/login_link`);
    const used = await admin.client.post(`/api/v1/users/${target.id}/login_link`);
    expect([held.status, used.status]).toEqual([200, 200]);
    const session = await signInWithLink(fb.baseUrl, used.body.url);
    expect((await session.get('/api/v1/session')).status).toBe(200);

    expect((await owner.patch(`/api/v1/users/${target.id}`, { role: 'owner' })).status).toBe(200);
    expect((await session.get('/api/v1/session')).status).toBe(401);
    const late = await fetch(held.body.url, { redirect: 'manual' });
    expect(late.status).toBe(400);
    expect(late.headers.get('set-cookie')).toBeNull();
  });

  it('an admin may step down; afterwards they manage nobody', async () => {
    const { client, user } = await userClient(fb, owner, 'admin');
    const down = await client.patch(`/api/v1/users/${user.id}`, { role: 'responder' });
    expect(down.status).toBe(200);
    expect((await userNow(user.id)).role).toBe('responder');
    const target = await person('viewer');
    expect((await client.post(`/api/v1/users/${target.id}/login_link`)).status).toBe(403);
    expect((await client.patch(`/api/v1/users/${user.id}`, { role: 'admin' })).status).toBe(403);
    expect((await userNow(user.id)).role).toBe('responder');
  });

  it("a key is held to its maker's current role: a demoted admin's admin key stops managing people, and works again if they are promoted", async () => {
    const { client: maker, user } = await userClient(fb, owner, 'admin');
    const made = await maker.post('/api/v1/api_keys', { name: unique('demoted-maker'), scopes: ['admin'] });
    expect(made.status).toBe(201);
    const key = apiKeyClient(fb.baseUrl, made.body.token);
    const responder = await person('responder');
    expect((await key.post(`/api/v1/users/${responder.id}/login_link`)).status).toBe(200);

    expect((await owner.patch(`/api/v1/users/${user.id}`, { role: 'responder' })).status).toBe(200);
    const tokensBefore = (await loginTokens(responder.id)).length;
    const refused = await key.post(`/api/v1/users/${responder.id}/login_link`);
    expect(refused.status).toBe(403);
    expect(isForbiddenShape(refused.body)).toBe(true);
    expect((await loginTokens(responder.id)).length).toBe(tokensBefore);
    const email = `${unique('via-demoted-key')}@example.com`;
    expect((await key.post('/api/v1/users', { name: 'Nope', email, role: 'viewer' })).status).toBe(403);
    expect(((await owner.get('/api/v1/users')).body.users as any[]).some((u) => u.email === email)).toBe(false);
    expect((await key.get('/api/v1/api_keys')).status).toBe(403); // an admin route: the key now works as write
    expect((await key.get('/api/v1/users')).status).toBe(200); // reading still works

    expect((await owner.patch(`/api/v1/users/${user.id}`, { role: 'admin' })).status).toBe(200);
    expect((await key.post(`/api/v1/users/${responder.id}/login_link`)).status).toBe(200);
  });
});

describe.each(backends)('owners (%s)', (backend) => {
  let fb: TestFirebreak;
  let first: Awaited<ReturnType<typeof ownerClient>>;
  let firstId: string;
  beforeAll(async () => {
    fb = await startTestFirebreak(backend);
    first = await ownerClient(fb);
    firstId = (await first.get('/api/v1/session')).body.user.id;
  });
  afterAll(async () => fb?.destroy());

  const owners = async () => ((await first.get('/api/v1/users')).body.users as any[]).filter((u) => u.role === 'owner').map((u) => u.id);

  it('the only owner cannot step down, with a message saying what to do', async () => {
    const r = await first.patch(`/api/v1/users/${firstId}`, { role: 'admin' });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('last_owner');
    expect(r.body.error.message).toMatch(/only owner/);
    expect(await owners()).toEqual([firstId]);
  });

  it('two owners demoting each other at the same moment leave exactly one owner', async () => {
    const made = await first.post('/api/v1/users', { name: 'Second owner', email: `${unique('owner2')}@example.com`, role: 'owner' });
    expect(made.status).toBe(201);
    const link = await first.post(`/api/v1/users/${made.body.user.id}/login_link`);
    const second = await signInWithLink(fb.baseUrl, link.body.url);
    const [a, b] = await Promise.all([first.patch(`/api/v1/users/${made.body.user.id}`, { role: 'admin' }), second.patch(`/api/v1/users/${firstId}`, { role: 'admin' })]);
    const statuses = [a.status, b.status].sort();
    expect(statuses[0]).toBe(200);
    expect([403, 409]).toContain(statuses[1]);
    expect(await owners()).toHaveLength(1);
  });
});
