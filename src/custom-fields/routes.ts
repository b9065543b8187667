import { z } from 'zod';
import type { App } from '../platform/http/server.js';
import { actorOf, requireAccess } from '../users/auth.js';
import type { CustomFieldsService, FieldPatch } from './custom-fields.service.js';
import { customFieldTypes, type CustomField, type CustomFieldValueView } from './model.js';

// REST API: /api/v1/custom_fields (definitions: read to list, admin to change). Values are set through the
// incidents API (`custom_field_values`).

const typeEnum = z.enum(customFieldTypes as [CustomField['type'], ...CustomField['type'][]]);
const valueJson = z.union([z.string(), z.number(), z.array(z.string())]);
export const customFieldJson = z.object({
  id: z.string(),
  key: z.string(),
  name: z.string(),
  description: z.string(),
  type: typeEnum,
  options: z.array(z.object({ id: z.string(), label: z.string() })),
  catalog_type: z.object({ id: z.string(), type_name: z.string(), name: z.string() }).nullable(),
  multiple: z.boolean(),
  required_at_declaration: z.boolean(),
  required_before_close: z.boolean(),
  show_in_declare: z.boolean(),
  default_value: valueJson.nullable(),
  rank: z.number(),
  deleted_at: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  incident_count: z.number(),
});

/** An incident's value of one field, as the incident JSON carries it. */
export const customFieldValueJson = z.object({
  field: z.object({ id: z.string(), key: z.string(), name: z.string(), type: typeEnum, multiple: z.boolean(), catalog_type_name: z.string().nullable() }),
  value: valueJson,
  display: z.array(z.object({ id: z.string().nullable(), label: z.string(), archived: z.boolean(), url: z.string().nullable() })),
});

export function customFieldValueToJson(v: CustomFieldValueView) {
  return {
    field: { id: v.field.id, key: v.field.key, name: v.field.name, type: v.field.type, multiple: v.field.multiple, catalog_type_name: v.field.catalogTypeName },
    value: v.value,
    display: v.display,
  };
}

const option = z.strictObject({ id: z.string().trim().min(1).max(64).optional(), label: z.string().trim().min(1, 'must not be empty').max(120) });
const fieldBody = {
  name: z.string().trim().min(1, 'must not be empty').max(120),
  description: z.string().max(2000),
  type: typeEnum,
  options: z.array(option).max(200),
  catalog_type: z.string().trim().min(1).max(100).nullable(),
  multiple: z.boolean(),
  required_at_declaration: z.boolean(),
  required_before_close: z.boolean(),
  show_in_declare: z.boolean(),
  default_value: z.unknown(),
  rank: z.number().int().min(0).max(100_000),
};
const key = z.string().trim().regex(/^[a-z][a-z0-9_]{0,62}$/, 'must start with a lower-case letter and have only lower-case letters, digits and underscores (at most 63)');
const idParams = z.strictObject({ id: z.string().trim().min(1).max(100) });
const flag = z.enum(['true', 'false']).optional().transform((v) => v === 'true');

function toPatch(b: Partial<{ [K in keyof typeof fieldBody]: z.output<(typeof fieldBody)[K]> }> & { key?: string }): FieldPatch {
  const p: FieldPatch = {};
  if (b.key !== undefined) p.key = b.key;
  if (b.name !== undefined) p.name = b.name;
  if (b.description !== undefined) p.description = b.description;
  if (b.type !== undefined) p.type = b.type;
  if (b.options !== undefined) p.options = b.options;
  if (b.catalog_type !== undefined) p.catalogType = b.catalog_type;
  if (b.multiple !== undefined) p.multiple = b.multiple;
  if (b.required_at_declaration !== undefined) p.requiredAtDeclaration = b.required_at_declaration;
  if (b.required_before_close !== undefined) p.requiredBeforeClose = b.required_before_close;
  if (b.show_in_declare !== undefined) p.showInDeclare = b.show_in_declare;
  if ('default_value' in b) p.defaultValue = b.default_value ?? null;
  if (b.rank !== undefined) p.rank = b.rank;
  return p;
}

