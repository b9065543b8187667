import type { IncidentsService } from '../../../incidents/incidents.service.js';
import type { Db } from '../../../platform/db/index.js';
import type { EventBus } from '../../../platform/events.js';
import type { Logger } from '../../../platform/logger.js';
import type { UsersService } from '../../../users/users.service.js';
import type { PagerDutyDirectory } from '../directory.js';
import type { EscalationLookup } from '../escalations/model.js';
import type { LinksContext } from '../links/context.js';
import type { LinksService } from '../links/links.service.js';

// What auto-acknowledgement needs, declared here and passed in by links/index.ts (tests reach it as
// `pagerdutyLinks.ack`).

export interface AutoAckDeps {
  db: Db;
  users: UsersService;
  incidents: IncidentsService;
  events: EventBus;
  logger: Logger;
  publicUrl: () => string;
  /** A client for the connected account; null when PagerDuty is not connected. */
  connected: LinksContext['connected'];
  /** PagerDuty users by email (the synced catalog). */
  directory: PagerDutyDirectory;
  /** Who an escalation paged for the PagerDuty incidents it created. */
  escalations: EscalationLookup;
  links: Pick<LinksService, 'get' | 'updateLinks' | 'notify'>;
}
