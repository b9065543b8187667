import { createHmac, timingSafeEqual } from 'node:crypto';
import type { App as BoltApp, Receiver } from '@slack/bolt';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../../platform/db/index.js';
import { errorBody, type App } from '../../platform/http/server.js';
import type { Logger } from '../../platform/logger.js';
import './slack.tables.js';

// Bolt behind Firebreak's Fastify server: one URL, POST /slack/events, for slash commands, interactivity,
// options and Events API deliveries. The receiver checks every request before Bolt sees it:
//  - the signature: HMAC-SHA256 of "v0:<timestamp>:<raw body>" with the signing secret, compared in constant
//    time, over the raw bytes (the route keeps the body as a string; nothing parses it before the check);
//  - the timestamp: more than 5 minutes away from our clock, in either direction, is refused as stale;
//  - replays: a valid signature is accepted once. Accepted signatures are kept 10 minutes, longer than the
//    5-minute window in which a timestamp is accepted at all, so a captured request can never be replayed:
//    in memory (checked first, costs nothing on the ack path) and in slack_seen_requests. With several
//    processes (PostgreSQL) the table is the authority and is checked before accepting; with the single
//    SQLite process it is written in the background and read back at start, so a restart does not reopen
//    the window (SQLite has one connection, and the ack must not queue behind other work for it).
//    Slack's own retries carry a new timestamp (hence a new signature) and are not replays; Events API
//    handlers are idempotent for them (timeline items have dedupe keys).
// Refused requests get 401 and reach nothing else. Bolt answers through `ack`; we send its answer as the HTTP
// response, and listeners keep running after it (opening modals, calling Slack).
// Acks go first: when many requests arrive at once (50 people declaring), one event loop serves them all, and
// the work a listener does after its ack (views.open, looking the person up) would otherwise run before the
// next request is even read, delaying every later ack by the sum of that work. So `await ack()` returns only
// once the other requests already received have been acknowledged (bounded by AFTER_ACKS_MAX_MS), after a turn
// of the event loop so that requests waiting on the socket are read first. Slack's jobs wait likewise
// (SlackContext.afterPendingAcks) before starting.

const MAX_SKEW_SEC = 5 * 60;
const SEEN_TTL_MS = 10 * 60_000;
/** Longest a listener's post-ack work waits for other requests' acks (a modal's trigger id lasts 3 s). */
const AFTER_ACKS_MAX_MS = 250;

export interface SlackReceiverOptions {
  db: Db;
  /** True when several processes share the database (PostgreSQL): replays are checked in the table. */
  sharedReplayCheck: boolean;
  /** The current signing secret, or null when Slack is not connected. */
  signingSecret: () => Promise<string | null>;
  logger: Logger;
  /** When a listener has not acknowledged by then, answer an empty 200 so Slack does not time out. */
  ackDeadlineMs?: number;
}

type Verdict = { ok: true } | { ok: false; status: number; code: string; reason: string };

export class FastifySlackReceiver implements Receiver {
  private bolt: BoltApp | null = null;
  private lastPurge = 0;

  constructor(private readonly opts: SlackReceiverOptions) {}

  init(app: BoltApp): void {
    this.bolt = app;
  }

  private loadApp: (() => void) | null = null;
  /** How to make the Bolt app (it calls init()) when a request arrives before anything made it: index.ts makes it on first use. */
  setLoadApp(load: () => void): void {
    this.loadApp = load;
  }