export function registerCustomFieldRoutes(app: App, deps: { customFields: CustomFieldsService }): void {
  const svc = deps.customFields;
  const read = requireAccess('read');
  const admin = requireAccess('admin');
  const tags = ['custom fields'];

  const toJson = async (fields: CustomField[]) => {
    const [counts, types] = await Promise.all([svc.incidentCounts(), svc.catalogTypeNames()]);
    return fields.map((f) => ({
      id: f.id,
      key: f.key,
      name: f.name,
      description: f.description,
      type: f.type,
      options: f.options,
      catalog_type: f.catalogTypeId ? { id: f.catalogTypeId, type_name: f.catalogTypeName ?? '', name: types.get(f.catalogTypeId) ?? '(deleted catalog type)' } : null,
      multiple: f.multiple,
      required_at_declaration: f.requiredAtDeclaration,
      required_before_close: f.requiredBeforeClose,
      show_in_declare: f.showInDeclare,
      default_value: f.defaultValue,
      rank: f.rank,
      deleted_at: f.deletedAt,
      created_at: f.createdAt,
      updated_at: f.updatedAt,
      incident_count: counts.get(f.id) ?? 0,
    }));
  };
  const one = async (f: CustomField) => ({ custom_field: (await toJson([f]))[0]! });
  const oneJson = z.object({ custom_field: customFieldJson });

  app.get(
    '/api/v1/custom_fields',
    { onRequest: read, schema: { tags, summary: 'Custom fields, by rank then name (deleted ones with include_deleted=true)', querystring: z.strictObject({ include_deleted: flag }), response: { 200: z.object({ custom_fields: z.array(customFieldJson) }) } } },
    async (req) => ({ custom_fields: await toJson(await svc.listFields({ includeDeleted: req.query.include_deleted })) }),
  );

  app.get('/api/v1/custom_fields/:id', { onRequest: read, schema: { tags, summary: 'A custom field by id or key', params: idParams, response: { 200: oneJson } } }, async (req) => one(await svc.getField(req.params.id)));

  app.post(
    '/api/v1/custom_fields',
    {
      onRequest: admin,
      schema: {
        tags,
        summary: 'Define a custom field',
        body: z.strictObject({ key, ...fieldBody, description: fieldBody.description.optional(), options: fieldBody.options.optional(), catalog_type: fieldBody.catalog_type.optional(), multiple: fieldBody.multiple.optional(), required_at_declaration: fieldBody.required_at_declaration.optional(), required_before_close: fieldBody.required_before_close.optional(), show_in_declare: fieldBody.show_in_declare.optional(), default_value: fieldBody.default_value.optional(), rank: fieldBody.rank.optional() }),
        response: { 201: oneJson },
      },
    },
    async (req, reply) => {
      const p = toPatch(req.body);
      const f = await svc.createField({ ...p, key: req.body.key, name: req.body.name, type: req.body.type }, actorOf(req.principal!));
      return reply.status(201).send(await one(f));
    },
  );

  app.patch(
    '/api/v1/custom_fields/:id',
    {
      onRequest: admin,
      schema: {
        tags,
        summary: 'Change a custom field (its key never changes; its type only while no incident has a value)',
        params: idParams,
        body: z.strictObject({ key: z.string().max(100).optional(), ...Object.fromEntries(Object.entries(fieldBody).map(([k, v]) => [k, v.optional()])) } as { key: z.ZodOptional<z.ZodString> } & { [K in keyof typeof fieldBody]: z.ZodOptional<(typeof fieldBody)[K]> }),
        response: { 200: oneJson },
      },
    },
    async (req) => one(await svc.updateField(req.params.id, toPatch(req.body), actorOf(req.principal!))),
  );

  app.delete(
    '/api/v1/custom_fields/:id',
    {
      onRequest: admin,
      schema: {
        tags,
        summary: 'Delete a custom field (409 field_in_use unless confirm=true when incidents use it; timelines keep its history)',
        params: idParams,
        querystring: z.strictObject({ confirm: flag }),
      },
    },
    async (req, reply) => {
      await svc.deleteField(req.params.id, { confirm: req.query.confirm }, actorOf(req.principal!));
      return reply.status(204).send();
    },
  );
}
