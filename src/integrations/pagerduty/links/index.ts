import type { Executor } from '../../../platform/db/index.js';
import type { Actor } from '../../../platform/events.js';
import type { PagerDutyFeatureDeps } from '../deps.js';
import { acknowledgeOffer } from '../auto-ack/acknowledge-offer.js';
import { runAutoAckJob } from '../auto-ack/auto-acknowledge.js';
import type { AutoAckDeps } from '../auto-ack/deps.js';
import { AUTO_ACK_JOB, type AutoAckJob } from '../auto-ack/job.js';
import { subscribeAutoAckOnAccept } from '../auto-ack/subscriber.js';
import { AutoCreateService } from '../auto-create/auto-create.service.js';
import { registerAutoCreateRoutes } from '../auto-create/routes.js';
import type { PdIncidentEvent } from '../client/events.js';
import type { EscalationLookup } from '../escalations/model.js';
import { SYNC_LINK_JOB, type LinksContext } from './context.js';
import { EVENT_JOB, eventJobs, runEventJob } from './webhook-step.js';
import type { IncidentLink } from './links.repository.js';
import { LinksService } from './links.service.js';
import { LinkNotifier, NOTIFY_JOB, type LinkNotification, type LinkNotificationListener } from './notifications.js';
import { registerLinkRoutes } from './routes.js';
import type { AllResolvedPort } from '../all-resolved/index.js';


export { LinksService } from './links.service.js';
export type { IncidentLink } from './links.repository.js';
export type { LinkNotification } from './notifications.js';

// Wires related PagerDuty incidents, auto-create and auto-acknowledgement: jobs, routes, the webhook step,
// the accept subscriber and the escalation listener that attaches escalation incidents. Call before jobs start.

/** What this module needs, passed in by the PagerDuty wing. */
export interface PagerDutyLinksDeps extends PagerDutyFeatureDeps {
  /** Who escalations paged, and a word when an escalation changes (to attach its PagerDuty incidents). */
  escalations: EscalationLookup & { onChange(listener: (escalationId: string, tx: Executor) => Promise<void>): void };
  /** Told in the attaching transaction when a PagerDuty incident is linked (workflows' trigger). */
  onLinked?: LinksContext['onLinked'];
}

/** What Slack (or any other front) uses; nothing PagerDuty-shaped beyond the summary leaks through it. */
export interface PagerDutyLinksPortImpl {
  connected(): Promise<boolean>;
  attach(incidentId: string, ref: string, actor: Actor): Promise<{ link: IncidentLink; created: boolean }>;
  confirmRelated(incidentId: string, linkId: string, related: boolean, actor: Actor): Promise<IncidentLink>;
  acknowledgeOffer(offerId: string, actor: Actor): Promise<{ status: 'acknowledged' | 'already_acknowledged' | 'resolved' }>;
  resolveInPagerDuty(incidentId: string, actor: Actor, email: string): Promise<{ resolved: string[]; skipped: { id: string; reason: string }[] }>;
  onNotification(listener: (n: LinkNotification) => Promise<void>): void;
  /** Two-way close (set by the wing once it is wired). */
  allResolved?: AllResolvedPort;
}

export interface PagerDutyLinksModule {
  links: LinksService;
  autoCreate: AutoCreateService;
  ack: AutoAckDeps;
  port: PagerDutyLinksPortImpl;
  /**
   * The webhook step: the webhooks module calls it with each drained batch's applied incident and note events
   * (delivery order), in the transaction that marks them applied; it queues one job per PagerDuty incident there.
   */
  onWebhookEvents(events: PdIncidentEvent[], tx: Executor): Promise<void>;
}

