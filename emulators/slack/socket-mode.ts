// Socket Mode: instead of POSTing to the app's request URL, Slack hands the app a single-use WebSocket URL
// (apps.connections.open with the app-level token) and sends every request as an envelope on that socket;
// the app acknowledges each envelope by id, optionally with the body an HTTP response would have carried.
//
// Shapes (as Slack sends them and as @slack/socket-mode reads them):
//   hello      {type:'hello', num_connections, debug_info:{host, build_number, approximate_connection_time}, connection_info:{app_id}}
//   envelope   {envelope_id, type:'slash_commands'|'interactive'|'events_api', payload, accepts_response_payload,
//               retry_attempt, retry_reason}   (retry_* on events_api only, as Slack does)
//   ack        {envelope_id, payload?}           (from the app)
//   disconnect {type:'disconnect', reason:'refresh_requested'|'warning'|'link_disabled'|…, debug_info:{host}}
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { DriverResult } from './types.js';

export type SocketEnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

export interface SlackSocketConnection {
  id: string;
  openedAt: number;
  closedAt?: number;
  /** Close code seen when the socket closed (1000 after a clean close handshake, 1006 when it was cut). */
  closeCode?: number;
}

export interface SlackSocketEnvelope {
  envelopeId: string;
  type: SocketEnvelopeType;
  payload: Record<string, any>;
  acceptsResponsePayload: boolean;
  retryAttempt?: number;
  retryReason?: string;
  /** Connection it went out on; null while it waits in the queue (events only). */
  connectionId: string | null;
  sentAt: number | null;
  /** What happened to it: acked in time, not acked within the ack timeout, queued (no connection), or refused (no connection). */
  outcome: 'pending' | 'acked' | 'timeout' | 'queued' | 'no_connection';
  ackedAt?: number;
  /** The `payload` of the app's ack as sent (undefined when the ack had none). */
  ackPayload?: unknown;
}

export interface SocketDeliveryResult extends DriverResult {
  envelopeId: string;
  /** Events sent while no app is connected wait here and go out on the next connection. */
  queued?: boolean;
}

/** Test/control face of Socket Mode (`emu.socketMode`). */
export interface SlackSocketMode {
  /** true once an app opened a connection (or `enable()` was called): the driver then sends envelopes instead of HTTP requests. */
  readonly enabled: boolean;
  enable(): void;
  /** Back to HTTP delivery to the app URL (closes every socket). */
  disable(): void;
  /** Open connections (hello sent). */
  connections(): SlackSocketConnection[];
  /** Every connection ever opened, closed ones included. */
  connectionLog(): SlackSocketConnection[];
  envelopes(): SlackSocketEnvelope[];
  /** Events waiting for a connection. */
  queued(): SlackSocketEnvelope[];
  /** Acks whose envelope_id matched nothing pending (unknown, duplicate or later than the ack timeout). */
  strayAcks(): unknown[];
  /** Resolves with an open connection (optionally one not in `except`), or rejects after `timeoutMs`. */
  waitForConnection(opts?: { timeoutMs?: number; except?: string[] }): Promise<SlackSocketConnection>;
  /** Sends `{type:'disconnect', reason}` (Slack's request to reconnect) to one or every connection; returns how many were told. */
  disconnect(opts?: { reason?: string; connectionId?: string }): number;
  /** Cuts connections without a close handshake (a network failure). */
  terminate(connectionId?: string): number;
}

interface Pending {
  envelope: SlackSocketEnvelope;
  started: number;
  timer: NodeJS.Timeout;
  done: (r: SocketDeliveryResult) => void;
}

interface Conn {
  info: SlackSocketConnection;
  socket: WebSocket;
}

export interface SocketModeHubOptions {
  appId: string;
  ackTimeoutMs: () => number;
  /** Server pings every this many ms (Slack pings its clients; the SDK treats missing pings as a dead socket). */
  pingIntervalMs?: number;
  /** How long a ticket from apps.connections.open can be used (Slack's are short-lived; default 60 s). */
  ticketTtlMs?: number;
}

export class SocketModeHub implements SlackSocketMode {
  private on = false;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly tickets = new Map<string, { issuedAt: number; used: boolean }>();
  private readonly conns = new Map<string, Conn>();
  private log: SlackSocketConnection[] = [];
  private sent: SlackSocketEnvelope[] = [];
  private waiting: { envelope: SlackSocketEnvelope; done?: (r: SocketDeliveryResult) => void }[] = [];
  private stray: unknown[] = [];
  private readonly pending = new Map<string, Pending>();
  private readonly waiters = new Set<() => void>();
  private rr = 0;
  private readonly pinger: NodeJS.Timeout;

  constructor(private readonly opts: SocketModeHubOptions) {
    this.pinger = setInterval(() => {
      for (const c of this.conns.values()) if (c.socket.readyState === c.socket.OPEN) c.socket.ping();
    }, opts.pingIntervalMs ?? 10_000);
    this.pinger.unref();
  }

