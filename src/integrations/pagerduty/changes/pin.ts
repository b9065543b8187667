import type { IncidentsService } from '../../../incidents/incidents.service.js';
import { addTimelineItem } from '../../../incidents/timeline.js';
import type { Db } from '../../../platform/db/index.js';
import { inTransaction } from '../../../platform/db/index.js';
import { ConflictError, NotFoundError, UpstreamError } from '../../../platform/errors.js';
import type { Actor, EventBus } from '../../../platform/events.js';
import { PagerDutyError, PagerDutyNotFoundError } from '../client/errors.js';
import type { ConnectedPagerDuty } from '../connect.js';
import { PIN_KEY_PREFIX, PINNED_KIND } from './recent-changes.js';
import { pdKey, splitPdKey } from '../accounts.js';

// Pinning a change to the timeline: the change event is read from PagerDuty (so what is pinned is what PagerDuty
// holds, not what a client says), then one timeline item names it, its services and its links, at the time the
// change happened. The item's dedupe key is the change event's id, so pinning it again adds nothing. A change of an
// account other than the first is named `<account>:<id>` (as the recent changes list names it) and read there.

export interface PinDeps {
  db: Db;
  events: EventBus;
  incidents: IncidentsService;
  connected: (mode: 'lookup', account?: string) => Promise<ConnectedPagerDuty | null>;
  serviceName: (id: string) => Promise<string | null>;
}

export interface PinnedChange {
  created: boolean;
  changeEventId: string;
  text: string;
}

/** "Change on Checkout API: Deploy checkout v2.3 (from ci-runner-7)". */
export function pinnedText(p: { summary: string; services: { name: string }[]; source: string | null }): string {
  const where = p.services.length ? ` on ${p.services.map((s) => s.name).join(', ')}` : '';
  return `Change${where}: ${p.summary}${p.source ? ` (from ${p.source})` : ''}`;
}

export async function pinChange(deps: PinDeps, incidentRef: string, changeEventId: string, actor: Actor): Promise<PinnedChange> {
  const incidentId = await deps.incidents.findIncidentId(incidentRef);
  const { account, id: rawId } = splitPdKey(changeEventId);
  const pd = await deps.connected('lookup', account);
  if (!pd) throw new ConflictError('pagerduty_not_connected', 'PagerDuty is not connected. An admin can connect it in Settings → Integrations → PagerDuty.');
  let ce;
  try {
    ce = await pd.client.getChangeEvent(rawId, { priority: 'interactive' });
  } catch (err) {
    if (err instanceof PagerDutyNotFoundError) throw new NotFoundError('PagerDuty change event', changeEventId);
    if (err instanceof PagerDutyError) throw new UpstreamError(`PagerDuty did not give the change event: ${err.message}`);
    if (err instanceof DOMException) throw new UpstreamError('PagerDuty did not answer in time; the change was not pinned.');
    throw err;
  }
  const services: { id: string; name: string }[] = [];
  for (const s of ce.services ?? []) {
    if (typeof s?.id !== 'string') continue;
    services.push({ id: pdKey(account, s.id), name: (await deps.serviceName(pdKey(account, s.id))) ?? s.summary ?? s.id });
  }
  const links = (ce.links ?? []).filter((l) => typeof l?.href === 'string' && /^https?:\/\//i.test(l.href)).map((l) => ({ href: l.href, text: typeof l.text === 'string' && l.text ? l.text : null }));
  const source = typeof ce.source === 'string' && ce.source ? ce.source : null;
  const summary = typeof ce.summary === 'string' ? ce.summary : '';
  const text = pinnedText({ summary, services, source });
  const at = Date.parse(ce.timestamp);
  const key = pdKey(account, ce.id);
  const created = await inTransaction(deps.db, async (tx) => {
    const id = await addTimelineItem(tx, deps.events, {
      incidentId,
      kind: PINNED_KIND,
      actor,
      occurredAt: Number.isNaN(at) ? undefined : new Date(at).toISOString(),
      dedupeKey: `${PIN_KEY_PREFIX}${key}`,
      payload: { text, changeEventId: key, summary, source, timestamp: ce.timestamp, services, links },
    });
    return id !== null;
  });
  return { created, changeEventId: key, text };
}
