import type { DomainEvent, EventBus } from '../../../platform/events.js';
import type { Db } from '../../../platform/db/index.js';
import type { JobQueue } from '../../../platform/jobs/types.js';
import '../links/tables.js';
import { queueAutoAck } from './job.js';

// Trigger: a triage incident opened from a PagerDuty incident is accepted. The accept's actor is passed on
// untouched, so a workflow or an API key accepting never acknowledges anything. Closing an incident with open
// PagerDuty incidents offers to resolve them.

export function subscribeAutoAckOnAccept(deps: { db: Db; events: EventBus; jobs: JobQueue; offerResolve?: (incidentId: string, userId: string | null, linkIds: string[], eventId: string) => Promise<void> }): void {
  deps.events.subscribe('pagerduty.auto_ack', ['incident.status_changed'], async (event: DomainEvent) => {
    if (!event.incidentId) return;
    if (event.data.toCategory === 'closed' || event.data.toCategory === 'canceled') {
      // Offer (never force) resolving the PagerDuty incidents still open.
      const open = await deps.db.selectFrom('pagerduty_incident_links').selectAll().where('incident_id', '=', event.incidentId).where('status', '!=', 'resolved').execute();
      if (open.length && deps.offerResolve) await deps.offerResolve(event.incidentId, event.actor.kind === 'user' ? (event.actor.userId ?? null) : null, open.map((l) => l.id), event.id);
      return;
    }
    if (event.data.action !== 'accept' || event.data.fromCategory !== 'triage') return;
    const sources = await deps.db.selectFrom('pagerduty_incident_links').select(['id']).where('incident_id', '=', event.incidentId).where('reason', '=', 'source').execute();
    for (const s of sources) await queueAutoAck(deps.jobs, { linkId: s.id, trigger: 'triage_accepted', actor: event.actor }, event.id);
  });
}
