import type { IncidentsService } from '../../../incidents/incidents.service.js';
import type { Db } from '../../../platform/db/index.js';
import type { EventBus } from '../../../platform/events.js';
import type { App } from '../../../platform/http/server.js';
import type { Logger } from '../../../platform/logger.js';
import type { PagerDutyIntegration } from '../connect.js';
import { TYPE, type PagerDutyDirectory } from '../directory.js';
import { RecentChangesReader } from './recent-changes.js';
import { registerChangeRoutes } from './routes.js';

// Recent changes (issue 17, part 3): PagerDuty change events of an incident's affected services, shown on the
// incident page and pinned to its timeline. Reads only; the one write is the timeline item.

export interface ChangesModule {
  reader: RecentChangesReader;
}

export function setupChanges(deps: { db: Db; events: EventBus; incidents: IncidentsService; logger: Logger; http: App; integration: PagerDutyIntegration; directory: PagerDutyDirectory }): ChangesModule {
  const connected = (mode: 'lookup', account?: string) => deps.integration.connected(mode, account);
  const serviceName = async (id: string) => (await deps.directory.entry(TYPE.services, id))?.name ?? null;
  const reader = new RecentChangesReader({ db: deps.db, logger: deps.logger.child({ module: 'pagerduty.changes' }), connected, serviceName, timeoutMs: () => deps.integration.lookupTuning.timeoutMs });
  registerChangeRoutes(deps.http, { reader, incidents: deps.incidents, pin: { db: deps.db, events: deps.events, incidents: deps.incidents, connected, serviceName } });
  return { reader };
}
