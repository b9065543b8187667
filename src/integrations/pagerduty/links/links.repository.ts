import type { LiveFeed } from '../../../platform/live.js';
import type { Executor } from '../../../platform/db/index.js';
import { NotFoundError } from '../../../platform/errors.js';
import { nowIso } from '../../../platform/ids.js';
import type { LinksContext } from './context.js';
import type { PdIncidentSummary } from './summary.js';
import type { LinkReason, PagerDutyIncidentLinksTable, RelatedState } from './tables.js';
import './tables.js';

// The link rows (`pagerduty_incident_links`): a PagerDuty incident attached to a Firebreak incident, with what
// PagerDuty last said about it. Rows become `IncidentLink`s here; the use cases read and update them through
// these functions.

export interface IncidentLink {
  id: string;
  /** The PagerDuty account of the linked incident ('default': the first account). */
  account: string;
  incidentId: string;
  pagerduty: PdIncidentSummary;
  reason: LinkReason;
  related: RelatedState | null;
  mirror: boolean;
  /**
   * Who tells the timeline when this PagerDuty incident is triggered, acknowledged or resolved. An escalation
   * tells it for the PagerDuty incidents it created (per target, with who it paged); the mirror tells it for
   * every other link. The rest of the activity (assignments, notifications, notes, ...) is always the mirror's.
   */
  statusToldBy: 'escalation' | 'mirror';
  createdAt: string;
  updatedAt: string;
}

export function linkFromRow(r: PagerDutyIncidentLinksTable): IncidentLink {
  return {
    id: r.id,
    account: r.account_id ?? 'default',
    incidentId: r.incident_id,
    pagerduty: {
      id: r.pd_incident_id,
      number: r.pd_number === null ? null : Number(r.pd_number),
      title: r.title,
      status: r.status,
      urgency: r.urgency,
      priority: r.priority_id ? { id: r.priority_id, name: r.priority_name ?? r.priority_id } : null,
      service: r.service_id ? { id: r.service_id, name: r.service_name ?? r.service_id } : null,
      assignees: JSON.parse(r.assignees) as { id: string; name: string }[],
      htmlUrl: r.html_url,
      incidentKey: r.incident_key,
    },
    reason: r.reason,
    related: r.related,
    mirror: Number(r.mirror) === 1,
    statusToldBy: r.reason === 'escalation' ? 'escalation' : 'mirror',
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** The columns a summary fills. */
export function columnsOf(s: PdIncidentSummary) {
  return {
    pd_number: s.number,
    title: s.title,
    service_id: s.service?.id ?? null,
    service_name: s.service?.name ?? null,
    status: s.status,
    urgency: s.urgency,
    priority_id: s.priority?.id ?? null,
    priority_name: s.priority?.name ?? null,
    assignees: JSON.stringify(s.assignees),
    html_url: s.htmlUrl,
    incident_key: s.incidentKey,
  };
}

export async function getLink(db: Executor, linkId: string): Promise<IncidentLink> {
  const r = await db.selectFrom('pagerduty_incident_links').selectAll().where('id', '=', linkId).executeTakeFirst();
  if (!r) throw new NotFoundError('PagerDuty incident link', linkId);
  return linkFromRow(r);
}

/** A link of this incident (by id or reference); NotFound when it belongs to another one. */
export async function requireLink(ctx: Pick<LinksContext, 'db' | 'incidents'>, incidentRef: string, linkId: string): Promise<IncidentLink> {
  const incidentId = await ctx.incidents.findIncidentId(incidentRef);
  const link = await getLink(ctx.db, linkId);
  if (link.incidentId !== incidentId) throw new NotFoundError('PagerDuty incident link', linkId);
  return link;
}

/** The link of this PagerDuty incident on this incident, if any. */
export async function findLink(db: Executor, incidentId: string, pdId: string): Promise<IncidentLink | null> {
  const r = await db.selectFrom('pagerduty_incident_links').selectAll().where('incident_id', '=', incidentId).where('pd_incident_id', '=', pdId).executeTakeFirst();
  return r ? linkFromRow(r) : null;
}

export async function linksOfIncident(db: Executor, incidentId: string): Promise<IncidentLink[]> {
  const rows = await db.selectFrom('pagerduty_incident_links').selectAll().where('incident_id', '=', incidentId).orderBy('created_at').orderBy('id').execute();
  return rows.map(linkFromRow);
}

/** Every link of a PagerDuty incident (one per Firebreak incident it is attached to). */
export async function linksForPd(db: Executor, pdId: string, account?: string): Promise<IncidentLink[]> {
  let q = db.selectFrom('pagerduty_incident_links').selectAll().where('pd_incident_id', '=', pdId);
  // PagerDuty ids are an account's: with several accounts, the account says which incident this is.
  if (account) q = q.where('account_id', '=', account);
  return (await q.execute()).map(linkFromRow);
}

/** PagerDuty services of an incident's links (escalation prefers them when paging a policy). */
export async function linkedServiceIds(db: Executor, incidentId: string): Promise<string[]> {
  const rows = await db.selectFrom('pagerduty_incident_links').select('service_id').where('incident_id', '=', incidentId).execute();
  return [...new Set(rows.map((r) => r.service_id).filter((x): x is string => !!x))];
}

/**
 * Stores what PagerDuty says about the incident on all its links (only what `s` says; the rest is kept). The status
 * of a link an escalation made is the escalation target's (copied by `escalationChanged`), never set here.
 */
export async function updateLinks(db: Executor, pdId: string, s: Partial<PdIncidentSummary>, live: LiveFeed, account?: string): Promise<void> {
  const set: Record<string, unknown> = {};
  if (s.number != null) set.pd_number = s.number;
  if (s.title) set.title = s.title;
  if (s.urgency) set.urgency = s.urgency;
  if (s.priority !== undefined) Object.assign(set, { priority_id: s.priority?.id ?? null, priority_name: s.priority?.name ?? null });
  if (s.service) Object.assign(set, { service_id: s.service.id, service_name: s.service.name });
  if (s.assignees) set.assignees = JSON.stringify(s.assignees);
  if (s.htmlUrl) set.html_url = s.htmlUrl;
  const now = nowIso();
  const touched = new Set<string>();
  if (s.status) {
    let u = db.updateTable('pagerduty_incident_links').set({ ...set, status: s.status, updated_at: now }).where('pd_incident_id', '=', pdId).where('reason', '!=', 'escalation');
    if (account) u = u.where('account_id', '=', account);
    const rows = await u.returning('incident_id').execute();
    for (const c of rows) touched.add(c.incident_id);
  }
  if (Object.keys(set).length > 0) {
    let q = db.updateTable('pagerduty_incident_links').set({ ...set, updated_at: now }).where('pd_incident_id', '=', pdId);
    if (s.status) q = q.where('reason', '=', 'escalation');
    if (account) q = q.where('account_id', '=', account);
    for (const c of await q.returning('incident_id').execute()) touched.add(c.incident_id);
  }
  for (const incidentId of touched) await live.touch(db, { topic: 'pagerduty_links', incidentId });
}
