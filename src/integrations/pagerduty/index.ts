import type { PdIncidentEvent } from './client/events.js';
import type { CatalogModule } from '../../catalog/index.js';
import { SyncBusyError } from '../../catalog/sync-runs.js';
import type { SecretBox } from '../../platform/crypto/secrets.js';
import type { DatabaseHandle } from '../../platform/db/index.js';
import type { JobQueue } from '../../platform/jobs/types.js';
import type { Logger } from '../../platform/logger.js';
import type { ConnectionsStore } from '../connections.js';
import type { IntegrationStatus } from '../registry.js';
import { KIND, PagerDutyIntegration, SYNC_JOB, SYNC_TICK_JOB } from './connect.js';
import { registerPagerDutyRoutes } from './connect.routes.js';
import { registerAccountRoutes } from './accounts.routes.js';
import type { PagerDutyFeatureDeps } from './deps.js';
import { PagerDutyDirectory } from './directory.js';
import { setupChanges, type ChangesModule } from './changes/index.js';
import { setupEscalations, type EscalationsModule } from './escalations/index.js';
import { setupPagerDutyLinks, type PagerDutyLinksModule } from './links/index.js';
import { setupStatusUpdates, type StatusUpdatesModule } from './status-updates/index.js';
import { setupOnCall, type OnCallModule } from './oncall/index.js';
import { setupAllResolved, type AllResolvedModule } from './all-resolved/index.js';
import type { SettingsStore } from '../../platform/settings.js';
import type { UpdateDeliveries } from '../../incidents/updates/deliveries.js';
import { setupWebhooks, type WebhooksModule } from './webhooks/index.js';
import type { WorkflowTriggerPort } from '../../workflows/ports.js';

export { PagerDutyIntegration } from './connect.js';

// The PagerDuty wing, wired in one place: the connection and catalog sync (connect.ts), the webhooks module,
// escalations, and links with auto-create and auto-acknowledgement. Dependencies run one way: webhooks know no
// feature (features subscribe to them); escalations know no links (links ask escalations through
// `EscalationLookup`); the core knows none of this. Call before jobs start.

/** What the PagerDuty wing needs from Firebreak (declared here, so the wing never imports the composition root). */
export interface PagerDutyWingDeps extends Omit<PagerDutyFeatureDeps, 'db' | 'dialect' | 'integration' | 'directory'> {
  database: DatabaseHandle;
  connections: ConnectionsStore;
  secrets: SecretBox;
  catalog: CatalogModule;
  config: { publicUrl: string | null; pagingLeaseMs: number };
  /** Small JSON settings (the status updates toggle, `pagerduty.status_updates`). */
  settings: SettingsStore;
  /** Where the wing reports each incident update's PagerDuty status updates. */
  updateDeliveries: UpdateDeliveries;
}

export interface PagerDutyModule {
  integration: PagerDutyIntegration;
  webhooks: WebhooksModule;
  escalations: EscalationsModule;
  links: PagerDutyLinksModule;
  statusUpdates: StatusUpdatesModule;
  /** Recent changes (PagerDuty change events) of an incident's affected services. */
  changes: ChangesModule;
  /** Who is on call now (live from PagerDuty, a minute's cache), its route and Slack's port. */
  oncall: OnCallModule;
  /** Two-way close: told once when every related PagerDuty incident of an incident is resolved. */
  allResolved: AllResolvedModule;
  /** The row on the Integrations page. */
  integrationStatus(): Promise<IntegrationStatus>;
  /** Workflows' triggers from PagerDuty (a link made, an escalation target acknowledged or resolved); app.ts sets it. */
  setWorkflowTriggers(port: WorkflowTriggerPort): void;
}

const description = 'Page escalation policies and people, mirror PagerDuty incidents onto the timeline, open incidents from PagerDuty and sync its catalog.';

