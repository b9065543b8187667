import { addTimelineItem } from '../../../incidents/timeline.js';
import type { Db } from '../../../platform/db/index.js';
import { inTransaction } from '../../../platform/db/index.js';
import { ConflictError, ForbiddenError, NotFoundError } from '../../../platform/errors.js';
import type { Actor } from '../../../platform/events.js';
import { newId, nowIso } from '../../../platform/ids.js';
import type { Logger } from '../../../platform/logger.js';
import type { UsersService } from '../../../users/users.service.js';
import { PagerDutyBadRequestError, PagerDutyError } from '../client/errors.js';
import type { PagerDutyDirectory } from '../directory.js';
import type { EscalationsService } from '../escalations/escalations.service.js';
import { label, summaryFromWire, type AutoAckJob, type LinksService, type PdIncidentSummary } from '../links/links.service.js';
import { pagedUserIds } from '../links/mirror.js';
import '../links/tables.js';
import type { PdLinkIncidentWire } from '../links/wire.js';

// autoAcknowledge: acknowledging a PagerDuty incident on someone's behalf, only when it is safe, by the
// product's rules. Triggers: a person confirms a PagerDuty incident is related to an incident; a triage incident
// opened from a PagerDuty incident is accepted. Then, for that PagerDuty incident:
//   1. the actor is not a human (workflow, API key, the system) → nothing;
//   2. PagerDuty says it is already acknowledged or resolved (read now, a webhook may lag) → nothing;
//   3. the person has no PagerDuty user, or PagerDuty did not assign or notify them for it → no acknowledgement;
//      they get a button "Acknowledge this PagerDuty incident?" that acknowledges it as them;
//   4. otherwise acknowledge as them (From: their PagerDuty email), add the note "Automatically acknowledged via
//      Firebreak" with a link to the incident, write a timeline item and DM them (best effort).
// One row per PagerDuty incident (pagerduty_auto_acks) is claimed before acting: two triggers at once
// acknowledge once and add one note; a retry of the winner finishes what it started.

export const AUTO_ACK_NOTE = 'Automatically acknowledged via Firebreak';
/** A claim nobody has touched for this long belongs to a run that died. */
const CLAIM_STALE_MS = 30_000;

export type AutoAckOutcome =
  | 'not_human'
  | 'already_acknowledged'
  | 'resolved'
  | 'unmatched_offered'
  | 'not_paged_offered'
  | 'acknowledged'
  | 'claimed_elsewhere'
  | 'not_connected';

export interface AutoAckDeps {
  db: Db;
  links: LinksService;
  users: UsersService;
  directory: PagerDutyDirectory;
  escalations: EscalationsService;
  logger: Logger;
  publicUrl: () => string;
}