  // Firebreak's HTTP server owns the socket: nothing to start or stop here.
  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  /** Mounts POST /slack/events in its own plugin scope: only this route accepts form bodies, as raw strings. */
  register(http: App): void {
    http.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
      scope.post('/slack/events', { schema: { hide: true } }, (req, reply) => this.handle(req, reply));
    });
  }

  async verify(headers: FastifyRequest['headers'], raw: string, nowMs = Date.now()): Promise<Verdict> {
    const secret = await this.opts.signingSecret();
    if (!secret) return { ok: false, status: 503, code: 'slack_not_connected', reason: 'Slack is not connected to this Firebreak.' };
    const ts = one(headers['x-slack-request-timestamp']);
    const sig = one(headers['x-slack-signature']);
    if (!ts || !/^\d{1,12}$/.test(ts)) return { ok: false, status: 401, code: 'invalid_signature', reason: 'Missing or malformed X-Slack-Request-Timestamp.' };
    if (Math.abs(Math.floor(nowMs / 1000) - Number(ts)) > MAX_SKEW_SEC) return { ok: false, status: 401, code: 'stale_request', reason: 'The request timestamp is more than 5 minutes from our clock.' };
    if (!sig || !/^v0=[0-9a-f]{64}$/.test(sig)) return { ok: false, status: 401, code: 'invalid_signature', reason: 'Missing or malformed X-Slack-Signature.' };
    const expected = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${raw}`).digest('hex')}`;
    if (!timingSafeEqual(Buffer.from(sig), Buffer.from(expected))) return { ok: false, status: 401, code: 'invalid_signature', reason: 'The signature does not match the body.' };
    if (!(await this.firstSighting(sig, nowMs))) return { ok: false, status: 401, code: 'replayed_request', reason: 'This request was already received.' };
    return { ok: true };
  }

  private readonly seen = new Map<string, number>();
  private loaded: Promise<void> | null = null;

  private async firstSighting(signature: string, nowMs: number): Promise<boolean> {
    const { db } = this.opts;
    this.loaded ??= db
      .selectFrom('slack_seen_requests')
      .select(['signature', 'seen_at'])
      .where('seen_at', '>=', new Date(nowMs - SEEN_TTL_MS).toISOString())
      .execute()
      .then(
        (rows) => {
          for (const r of rows) this.seen.set(r.signature, Date.parse(r.seen_at));
        },
        (err: unknown) => this.opts.logger.error({ err }, 'could not load recent Slack request signatures'),
      );
    await this.loaded;
    if (nowMs - this.lastPurge > 60_000) {
      this.lastPurge = nowMs;
      for (const [sig, at] of this.seen) if (nowMs - at > SEEN_TTL_MS) this.seen.delete(sig);
      this.background(db.deleteFrom('slack_seen_requests').where('seen_at', '<', new Date(nowMs - SEEN_TTL_MS).toISOString()).execute());
    }
    if (this.seen.has(signature)) return false;
    this.seen.set(signature, nowMs);
    const insert = this.record(signature, nowMs);
    if (this.opts.sharedReplayCheck) return insert;
    this.background(insert);
    return true;
  }

  private pending: { signature: string; seenAt: string; done: (fresh: boolean) => void; fail: (err: unknown) => void }[] | null = null;

  /**
   * Stores a signature; true when no process had stored it before. Signatures received in the same turn of the
   * event loop are written by one multi-row insert: when 50 requests arrive at once that is a few statements
   * instead of 50, each of which (on PostgreSQL) every ack had to wait for.
   */
  private record(signature: string, nowMs: number): Promise<boolean> {
    return new Promise((done, fail) => {
      if (!this.pending) {
        this.pending = [];
        setImmediate(() => this.flushSignatures());
      }
      this.pending.push({ signature, seenAt: new Date(nowMs).toISOString(), done, fail });
      if (this.pending.length >= 500) this.flushSignatures(); // bounded statement size
    });
  }

  private flushSignatures(): void {
    const batch = this.pending ?? [];
    this.pending = null;
    if (!batch.length) return;
    this.opts.db
      .insertInto('slack_seen_requests')
      .values(batch.map((b) => ({ signature: b.signature, seen_at: b.seenAt })))
      .onConflict((oc) => oc.column('signature').doNothing())
      .returning('signature')
      .execute()
      .then(
        (rows) => {
          const fresh = new Set(rows.map((r) => r.signature));
          for (const b of batch) b.done(fresh.delete(b.signature));
        },
        (err: unknown) => {
          for (const b of batch) b.fail(err);
        },
      );
  }

  private background(p: Promise<unknown>): void {
    p.catch((err: unknown) => this.opts.logger.error({ err }, 'could not record a Slack request signature'));
  }

  /** Requests received and not yet answered, and listeners waiting for that number to reach zero. */
  private awaitingAck = 0;
  private afterAcks: (() => void)[] = [];

  private releasing = false;

  private acked(): void {
    this.awaitingAck -= 1;
    if (this.awaitingAck === 0 && this.afterAcks.length && !this.releasing) {
      this.releasing = true;
      setImmediate(() => this.releaseOne());
    }
  }

  /**
   * Resumes one waiting listener per turn of the event loop, while no request awaits its ack: requests already
   * on the socket are read (and counted) between two listeners' work, so a new request never waits behind all
   * of them.
   */
  private releaseOne(): void {
    if (this.awaitingAck > 0 || !this.afterAcks.length) {
      this.releasing = false;
      return;
    }
    this.afterAcks.shift()!();
    setImmediate(() => this.releaseOne());
  }

  /** Resolves at once when no Slack request awaits its ack, else once they are answered (at most 250 ms). */
  afterPendingAcks(): Promise<void> {
    return this.awaitingAck === 0 ? Promise.resolve() : this.otherAcksSent();
  }

  /** Resolves once the other requests received so far have their answer (at most AFTER_ACKS_MAX_MS). */
  private async otherAcksSent(): Promise<void> {
    await new Promise((r) => setImmediate(r));
    if (this.awaitingAck === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.afterAcks = this.afterAcks.filter((w) => w !== go);
        resolve();
      }, AFTER_ACKS_MAX_MS);
      const go = () => {
        clearTimeout(timer);
        resolve();
      };
      this.afterAcks.push(go);
    });
  }

  private async handle(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    this.awaitingAck += 1;
    try {
      return await this.answer(req, reply);
    } finally {
      this.acked();
    }
  }

  private async answer(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const raw = typeof req.body === 'string' ? req.body : '';
    const verdict = await this.verify(req.headers, raw);
    if (!verdict.ok) {
      req.log.warn({ code: verdict.code }, `Slack request refused: ${verdict.reason}`);
      return reply.status(verdict.status).send(errorBody(verdict.code, verdict.reason));
    }
    let body: Record<string, any>;
    try {
      body = parseBody(raw, one(req.headers['content-type']) ?? '');
    } catch {
      return reply.status(400).send(errorBody('invalid_body', 'The body is neither a Slack form post nor JSON.'));
    }
    if (body.type === 'url_verification') return reply.send({ challenge: body.challenge });
    if (body.ssl_check) return reply.send();
    if (!this.bolt) this.loadApp?.();
    const bolt = this.bolt;
    if (!bolt) return reply.status(503).send(errorBody('slack_not_ready', 'The Slack app is starting.'));

    type Outcome = { kind: 'ack'; response: unknown } | { kind: 'done' } | { kind: 'error'; err: unknown } | { kind: 'late' };
    let settle!: (o: Outcome) => void;
    let settled = false;
    const outcome = new Promise<Outcome>((resolve) => {
      settle = (o) => {
        if (settled) return;
        settled = true;
        resolve(o);
      };
    });
    const deadline = setTimeout(() => settle({ kind: 'late' }), this.opts.ackDeadlineMs ?? 2500);
    const retryNum = one(req.headers['x-slack-retry-num']);
    bolt
      .processEvent({
        body,
        ack: async (response?: unknown) => {
          settle({ kind: 'ack', response });
          await this.otherAcksSent();
        },
        ...(retryNum ? { retryNum: Number(retryNum), retryReason: one(req.headers['x-slack-retry-reason']) ?? '' } : {}),
      })
      .then(
        () => settle({ kind: 'done' }),
        (err) => {
          if (settled) this.opts.logger.error({ err }, 'Slack listener failed after acknowledging');
          settle({ kind: 'error', err });
        },
      );
    const o = await outcome;
    clearTimeout(deadline);
    switch (o.kind) {
      case 'ack':
        if (o.response === undefined || o.response === '') return reply.status(200).send();
        if (typeof o.response === 'string') return reply.status(200).type('text/plain; charset=utf-8').send(o.response);
        return reply.status(200).send(o.response);
      case 'done':
        return reply.status(200).send();
      case 'late':
        this.opts.logger.warn({ type: body.type ?? body.command }, 'Slack listener did not acknowledge in time; answered an empty 200');
        return reply.status(200).send();
      case 'error':
        this.opts.logger.error({ err: o.err }, 'Slack listener failed before acknowledging');
        return reply.status(500).send(errorBody('internal_error', 'Firebreak could not handle this Slack request; the error was logged.'));
    }
  }
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Slash commands are form fields; interactivity is a form with one `payload` field of JSON; events are JSON. */
export function parseBody(raw: string, contentType: string): Record<string, any> {
  if (contentType.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    const only = onlyPayload(raw);
    if (only !== null) return JSON.parse(only) as Record<string, any>;
    const form = new URLSearchParams(raw);
    const payload = form.get('payload');
    if (payload !== null) return JSON.parse(payload) as Record<string, any>;
    return Object.fromEntries(form.entries());
  }
  const parsed = JSON.parse(raw) as unknown;
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
  return parsed as Record<string, any>;
}

/**
 * The `payload` of a form that has no other field, decoded as URLSearchParams would ('+' is a space, then
 * percent-decoding as UTF-8), or null for any other form, or an encoding decodeURIComponent refuses (URLSearchParams
 * then decodes it its own forgiving way). A modal submission is one such field of 5–20 KB of encoded JSON, and 50 of
 * them at once spent a tenth of their CPU in URLSearchParams; this decodes it in a third of the time.
 */
function onlyPayload(raw: string): string | null {
  if (!raw.startsWith('payload=') || raw.includes('&')) return null;
  try {
    return decodeURIComponent(raw.slice('payload='.length).replaceAll('+', ' '));
  } catch {
    return null;
  }
}
