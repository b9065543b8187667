import { resolve } from 'node:path';
import { masterKeyFor, type Config } from './config.js';
import { ConnectionsStore } from './integrations/connections.js';
import { SecretBox } from './platform/crypto/secrets.js';
import { registerIncidentRoutes } from './incidents/routes.js';
import { IncidentsService } from './incidents/incidents.service.js';
import { createRoles, setupRoleRoutes, type RolesModule } from './incidents/roles/index.js';
import { registerIntegrationRoutes } from './integrations/registry.js';
import { setupPagerDuty, type PagerDutyModule } from './integrations/pagerduty/index.js';
import { createCatalog, setupCatalogRoutes, type CatalogModule } from './catalog/index.js';
import { createCustomFields, setupCustomFieldRoutes, type CustomFieldsModule } from './custom-fields/index.js';
import { createFollowUps, setupFollowUpRoutes, type FollowUpsModule } from './follow-ups/index.js';
import { createExpressions, type ExpressionsModule } from './expressions/index.js';
import { registerExpressionRoutes } from './expressions/routes.js';
import { setupSlack, type SlackIntegration } from './integrations/slack/index.js';
import { createWorkflows, setupWorkflowRoutes, type WorkflowsModule } from './workflows/index.js';
import { migrations } from './migrations.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from './platform/db/index.js';
import { EventBus } from './platform/events.js';
import { LiveFeed } from './platform/live.js';
import { registerLiveRoutes } from './platform/live.routes.js';
import { registerOpsRoutes } from './platform/http/ops.js';
import { Metrics } from './platform/http/metrics.js';
import { createHttpServer, type App } from './platform/http/server.js';
import { createJobQueue } from './platform/jobs/index.js';
import type { JobQueue } from './platform/jobs/types.js';
import type { Logger } from './platform/logger.js';
import { registerAuth, requireAccess } from './users/auth.js';
import { registerUserRoutes } from './users/routes.js';
import { SsoService } from './users/sso.js';
import { registerSsoRoutes } from './users/sso.routes.js';
import { UsersService } from './users/users.service.js';
import { UpdateDeliveries } from './incidents/updates/deliveries.js';
import { createUpdates, setupUpdateRoutes, type UpdatesModule } from './incidents/updates/index.js';
import { SettingsStore } from './platform/settings.js';
import type { WorkflowSlackPort } from './workflows/ports.js';
import { setupWorkflowEngine, type WorkflowsEngineModule } from './workflows/setup.js';
import { createWriteUps, setupWriteUpRoutes, type WriteUpsModule } from './write-ups/index.js';
import { setupInsights, type InsightsModule } from './insights/index.js';
import { createInsightsPagesPort } from './integrations/pagerduty/insights/pages.js';

// The composition root's wiring: every module gets what it needs passed in; nothing is global.

export interface Firebreak {
  config: Config;
  logger: Logger;
  database: DatabaseHandle;
  jobs: JobQueue;
  events: EventBus;
  /** The live feed: `touch` what a page shows when it changes; served as server-sent events at /api/v1/live. */
  live: LiveFeed;
  incidents: IncidentsService;
  /** Incident roles besides the lead: definitions and who holds them. */
  roles: RolesModule;
  users: UsersService;
  http: App;
  metrics: Metrics;
  secrets: SecretBox;
  connections: ConnectionsStore;
  catalog: CatalogModule;
  /** Custom fields on incidents: definitions, values, filters. */
  customFields: CustomFieldsModule;
  /** The expression language over incidents and the catalog (check, contextFor, evaluate). */
  expressions: ExpressionsModule;
  /** The PagerDuty wing: connection and sync, webhooks, escalations, links (tests and benchmarks reach it here). */
  pagerduty: PagerDutyModule;
  /** Workflow definitions (service, store); the engine subscribes to them. */
  workflows: WorkflowsModule;
  /** Running workflows: engine, runner, run history, preview (tests swap the ports through `workflowPorts`). */
  workflowEngine: WorkflowsEngineModule;
  workflowPorts: { slack: WorkflowSlackPort | null };
  /** Slack: its workflow port and `useWorkflows` (tests give it a WorkflowsPort of their own). */
  slack: SlackIntegration;
  /** Where incident updates went (PagerDuty status updates, Slack posts): integrations report through `use`. */
  updateDeliveries: UpdateDeliveries;
  /** Small JSON settings by namespaced key (src/platform/settings.ts). */
  settings: SettingsStore;
  /** Incident updates and update reminders (src/incidents/updates). */
  updates: UpdatesModule;
  /** The post-incident write-up (template, generation, editing, export) and checklist. */
  writeUps: WriteUpsModule;
  /** Follow-ups on incidents and across them (src/follow-ups). */
  followUps: FollowUpsModule;
  /** Charts over incidents, timestamps and pages (pages through the PagerDuty wing's port). */
  insights: InsightsModule;
  publicUrl(): string;
}

