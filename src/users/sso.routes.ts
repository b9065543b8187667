import { z } from 'zod';
import { AppError } from '../platform/errors.js';
import { html, sendPage } from '../platform/http/page.js';
import type { App } from '../platform/http/server.js';
import { requireAccess, userOf } from './auth.js';
import { setSessionCookie } from './routes.js';
import { ssoRoles, SsoRefusal, SsoSettingsError, type SsoService, type SsoView } from './sso.js';
import { ForbiddenError } from '../platform/errors.js';

// Single sign-on's routes: the browser's round trip (/auth/sso/start → provider → /auth/sso/callback), the public
// status the sign-in page reads, and the admin settings (the client secret is written, never read back).

const FLOW_COOKIE = 'fb_sso_flow';
const role = z.enum(ssoRoles);
const ssoJson = z.object({
  enabled: z.boolean(),
  source: z.enum(['environment', 'settings']).nullable(),
  issuer: z.string().nullable(),
  client_id: z.string().nullable(),
  client_secret_set: z.boolean(),
  provider_name: z.string(),
  default_role: role,
  groups_claim: z.string().nullable(),
  group_roles: z.array(z.object({ group: z.string(), role })),
  require_sso: z.boolean(),
  redirect_uri: z.string(),
});

function toJson(v: SsoView, redirectUri: string): z.infer<typeof ssoJson> {
  return {
    enabled: v.enabled,
    source: v.source,
    issuer: v.issuer,
    client_id: v.clientId,
    client_secret_set: v.clientSecretSet,
    provider_name: v.providerName,
    default_role: v.defaultRole,
    groups_claim: v.groupsClaim,
    group_roles: v.groupRoles,
    require_sso: v.requireSso,
    redirect_uri: redirectUri,
  };
}

export function registerSsoRoutes(app: App, deps: { sso: SsoService; secureCookies: (req: { protocol: string }) => boolean }): void {
  const { sso } = deps;
  const refusalPage = (reply: Parameters<typeof sendPage>[0], r: SsoRefusal) =>
    sendPage(reply, r.status, { title: r.title, body: html`<p>${r.message}</p><p><a href="/signin">Back to sign in</a></p>` });

  app.get('/auth/sso/start', { schema: { hide: true } }, async (req, reply) => {
    // Without a provider there is no sign-in to start: the API's 404, as for any unknown thing.
    if (!(await sso.view()).enabled) throw new AppError(404, 'not_found', 'Single sign-on is not set up. An admin can set it up on Settings → Single sign-on.');
    try {
      const { url, flowCookie } = await sso.start();
      reply.setCookie(FLOW_COOKIE, flowCookie, { path: '/auth/sso', httpOnly: true, sameSite: 'lax', secure: deps.secureCookies(req), maxAge: 600 });
      return reply.redirect(url);
    } catch (err) {
      if (err instanceof SsoRefusal) return refusalPage(reply, err);
      throw err;
    }
  });

  // A provider's answer always carries `state` (Firebreak always sends one): a request without it is not one, and
  // gets the API's 400 like any malformed request; a real answer that fails a check gets a page a person reads.
  const callbackQuery = z.object({ state: z.string().min(1).max(2000), code: z.string().max(4000).optional(), error: z.string().max(200).optional() });
  app.get('/auth/sso/callback', { schema: { hide: true, querystring: callbackQuery } }, async (req, reply) => {
    // The flow cookie is good for one answer from the provider, whatever the outcome.
    reply.clearCookie(FLOW_COOKIE, { path: '/auth/sso' });
    try {
      const url = new URL(req.url, sso.redirectUri());
      const s = await sso.finish(url, req.cookies[FLOW_COOKIE], req.ip);
      setSessionCookie(reply, s.sessionToken, deps.secureCookies(req));
      return reply.redirect('/');
    } catch (err) {
      if (err instanceof SsoRefusal) return refusalPage(reply, err);
      throw err;
    }
  });

  // Open to anyone: the sign-in page asks whether to offer "Sign in with …" before anyone is signed in.
  app.get('/auth/sso/status', { schema: { hide: true } }, async () => {
    const v = await sso.view();
    return { enabled: v.enabled, provider_name: v.enabled ? v.providerName : null };
  });

  app.get('/api/v1/sso', { onRequest: requireAccess('admin'), schema: { tags: ['sso'], summary: 'Single sign-on settings (never the client secret)', response: { 200: ssoJson } } }, async () =>
    toJson(await sso.view(), sso.redirectUri()),
  );

  app.put(
    '/api/v1/sso',
    {
      onRequest: requireAccess('admin', { sessionOnly: true }),
      schema: {
        tags: ['sso'],
        summary: 'Set up single sign-on; the provider is checked (OpenID discovery) before anything is saved',
        body: z.strictObject({
          issuer: z.url({ message: 'must be the issuer URL, e.g. https://accounts.google.com' }).optional(),
          client_id: z.string().trim().min(1).max(500).optional(),
          client_secret: z.string().trim().min(1).max(2000).optional(),
          provider_name: z.string().trim().min(1, 'must not be empty').max(60).optional(),
          default_role: role.optional(),
          groups_claim: z.string().trim().min(1).max(100).nullable().optional(),
          group_roles: z.array(z.strictObject({ group: z.string().trim().min(1).max(200), role })).max(100).optional(),
          require_sso: z.boolean().optional(),
        }),
        response: { 200: ssoJson },
      },
    },
    async (req) => {
      const by = userOf(req.principal!);
      if (!by) throw new ForbiddenError('This needs a signed-in person, not an API key.');
      const b = req.body;
      try {
        const v = await sso.save(
          {
            ...(b.issuer !== undefined ? { issuer: b.issuer.replace(/\/$/, '') } : {}),
            ...(b.client_id !== undefined ? { clientId: b.client_id } : {}),
            ...(b.client_secret !== undefined ? { clientSecret: b.client_secret } : {}),
            ...(b.provider_name !== undefined ? { providerName: b.provider_name } : {}),
            ...(b.default_role !== undefined ? { defaultRole: b.default_role } : {}),
            ...(b.groups_claim !== undefined ? { groupsClaim: b.groups_claim } : {}),
            ...(b.group_roles !== undefined ? { groupRoles: b.group_roles } : {}),
            ...(b.require_sso !== undefined ? { requireSso: b.require_sso } : {}),
          },
          by,
          req.ip,
        );
        return toJson(v, sso.redirectUri());
      } catch (err) {
        if (err instanceof SsoSettingsError) throw new AppError(400, 'sso_not_valid', err.message);
        throw err;
      }
    },
  );

  app.delete('/api/v1/sso', { onRequest: requireAccess('admin', { sessionOnly: true }), schema: { tags: ['sso'], summary: 'Turn single sign-on off' } }, async (req, reply) => {
    const by = userOf(req.principal!);
    if (!by) throw new ForbiddenError('This needs a signed-in person, not an API key.');
    await sso.remove(by, req.ip);
    return reply.status(204).send();
  });
}
