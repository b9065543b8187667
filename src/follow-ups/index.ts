import type { IncidentsService } from '../incidents/incidents.service.js';
import type { Db, DbDialect } from '../platform/db/index.js';
import type { EventBus } from '../platform/events.js';
import type { App } from '../platform/http/server.js';
import { registerFollowUpRoutes } from './follow-ups.routes.js';
import { FollowUpsService } from './follow-ups.service.js';

export { FollowUpsService, FOLLOW_UP_PRIORITIES, FOLLOW_UP_STATUSES, TITLE_MAX, type FollowUp, type CreateFollowUpInput, type UpdateFollowUpInput } from './follow-ups.service.js';

export interface FollowUpsModule {
  service: FollowUpsService;
}

/** Follow-ups (a core module): the work an incident leaves behind, on the incident and across incidents. */
export function createFollowUps(deps: { db: Db; dialect: DbDialect; events: EventBus; incidents: IncidentsService }): FollowUpsModule {
  return { service: new FollowUpsService(deps.db, deps.events, deps.incidents, deps.dialect) };
}

/** The follow-ups REST API (after authentication is registered). */
export function setupFollowUpRoutes(http: App, followUps: FollowUpsModule): void {
  registerFollowUpRoutes(http, { followUps: followUps.service });
}
