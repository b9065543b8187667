import { splitPdKey } from '../accounts.js';
import type { Db } from '../../../platform/db/index.js';
import { inTransaction } from '../../../platform/db/index.js';
import { newId, nowIso } from '../../../platform/ids.js';
import type { PagerDutyClient } from '../client/client.js';
import type { PdIncident } from '../client/wire.js';
import type { DirectoryItem } from '../directory.js';
import { pagedUserIds } from '../links/mirror.js';
import { label, summaryFromIncident, type PdIncidentSummary } from '../links/summary.js';
import '../links/tables.js';
import { acknowledgeAs } from './acknowledge-as.js';
import { decideAutoAck, type AckFact, type AckFacts } from './decision.js';
import type { AutoAckDeps } from './deps.js';
import type { AutoAckJob } from './job.js';

export type { AutoAckDeps } from './deps.js';
export { AUTO_ACK_NOTE } from './acknowledge-as.js';

// autoAcknowledge: acknowledging a PagerDuty incident on someone's behalf, only when it is safe, by the
// product's rules (decision.ts). Triggers: a person confirms a PagerDuty incident is related to an incident; a
// triage incident opened from a PagerDuty incident is accepted. This file gathers the facts the rules ask for
// (the person, PagerDuty's incident now, their PagerDuty user, who was paged) and does what they decide:
// nothing, offer a button ("Acknowledge this PagerDuty incident?") that acknowledges as them, or acknowledge as
// them (acknowledge-as.ts: the note "Automatically acknowledged via Firebreak" with a link to the incident, a
// timeline item and a DM, best effort). Every decision is recorded with why (pagerduty_auto_ack_decisions).

export type AutoAckOutcome =
  | 'not_human'
  | 'already_acknowledged'
  | 'resolved'
  | 'unmatched_offered'
  | 'not_paged_offered'
  | 'acknowledged'
  | 'claimed_elsewhere'
  | 'not_connected';

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

  // The facts, read only when the rules ask for them (in the rules' order, each read using the ones before).
  const facts: AckFacts = { human: input.actor.kind === 'user' && !!input.actor.userId };
  const got: { email?: string; client?: PagerDutyClient; incident?: PdIncident; summary?: PdIncidentSummary; pdUser?: DirectoryItem & { email: string } } = {};
  const read: Record<AckFact, () => Promise<'not_connected' | void>> = {
    status: async () => {
      got.email = (await deps.users.get(input.actor.userId!)).email;
      // The link's account: its key, and its users for matching the person.
      const c = await deps.connected(undefined, link.account);
      if (!c) return 'not_connected';
      got.client = c.client;
      got.incident = await c.client.getIncident(link.pagerduty.id, { priority: 'interactive' });
      got.summary = summaryFromIncident(got.incident);
      await deps.links.updateLinks(got.summary.id, got.summary);
      facts.status = got.incident.status;
    },
    pagerdutyUserId: async () => {
      const u = await deps.directory.userByEmail(got.email!, link.account);
      // The catalog id of another account's user is `<account>:<PagerDuty id>`; PagerDuty knows the id.
      if (u?.email) got.pdUser = { ...u, id: splitPdKey(u.id).id, email: u.email };
      facts.pagerdutyUserId = got.pdUser?.id ?? null;
    },
    paged: async () => {
      const entries = await got.client!.listLogEntries(got.summary!.id, { priority: 'interactive' });
      const paged = pagedUserIds(got.incident!.assignments, entries);
      const escalated = await deps.escalations.targetFor(got.summary!.id, got.summary!.incidentKey, link.account);
      for (const p of escalated?.target.paged ?? []) paged.add(p.id);
      facts.paged = paged;
    },
  };
  let d = decideAutoAck(facts);
  while (d.kind === 'read') {
    if ((await read[d.fact]()) === 'not_connected') return decided('not_connected', 'PagerDuty is not connected');
    d = decideAutoAck(facts);
  }

  if (d.kind === 'nothing') {
    if (d.because === 'not_human') return decided('not_human', `${input.actor.kind}${input.actor.ref ? ` ${input.actor.ref}` : ''} is not a person; nothing is acknowledged`);
    if (d.because === 'resolved') return decided('resolved', `${label(got.summary!)} is already resolved`);
    return decided('already_acknowledged', `${label(got.summary!)} is already acknowledged`);
  }
  const summary = got.summary!;
  const userId = input.actor.userId!;
  if (d.kind === 'offer') {
    if (d.because === 'unmatched') {
      await offer(deps, link.id, link.incidentId, userId, summary, 'unmatched', `Firebreak could not match you (${got.email}) to a PagerDuty user, so it did not acknowledge ${label(summary)} for you.`);
      return decided('unmatched_offered', `${got.email} has no PagerDuty user; offered a button`);
    }
    await offer(deps, link.id, link.incidentId, userId, summary, 'not_paged', `PagerDuty did not page you for ${label(summary)}, so Firebreak did not acknowledge it for you.`);
    return decided('not_paged_offered', `${got.pdUser!.name} was not paged for it; offered a button`);
  }

  // Claim, act, record.
  const pdUser = got.pdUser!;
  const claimKey = `${input.trigger}:${input.linkId}:${userId}:${newId()}`;
  const r = await acknowledgeAs(deps, { linkId: link.id, incidentId: link.incidentId, summary, userId, pdUser: { id: pdUser.id, email: pdUser.email, name: pdUser.name }, claimKey, auto: true });
  if (r === 'claimed_elsewhere') return decided('claimed_elsewhere', 'another trigger is acknowledging it');
  if (r === 'already_acknowledged') return decided('already_acknowledged', `${label(summary)} was acknowledged by someone else meanwhile`);
  if (r === 'resolved') return decided('resolved', `${label(summary)} was resolved meanwhile`);
  return decided('acknowledged', `acknowledged ${label(summary)} as ${pdUser.name}`);
}

/** The job: a run that finds another one holding the claim waits for it (a later attempt takes a dead one's over). */
export async function runAutoAckJob(deps: AutoAckDeps, job: AutoAckJob): Promise<void> {
  const r = await autoAcknowledge(deps, job);
  if (r.outcome !== 'claimed_elsewhere') return;
  const link = await deps.links.get(job.linkId).catch(() => null);
  const claim = link ? await deps.db.selectFrom('pagerduty_auto_acks').select('state').where('pd_incident_id', '=', link.pagerduty.id).executeTakeFirst() : undefined;
  if (claim?.state === 'claimed') throw new Error('another run is acknowledging this PagerDuty incident; checking again later');
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

export async function listDecisions(db: Db, linkId: string) {
  return db.selectFrom('pagerduty_auto_ack_decisions').selectAll().where('link_id', '=', linkId).orderBy('id').execute();
}
