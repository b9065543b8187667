import * as oidc from 'openid-client';
import { recordAudit } from '../audit/audit.js';
import type { ConnectionsStore } from '../integrations/connections.js';
import type { SecretBox } from '../platform/crypto/secrets.js';
import { inTransaction, type Db, type Executor } from '../platform/db/index.js';
import type { Logger } from '../platform/logger.js';
import type { Role, User, UsersService } from './users.service.js';

// Single sign-on with OpenID Connect (authorization code flow with PKCE, state and nonce, through openid-client).
// The provider is configured by the environment (OIDC_*) or on Settings → Single sign-on; its settings live in the
// `sso` row of integration_connections, the client secret encrypted there like every connection secret. The
// in-flight sign-in (state, nonce, PKCE verifier) rides in an encrypted, short-lived cookie, so nothing is
// stored until the provider has vouched for the person.

export const SSO_KIND = 'sso';
export const ssoRoles = ['admin', 'responder', 'viewer'] as const;
export type SsoRole = (typeof ssoRoles)[number];
const rank: Record<Role, number> = { viewer: 0, responder: 1, admin: 2, owner: 3 };
const FLOW_TTL_MS = 10 * 60_000;

export interface SsoSettings {
  issuer: string | null;
  clientId: string | null;
  providerName: string;
  defaultRole: SsoRole;
  groupsClaim: string | null;
  groupRoles: { group: string; role: SsoRole }[];
  requireSso: boolean;
}

export interface SsoView extends SsoSettings {
  /** Whether sign-in can start: an issuer, client id and secret are known. */
  enabled: boolean;
  /** Where issuer, client id and secret come from: the environment wins over the settings page. */
  source: 'environment' | 'settings' | null;
  clientSecretSet: boolean;
}

type Stored = Omit<SsoSettings, never>;
const defaults: Stored = { issuer: null, clientId: null, providerName: 'SSO', defaultRole: 'responder', groupsClaim: null, groupRoles: [], requireSso: false };

