import { addTimelineItem } from '../../../incidents/timeline.js';
import { inTransaction } from '../../../platform/db/index.js';
import { newId, nowIso } from '../../../platform/ids.js';
import type { PdLogEntry } from '../client/wire.js';
import { fetchIncident, PD_ACTOR, pdQueue, SYNC_LINK_JOB, type LinksContext } from './context.js';
import { getLink, linksForPd, requireLink, updateLinks, type IncidentLink } from './links.repository.js';
import { mirrorLogEntries } from './mirror.js';
import { summaryFromIncident, type PdIncidentSummary } from './summary.js';
import { recordPdTimes, timesFromIncident, timesFromLog } from './timestamps.js';

// Mirroring a PagerDuty incident's activity onto the timelines of the incidents it is attached to: read the
// incident and its whole log, store what PagerDuty says on the links, and add the items mirror.ts makes from the
// log (deduplicated by log entry id, so reading again never repeats one). Also the per-link switch.

/** Reads the incident and its log entries and mirrors them onto every linked incident that wants it. */
export async function syncPd(ctx: LinksContext, pdId: string, account?: string): Promise<void> {
  const links = await linksForPd(ctx.db, pdId, account);
  if (links.length === 0) return;
  // Read with the client of the links' account.
  const c = await ctx.connected(undefined, account ?? links[0]!.account);
  if (!c) return;
  const incident = await fetchIncident(c.client, pdId, 'background');
  const summary = summaryFromIncident(incident);
  await updateLinks(ctx.db, pdId, summary, ctx.live, account);
  await recordPdTimes(ctx, links, timesFromIncident(incident));
  if (!links.some((l) => l.mirror)) return;
  const entries = await c.client.listLogEntries(pdId, { priority: 'background' });
  await recordPdTimes(ctx, links, timesFromLog(entries));
  await mirror(ctx, links, summary, entries);
}

/** The sync job for one link (backfill on attach, re-read after the switch is turned back on). */
export async function syncLink(ctx: LinksContext, linkId: string): Promise<void> {
  const link = await ctx.db.selectFrom('pagerduty_incident_links').select(['pd_incident_id', 'account_id']).where('id', '=', linkId).executeTakeFirst();
  if (!link) return;
  await syncPd(ctx, link.pd_incident_id, link.account_id ?? 'default');
}

/**
 * Adds the log's items to each mirrored link's timeline. Status changes only where the mirror tells them
 * (`statusToldBy`): an escalation's own items already say when its PagerDuty incident was triggered,
 * acknowledged or resolved. Returns how many items were new.
 */
export async function mirror(ctx: LinksContext, links: IncidentLink[], summary: PdIncidentSummary, entries: PdLogEntry[]): Promise<number> {
  const items = mirrorLogEntries({ id: summary.id, number: summary.number }, entries);
  let added = 0;
  for (const link of links) {
    if (!link.mirror) continue;
    const wanted = items.filter((i) => i.status === null || link.statusToldBy === 'mirror');
    if (wanted.length === 0) continue;
    await inTransaction(ctx.db, async (tx) => {
      // Only while still mirrored (the switch may have been turned off meanwhile).
      const still = await tx.selectFrom('pagerduty_incident_links').select('mirror').where('id', '=', link.id).executeTakeFirst();
      if (!still || Number(still.mirror) !== 1) return;
      for (const it of wanted) {
        const id = await addTimelineItem(tx, ctx.events, { incidentId: link.incidentId, kind: it.kind, actor: PD_ACTOR, occurredAt: it.occurredAt, dedupeKey: it.dedupeKey, payload: { ...it.payload, linkId: link.id } });
        if (id) added++;
      }
    });
  }
  return added;
}

/** The per-link switch. Turning it back on reads the log again (nothing already shown is repeated). */
export async function setMirror(ctx: LinksContext, incidentRef: string, linkId: string, on: boolean): Promise<IncidentLink> {
  const link = await requireLink(ctx, incidentRef, linkId);
  await inTransaction(ctx.db, async (tx) => {
    await tx.updateTable('pagerduty_incident_links').set({ mirror: on ? 1 : 0, updated_at: nowIso() }).where('id', '=', link.id).execute();
    await ctx.live.touch(tx, { topic: 'pagerduty_links', incidentId: link.incidentId });
    if (on && !link.mirror) await ctx.jobs.enqueue(SYNC_LINK_JOB, { linkId }, { jobKey: `pd-link-sync:${linkId}:${newId()}`, queue: pdQueue(link.pagerduty.id) }, tx);
  });
  return getLink(ctx.db, linkId);
}
