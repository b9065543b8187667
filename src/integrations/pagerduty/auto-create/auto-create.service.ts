import type { IncidentsService } from '../../../incidents/incidents.service.js';
import { addTimelineItem } from '../../../incidents/timeline.js';
import type { Db } from '../../../platform/db/index.js';
import { inTransaction } from '../../../platform/db/index.js';
import type { Actor, EventBus } from '../../../platform/events.js';
import type { Logger } from '../../../platform/logger.js';
import type { LinksService } from '../links/links.service.js';
import { label, summaryFromEvent, type PdIncidentSummary } from '../links/summary.js';
import '../links/tables.js';
import { IGNORE_MARKER } from '../catalog-source.js';
import { FIRST_ACCOUNT, pdKey } from '../accounts.js';
import { PagerDutyNotFoundError } from '../client/errors.js';
import type { PdIncidentEvent, PdIncidentEventData } from '../client/events.js';
import type { ConnectedPagerDuty } from '../connect.js';
import { TYPE, type PagerDutyDirectory } from '../directory.js';
import { AutoCreateRules, ruleMatches, type AutoCreateSettings } from './rules.js';
import { severityForPage } from './severity.js';

// Incidents opened from PagerDuty. Rules say which PagerDuty incidents open one (services: all, chosen, or by
// team; urgencies; priorities; rules.ts) and as what (triage by default, or live). A matching incident.triggered creates
// the incident once — the incidents idempotency key `pagerduty:<id>` holds across redeliveries and processes —
// named after the PagerDuty title, with the severity mapped from the PagerDuty priority or by default from its priority
// name and urgency (severity.ts), and the PagerDuty
// incident attached as its source. One that triggers while another incident already follows the same incident
// key or service (within the grouping window) is attached there for confirmation instead. A source incident
// resolved while its incident is still in triage declines it (setting, on by default).
//
// Ignored services: auto-create never acts (neither opens nor offers for grouping) on a PagerDuty incident whose
// service has `incident-io-ignore` in its description, whatever the rule (catch-all and team rules included).
// The webhook only names the service, so the description is read from PagerDuty (GET /services/{id}, reused for
// 10 s per service, so a storm costs a read per 10 s; a marker added in PagerDuty counts within those 10 s). When PagerDuty cannot say (not connected, failing, or the
// service is gone), the synced catalog decides: a live PagerDuty Service entry without the marker means not
// ignored; no live entry (sync leaves ignored services out, service.updated archives them) means ignored for a
// service PagerDuty says is gone, and a retry of the event (thrown) while PagerDuty is failing. A skipped incident
// is logged with its reason. People may still attach such an incident by hand (links.attach does not ask).

export const PD_CREATOR: Actor = { kind: 'integration', ref: 'pagerduty' };

/** Whether a PagerDuty service description carries the ignore marker (anywhere, any case). */
export const isIgnoredDescription = (d: unknown): boolean => typeof d === 'string' && d.toLowerCase().includes(IGNORE_MARKER);

export class AutoCreateService {
  private serviceCache = new Map<string, { at: number; ignored: boolean }>();
  /** How long PagerDuty's answer about a service is reused: a storm on one service reads it once per period. */
  readonly tuning = { serviceCacheMs: 10_000 };
  /** The rules and settings (routes.ts changes them). */
  readonly rules: AutoCreateRules;
  /**
   * Whether auto-decline leaves triage incidents to the two-way close setting (all-resolved/): when that is on,
   * such an incident is closed (or moved) once all its PagerDuty incidents resolve, not declined when its source does.
   */
  declineDefersTo: (() => Promise<boolean>) | null = null;

  constructor(
    private readonly deps: {
      db: Db;
      incidents: IncidentsService;
      events: EventBus;
      links: Pick<LinksService, 'insertLink' | 'notify'>;
      logger: Logger;
      /** A client for the connected account (`PagerDutyIntegration.connected`); null when not connected. */
      connected: (account?: string) => Promise<ConnectedPagerDuty | null>;
      /** The synced catalog's PagerDuty entries. */
      directory: PagerDutyDirectory;
    },
  ) {
    this.rules = new AutoCreateRules({ db: deps.db, incidents: deps.incidents, directory: deps.directory });
  }

