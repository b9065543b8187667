import { addTimelineItem } from '../../../incidents/timeline.js';
import type { Db, DbDialect, Executor } from '../../../platform/db/index.js';
import { inTransaction } from '../../../platform/db/index.js';
import { forUpdate } from '../../../platform/db/locks.js';
import type { EventBus } from '../../../platform/events.js';
import { nowIso } from '../../../platform/ids.js';
import type { JobQueue } from '../../../platform/jobs/types.js';
import type { PdWebhookEvent } from '../client/events.js';
import type { PdIncident } from '../client/wire.js';
import type { PagerDutyIntegration } from '../connect.js';
import type { WebhookSecretStore } from '../webhooks/secrets.js';
import { mergePeople, PAGERDUTY_ACTOR, parsePeople, personOf, type EscalationTuning, type PersonAt } from './model.js';
import type { EscalationStore } from './store.js';
import type { PagerDutyEscalationTargetsTable, TargetStatus } from './tables.js';

// Following each target's PagerDuty incident once it exists: who PagerDuty paged and who acknowledged, and its
// status, from three sources: the create response, webhooks (the webhooks module hands every applied incident
// event to `onWebhookEvent`), and reads of the incident and its log (once after creation; again and again,
// backing off, while no webhook subscription exists). Each status change writes the target's timeline item.

export const REFRESH_JOB = 'pagerduty.escalation.refresh';

const STATUS_RANK: Record<TargetStatus, number> = { pending: 0, failed: 0, triggered: 1, acknowledged: 2, resolved: 3 };
/** Webhook events that say who PagerDuty assigned the incident to. */
const ASSIGNING_EVENTS = ['incident.triggered', 'incident.reassigned', 'incident.escalated', 'incident.delegated'];

/** Whether a status reported at `at` is older than the one applied at `applied`; `forward`: it moves the status on. */
function isStale(at: string, applied: string, forward: boolean): boolean {
  const t = Date.parse(at);
  const prev = Date.parse(applied);
  if (!(t < prev)) return false;
  const toTheSecond = !/\.\d+/.test(at);
  return !(toTheSecond && t + 999 >= prev && forward);
}

export interface FollowDeps {
  db: Db;
  dialect: DbDialect;
  events: EventBus;
  jobs: JobQueue;
  integration: PagerDutyIntegration;
  webhooks: WebhookSecretStore;
  store: EscalationStore;
  tuning: EscalationTuning;
}

export class Follower {
  constructor(private readonly deps: FollowDeps) {}

  private get tuning(): EscalationTuning {
    return this.deps.tuning;
  }

  /** The webhooks module's subscriber: an incident event about a target's PagerDuty incident updates the target. */
  async onWebhookEvent(ev: PdWebhookEvent): Promise<string | void> {
    if (ev.kind !== 'incident') return;
    const data = ev.data;
    const target = await this.deps.store.findTarget(data.id, data.incident_key ?? null, ev.account);
    if (!target) return;
    const at = ev.occurred_at;
    const paged: PersonAt[] = ASSIGNING_EVENTS.includes(ev.event_type) ? (data.assignees ?? []).map((a) => ({ id: a.id, name: a.summary ?? a.id, at })) : [];
    const acknowledgedBy: PersonAt[] = ev.event_type === 'incident.acknowledged' && ev.agent?.id && ev.agent.type?.startsWith('user') ? [{ id: ev.agent.id, name: ev.agent.summary ?? ev.agent.id, at }] : [];
    await this.applyUpdate(target.id, {
      pdIncident: { id: data.id, number: data.number ?? null, htmlUrl: data.html_url ?? null },
      status: data.status ?? undefined,
      statusAt: at,
      paged,
      acknowledgedBy,
      eventId: ev.id,
    });
    return 'escalation_updated';
  }

