import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { recordAudit } from '../audit/audit.js';
import type { Db, Executor } from '../platform/db/index.js';
import type { UsersTable } from '../platform/db/schema.js';
import { inTransaction } from '../platform/db/index.js';
import { AppError, ConflictError, ForbiddenError, NotFoundError } from '../platform/errors.js';
import type { Actor } from '../platform/events.js';
import { newId, nowIso } from '../platform/ids.js';

// People, roles, sign-in links, sessions and API keys, and the one role rule every change to them goes through
// (`authorize`): nobody acts for, or makes credentials above, a role higher than their own.

export type Role = 'owner' | 'admin' | 'responder' | 'viewer';
export type Scope = 'read' | 'write' | 'admin';
export const roles: Role[] = ['owner', 'admin', 'responder', 'viewer'];
export const scopes: Scope[] = ['read', 'write', 'admin'];

export interface User {
  id: string;
  name: string;
  email: string;
  role: Role;
  slackUserId: string | null;
  createdAt: string;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  createdBy: { id: string; name: string };
}

/**
 * Who asks for a change to people or credentials, resolved to a role inside the change's transaction (so a
 * demotion in flight counts). `system` is a server-side path with nobody signed in: the first start, the
 * `firebreak login-link` CLI run by the operator on the server, Slack's matching of accounts by email.
 */
export type Caller = { kind: 'user'; userId: string } | { kind: 'api_key'; apiKeyId: string } | { kind: 'system'; ref: string };

/** A refusal by the role rule: 403 with both roles in the details. */
export class RoleRuleError extends AppError {
  constructor(message: string, details: Record<string, unknown>) {
    super(403, 'forbidden', message, details);
  }
}

/** Higher acts for lower, never the other way. */
const roleRank: Record<Role, number> = { viewer: 0, responder: 1, admin: 2, owner: 3 };
/** The role whose rights a scope stands for. */
const scopeRole: Record<Scope, Role> = { read: 'viewer', write: 'responder', admin: 'admin' };

function aRole(role: Role): string {
  return `${role === 'owner' || role === 'admin' ? 'an' : 'a'} ${role}`;
}

/**
 * What an API key may do now: each granted scope capped by its creator's current role, so a key never does
 * more than the person who made it could today (a demoted admin's admin key works as a write key).
 */
export function scopesInForce(granted: Scope[], creatorRole: Role): Scope[] {
  const capped = granted.map((s) => (roleRank[scopeRole[s]] <= roleRank[creatorRole] ? s : creatorRole === 'viewer' ? 'read' : 'write'));
  return scopes.filter((s) => capped.includes(s));
}

/** Emails match Slack and PagerDuty accounts: compared without case and surrounding spaces. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

function token(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** What each role may do: viewers read, responders run incidents, admins configure. */
export function roleAllows(role: Role, need: Scope): boolean {
  if (need === 'read') return true;
  if (need === 'write') return role !== 'viewer';
  return role === 'admin' || role === 'owner';
}

/** A key's scopes: write includes read; admin includes both. */
export function scopesAllow(granted: Scope[], need: Scope): boolean {
  if (granted.includes('admin')) return true;
  if (need === 'read') return granted.includes('read') || granted.includes('write');
  return granted.includes(need);
}

const LOGIN_LINK_TTL_MS = 24 * 3600_000;
const API_KEY_CACHE_MS = 10_000;

export class UsersService {
  constructor(
    private readonly db: Db,
    private readonly sessionTtlHours: number,
  ) {}

  // ---- users ---------------------------------------------------------------------------------------------

  async list(): Promise<User[]> {
    const rows = await this.db.selectFrom('users').selectAll().orderBy('name').execute();
    return rows.map(toUser);
  }

  async get(id: string): Promise<User> {
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new NotFoundError('User', id);
    return toUser(row);
  }

  async findByEmail(email: string): Promise<User | null> {
    const row = await this.db.selectFrom('users').selectAll().where('email_normalized', '=', normalizeEmail(email)).executeTakeFirst();
    return row ? toUser(row) : null;
  }