  /**
   * Whether auto-create must leave this service alone (see the module comment for how it is decided), and
   * what decided it.
   */
  async serviceIgnored(serviceId: string, account: string = FIRST_ACCOUNT): Promise<{ ignored: boolean; decidedBy: 'pagerduty' | 'catalog'; reason?: string }> {
    // Asked of the account the service belongs to; its catalog entry is that account's (`<account>:<id>`).
    const key = pdKey(account, serviceId);
    const hit = this.serviceCache.get(key);
    if (hit && Date.now() - hit.at < this.tuning.serviceCacheMs) return { ignored: hit.ignored, decidedBy: 'pagerduty' };
    let gone = false;
    let failure: unknown = null;
    const c = await this.deps.connected(account).catch((err: unknown) => {
      failure = err;
      return null;
    });
    if (c) {
      try {
        const service = await c.client.getService(serviceId, { priority: 'interactive' });
        const ignored = isIgnoredDescription(service?.description);
        this.serviceCache.set(key, { at: Date.now(), ignored });
        if (this.serviceCache.size > 5000) this.serviceCache.delete(this.serviceCache.keys().next().value!);
        return { ignored, decidedBy: 'pagerduty' };
      } catch (err) {
        if (err instanceof PagerDutyNotFoundError) gone = true;
        else failure = err;
      }
    }
    const entry = await this.deps.directory.entry(TYPE.services, key);
    if (entry) return { ignored: isIgnoredDescription(entry.attributes.description), decidedBy: 'catalog' };
    if (failure) throw new Error(`cannot tell whether PagerDuty service ${serviceId} is marked ${IGNORE_MARKER}: PagerDuty failed (${failure instanceof Error ? failure.message : String(failure)}) and the catalog has no live entry for it; retrying`);
    return { ignored: true, decidedBy: 'catalog', reason: gone ? 'PagerDuty no longer has the service and the catalog has no live entry' : 'PagerDuty is not connected and the catalog has no live entry' };
  }

  // ---- webhooks ----

  async onIncidentEvent(ev: PdIncidentEvent): Promise<void> {
    if (ev.kind !== 'incident') return;
    // The account that delivered the event: its PagerDuty is read, its catalog entries matched, its links made.
    const account = ev.account ?? FIRST_ACCOUNT;
    if (ev.event_type === 'incident.triggered') await this.onTriggered(ev.data, account);
    else if (ev.event_type === 'incident.resolved') await this.onResolved(ev.data, account);
  }

