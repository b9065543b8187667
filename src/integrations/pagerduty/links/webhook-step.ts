import { addTimelineItem } from '../../../incidents/timeline.js';
import { inTransaction } from '../../../platform/db/index.js';
import { incidentIdOf, parseWebhookEvent, WebhookEventError, type PdIncidentEvent } from '../client/events.js';
import type { NewJob } from '../../../platform/jobs/types.js';
import { PD_ACTOR, pdQueue, type LinksContext } from './context.js';
import { attachEscalationIncident } from './escalation-links.js';
import { linksForPd, updateLinks } from './links.repository.js';
import { syncPd } from './mirror-sync.js';
import { label, nameOf, summaryFromEvent } from './summary.js';
import { recordPdTimes } from './timestamps.js';

// What links do with one applied webhook event about a PagerDuty incident (run in the event's job, one PagerDuty
// incident at a time): attach it when an escalation created it, store what the event says on its links, tell a
// priority change (it has no log entry), and otherwise read the log again to mirror what happened.

export const EVENT_JOB = 'pagerduty.links.event';

/** The event job's payload: one PagerDuty incident's events from one drained batch, in delivery order. */
export interface EventsJob {
  events: PdIncidentEvent[];
}

/**
 * The jobs for a drained batch's incident and note events (delivery order): one per PagerDuty incident, in that
 * incident's job queue (so its work stays one at a time and in order), its events in delivery order.
 */
export function eventJobs(events: PdIncidentEvent[]): NewJob[] {
  // By account and incident: two accounts can both have an incident of one id (each job acts in one account; the
  // queue, by id, only makes them take turns).
  const byIncident = new Map<string, { id: string; evs: PdIncidentEvent[] }>();
  for (const ev of events) {
    const id = incidentIdOf(ev);
    const key = `${ev.account ?? 'default'}\u0000${id}`;
    const group = byIncident.get(key);
    if (group) group.evs.push(ev);
    else byIncident.set(key, { id, evs: [ev] });
  }
  return [...byIncident.values()].map(({ id, evs }) => ({ name: EVENT_JOB, payload: { events: evs } satisfies EventsJob, opts: { queue: pdQueue(id), priority: -4 } }));
}

/**
 * The event job: each incident or note event of its payload, in order, through `step` (a payload of one event, as
 * queued before batches, reads the same). An event it cannot read is skipped (told to `unreadable`), not retried.
 */
export async function runEventJob(payload: unknown, step: (ev: PdIncidentEvent) => Promise<void>, unreadable: (error: string) => void): Promise<void> {
  const items = payload && typeof payload === 'object' && Array.isArray((payload as EventsJob).events) ? (payload as EventsJob).events : [payload];
  for (const item of items) {
    let ev;
    try {
      ev = parseWebhookEvent({ event: item });
      // The account that delivered it travels beside the event (parsing reads only PagerDuty's fields).
      const account = (item as { account?: unknown } | null)?.account;
      if (typeof account === 'string') ev.account = account;
    } catch (err) {
      if (!(err instanceof WebhookEventError)) throw err;
      unreadable(err.message);
      continue;
    }
    if (ev.kind === 'incident' || ev.kind === 'note') await step(ev);
  }
}

export async function onIncidentEvent(ctx: LinksContext, ev: PdIncidentEvent): Promise<void> {
  const pdId = incidentIdOf(ev);
  const summary = ev.kind === 'incident' ? summaryFromEvent(ev.data) : null;
  // The event is about an incident of the account whose subscription delivered it.
  const account = ev.account ?? 'default';
  let links = await linksForPd(ctx.db, pdId, account);
  if (links.length === 0) {
    // An escalation's PagerDuty incident: attach it to the incident that paged it.
    const attached = await attachEscalationIncident(ctx, pdId, ev.kind === 'incident' ? (ev.data.incident_key ?? null) : null, summary, account);
    if (!attached) return;
    links = await linksForPd(ctx.db, pdId, account);
  }
  if (summary) await updateLinks(ctx.db, pdId, summary, ctx.live, account);
  if (ev.kind === 'incident') {
    // PagerDuty's times: the incident's creation, and the event's own time for an acknowledgement.
    const createdAt = typeof ev.data.created_at === 'string' ? ev.data.created_at : null;
    await recordPdTimes(ctx, links, { triggeredAt: createdAt, acknowledgedAt: ev.event_type === 'incident.acknowledged' ? ev.occurred_at : null });
  }
  if (ev.kind === 'incident' && ev.event_type === 'incident.priority_updated') {
    const p = ev.data.priority;
    const text = `${label({ number: ev.data.number ?? links[0]?.pagerduty.number ?? null })} priority changed to ${p ? nameOf(p) : 'none'}${ev.agent ? ` by ${nameOf(ev.agent)}` : ''}`;
    for (const link of links.filter((l) => l.mirror)) {
      await inTransaction(ctx.db, async (tx) => {
        await addTimelineItem(tx, ctx.events, { incidentId: link.incidentId, kind: 'pagerduty.priority_changed', actor: PD_ACTOR, occurredAt: ev.occurred_at, dedupeKey: `pd-event:${ev.id}`, payload: { pagerdutyIncidentId: pdId, linkId: link.id, priority: p ? { id: p.id, name: nameOf(p) } : null, text } });
      });
    }
    return;
  }
  if (!links.some((l) => l.mirror)) return;
  // A link made for this trigger (auto-create, escalation) reads the log in its own backfill job; reading it here
  // too would spend the request budget twice during a storm of triggers.
  if (ev.event_type === 'incident.triggered') return;
  await syncPd(ctx, pdId, account);
}
