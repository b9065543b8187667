// A tiny stand-in for an app's /slack/events endpoint, used by the driver tests. It verifies requests the way
// Slack documents it (independently of the emulator's signing code) and records what arrived.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  headers: Record<string, string>;
  raw: string;
  contentType: string;
  /** Form fields (slash commands) */
  form?: Record<string, string>;
  /** Parsed `payload=` (interactions) */
  payload?: any;
  /** Parsed JSON body (events) */
  json?: any;
  verdict: 'ok' | 'bad_signature' | 'stale' | 'replay' | 'missing_headers';
}

export interface Reply {
  status?: number;
  body?: unknown;
  delayMs?: number;
}

export class TestReceiver {
  readonly requests: ReceivedRequest[] = [];
  handler: (r: ReceivedRequest) => Reply | Promise<Reply> = () => ({});
  private server!: Server;
  private seen = new Set<string>();
  url = '';

  constructor(private readonly secret: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
        const contentType = headers['content-type'] ?? '';
        const r: ReceivedRequest = { headers, raw, contentType, verdict: this.verify(headers, raw) };
        if (contentType.startsWith('application/x-www-form-urlencoded')) {
          const form = Object.fromEntries(new URLSearchParams(raw).entries());
          if (Object.keys(form).length === 1 && form.payload !== undefined) r.payload = JSON.parse(form.payload);
          else r.form = form;
        } else if (contentType.startsWith('application/json')) r.json = JSON.parse(raw);
        this.requests.push(r);
        if (r.verdict !== 'ok') {
          res.writeHead(401, { 'content-type': 'text/plain' });
          res.end(r.verdict);
          return;
        }
        const reply = await this.handler(r);
        if (reply.delayMs) await new Promise((ok) => setTimeout(ok, reply.delayMs));
        if (reply.body === undefined) {
          res.writeHead(reply.status ?? 200);
          res.end();
        } else if (typeof reply.body === 'string') {
          res.writeHead(reply.status ?? 200, { 'content-type': 'text/plain' });
          res.end(reply.body);
        } else {
          res.writeHead(reply.status ?? 200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(reply.body));
        }
      });
    });
    await new Promise<void>((ok) => this.server.listen(0, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/slack/events`;
    return this;
  }

  private verify(headers: Record<string, string>, raw: string): ReceivedRequest['verdict'] {
    const ts = headers['x-slack-request-timestamp'];
    const sig = headers['x-slack-signature'];
    if (!ts || !sig) return 'missing_headers';
    if (!/^\d+$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > 300) return 'stale';
    const expected = Buffer.from(`v0=${createHmac('sha256', this.secret).update(`v0:${ts}:${raw}`).digest('hex')}`);
    const given = Buffer.from(sig);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'bad_signature';
    const key = `${ts}:${sig}`;
    if (this.seen.has(key)) return 'replay';
    this.seen.add(key);
    return 'ok';
  }

  last(): ReceivedRequest {
    const r = this.requests[this.requests.length - 1];
    if (!r) throw new Error('no request received');
    return r;
  }

  stop(): Promise<void> {
    return new Promise((ok) => {
      this.server.close(() => ok());
      this.server.closeAllConnections();
    });
  }
}
