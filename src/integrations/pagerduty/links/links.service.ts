import type { IncidentsService } from '../../../incidents/incidents.service.js';
import { isUniqueViolation } from '../../../incidents/incidents.service.js';
import { addTimelineItem } from '../../../incidents/timeline.js';
import type { Db, DbDialect, Executor } from '../../../platform/db/index.js';
import { inTransaction } from '../../../platform/db/index.js';
import { ConflictError, NotFoundError, UpstreamError, ValidationError } from '../../../platform/errors.js';
import type { Actor, EventBus } from '../../../platform/events.js';
import { newId, nowIso } from '../../../platform/ids.js';
import type { JobQueue } from '../../../platform/jobs/types.js';
import type { Logger } from '../../../platform/logger.js';
import type { PagerDutyClient } from '../client/client.js';
import { PagerDutyError, PagerDutyNotFoundError } from '../client/errors.js';
import type { PdRef } from '../client/wire.js';
import type { PagerDutySettings } from '../connect.js';
import type { EscalationsService } from '../escalations/escalations.service.js';
import { ESCALATION_COVERED, mirrorLogEntries } from './mirror.js';
import type { LinkReason, PagerDutyIncidentLinksTable, RelatedState } from './tables.js';
import './tables.js';
import type { PdLinkEvent, PdLinkEventData, PdLinkIncidentWire, PdLinkLogEntryWire } from './wire.js';

// PagerDuty incidents attached to Firebreak incidents: attach by URL or id (fetched from PagerDuty), list,
// detach, "is this related?" confirmation, and mirroring of their activity onto the timeline (backfilled from
// log entries on attach, kept current by webhooks). Escalation incidents are attached automatically.

export const SYNC_LINK_JOB = 'pagerduty.links.sync';
export const NOTIFY_JOB = 'pagerduty.links.notify';
export const AUTO_ACK_JOB = 'pagerduty.auto_ack';

const PD_ACTOR: Actor = { kind: 'integration', ref: 'pagerduty' };

export interface PdIncidentSummary {
  id: string;
  number: number | null;
  title: string;
  status: string;
  urgency: string | null;
  priority: { id: string; name: string } | null;
  service: { id: string; name: string } | null;
  assignees: { id: string; name: string }[];
  htmlUrl: string | null;
  incidentKey: string | null;
}

export interface IncidentLink {
  id: string;
  incidentId: string;
  pagerduty: PdIncidentSummary;
  reason: LinkReason;
  related: RelatedState | null;
  mirror: boolean;
  createdAt: string;
  updatedAt: string;
}

/** What other integrations (Slack) are told; they decide how to show it. */
export type LinkNotification =
  | { type: 'related_question'; linkId: string; incidentId: string; pagerduty: PdIncidentSummary; askedByUserId: string | null }
  | { type: 'ack_offer'; offerId: string; userId: string; incidentId: string; reason: 'not_paged' | 'unmatched'; explanation: string; pagerduty: PdIncidentSummary }
  | { type: 'acknowledged_for_you'; userId: string; incidentId: string; pagerduty: PdIncidentSummary }
  | { type: 'auto_created'; incidentId: string; linkId: string; pagerduty: PdIncidentSummary }
  | { type: 'resolve_offer'; incidentId: string; userId: string | null; open: { linkId: string; pagerduty: PdIncidentSummary }[] };

export type LinkNotificationListener = (n: LinkNotification) => Promise<void>;

export interface AutoAckJob {
  linkId: string;
  trigger: 'related_confirmed' | 'triage_accepted';
  actor: Actor;
}

export interface LinksDeps {
  db: Db;
  dialect: DbDialect;
  incidents: IncidentsService;
  events: EventBus;
  jobs: JobQueue;
  logger: Logger;
  escalations: EscalationsService;
  /** A client for the connected account (null when PagerDuty is not connected). */
  pd: () => Promise<{ client: PagerDutyClient; settings: PagerDutySettings } | null>;
  publicUrl: () => string;
}

const nameOf = (r: PdRef | null | undefined) => r?.summary ?? r?.id ?? '';

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

export function summaryFromWire(i: PdLinkIncidentWire): PdIncidentSummary {
  return {
    id: i.id,
    number: typeof i.incident_number === 'number' ? i.incident_number : null,
    title: i.title ?? i.summary ?? i.id,
    status: i.status,
    urgency: i.urgency ?? null,
    priority: i.priority?.id ? { id: i.priority.id, name: nameOf(i.priority) } : null,
    service: i.service?.id ? { id: i.service.id, name: nameOf(i.service) } : null,
    assignees: (i.assignments ?? []).filter((a) => a.assignee?.id).map((a) => ({ id: a.assignee.id, name: nameOf(a.assignee) })),
    htmlUrl: i.html_url ?? null,
    incidentKey: i.incident_key ?? null,
  };
}

