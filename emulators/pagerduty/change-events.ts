/**
 * Change events: sent to a service's integration through the Events API v2 (`POST /v2/change/enqueue`, no API key:
 * the routing key names the integration) and read back through REST (`/change_events`, `/change_events/{id}`,
 * `/services/{id}/change_events`, `/incidents/{id}/related_change_events`), as PagerDuty's two OpenAPI documents
 * describe them.
 */
import { randomBytes } from 'node:crypto';
import { invalidInput, notFound } from './errors.js';
import { paginate, type Query, type RestContext, type RestResult } from './rest-context.js';
import type { AccountStore } from './store.js';
import type { ChangeEventRecord } from './types.js';

/** How far before an incident triggered `related_change_events` looks (the emulator's choice; PagerDuty does not document one). */
export const RELATED_WINDOW_MS = 24 * 3_600_000;
/** PagerDuty's documented limit on a change event's summary. */
export const SUMMARY_MAX = 1024;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const iso = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The Events API's own answers (not the REST error envelope). */
export interface EventsResult { status: number; body: unknown }
const invalidEvent = (...errors: string[]): EventsResult => ({ status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors } });

/** A ULID-like id (26 characters), the shape PagerDuty gives change events. */
function changeEventId(at: number): string {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let time = '';
  for (let t = at, i = 0; i < 10; i++, t = Math.floor(t / 32)) time = alphabet[t % 32]! + time;
  return time + [...randomBytes(16)].map((b) => alphabet[b % 32]).join('');
}

/** `POST /v2/change/enqueue`: validates like the Events API (400 with `errors`, never retried), stores, answers 202. */
export function enqueueChangeEvent(store: AccountStore, rawBody: string): EventsResult {
  let body: unknown;
  try { body = JSON.parse(rawBody); } catch { return invalidEvent('The request body is not valid JSON.'); }
  if (!isObj(body)) return invalidEvent('The event must be a JSON object.');
  const errors: string[] = [];
  const key = body.routing_key;
  const target = typeof key === 'string' ? store.integrationByKey(key) : undefined;
  if (typeof key !== 'string' || key.trim() === '') errors.push("'routing_key' is missing or blank");
  else if (!target) errors.push("'routing_key' is not the integration key of an Events API v2 integration");
  const p = body.payload;
  let timestamp: number | null = null;
  if (!isObj(p)) errors.push("'payload' is missing or not an object");
  else {
    if (typeof p.summary !== 'string' || p.summary.trim() === '') errors.push("'payload.summary' is missing or blank");
    else if (p.summary.length > SUMMARY_MAX) errors.push(`'payload.summary' is longer than ${SUMMARY_MAX} characters`);
    if (p.timestamp !== undefined) {
      timestamp = typeof p.timestamp === 'string' ? Date.parse(p.timestamp) : NaN;
      if (Number.isNaN(timestamp)) errors.push("'payload.timestamp' is not an ISO 8601 date and time");
    }
    if (p.source !== undefined && typeof p.source !== 'string') errors.push("'payload.source' must be a string");
    if (p.custom_details !== undefined && !isObj(p.custom_details)) errors.push("'payload.custom_details' must be an object");
  }
  const links = body.links ?? [];
  if (!Array.isArray(links) || links.some((l) => !isObj(l) || typeof l.href !== 'string' || !isUrl(l.href) || (l.text !== undefined && typeof l.text !== 'string'))) {
    errors.push("'links' must be a list of {href, text?} with href a URL");
  }
  const images = body.images ?? [];
  if (!Array.isArray(images) || images.some((x) => !isObj(x) || typeof x.src !== 'string' || (x.href !== undefined && typeof x.href !== 'string') || (x.alt !== undefined && typeof x.alt !== 'string'))) {
    errors.push("'images' must be a list of {src, href?, alt?}");
  }
  if (errors.length || !target || !isObj(p)) return invalidEvent(...errors);
  const now = Date.now();
  const ce: ChangeEventRecord = {
    id: changeEventId(now), integration_id: target.integration.id, service_id: target.service.id,
    summary: p.summary as string, source: typeof p.source === 'string' ? p.source : null,
    timestamp: iso(timestamp ?? now), received_at: iso(now),
    custom_details: isObj(p.custom_details) ? p.custom_details : null,
    links: (links as { href: string; text?: string }[]).map((l) => ({ href: l.href, ...(l.text !== undefined ? { text: l.text } : {}) })),
    images: (images as { src: string; href?: string; alt?: string }[]).map((x) => ({ src: x.src, ...(x.href !== undefined ? { href: x.href } : {}), ...(x.alt !== undefined ? { alt: x.alt } : {}) })),
  };
  store.addChangeEvent(ce);
  return { status: 202, body: { status: 'success', message: 'Change event processed' } };
}

