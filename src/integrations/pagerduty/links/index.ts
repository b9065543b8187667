import type { Firebreak } from '../../../app.js';
import { acknowledgeOffer, autoAcknowledge, type AutoAckDeps } from '../auto-ack/auto-acknowledge.js';
import { subscribeAutoAckOnAccept } from '../auto-ack/subscriber.js';
import { AutoCreateService } from '../auto-create/auto-create.service.js';
import { registerAutoCreateRoutes } from '../auto-create/routes.js';
import type { EscalationsModule } from '../escalations/index.js';
import { AUTO_ACK_JOB, LinksService, NOTIFY_JOB, SYNC_LINK_JOB, type AutoAckJob, type IncidentLink, type LinkNotification, type LinkNotificationListener } from './links.service.js';
import { registerLinkRoutes } from './routes.js';
import type { PdLinkEvent } from './wire.js';

const EVENT_JOB = 'pagerduty.links.event';

export { LinksService } from './links.service.js';
export type { IncidentLink, LinkNotification } from './links.service.js';

// Wires related PagerDuty incidents, auto-create and auto-acknowledgement: jobs, routes, the webhook step,
// the accept subscriber and the escalation listener that attaches escalation incidents. Call before jobs start.

/** What Slack (or any other front) uses; nothing PagerDuty-shaped beyond the summary leaks through it. */
export interface PagerDutyLinksPortImpl {
  connected(): Promise<boolean>;
  attach(incidentId: string, ref: string, actor: Parameters<LinksService['attach']>[2]): Promise<{ link: IncidentLink; created: boolean }>;
  confirmRelated(incidentId: string, linkId: string, related: boolean, actor: Parameters<LinksService['attach']>[2]): Promise<IncidentLink>;
  acknowledgeOffer(offerId: string, actor: Parameters<LinksService['attach']>[2]): Promise<{ status: 'acknowledged' | 'already_acknowledged' | 'resolved' }>;
  resolveInPagerDuty(incidentId: string, actor: Parameters<LinksService['attach']>[2], email: string): Promise<{ resolved: string[]; skipped: { id: string; reason: string }[] }>;
  onNotification(listener: (n: LinkNotification) => Promise<void>): void;
}

export interface PagerDutyLinksModule {
  links: LinksService;
  autoCreate: AutoCreateService;
  ack: AutoAckDeps;
  port: PagerDutyLinksPortImpl;
  /** The webhook step (escalations' intake calls it for every applied event). */
  onWebhookEvent(ev: PdLinkEvent): Promise<void>;
}

export function setupPagerDutyLinks(
  fb: Pick<Firebreak, 'database' | 'incidents' | 'users' | 'events' | 'jobs' | 'logger' | 'http' | 'publicUrl'>,
  escalations: EscalationsModule,
): PagerDutyLinksModule {
  const logger = fb.logger.child({ module: 'pagerduty.links' });
  const links = new LinksService({
    db: fb.database.db,
    dialect: fb.database.dialect,
    incidents: fb.incidents,
    events: fb.events,
    jobs: fb.jobs,
    logger,
    escalations: escalations.service,
    pd: () => escalations.service.connectedClient(),
    publicUrl: fb.publicUrl,
  });
  const ack: AutoAckDeps = { db: fb.database.db, links, users: fb.users, directory: escalations.directory, escalations: escalations.service, logger: logger.child({ use_case: 'autoAcknowledge' }), publicUrl: fb.publicUrl };
  const autoCreate = new AutoCreateService({ db: fb.database.db, incidents: fb.incidents, events: fb.events, links, logger: logger.child({ use_case: 'autoCreate' }), pd: () => escalations.service.connectedClient(), directory: escalations.directory });

  fb.jobs.define<{ linkId: string }>(SYNC_LINK_JOB, async ({ linkId }) => links.syncLink(linkId), { maxAttempts: 8 });
  fb.jobs.define<LinkNotification>(NOTIFY_JOB, async (n) => links.deliver(n), { maxAttempts: 1 });
  fb.jobs.define<AutoAckJob>(AUTO_ACK_JOB, async (job) => {
    const r = await autoAcknowledge(ack, job);
    if (r.outcome !== 'claimed_elsewhere') return;
    // Another run holds the claim: done when it finishes; if it died, a later attempt takes the claim over.
    const link = await links.get(job.linkId).catch(() => null);
    const claim = link ? await fb.database.db.selectFrom('pagerduty_auto_acks').select('state').where('pd_incident_id', '=', link.pagerduty.id).executeTakeFirst() : undefined;
    if (claim?.state === 'claimed') throw new Error('another run is acknowledging this PagerDuty incident; checking again later');
  }, { maxAttempts: 8 });
  subscribeAutoAckOnAccept({
    db: fb.database.db,
    events: fb.events,
    jobs: fb.jobs,
    offerResolve: async (incidentId, userId, linkIds, eventId) => {
      const open = await Promise.all(linkIds.map((id) => links.get(id)));
      await links.notify({ type: 'resolve_offer', incidentId, userId, open: open.map((l) => ({ linkId: l.id, pagerduty: l.pagerduty })) }, `resolve-offer:${eventId}`);
    },
  });
  escalations.service.onChange((escalationId, tx) => links.escalationChanged(escalationId, tx));

  registerLinkRoutes(fb.http, { links, ack });
  registerAutoCreateRoutes(fb.http, autoCreate);

  // The webhook step only queues: PagerDuty calls happen in a job per event, one PagerDuty incident at a time
  // (in delivery order) and different incidents side by side, so a slow or failing read never holds up the intake.
  fb.jobs.define<PdLinkEvent>(EVENT_JOB, async (ev) => {
    await autoCreate.onIncidentEvent(ev);
    await links.onIncidentEvent(ev);
  }, { maxAttempts: 10 });
  const onWebhookEvent = async (ev: PdLinkEvent) => {
    if (ev.resource_type !== 'incident' || !ev.data) return;
    const d = ev.data as { id?: unknown; incident?: { id?: unknown } };
    const pdId = ev.event_type === 'incident.annotated' && typeof d.incident?.id === 'string' ? d.incident.id : typeof d.id === 'string' ? d.id : null;
    if (!pdId) return;
    await fb.jobs.enqueue(EVENT_JOB, ev, { jobKey: `pd-link-event:${ev.id}`, queue: `pd-link:${pdId}`, priority: -4 });
  };

  const port: PagerDutyLinksPortImpl = {
    connected: async () => (await escalations.service.connectedClient()) !== null,
    attach: (incidentId, ref, actor) => links.attach(incidentId, ref, actor),
    confirmRelated: (incidentId, linkId, related, actor) => links.confirmRelated(incidentId, linkId, related, actor),
    acknowledgeOffer: (offerId, actor) => acknowledgeOffer(ack, offerId, actor),
    async resolveInPagerDuty(incidentId, actor, email) {
      return links.resolveInPagerDuty(incidentId, null, actor, (await escalations.directory.userByEmail(email))?.email ?? null);
    },
    onNotification: (l: LinkNotificationListener) => links.onNotification(l),
  };
  return { links, autoCreate, ack, port, onWebhookEvent };
}
