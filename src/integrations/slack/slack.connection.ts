import type { SlackConfig } from '../../config.js';
import type { ConnectionsStore } from '../connections.js';
import type { Logger } from '../../platform/logger.js';
import { SlackApi, type SlackIdentity } from './slack.api.js';

// Where Slack credentials come from: the environment (SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET for HTTP, or with
// SLACK_APP_TOKEN for Socket Mode) or, when those are unset, the connection saved on the Integrations page (bot token
// with a signing secret, an app-level token or both; secrets encrypted by ConnectionsStore). Read
// through a short cache so every request does not decrypt; a save or delete on this process invalidates it,
// other processes pick the change up within CACHE_MS.

export interface SlackCredentials {
  source: 'environment' | 'integration';
  botToken: string;
  /** Null in Socket Mode configured without one (nothing is received over HTTP then). */
  signingSecret: string | null;
  /** App-level token: Slack is received over Socket Mode when set. */
  appToken: string | null;
  announcementsChannel: string | null;
}

export interface SlackStoredSettings {
  announcementsChannel: string | null;
  identity: SlackIdentity | null;
}

const CACHE_MS = 10_000;

export class SlackConnection {
  private cached: { at: number; value: SlackCredentials | null } | null = null;
  private apis = new Map<string, SlackApi>();
  private identities = new Map<string, Promise<SlackIdentity>>();
  private resolvedIdentities = new Map<string, SlackIdentity>();

  constructor(
    readonly env: SlackConfig,
    private readonly store: ConnectionsStore,
    private readonly logger: Logger,
    private readonly apiOptions: { maxRateLimitWaitSec?: number } = {},
  ) {}

  get fromEnvironment(): boolean {
    return !!(this.env.botToken && (this.env.signingSecret || this.env.appToken));
  }

  async credentials(): Promise<SlackCredentials | null> {
    if (this.fromEnvironment) {
      return {
        source: 'environment',
        botToken: this.env.botToken!,
        signingSecret: this.env.signingSecret ?? null,
        appToken: this.env.appToken ?? null,
        announcementsChannel: this.env.announcementsChannel,
      };
    }
    if (this.cached && Date.now() - this.cached.at < CACHE_MS) return this.cached.value;
    const conn = await this.store.get<SlackStoredSettings>('slack');
    let value: SlackCredentials | null = null;
    if (conn) {
      const [botToken, signingSecret, appToken] = await Promise.all([this.store.secret('slack', 'bot_token'), this.store.secret('slack', 'signing_secret'), this.store.secret('slack', 'app_token')]);
      if (botToken && (signingSecret || appToken)) value = { source: 'integration', botToken, signingSecret, appToken, announcementsChannel: conn.settings.announcementsChannel ?? null };
    }
    this.cached = { at: Date.now(), value };
    return value;
  }

  invalidate(): void {
    this.cached = null;
  }

  /** A client for a token (the configured one unless given). */
  apiFor(token: string): SlackApi {
    let api = this.apis.get(token);
    if (!api) {
      api = new SlackApi({ token, apiUrl: this.env.apiUrl, logger: this.logger, ...this.apiOptions });
      this.apis.set(token, api);
    }
    return api;
  }

  async api(): Promise<SlackApi | null> {
    const c = await this.credentials();
    return c ? this.apiFor(c.botToken) : null;
  }

  /** The client, or an error a person can act on. */
  async requireApi(): Promise<SlackApi> {
    const api = await this.api();
    if (!api) throw new Error('Slack is not connected: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, or connect Slack on the Integrations page.');
    return api;
  }

  /** The identity if auth.test already answered; otherwise starts it in the background and returns null. */
  identityIfKnown(token: string): SlackIdentity | null {
    const known = this.resolvedIdentities.get(token);
    if (!known) this.identity(token).catch((err) => this.logger.warn({ err }, 'Slack auth.test failed'));
    return known ?? null;
  }

  /** Workspace and bot behind a token (auth.test, remembered per token; a failure is not remembered). */
  async identity(token?: string): Promise<SlackIdentity | null> {
    const t = token ?? (await this.credentials())?.botToken;
    if (!t) return null;
    let p = this.identities.get(t);
    if (!p) {
      p = this.apiFor(t).identity();
      this.identities.set(t, p);
      p.then(
        (id) => this.resolvedIdentities.set(t, id),
        () => this.identities.delete(t),
      );
    }
    return p;
  }
}
