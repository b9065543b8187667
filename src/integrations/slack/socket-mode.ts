import type { App as BoltApp } from '@slack/bolt';
import { createRequire } from 'node:module';
import type { SocketModeClient } from '@slack/socket-mode';
import { LogLevel, WebAPIPlatformError, WebClient } from '@slack/web-api';
import type { Logger } from '../../platform/logger.js';
import { slackSdkLogger } from './sdk-logger.js';

const require = createRequire(import.meta.url);

// Socket Mode: for installs without a public URL. With an app-level token (SLACK_APP_TOKEN, xapp-…) Firebreak asks
// Slack for a WebSocket URL (apps.connections.open), keeps one connection open, and receives every slash command,
// interaction and Events API delivery on it as an envelope. Each envelope goes to the same Bolt app as
// POST /slack/events, through `processEvent`; Bolt's `ack(body)` sends `{envelope_id, payload: body}` back on the
// socket, so response_action errors, options and command replies work exactly as the HTTP response body does.
//
// Acknowledgement follows the HTTP receiver: a listener that has not acked after ACK_DEADLINE_MS gets an empty ack
// (Slack gives up at 3 s); one that finishes without acking is acked empty; one that fails before acking is not
// acked, so Slack shows the person an error and retries an event, as it does after an HTTP 500.
//
// Connection: we run the reconnect loop ourselves (SocketModeClient's own one leaves an unhandled rejection when
// apps.connections.open fails for good). Slack refreshes connections regularly with a `disconnect` message: we
// reconnect at once, then back off (1 s, 2 s, 5 s, 10 s, 30 s) while it keeps failing. A token Slack refuses
// (invalid_auth, not_allowed_token_type…) is not retried: the status says so until the token is fixed.
// With several Firebreak processes (PostgreSQL) each opens its own connection; Slack allows up to 10 per app and
// spreads envelopes over them, and every handler already runs the same way whichever process gets the envelope.

const ACK_DEADLINE_MS = 2500;
const RECONNECT_DELAYS_MS = [0, 1000, 2000, 5000, 10_000, 30_000];
const STOP_TIMEOUT_MS = 2000;
/** Answers from apps.connections.open that a retry cannot fix. */
const REFUSED_TOKEN = new Set(['invalid_auth', 'not_authed', 'not_allowed_token_type', 'account_inactive', 'token_revoked', 'token_expired', 'missing_scope', 'team_disabled', 'user_removed_from_team']);

export type SocketModeState = 'connecting' | 'connected' | 'reconnecting' | 'error' | 'stopped';

export interface SocketModeStatus {
  state: SocketModeState;
  /** When the current connection said hello; null while not connected. */
  connectedAt: string | null;
  /** Why the last attempt failed (never contains the token). */
  error: string | null;
  /** Connections opened since start (1 after the first, +1 for each reconnection). */
  connections: number;
}

export interface SlackSocketModeOptions {
  appToken: string;
  /** SLACK_API_URL (the emulator in tests); Slack's own when null. */
  apiUrl: string | null;
  bolt: BoltApp;
  logger: Logger;
  /** Where the token was configured, so a refused token's message says where to fix it (SLACK_APP_TOKEN by default). */
  tokenSource?: 'environment' | 'integration';
  ackDeadlineMs?: number;
  reconnectDelaysMs?: number[];
}

interface SlackEventArgs {
  ack: (response?: Record<string, unknown>) => Promise<void>;
  envelope_id: string;
  type: string;
  body: Record<string, any>;
  retry_num?: number;
  retry_reason?: string;
}

