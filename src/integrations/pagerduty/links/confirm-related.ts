import { addTimelineItem } from '../../../incidents/timeline.js';
import { inTransaction } from '../../../platform/db/index.js';
import type { Actor } from '../../../platform/events.js';
import { nowIso } from '../../../platform/ids.js';
import { queueAutoAck } from '../auto-ack/job.js';
import type { LinksContext } from './context.js';
import { getLink, requireLink, type IncidentLink } from './links.repository.js';
import { label } from './summary.js';
import { recomputePdTimes } from './timestamps.js';

// The answer to "Is this PagerDuty incident related to this incident?". Yes (by anyone) is one of the two
// triggers of auto-acknowledgement; auto-acknowledge.ts decides whether anything is acknowledged.

export async function confirmRelated(ctx: LinksContext, incidentRef: string, linkId: string, related: boolean, actor: Actor): Promise<IncidentLink> {
  const link = await requireLink(ctx, incidentRef, linkId);
  await inTransaction(ctx.db, async (tx) => {
    await tx.updateTable('pagerduty_incident_links').set({ related: related ? 'confirmed' : 'rejected', updated_at: nowIso() }).where('id', '=', link.id).execute();
    await ctx.live.touch(tx, { topic: 'pagerduty_links', incidentId: link.incidentId });
    await addTimelineItem(tx, ctx.events, {
      incidentId: link.incidentId,
      kind: 'pagerduty.related_answered',
      actor,
      payload: { linkId, related, text: `${label(link.pagerduty)} ${related ? 'confirmed as related' : 'marked as not related'}` },
    });
    if (!related && link.related !== 'rejected') await recomputePdTimes(ctx, tx, link.incidentId);
    if (related) await queueAutoAck(ctx.jobs, { linkId, trigger: 'related_confirmed', actor }, actor.userId ?? actor.ref ?? actor.kind, tx);
  });
  return getLink(ctx.db, linkId);
}