  /** The person linked to a Slack account, if any. */
  async findBySlackId(slackUserId: string): Promise<User | null> {
    const row = await this.db.selectFrom('users').selectAll().where('slack_user_id', '=', slackUserId).executeTakeFirst();
    return row ? toUser(row) : null;
  }

  /** The people linked to these Slack users, by Slack user id (one statement; unlinked ids are absent). */
  async findBySlackIds(slackUserIds: readonly string[]): Promise<Map<string, User>> {
    if (!slackUserIds.length) return new Map();
    const rows = await this.db.selectFrom('users').selectAll().where('slack_user_id', 'in', [...new Set(slackUserIds)]).execute();
    return new Map(rows.map((r) => [r.slack_user_id!, toUser(r)]));
  }

  /** Links a Slack account to a person (a Slack account belongs to one person: it moves if linked elsewhere). */
  async linkSlackUser(userId: string, slackUserId: string, actor: Actor): Promise<User> {
    return inTransaction(this.db, async (tx) => {
      const current = await tx.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
      if (!current) throw new NotFoundError('User', userId);
      if (current.slack_user_id === slackUserId) return toUser(current);
      const now = nowIso();
      await tx.updateTable('users').set({ slack_user_id: null, updated_at: now }).where('slack_user_id', '=', slackUserId).where('id', '!=', userId).execute();
      await tx.updateTable('users').set({ slack_user_id: slackUserId, updated_at: now }).where('id', '=', userId).execute();
      await recordAudit(tx, { actor, action: 'user.slack_linked', target: { kind: 'user', id: userId }, details: { slackUserId, previous: current.slack_user_id } });
      return toUser({ ...current, slack_user_id: slackUserId });
    });
  }