function isUrl(s: string): boolean {
  try { new URL(s); return true; } catch { return false; }
}

/** `since`/`until` as PagerDuty takes them here: UTC ISO 8601 only (`…Z` or `+00:00`), anything else is 400. */
function utcParam(q: Query, name: 'since' | 'until'): number | undefined {
  const raw = q.get(name);
  if (raw === undefined) return undefined;
  const t = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|\+00:00)$/.test(raw) ? Date.parse(raw) : NaN;
  if (Number.isNaN(t)) throw invalidInput(`${name === 'since' ? 'Since' : 'Until'} must be a UTC ISO 8601 date and time (e.g. 2024-07-17T08:42:58Z).`);
  return t;
}

/** Newest first, filtered by `since`/`until` (on the event's timestamp), `team_ids[]` and `integration_ids[]`. */
function listed(store: AccountStore, q: Query, serviceId?: string): ChangeEventRecord[] {
  const since = utcParam(q, 'since') ?? -Infinity;
  const until = utcParam(q, 'until') ?? Infinity;
  if (since > until) throw invalidInput('Since must be before until.');
  const teamIds = q.list('team_ids');
  const integrationIds = q.list('integration_ids');
  const out: ChangeEventRecord[] = [];
  for (let i = store.changeEvents.length - 1; i >= 0; i--) {
    const ce = store.changeEvents[i]!;
    if (serviceId !== undefined && ce.service_id !== serviceId) continue;
    const t = Date.parse(ce.timestamp);
    if (t < since || t >= until) continue;
    if (integrationIds.length && !integrationIds.includes(ce.integration_id)) continue;
    if (teamIds.length && !(store.services.get(ce.service_id)?.team_ids ?? []).some((x) => teamIds.includes(x))) continue;
    out.push(ce);
  }
  return out;
}

type Route = { method: string; path: string; handler: (c: RestContext) => RestResult };

export function changeEventRoutes(store: AccountStore): Route[] {
  return [
    { method: 'GET', path: '/change_events', handler: (c) => paginate(c.query, listed(store, c.query), 'change_events', (ce) => store.changeEventWire(ce)) },
    {
      method: 'GET', path: '/change_events/{id}', handler: (c) => {
        const ce = store.changeEvents.find((x) => x.id === c.params[0]);
        if (!ce) throw notFound();
        return { status: 200, body: { change_event: store.changeEventWire(ce) } };
      },
    },
    {
      method: 'GET', path: '/services/{id}/change_events', handler: (c) => {
        if (!store.services.has(c.params[0]!)) throw notFound();
        return paginate(c.query, listed(store, c.query, c.params[0]!), 'change_events', (ce) => store.changeEventWire(ce));
      },
    },
    {
      // The changes on the incident's service in the day before it triggered, newest first, each with why it is
      // shown: `most_recent` (PagerDuty's reason for a recent change on the incident's own service). Service
      // dependencies and PagerDuty's machine-learned correlation (`related_service`, `intelligent`) are not modelled.
      method: 'GET', path: '/incidents/{id}/related_change_events', handler: (c) => {
        const i = store.incidents.get(c.params[0]!);
        if (!i) throw notFound();
        const triggered = Date.parse(i.created_at);
        const found = store.changeEvents.filter((ce) => {
          const t = Date.parse(ce.timestamp);
          return ce.service_id === i.service_id && t <= triggered && t > triggered - RELATED_WINDOW_MS;
        }).reverse();
        return paginate(c.query, found, 'change_events', (ce) => store.changeEventWire(ce, 'most_recent'));
      },
    },
  ];
}
