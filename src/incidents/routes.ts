import { z } from 'zod';
import { customFieldValueJson, customFieldValueToJson } from '../custom-fields/index.js';
import type { Actor } from '../platform/events.js';
import type { App } from '../platform/http/server.js';
import { actorOf, requireAccess } from '../users/auth.js';
import { INCIDENT_SORTS, type Incident, type IncidentsService } from './incidents.service.js';
import type { TimelineItem } from './timeline.js';
import { durationsJson, registerTimestampRoutes, timestampJson, timesToJson } from './timestamps/routes.js';
import { MATCH_FIELDS } from './search.js';

const categories = ['triage', 'live', 'closed', 'declined', 'merged', 'canceled'] as const;
const modes = ['standard', 'test', 'retrospective'] as const;
const actions = ['accept', 'decline', 'merge', 'status', 'close', 'cancel'] as const;
const actorKinds = ['user', 'integration', 'workflow', 'system'] as const;

const statusRef = z.object({ id: z.string(), name: z.string(), category: z.enum(categories) });
export const incidentJson = z.object({
  id: z.string(),
  reference: z.string(),
  number: z.number(),
  name: z.string(),
  summary: z.string(),
  severity: z.object({ id: z.string(), name: z.string(), rank: z.number() }),
  status: statusRef,
  mode: z.enum(modes),
  source: z.string(),
  creator: z.object({ kind: z.enum(actorKinds), user: z.object({ id: z.string(), name: z.string() }).nullable(), ref: z.string().nullable() }),
  lead: z.object({ id: z.string(), name: z.string() }).nullable(),
  merged_into: z.object({ id: z.string(), reference: z.string() }).nullable(),
  slack_channel_id: z.string().nullable(),
  slack_channel: z.object({ id: z.string(), name: z.string().nullable().describe('without the #; null when Firebreak does not know it') }).nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  status_timestamps: z.array(z.object({ status: statusRef, first_at: z.string(), last_at: z.string() })),
  available_actions: z.array(z.object({ action: z.enum(actions), status: statusRef.optional() })),
  custom_fields: z.array(customFieldValueJson),
  timestamps: z.array(timestampJson),
  durations: durationsJson,
  roles: z.array(z.object({ role: z.object({ id: z.string(), name: z.string(), description: z.string() }), user: z.object({ id: z.string(), name: z.string() }).nullable() })).describe('the lead is `lead`; these are the roles admins define, in rank order'),
});
const matchJson = z
  .object({
    field: z.enum(MATCH_FIELDS),
    snippet: z.array(z.object({ text: z.string(), hit: z.boolean() })).describe('the text around the match in order; `hit` segments are the matched words (plain text, never markup)'),
  })
  .describe('where a search (q) matched this incident: present only in search results');
const listedIncidentJson = incidentJson.extend({ match: matchJson.optional() });
const timelineJson = z.object({
  id: z.string(),
  kind: z.string(),
  occurred_at: z.string(),
  actor: z.object({ kind: z.enum(actorKinds), user: z.object({ id: z.string(), name: z.string() }).nullable(), ref: z.string().nullable() }),
  text: z.string(),
  payload: z.record(z.string(), z.unknown()),
});
const severityJson = z.object({ id: z.string(), name: z.string(), description: z.string(), rank: z.number() });
const statusJson = z.object({ id: z.string(), name: z.string(), description: z.string(), category: z.enum(categories), rank: z.number() });

const id = z.string().trim().min(1).max(64);
const idParams = z.strictObject({ id });
const name = z.string().trim().min(1, 'must not be empty').max(250);
const summary = z.string().max(10_000);
const reason = z.string().trim().max(2000);
const one = z.object({ incident: incidentJson });
/** `{ <field key or id>: value | null }`; each value is checked against its field by the service. */
const customFieldValues = z.record(z.string().min(1).max(100), z.unknown()).refine((r) => Object.keys(r).length <= 100, 'at most 100 fields');

export function incidentToJson(i: Incident) {
  return {
    id: i.id,
    reference: i.reference,
    number: i.number,
    name: i.name,
    summary: i.summary,
    severity: i.severity,
    status: i.status,
    mode: i.mode,
    source: i.source,
    creator: i.creator,
    lead: i.lead,
    merged_into: i.mergedInto,
    slack_channel_id: i.slackChannelId,
    slack_channel: i.slackChannelId ? { id: i.slackChannelId, name: i.slackChannelName } : null,
    created_at: i.createdAt,
    updated_at: i.updatedAt,
    status_timestamps: i.statusTimestamps.map((t) => ({ status: t.status, first_at: t.firstAt, last_at: t.lastAt })),
    available_actions: i.availableActions,
    custom_fields: i.customFields.map(customFieldValueToJson),
    ...timesToJson(i),
    roles: i.roles,
  };
}