  get enabled(): boolean {
    return this.on;
  }
  enable(): void {
    this.on = true;
  }
  disable(): void {
    this.on = false;
    this.terminate();
  }

  /** apps.connections.open: a fresh single-use ticket in a WebSocket URL on the emulator's own port. */
  openUrl(baseUrl: string): string {
    const ticket = randomUUID();
    this.tickets.set(ticket, { issuedAt: Date.now(), used: false });
    return `${baseUrl.replace(/^http/, 'ws')}/link/?ticket=${ticket}&app_id=${this.opts.appId}`;
  }

  /** Node's 'upgrade' event for /link/: accepts a fresh ticket once; anything else is refused before the handshake. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const ticket = url.searchParams.get('ticket') ?? '';
    const t = this.tickets.get(ticket);
    const refuse = (status: string, reason: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`);
    };
    if (url.pathname !== '/link/' && url.pathname !== '/link') return refuse('404 Not Found', 'not_found');
    if (!t) return refuse('401 Unauthorized', 'invalid_ticket');
    if (t.used) return refuse('401 Unauthorized', 'ticket_already_used');
    if (Date.now() - t.issuedAt > (this.opts.ticketTtlMs ?? 60_000)) return refuse('401 Unauthorized', 'ticket_expired');
    t.used = true;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  private accept(socket: WebSocket): void {
    this.on = true;
    const info: SlackSocketConnection = { id: `conn-${randomBytes(6).toString('hex')}`, openedAt: Date.now() };
    const conn: Conn = { info, socket };
    this.conns.set(info.id, conn);
    this.log.push(info);
    socket.on('message', (data, isBinary) => this.onMessage(data.toString(), isBinary));
    socket.on('close', (code) => {
      info.closedAt = Date.now();
      info.closeCode = code;
      this.conns.delete(info.id);
    });
    socket.on('error', () => socket.terminate());
    socket.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.conns.size,
        debug_info: { host: 'applink-emulator-1', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: this.opts.appId },
      }),
    );
    for (const w of [...this.waiters]) w();
    // Events queued while nobody was connected go out now, oldest first.
    const queued = this.waiting;
    this.waiting = [];
    for (const q of queued) {
      this.send(q.envelope).then((r) => q.done?.(r));
    }
  }

  private onMessage(text: string, isBinary: boolean): void {
    if (isBinary) return void this.stray.push({ binary: true });
    let msg: any;
    try {
      msg = JSON.parse(text);
    } catch {
      return void this.stray.push(text);
    }
    const id = msg && typeof msg === 'object' ? msg.envelope_id : undefined;
    const p = typeof id === 'string' ? this.pending.get(id) : undefined;
    if (!p) return void this.stray.push(msg);
    this.pending.delete(id);
    clearTimeout(p.timer);
    const ackMs = performance.now() - p.started;
    p.envelope.outcome = 'acked';
    p.envelope.ackedAt = Date.now();
    p.envelope.ackPayload = msg.payload;
    // The SDK always sends `payload`, `{}` when the app acked with nothing: the same as an empty HTTP 200.
    const body = msg.payload && typeof msg.payload === 'object' && Object.keys(msg.payload).length === 0 ? undefined : msg.payload;
    p.done({ status: 200, body, ackMs, timedOut: false, envelopeId: p.envelope.envelopeId });
  }

  private pickConnection(): Conn | undefined {
    const open = [...this.conns.values()].filter((c) => c.socket.readyState === c.socket.OPEN);
    if (!open.length) return undefined;
    this.rr = (this.rr + 1) % open.length;
    return open[this.rr];
  }

  /** Envelope for what the driver would have POSTed. `accepts_response_payload` follows Slack: true where the ack body matters. */
  deliver(type: SocketEnvelopeType, payload: Record<string, any>, o: { retryAttempt?: number; retryReason?: string } = {}): Promise<SocketDeliveryResult> {
    const acceptsResponsePayload = type === 'slash_commands' || (type === 'interactive' && ['view_submission', 'block_suggestion'].includes(payload.type));
    const envelope: SlackSocketEnvelope = {
      envelopeId: randomUUID(),
      type,
      payload,
      acceptsResponsePayload,
      ...(type === 'events_api' ? { retryAttempt: o.retryAttempt ?? 0, retryReason: o.retryReason ?? '' } : {}),
      connectionId: null,
      sentAt: null,
      outcome: 'pending',
    };
    this.sent.push(envelope);
    if (!this.pickConnectionAvailable()) {
      if (type === 'events_api') {
        // Slack keeps retrying events until the app is back; here they wait and go out on the next connection.
        envelope.outcome = 'queued';
        this.waiting.push({ envelope });
        return Promise.resolve({ status: 0, body: undefined, ackMs: 0, timedOut: false, error: 'no_socket_connection: queued', queued: true, envelopeId: envelope.envelopeId });
      }
      // A person's command or click with no app connected fails at once: Slack shows them an error.
      envelope.outcome = 'no_connection';
      return Promise.resolve({ status: 0, body: undefined, ackMs: 0, timedOut: false, error: 'no_socket_connection', envelopeId: envelope.envelopeId });
    }
    return this.send(envelope);
  }

