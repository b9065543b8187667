import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { App } from './http/server.js';
import type { LiveEvent, LiveFeed } from './live.js';

// GET /api/v1/live: the live feed as server-sent events. Each change is `id: <seq>`, `event: change`,
// `data: {"topic": …, "incident_id": …}`; a browser's EventSource reconnects by itself and sends the last id it
// saw as `Last-Event-ID`, and the stream resumes after it. A comment line every 15 seconds keeps proxies from
// closing an idle stream (and tells a dead connection apart). Streams end when the server shuts down.

const HEARTBEAT_MS = 15_000;
/** What EventSource waits before reconnecting (the default is about 3 s). */
const RETRY_MS = 1_000;

const eventId = z.string().regex(/^\d{1,15}$/, 'must be the id of an event this stream sent');

type Guard = (req: FastifyRequest, reply: FastifyReply) => Promise<void>;

export function registerLiveRoutes(app: App, deps: { live: LiveFeed; read: Guard }): void {
  const streams = new Set<() => void>();
  // End every stream before the server closes: an open stream is never idle, so close() would wait for it.
  app.addHook('preClose', async () => {
    for (const end of [...streams]) end();
  });

  app.get(
    '/api/v1/live',
    {
      onRequest: deps.read,
      schema: {
        tags: ['live'],
        summary: 'Live changes (server-sent events)',
        description:
          'A `text/event-stream` of changes to what pages show. Each event: `id` (send it back as `Last-Event-ID` to resume), `event: change`, `data` `{"topic": "incidents" | "incident" | "timeline" | "escalations" | "pagerduty_links" | "catalog_sync" | "settings", "incident_id": string | null}`. Reload the resource from the REST API when a matching change arrives. Changes are kept about an hour.',
        headers: z.object({ 'last-event-id': eventId.optional() }),
        querystring: z.strictObject({ last_event_id: eventId.optional().describe('Where to resume when the Last-Event-ID header cannot be sent (a new EventSource); the header wins') }),
      },
    },
    async (req, reply) => {
      // The header wins: EventSource reconnects to the same URL, with the newest id in the header.
      const given = (req.headers['last-event-id'] as string | undefined) || (req.query as { last_event_id?: string }).last_event_id;
      const after = given ? Number(given) : null;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no', // nginx: do not buffer the stream
      });
      res.write(`retry: ${RETRY_MS}\n\n`);
      const write = (events: LiveEvent[]) => {
        res.write(events.map((e) => `id: ${e.seq}\nevent: change\ndata: ${JSON.stringify({ topic: e.topic, incident_id: e.incidentId })}\n\n`).join(''));
      };
      let ended = false;
      let unsubscribe = () => {};
      const heartbeat = setInterval(() => {
        res.write(': heartbeat\n\n');
        deps.live.wake(); // also a slow poll: a lost wake-up delays a change by one heartbeat at most
      }, HEARTBEAT_MS);
      const end = () => {
        if (ended) return;
        ended = true;
        clearInterval(heartbeat);
        unsubscribe();
        streams.delete(end);
        if (!res.writableEnded) res.end(() => res.socket?.destroy());
      };
      streams.add(end);
      req.raw.on('close', end);
      try {
        const sub = await deps.live.subscribe(after, write);
        unsubscribe = sub.unsubscribe;
        if (ended) unsubscribe();
      } catch (err) {
        req.log.warn({ err }, 'live feed: could not subscribe');
        end();
      }
    },
  );
}
