import type { Db } from '../../../platform/db/index.js';
import { ConflictError, ForbiddenError, NotFoundError } from '../../../platform/errors.js';
import type { Actor } from '../../../platform/events.js';
import { newId, nowIso } from '../../../platform/ids.js';
import { PagerDutyError } from '../client/errors.js';
import { requireClient } from '../links/context.js';
import { summaryFromIncident } from '../links/summary.js';
import '../links/tables.js';
import { acknowledgeAs } from './acknowledge-as.js';
import type { AutoAckDeps } from './deps.js';

// The offer's button, "Acknowledge this PagerDuty incident?", made to someone auto-acknowledgement did not act
// for (no PagerDuty user, or not paged): pressed by that person, it acknowledges the incident as them.

export async function acknowledgeOffer(deps: AutoAckDeps, offerId: string, actor: Actor): Promise<{ status: 'acknowledged' | 'already_acknowledged' | 'resolved' }> {
  const o = await deps.db.selectFrom('pagerduty_ack_offers').selectAll().where('id', '=', offerId).executeTakeFirst();
  if (!o) throw new NotFoundError('Acknowledgement offer', offerId);
  if (actor.kind !== 'user' || actor.userId !== o.user_id) throw new ForbiddenError('This button acknowledges as the person it was offered to; only they can press it.');
  const user = await deps.users.get(o.user_id);
  const pdUser = await deps.directory.userByEmail(user.email);
  if (!pdUser?.email) {
    throw new ConflictError('no_pagerduty_user', `PagerDuty has no user with your email (${user.email}), and PagerDuty needs one to record who acknowledged. Ask a PagerDuty admin to add you, or acknowledge it in PagerDuty.`);
  }
  const { client } = await requireClient(deps);
  const inc = await client.getIncident(o.pd_incident_id, { priority: 'interactive' });
  const summary = summaryFromIncident(inc);
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
