import type { Db, DbDialect } from '../platform/db/index.js';
import type { EventBus } from '../platform/events.js';
import type { App } from '../platform/http/server.js';
import type { LiveFeed } from '../platform/live.js';
import type { SettingsStore } from '../platform/settings.js';
import { registerWriteUpRoutes } from './routes.js';
import { WriteUpsService } from './write-ups.service.js';

export { WriteUpsService, type Checklist, type WriteUp } from './write-ups.service.js';

// The post-incident write-up and checklist (docs/running-incidents.md, "Post-incident write-up"). A core module:
// it reads the running-incident tables other modules own (sources.ts, read-only) and writes only its own.

export interface WriteUpsModule {
  service: WriteUpsService;
}

export function createWriteUps(deps: { db: Db; dialect: DbDialect; events: EventBus; live: LiveFeed; settings: SettingsStore; publicUrl: () => string }): WriteUpsModule {
  const service = new WriteUpsService(deps);
  // Follow-ups made anywhere (Slack, the web, the API) and status changes (closing, reopening) can complete the
  // checklist or take "complete" away: look again when they happen.
  deps.events.subscribe('write_ups.post_incident', ['incident.follow_up_changed', 'incident.status_changed'], async (event) => {
    if (!event.incidentId) return;
    await service.recheck(event.incidentId, { kind: 'system', ref: 'post_incident' });
  });
  return { service };
}

/** The write-up's REST API (after authentication is registered). */
export function setupWriteUpRoutes(http: App, writeUps: WriteUpsModule): void {
  registerWriteUpRoutes(http, { writeUps: writeUps.service });
}
