import type { IncidentsService } from '../../incidents/incidents.service.js';
import type { PagerDutyTimestampsPort } from '../../incidents/timestamps/timestamps.service.js';
import type { Db, DbDialect } from '../../platform/db/index.js';
import type { EventBus } from '../../platform/events.js';
import type { LiveFeed } from '../../platform/live.js';
import type { App } from '../../platform/http/server.js';
import type { JobQueue } from '../../platform/jobs/types.js';
import type { Logger } from '../../platform/logger.js';
import type { UsersService } from '../../users/users.service.js';
import type { PagerDutyIntegration } from './connect.js';
import type { PagerDutyDirectory } from './directory.js';

// What every PagerDuty feature (escalations, links with auto-create and auto-acknowledgement) is given by the
// wing's index.ts: the core it acts on, the connection (`integration.connected()` makes its clients) and the
// synced catalog as PagerDuty features read it. Each feature adds what is its own.

export interface PagerDutyFeatureDeps {
  db: Db;
  dialect: DbDialect;
  incidents: IncidentsService;
  users: UsersService;
  events: EventBus;
  /** Touch what a page shows when it changes (escalations, PagerDuty incidents card). */
  live: LiveFeed;
  jobs: JobQueue;
  logger: Logger;
  http: App;
  publicUrl: () => string;
  integration: PagerDutyIntegration;
  directory: PagerDutyDirectory;
  /** The incident's PagerDuty times (first triggered, first acknowledged): earliest wins, a person's value stays. */
  timestamps: PagerDutyTimestampsPort;
}