export async function autoAcknowledge(deps: AutoAckDeps, input: AutoAckJob): Promise<{ outcome: AutoAckOutcome; detail: string }> {
  const decided = async (outcome: AutoAckOutcome, detail: string) => {
    await deps.db
      .insertInto('pagerduty_auto_ack_decisions')
      .values({ id: newId(), link_id: input.linkId, trigger: input.trigger, actor_kind: input.actor.kind, actor_user_id: input.actor.userId ?? null, outcome, detail, created_at: nowIso() })
      .execute();
    deps.logger.info({ link: input.linkId, trigger: input.trigger, outcome }, `auto-acknowledge: ${detail}`);
    return { outcome, detail };
  };
  const link = await deps.links.get(input.linkId).catch(() => null);
  if (!link) return { outcome: 'claimed_elsewhere', detail: 'the link is gone' };

  // 1. Only a human's action acknowledges anything.
  if (input.actor.kind !== 'user' || !input.actor.userId) {
    return decided('not_human', `${input.actor.kind}${input.actor.ref ? ` ${input.actor.ref}` : ''} is not a person; nothing is acknowledged`);
  }
  const user = await deps.users.get(input.actor.userId);
  const c = await deps.links.deps.pd();
  if (!c) return decided('not_connected', 'PagerDuty is not connected');

  // 2. PagerDuty's state now, not what the last webhook said.
  const inc = (await c.client.get<{ incident: PdLinkIncidentWire }>(`/incidents/${encodeURIComponent(link.pagerduty.id)}`, {}, { priority: 'interactive' })).incident;
  const summary = summaryFromWire(inc);
  await deps.links.updateLinks(summary.id, summary);
  if (inc.status === 'resolved') return decided('resolved', `${label(summary)} is already resolved`);
  if (inc.status === 'acknowledged') return decided('already_acknowledged', `${label(summary)} is already acknowledged`);

  // 3. Was this person paged for it?
  const pdUser = await deps.directory.userByEmail(user.email);
  if (!pdUser?.email) {
    return offer(deps, link.id, link.incidentId, user.id, summary, 'unmatched', `Firebreak could not match you (${user.email}) to a PagerDuty user, so it did not acknowledge ${label(summary)} for you.`).then(() =>
      decided('unmatched_offered', `${user.email} has no PagerDuty user; offered a button`),
    );
  }
  const entries = await deps.links.fetchLog(c.client, summary.id, 'interactive');
  const paged = pagedUserIds(inc.assignments, entries);
  const targetId = await deps.escalations.findTarget(summary.id, summary.incidentKey);
  if (targetId) {
    const t = await deps.db.selectFrom('pagerduty_escalation_targets').select(['escalation_id']).where('id', '=', targetId).executeTakeFirst();
    if (t) for (const p of (await deps.escalations.get(t.escalation_id)).targets.find((x) => x.id === targetId)?.paged ?? []) paged.add(p.id);
  }
  if (!paged.has(pdUser.id)) {
    return offer(deps, link.id, link.incidentId, user.id, summary, 'not_paged', `PagerDuty did not page you for ${label(summary)}, so Firebreak did not acknowledge it for you.`).then(() =>
      decided('not_paged_offered', `${pdUser.name} was not paged for it; offered a button`),
    );
  }

  // 4. Claim, act, record.
  const claimKey = `${input.trigger}:${input.linkId}:${user.id}:${newId()}`;
  const r = await acknowledgeAs(deps, { linkId: link.id, incidentId: link.incidentId, summary, userId: user.id, pdUser: { id: pdUser.id, email: pdUser.email, name: pdUser.name }, claimKey, auto: true });
  if (r === 'claimed_elsewhere') return decided('claimed_elsewhere', 'another trigger is acknowledging it');
  if (r === 'already_acknowledged') return decided('already_acknowledged', `${label(summary)} was acknowledged by someone else meanwhile`);
  if (r === 'resolved') return decided('resolved', `${label(summary)} was resolved meanwhile`);
  return decided('acknowledged', `acknowledged ${label(summary)} as ${pdUser.name}`);
}

