import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, ownerClient, startTestFirebreak, userClient, type TestFirebreak } from '../helpers.js';
import { browse, CookieJar, follow, logInAtProvider, startTestProvider, type TestProvider } from './provider.js';

// Single sign-on against a real OpenID provider (oidc-provider, in this process), driven like a browser with
// fetch and a cookie jar: start at Firebreak, log in at the provider, come back to the callback.

for (const backend of backends) {
  describe(`single sign-on (${backend})`, () => {
    let fb: TestFirebreak;
    let idp: TestProvider;
    let owner: Awaited<ReturnType<typeof ownerClient>>;

    beforeAll(async () => {
      fb = await startTestFirebreak(backend, { oidcAllowHttp: true });
      idp = await startTestProvider({
        redirectUri: `${fb.baseUrl}/auth/sso/callback`,
        accounts: [
          { email: 'ada@example.com', email_verified: true, name: 'Ada Lovelace' },
          { email: 'grace@example.com', email_verified: true, name: 'Grace Hopper', groups: ['sre', 'staff'] },
          { email: 'mallory@example.com', email_verified: false, name: 'Mallory' },
          { email: 'owner@localhost', email_verified: true, name: 'Owner', groups: ['sre'] },
        ],
      });
      owner = await ownerClient(fb);
      const r = await owner.request('PUT', '/api/v1/sso', { issuer: idp.issuer, client_id: idp.clientId, client_secret: idp.clientSecret, provider_name: 'Test IdP', group_roles: [{ group: 'sre', role: 'admin' }], groups_claim: 'groups' });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    }, 60_000);
    afterAll(async () => {
      await idp?.stop();
      await fb?.destroy();
    });

    const people = async () => (await owner.get('/api/v1/users')).body.users as { email: string; role: string; name: string }[];
    const sessionsCount = async () => Number((await fb.app.database.db.selectFrom('sessions').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

    /** Start at Firebreak and stop at the provider's login page. */
    async function startFlow(jar: CookieJar): Promise<string> {
      const start = await browse(jar, `${fb.baseUrl}/auth/sso/start`);
      expect(start.status).toBe(302);
      const r = await follow(jar, start.headers.get('location')!);
      expect(r.url).toMatch(/\/interaction\//);
      return r.url;
    }

    it('settings never return the secret, and the sign-in page learns the provider name', async () => {
      const r = await owner.get('/api/v1/sso');
      expect(r.body).toMatchObject({ enabled: true, issuer: idp.issuer, client_id: idp.clientId, client_secret_set: true, provider_name: 'Test IdP', default_role: 'responder' });
      expect(JSON.stringify(r.body)).not.toContain(idp.clientSecret);
      const row = await fb.app.database.db.selectFrom('integration_connections').select('secrets').where('kind', '=', 'sso').executeTakeFirstOrThrow();
      expect(row.secrets).not.toContain(idp.clientSecret);
      const status = await fetch(`${fb.baseUrl}/auth/sso/status`).then((x) => x.json());
      expect(status).toEqual({ enabled: true, provider_name: 'Test IdP' });
    });

    it('a responder cannot read or change the settings', async () => {
      const { client } = await userClient(fb, owner, 'responder');
      expect((await client.get('/api/v1/sso')).status).toBe(403);
      expect((await client.request('PUT', '/api/v1/sso', { require_sso: true })).status).toBe(403);
    });

    it('a first sign-in creates the person with the default role and signs them in', async () => {
      const jar = new CookieJar();
      const callback = await logInAtProvider(jar, await startFlow(jar), 'ada@example.com');
      const done = await browse(jar, callback);
      expect(done.status, await done.clone().text()).toBe(302);
      expect(done.headers.get('location')).toBe('/');
      const me = await fetch(`${fb.baseUrl}/api/v1/session`, { headers: { cookie: jar.header(`${fb.baseUrl}/api/v1/session`) } }).then((x) => x.json());
      expect(me.user).toMatchObject({ email: 'ada@example.com', name: 'Ada Lovelace', role: 'responder' });
      const audit = await fb.app.database.db.selectFrom('audit_events').select(['action', 'details']).where('target_id', '=', me.user.id).execute();
      expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['user.created', 'user.signed_in']));
      expect(audit.find((a) => a.action === 'user.signed_in')!.details).toContain('"via":"sso"');
    });

    it('groups map to a role (sre → admin)', async () => {
      const jar = new CookieJar();
      await browse(jar, await logInAtProvider(jar, await startFlow(jar), 'grace@example.com'));
      expect((await people()).find((p) => p.email === 'grace@example.com')?.role).toBe('admin');
    });

    it('an existing person is matched by verified email, and an owner is never changed', async () => {
      const before = (await people()).length;
      const jar = new CookieJar();
      const done = await browse(jar, await logInAtProvider(jar, await startFlow(jar), 'owner@localhost'));
      expect(done.status).toBe(302);
      const after = await people();
      expect(after.length).toBe(before);
      expect(after.find((p) => p.email === 'owner@localhost')?.role).toBe('owner');
    });

    it('an unverified email is refused with a page and creates nothing', async () => {
      const [n, s] = [(await people()).length, await sessionsCount()];
      const jar = new CookieJar();
      const done = await browse(jar, await logInAtProvider(jar, await startFlow(jar), 'mallory@example.com'));
      expect(done.status).toBe(403);
      expect(done.headers.get('content-type')).toContain('text/html');
      expect(await done.text()).toContain('not verified');
      expect((await people()).length).toBe(n);
      expect(await sessionsCount()).toBe(s);
    });

    it('a wrong state is refused', async () => {
      const s = await sessionsCount();
      const jar = new CookieJar();
      const callback = new URL(await logInAtProvider(jar, await startFlow(jar), 'ada@example.com'));
      callback.searchParams.set('state', 'not-the-state');
      const done = await browse(jar, callback.href);
      expect(done.status).toBe(400);
      expect(await done.text()).toContain('state mismatch');
      expect(await sessionsCount()).toBe(s);
    });

    it('an answer for another browser (no flow cookie) is refused', async () => {
      const s = await sessionsCount();
      const jar = new CookieJar();
      const callback = await logInAtProvider(jar, await startFlow(jar), 'ada@example.com');
      const done = await browse(new CookieJar(), callback);
      expect(done.status).toBe(400);
      expect(await done.text()).toContain('Start again');
      expect(await sessionsCount()).toBe(s);
    });

    it('a wrong nonce is refused', async () => {
      const s = await sessionsCount();
      const jar = new CookieJar();
      const start = await browse(jar, `${fb.baseUrl}/auth/sso/start`);
      // The same authorization request (state, PKCE challenge) but another nonce: the ID token carries that one.
      const auth = new URL(start.headers.get('location')!);
      auth.searchParams.set('nonce', 'a-nonce-this-sign-in-did-not-make');
      const login = await follow(jar, auth.href);
      const done = await browse(jar, await logInAtProvider(jar, login.url, 'ada@example.com'));
      expect(done.status).toBe(400);
      expect(await done.text()).toContain('nonce mismatch');
      expect(await sessionsCount()).toBe(s);
    });

    it('a used code is refused', async () => {
      const jar = new CookieJar();
      const callback = await logInAtProvider(jar, await startFlow(jar), 'ada@example.com');
      const flow = jar.get('fb_sso_flow')!;
      expect((await browse(jar, callback)).status).toBe(302);
      const s = await sessionsCount();
      jar.set('fb_sso_flow', flow, '/auth/sso');
      const again = await browse(jar, callback);
      expect(again.status).toBe(400);
      expect(await again.text()).toContain('expired or was already used');
      expect(await sessionsCount()).toBe(s);
    });

    it('require SSO refuses a non-owner’s sign-in link with a page, and an owner’s link still works', async () => {
      const created = await owner.post('/api/v1/users', { name: 'Linda Link', email: 'linda@example.com', role: 'responder' });
      expect((await owner.request('PUT', '/api/v1/sso', { require_sso: true })).status).toBe(200);
      try {
        const link = await owner.post(`/api/v1/users/${created.body.user.id}/login_link`);
        const refused = await fetch(link.body.url, { redirect: 'manual' });
        expect(refused.status).toBe(403);
        expect(await refused.text()).toContain('sign in with Test IdP');
        const ownerId = (await people()).find((p) => p.email === 'owner@localhost') as unknown as { id: string };
        const ownerLink = await owner.post(`/api/v1/users/${ownerId.id}/login_link`);
        expect((await fetch(ownerLink.body.url, { redirect: 'manual' })).status).toBe(302);
        const audit = await fb.app.database.db.selectFrom('audit_events').select('action').where('action', '=', 'sso.settings_changed').execute();
        expect(audit.length).toBeGreaterThanOrEqual(2);
      } finally {
        await owner.request('PUT', '/api/v1/sso', { require_sso: false });
      }
      const link = await owner.post(`/api/v1/users/${created.body.user.id}/login_link`);
      expect((await fetch(link.body.url, { redirect: 'manual' })).status).toBe(302);
    });

    it('settings refuse an issuer that is not an OpenID provider, and a role above admin', async () => {
      const down = await owner.request('PUT', '/api/v1/sso', { issuer: 'http://127.0.0.1:1', client_id: 'x', client_secret: 'y' });
      expect(down.status).toBe(400);
      expect(down.body.error.code).toBe('sso_not_valid');
      const owners = await owner.request('PUT', '/api/v1/sso', { default_role: 'owner' });
      expect(owners.status).toBe(400);
      const map = await owner.request('PUT', '/api/v1/sso', { group_roles: [{ group: 'x', role: 'owner' }] });
      expect(map.status).toBe(400);
      expect((await owner.get('/api/v1/sso')).body.issuer).toBe(idp.issuer);
    });

    it('an issuer that is down answers a clear page and creates nothing', async () => {
      const [n, s] = [(await people()).length, await sessionsCount()];
      await idp.stop();
      const jar = new CookieJar();
      const start = await browse(jar, `${fb.baseUrl}/auth/sso/start`);
      expect(start.status).toBe(502);
      expect(start.headers.get('content-type')).toContain('text/html');
      expect(await start.text()).toContain('cannot be reached');
      expect((await people()).length).toBe(n);
      expect(await sessionsCount()).toBe(s);
    });
  });
}
