import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { html, sendPage } from '../platform/http/page.js';
import type { App } from '../platform/http/server.js';
import { ForbiddenError } from '../platform/errors.js';
import { actorOf, requireAccess, SESSION_COOKIE, userOf, type Principal } from './auth.js';
import { roles, scopes, type ApiKey, type Caller, type User, type UsersService } from './users.service.js';

const userJson = z.object({ id: z.string(), name: z.string(), email: z.string(), role: z.enum(roles), slack_user_id: z.string().nullable(), created_at: z.string() });
const apiKeyJson = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  scopes: z.array(z.enum(scopes)),
  created_at: z.string(),
  last_used_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
  created_by: z.object({ id: z.string(), name: z.string() }),
});
const idParams = z.strictObject({ id: z.string().min(1).max(64) });
const email = z.string().trim().max(254).pipe(z.email({ message: 'must be an email address' }));
const name = z.string().trim().min(1, 'must not be empty').max(200);

export function userToJson(u: User) {
  return { id: u.id, name: u.name, email: u.email, role: u.role, slack_user_id: u.slackUserId, created_at: u.createdAt };
}
function apiKeyToJson(k: ApiKey) {
  return { id: k.id, name: k.name, prefix: k.prefix, scopes: k.scopes, created_at: k.createdAt, last_used_at: k.lastUsedAt, revoked_at: k.revokedAt, created_by: { id: k.createdBy.id, name: k.createdBy.name } };
}

/** Who asks, for the role rule in UsersService (which reads their current role itself). */
function callerOf(p: Principal): Caller {
  return p.kind === 'session' ? { kind: 'user', userId: p.user.id } : { kind: 'api_key', apiKeyId: p.apiKey.id };
}

function sessionUser(p: Principal | null): User {
  const u = p && userOf(p);
  if (!u) throw new ForbiddenError('This needs a signed-in person, not an API key.');
  return u;
}

/** The session cookie, set the same way for every way of signing in (links, single sign-on). */
export function setSessionCookie(reply: FastifyReply, sessionToken: string, secure: boolean): void {
  reply.setCookie(SESSION_COOKIE, sessionToken, { path: '/', httpOnly: true, sameSite: 'lax', secure });
}

export function registerUserRoutes(app: App, deps: { users: UsersService; publicUrl: () => string; secureCookies: (req: { protocol: string }) => boolean }): void {
  const { users } = deps;

  // A browser opens this link: an expired or used one answers a page a person reads (a link without a token is
  // not one Firebreak made, and gets the API's 400 like any malformed request).
  app.get('/auth/login', { schema: { hide: true, querystring: z.object({ token: z.string().min(1).max(200) }) } }, async (req, reply) => {
    const s = await users.consumeLoginToken(req.query.token, req.ip);
    if (s && 'refused' in s) {
      return sendPage(reply, 403, { title: 'Sign in with single sign-on', body: html`<p>${s.refused}</p><p><a href="/signin">Back to sign in</a></p>` });
    }
    if (!s) {
      return sendPage(reply, 400, {
        title: 'Sign-in link not valid',
        body: html`<p>This sign-in link has expired or was already used. Ask an admin for a new one (Settings → Users), or run <code>npm run firebreak -- login-link you@example.com</code> on the server.</p><p><a href="/signin">Back to sign in</a></p>`,
      });
    }
    setSessionCookie(reply, s.sessionToken, deps.secureCookies(req));
    return reply.redirect('/');
  });

  app.post('/auth/logout', { schema: { hide: true } }, async (req, reply) => {
    const p = req.principal;
    if (p?.kind === 'session') {
      await requireAccess('read')(req, reply);
      if (req.headers['x-csrf-token'] !== p.csrfToken) throw new ForbiddenError('Missing or wrong CSRF token.');
      await users.endSession(p.sessionToken);
    }
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.status(204).send();
  });

  app.get(
    '/api/v1/session',
    { onRequest: requireAccess('read'), schema: { tags: ['users'], summary: 'The signed-in person and their CSRF token', response: { 200: z.object({ user: userJson, csrf_token: z.string() }) } } },
    async (req) => {
      const p = req.principal!;
      if (p.kind !== 'session') throw new ForbiddenError('API keys have no session.');
      return { user: userToJson(p.user), csrf_token: p.csrfToken };
    },
  );

  app.get('/api/v1/users', { onRequest: requireAccess('read'), schema: { tags: ['users'], response: { 200: z.object({ users: z.array(userJson) }) } } }, async () => ({
    users: (await users.list()).map(userToJson),
  }));

  app.post(
    '/api/v1/users',
    {
      onRequest: requireAccess('admin'),
      schema: { tags: ['users'], body: z.strictObject({ name, email, role: z.enum(roles).default('responder') }), response: { 201: z.object({ user: userJson }) } },
    },
    async (req, reply) => {
      const p = req.principal!;
      const user = await users.create(req.body, actorOf(p), callerOf(p), req.ip);
      return reply.status(201).send({ user: userToJson(user) });
    },
  );

  app.patch(
    '/api/v1/users/:id',
    {
      onRequest: requireAccess('admin'),
      schema: { tags: ['users'], params: idParams, body: z.strictObject({ name: name.optional(), email: email.optional(), role: z.enum(roles).optional() }), response: { 200: z.object({ user: userJson }) } },
    },
    async (req) => {
      const p = req.principal!;
      return { user: userToJson(await users.update(req.params.id, req.body, actorOf(p), callerOf(p), req.ip)) };
    },
  );

  app.post(
    '/api/v1/users/:id/login_link',
    { onRequest: requireAccess('admin'), schema: { tags: ['users'], summary: 'A one-time sign-in link for a person (valid 24 hours)', params: idParams, response: { 200: z.object({ url: z.string(), expires_at: z.string() }) } } },
    async (req) => {
      const link = await users.createLoginLink(req.params.id, deps.publicUrl(), actorOf(req.principal!), callerOf(req.principal!), req.ip);
      return { url: link.url, expires_at: link.expiresAt };
    },
  );

  app.get('/api/v1/api_keys', { onRequest: requireAccess('admin'), schema: { tags: ['api keys'], response: { 200: z.object({ api_keys: z.array(apiKeyJson) }) } } }, async () => ({
    api_keys: (await users.listApiKeys()).map(apiKeyToJson),
  }));

  app.post(
    '/api/v1/api_keys',
    {
      onRequest: requireAccess('admin', { sessionOnly: true }),
      schema: {
        tags: ['api keys'],
        summary: 'Create an API key; the token is in this response only',
        body: z.strictObject({ name, scopes: z.array(z.enum(scopes)).min(1, 'choose at least one scope') }),
        response: { 201: z.object({ api_key: apiKeyJson, token: z.string() }) },
      },
    },
    async (req, reply) => {
      const by = sessionUser(req.principal);
      const { apiKey, token } = await users.createApiKey(req.body, { kind: 'user', userId: by.id }, req.ip);
      return reply.status(201).send({ api_key: apiKeyToJson(apiKey), token });
    },
  );

  app.delete('/api/v1/api_keys/:id', { onRequest: requireAccess('admin', { sessionOnly: true }), schema: { tags: ['api keys'], params: idParams } }, async (req, reply) => {
    await users.revokeApiKey(req.params.id, sessionUser(req.principal), req.ip);
    return reply.status(204).send();
  });
}