async function offer(deps: AutoAckDeps, linkId: string, incidentId: string, userId: string, s: PdIncidentSummary, reason: 'not_paged' | 'unmatched', explanation: string): Promise<void> {
  const now = nowIso();
  const id = newId();
  await inTransaction(deps.db, async (tx) => {
    const row = await tx
      .insertInto('pagerduty_ack_offers')
      .values({ id, link_id: linkId, incident_id: incidentId, pd_incident_id: s.id, user_id: userId, reason, status: 'open', error: null, created_at: now, updated_at: now })
      .onConflict((oc) => oc.columns(['link_id', 'user_id']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!row) return;
    await deps.links.notify({ type: 'ack_offer', offerId: id, userId, incidentId, reason, explanation, pagerduty: s }, `offer:${id}`, tx);
  });
}

/**
 * Acknowledges as the person (From: their PagerDuty email) and adds the note, once per PagerDuty incident.
 * Returns 'claimed_elsewhere' when another trigger holds the claim.
 */
async function acknowledgeAs(
  deps: AutoAckDeps,
  a: { linkId: string; incidentId: string; summary: PdIncidentSummary; userId: string; pdUser: { id: string; email: string; name: string }; claimKey: string; auto: boolean },
): Promise<'acknowledged' | 'claimed_elsewhere' | 'already_acknowledged' | 'resolved'> {
  const now = nowIso();
  const inserted = await deps.db
    .insertInto('pagerduty_auto_acks')
    .values({ pd_incident_id: a.summary.id, link_id: a.linkId, incident_id: a.incidentId, user_id: a.userId, pd_user_id: a.pdUser.id, claimed_by: a.claimKey, state: 'claimed', note_added: 0, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('pd_incident_id').doNothing())
    .returning('pd_incident_id')
    .executeTakeFirst();
  if (!inserted) {
    const claim = await deps.db.selectFrom('pagerduty_auto_acks').selectAll().where('pd_incident_id', '=', a.summary.id).executeTakeFirstOrThrow();
    // A finished or abandoned claim is final; a live one belongs to whoever holds it. A claim left behind by a
    // run that died (not touched for CLAIM_STALE_MS) is taken over, by one taker only.
    if (claim.state !== 'claimed' || Date.now() - Date.parse(claim.updated_at) < CLAIM_STALE_MS) return 'claimed_elsewhere';
    const took = await deps.db
      .updateTable('pagerduty_auto_acks')
      .set({ claimed_by: a.claimKey, updated_at: nowIso() })
      .where('pd_incident_id', '=', a.summary.id)
      .where('state', '=', 'claimed')
      .where('updated_at', '=', claim.updated_at)
      .returning('pd_incident_id')
      .executeTakeFirst();
    if (!took) return 'claimed_elsewhere';
  }
  const c = await deps.links.requireClient();
  const id = encodeURIComponent(a.summary.id);
  try {
    await c.client.put(`/incidents/${id}`, { incident: { type: 'incident_reference', status: 'acknowledged' } }, { from: a.pdUser.email, priority: 'interactive' });
  } catch (err) {
    if (!(err instanceof PagerDutyBadRequestError)) throw err;
    if (err.code === 1001) {
      await deps.db.updateTable('pagerduty_auto_acks').set({ state: 'abandoned', updated_at: nowIso() }).where('pd_incident_id', '=', a.summary.id).execute();
      return 'resolved';
    }
    if (err.code !== 1002) throw err;
    // Already acknowledged: by us on an earlier attempt (go on to the note), or by someone else (stop).
    const now2 = (await c.client.get<{ incident: PdLinkIncidentWire }>(`/incidents/${id}`, {}, { priority: 'interactive' })).incident;
    if (!(now2.acknowledgements ?? []).some((x) => x.acknowledger?.id === a.pdUser.id)) {
      await deps.db.updateTable('pagerduty_auto_acks').set({ state: 'abandoned', updated_at: nowIso() }).where('pd_incident_id', '=', a.summary.id).execute();
      return 'already_acknowledged';
    }
  }
  const incident = await deps.links.deps.incidents.getIncident(a.incidentId);
  const url = `${deps.publicUrl().replace(/\/$/, '')}/incidents/${incident.reference}`;
  // The note is claimed before it is posted: at most one, whatever runs at once.
  const noteClaim = await deps.db.updateTable('pagerduty_auto_acks').set({ note_added: 1, updated_at: nowIso() }).where('pd_incident_id', '=', a.summary.id).where('note_added', '=', 0).returning('pd_incident_id').executeTakeFirst();
  if (noteClaim) {
    const content = a.auto ? `${AUTO_ACK_NOTE}: ${incident.reference} ${incident.name} ${url}` : `Acknowledged via Firebreak from ${incident.reference} ${incident.name} ${url}`;
    try {
      await c.client.post(`/incidents/${id}/notes`, { note: { content } }, { from: a.pdUser.email, priority: 'interactive', idempotent: false });
    } catch (err) {
      await deps.db.updateTable('pagerduty_auto_acks').set({ note_added: 0, updated_at: nowIso() }).where('pd_incident_id', '=', a.summary.id).execute();
      throw err;
    }
  }
  const user = await deps.users.get(a.userId);
  await inTransaction(deps.db, async (tx) => {
    await tx.updateTable('pagerduty_auto_acks').set({ state: 'acknowledged', updated_at: nowIso() }).where('pd_incident_id', '=', a.summary.id).execute();
    await tx.updateTable('pagerduty_incident_links').set({ status: 'acknowledged', updated_at: nowIso() }).where('pd_incident_id', '=', a.summary.id).execute();
    await addTimelineItem(tx, deps.links.deps.events, {
      incidentId: a.incidentId,
      kind: 'pagerduty.auto_acknowledged',
      actor: { kind: 'user', userId: a.userId },
      dedupeKey: `pd-auto-ack:${a.summary.id}`,
      payload: {
        pagerdutyIncidentId: a.summary.id,
        linkId: a.linkId,
        pagerdutyUser: a.pdUser.name,
        text: a.auto ? `Firebreak acknowledged ${label(a.summary)} in PagerDuty for ${user.name}` : `${user.name} acknowledged ${label(a.summary)} in PagerDuty from Firebreak`,
      },
    });
    if (a.auto) await deps.links.notify({ type: 'acknowledged_for_you', userId: a.userId, incidentId: a.incidentId, pagerduty: { ...a.summary, status: 'acknowledged' } }, `acked:${a.summary.id}`, tx);
  });
  return 'acknowledged';
}

/** The offer's button: acknowledges the PagerDuty incident as the person it was offered to. */
export async function acknowledgeOffer(deps: AutoAckDeps, offerId: string, actor: Actor): Promise<{ status: 'acknowledged' | 'already_acknowledged' | 'resolved' }> {
  const o = await deps.db.selectFrom('pagerduty_ack_offers').selectAll().where('id', '=', offerId).executeTakeFirst();
  if (!o) throw new NotFoundError('Acknowledgement offer', offerId);
  if (actor.kind !== 'user' || actor.userId !== o.user_id) throw new ForbiddenError('This button acknowledges as the person it was offered to; only they can press it.');
  const user = await deps.users.get(o.user_id);
  const pdUser = await deps.directory.userByEmail(user.email);
  if (!pdUser?.email) {
    throw new ConflictError('no_pagerduty_user', `PagerDuty has no user with your email (${user.email}), and PagerDuty needs one to record who acknowledged. Ask a PagerDuty admin to add you, or acknowledge it in PagerDuty.`);
  }
  const c = await deps.links.requireClient();
  const inc = (await c.client.get<{ incident: PdLinkIncidentWire }>(`/incidents/${encodeURIComponent(o.pd_incident_id)}`, {}, { priority: 'interactive' })).incident;
  const summary = summaryFromWire(inc);
  const done = async (status: 'acknowledged' | 'failed', error: string | null = null) =>
    deps.db.updateTable('pagerduty_ack_offers').set({ status, error, updated_at: nowIso() }).where('id', '=', offerId).execute();
  if (inc.status === 'resolved') {
    await done('failed', 'already resolved');
    return { status: 'resolved' };
  }
  if (inc.status === 'acknowledged') {
    await done('failed', 'already acknowledged');
    return { status: 'already_acknowledged' };
  }
  try {
    const r = await acknowledgeAs(deps, { linkId: o.link_id, incidentId: o.incident_id, summary, userId: o.user_id, pdUser: { id: pdUser.id, email: pdUser.email, name: pdUser.name }, claimKey: `offer:${offerId}:${newId()}`, auto: false });
    if (r === 'acknowledged') {
      await done('acknowledged');
      return { status: 'acknowledged' };
    }
    await done('failed', r);
    return { status: r === 'resolved' ? 'resolved' : 'already_acknowledged' };
  } catch (err) {
    if (err instanceof PagerDutyError) {
      await done('failed', err.message);
      throw new ConflictError('pagerduty_refused', `PagerDuty did not acknowledge it: ${err.message}`);
    }
    throw err;
  }
}

export async function listOffers(db: Db, incidentId: string) {
  return db.selectFrom('pagerduty_ack_offers').selectAll().where('incident_id', '=', incidentId).orderBy('created_at').execute();
}

export async function listDecisions(db: Db, linkId: string) {
  return db.selectFrom('pagerduty_auto_ack_decisions').selectAll().where('link_id', '=', linkId).orderBy('id').execute();
}
