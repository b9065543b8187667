import type { CatalogService } from '../../../catalog/catalog.service.js';
import type { SecretBox } from '../../../platform/crypto/secrets.js';
import type { Db } from '../../../platform/db/index.js';
import type { App } from '../../../platform/http/server.js';
import type { JobQueue } from '../../../platform/jobs/types.js';
import type { Logger } from '../../../platform/logger.js';
import type { PagerDutyIntegration } from '../connect.js';
import { catalogSubscriber } from './catalog-update.js';
import { WebhookDrain, type WebhookBatchSubscriber, type WebhookSubscriber } from './drain.js';
import { DRAIN_JOB, DRAIN_QUEUE, DRAIN_SCHEDULE, DRAIN_SWEEP_JOB, WebhookIntake, type DrainPayload } from './intake.js';
import { WebhookHealthStore } from './health.js';
import { registerWebhookRoutes } from './routes.js';
import { WebhookSecretStore } from './secrets.js';
import { FIRST_ACCOUNT } from '../accounts.js';
import { ensureSubscription, SUBSCRIBE_JOB, webhookPlacement, type WebhookPlacement } from './subscription.js';

export { WebhookSecretStore } from './secrets.js';
export type { WebhookBatchSubscriber, WebhookSubscriber } from './drain.js';
export { webhookUrl, webhookPlacement, type WebhookPlacement } from './subscription.js';
export { WebhookHealthStore } from './health.js';

// PagerDuty webhooks as a module of their own: the receiver and its stored deliveries, the signing secrets, the
// subscription made on connect when PagerDuty can reach Firebreak (`PUBLIC_URL`, else the listening address when
// PagerDuty is on this machine), its health and test ping (routes.ts), and the drain job that hands each applied
// event to its subscribers (escalations, links and auto-create, the catalog), which subscribe here; nothing in
// this folder knows what they do. Call before jobs start.

export interface WebhooksDeps {
  db: Db;
  jobs: JobQueue;
  logger: Logger;
  http: App;
  secrets: SecretBox;
  catalog: CatalogService;
  integration: PagerDutyIntegration;
  /** Firebreak's URL: `PUBLIC_URL`, else the listening address. */
  publicUrl: () => string;
  /** Whether `PUBLIC_URL` was given. */
  publicUrlConfigured: boolean;
}

export interface WebhooksModule {
  store: WebhookSecretStore;
  health: WebhookHealthStore;
  /** Where PagerDuty should deliver, and whether Firebreak subscribes itself (for the connection now stored; another account's with `account`). */
  placement(account?: string): Promise<WebhookPlacement>;
  /** Adds a subscriber to applied events (in delivery order, every subscriber in the order they subscribed). */
  subscribe(subscriber: WebhookSubscriber): void;
  /**
   * Adds a batch subscriber: each drained batch's applied events (arrival order) in the transaction that marks
   * them applied, to queue follow-up work in (one job per batch where a job per event would be one per event).
   */
  onApplied(subscriber: WebhookBatchSubscriber): void;
  /** Applies every stored delivery not applied yet (the drain job; tests and benchmarks). */
  drain(): Promise<number>;
}

function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export async function setupWebhooks(deps: WebhooksDeps): Promise<WebhooksModule> {
  const logger = deps.logger.child({ module: 'pagerduty.webhooks' });
  const store = new WebhookSecretStore(deps.db, deps.secrets);
  const health = new WebhookHealthStore(deps.db);
  const intake = new WebhookIntake({ db: deps.db, jobs: deps.jobs, secrets: store, health, logger });
  const placement = async (account: string = FIRST_ACCOUNT): Promise<WebhookPlacement> => {
    const p = webhookPlacement(deps.publicUrl(), deps.publicUrlConfigured, (await deps.integration.settings(account))?.baseUrl ?? null);
    // Accounts after the first deliver to a URL of their own, checked with their own secrets.
    return account === FIRST_ACCOUNT ? p : { ...p, url: `${p.url}/accounts/${account}` };
  };
  const drain = new WebhookDrain({ db: deps.db, logger });
  drain.subscribe(catalogSubscriber(deps.catalog, async (account) => (await deps.integration.accounts()).find((a) => a.id === account)?.name ?? null));

  deps.jobs.define<DrainPayload | null>(DRAIN_JOB, async (payload, ctx) => {
    // Due at once, read when the slot has ended: every delivery that asked for this slot is stored by then.
    const wait = (payload?.notBefore ?? 0) - Date.now();
    if (wait > 0) await sleepUnlessAborted(Math.min(wait, 1000), ctx.signal);
    if (ctx.signal.aborted) throw new Error('the job queue is stopping; the drain runs again');
    // A burst leaves one job per slot behind a long drain; those whose deliveries it applied have nothing to read.
    await drain.drain(payload?.notBefore);
  }, { maxAttempts: 25 });
  // The sweep asks for a drain in the drain queue (never beside another drain).
  deps.jobs.define(DRAIN_SWEEP_JOB, async () => {
    await deps.jobs.enqueue(DRAIN_JOB, {}, { jobKey: 'pd-webhook-drain:sweep', queue: DRAIN_QUEUE, priority: -5, maxAttempts: 25 });
  });
  await deps.jobs.schedule(DRAIN_SCHEDULE, DRAIN_SWEEP_JOB, 60_000);

  deps.jobs.define<{ account?: string } | null>(
    SUBSCRIBE_JOB,
    async (payload) => {
      const account = payload?.account ?? FIRST_ACCOUNT;
      const c = await deps.integration.connected('interactive', account);
      const where = await placement(account);
      if (!c || !where.automatic) return;
      const own = store.forAccount(account);
      try {
        const id = await ensureSubscription(c.client, c.settings.botUser.email, own, where.url);
        logger.info({ subscription: id, account }, 'PagerDuty webhook subscription ready');
      } catch (err) {
        await own.setError(`Creating the webhook subscription failed: ${(err as Error).message}`);
        throw err;
      }
    },
    { maxAttempts: 3 },
  );
  deps.integration.onConnected(async (account) => {
    if ((await placement(account)).automatic) await deps.jobs.enqueue(SUBSCRIBE_JOB, account === FIRST_ACCOUNT ? {} : { account }, { jobKey: account === FIRST_ACCOUNT ? 'pd-webhook-subscribe' : `pd-webhook-subscribe:${account}`, priority: 0 });
  });
  // Another account's secrets go with it: its deliveries are refused from then on (the first account's stay, as before).
  deps.integration.onDisconnected(async (account) => {
    if (account !== FIRST_ACCOUNT) await store.forAccount(account).remove();
  });

  intake.register(deps.http);
  registerWebhookRoutes(deps.http, { store, health, integration: deps.integration, placement });
  return { store, health, placement, subscribe: (s) => drain.subscribe(s), onApplied: (s) => drain.onApplied(s), drain: () => drain.drain() };
}