  /** The paging worker created (or found) the target's PagerDuty incident: record it and start following it. */
  async recordCreated(row: PagerDutyEscalationTargetsTable, inc: PdIncident): Promise<void> {
    const at = inc.created_at ?? nowIso();
    await this.applyUpdate(row.id, {
      pdIncident: { id: inc.id, number: inc.incident_number ?? null, htmlUrl: inc.html_url ?? null },
      status: inc.status,
      statusAt: inc.last_status_change_at ?? at,
      paged: (inc.assignments ?? []).map((a) => personOf(a.assignee, a.at ?? at)).filter((p): p is PersonAt => !!p),
      acknowledgedBy: (inc.acknowledgements ?? []).map((a) => personOf(a.acknowledger, a.at ?? at)).filter((p): p is PersonAt => !!p),
    });
    // Learn who was notified (and, without webhooks, keep polling until it is resolved).
    const poll = !(await this.deps.webhooks.forAccount(row.account_id ?? 'default').configured());
    await this.deps.jobs.enqueue(REFRESH_JOB, { targetId: row.id, poll, step: 0 }, { jobKey: `pd-refresh:${row.id}:0`, delayMs: poll ? this.tuning.pollBaseMs : 1000, priority: 5 });
  }

  /**
   * Applies what PagerDuty says about a target's incident (create response, webhook, poll). Statuses older than
   * the last one applied are ignored, so events applied late never move a target backwards.
   */
  async applyUpdate(
    targetId: string,
    u: { pdIncident?: { id: string; number: number | null; htmlUrl: string | null }; status?: string; statusAt?: string; paged?: PersonAt[]; acknowledgedBy?: PersonAt[]; eventId?: string },
    db: Executor = this.deps.db,
  ): Promise<boolean> {
    return inTransaction(db, async (tx) => {
      const row = await forUpdate(tx.selectFrom('pagerduty_escalation_targets').selectAll().where('id', '=', targetId), this.deps.dialect).executeTakeFirst();
      if (!row) return false;
      const esc = await tx.selectFrom('pagerduty_escalations').select(['id', 'incident_id']).where('id', '=', row.escalation_id).executeTakeFirstOrThrow();
      const now = nowIso();
      const set: Partial<PagerDutyEscalationTargetsTable> = {};
      const items: { kind: string; key: string; text: string; at: string; extra?: Record<string, unknown> }[] = [];
      const firstTime = !!u.pdIncident && !row.pd_incident_id;
      if (firstTime) {
        Object.assign(set, { pd_incident_id: u.pdIncident!.id, pd_incident_number: u.pdIncident!.number, pd_html_url: u.pdIncident!.htmlUrl, lease_until: null, error: null, failed_at: null });
      }
      u = { ...u, paged: mergePeople([], u.paged ?? []), acknowledgedBy: mergePeople([], u.acknowledgedBy ?? []) };
      const paged = mergePeople(parsePeople(row.paged), u.paged ?? []);
      if (paged.length !== parsePeople(row.paged).length) set.paged = JSON.stringify(paged);
      const acks = mergePeople(parsePeople(row.acknowledged_by), u.acknowledgedBy ?? []);
      if (acks.length !== parsePeople(row.acknowledged_by).length) set.acknowledged_by = JSON.stringify(acks);

      const hasIncident = firstTime || !!row.pd_incident_id;
      const next = u.status as TargetStatus | undefined;
      const valid = next === 'triggered' || next === 'acknowledged' || next === 'resolved';
      // PagerDuty's times come with and without milliseconds (REST reads to the second, webhooks to the
      // millisecond): compare instants, not strings, and a time given to the second may be anywhere in that second.
      // Within that doubt a status only moves forward (triggered → acknowledged → resolved), and the time kept
      // never goes back, so a late event from before cannot undo it.
      const stale = !!(u.statusAt && row.status_event_at && isStale(u.statusAt, row.status_event_at, valid ? STATUS_RANK[next] > STATUS_RANK[row.status] : false));
      const keptAt = u.statusAt && row.status_event_at && Date.parse(u.statusAt) < Date.parse(row.status_event_at) ? row.status_event_at : u.statusAt;
      let status = row.status;
      if (hasIncident && valid && !stale && next !== row.status) {
        status = next;
        set.status = next;
        set.status_event_at = keptAt ?? now;
      } else if (hasIncident && valid && !stale && keptAt && keptAt !== row.status_event_at) set.status_event_at = keptAt;
      if (hasIncident && (row.status === 'pending' || row.status === 'failed') && status === row.status) {
        status = 'triggered';
        set.status = 'triggered';
      }
      const number = u.pdIncident?.number ?? row.pd_incident_number;
      const label = `PagerDuty incident${number ? ` #${number}` : ''}`;
      if (STATUS_RANK[status] >= 1 && !row.triggered_at) {
        set.triggered_at = u.statusAt && status === 'triggered' ? u.statusAt : now;
        const who = paged.length ? ` (paging ${paged.map((p) => p.name).join(', ')})` : '';
        items.push({ kind: 'pagerduty.escalation_triggered', key: 'triggered', at: set.triggered_at, text: `${label} triggered for ${row.target_name}${who}` });
      }
      if (status === 'acknowledged' && row.status !== 'acknowledged') {
        set.acknowledged_at = u.statusAt ?? now;
        const by = (u.acknowledgedBy?.length ? u.acknowledgedBy : acks).map((p) => p.name);
        items.push({ kind: 'pagerduty.escalation_acknowledged', key: `acknowledged:${u.eventId ?? set.acknowledged_at}`, at: set.acknowledged_at, text: `${row.target_name}: ${label} acknowledged${by.length ? ` by ${by.join(', ')}` : ''}`, extra: { by } });
      }
      if (status === 'resolved' && row.status !== 'resolved') {
        set.resolved_at = u.statusAt ?? now;
        items.push({ kind: 'pagerduty.escalation_resolved', key: 'resolved', at: set.resolved_at, text: `${row.target_name}: ${label} resolved` });
      }
      if (Object.keys(set).length === 0) return false;
      await tx.updateTable('pagerduty_escalation_targets').set({ ...set, updated_at: now }).where('id', '=', row.id).execute();
      for (const it of items) {
        await addTimelineItem(tx, this.deps.events, {
          incidentId: esc.incident_id,
          kind: it.kind,
          actor: PAGERDUTY_ACTOR,
          occurredAt: it.at,
          dedupeKey: `pd-target:${row.id}:${it.key}`,
          payload: { escalationId: esc.id, targetId: row.id, target: row.target_name, pagerdutyIncidentId: u.pdIncident?.id ?? row.pd_incident_id, text: it.text, ...it.extra },
        });
      }
      await tx.updateTable('pagerduty_escalations').set({ updated_at: now }).where('id', '=', esc.id).execute();
      await this.deps.store.changed(esc.id, tx);
      return true;
    });
  }