export async function setupPagerDuty(deps: PagerDutyWingDeps): Promise<PagerDutyModule> {
  const logger = deps.logger.child({ module: 'pagerduty' });
  const { db, dialect } = deps.database;
  const integration = new PagerDutyIntegration({ db, dialect, connections: deps.connections, catalog: deps.catalog.service, runs: deps.catalog.runs, jobs: deps.jobs, logger });
  await defineSyncJobs(integration, deps.jobs, logger);
  registerPagerDutyRoutes(deps.http, integration);

  const directory = new PagerDutyDirectory(deps.catalog.service);
  const webhooks = await setupWebhooks({ db, jobs: deps.jobs, logger: deps.logger, http: deps.http, secrets: deps.secrets, catalog: deps.catalog.service, integration, publicUrl: deps.publicUrl, publicUrlConfigured: !!deps.config.publicUrl });
  registerAccountRoutes(deps.http, integration, webhooks);
  const feature: PagerDutyFeatureDeps = { db, dialect, incidents: deps.incidents, users: deps.users, events: deps.events, live: deps.live, jobs: deps.jobs, logger: deps.logger, http: deps.http, publicUrl: deps.publicUrl, integration, directory, timestamps: deps.timestamps };
  // Escalation prefers services linked to the incident; links are wired after escalations (they follow them).
  let links: PagerDutyLinksModule | undefined;
  const escalations = await setupEscalations({
    ...feature,
    catalog: deps.catalog.service,
    webhooks,
    pagingLeaseMs: deps.config.pagingLeaseMs,
    linkedServiceIds: (id) => links?.links.linkedServiceIds(id) ?? Promise.resolve([]),
    // Links people said are unrelated are not offered.
    linkedIncidents: async (id) =>
      (links ? await links.links.list(id) : []).filter((l) => l.related !== 'rejected').map((l) => ({ id: l.pagerduty.id, account: l.account, number: l.pagerduty.number, title: l.pagerduty.title, status: l.pagerduty.status, htmlUrl: l.pagerduty.htmlUrl })),
  });
  // Live: the escalations card reloads when an escalation or one of its targets changes (every writer calls changed()).
  escalations.store.onChange(async (id, tx) =>
    deps.live.touch(tx, { topic: 'escalations', incidentId: escalations.store.known(id, tx)?.incidentId ?? (await tx.selectFrom('pagerduty_escalations').select('incident_id').where('id', '=', id).executeTakeFirst())?.incident_id }),
  );
  // Workflows hear of links and of targets acknowledged or resolved in the transaction that records them (an outbox).
  let workflowTriggers: WorkflowTriggerPort | null = null;
  escalations.store.onChange(async (id, tx) => {
    if (!workflowTriggers) return;
    // A new escalation (handed over whole by its writer) has no target acknowledged or resolved yet.
    const known = escalations.store.known(id, tx);
    if (known && !known.targets.some((t) => t.status === 'acknowledged' || t.status === 'resolved')) return;
    const rows = await tx
      .selectFrom('pagerduty_escalation_targets as t')
      .innerJoin('pagerduty_escalations as e', 'e.id', 't.escalation_id')
      .select(['t.id', 't.status', 't.target_name', 't.pd_incident_id', 'e.incident_id'])
      .where('t.escalation_id', '=', id)
      .where('t.status', 'in', ['acknowledged', 'resolved'])
      .execute();
    for (const r of rows) {
      const status = r.status as 'acknowledged' | 'resolved';
      // One trigger per target and status: repeated changes of the escalation name the same event, which workflows run once.
      await workflowTriggers.fire(tx, { type: 'pagerduty.escalation_target_changed', incidentId: r.incident_id, eventId: `pd-target:${r.id}:${status}`, data: { status, pagerdutyIncidentId: r.pd_incident_id, targetName: r.target_name } });
    }
  });
  // Two-way close hears of every change to an incident's links through the live feed the links module writes with.
  const allResolved = setupAllResolved({ db, incidents: deps.incidents, events: deps.events, jobs: deps.jobs, live: deps.live, logger: deps.logger, http: deps.http, settings: deps.settings, connected: (mode, account) => integration.connected(mode, account) });
  links = setupPagerDutyLinks({
    ...feature,
    live: allResolved.service.watchLinks(deps.live),
    escalations: escalations.store,
    onLinked: async (tx, l) => {
      if (workflowTriggers) await workflowTriggers.fire(tx, { type: 'pagerduty.incident_linked', incidentId: l.incidentId, eventId: `pd-link:${l.linkId}`, data: { pagerdutyIncidentId: l.pagerdutyIncidentId, title: l.title, serviceId: l.serviceId } });
    },
  });
  links.autoCreate.declineDefersTo = () => allResolved.service.automaticForTriage();
  links.port.allResolved = allResolved.port;
  webhooks.onApplied(async (events, tx) => {
    await links!.onWebhookEvents(events.filter((ev): ev is PdIncidentEvent => ev.kind === 'incident' || ev.kind === 'note'), tx);
  });
  const changes = setupChanges({ db, events: deps.events, incidents: deps.incidents, logger: deps.logger, http: deps.http, integration, directory });
  const oncall = setupOnCall({ http: deps.http, integration, catalog: deps.catalog.service, users: deps.users, logger: deps.logger });
  const statusUpdates = setupStatusUpdates({ db, events: deps.events, jobs: deps.jobs, live: deps.live, logger: deps.logger, http: deps.http, integration, settings: deps.settings, updateDeliveries: deps.updateDeliveries });

  return {
    setWorkflowTriggers(port) {
      workflowTriggers = port;
    },
    integration,
    webhooks,
    escalations,
    links,
    statusUpdates,
    changes,
    oncall,
    allResolved,
    async integrationStatus() {
      const s = await integration.status();
      return {
        kind: KIND,
        name: 'PagerDuty',
        description,
        status: s.connected ? (s.status === 'error' ? 'error' : 'connected') : 'not_connected',
        details: s.connected
          ? { region: s.region, api_key: s.apiKeyMasked, bot_user: s.botUser, last_sync: s.lastRun ? { status: s.lastRun.status, finished_at: s.lastRun.finishedAt } : null }
          : null,
      };
    },
  };
}

/** The catalog sync: a job per recorded run, and a tick every minute that starts runs that are due. */
async function defineSyncJobs(integration: PagerDutyIntegration, jobs: JobQueue, logger: Logger): Promise<void> {
  jobs.define<{ runId: string }>(
    SYNC_JOB,
    async ({ runId }, ctx) => {
      try {
        const run = await integration.runSync(runId, { signal: ctx.signal });
        logger.info({ run: run.id, status: run.status, requests: run.requests, stop_reason: run.stopReason, errors: run.errors }, 'PagerDuty catalog sync finished');
      } catch (err) {
        // Another sync holds the lock, or this process is shutting down: let the queue run it again later.
        if (err instanceof SyncBusyError || ctx.signal.aborted) throw err;
        logger.warn({ run: runId, error: (err as Error).message }, 'PagerDuty catalog sync failed; nothing was archived');
      }
    },
    { maxAttempts: 5 },
  );
  jobs.define(SYNC_TICK_JOB, async () => {
    await integration.tick();
  });
  await jobs.schedule('pagerduty.catalog-sync', SYNC_TICK_JOB, 60_000);
}