export function summaryFromEvent(d: PdLinkEventData): PdIncidentSummary {
  return {
    id: d.id,
    number: typeof d.number === 'number' ? d.number : null,
    title: d.title ?? d.id,
    status: d.status ?? 'triggered',
    urgency: d.urgency ?? null,
    priority: d.priority?.id ? { id: d.priority.id, name: nameOf(d.priority) } : null,
    service: d.service?.id ? { id: d.service.id, name: nameOf(d.service) } : null,
    assignees: (d.assignees ?? []).filter((a) => a?.id).map((a) => ({ id: a.id, name: nameOf(a) })),
    htmlUrl: d.html_url ?? null,
    incidentKey: d.incident_key ?? null,
  };
}

function linkFromRow(r: PagerDutyIncidentLinksTable): IncidentLink {
  return {
    id: r.id,
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
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function columnsOf(s: PdIncidentSummary) {
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

export const label = (s: { number: number | null }) => `PagerDuty incident${s.number ? ` #${s.number}` : ''}`;

export class LinksService {
  private readonly listeners: LinkNotificationListener[] = [];

  constructor(readonly deps: LinksDeps) {}

  onNotification(l: LinkNotificationListener): void {
    this.listeners.push(l);
  }

  /** Queues a notification (durably, in `tx` when given); delivering it is best effort. */
  async notify(n: LinkNotification, key: string, tx?: Executor): Promise<void> {
    await this.deps.jobs.enqueue(NOTIFY_JOB, n, { jobKey: `pd-notify:${key}`, maxAttempts: 1 }, tx);
  }

  /** The notify job: every listener is tried; a failure is logged, never raised. */
  async deliver(n: LinkNotification): Promise<void> {
    for (const l of this.listeners) {
      try {
        await l(n);
      } catch (err) {
        this.deps.logger.warn({ err, notification: n.type }, 'could not deliver a PagerDuty notification (best effort)');
      }
    }
  }

  // ---- PagerDuty reads ----

  async requireClient(): Promise<{ client: PagerDutyClient; settings: PagerDutySettings }> {
    const c = await this.deps.pd();
    if (!c) throw new ConflictError('pagerduty_not_connected', 'PagerDuty is not connected. An admin can connect it in Settings → Integrations → PagerDuty.');
    return c;
  }

  async fetchIncident(client: PagerDutyClient, pdId: string, priority: 'interactive' | 'background' = 'interactive'): Promise<PdLinkIncidentWire> {
    try {
      return (await client.get<{ incident: PdLinkIncidentWire }>(`/incidents/${encodeURIComponent(pdId)}`, {}, { priority })).incident;
    } catch (err) {
      if (err instanceof PagerDutyNotFoundError) throw new ValidationError(`PagerDuty has no incident ${JSON.stringify(pdId)} in the connected account.`, [{ path: 'pagerduty_incident', message: 'not found in PagerDuty' }]);
      if (err instanceof PagerDutyError) throw new UpstreamError(`PagerDuty answered: ${err.message}`);
      throw err;
    }
  }

  async fetchLog(client: PagerDutyClient, pdId: string, priority: 'interactive' | 'background' = 'background'): Promise<PdLinkLogEntryWire[]> {
    return client.list<PdLinkLogEntryWire>(`/incidents/${encodeURIComponent(pdId)}/log_entries`, 'log_entries', { priority });
  }

  // ---- links ----

  async get(linkId: string, db: Executor = this.deps.db): Promise<IncidentLink> {
    const r = await db.selectFrom('pagerduty_incident_links').selectAll().where('id', '=', linkId).executeTakeFirst();
    if (!r) throw new NotFoundError('PagerDuty incident link', linkId);
    return linkFromRow(r);
  }

  async list(incidentRef: string): Promise<IncidentLink[]> {
    const incidentId = await this.deps.incidents.findIncidentId(incidentRef);
    const rows = await this.deps.db.selectFrom('pagerduty_incident_links').selectAll().where('incident_id', '=', incidentId).orderBy('created_at').orderBy('id').execute();
    return rows.map(linkFromRow);
  }

  async linksForPd(pdId: string, db: Executor = this.deps.db): Promise<IncidentLink[]> {
    return (await db.selectFrom('pagerduty_incident_links').selectAll().where('pd_incident_id', '=', pdId).execute()).map(linkFromRow);
  }

  /** PagerDuty services of an incident's links (escalation prefers them when paging a policy). */
  async linkedServiceIds(incidentId: string): Promise<string[]> {
    const rows = await this.deps.db.selectFrom('pagerduty_incident_links').select('service_id').where('incident_id', '=', incidentId).execute();
    return [...new Set(rows.map((r) => r.service_id).filter((x): x is string => !!x))];
  }

  /**
   * Attaches a PagerDuty incident, fetched from PagerDuty first. By hand (`related`) it asks "is this related?";
   * the same PagerDuty incident attached twice returns the first link.
   */
  async attach(incidentRef: string, ref: string, actor: Actor, opts: { reason?: LinkReason } = {}): Promise<{ link: IncidentLink; created: boolean }> {
    const pdId = parsePagerDutyRef(ref);
    const incident = await this.deps.incidents.getIncident(incidentRef);
    const existing = await this.deps.db.selectFrom('pagerduty_incident_links').selectAll().where('incident_id', '=', incident.id).where('pd_incident_id', '=', pdId).executeTakeFirst();
    if (existing) return { link: linkFromRow(existing), created: false };
    const { client } = await this.requireClient();
    const summary = summaryFromWire(await this.fetchIncident(client, pdId));
    const reason = opts.reason ?? 'related';
    const created = await this.insertLink(incident.id, summary, reason, actor);
    return created;
  }

  /** Inserts a link (or returns the existing one), its timeline line, its backfill job and, by hand, the question. */
  async insertLink(incidentId: string, s: PdIncidentSummary, reason: LinkReason, actor: Actor, db: Executor = this.deps.db): Promise<{ link: IncidentLink; created: boolean }> {
    const now = nowIso();
    const id = newId();
    const related: RelatedState | null = reason === 'related' || reason === 'grouped' ? 'pending' : null;
    try {
      const inserted = await inTransaction(db, async (tx) => {
        const row = await tx
          .insertInto('pagerduty_incident_links')
          .values({ id, incident_id: incidentId, pd_incident_id: s.id, ...columnsOf(s), reason, related, mirror: 1, created_by_kind: actor.kind, created_by_user_id: actor.userId ?? null, created_at: now, updated_at: now })
          .onConflict((oc) => oc.columns(['incident_id', 'pd_incident_id']).doNothing())
          .returning('id')
          .executeTakeFirst();
        if (!row) return false;
        const why = reason === 'escalation' ? ' (paged from this incident)' : reason === 'source' ? ' (this incident was opened from it)' : reason === 'grouped' ? ' (it triggered on the same service or key; is it related?)' : '';
        await addTimelineItem(tx, this.deps.events, {
          incidentId,
          kind: 'pagerduty.linked',
          actor,
          dedupeKey: `pd-link:${s.id}:attached`,
          payload: { pagerdutyIncidentId: s.id, linkId: id, reason, text: `${label(s)} attached: ${s.title}${why}` },
        });
        // Opened from a webhook (source, grouped): the backfill waits a little and yields to incident creation, so
        // a storm of triggers opens its incidents first and reads the logs (within the request budget) after.
        const fromWebhook = reason === 'source' || reason === 'grouped';
        await this.deps.jobs.enqueue(SYNC_LINK_JOB, { linkId: id }, { jobKey: `pd-link-sync:${id}:initial`, queue: `pd-link:${s.id}`, priority: fromWebhook ? 10 : 2, ...(fromWebhook ? { delayMs: 3000 } : {}) }, tx);
        if (related === 'pending') {
          await this.notify({ type: 'related_question', linkId: id, incidentId, pagerduty: s, askedByUserId: actor.userId ?? null }, `related:${id}`, tx);
        }
        return true;
      });
      const link = inserted ? await this.get(id, db) : linkFromRow((await db.selectFrom('pagerduty_incident_links').selectAll().where('incident_id', '=', incidentId).where('pd_incident_id', '=', s.id).executeTakeFirstOrThrow()));
      return { link, created: inserted };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const again = await db.selectFrom('pagerduty_incident_links').selectAll().where('incident_id', '=', incidentId).where('pd_incident_id', '=', s.id).executeTakeFirstOrThrow();
      return { link: linkFromRow(again), created: false };
    }
  }

  async detach(incidentRef: string, linkId: string, actor: Actor): Promise<void> {
    const incidentId = await this.deps.incidents.findIncidentId(incidentRef);
    await inTransaction(this.deps.db, async (tx) => {
      const row = await tx.selectFrom('pagerduty_incident_links').selectAll().where('id', '=', linkId).where('incident_id', '=', incidentId).executeTakeFirst();
      if (!row) throw new NotFoundError('PagerDuty incident link', linkId);
      await tx.deleteFrom('pagerduty_incident_links').where('id', '=', linkId).execute();
      await addTimelineItem(tx, this.deps.events, {
        incidentId,
        kind: 'pagerduty.unlinked',
        actor,
        dedupeKey: `pd-link:${linkId}:detached`,
        payload: { pagerdutyIncidentId: row.pd_incident_id, linkId, text: `${label({ number: row.pd_number })} detached` },
      });
    });
  }

  async requireLink(incidentRef: string, linkId: string): Promise<IncidentLink> {
    const incidentId = await this.deps.incidents.findIncidentId(incidentRef);
    const link = await this.get(linkId);
    if (link.incidentId !== incidentId) throw new NotFoundError('PagerDuty incident link', linkId);
    return link;
  }

  /** The per-link switch. Turning it back on reads the log again (nothing already shown is repeated). */
  async setMirror(incidentRef: string, linkId: string, on: boolean): Promise<IncidentLink> {
    const link = await this.requireLink(incidentRef, linkId);
    await inTransaction(this.deps.db, async (tx) => {
      await tx.updateTable('pagerduty_incident_links').set({ mirror: on ? 1 : 0, updated_at: nowIso() }).where('id', '=', link.id).execute();
      if (on && !link.mirror) await this.deps.jobs.enqueue(SYNC_LINK_JOB, { linkId }, { jobKey: `pd-link-sync:${linkId}:${newId()}`, queue: `pd-link:${link.pagerduty.id}` }, tx);
    });
    return this.get(linkId);
  }

  /** "Is this PagerDuty incident related?" Yes by a person triggers auto-acknowledgement. */
  async confirmRelated(incidentRef: string, linkId: string, related: boolean, actor: Actor): Promise<IncidentLink> {
    const link = await this.requireLink(incidentRef, linkId);
    await inTransaction(this.deps.db, async (tx) => {
      await tx.updateTable('pagerduty_incident_links').set({ related: related ? 'confirmed' : 'rejected', updated_at: nowIso() }).where('id', '=', link.id).execute();
      await addTimelineItem(tx, this.deps.events, {
        incidentId: link.incidentId,
        kind: 'pagerduty.related_answered',
        actor,
        payload: { linkId, related, text: `${label(link.pagerduty)} ${related ? 'confirmed as related' : 'marked as not related'}` },
      });
      if (related) {
        const job: AutoAckJob = { linkId, trigger: 'related_confirmed', actor };
        await this.deps.jobs.enqueue(AUTO_ACK_JOB, job, { jobKey: `pd-auto-ack:${linkId}:related_confirmed:${actor.userId ?? actor.ref ?? actor.kind}`, priority: -5 }, tx);
      }
    });
    return this.get(linkId);
  }

  // ---- resolving with the incident ----

  /**
   * Resolves the chosen open PagerDuty incidents (all open ones when none are chosen) with a note linking back.
   * Only ever on request: closing an incident offers it, never does it.
   */
  async resolveInPagerDuty(incidentRef: string, linkIds: string[] | null, actor: Actor, fromEmail: string | null): Promise<{ resolved: string[]; skipped: { id: string; reason: string }[] }> {
    const incident = await this.deps.incidents.getIncident(incidentRef);
    const all = await this.list(incident.id);
    const chosen = linkIds ? all.filter((l) => linkIds.includes(l.id)) : all.filter((l) => l.pagerduty.status !== 'resolved');
    if (linkIds && chosen.length !== linkIds.length) throw new NotFoundError('PagerDuty incident link', linkIds.find((id) => !all.some((l) => l.id === id)) ?? '');
    const { client, settings } = await this.requireClient();
    const from = fromEmail ?? settings.botUser.email;
    const url = `${this.deps.publicUrl().replace(/\/$/, '')}/incidents/${incident.reference}`;
    const resolved: string[] = [];
    const skipped: { id: string; reason: string }[] = [];
    for (const l of chosen) {
      const id = encodeURIComponent(l.pagerduty.id);
      try {
        await client.put(`/incidents/${id}`, { incident: { type: 'incident_reference', status: 'resolved' } }, { from, priority: 'interactive' });
        await client.post(`/incidents/${id}/notes`, { note: { content: `Resolved from Firebreak with ${incident.reference} ${incident.name}: ${url}` } }, { from, priority: 'interactive' });
        resolved.push(l.id);
        await this.updateLinks(l.pagerduty.id, { status: 'resolved' });
      } catch (err) {
        if (err instanceof PagerDutyError && err.code === 1001) skipped.push({ id: l.id, reason: 'already resolved' });
        else if (err instanceof PagerDutyError) skipped.push({ id: l.id, reason: err.message });
        else throw err;
      }
    }
    if (resolved.length) {
      await inTransaction(this.deps.db, async (tx) => {
        await addTimelineItem(tx, this.deps.events, { incidentId: incident.id, kind: 'pagerduty.resolved_from_firebreak', actor, payload: { linkIds: resolved, text: `Resolved ${resolved.length} PagerDuty incident${resolved.length === 1 ? '' : 's'} in PagerDuty` } });
      });
    }
    return { resolved, skipped };
  }

  // ---- mirroring ----

  /** Stores what PagerDuty says about the incident on its links. */
  async updateLinks(pdId: string, s: Partial<PdIncidentSummary>, db: Executor = this.deps.db): Promise<void> {
    const set: Record<string, unknown> = {};
    if (s.status) set.status = s.status;
    if (s.number != null) set.pd_number = s.number;
    if (s.title) set.title = s.title;
    if (s.urgency) set.urgency = s.urgency;
    if (s.priority !== undefined) Object.assign(set, { priority_id: s.priority?.id ?? null, priority_name: s.priority?.name ?? null });
    if (s.service) Object.assign(set, { service_id: s.service.id, service_name: s.service.name });
    if (s.assignees) set.assignees = JSON.stringify(s.assignees);
    if (s.htmlUrl) set.html_url = s.htmlUrl;
    if (Object.keys(set).length === 0) return;
    await db.updateTable('pagerduty_incident_links').set({ ...set, updated_at: nowIso() }).where('pd_incident_id', '=', pdId).execute();
  }

  /** Reads the incident and its log entries and mirrors them onto every linked incident that wants it. */
  async syncPd(pdId: string): Promise<void> {
    const links = await this.linksForPd(pdId);
    if (links.length === 0) return;
    const c = await this.deps.pd();
    if (!c) return;
    const inc = await this.fetchIncident(c.client, pdId, 'background');
    const summary = summaryFromWire(inc);
    await this.updateLinks(pdId, summary);
    if (!links.some((l) => l.mirror)) return;
    const entries = await this.fetchLog(c.client, pdId);
    await this.mirror(links, summary, entries);
  }

  async mirror(links: IncidentLink[], summary: PdIncidentSummary, entries: PdLinkLogEntryWire[]): Promise<number> {
    const items = mirrorLogEntries({ id: summary.id, number: summary.number }, entries);
    let added = 0;
    for (const link of links) {
      if (!link.mirror) continue;
      const wanted = link.reason === 'escalation' ? items.filter((i) => !ESCALATION_COVERED.has(i.kind)) : items;
      if (wanted.length === 0) continue;
      await inTransaction(this.deps.db, async (tx) => {
        // Only while still mirrored (the switch may have been turned off meanwhile).
        const still = await tx.selectFrom('pagerduty_incident_links').select('mirror').where('id', '=', link.id).executeTakeFirst();
        if (!still || Number(still.mirror) !== 1) return;
        for (const it of wanted) {
          const id = await addTimelineItem(tx, this.deps.events, { incidentId: link.incidentId, kind: it.kind, actor: PD_ACTOR, occurredAt: it.occurredAt, dedupeKey: it.dedupeKey, payload: { ...it.payload, linkId: link.id } });
          if (id) added++;
        }
      });
    }
    return added;
  }

  /** The webhook step for the links of one PagerDuty incident. */
  async onIncidentEvent(ev: PdLinkEvent): Promise<void> {
    const data = ev.data as unknown as PdLinkEventData;
    const pdId = ev.event_type === 'incident.annotated' && data.incident?.id ? data.incident.id : data.id;
    if (!pdId) return;
    let links = await this.linksForPd(pdId);
    if (links.length === 0) {
      // An escalation's PagerDuty incident: attach it to the incident that paged it.
      const attached = await this.attachEscalationIncident(pdId, data.incident_key ?? null, ev.event_type === 'incident.annotated' ? null : summaryFromEvent(data));
      if (!attached) return;
      links = await this.linksForPd(pdId);
    }
    if (ev.event_type !== 'incident.annotated') await this.updateLinks(pdId, summaryFromEvent(data));
    if (ev.event_type === 'incident.priority_updated') {
      const p = data.priority;
      const text = `${label({ number: data.number ?? links[0]?.pagerduty.number ?? null })} priority changed to ${p ? nameOf(p) : 'none'}${ev.agent ? ` by ${nameOf(ev.agent)}` : ''}`;
      for (const link of links.filter((l) => l.mirror)) {
        await inTransaction(this.deps.db, async (tx) => {
          await addTimelineItem(tx, this.deps.events, { incidentId: link.incidentId, kind: 'pagerduty.priority_changed', actor: PD_ACTOR, occurredAt: ev.occurred_at, dedupeKey: `pd-event:${ev.id}`, payload: { pagerdutyIncidentId: pdId, linkId: link.id, priority: p ? { id: p.id, name: nameOf(p) } : null, text } });
        });
      }
      return;
    }
    if (!links.some((l) => l.mirror)) return;
    // A link made for this trigger (auto-create, escalation) reads the log in its own backfill job; reading it here
    // too would spend the request budget twice during a storm of triggers.
    if (ev.event_type === 'incident.triggered') return;
    await this.syncPd(pdId);
  }

  /** Attaches the PagerDuty incident of an escalation target (from a webhook or the escalation's own change). */
  async attachEscalationIncident(pdId: string, incidentKey: string | null, s: PdIncidentSummary | null): Promise<boolean> {
    const targetId = await this.deps.escalations.findTarget(pdId, incidentKey);
    if (!targetId) return false;
    const t = await this.deps.db.selectFrom('pagerduty_escalation_targets').select(['escalation_id']).where('id', '=', targetId).executeTakeFirst();
    if (!t) return false;
    const esc = await this.deps.escalations.get(t.escalation_id);
    const target = esc.targets.find((x) => x.id === targetId);
    const summary: PdIncidentSummary = s ?? {
      id: pdId,
      number: target?.pagerduty?.number ?? null,
      title: target?.name ?? pdId,
      status: target?.status ?? 'triggered',
      urgency: esc.urgency,
      priority: esc.priority,
      service: target?.service ?? null,
      assignees: [],
      htmlUrl: target?.pagerduty?.htmlUrl ?? null,
      incidentKey: target?.incidentKey ?? incidentKey,
    };
    await this.insertLink(esc.incidentId, summary, 'escalation', PD_ACTOR);
    return true;
  }

  /** Escalation listener: attach every target's PagerDuty incident once it exists. */
  async escalationChanged(escalationId: string, tx: Executor): Promise<void> {
    const esc = await this.deps.escalations.get(escalationId, tx);
    for (const t of esc.targets) {
      if (!t.pagerduty) continue;
      const exists = await tx.selectFrom('pagerduty_incident_links').select('id').where('incident_id', '=', esc.incidentId).where('pd_incident_id', '=', t.pagerduty.incidentId).executeTakeFirst();
      if (exists) continue;
      const now = nowIso();
      const id = newId();
      await tx
        .insertInto('pagerduty_incident_links')
        .values({
          id,
          incident_id: esc.incidentId,
          pd_incident_id: t.pagerduty.incidentId,
          pd_number: t.pagerduty.number,
          title: `[${t.name}] ${esc.message}`.slice(0, 500),
          service_id: t.service?.id ?? null,
          service_name: t.service?.name ?? null,
          status: t.status === 'pending' || t.status === 'failed' ? 'triggered' : t.status,
          urgency: esc.urgency,
          priority_id: esc.priority?.id ?? null,
          priority_name: esc.priority?.name ?? null,
          assignees: JSON.stringify(t.paged.map((p) => ({ id: p.id, name: p.name }))),
          html_url: t.pagerduty.htmlUrl,
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
      await this.deps.jobs.enqueue(SYNC_LINK_JOB, { linkId: id }, { jobKey: `pd-link-sync:${id}:initial`, queue: `pd-link:${t.pagerduty.incidentId}`, priority: 5, delayMs: 500 }, tx);
    }
  }

  /** The sync job for one link (backfill on attach, re-read after the switch is turned back on). */
  async syncLink(linkId: string): Promise<void> {
    const link = await this.deps.db.selectFrom('pagerduty_incident_links').select('pd_incident_id').where('id', '=', linkId).executeTakeFirst();
    if (!link) return;
    await this.syncPd(link.pd_incident_id);
  }
}