export function setupPagerDutyLinks(deps: PagerDutyLinksDeps): PagerDutyLinksModule {
  const logger = deps.logger.child({ module: 'pagerduty.links' });
  const connected: LinksContext['connected'] = (mode, account) => deps.integration.connected(mode, account);
  const notifier = new LinkNotifier({ jobs: deps.jobs, logger });
  const links = new LinksService({ db: deps.db, incidents: deps.incidents, events: deps.events, live: deps.live, jobs: deps.jobs, logger, publicUrl: deps.publicUrl, connected, escalations: deps.escalations, notifier, onLinked: deps.onLinked, timestamps: deps.timestamps });
  const ack: AutoAckDeps = {
    db: deps.db,
    users: deps.users,
    incidents: deps.incidents,
    events: deps.events,
    logger: logger.child({ use_case: 'autoAcknowledge' }),
    publicUrl: deps.publicUrl,
    connected,
    directory: deps.directory,
    escalations: deps.escalations,
    links,
  };
  const autoCreate = new AutoCreateService({ db: deps.db, incidents: deps.incidents, events: deps.events, links, logger: logger.child({ use_case: 'autoCreate' }), connected: (account) => connected(undefined, account), directory: deps.directory });

  deps.jobs.define<{ linkId: string }>(SYNC_LINK_JOB, async ({ linkId }) => links.syncLink(linkId), { maxAttempts: 8 });
  deps.jobs.define<LinkNotification>(NOTIFY_JOB, async (n) => links.deliver(n), { maxAttempts: 1 });
  deps.jobs.define<AutoAckJob>(AUTO_ACK_JOB, async (job) => runAutoAckJob(ack, job), { maxAttempts: 8 });
  subscribeAutoAckOnAccept({
    db: deps.db,
    events: deps.events,
    jobs: deps.jobs,
    offerResolve: async (incidentId, userId, linkIds, eventId) => {
      const open = await Promise.all(linkIds.map((id) => links.get(id)));
      await links.notify({ type: 'resolve_offer', incidentId, userId, open: open.map((l) => ({ linkId: l.id, pagerduty: l.pagerduty })) }, `resolve-offer:${eventId}`);
    },
  });
  deps.escalations.onChange((escalationId, tx) => links.escalationChanged(escalationId, tx));

  registerLinkRoutes(deps.http, { links, incidents: deps.incidents, ack });
  registerAutoCreateRoutes(deps.http, autoCreate.rules);

  // The webhook step only queues: PagerDuty calls happen in a job per PagerDuty incident per drained batch (its
  // events in delivery order), one PagerDuty incident at a time and different incidents side by side, so a slow or
  // failing read never holds up the intake. The jobs are queued in the transaction that marks the batch applied
  // (one statement for the batch), so each applied event is in exactly one job. A retry runs the job's events
  // again from the first (each step is idempotent, and the run ends with the newest). The job parses its payload
  // again, so events queued before an upgrade (one event per job) read the same as new ones.
  deps.jobs.define<unknown>(
    EVENT_JOB,
    (payload) =>
      runEventJob(
        payload,
        async (ev) => {
          await autoCreate.onIncidentEvent(ev);
          await links.onIncidentEvent(ev);
        },
        (error) => logger.warn({ error }, 'a queued PagerDuty event could not be read; skipped'),
      ),
    { maxAttempts: 10 },
  );
  const onWebhookEvents = async (events: PdIncidentEvent[], tx: Executor) => {
    const jobs = eventJobs(events);
    if (jobs.length > 0) await deps.jobs.enqueueMany(jobs, tx);
  };

  const port: PagerDutyLinksPortImpl = {
    connected: async () => (await connected()) !== null,
    attach: (incidentId, ref, actor) => links.attach(incidentId, ref, actor),
    confirmRelated: (incidentId, linkId, related, actor) => links.confirmRelated(incidentId, linkId, related, actor),
    acknowledgeOffer: (offerId, actor) => acknowledgeOffer(ack, offerId, actor),
    async resolveInPagerDuty(incidentId, actor, email) {
      return links.resolveInPagerDuty(incidentId, null, actor, (await deps.directory.userByEmail(email))?.email ?? null);
    },
    onNotification: (l: LinkNotificationListener) => links.onNotification(l),
  };
  return { links, autoCreate, ack, port, onWebhookEvents };
}
