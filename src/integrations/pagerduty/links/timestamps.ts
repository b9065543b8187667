import { inTransaction, type Executor } from '../../../platform/db/index.js';
import { newId } from '../../../platform/ids.js';
import type { PdIncident, PdLogEntry } from '../client/wire.js';
import { pdQueue, SYNC_LINK_JOB, type LinksContext } from './context.js';
import type { IncidentLink } from './links.repository.js';

// PagerDuty's times for the incidents its incidents are linked to: when it was first triggered and first
// acknowledged, through the core's port (earliest wins; a person's value is never overwritten). A related
// incident someone said is not related does not count.

export interface PdTimes {
  triggeredAt?: string | null;
  acknowledgedAt?: string | null;
}

export async function recordPdTimes(ctx: Pick<LinksContext, 'db' | 'timestamps'>, links: IncidentLink[], times: PdTimes): Promise<void> {
  const port = ctx.timestamps;
  if (!port || (!times.triggeredAt && !times.acknowledgedAt)) return;
  const incidentIds = [...new Set(links.filter((l) => l.related !== 'rejected').map((l) => l.incidentId))];
  for (const incidentId of incidentIds) {
    await inTransaction(ctx.db, async (tx) => {
      if (times.triggeredAt) await port.recordEarliest(tx, incidentId, 'pagerduty_first_triggered', times.triggeredAt, 'pagerduty');
      if (times.acknowledgedAt) await port.recordEarliest(tx, incidentId, 'pagerduty_first_acknowledged', times.acknowledgedAt, 'pagerduty');
    });
  }
}

/**
 * After a link stops counting (detached, or answered "not related"), in that transaction: forget the incident's
 * PagerDuty times and read its remaining links again, which record theirs (earliest wins again).
 */
export async function recomputePdTimes(ctx: Pick<LinksContext, 'jobs' | 'timestamps'>, tx: Executor, incidentId: string): Promise<void> {
  if (!ctx.timestamps) return;
  await ctx.timestamps.forgetSource(tx, incidentId, 'pagerduty');
  const rest = await tx.selectFrom('pagerduty_incident_links').select(['id', 'pd_incident_id', 'related']).where('incident_id', '=', incidentId).execute();
  for (const l of rest.filter((r) => r.related !== 'rejected')) {
    await ctx.jobs.enqueue(SYNC_LINK_JOB, { linkId: l.id }, { jobKey: `pd-link-sync:${l.id}:${newId()}`, queue: pdQueue(l.pd_incident_id) }, tx);
  }
}

const earliest = (xs: (string | null | undefined)[]) => xs.filter((x): x is string => !!x && !Number.isNaN(Date.parse(x))).sort((a, b) => Date.parse(a) - Date.parse(b))[0] ?? null;

/** From a REST read: its creation, and the earliest acknowledgement it still holds. */
export function timesFromIncident(i: PdIncident): PdTimes {
  return { triggeredAt: i.created_at ?? null, acknowledgedAt: earliest((i.acknowledgements ?? []).map((a) => a.at)) };
}

/** From the log: the first acknowledgement, even one a timeout or reassignment has since undone. */
export function timesFromLog(entries: PdLogEntry[]): PdTimes {
  return {
    triggeredAt: earliest(entries.filter((e) => e.type === 'trigger_log_entry').map((e) => e.created_at)),
    acknowledgedAt: earliest(entries.filter((e) => e.type === 'acknowledge_log_entry').map((e) => e.created_at)),
  };
}
