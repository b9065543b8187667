import { isUniqueViolation } from '../../../platform/db/errors.js';
import { addTimelineItem } from '../../../incidents/timeline.js';
import type { Executor } from '../../../platform/db/index.js';
import { inTransaction } from '../../../platform/db/index.js';
import { NotFoundError, ValidationError } from '../../../platform/errors.js';
import type { Actor } from '../../../platform/events.js';
import { newId, nowIso } from '../../../platform/ids.js';
import { fetchIncident, pdQueue, requireClient, SYNC_LINK_JOB, type LinksContext } from './context.js';
import { columnsOf, findLink, getLink, linkFromRow, type IncidentLink } from './links.repository.js';
import { label, summaryFromIncident, type PdIncidentSummary } from './summary.js';
import type { LinkReason, RelatedState } from './tables.js';
import { recomputePdTimes } from './timestamps.js';

// Attaching a PagerDuty incident to an incident (by a person, by URL or id; by auto-create; by an escalation's
// webhook) and detaching it. A link attached by hand or grouped by auto-create asks "is this related?"; every new
// link says so on the timeline and queues the backfill of its PagerDuty activity.

/** A PagerDuty incident URL (`https://acme.pagerduty.com/incidents/Q1ABC…`) or its id. */
export function parsePagerDutyRef(input: string): string {
  const s = input.trim().replace(/^<|>$/g, '');
  const url = /pagerduty\.com\/incidents\/([A-Za-z0-9]+)/i.exec(s) ?? /\/incidents\/([A-Za-z0-9]+)(?:[/?#]|$)/.exec(s);
  const id = url ? url[1]! : s;
  if (!/^[A-Za-z0-9]{2,40}$/.test(id)) {
    throw new ValidationError(`"${input.slice(0, 100)}" is neither a PagerDuty incident URL nor an incident id.`, [{ path: 'pagerduty_incident', message: 'paste the incident URL from PagerDuty (…pagerduty.com/incidents/ID) or its id' }]);
  }
  return id;
}

/**
 * Attaches a PagerDuty incident, fetched from PagerDuty first. By hand (`related`) it asks "is this related?";
 * the same PagerDuty incident attached twice returns the first link.
 */
export async function attachPagerDutyIncident(ctx: LinksContext, incidentRef: string, ref: string, actor: Actor, opts: { reason?: LinkReason } = {}): Promise<{ link: IncidentLink; created: boolean }> {
  const pdId = parsePagerDutyRef(ref);
  const incident = await ctx.incidents.getIncident(incidentRef);
  const existing = await findLink(ctx.db, incident.id, pdId);
  if (existing) return { link: existing, created: false };
  const { client } = await requireClient(ctx);
  const summary = summaryFromIncident(await fetchIncident(client, pdId));
  return insertLink(ctx, incident.id, summary, opts.reason ?? 'related', actor);
}

const WHY: Record<LinkReason, string> = {
  escalation: ' (paged from this incident)',
  source: ' (this incident was opened from it)',
  grouped: ' (it triggered on the same service or key; is it related?)',
  related: '',
};

/** Inserts a link (or returns the existing one), its timeline line, its backfill job and, by hand, the question. */
export async function insertLink(ctx: LinksContext, incidentId: string, s: PdIncidentSummary, reason: LinkReason, actor: Actor, db: Executor = ctx.db, account = 'default'): Promise<{ link: IncidentLink; created: boolean }> {
  const now = nowIso();
  const id = newId();
  const related: RelatedState | null = reason === 'related' || reason === 'grouped' ? 'pending' : null;
  const theOneThere = async () => linkFromRow(await db.selectFrom('pagerduty_incident_links').selectAll().where('incident_id', '=', incidentId).where('pd_incident_id', '=', s.id).executeTakeFirstOrThrow());
  try {
    const inserted = await inTransaction(db, async (tx) => {
      const row = await tx
        .insertInto('pagerduty_incident_links')
        .values({ id, account_id: account, incident_id: incidentId, pd_incident_id: s.id, ...columnsOf(s), reason, related, mirror: 1, created_by_kind: actor.kind, created_by_user_id: actor.userId ?? null, created_at: now, updated_at: now })
        .onConflict((oc) => oc.columns(['incident_id', 'pd_incident_id']).doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!row) return false;
      await ctx.live.touch(tx, { topic: 'pagerduty_links', incidentId });
      await addTimelineItem(tx, ctx.events, {
        incidentId,
        kind: 'pagerduty.linked',
        actor,
        dedupeKey: `pd-link:${s.id}:attached`,
        payload: { pagerdutyIncidentId: s.id, linkId: id, reason, text: `${label(s)} attached: ${s.title}${WHY[reason]}` },
      });
      // Opened from a webhook (source, grouped): the backfill waits a little and yields to incident creation, so
      // a storm of triggers opens its incidents first and reads the logs (within the request budget) after.
      const fromWebhook = reason === 'source' || reason === 'grouped';
      await ctx.jobs.enqueue(SYNC_LINK_JOB, { linkId: id }, { jobKey: `pd-link-sync:${id}:initial`, queue: pdQueue(s.id), priority: fromWebhook ? 10 : 2, ...(fromWebhook ? { delayMs: 3000 } : {}) }, tx);
      if (ctx.onLinked) await ctx.onLinked(tx, { incidentId, linkId: id, pagerdutyIncidentId: s.id, title: s.title ?? null, serviceId: s.service?.id ?? null });
      if (related === 'pending') {
        await ctx.notifier.notify({ type: 'related_question', linkId: id, incidentId, pagerduty: s, askedByUserId: actor.userId ?? null }, `related:${id}`, tx);
      }
      return true;
    });
    return { link: inserted ? await getLink(db, id) : await theOneThere(), created: inserted };
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    return { link: await theOneThere(), created: false };
  }
}

export async function detach(ctx: LinksContext, incidentRef: string, linkId: string, actor: Actor): Promise<void> {
  const incidentId = await ctx.incidents.findIncidentId(incidentRef);
  await inTransaction(ctx.db, async (tx) => {
    const row = await tx.selectFrom('pagerduty_incident_links').selectAll().where('id', '=', linkId).where('incident_id', '=', incidentId).executeTakeFirst();
    if (!row) throw new NotFoundError('PagerDuty incident link', linkId);
    await tx.deleteFrom('pagerduty_incident_links').where('id', '=', linkId).execute();
    await recomputePdTimes(ctx, tx, incidentId);
    await ctx.live.touch(tx, { topic: 'pagerduty_links', incidentId });
    await addTimelineItem(tx, ctx.events, {
      incidentId,
      kind: 'pagerduty.unlinked',
      actor,
      dedupeKey: `pd-link:${linkId}:detached`,
      payload: { pagerdutyIncidentId: row.pd_incident_id, linkId, text: `${label({ number: row.pd_number })} detached` },
    });
  });
}