  /** Reads the PagerDuty incident and its log (who was notified, who acknowledged); polls again while open without webhooks. */
  async refresh(targetId: string, poll: boolean, step: number): Promise<void> {
    const row = await this.deps.db.selectFrom('pagerduty_escalation_targets').selectAll().where('id', '=', targetId).executeTakeFirst();
    if (!row?.pd_incident_id) return;
    const c = await this.deps.integration.connected('interactive', row.account_id ?? 'default');
    if (!c) return;
    const inc = await c.client.getIncident(row.pd_incident_id, { priority: 'background' });
    const entries = await c.client.listLogEntries(row.pd_incident_id, { priority: 'background' });
    const notified = entries.filter((e) => e.type === 'notify_log_entry').map((e) => personOf(e.user, e.created_at)).filter((p): p is PersonAt => !!p);
    const acks = entries.filter((e) => e.type === 'acknowledge_log_entry').map((e) => personOf(e.agent, e.created_at)).filter((p): p is PersonAt => !!p);
    await this.applyUpdate(targetId, {
      pdIncident: { id: inc.id, number: inc.incident_number ?? null, htmlUrl: inc.html_url ?? null },
      status: inc.status,
      statusAt: inc.last_status_change_at,
      paged: [...(inc.assignments ?? []).map((a) => personOf(a.assignee, a.at)).filter((p): p is PersonAt => !!p), ...notified],
      acknowledgedBy: [...(inc.acknowledgements ?? []).map((a) => personOf(a.acknowledger, a.at)).filter((p): p is PersonAt => !!p), ...acks],
    });
    if (!poll || inc.status === 'resolved' || (await this.deps.webhooks.forAccount(row.account_id ?? 'default').configured())) return;
    const created = Date.parse(row.created_at);
    if (Date.now() - created > 7 * 86_400_000) return; // a week: stop following
    const delay = Math.min(this.tuning.pollCapMs, this.tuning.pollBaseMs * 2 ** (step + 1));
    await this.deps.jobs.enqueue(REFRESH_JOB, { targetId, poll: true, step: step + 1 }, { jobKey: `pd-refresh:${targetId}:${step + 1}`, delayMs: delay, priority: 5 });
  }}
