import { z } from 'zod';
import type { App } from '../../platform/http/server.js';
import { actorOf, requireAccess } from '../../users/auth.js';
import { incidentJson, incidentToJson } from '../routes.js';
import type { IncidentRole, RolePatch, RolesService } from './roles.service.js';

// REST API: /api/v1/incident_roles (definitions: read to list, admin to change) and
// PUT /api/v1/incidents/:incident_id/roles/:role_id (who holds a role on an incident: write).

export const incidentRoleJson = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  rank: z.number().describe('place in the list, 1 first (deleted roles keep their last rank)'),
  deleted_at: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});

function roleToJson(r: IncidentRole) {
  return { id: r.id, name: r.name, description: r.description, rank: r.rank, deleted_at: r.deletedAt, created_at: r.createdAt, updated_at: r.updatedAt };
}

const id = z.string().trim().min(1).max(64);
const name = z.string().trim().min(1, 'must not be empty').max(60);
const description = z.string().trim().max(1000);
const rank = z.number().int().min(1).max(1000);
const one = z.object({ incident_role: incidentRoleJson });
const flag = z.enum(['true', 'false']).optional().transform((v) => v === 'true');

export function registerRoleRoutes(app: App, deps: { roles: RolesService }): void {
  const svc = deps.roles;
  const read = requireAccess('read');
  const write = requireAccess('write');
  const admin = requireAccess('admin');
  const tags = ['roles'];

  app.get(
    '/api/v1/incident_roles',
    { onRequest: read, schema: { tags, summary: 'Incident roles besides the lead, in rank order (deleted ones after them with include_deleted=true)', querystring: z.strictObject({ include_deleted: flag }), response: { 200: z.object({ incident_roles: z.array(incidentRoleJson) }) } } },
    async (req) => ({ incident_roles: (await svc.list({ includeDeleted: req.query.include_deleted })).map(roleToJson) }),
  );

  app.post(
    '/api/v1/incident_roles',
    { onRequest: admin, schema: { tags, summary: 'Define a role (names unique whatever their case; "Lead" is built in)', body: z.strictObject({ name, description: description.optional(), rank: rank.optional() }), response: { 201: one } } },
    async (req, reply) => reply.status(201).send({ incident_role: roleToJson(await svc.create(req.body, actorOf(req.principal!))) }),
  );

  app.patch(
    '/api/v1/incident_roles/:id',
    {
      onRequest: admin,
      schema: { tags, summary: 'Rename, describe or move a role (rank: its new place, 1 first; the others shift)', params: z.strictObject({ id }), body: z.strictObject({ name: name.optional(), description: description.optional(), rank: rank.optional() }), response: { 200: one } },
    },
    async (req) => {
      const b = req.body;
      const patch: RolePatch = {};
      if (b.name !== undefined) patch.name = b.name;
      if (b.description !== undefined) patch.description = b.description;
      if (b.rank !== undefined) patch.rank = b.rank;
      return { incident_role: roleToJson(await svc.update(req.params.id, patch, actorOf(req.principal!))) };
    },
  );

  app.delete(
    '/api/v1/incident_roles/:id',
    { onRequest: admin, schema: { tags, summary: 'Delete a role (it leaves the list; incidents where someone held it keep showing it)', params: z.strictObject({ id }) } },
    async (req, reply) => {
      await svc.delete(req.params.id, actorOf(req.principal!));
      return reply.status(204).send();
    },
  );

  app.put(
    '/api/v1/incidents/:incident_id/roles/:role_id',
    {
      onRequest: write,
      schema: {
        tags: ['incidents'],
        summary: 'Give a role on an incident to a person, or take it (user_id null); not once the incident is merged or canceled',
        params: z.strictObject({ incident_id: id.describe('id or reference (INC-42)'), role_id: id }),
        body: z.strictObject({ user_id: id.nullable() }),
        response: { 200: z.object({ incident: incidentJson }) },
      },
    },
    async (req) => ({ incident: incidentToJson(await svc.assign(req.params.incident_id, req.params.role_id, req.body.user_id, actorOf(req.principal!))) }),
  );
}
