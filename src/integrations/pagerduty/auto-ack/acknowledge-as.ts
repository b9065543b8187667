import { addTimelineItem } from '../../../incidents/timeline.js';
import { inTransaction } from '../../../platform/db/index.js';
import { nowIso } from '../../../platform/ids.js';
import { PagerDutyBadRequestError } from '../client/errors.js';
import { requireClient } from '../links/context.js';
import { label, type PdIncidentSummary } from '../links/summary.js';
import '../links/tables.js';
import type { AutoAckDeps } from './deps.js';

// Acknowledging a PagerDuty incident as a person (From: their PagerDuty email), for autoAcknowledge and for the
// offer's button. One row per PagerDuty incident (pagerduty_auto_acks) is claimed before acting: two triggers at
// once acknowledge once and add one note; a retry of the winner finishes what it started.

export const AUTO_ACK_NOTE = 'Automatically acknowledged via Firebreak';
/** A claim nobody has touched for this long belongs to a run that died. */
const CLAIM_STALE_MS = 30_000;

export interface AcknowledgeAs {
  linkId: string;
  incidentId: string;
  summary: PdIncidentSummary;
  userId: string;
  pdUser: { id: string; email: string; name: string };
  /** This run's name on the claim. */
  claimKey: string;
  /** Automatic (the note and the DM say so) or the person pressed the offer's button. */
  auto: boolean;
}

/**
 * Acknowledges as the person and adds the note, once per PagerDuty incident. Returns 'claimed_elsewhere' when
 * another trigger holds the claim.
 */
export async function acknowledgeAs(deps: AutoAckDeps, a: AcknowledgeAs): Promise<'acknowledged' | 'claimed_elsewhere' | 'already_acknowledged' | 'resolved'> {
  const now = nowIso();
  const pdId = a.summary.id;
  const inserted = await deps.db
    .insertInto('pagerduty_auto_acks')
    .values({ pd_incident_id: pdId, link_id: a.linkId, incident_id: a.incidentId, user_id: a.userId, pd_user_id: a.pdUser.id, claimed_by: a.claimKey, state: 'claimed', note_added: 0, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('pd_incident_id').doNothing())
    .returning('pd_incident_id')
    .executeTakeFirst();
  if (!inserted) {
    const claim = await deps.db.selectFrom('pagerduty_auto_acks').selectAll().where('pd_incident_id', '=', pdId).executeTakeFirstOrThrow();
    // A finished or abandoned claim is final; a live one belongs to whoever holds it. A claim left behind by a
    // run that died (not touched for CLAIM_STALE_MS) is taken over, by one taker only.
    if (claim.state !== 'claimed' || Date.now() - Date.parse(claim.updated_at) < CLAIM_STALE_MS) return 'claimed_elsewhere';
    const took = await deps.db
      .updateTable('pagerduty_auto_acks')
      .set({ claimed_by: a.claimKey, updated_at: nowIso() })
      .where('pd_incident_id', '=', pdId)
      .where('state', '=', 'claimed')
      .where('updated_at', '=', claim.updated_at)
      .returning('pd_incident_id')
      .executeTakeFirst();
    if (!took) return 'claimed_elsewhere';
  }
  const abandon = () => deps.db.updateTable('pagerduty_auto_acks').set({ state: 'abandoned', updated_at: nowIso() }).where('pd_incident_id', '=', pdId).execute();
  // The link's account acknowledges (its key; the person's user there).
  const link = await deps.db.selectFrom('pagerduty_incident_links').select('account_id').where('id', '=', a.linkId).executeTakeFirst();
  const { client } = await requireClient(deps, link?.account_id ?? 'default');
  try {
    await client.acknowledge(pdId, { from: a.pdUser.email, priority: 'interactive' });
  } catch (err) {
    if (!(err instanceof PagerDutyBadRequestError)) throw err;
    if (err.code === 1001) {
      await abandon();
      return 'resolved';
    }
    if (err.code !== 1002) throw err;
    // Already acknowledged: by us on an earlier attempt (go on to the note), or by someone else (stop).
    const now2 = await client.getIncident(pdId, { priority: 'interactive' });
    if (!(now2.acknowledgements ?? []).some((x) => x.acknowledger?.id === a.pdUser.id)) {
      await abandon();
      return 'already_acknowledged';
    }
  }
  const incident = await deps.incidents.getIncident(a.incidentId);
  const url = `${deps.publicUrl().replace(/\/$/, '')}/incidents/${incident.reference}`;
  // The note is claimed before it is posted: at most one, whatever runs at once.
  const noteClaim = await deps.db.updateTable('pagerduty_auto_acks').set({ note_added: 1, updated_at: nowIso() }).where('pd_incident_id', '=', pdId).where('note_added', '=', 0).returning('pd_incident_id').executeTakeFirst();
  if (noteClaim) {
    const content = a.auto ? `${AUTO_ACK_NOTE}: ${incident.reference} ${incident.name} ${url}` : `Acknowledged via Firebreak from ${incident.reference} ${incident.name} ${url}`;
    try {
      await client.addNote(pdId, content, { from: a.pdUser.email, priority: 'interactive', idempotent: false });
    } catch (err) {
      await deps.db.updateTable('pagerduty_auto_acks').set({ note_added: 0, updated_at: nowIso() }).where('pd_incident_id', '=', pdId).execute();
      throw err;
    }
  }
  const user = await deps.users.get(a.userId);
  await inTransaction(deps.db, async (tx) => {
    await tx.updateTable('pagerduty_auto_acks').set({ state: 'acknowledged', updated_at: nowIso() }).where('pd_incident_id', '=', pdId).execute();
    await deps.links.updateLinks(pdId, { status: 'acknowledged' }, tx);
    await deps.escalations.statusChanged(pdId, 'acknowledged', { id: a.pdUser.id, name: a.pdUser.name }, tx);
    await addTimelineItem(tx, deps.events, {
      incidentId: a.incidentId,
      kind: 'pagerduty.auto_acknowledged',
      actor: { kind: 'user', userId: a.userId },
      dedupeKey: `pd-auto-ack:${pdId}`,
      payload: {
        pagerdutyIncidentId: pdId,
        linkId: a.linkId,
        pagerdutyUser: a.pdUser.name,
        text: a.auto ? `Firebreak acknowledged ${label(a.summary)} in PagerDuty for ${user.name}` : `${user.name} acknowledged ${label(a.summary)} in PagerDuty from Firebreak`,
      },
    });
    if (a.auto) await deps.links.notify({ type: 'acknowledged_for_you', userId: a.userId, incidentId: a.incidentId, pagerduty: { ...a.summary, status: 'acknowledged' } }, `acked:${pdId}`, tx);
  });
  return 'acknowledged';
}
