import { addTimelineItem } from '../../../incidents/timeline.js';
import { inTransaction } from '../../../platform/db/index.js';
import { NotFoundError } from '../../../platform/errors.js';
import type { Actor } from '../../../platform/events.js';
import { PagerDutyError } from '../client/errors.js';
import { requireClient, type LinksContext } from './context.js';
import { linksOfIncident, updateLinks } from './links.repository.js';

// Resolving an incident's PagerDuty incidents in PagerDuty, with a note linking back. Only ever on request:
// closing an incident offers it (auto-ack/subscriber.ts), never does it.

/**
 * Resolves the chosen open PagerDuty incidents (all open ones when none are chosen), as `fromEmail` (a PagerDuty
 * user's email) or else the bot account. One PagerDuty refuses is skipped with the reason.
 */
export async function resolveInPagerDuty(ctx: LinksContext, incidentRef: string, linkIds: string[] | null, actor: Actor, fromEmail: string | null): Promise<{ resolved: string[]; skipped: { id: string; reason: string }[] }> {
  const incident = await ctx.incidents.getIncident(incidentRef);
  const all = await linksOfIncident(ctx.db, incident.id);
  const chosen = linkIds ? all.filter((l) => linkIds.includes(l.id)) : all.filter((l) => l.pagerduty.status !== 'resolved');
  if (linkIds && chosen.length !== linkIds.length) throw new NotFoundError('PagerDuty incident link', linkIds.find((id) => !all.some((l) => l.id === id)) ?? '');
  const { client, settings } = await requireClient(ctx);
  const from = fromEmail ?? settings.botUser.email;
  const url = `${ctx.publicUrl().replace(/\/$/, '')}/incidents/${incident.reference}`;
  const resolved: string[] = [];
  const skipped: { id: string; reason: string }[] = [];
  for (const l of chosen) {
    try {
      await client.resolve(l.pagerduty.id, { from, priority: 'interactive' });
      await client.addNote(l.pagerduty.id, `Resolved from Firebreak with ${incident.reference} ${incident.name}: ${url}`, { from, priority: 'interactive' });
      resolved.push(l.id);
      await updateLinks(ctx.db, l.pagerduty.id, { status: 'resolved' }, ctx.live);
      await ctx.escalations.statusChanged(l.pagerduty.id, 'resolved', null);
    } catch (err) {
      if (err instanceof PagerDutyError && err.code === 1001) skipped.push({ id: l.id, reason: 'already resolved' });
      else if (err instanceof PagerDutyError) skipped.push({ id: l.id, reason: err.message });
      else throw err;
    }
  }
  if (resolved.length) {
    await inTransaction(ctx.db, async (tx) => {
      await addTimelineItem(tx, ctx.events, { incidentId: incident.id, kind: 'pagerduty.resolved_from_firebreak', actor, payload: { linkIds: resolved, text: `Resolved ${resolved.length} PagerDuty incident${resolved.length === 1 ? '' : 's'} in PagerDuty` } });
    });
  }
  return { resolved, skipped };
}
