import type { Executor } from '../../../platform/db/index.js';
import type { Actor } from '../../../platform/events.js';
import type { PdIncidentEvent } from '../client/events.js';
import { attachPagerDutyIncident, detach, insertLink } from './attach.js';
import { confirmRelated } from './confirm-related.js';
import type { LinksContext } from './context.js';
import { escalationChanged } from './escalation-links.js';
import { getLink, linkedServiceIds, linksOfIncident, requireLink, updateLinks, type IncidentLink } from './links.repository.js';
import { setMirror, syncLink } from './mirror-sync.js';
import type { LinkNotification, LinkNotificationListener } from './notifications.js';
import { resolveInPagerDuty } from './resolve.js';
import type { PdIncidentSummary } from './summary.js';
import type { LinkReason } from './tables.js';
import { onIncidentEvent } from './webhook-step.js';

// PagerDuty incidents attached to Firebreak incidents, as the rest of the PagerDuty wing (routes, the Slack port,
// auto-create, auto-acknowledgement, the jobs) calls them. Each use case lives in its own file and takes the
// shared context; this class only binds that context, so callers need not carry it around.

export class LinksService {
  constructor(private readonly ctx: LinksContext) {}

  // ---- reading ----
  get(linkId: string, db: Executor = this.ctx.db): Promise<IncidentLink> {
    return getLink(db, linkId);
  }
  async list(incidentRef: string): Promise<IncidentLink[]> {
    return linksOfIncident(this.ctx.db, await this.ctx.incidents.findIncidentId(incidentRef));
  }
  requireLink(incidentRef: string, linkId: string): Promise<IncidentLink> {
    return requireLink(this.ctx, incidentRef, linkId);
  }
  linkedServiceIds(incidentId: string): Promise<string[]> {
    return linkedServiceIds(this.ctx.db, incidentId);
  }

  // ---- use cases ----
  attach(incidentRef: string, ref: string, actor: Actor, opts: { reason?: LinkReason } = {}) {
    return attachPagerDutyIncident(this.ctx, incidentRef, ref, actor, opts);
  }
  insertLink(incidentId: string, s: PdIncidentSummary, reason: LinkReason, actor: Actor, db?: Executor, account?: string) {
    return insertLink(this.ctx, incidentId, s, reason, actor, db, account);
  }
  detach(incidentRef: string, linkId: string, actor: Actor): Promise<void> {
    return detach(this.ctx, incidentRef, linkId, actor);
  }
  setMirror(incidentRef: string, linkId: string, on: boolean): Promise<IncidentLink> {
    return setMirror(this.ctx, incidentRef, linkId, on);
  }
  confirmRelated(incidentRef: string, linkId: string, related: boolean, actor: Actor): Promise<IncidentLink> {
    return confirmRelated(this.ctx, incidentRef, linkId, related, actor);
  }
  resolveInPagerDuty(incidentRef: string, linkIds: string[] | null, actor: Actor, fromEmail: string | null) {
    return resolveInPagerDuty(this.ctx, incidentRef, linkIds, actor, fromEmail);
  }
  /** Stores what PagerDuty says about the incident on its links. */
  updateLinks(pdId: string, s: Partial<PdIncidentSummary>, db: Executor = this.ctx.db): Promise<void> {
    return updateLinks(db, pdId, s, this.ctx.live);
  }

  // ---- jobs and listeners ----
  /** The sync job for one link (backfill on attach, re-read after the switch is turned back on). */
  syncLink(linkId: string): Promise<void> {
    return syncLink(this.ctx, linkId);
  }
  /** The webhook step for the links of one PagerDuty incident. */
  onIncidentEvent(ev: PdIncidentEvent): Promise<void> {
    return onIncidentEvent(this.ctx, ev);
  }
  /** Escalation listener: attach every target's PagerDuty incident once it exists. */
  escalationChanged(escalationId: string, tx: Executor): Promise<void> {
    return escalationChanged(this.ctx, escalationId, tx);
  }

  // ---- notifications ----
  onNotification(l: LinkNotificationListener): void {
    this.ctx.notifier.onNotification(l);
  }
  /** Queues a notification (durably, in `tx` when given); delivering it is best effort. */
  notify(n: LinkNotification, key: string, tx?: Executor): Promise<void> {
    return this.ctx.notifier.notify(n, key, tx);
  }
  deliver(n: LinkNotification): Promise<void> {
    return this.ctx.notifier.deliver(n);
  }
}
