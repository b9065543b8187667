import type { IncidentsService } from '../../incidents/incidents.service.js';
import type { Db } from '../../platform/db/index.js';
import type { EventBus } from '../../platform/events.js';
import type { JobQueue } from '../../platform/jobs/types.js';
import type { Logger } from '../../platform/logger.js';
import type { UsersService } from '../../users/users.service.js';
import type { EscalationPort } from './escalate/port.js';
import type { PagerDutyLinksPort } from './pagerduty-links/port.js';
import type { OnCallPort } from './oncall/port.js';
import type { WorkflowsPort } from '../../workflows/ports.js';
import type { SlackPeople } from './people.js';
import type { SlackConnection } from './slack.connection.js';
import type { SlackStore } from './slack.store.js';
import type { CustomFieldsService } from '../../custom-fields/index.js';
import type { UpdatesService } from '../../incidents/updates/service.js';
import type { RolesService } from '../../incidents/roles/index.js';
import type { FollowUpsService } from '../../follow-ups/index.js';

/** What the Slack module's parts share; built once in setupSlack. */
export interface SlackContext {
  db: Db;
  incidents: IncidentsService;
  users: UsersService;
  events: EventBus;
  jobs: JobQueue;
  logger: Logger;
  publicUrl: () => string;
  connection: SlackConnection;
  people: SlackPeople;
  store: SlackStore;
  /** Custom field definitions (the declare and /incident field modals). */
  customFields: Pick<CustomFieldsService, 'listFields' | 'fieldsVersion' | 'liveFields' | 'valuesForNewIncident'>;
  /** Incident roles besides the lead (`/incident role`). */
  roles: Pick<RolesService, 'list' | 'findByName' | 'assign'>;
  /**
   * Resolves once the Slack requests already received have their acks (at once when none waits; at most
   * 250 ms): background Slack work (jobs, the domain-event subscriber) starts after them. See receiver.ts.
   */
  afterPendingAcks: () => Promise<void>;
  /** Follow-ups (`/incident follow-up`, the "Create follow-up" message shortcut). */
  followUps: FollowUpsService;
  /** Paging people (PagerDuty), when an escalation provider is wired in. */
  escalations?: EscalationPort;
  /** Related PagerDuty incidents and acknowledgement offers, when wired in. */
  pagerdutyLinks?: PagerDutyLinksPort;
  /** Who is on call now (`/incident oncall`, "would page" in the escalate modal), when wired in. */
  oncall?: OnCallPort;
  /** Incident updates: the update modal posts one (src/incidents/updates). */
  updates: Pick<UpdatesService, 'postUpdate'>;
  /** Manual workflows (`/incident workflows`): the port, once the composition root gives it (`useWorkflows`). */
  workflows: WorkflowsRef;
}

/** Where workflows come from; set once the workflow engine exists (it is built after Slack, which it uses). */
export interface WorkflowsRef {
  port: WorkflowsPort | undefined;
}