  private async onTriggered(data: PdIncidentEventData, account: string): Promise<void> {
    const { rules, settings } = await this.rules.current();
    const s = summaryFromEvent(data);
    // Rules name catalog entries: another account's service, teams and priority are `<account>:<id>` there.
    const key = (id: string) => pdKey(account, id);
    const rule = rules.find((r) => ruleMatches(r, { serviceId: s.service ? key(s.service.id) : null, teamIds: (data.teams ?? []).map((t) => key(t.id)), urgency: s.urgency, priorityId: s.priority ? key(s.priority.id) : null }));
    if (!rule) return;
    // An escalation's own PagerDuty incident never opens another incident.
    if (data.incident_key?.startsWith('firebreak-escalation-')) return;
    // Nothing opened or offered for a service marked incident-io-ignore, whichever rule matched.
    if (s.service) {
      const svc = await this.serviceIgnored(s.service.id, account);
      if (svc.ignored) {
        this.deps.logger.info(
          { pagerduty: s.id, service: s.service.id, rule: rule.id, reason: 'service_ignored', decided_by: svc.decidedBy, ...(svc.reason ? { detail: svc.reason } : {}) },
          `PagerDuty incident ${label(s)} not opened by rule "${rule.name}": its service is marked ${IGNORE_MARKER}${svc.reason ? ` (${svc.reason})` : ''}`,
        );
        return;
      }
    }
    const idempotencyKey = `pagerduty:${key(s.id)}`;
    const already = await this.deps.db.selectFrom('incidents').select('id').where('idempotency_key', '=', idempotencyKey).executeTakeFirst();
    if (!already) {
      const grouped = await this.groupInto(s, settings, account);
      if (grouped) {
        await this.deps.links.insertLink(grouped, s, 'grouped', PD_CREATOR, undefined, account);
        this.deps.logger.info({ pagerduty: s.id, incident: grouped }, 'PagerDuty incident offered for attachment to an open incident instead of opening one');
        return;
      }
    }
    const chosen = severityForPage(await this.deps.incidents.listSeverities(), settings.severityMap, { priority: s.priority, urgency: s.urgency });
    const severityId = chosen.severity?.id;
    const { incident, created } = await this.deps.incidents.createIncident(
      { name: s.title.slice(0, 200) || label(s), summary: `Opened from ${label(s)}${s.service ? ` on ${s.service.name}` : ''}.${s.htmlUrl ? ` ${s.htmlUrl}` : ''}`, severityId, triage: rule.createAs === 'triage', idempotencyKey, source: 'pagerduty' },
      PD_CREATOR,
    );
    const { link } = await this.deps.links.insertLink(incident.id, s, 'source', PD_CREATOR, undefined, account);
    if (created) await this.deps.links.notify({ type: 'auto_created', incidentId: incident.id, linkId: link.id, pagerduty: s }, `auto-created:${incident.id}`);
  }

  /** An open incident already following this incident key or service within the grouping window. */
  private async groupInto(s: PdIncidentSummary, settings: AutoCreateSettings, account: string): Promise<string | null> {
    if (settings.groupingWindowMinutes <= 0) return null;
    const since = new Date(Date.now() - settings.groupingWindowMinutes * 60_000).toISOString();
    let q = this.deps.db
      .selectFrom('pagerduty_incident_links as l')
      .innerJoin('incidents as i', 'i.id', 'l.incident_id')
      .innerJoin('incident_statuses as st', 'st.id', 'i.status_id')
      .select('l.incident_id')
      .where('st.category', 'in', ['triage', 'live'])
      .where('l.created_at', '>=', since)
      .where('l.account_id', '=', account)
      .where('l.pd_incident_id', '!=', s.id);
    q = q.where((eb) => {
      const ors = [];
      if (s.incidentKey) ors.push(eb('l.incident_key', '=', s.incidentKey));
      if (s.service) ors.push(eb('l.service_id', '=', s.service.id));
      return ors.length ? eb.or(ors) : eb.val(false);
    });
    const row = await q.orderBy('l.created_at', 'desc').limit(1).executeTakeFirst();
    return row?.incident_id ?? null;
  }

  private async onResolved(data: PdIncidentEventData, account: string): Promise<void> {
    const { settings } = await this.rules.current();
    if (!settings.autoDeclineOnResolve) return;
    if (this.declineDefersTo && (await this.declineDefersTo())) return;
    const sources = await this.deps.db.selectFrom('pagerduty_incident_links').select(['incident_id']).where('pd_incident_id', '=', data.id).where('account_id', '=', account).where('reason', '=', 'source').execute();
    for (const src of sources) {
      const inc = await this.deps.incidents.getIncident(src.incident_id);
      if (inc.status.category !== 'triage') continue;
      const reason = `${label({ number: data.number ?? null })} was resolved in PagerDuty before anyone accepted this incident`;
      await this.deps.incidents.decline(inc.id, { reason }, PD_CREATOR).catch((err) => this.deps.logger.warn({ err, incident: inc.id }, 'could not decline the triage incident'));
      await inTransaction(this.deps.db, async (tx) => {
        await addTimelineItem(tx, this.deps.events, {
          incidentId: inc.id,
          kind: 'pagerduty.auto_declined',
          actor: PD_CREATOR,
          dedupeKey: `pd-auto-decline:${data.id}`,
          payload: { pagerdutyIncidentId: data.id, text: `Declined automatically: ${reason}.` },
        });
      });
    }
  }
}
