import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import type { App } from '../platform/http/server.js';
import { actorOf, requireAccess } from '../users/auth.js';
import { DESCRIPTION_MAX, FOLLOW_UP_PRIORITIES, FOLLOW_UP_STATUSES, TITLE_MAX, type FollowUp, type FollowUpFilters, type FollowUpsService } from './follow-ups.service.js';

// The follow-ups API: on an incident (`/incidents/:incident_id/follow_ups`), one at a time
// (`/follow_ups/:follow_up_id`), and across incidents with filters, keyset pages and a CSV export.

const tags = ['follow-ups'];
const actorKinds = ['user', 'integration', 'workflow', 'system'] as const;

export const followUpJson = z.object({
  id: z.string(),
  incident: z.object({ id: z.string(), reference: z.string(), name: z.string() }),
  title: z.string(),
  description: z.string(),
  owner: z.object({ id: z.string(), name: z.string(), email: z.string() }).nullable(),
  priority: z.enum(FOLLOW_UP_PRIORITIES),
  status: z.enum(FOLLOW_UP_STATUSES),
  link: z.string().nullable(),
  source: z.enum(['web', 'api', 'slack']),
  source_ref: z.string().nullable().describe('where it was made from, e.g. the Slack message permalink'),
  created_by: z.object({ kind: z.enum(actorKinds), user: z.object({ id: z.string(), name: z.string() }).nullable() }),
  created_at: z.string(),
  updated_at: z.string(),
  completed_at: z.string().nullable().describe('when it became done or wont_do; null while open'),
});

export function followUpToJson(f: FollowUp): z.infer<typeof followUpJson> {
  return {
    id: f.id,
    incident: f.incident,
    title: f.title,
    description: f.description,
    owner: f.owner,
    priority: f.priority,
    status: f.status,
    link: f.link,
    source: f.source,
    source_ref: f.sourceRef,
    created_by: f.createdBy,
    created_at: f.createdAt,
    updated_at: f.updatedAt,
    completed_at: f.completedAt,
  };
}

const id = z.string().trim().min(1).max(64);
const title = z.string().trim().min(1, 'must not be empty').max(TITLE_MAX);
const description = z.string().max(DESCRIPTION_MAX);
const link = z
  .string()
  .trim()
  .max(2000)
  .pipe(z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }));
const one = z.object({ follow_up: followUpJson });

/** `a,b` or repeated `?x=a&x=b`, each checked against the allowed values. */
const listOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z
    .union([z.string().max(200), z.array(z.string().max(200)).max(10)])
    .optional()
    .transform((v) => (v === undefined ? undefined : (Array.isArray(v) ? v : [v]).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean)))
    .pipe(z.array(z.enum(values)).optional());

const filterQuery = {
  status: listOf(FOLLOW_UP_STATUSES).describe('open, done, wont_do; comma-separated or repeated for several'),
  priority: listOf(FOLLOW_UP_PRIORITIES).describe('urgent, high, medium, low; comma-separated or repeated for several'),
  owner_user_id: id.optional(),
  incident: id.optional().describe('an incident id or reference (INC-42)'),
  q: z.string().max(200).optional().describe('words matched case-insensitively in the title or description; all must match'),
};

function filtersOf(q: { status?: FollowUpFilters['statuses']; priority?: FollowUpFilters['priorities']; owner_user_id?: string; incident?: string; q?: string }): FollowUpFilters {
  return { statuses: q.status, priorities: q.priority, ownerUserId: q.owner_user_id, incident: q.incident, q: q.q };
}

const CSV_COLUMNS = [
  { key: 'incident_reference', header: 'Incident' },
  { key: 'incident_name', header: 'Incident name' },
  { key: 'title', header: 'Title' },
  { key: 'status', header: 'Status' },
  { key: 'priority', header: 'Priority' },
  { key: 'owner_name', header: 'Owner' },
  { key: 'owner_email', header: 'Owner email' },
  { key: 'link', header: 'Link' },
  { key: 'description', header: 'Description' },
  { key: 'created_by', header: 'Created by' },
  { key: 'created_at', header: 'Created at' },
  { key: 'completed_at', header: 'Completed at' },
  { key: 'source_ref', header: 'Source' },
];
const STATUS_WORDS: Record<FollowUp['status'], string> = { open: 'Open', done: 'Done', wont_do: "Won't do" };

function csvRow(f: FollowUp): Record<string, string> {
  return {
    incident_reference: f.incident.reference,
    incident_name: f.incident.name,
    title: f.title,
    status: STATUS_WORDS[f.status],
    priority: f.priority,
    owner_name: f.owner?.name ?? '',
    owner_email: f.owner?.email ?? '',
    link: f.link ?? '',
    description: f.description,
    created_by: f.createdBy.user?.name ?? f.createdBy.kind,
    created_at: f.createdAt,
    completed_at: f.completedAt ?? '',
    source_ref: f.sourceRef ?? '',
  };
}

