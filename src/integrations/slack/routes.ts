import { z } from 'zod';
import { ConflictError, UpstreamError, ValidationError } from '../../platform/errors.js';
import type { App } from '../../platform/http/server.js';
import { requireAccess } from '../../users/auth.js';
import type { ConnectionsStore } from '../connections.js';
import type { IntegrationStatus } from '../registry.js';
import { SlackApi, SlackApiError, type SlackIdentity } from './slack.api.js';
import type { SlackConnection, SlackStoredSettings } from './slack.connection.js';
import { checkAppToken } from './socket-mode.js';
import type { SocketModeOwner } from './socket-mode.owner.js';
import type { SlackStore } from './slack.store.js';

// The Integrations page's Slack card: GET shows the connection (workspace and bot from auth.test, secrets
// masked to their last 4 characters), PUT connects or replaces it after checking the tokens with Slack (the bot
// token with auth.test, an app-level token with apps.connections.open), DELETE disconnects. With an app-level token
// Slack is received over Socket Mode and the signing secret is optional; the socket follows the saved credentials
// (socket-mode.owner.ts), at once on this process. Admins only. When Slack is configured through the environment the page shows it and
// refuses changes (the environment wins, and would silently override a saved connection).

const mask = (s: string | null | undefined) => (s ? `••••${s.slice(-4)}` : null);

const slackJson = z.object({
  status: z.enum(['not_connected', 'connected', 'error']),
  source: z.enum(['environment', 'integration']).nullable(),
  team: z.string().nullable(),
  team_id: z.string().nullable(),
  bot_name: z.string().nullable(),
  bot_user_id: z.string().nullable(),
  bot_token: z.string().nullable(),
  signing_secret: z.string().nullable(),
  app_token: z.string().nullable(),
  announcements_channel: z.string().nullable(),
  events_url: z.string(),
  /** How Slack reaches Firebreak: POST events_url, or a Socket Mode connection Firebreak opens (with an app-level token). */
  transport: z.enum(['http', 'socket_mode']),
  socket_mode: z
    .object({
      state: z.enum(['connecting', 'connected', 'reconnecting', 'error', 'stopped']),
      connected: z.boolean(),
      connected_at: z.string().nullable(),
      connections: z.number().int(),
      error: z.string().nullable(),
    })
    .nullable(),
  error: z.string().nullable(),
  /** Archive an incident's channel this many minutes after it closes (skipped if reopened meanwhile); null: never. */
  archive_after_close_minutes: z.number().nullable(),
});
type SlackJson = z.infer<typeof slackJson>;

export interface SlackRoutesDeps {
  connection: SlackConnection;
  connections: ConnectionsStore;
  publicUrl: () => string;
  /** Runs the Socket Mode connection when the credentials have an app-level token. */
  socketMode?: SocketModeOwner | null;
  /** Slack settings that hold whatever the credentials' source (the archive delay). */
  store: Pick<SlackStore, 'archiveAfterCloseMinutes' | 'setArchiveAfterCloseMinutes'>;
}

export async function slackStatus(deps: SlackRoutesDeps): Promise<SlackJson> {
  const creds = await deps.connection.credentials();
  const base: SlackJson = {
    status: 'not_connected',
    source: null,
    team: null,
    team_id: null,
    bot_name: null,
    bot_user_id: null,
    bot_token: null,
    signing_secret: null,
    app_token: null,
    announcements_channel: null,
    events_url: `${deps.publicUrl()}/slack/events`,
    transport: creds?.appToken ? 'socket_mode' : 'http',
    socket_mode: null,
    error: null,
    archive_after_close_minutes: await deps.store.archiveAfterCloseMinutes(),
  };
  if (creds?.appToken) {
    // No connection for this token yet: it starts as soon as this process sees the credentials (another process
    // saved them a moment ago).
    const sm = deps.socketMode?.statusFor(creds.appToken) ?? { state: 'connecting' as const, connectedAt: null, connections: 0, error: null };
    base.socket_mode = { state: sm.state, connected: sm.state === 'connected', connected_at: sm.connectedAt, connections: sm.connections, error: sm.error };
  }
  if (!creds) return base;
  const withCreds = {
    ...base,
    source: creds.source,
    bot_token: mask(creds.botToken),
    signing_secret: mask(creds.signingSecret),
    app_token: mask(creds.appToken),
    announcements_channel: creds.announcementsChannel,
  };
  let identity: SlackIdentity | null = null;
  let error: string | null = null;
  if (creds.source === 'integration') identity = (await deps.connections.get<SlackStoredSettings>('slack'))?.settings.identity ?? null;
  if (!identity) {
    try {
      identity = await deps.connection.identity(creds.botToken);
    } catch (err) {
      error = err instanceof SlackApiError ? `Slack answered ${err.code} to auth.test` : (err as Error).message;
    }
  }
  // A token Slack refuses for Socket Mode means nothing reaches Firebreak: that is an error, not "connected".
  if (!error && base.socket_mode?.state === 'error') error = base.socket_mode.error;
  return {
    ...withCreds,
    status: error ? 'error' : 'connected',
    team: identity?.team ?? null,
    team_id: identity?.teamId ?? null,
    bot_name: identity?.botName ?? null,
    bot_user_id: identity?.botUserId ?? null,
    error,
  };
}

export async function slackIntegrationStatus(deps: SlackRoutesDeps): Promise<IntegrationStatus> {
  const s = await slackStatus(deps);
  return {
    kind: 'slack',
    name: 'Slack',
    description: 'Run incidents from Slack: a channel per incident, /incident commands and modals.',
    status: s.status,
    details:
      s.status === 'not_connected'
        ? null
        : {
            team: s.team,
            bot_name: s.bot_name,
            source: s.source,
            transport: s.transport,
            ...(s.socket_mode ? { socket_mode: s.socket_mode.state } : {}),
            ...(s.error ? { error: s.error } : {}),
          },
  };
}