export class SlackSocketMode {
  private readonly client: SocketModeClient;
  private readonly log: Logger;
  private stateValue: SocketModeState = 'stopped';
  private connectedAt: string | null = null;
  private lastError: string | null = null;
  private opened = 0;
  private failures = 0;
  private connecting = false;
  private stopped = true;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: SlackSocketModeOptions) {
    this.log = opts.logger.child({ transport: 'socket_mode' });
    // Loaded when a connection is made, not at start: the client brings undici (~110 modules) that a Firebreak
    // without Socket Mode never needs.
    const { SocketModeClient } = require('@slack/socket-mode') as typeof import('@slack/socket-mode');
    this.client = new SocketModeClient({
      appToken: opts.appToken,
      autoReconnectEnabled: false,
      logger: slackSdkLogger(this.log, { errorsAs: 'warn' }),
      clientOptions: { ...(opts.apiUrl ? { slackApiUrl: opts.apiUrl } : {}), retryConfig: { retries: 1, factor: 1, minTimeout: 500, maxTimeout: 500 } },
    });
    this.client.on('slack_event', (args: SlackEventArgs) => void this.handle(args));
    this.client.on('disconnected', () => this.onDisconnected());
  }

  status(): SocketModeStatus {
    return { state: this.stateValue, connectedAt: this.connectedAt, error: this.lastError, connections: this.opened };
  }

  /** Connects in the background; never throws (the status and the log say how it goes). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.stateValue = 'connecting';
    this.log.info('Slack Socket Mode: connecting');
    void this.connect();
  }

  /** Closes the socket (bounded: a peer that never completes the close handshake cannot hold up shutdown). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([this.client.disconnect().catch(() => undefined), new Promise<void>((r) => (timeout = setTimeout(r, STOP_TIMEOUT_MS)))]);
    clearTimeout(timeout);
    this.stateValue = 'stopped';
    this.connectedAt = null;
    this.log.info('Slack Socket Mode: stopped');
  }

  private async connect(): Promise<void> {
    if (this.stopped || this.connecting) return;
    this.connecting = true;
    try {
      await this.client.start(); // resolves on Slack's hello
      if (this.stopped) {
        await this.client.disconnect().catch(() => undefined);
        return;
      }
      this.failures = 0;
      this.opened += 1;
      this.stateValue = 'connected';
      this.connectedAt = new Date().toISOString();
      this.lastError = null;
      this.log.info({ connections: this.opened }, this.opened === 1 ? 'Slack Socket Mode: connected' : 'Slack Socket Mode: reconnected');
    } catch (err) {
      if (this.stopped) return;
      const code = err instanceof WebAPIPlatformError ? String(err.data.error) : null;
      if (code && REFUSED_TOKEN.has(code)) {
        this.stateValue = 'error';
        this.connectedAt = null;
        const where = this.opts.tokenSource === 'integration' ? 'the app-level token on Settings → Integrations → Slack' : 'SLACK_APP_TOKEN';
        this.lastError = `Slack refused the app-level token (${code}) when opening a Socket Mode connection: check ${where} (Basic Information → App-Level Tokens, with the connections:write scope).`;
        this.log.error({ code }, `Slack Socket Mode: ${this.lastError} Not retrying.`);
        return;
      }
      this.lastError = code ? `apps.connections.open answered ${code}` : `could not connect: ${describe(err)}`;
      this.scheduleReconnect();
    } finally {
      this.connecting = false;
    }
  }

  private onDisconnected(): void {
    // Failed attempts are handled where start() rejects; this is a live connection going away.
    if (this.stopped || this.connecting) return;
    this.connectedAt = null;
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.timer) return;
    const delays = this.opts.reconnectDelaysMs ?? RECONNECT_DELAYS_MS;
    const delay = delays[Math.min(this.failures, delays.length - 1)] ?? 0;
    this.failures += 1;
    this.stateValue = 'reconnecting';
    this.log.warn({ delayMs: delay, ...(this.lastError ? { error: this.lastError } : {}) }, 'Slack Socket Mode: disconnected, reconnecting');
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, delay);
  }

  /** One envelope → Bolt, with the same acknowledgement rules as POST /slack/events. */
  private async handle(args: SlackEventArgs): Promise<void> {
    let acked = false;
    const ack = async (response?: unknown) => {
      if (acked) return;
      acked = true;
      clearTimeout(deadline);
      const payload = response === undefined || response === '' ? undefined : typeof response === 'string' ? { text: response } : (response as Record<string, unknown>);
      try {
        await args.ack(payload);
      } catch (err) {
        this.log.warn({ err: describe(err), type: args.type }, 'Slack Socket Mode: could not acknowledge an envelope (the connection closed)');
      }
    };
    const deadline = setTimeout(() => {
      this.log.warn({ type: args.type }, 'Slack listener did not acknowledge in time; acknowledged with an empty answer');
      void ack();
    }, this.opts.ackDeadlineMs ?? ACK_DEADLINE_MS);
    try {
      await this.opts.bolt.processEvent({
        body: args.body,
        ack,
        ...(typeof args.retry_num === 'number' && args.retry_num > 0 ? { retryNum: args.retry_num, retryReason: args.retry_reason ?? '' } : {}),
      });
      await ack();
    } catch (err) {
      clearTimeout(deadline);
      if (acked) this.log.error({ err }, 'Slack listener failed after acknowledging');
      else {
        acked = true; // no ack: Slack shows the person an error (and retries an event)
        this.log.error({ err }, 'Slack listener failed before acknowledging; the envelope was not acknowledged');
      }
    }
  }
}

/**
 * Asks Slack for a Socket Mode URL with an app-level token, without connecting to it: what the Integrations page
 * does before saving a token. Resolves to null when Slack accepts it, or to Slack's error code; throws when Slack
 * cannot be reached.
 */
export async function checkAppToken(appToken: string, apiUrl: string | null): Promise<string | null> {
  const client = new WebClient(appToken, { ...(apiUrl ? { slackApiUrl: apiUrl } : {}), retryConfig: { retries: 0 }, timeout: 10_000, logger: silentLogger });
  try {
    await client.apps.connections.open({});
    return null;
  } catch (err) {
    if (err instanceof WebAPIPlatformError) return String(err.data.error);
    throw new Error(`could not reach Slack: ${describe(err)}`);
  }
}

const silentLogger = { debug() {}, info() {}, warn() {}, error() {}, setLevel() {}, getLevel: () => LogLevel.ERROR, setName() {} };

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