/** A sign-in refused: the page a person reads says why. */
export class SsoRefusal extends Error {
  constructor(
    readonly title: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

interface Flow {
  state: string;
  nonce: string;
  verifier: string;
  exp: number;
}

export class SsoService {
  constructor(
    private readonly deps: {
      db: Db;
      connections: ConnectionsStore;
      box: SecretBox;
      users: UsersService;
      env: { issuer: string; clientId: string; clientSecret: string; providerName: string | null } | null;
      allowHttp: boolean;
      publicUrl: () => string;
      logger: Logger;
    },
  ) {
    // Owners keep sign-in links as the break-glass way in; everyone else signs in through the provider when required.
    deps.users.setLinkPolicy(async (user, tx) => {
      if (user.role === 'owner') return null;
      const s = await this.view(tx);
      if (!s.enabled || !s.requireSso) return null;
      return `Sign-in links are turned off for everyone but owners: sign in with ${s.providerName} on the sign-in page instead.`;
    });
  }

  async view(db: Executor = this.deps.db): Promise<SsoView> {
    const row = await this.deps.connections.get<Partial<Stored>>(SSO_KIND, db);
    const stored: Stored = { ...defaults, ...(row?.settings ?? {}) };
    const env = this.deps.env;
    if (env) {
      return { ...stored, issuer: env.issuer, clientId: env.clientId, providerName: env.providerName ?? stored.providerName, enabled: true, source: 'environment', clientSecretSet: true };
    }
    const clientSecretSet = !!row?.secretNames.includes('client_secret');
    const enabled = !!stored.issuer && !!stored.clientId && clientSecretSet;
    return { ...stored, enabled, source: stored.issuer ? 'settings' : null, clientSecretSet };
  }

  /** Saves the settings (the secret only when given; kept otherwise). Issuer and client come from the environment when set there. */
  async save(input: Partial<Stored> & { clientSecret?: string | null }, by: User, ip: string | null): Promise<SsoView> {
    const current = await this.view();
    const next: Stored = {
      issuer: current.source === 'environment' ? current.issuer : (input.issuer ?? current.issuer),
      clientId: current.source === 'environment' ? current.clientId : (input.clientId ?? current.clientId),
      providerName: input.providerName ?? current.providerName,
      defaultRole: input.defaultRole ?? current.defaultRole,
      groupsClaim: input.groupsClaim !== undefined ? input.groupsClaim : current.groupsClaim,
      groupRoles: input.groupRoles ?? current.groupRoles,
      requireSso: input.requireSso ?? current.requireSso,
    };
    const issuerChanged = next.issuer !== current.issuer || next.clientId !== current.clientId || !!input.clientSecret;
    const secret = input.clientSecret ?? (this.deps.env ? null : await this.deps.connections.secret(SSO_KIND, 'client_secret'));
    if (next.issuer && issuerChanged && current.source !== 'environment') {
      if (!next.clientId || !secret) throw new SsoSettingsError('An issuer needs a client id and a client secret.');
      await this.discover({ issuer: next.issuer, clientId: next.clientId, clientSecret: secret }).catch((err: unknown) => {
        throw new SsoSettingsError(`Could not read the provider's OpenID configuration at ${next.issuer}: ${(err as Error).message}`);
      });
    }
    const settings = { ...next } as unknown as Record<string, unknown>;
    if (current.source === 'environment') {
      delete settings.issuer;
      delete settings.clientId;
    }
    await inTransaction(this.deps.db, async (tx) => {
      await this.deps.connections.save(SSO_KIND, { settings, secrets: secret && !this.deps.env ? { client_secret: secret } : {}, connectedBy: by.id }, tx);
      const { clientSecret: _hidden, ...changed } = input;
      await recordAudit(tx, { actor: { kind: 'user', userId: by.id }, action: 'sso.settings_changed', target: { kind: 'sso', id: null }, details: { ...changed, clientSecretChanged: !!input.clientSecret }, ip });
    });
    return this.view();
  }

  async remove(by: User, ip: string | null): Promise<void> {
    await inTransaction(this.deps.db, async (tx) => {
      await this.deps.connections.delete(SSO_KIND, tx);
      await recordAudit(tx, { actor: { kind: 'user', userId: by.id }, action: 'sso.settings_removed', target: { kind: 'sso', id: null }, ip });
    });
  }

  private async client(): Promise<{ view: SsoView; config: oidc.Configuration }> {
    const view = await this.view();
    if (!view.enabled) throw new SsoRefusal('Single sign-on is not set up', 'An admin can set it up on Settings → Single sign-on.', 404);
    const clientSecret = this.deps.env ? this.deps.env.clientSecret : await this.deps.connections.secret(SSO_KIND, 'client_secret');
    try {
      const config = await this.discover({ issuer: view.issuer!, clientId: view.clientId!, clientSecret: clientSecret! });
      return { view, config };
    } catch (err) {
      this.deps.logger.warn({ err, issuer: view.issuer }, 'single sign-on: the identity provider could not be reached');
      throw new SsoRefusal(`${view.providerName} cannot be reached`, `Firebreak could not reach ${view.providerName} (${view.issuer}) to sign you in. Try again in a moment; if it keeps failing, ask an admin.`, 502);
    }
  }

  private discover(c: { issuer: string; clientId: string; clientSecret: string }): Promise<oidc.Configuration> {
    return oidc.discovery(new URL(c.issuer), c.clientId, undefined, oidc.ClientSecretPost(c.clientSecret), {
      timeout: 10,
      ...(this.deps.allowHttp ? { execute: [oidc.allowInsecureRequests] } : {}),
    });
  }

  redirectUri(): string {
    return `${this.deps.publicUrl()}/auth/sso/callback`;
  }

  /** Where to send the browser, and the sealed flow to keep in its cookie until it comes back. */
  async start(): Promise<{ url: string; flowCookie: string }> {
    const { view, config } = await this.client();
    const flow: Flow = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier(), exp: Date.now() + FLOW_TTL_MS };
    const scope = ['openid', 'email', 'profile', ...(view.groupsClaim ? ['groups'] : [])].join(' ');
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri(),
      scope,
      state: flow.state,
      nonce: flow.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: 'S256',
    });
    return { url: url.href, flowCookie: this.deps.box.encrypt(JSON.stringify(flow), 'sso.flow') };
  }

  /** The provider sent the browser back: check state, code (with the PKCE verifier) and nonce, then sign the person in. */
  async finish(currentUrl: URL, flowCookie: string | undefined, ip: string | null) {
    const flow = this.openFlow(flowCookie);
    const providerError = currentUrl.searchParams.get('error');
    const { view, config } = await this.client();
    if (providerError) {
      throw new SsoRefusal(`${view.providerName} did not sign you in`, `${view.providerName} answered: ${currentUrl.searchParams.get('error_description') ?? providerError}.`);
    }
    let claims: Record<string, unknown>;
    try {
      const tokens = await oidc.authorizationCodeGrant(config, currentUrl, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true });
      const idClaims = tokens.claims()!;
      const info = await oidc.fetchUserInfo(config, tokens.access_token, idClaims.sub);
      claims = { ...idClaims, ...info };
    } catch (err) {
      throw this.explain(err, view.providerName);
    }
    return this.signIn(view, claims, ip);
  }

  private openFlow(cookie: string | undefined): Flow {
    const stale = new SsoRefusal('Sign-in expired', 'This sign-in was started too long ago or in another browser. Start again from the sign-in page.');
    if (!cookie) throw stale;
    let flow: Flow;
    try {
      flow = JSON.parse(this.deps.box.decrypt(cookie, 'sso.flow')) as Flow;
    } catch {
      throw stale;
    }
    if (!(flow.exp > Date.now())) throw stale;
    return flow;
  }

  private explain(err: unknown, provider: string): SsoRefusal {
    // openid-client wraps the check that failed (oauth4webapi's error) in `cause`: read the whole chain.
    let e = err as { code?: string; message?: string; error?: string; cause?: unknown };
    const messages: string[] = [];
    for (let c: unknown = err, i = 0; c && typeof c === 'object' && i < 5; c = (c as { cause?: unknown }).cause, i++) {
      const m = (c as { message?: unknown }).message;
      if (typeof m === 'string') messages.push(m);
      if ((c as { error?: unknown }).error) e = c as typeof e;
    }
    const message = messages.join(': ') || String(err);
    this.deps.logger.warn({ err }, 'single sign-on: sign-in refused');
    if (/"state"/.test(message)) return new SsoRefusal('Sign-in not valid', 'The answer from the identity provider does not belong to the sign-in this browser started (state mismatch). Start again from the sign-in page.');
    if (/"nonce"/.test(message)) return new SsoRefusal('Sign-in not valid', 'The identity token was not issued for this sign-in (nonce mismatch). Start again from the sign-in page.');
    if (e.error === 'invalid_grant') return new SsoRefusal('Sign-in not valid', `The sign-in code from ${provider} has expired or was already used. Start again from the sign-in page.`);
    if (e.code === 'OAUTH_RESPONSE_BODY_ERROR') return new SsoRefusal('Sign-in not valid', `${provider} refused the sign-in (${e.error ?? 'error'}). Start again from the sign-in page.`);
    if (err instanceof TypeError || /fetch|ECONNREFUSED|timed? ?out|abort/i.test(message)) {
      return new SsoRefusal(`${provider} cannot be reached`, `Firebreak could not reach ${provider} to finish signing you in. Try again in a moment.`, 502);
    }
    return new SsoRefusal('Sign-in not valid', `The answer from ${provider} could not be verified (${message}). Start again from the sign-in page.`);
  }

  /** Matches (verified email) or creates the person, applies the groups mapping, and starts a session. */
  private async signIn(view: SsoView, claims: Record<string, unknown>, ip: string | null) {
    const email = typeof claims.email === 'string' ? claims.email.trim() : '';
    if (!email) throw new SsoRefusal('No email address', `${view.providerName} did not share an email address, so Firebreak cannot tell who you are. Ask an admin to allow the email scope.`, 403);
    if (claims.email_verified !== true) {
      throw new SsoRefusal('Email address not verified', `${view.providerName} says ${email} is not verified. Verify it with ${view.providerName}, then sign in again.`, 403);
    }
    const mapped = this.mappedRole(view, claims);
    const system = { kind: 'system' as const, ref: 'sso' };
    let user = await this.deps.users.findByEmail(email);
    if (!user) {
      const name = typeof claims.name === 'string' && claims.name.trim() ? claims.name.trim().slice(0, 200) : email.split('@')[0]!;
      user = await this.deps.users.create({ name, email, role: mapped ?? view.defaultRole }, system, system, ip);
    } else if (mapped && user.role !== 'owner' && user.role !== mapped) {
      // The provider's groups decide the role of everyone but owners, whom single sign-on never changes.
      user = await this.deps.users.update(user.id, { role: mapped }, system, system, ip);
    }
    return this.deps.users.signInVerified(user.id, ip, { via: 'sso', provider: view.providerName, issuer: view.issuer, subject: claims.sub });
  }

  /** The highest role any of the person's groups maps to (never above admin), or null. */
  mappedRole(view: SsoSettings, claims: Record<string, unknown>): SsoRole | null {
    if (!view.groupsClaim || !view.groupRoles.length) return null;
    const raw = claims[view.groupsClaim];
    const groups = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? [raw] : [];
    let best: SsoRole | null = null;
    for (const { group, role } of view.groupRoles) {
      if (!groups.includes(group) || !(ssoRoles as readonly string[]).includes(role)) continue;
      if (!best || rank[role] > rank[best]) best = role;
    }
    return best;
  }
}

export class SsoSettingsError extends Error {}
