import type { IncidentsService } from '../../../incidents/incidents.service.js';
import type { Db } from '../../../platform/db/index.js';
import type { Actor, EventBus } from '../../../platform/events.js';
import type { App } from '../../../platform/http/server.js';
import type { JobQueue } from '../../../platform/jobs/types.js';
import type { LiveFeed } from '../../../platform/live.js';
import type { Logger } from '../../../platform/logger.js';
import type { SettingsStore } from '../../../platform/settings.js';
import { AllResolved, type AllResolvedNotice, type NoticeListener } from './all-resolved.js';
import { registerAllResolvedRoutes } from './routes.js';
import { AllResolvedSettingsStore } from './settings.js';
import type { ConnectedPagerDuty } from '../connect.js';

export type { AllResolvedNotice } from './all-resolved.js';

// Two-way close (all-resolved.ts): the check, answer, notice and automatic jobs, the setting and its routes, and
// the port a front (Slack) uses to show the message and take the answer. Call before jobs start.

/** What Slack uses; nothing PagerDuty-shaped beyond the notice leaks through it. */
export interface AllResolvedPort {
  onNotice(listener: (n: AllResolvedNotice) => Promise<void>): void;
  recordNotice(episodeId: string, status: 'sending' | 'posted' | 'skipped', where?: { channel?: string | null; ts?: string | null }): Promise<void>;
  answer(episodeId: string, choice: string, actor: Actor): Promise<{ done: string }>;
}

export interface AllResolvedModule {
  service: AllResolved;
  settings: AllResolvedSettingsStore;
  port: AllResolvedPort;
}

export function setupAllResolved(deps: { db: Db; incidents: IncidentsService; events: EventBus; jobs: JobQueue; live: LiveFeed; logger: Logger; http: App; settings: SettingsStore; connected: (mode?: 'interactive' | 'background', account?: string) => Promise<ConnectedPagerDuty | null> }): AllResolvedModule {
  const settings = new AllResolvedSettingsStore(deps.settings);
  const service = new AllResolved({ db: deps.db, incidents: deps.incidents, events: deps.events, jobs: deps.jobs, live: deps.live, logger: deps.logger.child({ feature: 'pagerduty.all_resolved' }), settings, connected: deps.connected });
  service.define();
  registerAllResolvedRoutes(deps.http, { db: deps.db, live: deps.live, settings, incidents: deps.incidents });
  const port: AllResolvedPort = {
    onNotice: (l: NoticeListener) => service.onNotice(l),
    recordNotice: (id, status, where) => service.recordNotice(id, status, where),
    answer: (id, choice, actor) => service.answer(id, choice, actor),
  };
  return { service, settings, port };
}
