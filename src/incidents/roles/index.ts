import type { Db, DbDialect } from '../../platform/db/index.js';
import type { EventBus } from '../../platform/events.js';
import type { App } from '../../platform/http/server.js';
import type { LiveFeed } from '../../platform/live.js';
import type { IncidentsService } from '../incidents.service.js';
import { registerRoleRoutes } from './roles.routes.js';
import { RolesService } from './roles.service.js';

export { RolesService, type IncidentRole, type RoleInput, type RolePatch } from './roles.service.js';
export { rolesForIncidents, type IncidentRoleView } from './roles.view.js';

export interface RolesModule {
  service: RolesService;
}

/** Incident roles: definitions (admins) and who holds them on each incident (responders). */
export function createRoles(deps: { db: Db; dialect: DbDialect; events: EventBus; live: LiveFeed; incidents: IncidentsService }): RolesModule {
  return { service: new RolesService(deps) };
}

/** The roles' REST API (after authentication is registered). */
export function setupRoleRoutes(http: App, roles: RolesModule): void {
  registerRoleRoutes(http, { roles: roles.service });
}
