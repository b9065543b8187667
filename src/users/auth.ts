import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Actor } from '../platform/events.js';
import { ForbiddenError, UnauthorizedError } from '../platform/errors.js';
import { declareErrorResponses, type App } from '../platform/http/server.js';
import { roleAllows, safeEqual, scopesAllow, type ApiKey, type Scope, type User, type UsersService } from './users.service.js';

// Who is calling: a signed-in person (session cookie + CSRF token on writes) or an API key (bearer), and the
// route guards that decide whether they may. A guard is declared with its route as an `onRequest` hook, so 401
// and 403 are answered before the body is read and before params, query or body are validated.

export const SESSION_COOKIE = 'fb_session';

export type Principal =
  | { kind: 'session'; user: User; csrfToken: string; sessionToken: string }
  | { kind: 'api_key'; apiKey: ApiKey };

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export function actorOf(p: Principal): Actor {
  return p.kind === 'session' ? { kind: 'user', userId: p.user.id } : { kind: 'integration', ref: `api_key:${p.apiKey.name}` };
}

export function userOf(p: Principal): User | null {
  return p.kind === 'session' ? p.user : null;
}

const guardNeed = Symbol('firebreak.access');
export type Guard = ((req: FastifyRequest, reply: FastifyReply) => Promise<void>) & { [guardNeed]: Scope };

const hooksOf = (h: unknown): unknown[] => (h == null ? [] : Array.isArray(h) ? h : [h]);
const isGuard = (h: unknown): h is Guard => typeof h === 'function' && guardNeed in h;

/** What a route's guard needs (`read`, `write`, `admin`), or null when the route declares no guard. */
export function accessOf(route: Pick<RouteOptions, 'onRequest'>): Scope | null {
  return hooksOf(route.onRequest).find(isGuard)?.[guardNeed] ?? null;
}

/** Paths where every route must declare a guard (or `config: { public: true }`). */
const guardedPrefix = '/api/v1/';

export function registerAuth(app: App, users: UsersService): void {
  app.decorateRequest('principal', null);
  // Checked as each route is registered, so a route cannot forget its guard or declare it where it would run
  // after validation (preValidation / preHandler): the server refuses to start instead.
  app.addHook('onRoute', (route) => {
    const where = `${String(route.method)} ${route.url}`;
    for (const late of ['preParsing', 'preValidation', 'preHandler'] as const) {
      if (hooksOf(route[late]).some(isGuard)) throw new Error(`${where}: declare the access guard as onRequest, not ${late}, so it runs before validation`);
    }
    const guarded = hooksOf(route.onRequest).some(isGuard);
    if (!guarded && route.url.startsWith(guardedPrefix) && (route.config as { public?: boolean } | undefined)?.public !== true) {
      throw new Error(`${where} has no access guard: add onRequest: requireAccess(…), or config: { public: true } if it is meant to be open`);
    }
    if (guarded) declareErrorResponses(route as RouteOptions, [401, 403]);
  });
  app.addHook('onRequest', async (req) => {
    const path = req.url;
    if (!path.startsWith('/api/v1') && !path.startsWith('/auth/')) return;
    const auth = req.headers.authorization;
    if (auth) {
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      if (!m) throw new UnauthorizedError('The Authorization header must be "Bearer <API key>".');
      const found = await users.authenticateApiKey(m[1]!);
      if (!found) throw new UnauthorizedError('This API key is unknown or has been revoked.');
      req.principal = { kind: 'api_key', apiKey: found.apiKey };
      return;
    }
    const cookie = req.cookies[SESSION_COOKIE];
    if (cookie) {
      const s = await users.sessionUser(cookie);
      if (s) req.principal = { kind: 'session', user: s.user, csrfToken: s.csrfToken, sessionToken: cookie };
    }
  });
}

const needWords: Record<Scope, string> = { read: 'read', write: 'change incidents', admin: 'change settings' };

/**
 * Route guard, declared as the route's `onRequest` hook: signed in, allowed by role or scope, and (for a browser
 * session) a matching CSRF token on writes. `sessionOnly` refuses API keys (for what only a person may do).
 */
export function requireAccess(need: Scope, opts: { sessionOnly?: boolean } = {}): Guard {
  const guard = async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const p = req.principal;
    if (!p) throw new UnauthorizedError();
    if (opts.sessionOnly && p.kind !== 'session') throw new ForbiddenError('This needs a signed-in person, not an API key.');
    if (p.kind === 'session') {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        const sent = req.headers['x-csrf-token'];
        if (typeof sent !== 'string' || !safeEqual(sent, p.csrfToken)) {
          throw new ForbiddenError('Missing or wrong CSRF token: send the csrf_token from GET /api/v1/session as the x-csrf-token header.');
        }
      }
      if (!roleAllows(p.user.role, need)) {
        throw new ForbiddenError(
          need === 'write'
            ? `You are a ${p.user.role}: you can see incidents but not change them. Ask an admin to make you a responder.`
            : `You are a ${p.user.role}: only admins and owners can ${needWords[need]}.`,
        );
      }
      return;
    }
    if (!scopesAllow(p.apiKey.scopes, need)) {
      throw new ForbiddenError(`This API key has scope${p.apiKey.scopes.length === 1 ? '' : 's'} ${p.apiKey.scopes.join(', ')}; this request needs ${need}.`);
    }
  };
  return Object.assign(guard, { [guardNeed]: need });
}
