import type { Firebreak } from '../../app.js';
import { SyncBusyError } from '../../catalog/sync-runs.js';
import type { IntegrationStatus } from '../registry.js';
import { KIND, PagerDutyIntegration, SYNC_JOB, SYNC_TICK_JOB } from './connect.js';
import { registerPagerDutyRoutes } from './connect.routes.js';

export { PagerDutyIntegration } from './connect.js';
export { pagerDutyCli, runPagerDutyCli } from './cli.js';

export interface PagerDutyModule {
  integration: PagerDutyIntegration;
  /** The row on the Integrations page. */
  integrationStatus(): Promise<IntegrationStatus>;
}

const description = 'Page escalation policies and people, mirror PagerDuty incidents onto the timeline, open incidents from PagerDuty and sync its catalog.';

/** Wires PagerDuty into Firebreak: connection API, catalog sync jobs and their schedule. Call before jobs start. */
export async function setupPagerDuty(fb: Pick<Firebreak, 'database' | 'connections' | 'jobs' | 'logger' | 'http' | 'catalog'>): Promise<PagerDutyModule> {
  const logger = fb.logger.child({ module: 'pagerduty' });
  const integration = new PagerDutyIntegration({
    db: fb.database.db,
    dialect: fb.database.dialect,
    connections: fb.connections,
    catalog: fb.catalog.service,
    runs: fb.catalog.runs,
    jobs: fb.jobs,
    logger,
  });

  fb.jobs.define<{ runId: string }>(
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
  fb.jobs.define(SYNC_TICK_JOB, async () => {
    await integration.tick();
  });
  await fb.jobs.schedule('pagerduty.catalog-sync', SYNC_TICK_JOB, 60_000);
  registerPagerDutyRoutes(fb.http, integration);

  return {
    integration,
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
