import { z } from 'zod';
import type { IncidentsService } from '../../../incidents/incidents.service.js';
import type { App } from '../../../platform/http/server.js';
import { actorOf, requireAccess } from '../../../users/auth.js';
import { acknowledgeOffer, listOffers } from '../auto-ack/acknowledge-offer.js';
import { listDecisions } from '../auto-ack/auto-acknowledge.js';
import type { AutoAckDeps } from '../auto-ack/deps.js';
import type { IncidentLink } from './links.repository.js';
import type { LinksService } from './links.service.js';

// REST: /api/v1/incidents/{id}/pagerduty_incidents — attach by URL or id, list, detach, the "is this related?"
// answer, the mirroring switch; acknowledgement offers and pressing their button.

const linkJson = z.object({
  id: z.string(),
  incident_id: z.string(),
  pagerduty_incident: z.object({
    id: z.string(),
    number: z.number().nullable(),
    title: z.string(),
    status: z.string(),
    urgency: z.string().nullable(),
    priority: z.object({ id: z.string(), name: z.string() }).nullable(),
    service: z.object({ id: z.string(), name: z.string() }).nullable(),
    assignees: z.array(z.object({ id: z.string(), name: z.string() })),
    html_url: z.string().nullable(),
    incident_key: z.string().nullable(),
  }),
  reason: z.enum(['escalation', 'related', 'source', 'grouped']),
  related: z.enum(['pending', 'confirmed', 'rejected']).nullable(),
  mirror: z.boolean(),
  created_at: z.string(),
  updated_at: z.string(),
});

export function linkToJson(l: IncidentLink): z.infer<typeof linkJson> {
  const p = l.pagerduty;
  return {
    id: l.id,
    incident_id: l.incidentId,
    pagerduty_incident: { id: p.id, number: p.number, title: p.title, status: p.status, urgency: p.urgency, priority: p.priority, service: p.service, assignees: p.assignees, html_url: p.htmlUrl, incident_key: p.incidentKey },
    reason: l.reason,
    related: l.related,
    mirror: l.mirror,
    created_at: l.createdAt,
    updated_at: l.updatedAt,
  };
}

const offerJson = z.object({ id: z.string(), link_id: z.string(), pagerduty_incident_id: z.string(), user_id: z.string(), reason: z.string(), status: z.string(), error: z.string().nullable(), created_at: z.string() });
const params = z.strictObject({ id: z.string().trim().min(1).max(64) });
const linkParams = z.strictObject({ id: z.string().trim().min(1).max(64), link_id: z.string().trim().min(1).max(64) });
const one = z.object({ pagerduty_incident: linkJson });

export function registerLinkRoutes(app: App, deps: { links: LinksService; incidents: IncidentsService; ack: AutoAckDeps }): void {
  const { links } = deps;
  const read = requireAccess('read');
  const write = requireAccess('write');
  const tags = ['pagerduty incidents'];
  const base = '/api/v1/incidents/:id/pagerduty_incidents';

  app.get(base, { onRequest: read, schema: { tags, summary: 'PagerDuty incidents attached to the incident', params, response: { 200: z.object({ pagerduty_incidents: z.array(linkJson) }) } } }, async (req) => ({
    pagerduty_incidents: (await links.list(req.params.id)).map(linkToJson),
  }));

  app.post(
    base,
    {
      config: { upstream: true },
      onRequest: write,
      schema: {
        tags,
        summary: 'Attach a PagerDuty incident by its URL or id (fetched from PagerDuty); asks whether it is related',
        params,
        body: z.strictObject({ pagerduty_incident: z.string().trim().min(1).max(500) }),
        response: { 200: one, 201: one },
      },
    },
    async (req, reply) => {
      const { link, created } = await links.attach(req.params.id, req.body.pagerduty_incident, actorOf(req.principal!));
      return reply.status(created ? 201 : 200).send({ pagerduty_incident: linkToJson(link) });
    },
  );

  app.delete(`${base}/:link_id`, { onRequest: write, schema: { tags, summary: 'Detach a PagerDuty incident', params: linkParams } }, async (req, reply) => {
    await links.detach(req.params.id, req.params.link_id, actorOf(req.principal!));
    return reply.status(204).send();
  });

  app.patch(
    `${base}/:link_id`,
    { onRequest: write, schema: { tags, summary: 'Turn mirroring of its activity onto the timeline on or off', params: linkParams, body: z.strictObject({ mirror: z.boolean() }), response: { 200: one } } },
    async (req) => ({ pagerduty_incident: linkToJson(await links.setMirror(req.params.id, req.params.link_id, req.body.mirror)) }),
  );

  app.post(
    `${base}/:link_id/related`,
    {
      onRequest: write,
      schema: { tags, summary: 'Answer "Is this PagerDuty incident related to this incident?" (yes by a person may acknowledge it for them)', params: linkParams, body: z.strictObject({ related: z.boolean() }), response: { 200: one } },
    },
    async (req) => ({ pagerduty_incident: linkToJson(await links.confirmRelated(req.params.id, req.params.link_id, req.body.related, actorOf(req.principal!))) }),
  );

  app.post(
    `${base}/resolve`,
    {
      onRequest: write,
      schema: {
        tags,
        summary: 'Resolve attached PagerDuty incidents in PagerDuty (the chosen ones, or every open one), with a note linking back; offered when the incident is closed, never done on its own',
        params,
        body: z.strictObject({ link_ids: z.array(z.string().min(1).max(64)).max(100).optional() }),
        response: { 200: z.object({ resolved: z.array(z.string()), skipped: z.array(z.object({ id: z.string(), reason: z.string() })) }) },
      },
    },
    async (req) => {
      const p = req.principal!;
      let from: string | null = null;
      if (p.kind === 'session') from = (await deps.ack.directory.userByEmail(p.user.email))?.email ?? null;
      return links.resolveInPagerDuty(req.params.id, req.body.link_ids ?? null, actorOf(p), from);
    },
  );

  app.get(
    `${base}/:link_id/auto_ack_decisions`,
    { onRequest: read, schema: { tags, summary: 'What auto-acknowledgement decided for this PagerDuty incident, and why', params: linkParams } },
    async (req) => {
      const link = await links.requireLink(req.params.id, req.params.link_id);
      return { decisions: (await listDecisions(deps.ack.db, link.id)).map((d) => ({ trigger: d.trigger, actor_kind: d.actor_kind, actor_user_id: d.actor_user_id, outcome: d.outcome, detail: d.detail, created_at: d.created_at })) };
    },
  );

  app.get('/api/v1/incidents/:id/pagerduty_ack_offers', { onRequest: read, schema: { tags, summary: 'Offers to acknowledge PagerDuty incidents made to people who were not paged', params, response: { 200: z.object({ offers: z.array(offerJson) }) } } }, async (req) => {
    const incidentId = await deps.incidents.findIncidentId(req.params.id);
    return { offers: (await listOffers(deps.ack.db, incidentId)).map((o) => ({ id: o.id, link_id: o.link_id, pagerduty_incident_id: o.pd_incident_id, user_id: o.user_id, reason: o.reason, status: o.status, error: o.error, created_at: o.created_at })) };
  });

  app.post(
    '/api/v1/pagerduty_ack_offers/:id/acknowledge',
    { onRequest: write, schema: { tags, summary: '"Acknowledge this PagerDuty incident?" — yes: acknowledges it in PagerDuty as the person it was offered to', params, response: { 200: z.object({ status: z.string() }) } } },
    async (req) => acknowledgeOffer(deps.ack, req.params.id, actorOf(req.principal!)),
  );
}