export function registerSlackRoutes(app: App, deps: SlackRoutesDeps & { apiUrl: string | null }): void {
  const admin = requireAccess('admin');
  const fromEnv = () => {
    if (deps.connection.fromEnvironment) {
      throw new ConflictError('configured_by_environment', 'Slack is configured by SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET in the environment; change it there (or unset them to manage Slack here).');
    }
  };

  app.get('/api/v1/integrations/slack', { onRequest: admin, schema: { tags: ['integrations'], summary: 'The Slack connection (secrets masked)', response: { 200: z.object({ slack: slackJson }) } } }, async () => ({
    slack: await slackStatus(deps),
  }));

  app.put(
    '/api/v1/integrations/slack',
    {
      config: { upstream: true },
      onRequest: admin,
      schema: {
        tags: ['integrations'],
        summary: 'Connect Slack: the bot token (auth.test) and the app-level token (apps.connections.open) are checked before they are saved',
        body: z.strictObject({
          bot_token: z.string().trim().regex(/^xoxb-\S+$/, 'must be a bot token starting with xoxb-'),
          /** Required unless app_token is given (Socket Mode needs none). */
          signing_secret: z.string().trim().min(8, 'must be the Signing Secret from the Basic Information page').max(200).nullable().optional(),
          /** Socket Mode: Slack is received over a connection Firebreak opens, no public URL needed. */
          app_token: z
            .string()
            .trim()
            .regex(/^xapp-\S+$/, 'must be an app-level token starting with xapp- (Basic Information → App-Level Tokens, with the connections:write scope)')
            .max(300)
            .nullable()
            .optional(),
          announcements_channel: z.string().trim().min(1).max(80).nullable().optional(),
        }),
        response: { 200: z.object({ slack: slackJson }) },
      },
    },
    async (req) => {
      fromEnv();
      const b = req.body;
      const appToken = b.app_token || null;
      const signingSecret = b.signing_secret || null;
      if (!appToken && !signingSecret) {
        throw new ValidationError('A signing secret is required unless an app-level token is given (Socket Mode).', [
          { path: 'signing_secret', message: 'required without an app-level token: the Signing Secret from the Basic Information page' },
        ]);
      }
      let identity: SlackIdentity;
      try {
        identity = await new SlackApi({ token: b.bot_token, apiUrl: deps.apiUrl, logger: req.log, maxRateLimitWaitSec: 5 }).identity();
      } catch (err) {
        if (err instanceof SlackApiError && ['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked'].includes(err.code)) {
          throw new ValidationError(`Slack does not accept this bot token (${err.code}).`, [{ path: 'bot_token', message: `Slack answered ${err.code}` }]);
        }
        throw new UpstreamError(`Could not reach Slack to check the token: ${(err as Error).message}`);
      }
      if (appToken) {
        let refused: string | null;
        try {
          refused = await checkAppToken(appToken, deps.apiUrl);
        } catch (err) {
          throw new UpstreamError(`Could not reach Slack to check the app-level token: ${(err as Error).message}`);
        }
        if (refused) {
          throw new ValidationError(`Slack does not accept this app-level token (${refused}): it must be an app-level token from Basic Information → App-Level Tokens, with the connections:write scope.`, [
            { path: 'app_token', message: `Slack answered ${refused} to apps.connections.open` },
          ]);
        }
      }
      const settings: SlackStoredSettings = { announcementsChannel: b.announcements_channel ?? null, identity };
      const principal = req.principal;
      await deps.connections.save('slack', {
        settings: settings as unknown as Record<string, unknown>,
        secrets: { bot_token: b.bot_token, ...(signingSecret ? { signing_secret: signingSecret } : {}), ...(appToken ? { app_token: appToken } : {}) },
        connectedBy: principal?.kind === 'session' ? principal.user.id : null,
      });
      deps.connection.invalidate();
      // The socket follows at once: started, restarted with the new token, or stopped when there is none now.
      if (deps.socketMode) {
        await deps.socketMode.reconcile();
        await deps.socketMode.settled(5000);
      }
      return { slack: await slackStatus(deps) };
    },
  );

  // Settings of how Slack follows incidents; they apply whether Slack is configured here or by the environment.
  app.put(
    '/api/v1/integrations/slack/settings',
    {
      onRequest: admin,
      schema: {
        tags: ['integrations'],
        summary: "Slack behaviour: archive an incident's channel a while after it closes (null: never)",
        body: z.strictObject({
          archive_after_close_minutes: z
            .number()
            .min(0, 'must be 0 (archive right after close) or more minutes')
            .max(43_200, 'must be at most 43200 minutes (30 days)')
            .nullable(),
        }),
        response: { 200: z.object({ slack: slackJson }) },
      },
    },
    async (req) => {
      await deps.store.setArchiveAfterCloseMinutes(req.body.archive_after_close_minutes);
      return { slack: await slackStatus(deps) };
    },
  );

  app.delete('/api/v1/integrations/slack', { onRequest: admin, schema: { tags: ['integrations'], summary: 'Disconnect Slack (deletes the stored tokens and secret, closes a Socket Mode connection)' } }, async (_req, reply) => {
    fromEnv();
    await deps.connections.delete('slack');
    deps.connection.invalidate();
    await deps.socketMode?.reconcile();
    return reply.status(204).send();
  });
}
