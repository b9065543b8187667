import { z } from 'zod';
import type { IncidentsService } from '../../../incidents/incidents.service.js';
import type { App } from '../../../platform/http/server.js';
import { actorOf, requireAccess } from '../../../users/auth.js';
import { pinChange, type PinDeps } from './pin.js';
import { DEFAULT_HOURS, MAX_HOURS, type RecentChanges, type RecentChangesReader } from './recent-changes.js';

// REST: /api/v1/incidents/{id}/pagerduty_changes — PagerDuty change events of the incident's affected services in
// the last hours (viewers and up), and pinning one to the timeline (responders and up). A source PagerDuty did not
// answer for is listed in `problems` with what happened; the list itself still answers 200.

const ref = z.object({ id: z.string(), name: z.string() });
const changesJson = z.object({
  connected: z.boolean().describe('false when PagerDuty is not connected (nothing was read)'),
  hours: z.number().int(),
  since: z.string(),
  until: z.string(),
  services: z.array(z.object({
    id: z.string().describe("The service's catalog external id: PagerDuty's id, `<account>:<id>` for an account other than the first"),
    name: z.string(),
    field: z.string().nullable().describe('the custom field that names it, if one does'),
    pagerduty_incident_ids: z.array(z.string()).describe('linked PagerDuty incidents on it'),
  })),
  pagerduty_incidents: z.array(z.object({ id: z.string(), number: z.number().nullable(), title: z.string(), service_id: z.string().nullable() })),
  change_events: z.array(z.object({
    id: z.string(),
    summary: z.string(),
    source: z.string().nullable(),
    timestamp: z.string(),
    services: z.array(ref),
    links: z.array(z.object({ href: z.string(), text: z.string().nullable() })),
    related_to: z.array(z.object({ pagerduty_incident_id: z.string(), number: z.number().nullable(), reason: z.string().nullable() })),
    pinned: z.boolean(),
  })).describe('newest first'),
  problems: z.array(z.object({
    source: z.object({ kind: z.enum(['service', 'pagerduty_incident']), id: z.string(), name: z.string() }),
    reason: z.enum(['timeout', 'rate_limited', 'not_found', 'refused', 'unavailable']),
    message: z.string(),
  })),
  skipped: z.object({ services: z.number().int(), pagerduty_incidents: z.number().int() }),
});

function toJson(r: RecentChanges): z.infer<typeof changesJson> {
  return {
    connected: r.connected,
    hours: r.hours,
    since: r.since,
    until: r.until,
    services: r.services.map((s) => ({ id: s.id, name: s.name, field: s.via.field, pagerduty_incident_ids: s.via.pagerdutyIncidents })),
    pagerduty_incidents: r.pagerdutyIncidents.map((p) => ({ id: p.id, number: p.number, title: p.title, service_id: p.serviceId })),
    change_events: r.changes.map((c) => ({
      id: c.id, summary: c.summary, source: c.source, timestamp: c.timestamp, services: c.services, links: c.links,
      related_to: c.relatedTo.map((x) => ({ pagerduty_incident_id: x.pagerdutyIncidentId, number: x.number, reason: x.reason })), pinned: c.pinned,
    })),
    problems: r.problems.map((p) => ({
      source: p.source.kind === 'service' ? { kind: 'service', id: p.source.id, name: p.source.name } : { kind: 'pagerduty_incident', id: p.source.id, name: p.source.number === null ? p.source.title : `#${p.source.number} ${p.source.title}` },
      reason: p.reason,
      message: p.message,
    })),
    skipped: { services: r.skipped.services, pagerduty_incidents: r.skipped.pagerdutyIncidents },
  };
}

export function registerChangeRoutes(app: App, deps: { reader: RecentChangesReader; incidents: IncidentsService; pin: PinDeps }): void {
  const tags = ['pagerduty changes'];
  const params = z.strictObject({ id: z.string().trim().min(1).max(64) });

  app.get(
    '/api/v1/incidents/:id/pagerduty_changes',
    {
      onRequest: requireAccess('read'),
      schema: {
        tags,
        summary: "PagerDuty change events of the incident's affected services in the last hours, and those PagerDuty relates to its linked PagerDuty incidents, newest first",
        params,
        querystring: z.strictObject({
          hours: z.coerce.number().int().min(1).max(MAX_HOURS).default(DEFAULT_HOURS).describe(`how far back, 1-${MAX_HOURS} (default ${DEFAULT_HOURS})`),
          refresh: z.enum(['true', 'false']).optional().describe('true reads PagerDuty again instead of answers kept a few seconds'),
        }),
        response: { 200: changesJson },
      },
    },
    async (req) => {
      const incidentId = await deps.incidents.findIncidentId(req.params.id);
      return toJson(await deps.reader.read(incidentId, req.query.hours, { fresh: req.query.refresh === 'true' }));
    },
  );

  const pinned = z.object({ pinned: z.boolean().describe('false when it was already on the timeline'), change_event_id: z.string(), text: z.string() });
  app.post(
    '/api/v1/incidents/:id/pagerduty_changes/:change_id/pin',
    {
      config: { upstream: true },
      onRequest: requireAccess('write'),
      schema: {
        tags,
        summary: 'Pin a PagerDuty change event to the timeline (read from PagerDuty; pinning it again adds nothing)',
        params: z.strictObject({ id: z.string().trim().min(1).max(64), change_id: z.string().trim().regex(/^([a-z0-9]{1,16}:)?[A-Za-z0-9_-]{1,64}$/, 'a PagerDuty change event id, <account>:<id> for an account other than the first') }),
        response: { 200: pinned, 201: pinned },
      },
    },
    async (req, reply) => {
      const r = await pinChange(deps.pin, req.params.id, req.params.change_id, actorOf(req.principal!));
      reply.code(r.created ? 201 : 200);
      return { pinned: r.created, change_event_id: r.changeEventId, text: r.text };
    },
  );
}
