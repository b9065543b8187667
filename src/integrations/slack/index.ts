import { createRequire } from 'node:module';
import type { App as BoltApp } from '@slack/bolt';
import type { SlackConfig } from '../../config.js';
import type { CustomFieldsService } from '../../custom-fields/index.js';
import type { FollowUpsModule } from '../../follow-ups/index.js';
import type { IncidentsService } from '../../incidents/incidents.service.js';
import type { UpdateDeliveries } from '../../incidents/updates/deliveries.js';
import type { UpdatesModule } from '../../incidents/updates/index.js';
import type { RolesModule } from '../../incidents/roles/index.js';
import type { DatabaseHandle } from '../../platform/db/index.js';
import type { EventBus } from '../../platform/events.js';
import type { LiveFeed } from '../../platform/live.js';
import type { App } from '../../platform/http/server.js';
import type { JobQueue } from '../../platform/jobs/types.js';
import type { Logger } from '../../platform/logger.js';
import type { UsersService } from '../../users/users.service.js';
import type { WorkflowSlackPort, WorkflowsPort } from '../../workflows/ports.js';
import type { ConnectionsStore } from '../connections.js';
import type { IntegrationStatus } from '../registry.js';
import { registerIncidentCommand } from './commands/incident.command.js';
import { registerEscalate } from './escalate/escalate.handlers.js';
import { registerFollowUps } from './follow-ups/follow-ups.handlers.js';
import type { EscalationPort } from './escalate/port.js';
import { registerPagerDutyLinks } from './pagerduty-links/pagerduty-links.handlers.js';
import type { OnCallPort } from './oncall/port.js';
import { registerAllResolved } from './pagerduty-links/all-resolved.js';
import type { PagerDutyLinksPort } from './pagerduty-links/port.js';
import { subscribeToIncidentEvents } from './core-events.js';
import { defineSlackJobs } from './jobs.js';
import { SlackPeople } from './people.js';
import { registerPinEvents } from './pins.js';
import { FastifySlackReceiver } from './receiver.js';
import { registerSlackRoutes, slackIntegrationStatus } from './routes.js';
import { channelNames, registerSlackChannelRoutes, SlackChannelDirectory } from './channels.js';
import { SlackConnection } from './slack.connection.js';
import type { SlackContext, WorkflowsRef } from './slack.context.js';
import { SlackStore } from './slack.store.js';
import { slackSdkLogger } from './sdk-logger.js';
import { SocketModeOwner } from './socket-mode.owner.js';
import { registerCatalogOptions } from './views/custom-fields.handlers.js';
import { registerViewSubmissions } from './views/submissions.js';
import { registerUpdatePosts } from './updates/posts.js';
import { registerUpdateReminders } from './updates/reminders.js';
import { registerRoles } from './roles/roles.handlers.js';
import { createWorkflowSlackPort } from './workflows/port.js';
import { registerWorkflows } from './workflows/workflows.handlers.js';

const require = createRequire(import.meta.url);
const recordedMethods = ['action', 'command', 'event', 'options', 'shortcut', 'view'] as const;
type RecordedMethod = (typeof recordedMethods)[number];

// The Slack app: Bolt for routing Slack's requests, mounted at POST /slack/events on Firebreak's server through
// our own receiver, or fed from a Socket Mode connection when an app-level token is configured (SLACK_APP_TOKEN or
// the Integrations page; socket-mode.ts, socket-mode.owner.ts: no public URL needed); jobs for every outbound call; a domain-event subscriber so the channel follows changes made anywhere.