export function registerFollowUpRoutes(app: App, deps: { followUps: FollowUpsService }): void {
  const svc = deps.followUps;
  const read = requireAccess('read');
  const write = requireAccess('write');

  app.post(
    '/api/v1/incidents/:incident_id/follow_ups',
    {
      onRequest: write,
      schema: {
        tags,
        summary: 'Add a follow-up to an incident (closed incidents too; merged or canceled ones answer 409); the same idempotency key returns the same follow-up',
        params: z.strictObject({ incident_id: id }),
        headers: z.object({ 'idempotency-key': z.string().trim().min(1).max(200).optional() }),
        body: z.strictObject({
          title,
          description: description.optional(),
          owner_user_id: id.nullable().optional(),
          priority: z.enum(FOLLOW_UP_PRIORITIES).default('medium'),
          status: z.enum(FOLLOW_UP_STATUSES).default('open'),
          link: link.nullable().optional(),
        }),
        response: { 200: one, 201: one },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const source = req.principal?.kind === 'api_key' ? 'api' : 'web';
      const input = { title: b.title, description: b.description, ownerUserId: b.owner_user_id, priority: b.priority, status: b.status, link: b.link, source, idempotencyKey: req.headers['idempotency-key'] } as const;
      const { followUp, created } = await svc.createOnce(req.params.incident_id, input, actorOf(req.principal!));
      return reply.status(created ? 201 : 200).send({ follow_up: followUpToJson(followUp) });
    },
  );

  app.get(
    '/api/v1/incidents/:incident_id/follow_ups',
    { onRequest: read, schema: { tags, summary: "An incident's follow-ups, oldest first", params: z.strictObject({ incident_id: id }), response: { 200: z.object({ follow_ups: z.array(followUpJson) }) } } },
    async (req) => ({ follow_ups: (await svc.forIncident(req.params.incident_id)).map(followUpToJson) }),
  );

  app.get(
    '/api/v1/follow_ups',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'Follow-ups across incidents, newest first, filtered, a page at a time',
        querystring: z.strictObject({
          ...filterQuery,
          limit: z.coerce.number().int().min(1).max(100).default(25),
          cursor: z.string().max(400).optional().describe("a previous page's next_cursor, with the same filters"),
        }),
        response: { 200: z.object({ follow_ups: z.array(followUpJson), next_cursor: z.string().nullable() }) },
      },
    },
    async (req) => {
      const page = await svc.list(filtersOf(req.query), { limit: req.query.limit, cursor: req.query.cursor });
      return { follow_ups: page.followUps.map(followUpToJson), next_cursor: page.nextCursor };
    },
  );

  app.get(
    '/api/v1/follow_ups/export.csv',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'Every follow-up matching the filters as CSV (names, not ids: incident reference and name, owner name and email)',
        querystring: z.strictObject(filterQuery),
        response: { 200: z.string().describe('text/csv; one header row, then one row per follow-up, newest first') },
      },
    },
    async (req, reply) => {
      const rows: Record<string, string>[] = [];
      for await (const f of svc.all(filtersOf(req.query))) rows.push(csvRow(f));
      // escape_formulas: a cell starting with = + - @ cannot run as a formula in a spreadsheet.
      const text = stringify(rows, { header: true, columns: CSV_COLUMNS, escape_formulas: true });
      const day = new Date().toISOString().slice(0, 10);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="follow-ups-${day}.csv"`)
        .send(text);
    },
  );

  app.get(
    '/api/v1/follow_ups/:follow_up_id',
    { onRequest: read, schema: { tags, summary: 'One follow-up', params: z.strictObject({ follow_up_id: id }), response: { 200: one } } },
    async (req) => ({ follow_up: followUpToJson(await svc.get(req.params.follow_up_id)) }),
  );

  app.patch(
    '/api/v1/follow_ups/:follow_up_id',
    {
      onRequest: write,
      schema: {
        tags,
        summary: 'Change a follow-up (done or wont_do sets completed_at; open clears it; null clears owner or link)',
        params: z.strictObject({ follow_up_id: id }),
        body: z.strictObject({
          title: title.optional(),
          description: description.optional(),
          owner_user_id: id.nullable().optional(),
          priority: z.enum(FOLLOW_UP_PRIORITIES).optional(),
          status: z.enum(FOLLOW_UP_STATUSES).optional(),
          link: link.nullable().optional(),
        }),
        response: { 200: one },
      },
    },
    async (req) => {
      const b = req.body;
      const f = await svc.update(req.params.follow_up_id, { title: b.title, description: b.description, ownerUserId: b.owner_user_id, priority: b.priority, status: b.status, link: b.link }, actorOf(req.principal!));
      return { follow_up: followUpToJson(f) };
    },
  );
}