function itemToJson(t: TimelineItem) {
  return { id: t.id, kind: t.kind, occurred_at: t.occurredAt, actor: t.actor, text: t.text, payload: t.payload };
}

export function registerIncidentRoutes(app: App, deps: { incidents: IncidentsService }): void {
  const svc = deps.incidents;
  const read = requireAccess('read');
  const write = requireAccess('write');
  const admin = requireAccess('admin');

  // ---- severities and statuses ----
  app.get('/api/v1/severities', { onRequest: read, schema: { tags: ['settings'], response: { 200: z.object({ severities: z.array(severityJson) }) } } }, async () => ({
    severities: await svc.listSeverities(),
  }));
  app.post(
    '/api/v1/severities',
    { onRequest: admin, schema: { tags: ['settings'], summary: 'Add a severity (it becomes the most severe; reorder with PATCH rank)', body: z.strictObject({ name: z.string().trim().min(1).max(60), description: z.string().max(1000).optional() }), response: { 201: z.object({ severity: severityJson }) } } },
    async (req, reply) => reply.status(201).send({ severity: await svc.createSeverity(req.body) }),
  );
  app.patch(
    '/api/v1/severities/:id',
    { onRequest: admin, schema: { tags: ['settings'], params: idParams, body: z.strictObject({ name: z.string().trim().min(1).max(60).optional(), description: z.string().max(1000).optional(), rank: z.number().int().min(1).max(100).optional() }), response: { 200: z.object({ severity: severityJson }) } } },
    async (req) => ({ severity: await svc.updateSeverity(req.params.id, req.body) }),
  );
  app.delete('/api/v1/severities/:id', { onRequest: admin, schema: { tags: ['settings'], params: idParams } }, async (req, reply) => {
    await svc.deleteSeverity(req.params.id);
    return reply.status(204).send();
  });
  app.get('/api/v1/statuses', { onRequest: read, schema: { tags: ['settings'], response: { 200: z.object({ statuses: z.array(statusJson) }) } } }, async () => ({
    statuses: await svc.listStatuses(),
  }));

  // ---- incidents ----
  app.get(
    '/api/v1/incidents',
    {
      onRequest: read,
      schema: {
        tags: ['incidents'],
        summary: 'List incidents (newest first, or best match first when searching, unless sort/order say otherwise), filtered and searched',
        querystring: z.strictObject({
          status_category: z
            .union([z.string(), z.array(z.string())])
            .optional()
            .transform((v) => (v === undefined ? undefined : (Array.isArray(v) ? v : [v]).flatMap((x) => x.split(',')).filter(Boolean)))
            .pipe(z.array(z.enum(categories)).optional()),
          severity_id: id.optional(),
          mode: z.enum(modes).optional(),
          custom_field: z
            .union([z.string().max(2100), z.array(z.string().max(2100)).max(20)])
            .optional()
            .transform((v) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]))
            .describe('<key>:<value> (catalog entry id, option id or label, exact text, number) or <key>:* for any value; repeat to require several'),
          q: z
            .string()
            .max(200)
            .optional()
            .describe('full-text search: every word must be in the name, summary, updates, notes or timeline (case-insensitive, the last word as a prefix; punctuation and operators are plain text); a reference (INC-42) finds that incident'),
          sort: z.enum(INCIDENT_SORTS).optional().describe('created (declaration), updated, severity (by rank), status (by rank) or relevance (needs q; ranks the newest 1,000 matches); default relevance with q, created without'),
          order: z.enum(['asc', 'desc']).default('desc').describe('desc: newest, most severe, latest status or most recently updated first'),
          limit: z.coerce.number().int().min(1).max(100).default(25),
          cursor: z.string().max(400).optional().describe("a previous page's next_cursor, with the same sort and order"),
        }),
        response: { 200: z.object({ incidents: z.array(listedIncidentJson), next_cursor: z.string().nullable() }) },
      },
    },
    async (req) => {
      const q = req.query;
      const page = await svc.listIncidents({ statusCategories: q.status_category, severityId: q.severity_id, mode: q.mode, customFields: q.custom_field, q: q.q, sort: q.sort, order: q.order, limit: q.limit, cursor: q.cursor });
      return { incidents: page.incidents.map((i) => ({ ...incidentToJson(i), ...(i.match ? { match: i.match } : {}) })), next_cursor: page.nextCursor };
    },
  );

  app.post(
    '/api/v1/incidents',
    {
      onRequest: write,
      schema: {
        tags: ['incidents'],
        summary: 'Declare an incident (the same idempotency key returns the same incident)',
        headers: z.object({ 'idempotency-key': z.string().min(1).max(200).optional() }),
        body: z.strictObject({
          name,
          summary: summary.optional(),
          severity_id: id.optional(),
          mode: z.enum(modes).optional(),
          triage: z.boolean().optional(),
          idempotency_key: z.string().min(1).max(200).optional(),
          custom_field_values: customFieldValues.optional(),
        }),
        response: { 200: one, 201: one },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const { incident, created } = await svc.createIncident(
        { name: b.name, summary: b.summary, severityId: b.severity_id, mode: b.mode, triage: b.triage, idempotencyKey: b.idempotency_key ?? req.headers['idempotency-key'], source: req.principal?.kind === 'api_key' ? 'api' : 'declared', customFieldValues: b.custom_field_values },
        actorOf(req.principal!),
      );
      return reply.status(created ? 201 : 200).send({ incident: incidentToJson(incident) });
    },
  );

  app.get('/api/v1/incidents/:id', { onRequest: read, schema: { tags: ['incidents'], summary: 'Get an incident by id or reference (INC-42)', params: idParams, response: { 200: one } } }, async (req) => ({
    incident: incidentToJson(await svc.getIncident(req.params.id)),
  }));

  app.patch(
    '/api/v1/incidents/:id',
    {
      onRequest: write,
      schema: { tags: ['incidents'], summary: 'Change name, summary or custom field values (null clears a value)', params: idParams, body: z.strictObject({ name: name.optional(), summary: summary.optional(), custom_field_values: customFieldValues.optional() }), response: { 200: one } },
    },
    async (req) => {
      const b = req.body;
      return { incident: incidentToJson(await svc.updateIncident(req.params.id, { name: b.name, summary: b.summary, customFieldValues: b.custom_field_values }, actorOf(req.principal!))) };
    },
  );

  const action = <S extends z.ZodType>(path: string, summaryText: string, body: S, run: (incidentId: string, body: z.output<S>, actor: Actor) => Promise<Incident>) => {
    app.post(
      `/api/v1/incidents/:id/actions/${path}`,
      { onRequest: write, schema: { tags: ['incidents'], summary: summaryText, params: idParams, body, response: { 200: one } } },
      async (req) => ({ incident: incidentToJson(await run(req.params.id, req.body as z.output<S>, actorOf(req.principal!))) }),
    );
  };
  const opt = <T extends z.ZodRawShape>(shape: T) => z.strictObject(shape).optional().default({} as never);

  action('accept', 'Accept a triage incident into a live status (the first one unless status_id says otherwise)', opt({ status_id: id.optional() }), (i, b, a) => svc.accept(i, { statusId: b.status_id }, a));
  action('decline', 'Decline a triage incident', opt({ reason: reason.optional() }), (i, b, a) => svc.decline(i, { reason: b.reason }, a));
  action('merge', 'Merge into another incident', z.strictObject({ into: id }), (i, b, a) => svc.merge(i, b.into, a));
  action('status', 'Move to another status', z.strictObject({ status_id: id }), (i, b, a) => svc.changeStatus(i, b.status_id, a));
  action('severity', 'Change severity', z.strictObject({ severity_id: id }), (i, b, a) => svc.changeSeverity(i, b.severity_id, a));
  action('close', 'Close a live incident', opt({}), (i, _b, a) => svc.close(i, a));
  action('cancel', 'Cancel an incident declared by mistake', opt({ reason: reason.optional() }), (i, b, a) => svc.cancel(i, { reason: b.reason }, a));
  action('lead', 'Set or clear the incident lead', z.strictObject({ user_id: id.nullable() }), (i, b, a) => svc.setLead(i, b.user_id, a));

  registerTimestampRoutes(app, { incidents: svc });

  // ---- timeline ----
  app.get('/api/v1/incidents/:id/timeline', { onRequest: read, schema: { tags: ['timeline'], params: idParams, response: { 200: z.object({ items: z.array(timelineJson) }) } } }, async (req) => ({
    items: (await svc.timeline(req.params.id)).map(itemToJson),
  }));
  app.post(
    '/api/v1/incidents/:id/timeline/notes',
    { onRequest: write, schema: { tags: ['timeline'], params: idParams, body: z.strictObject({ text: z.string().trim().min(1, 'must not be empty').max(10_000) }), response: { 201: z.object({ item: timelineJson }) } } },
    async (req, reply) => {
      const item = await svc.addNote(req.params.id, req.body.text, actorOf(req.principal!));
      return reply.status(201).send({ item: itemToJson(item!) });
    },
  );
}
