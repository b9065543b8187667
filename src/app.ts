import { resolve } from 'node:path';
import { masterKeyFor, type Config } from './config.js';
import { ConnectionsStore } from './integrations/connections.js';
import { SecretBox } from './platform/crypto/secrets.js';
import { registerIncidentRoutes } from './incidents/routes.js';
import { IncidentsService } from './incidents/incidents.service.js';
import { registerIntegrationRoutes } from './integrations/registry.js';
import { setupPagerDuty } from './integrations/pagerduty/index.js';
import { setupEscalations, type EscalationsModule } from './integrations/pagerduty/escalations/index.js';
import { setupPagerDutyLinks, type PagerDutyLinksModule } from './integrations/pagerduty/links/index.js';
import { parseWebhookEvent, WebhookEventError, type PdWebhookEvent } from './integrations/pagerduty/client/events.js';
import { createCatalog, setupCatalogRoutes, type CatalogModule } from './catalog/index.js';
import { setupSlack } from './integrations/slack/index.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from './platform/db/index.js';
import { EventBus } from './platform/events.js';
import { registerOpsRoutes } from './platform/http/ops.js';
import { Metrics } from './platform/http/metrics.js';
import { createHttpServer, type App } from './platform/http/server.js';
import { createJobQueue } from './platform/jobs/index.js';
import type { JobQueue } from './platform/jobs/types.js';
import type { Logger } from './platform/logger.js';
import { registerAuth } from './users/auth.js';
import { registerUserRoutes } from './users/routes.js';
import { UsersService } from './users/users.service.js';

// The composition root's wiring: every module gets what it needs passed in; nothing is global.

export interface Firebreak {
  config: Config;
  logger: Logger;
  database: DatabaseHandle;
  jobs: JobQueue;
  events: EventBus;
  incidents: IncidentsService;
  users: UsersService;
  http: App;
  metrics: Metrics;
  secrets: SecretBox;
  connections: ConnectionsStore;
  catalog: CatalogModule;
  /** PagerDuty escalations (set while wiring; tests and benchmarks reach the service through it). */
  escalations?: EscalationsModule;
  /** Related PagerDuty incidents, auto-create and auto-acknowledgement (set while wiring). */
  pagerdutyLinks?: PagerDutyLinksModule;
  publicUrl(): string;
}

export async function buildFirebreak(config: Config, logger: Logger): Promise<Firebreak> {
  const database = openDatabase(config.database);
  try {
    await migrateToLatest(database.db);
  } catch (err) {
    await database.destroy();
    throw err;
  }
  const jobs = createJobQueue(database, { concurrency: config.jobConcurrency, lockTimeoutMs: config.jobLockTimeoutMs, logger: logger.child({ module: 'jobs' }) });
  const events = new EventBus(jobs);
  const incidents = new IncidentsService(database.db, events, database.dialect);
  const users = new UsersService(database.db, config.sessionTtlHours);
  const metrics = new Metrics(jobs);
  const secrets = new SecretBox(masterKeyFor(config));
  const connections = new ConnectionsStore(database.db, secrets);
  const catalog = createCatalog({ db: database.db, listUsers: () => users.list() });
  const http = await createHttpServer({ logger, bodyLimitBytes: config.bodyLimitBytes, metrics, webDist: resolve(import.meta.dirname, '..', 'web', 'dist') });

  let boundUrl: string | null = null;
  const fb: Firebreak = {
    config,
    logger,
    database,
    jobs,
    events,
    incidents,
    users,
    http,
    metrics,
    secrets,
    connections,
    catalog,
    publicUrl: () => config.publicUrl ?? boundUrl ?? `http://localhost:${config.port}`,
  };
  http.addHook('onListen', async () => {
    const addr = http.server.address();
    if (addr && typeof addr === 'object') boundUrl = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  });

  registerAuth(http, users);
  registerOpsRoutes(http, { database, jobs, metrics });
  registerUserRoutes(http, {
    users,
    publicUrl: fb.publicUrl,
    secureCookies: (req) => (config.secureCookies === 'auto' ? req.protocol === 'https' || fb.publicUrl().startsWith('https:') : config.secureCookies === 'true'),
  });
  registerIncidentRoutes(http, { incidents });
  setupCatalogRoutes(http, catalog);
  const pagerduty = await setupPagerDuty(fb);
  let links: PagerDutyLinksModule | undefined;
  fb.escalations = await setupEscalations(fb, pagerduty.integration, { linkedServiceIds: (id) => links?.links.linkedServiceIds(id) ?? Promise.resolve([]) });
  // Until escalations implements EscalationLookup and webhooks publish parsed events: adapters over what is there.
  const escalationsService = fb.escalations.service;
  links = fb.pagerdutyLinks = setupPagerDutyLinks({
    ...fb, db: database.db, dialect: database.dialect, integration: pagerduty.integration, directory: fb.escalations.directory,
    escalations: {
      async targetFor(pdIncidentId, incidentKey) {
        const targetId = await escalationsService.findTarget(pdIncidentId, incidentKey);
        const row = targetId ? await database.db.selectFrom('pagerduty_escalation_targets').select('escalation_id').where('id', '=', targetId).executeTakeFirst() : undefined;
        const escalation = row ? await escalationsService.get(row.escalation_id) : null;
        const target = escalation?.targets.find((t) => t.id === targetId);
        return escalation && target ? { escalation, target } : null;
      },
      get: (id, db) => escalationsService.get(id, db),
      onChange: (listener) => escalationsService.onChange(listener),
    },
  });
  fb.escalations.intake.onApplied(async (raw) => {
    let ev: PdWebhookEvent;
    try {
      ev = parseWebhookEvent({ event: raw });
    } catch (err) {
      if (err instanceof WebhookEventError) return;
      throw err;
    }
    if (ev.kind === 'incident' || ev.kind === 'note') await links!.onWebhookEvent(ev);
  });
  // Slack reaches escalation through a port, never through PagerDuty's code.
  const slack = setupSlack(fb, { escalations: fb.escalations.port, pagerdutyLinks: links.port });
  registerIntegrationRoutes(http, { list: async () => [await slack.status(), await pagerduty.integrationStatus()] });
  return fb;
}
