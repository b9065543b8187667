import { z } from 'zod';
import type { App } from '../platform/http/server.js';
import { actorOf, requireAccess } from '../users/auth.js';
import { contentDisposition, exportFileName, htmlDocument } from './export.js';
import { MAX_TEMPLATE_BYTES, variableList } from './template.js';
import { CHECKLIST_ITEMS, MAX_WRITE_UP_BYTES, type Checklist, type WriteUp, type WriteUpsService, type WriteUpTemplate } from './write-ups.service.js';

// REST API of the post-incident write-up:
//   /api/v1/settings/write_up_template            GET (read), PUT and DELETE (admin: save, back to the default)
//   /api/v1/settings/write_up_template/preview    POST (admin): a template rendered for an incident, nothing written
//   /api/v1/incidents/:incident_id/write_up       GET (read), POST generate and PATCH save (write)
//   /api/v1/incidents/:incident_id/write_up/export.md | export.html   GET (read): downloads
//   /api/v1/incidents/:incident_id/post_incident  GET (read); POST …/items/:item (write)

const tags = ['write-ups'];
const id = z.string().trim().min(1).max(64);
const incidentParams = z.strictObject({ incident_id: id });
const fitsIn = (max: number) => (s: string) => Buffer.byteLength(s, 'utf8') <= max;
const templateText = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_TEMPLATE_BYTES)
  .refine(fitsIn(MAX_TEMPLATE_BYTES), `must be at most ${MAX_TEMPLATE_BYTES / 1024} KB (${MAX_TEMPLATE_BYTES} bytes of UTF-8)`);
const writeUpText = z
  .string()
  .max(MAX_WRITE_UP_BYTES)
  .refine(fitsIn(MAX_WRITE_UP_BYTES), `must be at most ${MAX_WRITE_UP_BYTES / 1024} KB (${MAX_WRITE_UP_BYTES} bytes of UTF-8)`);

const incidentRef = z.object({ id: z.string(), reference: z.string(), name: z.string() });
const templateJson = z.object({
  markdown: z.string(),
  is_default: z.boolean(),
  updated_at: z.string().nullable(),
  updated_by: z.string().nullable().describe('who saved it, by name'),
  variables: z.array(z.object({ name: z.string(), description: z.string(), list: z.boolean(), inside: z.string().nullable().describe('the list whose section it is used in, by its own name') })),
});
const writeUpJson = z.object({
  incident: incidentRef,
  markdown: z.string(),
  html: z.string().describe('the Markdown rendered with raw HTML disabled'),
  version: z.number().describe('send it back with PATCH; a newer one means someone else saved'),
  generated_at: z.string(),
  generated_by: z.string(),
  edited: z.boolean(),
  edited_at: z.string().nullable(),
  updated_at: z.string(),
  updated_by: z.string(),
});
const checklistJson = z.object({
  incident: incidentRef.extend({ status: z.object({ name: z.string(), category: z.string() }) }),
  applicable: z.boolean().describe('true once the incident is closed'),
  complete: z.boolean().describe('closed and every item done: "Post-incident complete"'),
  completed_at: z.string().nullable(),
  items: z.array(
    z.object({
      item: z.enum(CHECKLIST_ITEMS),
      label: z.string(),
      done: z.boolean(),
      derived: z.boolean().describe('ticked by itself from what exists (write-up, follow-ups)'),
      detail: z.string(),
      note: z.string().nullable(),
      by: z.string().nullable(),
      at: z.string().nullable(),
    }),
  ),
  write_up: z.object({ exists: z.boolean(), edited: z.boolean(), version: z.number().nullable() }),
  follow_up_count: z.number(),
});

function templateToJson(t: WriteUpTemplate) {
  return { markdown: t.markdown, is_default: t.isDefault, updated_at: t.updatedAt, updated_by: t.updatedBy, variables: variableList() };
}

function writeUpToJson(w: WriteUp) {
  return {
    incident: w.incident,
    markdown: w.markdown,
    html: w.html,
    version: w.version,
    generated_at: w.generatedAt,
    generated_by: w.generatedBy,
    edited: w.editedAt !== null,
    edited_at: w.editedAt,
    updated_at: w.updatedAt,
    updated_by: w.updatedBy,
  };
}

function checklistToJson(c: Checklist) {
  return {
    incident: c.incident,
    applicable: c.applicable,
    complete: c.complete,
    completed_at: c.completedAt,
    items: c.items,
    write_up: c.writeUp,
    follow_up_count: c.followUpCount,
  };
}

