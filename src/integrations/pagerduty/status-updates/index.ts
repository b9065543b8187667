import type { Db } from '../../../platform/db/index.js';
import type { EventBus } from '../../../platform/events.js';
import type { App } from '../../../platform/http/server.js';
import type { JobQueue } from '../../../platform/jobs/types.js';
import type { LiveFeed } from '../../../platform/live.js';
import type { Logger } from '../../../platform/logger.js';
import type { SettingsStore } from '../../../platform/settings.js';
import type { UpdateDeliveries } from '../../../incidents/updates/deliveries.js';
import type { PagerDutyIntegration } from '../connect.js';
import { registerStatusUpdateRoutes } from './routes.js';
import { StatusUpdateSettingsStore } from './settings.js';
import { StatusUpdates } from './status-updates.js';

// PagerDuty status updates for incident updates: the subscriber and send job, the setting and its routes, and the
// deliveries the core shows on each update. Call before jobs start.

export interface StatusUpdatesModule {
  service: StatusUpdates;
  settings: StatusUpdateSettingsStore;
}

export function setupStatusUpdates(deps: {
  db: Db;
  events: EventBus;
  jobs: JobQueue;
  live: LiveFeed;
  logger: Logger;
  http: App;
  integration: PagerDutyIntegration;
  settings: SettingsStore;
  updateDeliveries: UpdateDeliveries;
}): StatusUpdatesModule {
  const settings = new StatusUpdateSettingsStore(deps.settings);
  const service = new StatusUpdates({ db: deps.db, events: deps.events, jobs: deps.jobs, live: deps.live, logger: deps.logger.child({ feature: 'pagerduty.status_updates' }), integration: deps.integration, settings });
  service.register();
  deps.updateDeliveries.use((ids) => service.deliveries(ids));
  registerStatusUpdateRoutes(deps.http, { db: deps.db, live: deps.live, settings });
  return { service, settings };
}