/** What the Slack module needs from the rest of Firebreak; the composition root passes it in (its `Firebreak` fits). */
export interface SlackDeps {
  config: { slack: SlackConfig };
  logger: Logger;
  /** The database, and which backend it is (PostgreSQL shares the replay check between processes). */
  database: Pick<DatabaseHandle, 'db' | 'dialect'>;
  jobs: JobQueue;
  events: EventBus;
  /** The live feed: touch what a web page shows when Slack changes it outside a domain event. */
  live: LiveFeed;
  incidents: IncidentsService;
  users: UsersService;
  /** Custom field definitions: the declare modal's fields and /incident field (values go through `incidents`). */
  customFields: CustomFieldsService;
  /** Incident roles besides the lead: `/incident role` and the channel header. */
  roles: RolesModule;
  /** Follow-ups made from Slack (the command and the message shortcut). */
  followUps: FollowUpsModule;
  /** Firebreak's server: /slack/events, the Integrations page's routes, and Socket Mode following its start and close. */
  http: App;
  /** Stored connections: the Slack credentials saved on the Integrations page (secrets encrypted). */
  connections: ConnectionsStore;
  /** Incident updates (the update modal posts one; each is posted in Slack) and update reminders (DMs to leads). */
  updates: UpdatesModule;
  /** Where updates went: Slack reports its posts here. */
  updateDeliveries: UpdateDeliveries;
  /** Firebreak's address as people reach it (links in Slack messages); called detached, so a plain function. */
  publicUrl: () => string;
}

export interface SlackSetupOptions {
  /** The escalation provider behind /incident escalate (PagerDuty), passed in by the composition root. */
  escalations?: EscalationPort;
  /** Related PagerDuty incidents, auto-created incidents and acknowledgement offers (PagerDuty), passed in likewise. */
  pagerdutyLinks?: PagerDutyLinksPort;
  /** Who is on call now (PagerDuty), passed in likewise. */
  oncall?: OnCallPort;
  /** Manual workflows for `/incident workflows` (also settable later with `useWorkflows`, as the engine is built after Slack). */
  workflows?: WorkflowsPort;
  /** Longest Retry-After waited inline before leaving the retry to the job queue (default 30 s). */
  maxRateLimitWaitSec?: number;
}

export interface SlackIntegration {
  status(): Promise<IntegrationStatus>;
  /** What workflow steps do in Slack (posts, invites), for the workflow engine. */
  workflowPort: WorkflowSlackPort;
  /** Gives `/incident workflows` its manual workflows (the engine is built after Slack, which it uses). */
  useWorkflows(port: WorkflowsPort): void;
}