export function registerWriteUpRoutes(app: App, deps: { writeUps: WriteUpsService }): void {
  const svc = deps.writeUps;
  const read = requireAccess('read');
  const write = requireAccess('write');
  const admin = requireAccess('admin');

  // ---- the template (settings) ----
  app.get(
    '/api/v1/settings/write_up_template',
    { onRequest: read, schema: { tags, summary: 'The write-up template (Markdown with {{variables}}) and the variables it may use', response: { 200: z.object({ template: templateJson }) } } },
    async () => ({ template: templateToJson(await svc.template()) }),
  );
  app.put(
    '/api/v1/settings/write_up_template',
    {
      onRequest: admin,
      schema: {
        tags,
        summary: 'Save the write-up template: 400 invalid_template with line and column when it does not parse, or naming unknown variables; nothing is saved then',
        body: z.strictObject({ markdown: templateText }),
        response: { 200: z.object({ template: templateJson }) },
      },
    },
    async (req) => ({ template: templateToJson(await svc.setTemplate(req.body.markdown, actorOf(req.principal!))) }),
  );
  app.delete(
    '/api/v1/settings/write_up_template',
    { onRequest: admin, schema: { tags, summary: 'Go back to the default write-up template', response: { 200: z.object({ template: templateJson }) } } },
    async (req) => ({ template: templateToJson(await svc.resetTemplate(actorOf(req.principal!))) }),
  );
  app.post(
    '/api/v1/settings/write_up_template/preview',
    {
      onRequest: admin,
      schema: {
        tags,
        summary: 'Render a template (saved or not) for an incident, as generating would; nothing is written',
        body: z.strictObject({ markdown: templateText, incident_id: id.describe('id or reference (INC-42)') }),
        response: { 200: z.object({ markdown: z.string(), html: z.string() }) },
      },
    },
    async (req) => svc.preview(req.body.markdown, req.body.incident_id),
  );

  // ---- the write-up ----
  app.get(
    '/api/v1/incidents/:incident_id/write_up',
    { onRequest: read, schema: { tags, summary: "The incident's write-up: Markdown, rendered HTML and version (404 until generated)", params: incidentParams, response: { 200: z.object({ write_up: writeUpJson }) } } },
    async (req) => ({ write_up: writeUpToJson(await svc.get(req.params.incident_id)) }),
  );
  app.post(
    '/api/v1/incidents/:incident_id/write_up',
    {
      onRequest: write,
      schema: {
        tags,
        summary: 'Generate the write-up from the template (409 write_up_exists when there is one, unless regenerate: true)',
        params: incidentParams,
        body: z.strictObject({ regenerate: z.boolean().optional() }).optional().default({}),
        response: { 200: z.object({ write_up: writeUpJson }), 201: z.object({ write_up: writeUpJson }) },
      },
    },
    async (req, reply) => {
      const { writeUp, created } = await svc.generate(req.params.incident_id, { regenerate: req.body?.regenerate ?? false }, actorOf(req.principal!));
      return reply.status(created ? 201 : 200).send({ write_up: writeUpToJson(writeUp) });
    },
  );
  app.patch(
    '/api/v1/incidents/:incident_id/write_up',
    {
      onRequest: write,
      schema: {
        tags,
        summary: 'Save edited Markdown (at most 200 KB) over `version`; 409 stale_write_up names who saved a newer one',
        params: incidentParams,
        body: z.strictObject({ markdown: writeUpText, version: z.number().int().min(1).max(1_000_000_000) }),
        response: { 200: z.object({ write_up: writeUpJson }) },
      },
    },
    async (req) => ({ write_up: writeUpToJson(await svc.save(req.params.incident_id, req.body, actorOf(req.principal!))) }),
  );
  app.get(
    '/api/v1/incidents/:incident_id/write_up/export.md',
    { onRequest: read, schema: { tags, summary: 'The write-up as a Markdown file (text/markdown, attachment <reference>-write-up.md)', params: incidentParams, response: { 200: z.string().describe('Markdown') } } },
    async (req, reply) => {
      const w = await svc.get(req.params.incident_id);
      return reply.header('content-disposition', contentDisposition(exportFileName(w, 'md'))).type('text/markdown; charset=utf-8').send(w.markdown);
    },
  );
  app.get(
    '/api/v1/incidents/:incident_id/write_up/export.html',
    { onRequest: read, schema: { tags, summary: 'The write-up as a standalone HTML document (attachment <reference>-write-up.html)', params: incidentParams, response: { 200: z.string().describe('An HTML document') } } },
    async (req, reply) => {
      const w = await svc.get(req.params.incident_id);
      return reply.header('content-disposition', contentDisposition(exportFileName(w, 'html'))).type('text/html; charset=utf-8').send(htmlDocument(w));
    },
  );

  // ---- the post-incident checklist ----
  app.get(
    '/api/v1/incidents/:incident_id/post_incident',
    { onRequest: read, schema: { tags, summary: 'The post-incident checklist: write-up written, review held, follow-ups created', params: incidentParams, response: { 200: z.object({ post_incident: checklistJson }) } } },
    async (req) => ({ post_incident: checklistToJson(await svc.checklist(req.params.incident_id)) }),
  );
  app.post(
    '/api/v1/incidents/:incident_id/post_incident/items/:item',
    {
      onRequest: write,
      schema: {
        tags,
        summary: 'Tick or untick a checklist item of a closed incident: review, or follow_ups as "none needed" (write_up ticks itself)',
        params: z.strictObject({ incident_id: id, item: z.enum(CHECKLIST_ITEMS) }),
        body: z.strictObject({ done: z.boolean(), note: z.string().max(2000).nullable().optional() }),
        response: { 200: z.object({ post_incident: checklistJson }) },
      },
    },
    async (req) => ({ post_incident: checklistToJson(await svc.setItem(req.params.incident_id, req.params.item, req.body, actorOf(req.principal!))) }),
  );
}
