import type { CatalogService } from '../../../catalog/catalog.service.js';
import type { Actor } from '../../../platform/events.js';
import type { PagerDutyFeatureDeps } from '../deps.js';
import type { WebhooksModule } from '../webhooks/index.js';
import { EscalateUseCase } from './escalate.js';
import { Follower, REFRESH_JOB } from './follow.js';
import type { EscalateInput, Escalation, EscalationListener, EscalationTuning, LinkedPdIncident } from './model.js';
import { ResponderRequests } from './responders.js';
import { PAGE_JOB, PagingWorker, SWEEP_JOB, SWEEP_SCHEDULE } from './paging.js';
import { registerEscalationRoutes } from './routes.js';
import { EscalationSettingsStore } from './settings.js';
import { EscalationStore } from './store.js';
import { createWorkflowEscalationPort } from './workflow-port.js';
import type { WorkflowEscalationPort } from '../../../workflows/ports.js';

export type { Escalation, EscalationTarget, EscalateInput, EscalationLookup, LinkedPdIncident } from './model.js';

// Wires escalation to PagerDuty: the escalate use case, the paging worker and its jobs (page, sweep), following
// PagerDuty incidents (refresh job, and the webhooks module's events), the routes, and the port Slack uses.
// Call before jobs start.

export interface EscalationsDeps extends PagerDutyFeatureDeps {
  catalog: CatalogService;
  webhooks: WebhooksModule;
  /** How long a worker holds a target while it pages (FIREBREAK_PAGING_LEASE_MS). */
  pagingLeaseMs: number;
  /** PagerDuty services linked to an incident (preferred when paging a policy, and suggested). */
  linkedServiceIds?: (incidentId: string) => Promise<string[]>;
  /** PagerDuty incidents linked to an incident (the ones responders can be added to). */
  linkedIncidents?: (incidentId: string) => Promise<LinkedPdIncident[]>;
}

/** The escalation port as PagerDuty implements it (the Slack module declares the shape it needs). */
export interface EscalationPortImpl {
  connected(): Promise<boolean>;
  searchPolicies(query: string): Promise<{ id: string; name: string }[]>;
  searchUsers(query: string): Promise<{ id: string; name: string; email?: string }[]>;
  listPriorities(): Promise<{ id: string; name: string }[]>;
  suggestedPolicies(incidentId: string): Promise<{ id: string; name: string }[]>;
  /** Unresolved PagerDuty incidents linked to the incident: what "add responders" can target. */
  openPagerDutyIncidents(incidentId: string): Promise<LinkedPdIncident[]>;
  escalate(input: EscalateInput, actor: Actor): Promise<Escalation>;
  get(id: string): Promise<Escalation>;
  retry(id: string, actor: Actor): Promise<Escalation>;
  setSlackMessage(id: string, channelId: string, ts: string): Promise<void>;
  onChange(listener: EscalationListener): void;
}

export interface EscalationsModule {
  escalate: EscalateUseCase;
  paging: PagingWorker;
  follow: Follower;
  /** Reading escalations, change notifications, and what links and auto-acknowledgement ask (`targetFor`). */
  store: EscalationStore;
  settings: EscalationSettingsStore;
  /** Knobs tests and benchmarks turn (lease, polling, crash faults). */
  tuning: EscalationTuning;
  /** The add-responders mode's requests (send job, webhooks). */
  responders: ResponderRequests;
  /** What other integrations (Slack) use; nothing PagerDuty-shaped leaks through it. */
  port: EscalationPortImpl;
  /** What workflows' escalate steps use (app.ts connects it). */
  workflowPort: WorkflowEscalationPort;
}

export async function setupEscalations(deps: EscalationsDeps): Promise<EscalationsModule> {
  const logger = deps.logger.child({ module: 'pagerduty.escalations' });
  const { db, jobs, directory, integration } = deps;
  const tuning: EscalationTuning = { pollBaseMs: 15_000, pollCapMs: 300_000, leaseMs: deps.pagingLeaseMs, faults: {} };
  const settings = new EscalationSettingsStore(db);
  const store = new EscalationStore({ db, incidents: deps.incidents });
  const follow = new Follower({ db, dialect: deps.dialect, events: deps.events, jobs, integration, webhooks: deps.webhooks.store, store, tuning });
  store.applyStatus = (targetId, u, db) => follow.applyUpdate(targetId, u, db);
  const paging = new PagingWorker({ db, incidents: deps.incidents, events: deps.events, jobs, logger, integration, store, follow, publicUrl: deps.publicUrl, tuning });
  const responders = new ResponderRequests({ db, events: deps.events, jobs, logger, integration, store, tuning });
  responders.register();
  const escalate = new EscalateUseCase({ db, incidents: deps.incidents, users: deps.users, events: deps.events, jobs, integration, directory, settings, store, paging, linkedServiceIds: deps.linkedServiceIds, responders, linkedIncidents: deps.linkedIncidents, publicUrl: deps.publicUrl });

  jobs.define<{ targetId: string }>(PAGE_JOB, async ({ targetId }, ctx) => paging.pageTarget(targetId, { attempt: ctx.attempt, maxAttempts: ctx.maxAttempts }), { maxAttempts: 6 });
  jobs.define(SWEEP_JOB, async () => {
    await paging.sweep();
  }, { maxAttempts: 3 });
  await jobs.schedule(SWEEP_SCHEDULE, SWEEP_JOB, 60_000);
  jobs.define<{ targetId: string; poll: boolean; step: number }>(REFRESH_JOB, async ({ targetId, poll, step }) => follow.refresh(targetId, poll, step), { maxAttempts: 5 });
  deps.webhooks.subscribe((ev) => follow.onWebhookEvent(ev));
  deps.webhooks.subscribe((ev) => responders.onWebhookEvent(ev));

  registerEscalationRoutes(deps.http, { escalate, store, directory, settings, webhooks: deps.webhooks.store, placement: deps.webhooks.placement, accounts: () => integration.accounts() });

  const port: EscalationPortImpl = {
    connected: async () => (await integration.settings()) !== null,
    searchPolicies: (q) => directory.searchPolicies(q, 100),
    searchUsers: (q) => directory.searchUsers(q, 100),
    listPriorities: () => directory.listPriorities(),
    async suggestedPolicies(incidentId) {
      const linked = deps.linkedServiceIds ? await deps.linkedServiceIds(incidentId) : [];
      const out: { id: string; name: string }[] = [];
      for (const sid of linked) {
        const svc = await directory.entry('PagerDutyService', sid);
        const policyEntryId = svc?.attributes.escalation_policy;
        if (typeof policyEntryId !== 'string') continue;
        const pol = await deps.catalog.getEntry(policyEntryId).catch(() => null);
        if (pol && !pol.archivedAt && !out.some((p) => p.id === pol.externalId)) out.push({ id: pol.externalId, name: pol.name });
      }
      return out;
    },
    openPagerDutyIncidents: async (incidentId) => (deps.linkedIncidents ? await deps.linkedIncidents(incidentId) : []).filter((l) => l.status !== 'resolved'),
    escalate: async (input, actor) => (await escalate.escalate(input, actor)).escalation,
    get: (id) => store.get(id),
    retry: (id, actor) => escalate.retryFailed(id, actor),
    setSlackMessage: (id, ch, ts) => store.setSlackMessage(id, ch, ts),
    onChange: (l) => store.onChange(l),
  };
  const workflowPort = createWorkflowEscalationPort({ escalate, store, directory, integration });
  return { escalate, paging, follow, store, settings, tuning, responders, port, workflowPort };
}
