import type { App as BoltApp } from '@slack/bolt';
import type { Logger } from '../../platform/logger.js';
import type { SlackConnection } from './slack.connection.js';
import { SlackSocketMode, type SocketModeStatus } from './socket-mode.js';

// Who runs the Socket Mode connection: it follows the Slack credentials, wherever they come from. The environment
// (SLACK_APP_TOKEN) wins as always; otherwise the app-level token saved on the Integrations page. `reconcile()`
// compares the token the credentials have with the one the running connection uses: a new token starts a
// connection, another token restarts it, none (disconnected, or HTTP only) stops it. It runs once Firebreak listens,
// right after a save or a disconnect on this process, and every RECONCILE_MS (an unref'd timer) so that a change
// made on another process (PostgreSQL) is followed too. Reconciliations run one at a time. close() stops the timer
// and the connection (bounded by SlackSocketMode.stop()).

const RECONCILE_MS = 10_000;

export interface SocketModeOwnerOptions {
  connection: SlackConnection;
  apiUrl: string | null;
  /** Bolt, or how to get it (made on first use, see index.ts): asked for only when a connection starts. */
  bolt: BoltApp | (() => BoltApp);
  logger: Logger;
  reconcileMs?: number;
}

export class SocketModeOwner {
  private current: { token: string; socket: SlackSocketMode } | null = null;
  private started = false;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly opts: SocketModeOwnerOptions) {}

  /** Once Firebreak listens: connects if the credentials have an app-level token, and keeps following them. */
  async start(): Promise<void> {
    if (this.started || this.closed) return;
    this.started = true;
    this.timer = setInterval(() => void this.reconcile(), this.opts.reconcileMs ?? RECONCILE_MS);
    this.timer.unref();
    await this.reconcile();
  }

  /** Brings the connection in line with the current credentials (read afresh). Never throws. */
  reconcile(): Promise<void> {
    const run = this.queue.then(() => this.reconcileNow());
    this.queue = run.catch(() => undefined);
    return this.queue;
  }

  /** The running connection's status, if it uses this token (null: none runs for it, yet). */
  statusFor(appToken: string): SocketModeStatus | null {
    return this.current && this.current.token === appToken ? this.current.socket.status() : null;
  }

  /** Waits (bounded) until a connection that is starting has connected or failed, so an answer can say which. */
  async settled(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.current && this.current.socket.status().state === 'connecting' && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.reconcile();
  }

  private async reconcileNow(): Promise<void> {
    let wanted: { token: string; source: 'environment' | 'integration' } | null = null;
    if (this.started && !this.closed) {
      try {
        this.opts.connection.invalidate();
        const creds = await this.opts.connection.credentials();
        wanted = creds?.appToken ? { token: creds.appToken, source: creds.source } : null;
      } catch (err) {
        // The database is unreachable for now: keep whatever runs, and look again next time.
        this.opts.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'Slack Socket Mode: could not read the Slack credentials');
        return;
      }
    }
    if ((this.current?.token ?? null) === (wanted?.token ?? null)) return;
    if (this.current) {
      const old = this.current;
      this.current = null;
      this.opts.logger.info(wanted ? 'Slack Socket Mode: the app-level token changed, reconnecting with the new one' : 'Slack Socket Mode: no app-level token any more, closing the connection');
      await old.socket.stop();
    }
    if (!wanted || this.closed) return;
    const socket = new SlackSocketMode({ appToken: wanted.token, apiUrl: this.opts.apiUrl, bolt: typeof this.opts.bolt === 'function' ? this.opts.bolt() : this.opts.bolt, logger: this.opts.logger, tokenSource: wanted.source });
    this.current = { token: wanted.token, socket };
    socket.start();
  }
}