export async function buildFirebreak(config: Config, logger: Logger): Promise<Firebreak> {
  const database = openDatabase(config.database);
  try {
    await migrateToLatest(database.db, migrations);
  } catch (err) {
    await database.destroy();
    throw err;
  }
  const jobs = createJobQueue(database, { concurrency: config.jobConcurrency, lockTimeoutMs: config.jobLockTimeoutMs, logger: logger.child({ module: 'jobs' }) });
  const live = new LiveFeed({ database, pgUrl: config.database.kind === 'postgres' ? config.database.url : null, logger: logger.child({ module: 'live' }) });
  const events = new EventBus(jobs, live);
  const customFields = createCustomFields({ db: database.db });
  const incidents = new IncidentsService(database.db, events, database.dialect, customFields.service);
  const users = new UsersService(database.db, config.sessionTtlHours);
  const metrics = new Metrics(jobs);
  const secrets = new SecretBox(masterKeyFor(config));
  const connections = new ConnectionsStore(database.db, secrets);
  const settings = new SettingsStore(database.db);
  const updateDeliveries = new UpdateDeliveries();
  const updates = createUpdates({ db: database.db, events, live, incidents, settings, deliveries: updateDeliveries });
  const catalog = createCatalog({ db: database.db, listUsers: () => users.list() });
  const http = await createHttpServer({ logger, bodyLimitBytes: config.bodyLimitBytes, metrics, webDist: resolve(import.meta.dirname, '..', 'web', 'dist') });

  let boundUrl: string | null = null;
  const publicUrl = () => config.publicUrl ?? boundUrl ?? `http://localhost:${config.port}`;
  http.addHook('onListen', async () => {
    const addr = http.server.address();
    if (addr && typeof addr === 'object') boundUrl = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  });

  // The LISTEN connection (PostgreSQL) lives while the server listens; streams end before it closes.
  http.addHook('onListen', async () => live.start());
  http.addHook('onClose', async () => live.stop());

  registerAuth(http, users);
  registerOpsRoutes(http, { database, jobs, metrics });
  const secureCookies = (req: { protocol: string }) => (config.secureCookies === 'auto' ? req.protocol === 'https' || publicUrl().startsWith('https:') : config.secureCookies === 'true');
  registerUserRoutes(http, { users, publicUrl, secureCookies });
  const sso = new SsoService({ db: database.db, connections, box: secrets, users, env: config.oidc, allowHttp: !!config.oidcAllowHttp, publicUrl, logger: logger.child({ module: 'sso' }) });
  registerSsoRoutes(http, { sso, secureCookies });
  registerIncidentRoutes(http, { incidents });
  setupUpdateRoutes(http, updates, incidents);
  const roles = createRoles({ db: database.db, dialect: database.dialect, events, live, incidents });
  setupRoleRoutes(http, roles);
  const writeUps = createWriteUps({ db: database.db, dialect: database.dialect, events, live, settings, publicUrl });
  setupWriteUpRoutes(http, writeUps);
  registerLiveRoutes(http, { live, read: requireAccess('read') });
  setupCatalogRoutes(http, catalog);
  setupCustomFieldRoutes(http, customFields);
  const followUps = createFollowUps({ db: database.db, dialect: database.dialect, events, incidents });
  setupFollowUpRoutes(http, followUps);
  const expressions = createExpressions({ db: database.db, catalog, customFields, incidents });
  registerExpressionRoutes(http, { expressions });
  const workflows = createWorkflows({ db: database.db, secrets, expressions });
  setupWorkflowRoutes(http, workflows);
  const pagerduty = await setupPagerDuty({ database, live, connections, secrets, catalog, incidents, users, events, jobs, logger, http, publicUrl, config, settings, updateDeliveries, timestamps: incidents.timestamps });
  // Workflows reach PagerDuty and Slack through ports (Slack's is set below, once Slack is set up).
  const workflowPorts: { slack: WorkflowSlackPort | null } = { slack: null };
  const workflowEngine = setupWorkflowEngine({
    db: database.db, jobs, events, logger, http, expressions, incidents, secrets,
    escalation: () => pagerduty.escalations.workflowPort,
    slack: () => workflowPorts.slack,
    secretFor: (id) => workflows.service.secretFor(id),
  });
  workflows.service.onActivated(async (a) => {
    if (a.applyToExisting) await workflowEngine.engine.applyToExisting(a.workflowId);
  });
  pagerduty.setWorkflowTriggers(workflowEngine.triggers);
  const insights = setupInsights(http, { db: database.db });
  insights.usePages(createInsightsPagesPort(database.db));
  const core = { config, logger, database, jobs, events, live, incidents, roles, users, http, metrics, secrets, connections, catalog, customFields, expressions, pagerduty, workflows, workflowEngine, workflowPorts, updateDeliveries, settings, updates, writeUps, followUps, insights, publicUrl };
  // Slack reaches PagerDuty through ports, never through PagerDuty's code.
  const slack = setupSlack({ ...core, customFields: customFields.service }, { escalations: pagerduty.escalations.port, pagerdutyLinks: pagerduty.links.port, oncall: pagerduty.oncall.port });
  // Slack's workflow port (posts, invites) and manual runs from /incident workflows.
  workflowPorts.slack = slack.workflowPort;
  slack.useWorkflows(workflowEngine.port);
  const fb: Firebreak = { ...core, slack };
  catalog.runs.onChange(() => live.touch(null, { topic: 'catalog_sync' }));
  registerIntegrationRoutes(http, { list: async () => [await slack.status(), await pagerduty.integrationStatus()] });
  return fb;
}