  /** Registers a callback for when a queued event is finally delivered (used by the driver to record the delivery). */
  onQueuedDelivery(envelopeId: string, done: (r: SocketDeliveryResult) => void): void {
    const q = this.waiting.find((w) => w.envelope.envelopeId === envelopeId);
    if (q) q.done = done;
  }

  private pickConnectionAvailable(): boolean {
    return [...this.conns.values()].some((c) => c.socket.readyState === c.socket.OPEN);
  }

  private send(envelope: SlackSocketEnvelope): Promise<SocketDeliveryResult> {
    const conn = this.pickConnection();
    if (!conn) {
      envelope.outcome = envelope.type === 'events_api' ? 'queued' : 'no_connection';
      if (envelope.type === 'events_api') {
        return new Promise((resolve) => this.waiting.push({ envelope, done: resolve }));
      }
      return Promise.resolve({ status: 0, body: undefined, ackMs: 0, timedOut: false, error: 'no_socket_connection', envelopeId: envelope.envelopeId });
    }
    envelope.connectionId = conn.info.id;
    envelope.sentAt = Date.now();
    envelope.outcome = 'pending';
    const limit = this.opts.ackTimeoutMs();
    return new Promise((resolve) => {
      const started = performance.now();
      const timer = setTimeout(() => {
        this.pending.delete(envelope.envelopeId);
        envelope.outcome = 'timeout';
        resolve({ status: 0, body: undefined, ackMs: performance.now() - started, timedOut: true, error: 'operation_timeout', envelopeId: envelope.envelopeId });
      }, limit);
      this.pending.set(envelope.envelopeId, { envelope, started, timer, done: resolve });
      conn.socket.send(
        JSON.stringify({
          envelope_id: envelope.envelopeId,
          payload: envelope.payload,
          type: envelope.type,
          accepts_response_payload: envelope.acceptsResponsePayload,
          ...(envelope.type === 'events_api' ? { retry_attempt: envelope.retryAttempt, retry_reason: envelope.retryReason } : {}),
        }),
      );
    });
  }

  connections(): SlackSocketConnection[] {
    return [...this.conns.values()].map((c) => ({ ...c.info }));
  }
  connectionLog(): SlackSocketConnection[] {
    return this.log.map((c) => ({ ...c }));
  }
  envelopes(): SlackSocketEnvelope[] {
    return [...this.sent];
  }
  queued(): SlackSocketEnvelope[] {
    return this.waiting.map((w) => w.envelope);
  }
  strayAcks(): unknown[] {
    return [...this.stray];
  }

  waitForConnection(o: { timeoutMs?: number; except?: string[] } = {}): Promise<SlackSocketConnection> {
    const find = () => [...this.conns.values()].find((c) => !(o.except ?? []).includes(c.info.id) && c.socket.readyState === c.socket.OPEN);
    const now = find();
    if (now) return Promise.resolve({ ...now.info });
    return new Promise((resolve, reject) => {
      const check = () => {
        const c = find();
        if (!c) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve({ ...c.info });
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no Socket Mode connection within ${o.timeoutMs ?? 10_000} ms`));
      }, o.timeoutMs ?? 10_000);
      this.waiters.add(check);
    });
  }

  disconnect(o: { reason?: string; connectionId?: string } = {}): number {
    let n = 0;
    for (const c of this.conns.values()) {
      if (o.connectionId && c.info.id !== o.connectionId) continue;
      c.socket.send(JSON.stringify({ type: 'disconnect', reason: o.reason ?? 'refresh_requested', debug_info: { host: 'applink-emulator-1' } }));
      n += 1;
    }
    return n;
  }

  terminate(connectionId?: string): number {
    let n = 0;
    for (const c of [...this.conns.values()]) {
      if (connectionId && c.info.id !== connectionId) continue;
      c.socket.terminate();
      n += 1;
    }
    return n;
  }

  reset(): void {
    this.terminate();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.done({ status: 0, body: undefined, ackMs: performance.now() - p.started, timedOut: false, error: 'emulator_reset', envelopeId: p.envelope.envelopeId });
    }
    this.pending.clear();
    this.on = false;
    this.tickets.clear();
    this.log = [];
    this.sent = [];
    this.waiting = [];
    this.stray = [];
  }

  close(): void {
    clearInterval(this.pinger);
    this.reset();
    this.wss.close();
  }
}
