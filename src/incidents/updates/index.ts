import type { Db } from '../../platform/db/index.js';
import type { EventBus } from '../../platform/events.js';
import type { App } from '../../platform/http/server.js';
import type { LiveFeed } from '../../platform/live.js';
import type { SettingsStore } from '../../platform/settings.js';
import type { IncidentsService } from '../incidents.service.js';
import type { UpdateDeliveries } from './deliveries.js';
import { UpdateReminders } from './reminders.js';
import { registerUpdateRoutes } from './routes.js';
import { UpdatesService } from './service.js';

// Incident updates (post, list, where each went) and update reminders (the setting, which incidents are quiet).

export { UpdatesService, UPDATE_MESSAGE_MAX, type IncidentUpdate, type PostUpdateInput } from './service.js';
export { UpdateReminders, UPDATE_REMINDERS_KEY, DEFAULT_REMINDER_MINUTES, type QuietIncident, type ReminderSettings } from './reminders.js';
export type { UpdateDelivery, UpdateDeliveriesPort } from './deliveries.js';

export interface UpdatesModule {
  service: UpdatesService;
  reminders: UpdateReminders;
}

export function createUpdates(deps: { db: Db; events: EventBus; live: LiveFeed; incidents: IncidentsService; settings: SettingsStore; deliveries: UpdateDeliveries }): UpdatesModule {
  const service = new UpdatesService(deps.db, deps.events, deps.incidents, deps.deliveries);
  return { service, reminders: new UpdateReminders(deps.db, deps.settings, deps.incidents, service, deps.live) };
}

export function setupUpdateRoutes(app: App, updates: UpdatesModule, incidents: IncidentsService): void {
  registerUpdateRoutes(app, { updates: updates.service, reminders: updates.reminders, incidents });
}