export function setupSlack(deps: SlackDeps, opts: SlackSetupOptions = {}): SlackIntegration {
  const logger = deps.logger.child({ module: 'slack' });
  const connection = new SlackConnection(deps.config.slack, deps.connections, logger, { maxRateLimitWaitSec: opts.maxRateLimitWaitSec });
  const receiver = new FastifySlackReceiver({ db: deps.database.db, sharedReplayCheck: deps.database.dialect === 'postgres', signingSecret: async () => (await connection.credentials())?.signingSecret ?? null, logger });
  const workflows: WorkflowsRef = { port: opts.workflows };
  const ctx: SlackContext = {
    db: deps.database.db,
    incidents: deps.incidents,
    users: deps.users,
    events: deps.events,
    jobs: deps.jobs,
    logger,
    publicUrl: deps.publicUrl,
    connection,
    people: new SlackPeople(deps.users, connection),
    store: new SlackStore(deps.database.db),
    customFields: deps.customFields,
    roles: deps.roles.service,
    followUps: deps.followUps.service,
    afterPendingAcks: () => receiver.afterPendingAcks(),
    escalations: opts.escalations,
    pagerdutyLinks: opts.pagerdutyLinks,
    oncall: opts.oncall,
    workflows,
    updates: deps.updates.service,
  };

  // Bolt (with Express, OAuth and more: about 0.5 s of CPU and 10 MB to load) is made on first use: the first request
  // from Slack (the receiver calls loadApp), a Socket Mode connection, or right after start when Slack is connected.
  // A Firebreak without Slack never loads it.
  // Listeners are registered now, on a recorder that replays them onto Bolt once it is made (registering also
  // defines jobs, which must happen before the queue starts). A listener kind the recorder lacks fails at setup.
  const registrations: { method: RecordedMethod; args: unknown[] }[] = [];
  const recorder = Object.fromEntries(
    recordedMethods.map((method) => [method, (...args: unknown[]) => (registrations.push({ method, args }), recorder)]),
  ) as unknown as BoltApp;
  registerIncidentCommand(recorder, ctx);
  registerViewSubmissions(recorder, ctx);
  registerCatalogOptions(recorder, ctx);
  registerEscalate(recorder, ctx, opts.escalations);
  registerPagerDutyLinks(recorder, ctx, opts.pagerdutyLinks);
  registerAllResolved(recorder, ctx, opts.pagerdutyLinks?.allResolved);
  registerWorkflows(recorder, ctx, workflows);
  registerPinEvents(recorder, ctx);
  const reminders = registerUpdateReminders(recorder, ctx, { reminders: deps.updates.reminders });
  registerRoles(recorder, ctx);
  registerFollowUps(recorder, ctx, ctx.followUps);
  let bolt: BoltApp | null = null;
  const getBolt = (): BoltApp => {
    if (bolt) return bolt;
    const { App } = require('@slack/bolt') as typeof import('@slack/bolt');
    const app = new App({
      receiver,
      logger: slackSdkLogger(logger),
      ...(deps.config.slack.apiUrl ? { clientOptions: { slackApiUrl: deps.config.slack.apiUrl } } : {}),
      // No Slack call here: authorize runs before the ack. The bot's ids arrive from auth.test in the background.
      authorize: async () => {
        const creds = await connection.credentials();
        if (!creds) throw new Error('Slack is not connected');
        const identity = connection.identityIfKnown(creds.botToken);
        return { botToken: creds.botToken, ...(identity ? { botId: identity.botId, botUserId: identity.botUserId, teamId: identity.teamId } : {}) };
      },
    });
    for (const r of registrations) (app[r.method] as (...args: unknown[]) => unknown).apply(app, r.args);
    return (bolt = app);
  };
  receiver.setLoadApp(getBolt);
  receiver.register(deps.http);
  defineSlackJobs(ctx);
  subscribeToIncidentEvents(ctx);
  registerUpdatePosts(ctx, { updates: deps.updates.service, live: deps.live, deliveries: deps.updateDeliveries });
  // Update reminders look for quiet incidents every minute (one run per minute across processes).
  deps.http.addHook('onReady', async () => reminders.schedule(deps.jobs));
  // Socket Mode: follows the credentials (SLACK_APP_TOKEN, or the app-level token saved on the Integrations page) once
  // Firebreak listens; closed when its server closes (startFirebreak().stop()).
  const socketMode = new SocketModeOwner({ connection, apiUrl: deps.config.slack.apiUrl, bolt: getBolt, logger });
  deps.http.addHook('onListen', async () => socketMode.start());
  // Slack connected: make Bolt now, after listening, so that the first request from Slack does not wait for it.
  deps.http.addHook('onListen', async () => {
    setImmediate(() => {
      connection.credentials().then(
        (creds) => void (creds ? getBolt() : null),
        () => undefined,
      );
    });
  });
  deps.http.addHook('onClose', async () => socketMode.close());
  const routeDeps = { connection, connections: deps.connections, publicUrl: deps.publicUrl, socketMode, store: ctx.store };
  registerSlackRoutes(deps.http, { ...routeDeps, apiUrl: deps.config.slack.apiUrl });
  registerSlackChannelRoutes(deps.http, new SlackChannelDirectory(connection));
  deps.incidents.useChannelNames(channelNames(deps.database.db));
  const workflowPort = createWorkflowSlackPort({ db: ctx.db, connection, people: ctx.people, store: ctx.store, users: deps.users, incidents: deps.incidents, logger: logger.child({ part: 'workflows' }) });
  return {
    status: () => slackIntegrationStatus(routeDeps),
    workflowPort,
    useWorkflows: (port) => {
      workflows.port = port;
    },
  };
}
