import { z } from 'zod';
import type { App } from '../platform/http/server.js';
import { requireAccess } from '../users/auth.js';
import { applyCatalogDocument, exportCatalogType } from './as-code.js';
import { attributeKinds, type AttributeInput, type CatalogEntry, type CatalogService, type CatalogType } from './catalog.service.js';
import type { AttributeKind } from './model.js';
import type { SyncRun, SyncRunsRepository } from './sync-runs.js';

// REST API: /api/v1/catalog_types, /api/v1/catalog_entries, /api/v1/catalog_sync_runs.

const attributeJson = z.object({
  id: z.string(),
  name: z.string(),
  type: z.enum(attributeKinds as [string, ...string[]]),
  array: z.boolean(),
  reference_type: z.string().nullable(),
  /** Derived attributes: the attribute ids followed from this type. */
  path: z.array(z.string()).nullable(),
  /** Derived attributes: the kind of what the path ends on. */
  derived_kind: z.string().nullable(),
});
const attributeInput = z.strictObject({
  id: z.string().max(63).optional(),
  name: z.string().trim().min(1).max(120),
  type: z.enum(attributeKinds as [string, ...string[]]),
  array: z.boolean().default(false),
  reference_type: z.string().max(64).nullable().optional(),
  path: z.array(z.string().max(63)).min(1).max(10).optional(),
});
const toAttributeInput = (a: z.output<typeof attributeInput>): AttributeInput => ({ id: a.id ?? null, name: a.name, type: a.type as AttributeKind, array: a.array, referenceType: a.reference_type ?? null, path: a.path ?? null });
const planJson = z.object({
  dry_run: z.boolean(),
  changed: z.boolean(),
  type: z.object({
    type_name: z.string(),
    name: z.string(),
    action: z.enum(['create', 'change', 'unchanged']),
    changes: z.array(z.object({ kind: z.string(), message: z.string(), entries: z.number() })),
    values_dropped: z.array(z.object({ id: z.string(), name: z.string(), entries: z.number() })),
  }),
  entries: z.object({
    add: z.array(z.object({ external_id: z.string(), name: z.string() })),
    change: z.array(z.object({ external_id: z.string(), name: z.string(), restore: z.boolean(), changes: z.array(z.object({ field: z.string(), label: z.string(), from: z.string(), to: z.string() })) })),
    archive: z.array(z.object({ external_id: z.string(), name: z.string() })),
    unchanged: z.number(),
  }),
});
const typeJson = z.object({
  id: z.string(),
  type_name: z.string(),
  name: z.string(),
  description: z.string(),
  source: z.string(),
  read_only: z.boolean(),
  syncing: z.boolean(),
  sync_interval_minutes: z.number().nullable(),
  last_synced_at: z.string().nullable(),
  attributes: z.array(attributeJson),
  entry_count: z.number().optional(),
});
const entryJson = z.object({
  id: z.string(),
  type_id: z.string(),
  external_id: z.string(),
  name: z.string(),
  aliases: z.array(z.string()),
  attribute_values: z.record(z.string(), z.unknown()),
  external_url: z.string().nullable(),
  archived_at: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
const linkJson = z.object({ kind: z.enum(['entry', 'user']), id: z.string(), name: z.string(), type_id: z.string().optional(), archived: z.boolean().optional(), email: z.string().optional() });
const typeStats = z.object({ fetched: z.number(), created: z.number(), updated: z.number(), archived: z.number(), unchanged: z.number(), skipped_by_marker: z.number(), looked_up: z.number(), complete: z.boolean(), error: z.string().nullable(), warnings: z.array(z.string()) });
export const syncRunJson = z.object({
  id: z.string(),
  source: z.string(),
  trigger: z.string(),
  status: z.string(),
  forced: z.boolean(),
  types: z.array(z.string()),
  stats: z.record(z.string(), typeStats),
  progress: z.record(z.string(), z.object({ fetched: z.number(), total: z.number().nullable() })),
  requests: z.number(),
  rows_written: z.number().nullable(),
  errors: z.array(z.string()),
  /** Known limits of the run, each prefixed with its type (a run with warnings still succeeded). */
  warnings: z.array(z.string()),
  stop_reason: z.string().nullable(),
  requested_by: z.string().nullable(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
});

export function typeToJson(t: CatalogType & { entryCount?: number }) {
  return {
    id: t.id,
    type_name: t.typeName,
    name: t.name,
    description: t.description,
    source: t.source,
    read_only: t.readOnly,
    syncing: t.syncing,
    sync_interval_minutes: t.syncIntervalMs === null ? null : Math.round(t.syncIntervalMs / 60_000),
    last_synced_at: t.lastSyncedAt,
    attributes: t.attributes.map((a) => ({ id: a.id, name: a.name, type: a.type, array: a.array, reference_type: a.referenceType ?? null, path: a.type === 'derived' ? (a.path ?? []) : null, derived_kind: a.type === 'derived' ? (a.derivedKind ?? null) : null })),
    ...(t.entryCount !== undefined ? { entry_count: t.entryCount } : {}),
  };
}

export function entryToJson(e: CatalogEntry) {
  return {
    id: e.id,
    type_id: e.typeId,
    external_id: e.externalId,
    name: e.name,
    aliases: e.aliases,
    attribute_values: e.attributes,
    external_url: e.externalUrl,
    archived_at: e.archivedAt,
    created_at: e.createdAt,
    updated_at: e.updatedAt,
  };
}

export function toRunJson(r: SyncRun) {
  return {
    id: r.id,
    source: r.source,
    trigger: r.trigger,
    status: r.status,
    forced: r.forced,
    types: r.types,
    stats: Object.fromEntries(
      Object.entries(r.stats).map(([k, s]) => [k, { fetched: s.fetched, created: s.created, updated: s.updated, archived: s.archived, unchanged: s.unchanged, skipped_by_marker: s.skippedByMarker, looked_up: s.lookedUp, complete: s.complete, error: s.error, warnings: s.warnings }]),
    ),
    progress: r.progress,
    requests: r.requests,
    rows_written: r.rowsWritten ?? null,
    errors: r.errors,
    warnings: Object.entries(r.stats).flatMap(([k, s]) => s.warnings.map((w) => `${k}: ${w}`)),
    stop_reason: r.stopReason,
    requested_by: r.requestedBy,
    created_at: r.createdAt,
    started_at: r.startedAt,
    finished_at: r.finishedAt,
  };
}

const idParams = z.strictObject({ id: z.string().trim().min(1).max(100) });

export function registerCatalogRoutes(app: App, deps: { catalog: CatalogService; runs: SyncRunsRepository }): void {
  const { catalog, runs } = deps;
  const read = requireAccess('read');
  const admin = requireAccess('admin');
  const tags = ['catalog'];

  app.get('/api/v1/catalog_types', { onRequest: read, schema: { tags, summary: 'Catalog types with entry counts and last sync', response: { 200: z.object({ catalog_types: z.array(typeJson) }) } } }, async () => ({
    catalog_types: (await catalog.listTypes()).map(typeToJson),
  }));

  app.get('/api/v1/catalog_types/:id', { onRequest: read, schema: { tags, summary: 'A catalog type by id or type name', params: idParams, response: { 200: z.object({ catalog_type: typeJson }) } } }, async (req) => ({
    catalog_type: typeToJson(await catalog.getType(req.params.id)),
  }));

  app.post(
    '/api/v1/catalog_types',
    {
      onRequest: admin,
      schema: {
        tags,
        summary: 'Create a custom catalog type',
        body: z.strictObject({
          type_name: z.string().trim().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'must be letters, digits and underscores, starting with a letter'),
          name: z.string().trim().min(1).max(120),
          description: z.string().max(2000).optional(),
          attributes: z.array(attributeInput).max(50).default([]),
        }),
        response: { 201: z.object({ catalog_type: typeJson }) },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const t = await catalog.createType({ typeName: b.type_name, name: b.name, description: b.description, attributes: b.attributes.map(toAttributeInput) });
      return reply.status(201).send({ catalog_type: typeToJson(t) });
    },
  );

  app.patch(
    '/api/v1/catalog_types/:id',
    {
      onRequest: admin,
      schema: {
        tags,
        summary: 'Change a custom type: name, description, attributes (the full list; an attribute keeps its values when given with its id)',
        description: 'Removing an attribute that entries have values for (or changing its kind, list flag or referenced type) answers 409 attribute_in_use unless confirm=true, which drops those values. The type_name never changes.',
        params: idParams,
        querystring: z.strictObject({ confirm: z.enum(['true', 'false']).optional() }),
        body: z.strictObject({ name: z.string().trim().min(1).max(120).optional(), description: z.string().max(2000).optional(), attributes: z.array(attributeInput).max(50).optional() }),
        response: { 200: z.object({ catalog_type: typeJson }) },
      },
    },
    async (req) => {
      const b = req.body;
      const t = await catalog.updateType(req.params.id, { name: b.name, description: b.description, attributes: b.attributes?.map(toAttributeInput) }, { confirm: req.query.confirm === 'true' });
      return { catalog_type: typeToJson(t) };
    },
  );

  app.get(
    '/api/v1/catalog_types/:id/export',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'A type with its current entries as a catalog-as-code document (YAML or JSON; docs/catalog-as-code.md)',
        params: idParams,
        querystring: z.strictObject({ format: z.enum(['yaml', 'json']).default('yaml'), download: z.enum(['true', 'false']).optional() }),
        response: { 200: z.string().describe('The document (application/yaml or application/json)') },
      },
    },
    async (req, reply) => {
      const { typeName, text } = await exportCatalogType(catalog, req.params.id, req.query.format);
      if (req.query.download === 'true') reply.header('content-disposition', `attachment; filename="${typeName}.${req.query.format}"`);
      return reply.type(req.query.format === 'json' ? 'application/json; charset=utf-8' : 'application/yaml; charset=utf-8').send(text);
    },
  );

  app.post(
    '/api/v1/catalog/apply',
    {
      onRequest: admin,
      schema: {
        tags,
        summary: 'Apply a catalog-as-code document (YAML or JSON text): the plan, written unless dry_run',
        description: 'Entries are matched by external_id; entries of the type missing from the document are archived. Applying the same document again changes nothing. An invalid document answers 400 invalid_document (details.position: line and column); a reference to no entry answers 400 unknown_reference.',
        body: z.strictObject({ document: z.string().min(1).max(5_000_000), dry_run: z.boolean().default(false), confirm: z.boolean().default(false) }),
        response: { 200: z.object({ plan: planJson }) },
      },
    },
    async (req) => ({ plan: await applyCatalogDocument(catalog, req.body.document, { dryRun: req.body.dry_run, confirm: req.body.confirm }) }),
  );

  app.delete('/api/v1/catalog_types/:id', { onRequest: admin, schema: { tags, summary: 'Delete a custom catalog type (integration types are read-only)', params: idParams } }, async (req, reply) => {
    await catalog.deleteType(req.params.id);
    return reply.status(204).send();
  });

  app.get(
    '/api/v1/catalog_entries',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'Entries, by name; filter by type, search (name, alias or external id) and archived',
        querystring: z.strictObject({
          catalog_type_id: z.string().max(100).optional(),
          type_id: z.string().max(100).optional().describe('The same as catalog_type_id'),
          search: z.string().max(200).optional(),
          archived: z.enum(['exclude', 'include', 'only']).default('exclude'),
          limit: z.coerce.number().int().min(1).max(250).default(50),
          cursor: z.string().max(500).optional(),
        }),
        response: { 200: z.object({ catalog_entries: z.array(entryJson), next_cursor: z.string().nullable() }) },
      },
    },
    async (req) => {
      const q = req.query;
      const page = await catalog.listEntries({ typeId: q.catalog_type_id ?? q.type_id, search: q.search, archived: q.archived, limit: q.limit, cursor: q.cursor });
      return { catalog_entries: page.entries.map(entryToJson), next_cursor: page.nextCursor };
    },
  );

  app.get(
    '/api/v1/catalog_entries/:id',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'An entry with its attributes resolved and its backlinks',
        params: idParams,
        response: {
          200: z.object({
            catalog_entry: entryJson,
            catalog_type: typeJson,
            attributes: z.array(z.object({ attribute: attributeJson, value: z.unknown(), links: z.array(linkJson) })),
            backlinks: z.array(z.object({ type: z.object({ id: z.string(), name: z.string() }), attribute: z.object({ id: z.string(), name: z.string() }), entries: z.array(z.object({ id: z.string(), name: z.string(), archived: z.boolean() })) })),
          }),
        },
      },
    },
    async (req) => {
      const d = await catalog.describeEntry(req.params.id);
      const t = typeToJson(d.type);
      return {
        catalog_entry: entryToJson(d.entry),
        catalog_type: t,
        attributes: d.attributes.map((a) => ({ attribute: t.attributes.find((x) => x.id === a.attribute.id)!, value: a.value, links: a.links })),
        backlinks: d.backlinks,
      };
    },
  );

  app.post(
    '/api/v1/catalog_entries',
    {
      onRequest: admin,
      schema: {
        tags,
        summary: 'Add an entry to a custom type',
        body: z.strictObject({ catalog_type_id: z.string().max(100), external_id: z.string().trim().min(1).max(200).optional(), name: z.string().trim().min(1).max(250), aliases: z.array(z.string().max(250)).max(50).optional(), attribute_values: z.record(z.string(), z.unknown()).optional() }),
        response: { 201: z.object({ catalog_entry: entryJson }) },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const e = await catalog.createEntry({ typeId: b.catalog_type_id, externalId: b.external_id, name: b.name, aliases: b.aliases, attributes: b.attribute_values });
      return reply.status(201).send({ catalog_entry: entryToJson(e) });
    },
  );

  app.patch(
    '/api/v1/catalog_entries/:id',
    {
      onRequest: admin,
      schema: {
        tags,
        summary: 'Change an entry of a custom type (given attribute values replace the stored ones; null clears one)',
        params: idParams,
        body: z.strictObject({ external_id: z.string().trim().min(1).max(200).optional(), name: z.string().trim().min(1).max(250).optional(), aliases: z.array(z.string().max(250)).max(50).optional(), attribute_values: z.record(z.string(), z.unknown()).optional() }),
        response: { 200: z.object({ catalog_entry: entryJson }) },
      },
    },
    async (req) => {
      const b = req.body;
      return { catalog_entry: entryToJson(await catalog.updateEntry(req.params.id, { externalId: b.external_id, name: b.name, aliases: b.aliases, attributes: b.attribute_values })) };
    },
  );

  app.post('/api/v1/catalog_entries/:id/actions/archive', { onRequest: admin, schema: { tags, summary: 'Archive an entry of a custom type', params: idParams, response: { 200: z.object({ catalog_entry: entryJson }) } } }, async (req) => ({
    catalog_entry: entryToJson(await catalog.archiveEntry(req.params.id)),
  }));

  app.post('/api/v1/catalog_entries/:id/actions/restore', { onRequest: admin, schema: { tags, summary: 'Restore an archived entry of a custom type', params: idParams, response: { 200: z.object({ catalog_entry: entryJson }) } } }, async (req) => ({
    catalog_entry: entryToJson(await catalog.restoreEntry(req.params.id)),
  }));

  app.get(
    '/api/v1/catalog_sync_runs',
    { onRequest: read, schema: { tags, summary: 'Sync runs, newest first', querystring: z.strictObject({ source: z.string().max(50).optional(), limit: z.coerce.number().int().min(1).max(100).default(20) }), response: { 200: z.object({ sync_runs: z.array(syncRunJson) }) } } },
    async (req) => ({ sync_runs: (await runs.list(req.query.source, req.query.limit)).map(toRunJson) }),
  );

  app.get('/api/v1/catalog_sync_runs/:id', { onRequest: read, schema: { tags, summary: 'One sync run (progress while it runs)', params: idParams, response: { 200: z.object({ sync_run: syncRunJson }) } } }, async (req) => ({
    sync_run: toRunJson(await runs.get(req.params.id)),
  }));
}
