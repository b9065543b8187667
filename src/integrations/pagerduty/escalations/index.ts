import type { Firebreak } from '../../../app.js';
import type { PagerDutyIntegration } from '../connect.js';
import { DRAIN_JOB, DRAIN_SCHEDULE, WebhookIntake } from '../webhooks/intake.js';
import { ensureSubscription, SUBSCRIBE_JOB } from '../webhooks/subscription.js';
import { PagerDutyDirectory } from '../directory.js';
import { EscalationsService, PAGE_JOB, REFRESH_JOB, SWEEP_JOB, SWEEP_SCHEDULE, type EscalateInput, type Escalation, type EscalationListener } from './escalations.service.js';
import { registerEscalationRoutes } from './routes.js';
import { EscalationSettingsStore } from './settings.js';

export { EscalationsService } from './escalations.service.js';
export type { Escalation, EscalationTarget, EscalateInput } from './escalations.service.js';

// Wires escalation to PagerDuty: the use case, its jobs, its routes, the webhook receiver and the webhook
// subscription made on connect when Firebreak knows its public URL. Call before jobs start.

export interface EscalationsModule {
  service: EscalationsService;
  directory: PagerDutyDirectory;
  settings: EscalationSettingsStore;
  intake: WebhookIntake;
  /** What other integrations (Slack) use; nothing PagerDuty-shaped leaks through it. */
  port: EscalationPortImpl;
}

/** The escalation port as PagerDuty implements it (the Slack module declares the shape it needs). */
export interface EscalationPortImpl {
  connected(): Promise<boolean>;
  searchPolicies(query: string): Promise<{ id: string; name: string }[]>;
  searchUsers(query: string): Promise<{ id: string; name: string; email?: string }[]>;
  listPriorities(): Promise<{ id: string; name: string }[]>;
  suggestedPolicies(incidentId: string): Promise<{ id: string; name: string }[]>;
  escalate(input: EscalateInput, actor: Parameters<EscalationsService['escalate']>[1]): Promise<Escalation>;
  get(id: string): Promise<Escalation>;
  retry(id: string, actor: Parameters<EscalationsService['retryFailed']>[1]): Promise<Escalation>;
  setSlackMessage(id: string, channelId: string, ts: string): Promise<void>;
  onChange(listener: EscalationListener): void;
}

export async function setupEscalations(
  fb: Pick<Firebreak, 'config' | 'database' | 'incidents' | 'users' | 'events' | 'jobs' | 'logger' | 'connections' | 'catalog' | 'http' | 'secrets' | 'publicUrl'>,
  integration: PagerDutyIntegration,
  opts: { linkedServiceIds?: (incidentId: string) => Promise<string[]> } = {},
): Promise<EscalationsModule> {
  const logger = fb.logger.child({ module: 'pagerduty.escalations' });
  const directory = new PagerDutyDirectory(fb.catalog.service);
  const settings = new EscalationSettingsStore(fb.database.db, fb.secrets);
  const service = new EscalationsService({
    db: fb.database.db,
    dialect: fb.database.dialect,
    incidents: fb.incidents,
    users: fb.users,
    events: fb.events,
    jobs: fb.jobs,
    logger,
    integration,
    connections: fb.connections,
    directory,
    settings,
    publicUrl: fb.publicUrl,
    linkedServiceIds: opts.linkedServiceIds,
  });
  const intake = new WebhookIntake({ db: fb.database.db, jobs: fb.jobs, settings, escalations: service, catalog: fb.catalog.service, logger });

  fb.jobs.define<{ targetId: string }>(PAGE_JOB, async ({ targetId }, ctx) => service.pageTarget(targetId, { attempt: ctx.attempt, maxAttempts: ctx.maxAttempts }), { maxAttempts: 6 });
  service.tuning.leaseMs = fb.config.pagingLeaseMs;
  fb.jobs.define(SWEEP_JOB, async () => {
    await service.sweep();
  }, { maxAttempts: 3 });
  await fb.jobs.schedule(SWEEP_SCHEDULE, SWEEP_JOB, 60_000);
  fb.jobs.define<{ targetId: string; poll: boolean; step: number }>(REFRESH_JOB, async ({ targetId, poll, step }) => service.refresh(targetId, poll, step), { maxAttempts: 5 });
  fb.jobs.define(DRAIN_JOB, async () => {
    await intake.drain();
  }, { maxAttempts: 25 });
  await fb.jobs.schedule(DRAIN_SCHEDULE, DRAIN_JOB, 60_000);
  fb.jobs.define(
    SUBSCRIBE_JOB,
    async () => {
      const c = await service.connectedClient();
      if (!c || !fb.config.publicUrl) return;
      try {
        const id = await ensureSubscription(c.client, c.settings.botUser.email, settings, fb.config.publicUrl);
        logger.info({ subscription: id }, 'PagerDuty webhook subscription ready');
      } catch (err) {
        await settings.setWebhookError(`Creating the webhook subscription failed: ${(err as Error).message}`);
        throw err;
      }
    },
    { maxAttempts: 3 },
  );
  integration.onConnected(async () => {
    if (fb.config.publicUrl) await fb.jobs.enqueue(SUBSCRIBE_JOB, {}, { jobKey: 'pd-webhook-subscribe', priority: 0 });
  });

  intake.register(fb.http);
  registerEscalationRoutes(fb.http, { escalations: service, directory, settings, publicUrl: fb.publicUrl, publicUrlConfigured: !!fb.config.publicUrl });

  const port: EscalationPortImpl = {
    connected: async () => (await integration.settings()) !== null,
    searchPolicies: (q) => directory.searchPolicies(q, 100),
    searchUsers: (q) => directory.searchUsers(q, 100),
    listPriorities: () => directory.listPriorities(),
    async suggestedPolicies(incidentId) {
      const linked = opts.linkedServiceIds ? await opts.linkedServiceIds(incidentId) : [];
      const out: { id: string; name: string }[] = [];
      for (const sid of linked) {
        const svc = await directory.entry('PagerDutyService', sid);
        const policyEntryId = svc?.attributes.escalation_policy;
        if (typeof policyEntryId !== 'string') continue;
        const pol = await fb.catalog.service.getEntry(policyEntryId).catch(() => null);
        if (pol && !pol.archivedAt && !out.some((p) => p.id === pol.externalId)) out.push({ id: pol.externalId, name: pol.name });
      }
      return out;
    },
    escalate: async (input, actor) => (await service.escalate(input, actor)).escalation,
    get: (id) => service.get(id),
    retry: (id, actor) => service.retryFailed(id, actor),
    setSlackMessage: (id, ch, ts) => service.setSlackMessage(id, ch, ts),
    onChange: (l) => service.onChange(l),
  };
  return { service, directory, settings, intake, port };
}

