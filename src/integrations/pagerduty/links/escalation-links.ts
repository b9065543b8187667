import type { Executor } from '../../../platform/db/index.js';
import { newId, nowIso } from '../../../platform/ids.js';
import { insertLink } from './attach.js';
import { PD_ACTOR, pdQueue, SYNC_LINK_JOB, type LinksContext } from './context.js';
import type { PdIncidentSummary } from './summary.js';

// An escalation's PagerDuty incidents are attached to the incident that paged them, without asking: as soon as
// the escalation says a target has its PagerDuty incident (escalationChanged, in the escalation's transaction), or
// when a webhook names a PagerDuty incident no link knows yet that escalations say they created. Escalations are
// asked through their lookup; their tables are theirs.
//
// The status of a PagerDuty incident an escalation created has one source: the escalation target (follow.ts
// applies the create response, webhooks and polls to it, ignoring stale ones). Its link rows copy it here, in the
// transaction that changed the target, and nothing else writes their status (`updateLinks` leaves it alone), so
// the "PagerDuty incidents" card and the escalations card never disagree.

const TOLD = new Set(['triggered', 'acknowledged', 'resolved']);

/** Attaches the PagerDuty incident of an escalation target, if escalations created it. False when they did not. */
export async function attachEscalationIncident(ctx: LinksContext, pdId: string, incidentKey: string | null, s: PdIncidentSummary | null, account?: string): Promise<boolean> {
  const found = await ctx.escalations.targetFor(pdId, incidentKey, account);
  if (!found) return false;
  const { escalation: esc, target } = found;
  const told = TOLD.has(target.status) ? target.status : 'triggered';
  const summary: PdIncidentSummary = s ? { ...s, status: told } : {
    id: pdId,
    number: target.pagerduty?.number ?? null,
    title: target.name,
    status: told,
    urgency: esc.urgency,
    priority: esc.priority,
    service: target.service ?? null,
    assignees: [],
    htmlUrl: target.pagerduty?.htmlUrl ?? null,
    incidentKey: target.incidentKey,
  };
  await insertLink(ctx, esc.incidentId, summary, 'escalation', PD_ACTOR, ctx.db, target.account);
  return true;
}

/**
 * Escalation listener, in the transaction that changed the escalation: attach every target's PagerDuty incident
 * once it exists (and queue its backfill), and copy each target's status onto its existing links.
 * It runs on every change of any target, so it works on the whole escalation at once: one read of the links that
 * exist and one update per status told, not a read and an update per target (10 targets paged made 10 changes of
 * 20 statements each).
 */
export async function escalationChanged(ctx: LinksContext, escalationId: string, tx: Executor): Promise<void> {
  const esc = await ctx.escalations.get(escalationId, tx);
  const paged = esc.targets.filter((t) => t.pagerduty);
  if (!paged.length) return;
  const linked = new Set(
    (await tx.selectFrom('pagerduty_incident_links').select('pd_incident_id').where('incident_id', '=', esc.incidentId).where('pd_incident_id', 'in', paged.map((t) => t.pagerduty!.incidentId)).execute()).map((r) => r.pd_incident_id),
  );
  const now = nowIso();
  const touched = new Set<string>();
  for (const status of TOLD) {
    const ids = paged.filter((t) => t.status === status && linked.has(t.pagerduty!.incidentId)).map((t) => t.pagerduty!.incidentId);
    if (!ids.length) continue;
    const copied = await tx.updateTable('pagerduty_incident_links').set({ status, updated_at: now }).where('pd_incident_id', 'in', ids).where('reason', '=', 'escalation').where('status', '!=', status).returning('incident_id').execute();
    for (const c of copied) touched.add(c.incident_id);
  }
  for (const incidentId of touched) await ctx.live.touch(tx, { topic: 'pagerduty_links', incidentId });
  const fresh = paged.filter((t) => !linked.has(t.pagerduty!.incidentId));
  for (const t of fresh) {
    const id = newId();
    await tx
      .insertInto('pagerduty_incident_links')
      .values({
        id,
        account_id: t.account,
        incident_id: esc.incidentId,
        pd_incident_id: t.pagerduty!.incidentId,
        pd_number: t.pagerduty!.number,
        title: `[${t.name}] ${esc.message}`.slice(0, 500),
        service_id: t.service?.id ?? null,
        service_name: t.service?.name ?? null,
        status: t.status === 'pending' || t.status === 'failed' ? 'triggered' : t.status,
        urgency: esc.urgency,
        priority_id: esc.priority?.id ?? null,
        priority_name: esc.priority?.name ?? null,
        assignees: JSON.stringify(t.paged.map((p) => ({ id: p.id, name: p.name }))),
        html_url: t.pagerduty!.htmlUrl,
        incident_key: t.incidentKey,
        reason: 'escalation',
        related: null,
        mirror: 1,
        created_by_kind: 'integration',
        created_by_user_id: null,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.columns(['incident_id', 'pd_incident_id']).doNothing())
      .execute();
    await ctx.jobs.enqueue(SYNC_LINK_JOB, { linkId: id }, { jobKey: `pd-link-sync:${id}:initial`, queue: pdQueue(t.pagerduty!.incidentId), priority: 5, delayMs: 500 }, tx);
  }
  if (fresh.length) await ctx.live.touch(tx, { topic: 'pagerduty_links', incidentId: esc.incidentId });
}