  async count(): Promise<number> {
    const r = await this.db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async create(input: { name: string; email: string; role: Role; slackUserId?: string | null }, actor: Actor, caller: Caller, ip?: string | null): Promise<User> {
    return inTransaction(this.db, async (tx) => {
      // A person's own request is checked (and their row locked against a concurrent change of role). Firebreak itself
      // (Slack meeting someone new) needs no check, and a new person changes no owner count, so nothing is locked:
      // authorize's lock on the owners' rows made 50 people's first /incident queue up behind one another.
      if (caller.kind !== 'system') await this.authorize(tx, caller, null, () => ({ act: `add ${aRole(input.role)}`, after: input.role }));
      const clash = await tx.selectFrom('users').select('email').where('email_normalized', '=', normalizeEmail(input.email)).executeTakeFirst();
      if (clash) throw new ConflictError('email_taken', `A user with email ${clash.email} already exists.`);
      const now = nowIso();
      const row = {
        id: newId(),
        name: input.name.trim(),
        email: input.email.trim(),
        email_normalized: normalizeEmail(input.email),
        role: input.role,
        slack_user_id: input.slackUserId ?? null,
        created_at: now,
        updated_at: now,
      };
      await tx.insertInto('users').values(row).execute();
      await recordAudit(tx, { actor, action: 'user.created', target: { kind: 'user', id: row.id }, details: { email: row.email, role: row.role }, ip });
      return toUser(row);
    });
  }

  async update(id: string, input: { name?: string; email?: string; role?: Role }, actor: Actor, caller: Caller, ip?: string | null): Promise<User> {
    return inTransaction(this.db, async (tx) => {
      const { target, owners } = await this.authorize(tx, caller, id, (role) => ({
        act: input.role && input.role !== role ? `make ${aRole(role)} ${aRole(input.role)}` : `change ${aRole(role)}`,
        before: role,
        after: input.role ?? role,
      }));
      const current = target!;
      const changesRole = !!input.role && input.role !== current.role;
      if (changesRole && current.role === 'owner' && owners <= 1) throw new ConflictError('last_owner', 'This is the only owner; make someone else an owner first.');
      if (input.email && normalizeEmail(input.email) !== current.email_normalized) {
        const clash = await tx.selectFrom('users').select('id').where('email_normalized', '=', normalizeEmail(input.email)).executeTakeFirst();
        if (clash) throw new ConflictError('email_taken', `A user with email ${input.email.trim()} already exists.`);
      }
      const patch = {
        ...(input.name ? { name: input.name.trim() } : {}),
        ...(input.email ? { email: input.email.trim(), email_normalized: normalizeEmail(input.email) } : {}),
        ...(input.role ? { role: input.role } : {}),
        updated_at: nowIso(),
      };
      await tx.updateTable('users').set(patch).where('id', '=', id).execute();
      // Their API keys are capped by their role: forget what this process remembers about them.
      if (changesRole) for (const [hash, entry] of this.keyCache) if (entry.apiKey.createdBy.id === id) this.keyCache.delete(hash);
      // A raise ends their sessions and unused sign-in links: those may have been made by someone allowed to
      // act for the person as they were (an admin holding a responder's link), not as they are now.
      if (changesRole && roleRank[input.role!] > roleRank[current.role]) {
        await tx.deleteFrom('sessions').where('user_id', '=', id).execute();
        await tx.deleteFrom('login_tokens').where('user_id', '=', id).where('used_at', 'is', null).execute();
      }
      await recordAudit(tx, { actor, action: 'user.updated', target: { kind: 'user', id }, details: { ...input, previousRole: current.role }, ip });
      return toUser({ ...current, ...patch });
    });
  }

  /** On an empty database: the first owner, to be signed in through a printed one-time link. */
  async ensureFirstOwner(email: string): Promise<{ user: User; created: boolean }> {
    const owner = await this.db.selectFrom('users').selectAll().where('role', '=', 'owner').orderBy('created_at').executeTakeFirst();
    if (owner) return { user: toUser(owner), created: false };
    const user = await this.create({ name: 'Owner', email, role: 'owner' }, { kind: 'system', ref: 'first-start' }, { kind: 'system', ref: 'first-start' });
    return { user, created: true };
  }

  /** True until someone has signed in at least once. */
  async nobodyHasSignedIn(): Promise<boolean> {
    const used = await this.db.selectFrom('login_tokens').select('token_hash').where('used_at', 'is not', null).limit(1).executeTakeFirst();
    return !used;
  }

  // ---- the role rule --------------------------------------------------------------------------------------

  /**
   * The one rule for every way to add or change a person, act as them (sign-in links) or make credentials:
   * the caller manages people (an admin or owner, or an admin-scope key whose creator still is one), and
   * neither the person's role before the change nor after it is above the caller's own. An API key counts as
   * the lower of its highest scope and its creator's current role, so no key ever acts for an owner.
   *
   * It first touches, in one statement, the rows of every owner, of the caller (or their key's creator) and
   * of the person acted on: on PostgreSQL that locks them to the end of the change, so concurrent changes to
   * people apply one after the other (two owners demoting each other: the second sees one owner left; a
   * demotion of the caller lands before or after, never between). SQLite transactions are serialised anyway.
   * Returns the person acted on as of now and how many owners there are.
   */
  private async authorize(
    tx: Executor,
    caller: Caller,
    targetId: string | null,
    describe: (targetRole: Role) => { act: string; before?: Role; after?: Role },
  ): Promise<{ user: User | null; target: UsersTable | null; owners: number }> {
    let key: { scopes: string; revoked_at: string | null; created_by: string } | undefined;
    if (caller.kind === 'api_key') {
      key = await tx.selectFrom('api_keys').select(['scopes', 'revoked_at', 'created_by']).where('id', '=', caller.apiKeyId).executeTakeFirst();
      if (!key || key.revoked_at) throw new ForbiddenError('This API key has been revoked.');
    }
    const callerId = caller.kind === 'user' ? caller.userId : key ? key.created_by : null;
    const ids = [callerId, targetId].filter((x): x is string => !!x);
    const rows = await tx
      .updateTable('users')
      .set((eb) => ({ updated_at: eb.ref('updated_at') }))
      .where((eb) => eb.or([eb('role', '=', 'owner'), ...(ids.length ? [eb('id', 'in', ids)] : [])]))
      .returningAll()
      .execute();
    const target = (targetId ? rows.find((r) => r.id === targetId) : null) ?? null;
    if (targetId && !target) throw new NotFoundError('User', targetId);
    const owners = rows.filter((r) => r.role === 'owner').length;
    const change = describe(target ? target.role : 'viewer');
    if (caller.kind === 'system') return { user: null, target, owners };

    const me = rows.find((r) => r.id === callerId);
    if (!me) throw new ForbiddenError(caller.kind === 'user' ? 'The signed-in person no longer exists.' : 'The person who made this API key no longer exists.');
    let role: Role;
    let who: string;
    if (caller.kind === 'user') {
      role = me.role;
      who = `You are ${aRole(role)}, so you cannot`;
    } else {
      const inForce = scopesInForce(JSON.parse(key!.scopes) as Scope[], me.role);
      role = inForce.reduce<Role>((top, s) => (roleRank[scopeRole[s]] > roleRank[top] ? scopeRole[s] : top), 'viewer');
      who = `This API key acts as at most ${aRole(role)} (scopes ${inForce.join(', ')}; made by ${aRole(me.role)}), so it cannot`;
    }
    const details = { caller_role: role, target_role: change.before ?? null, new_role: change.after ?? null };
    if (roleRank[role] < roleRank.admin) throw new RoleRuleError(`${who} ${change.act}: only admins and owners manage people and credentials.`, details);
    for (const r of [change.before, change.after]) {
      if (r && roleRank[r] > roleRank[role]) {
        throw new RoleRuleError(`${who} ${change.act}: nobody acts for, or gives, a role above their own. Only owners act for owners.`, details);
      }
    }
    return { user: caller.kind === 'user' ? toUser(me) : null, target, owners };
  }

  // ---- sign-in links and sessions --------------------------------------------------------------------------

  /** A one-time link that signs in as the person: only for someone whose role is not above the caller's. */
  async createLoginLink(userId: string, publicUrl: string, actor: Actor, caller: Caller, ip?: string | null): Promise<{ url: string; expiresAt: string }> {
    const t = token();
    const now = Date.now();
    const expiresAt = new Date(now + LOGIN_LINK_TTL_MS).toISOString();
    await inTransaction(this.db, async (tx) => {
      await this.authorize(tx, caller, userId, (role) => ({ act: `create a sign-in link for ${aRole(role)}`, before: role }));
      await tx.insertInto('login_tokens').values({ token_hash: sha256(t), user_id: userId, created_at: new Date(now).toISOString(), expires_at: expiresAt, used_at: null }).execute();
      await recordAudit(tx, { actor, action: 'user.login_link_created', target: { kind: 'user', id: userId }, ip });
    });
    return { url: `${publicUrl}/auth/login?token=${t}`, expiresAt };
  }

  /**
   * A check every sign-in link passes before it is used (single sign-on's "require SSO for everyone but
   * owners"): a message refuses the link and leaves it unused. Read inside the sign-in's transaction.
   */
  setLinkPolicy(policy: (user: User, tx: Executor) => Promise<string | null>): void {
    this.linkPolicy = policy;
  }
  private linkPolicy: ((user: User, tx: Executor) => Promise<string | null>) | null = null;

  /**
   * Consumes a one-time token; returns a new session (cookie value and CSRF token), null for an unknown, used or
   * expired token, or `{refused}` when the sign-in policy refuses links for this person (the link stays unused).
   */
  async consumeLoginToken(t: string, ip?: string | null): Promise<{ sessionToken: string; csrfToken: string; user: User } | { refused: string } | null> {
    try {
      return await inTransaction(this.db, async (tx) => {
        const now = nowIso();
        const row = await tx
          .updateTable('login_tokens')
          .set({ used_at: now })
          .where('token_hash', '=', sha256(t))
          .where('used_at', 'is', null)
          .where('expires_at', '>', now)
          .returning('user_id')
          .executeTakeFirst();
        if (!row) return null;
        const user = await tx.selectFrom('users').selectAll().where('id', '=', row.user_id).executeTakeFirstOrThrow();
        const refusal = this.linkPolicy ? await this.linkPolicy(toUser(user), tx) : null;
        if (refusal) throw new LinkRefused(refusal);
        return this.startSession(tx, user, ip, { via: 'link' });
      });
    } catch (err) {
      if (err instanceof LinkRefused) return { refused: err.message };
      throw err;
    }
  }

  /** Signs a person in after their identity provider vouched for them (single sign-on): the same session as a link's. */
  async signInVerified(userId: string, ip: string | null, details: Record<string, unknown>): Promise<{ sessionToken: string; csrfToken: string; user: User }> {
    return inTransaction(this.db, async (tx) => {
      const user = await tx.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
      if (!user) throw new NotFoundError('User', userId);
      return this.startSession(tx, user, ip, details);
    });
  }

  /** The one way a session starts: a new cookie token and CSRF token, and the audit entry. */
  private async startSession(tx: Executor, user: UsersTable, ip: string | null | undefined, details: Record<string, unknown>) {
    const now = nowIso();
    const sessionToken = token();
    const csrfToken = token(24);
    await tx
      .insertInto('sessions')
      .values({
        id_hash: sha256(sessionToken),
        user_id: user.id,
        csrf_token: csrfToken,
        created_at: now,
        expires_at: new Date(Date.now() + this.sessionTtlHours * 3600_000).toISOString(),
      })
      .execute();
    await recordAudit(tx, { actor: { kind: 'user', userId: user.id }, action: 'user.signed_in', target: { kind: 'user', id: user.id }, details, ip });
    return { sessionToken, csrfToken, user: toUser(user) };
  }

  async sessionUser(sessionToken: string): Promise<{ user: User; csrfToken: string } | null> {
    const row = await this.db
      .selectFrom('sessions as s')
      .innerJoin('users as u', 'u.id', 's.user_id')
      .selectAll('u')
      .select(['s.csrf_token', 's.expires_at'])
      .where('s.id_hash', '=', sha256(sessionToken))
      .executeTakeFirst();
    if (!row || row.expires_at <= nowIso()) return null;
    return { user: toUser(row), csrfToken: row.csrf_token };
  }

  async endSession(sessionToken: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id_hash', '=', sha256(sessionToken)).execute();
  }

  // ---- API keys ------------------------------------------------------------------------------------------

  /** A key belongs to the signed-in person who makes it; its scopes never exceed their role. Keys cannot make keys. */
  async createApiKey(input: { name: string; scopes: Scope[] }, caller: Caller, ip?: string | null): Promise<{ apiKey: ApiKey; token: string }> {
    if (caller.kind !== 'user') throw new ForbiddenError('API keys are created by a signed-in person, not by an API key or the system.');
    const secret = `fbk_${token(30)}`;
    const wanted = scopes.filter((s) => input.scopes.includes(s));
    const row = {
      id: newId(),
      name: input.name.trim(),
      prefix: secret.slice(0, 12),
      key_hash: sha256(secret),
      scopes: JSON.stringify(wanted),
      created_by: caller.userId,
      created_at: nowIso(),
      last_used_at: null,
      revoked_at: null,
    };
    const by = await inTransaction(this.db, async (tx) => {
      const highest = wanted.reduce<Scope>((top, s) => (roleRank[scopeRole[s]] > roleRank[scopeRole[top]] ? s : top), 'read');
      const me = await this.authorize(tx, caller, null, () => ({ act: `create an API key with scope ${highest}`, after: scopeRole[highest] }));
      await tx.insertInto('api_keys').values(row).execute();
      await recordAudit(tx, { actor: { kind: 'user', userId: caller.userId }, action: 'api_key.created', target: { kind: 'api_key', id: row.id }, details: { name: row.name, scopes: wanted }, ip });
      return me.user!;
    });
    return { apiKey: toApiKey(row, { id: by.id, name: by.name }), token: secret };
  }

  async listApiKeys(): Promise<ApiKey[]> {
    const rows = await this.db
      .selectFrom('api_keys as k')
      .innerJoin('users as u', 'u.id', 'k.created_by')
      .selectAll('k')
      .select(['u.name as creator_name'])
      .orderBy('k.created_at', 'desc')
      .execute();
    return rows.map((r) => toApiKey(r, { id: r.created_by, name: r.creator_name }));
  }

  async revokeApiKey(id: string, by: User, ip?: string | null): Promise<void> {
    await inTransaction(this.db, async (tx) => {
      const row = await tx.selectFrom('api_keys').select(['id', 'revoked_at']).where('id', '=', id).executeTakeFirst();
      if (!row) throw new NotFoundError('API key', id);
      if (row.revoked_at) return;
      await tx.updateTable('api_keys').set({ revoked_at: nowIso() }).where('id', '=', id).execute();
      for (const [hash, entry] of this.keyCache) if (entry.apiKey.id === id) this.keyCache.delete(hash);
      await recordAudit(tx, { actor: { kind: 'user', userId: by.id }, action: 'api_key.revoked', target: { kind: 'api_key', id }, ip });
    });
  }

  /**
   * Resolves a bearer key; records when it was last used (at most once a minute, to keep reads cheap). The
   * returned key's `scopes` are those in force: granted scopes capped by the creator's current role. Valid
   * keys are remembered for a few seconds: a revocation or a change of the creator's role here takes effect
   * at once, one made by another process within API_KEY_CACHE_MS.
   */
  async authenticateApiKey(secret: string): Promise<{ apiKey: ApiKey } | null> {
    if (!secret.startsWith('fbk_')) return null;
    const hash = sha256(secret);
    const cached = this.keyCache.get(hash);
    if (cached && Date.now() - cached.at < API_KEY_CACHE_MS) return { apiKey: cached.apiKey };
    const found = await this.lookupApiKey(secret);
    if (found) this.keyCache.set(hash, { at: Date.now(), apiKey: found.apiKey });
    else this.keyCache.delete(hash);
    if (this.keyCache.size > 10_000) this.keyCache.clear();
    return found;
  }
  private readonly keyCache = new Map<string, { at: number; apiKey: ApiKey }>();

  private async lookupApiKey(secret: string): Promise<{ apiKey: ApiKey } | null> {
    const row = await this.db
      .selectFrom('api_keys as k')
      .innerJoin('users as u', 'u.id', 'k.created_by')
      .selectAll('k')
      .select(['u.name as creator_name', 'u.role as creator_role'])
      .where('k.key_hash', '=', sha256(secret))
      .executeTakeFirst();
    if (!row || row.revoked_at) return null;
    const now = new Date();
    if (!row.last_used_at || now.getTime() - Date.parse(row.last_used_at) > 60_000) {
      await this.db.updateTable('api_keys').set({ last_used_at: now.toISOString() }).where('id', '=', row.id).execute();
      row.last_used_at = now.toISOString();
    }
    // The caller's key carries the scopes in force now, so every route guard applies the creator's current role.
    const apiKey = toApiKey(row, { id: row.created_by, name: row.creator_name });
    return { apiKey: { ...apiKey, scopes: scopesInForce(apiKey.scopes, row.creator_role) } };
  }
}

class LinkRefused extends Error {}

function toUser(r: { id: string; name: string; email: string; role: string; slack_user_id: string | null; created_at: string }): User {
  return { id: r.id, name: r.name, email: r.email, role: r.role as Role, slackUserId: r.slack_user_id, createdAt: r.created_at };
}

function toApiKey(
  r: { id: string; name: string; prefix: string; scopes: string; created_at: string; last_used_at: string | null; revoked_at: string | null },
  creator: { id: string; name: string },
): ApiKey {
  return { id: r.id, name: r.name, prefix: r.prefix, scopes: JSON.parse(r.scopes) as Scope[], createdAt: r.created_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at, createdBy: creator };
}
