import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../platform/events.js';
import { ForbiddenError, UnauthorizedError } from '../platform/errors.js';
import type { App } from '../platform/http/server.js';
import { roleAllows, safeEqual, scopesAllow, type ApiKey, type Scope, type User, type UsersService } from './users.service.js';

// Who is calling: a signed-in person (session cookie + CSRF token on writes) or an API key (bearer).

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

export function registerAuth(app: App, users: UsersService): void {
  app.decorateRequest('principal', null);
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

/** Route guard: signed in, allowed by role or scope, and (for a browser session) a matching CSRF token on writes. */
export function requireAccess(need: Scope) {
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const p = req.principal;
    if (!p) throw new UnauthorizedError();
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
}
