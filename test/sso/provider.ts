// A real OpenID Connect provider (oidc-provider) in the test process, on 127.0.0.1 and a free port: one
// confidential client that must use PKCE, test accounts with email, email_verified and groups, and a tiny login
// page at /interaction/<uid> (a form with the email) that signs in as the chosen account and grants the
// requested scopes, so a browser or fetch can go through the whole redirect flow.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

export interface TestAccount {
  email: string;
  email_verified: boolean;
  name: string;
  groups?: string[];
}

export interface TestProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  accounts: Map<string, TestAccount>;
  stop(): Promise<void>;
}

export async function startTestProvider(opts: { redirectUri: string; accounts: TestAccount[] }): Promise<TestProvider> {
  const accounts = new Map(opts.accounts.map((a) => [a.email, a]));
  const clientId = 'firebreak';
  const clientSecret = 'test-client-secret-0123456789';
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [opts.redirectUri], token_endpoint_auth_method: 'client_secret_post', grant_types: ['authorization_code'], response_types: ['code'] }],
    pkce: { required: () => true },
    scopes: ['openid', 'email', 'profile', 'groups'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    features: { devInteractions: { enabled: false } },
    cookies: { keys: ['test-cookie-key'] },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, sub) {
      const a = accounts.get(sub);
      if (!a) return undefined;
      return { accountId: sub, claims: async () => ({ sub, email: a.email, email_verified: a.email_verified, name: a.name, groups: a.groups ?? [] }) };
    },
  });
  const callback = provider.callback();
  server.on('request', (req, res) => {
    const m = /^\/interaction\/([^/?]+)/.exec(req.url ?? '');
    if (!m) return callback(req, res);
    void (async () => {
      try {
        const details = await provider.interactionDetails(req, res);
        if (req.method === 'GET') {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          res.end(`<!doctype html><title>Test provider</title><h1>Test identity provider</h1><form method="post"><label>Email <input name="email" autofocus></label><button type="submit">Log in</button></form>`);
          return;
        }
        let body = '';
        for await (const chunk of req) body += chunk;
        const email = new URLSearchParams(body).get('email') ?? '';
        if (!accounts.has(email)) {
          res.writeHead(400, { 'content-type': 'text/plain' });
          res.end('unknown account');
          return;
        }
        const grant = new provider.Grant({ accountId: email, clientId });
        grant.addOIDCScope(String(details.params.scope ?? 'openid'));
        const grantId = await grant.save();
        await provider.interactionFinished(req, res, { login: { accountId: email }, consent: { grantId } }, { mergeWithLastSubmission: false });
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      }
    })();
  });
  return {
    issuer,
    clientId,
    clientSecret,
    accounts,
    stop: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** A browser's cookies for fetch: every host here is 127.0.0.1, so cookies are kept by name and path. */
export class CookieJar {
  private cookies = new Map<string, { value: string; path: string }>();
  store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const path = attrs.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
      const expired = attrs.some((a) => /^max-age=0$/i.test(a.trim()) || /^expires=thu, 01 jan 1970/i.test(a.trim())) || value === '';
      const key = `${name} ${path}`;
      if (expired) this.cookies.delete(key);
      else this.cookies.set(key, { value, path });
    }
  }
  header(url: string): string {
    const path = new URL(url).pathname;
    return [...this.cookies.entries()]
      .filter(([, c]) => path.startsWith(c.path))
      .map(([k, c]) => `${k.split(' ')[0]}=${c.value}`)
      .join('; ');
  }
  get(name: string): string | undefined {
    return [...this.cookies.entries()].find(([k]) => k.split(' ')[0] === name)?.[1].value;
  }
  set(name: string, value: string, path: string): void {
    this.cookies.set(`${name} ${path}`, { value, path });
  }
}

/** One request as a browser would send it (no redirects followed: the test follows them). */
export async function browse(jar: CookieJar, url: string, init: { method?: string; body?: string } = {}): Promise<Response> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    redirect: 'manual',
    headers: { cookie: jar.header(url), ...(init.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    ...(init.body ? { body: init.body } : {}),
  });
  jar.store(res);
  return res;
}

/** Follows redirects until a page answers; `stopAt` ends early at a URL matching it (returns that URL unvisited). */
export async function follow(jar: CookieJar, url: string, stopAt?: RegExp): Promise<{ url: string; res: Response | null }> {
  let current = url;
  for (let i = 0; i < 20; i++) {
    if (stopAt?.test(current)) return { url: current, res: null };
    const res = await browse(jar, current);
    const loc = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && loc) {
      current = new URL(loc, current).href;
      continue;
    }
    return { url: current, res };
  }
  throw new Error('too many redirects');
}

/** At the provider's login page: logs in as `email`, follows redirects until Firebreak's callback (not visited). */
export async function logInAtProvider(jar: CookieJar, interactionUrl: string, email: string): Promise<string> {
  const res = await browse(jar, interactionUrl, { method: 'POST', body: new URLSearchParams({ email }).toString() });
  const loc = res.headers.get('location');
  if (!loc) throw new Error(`provider login answered ${res.status}: ${await res.text()}`);
  const r = await follow(jar, new URL(loc, interactionUrl).href, /\/auth\/sso\/callback/);
  return r.url;
}
