import type { Db, Executor } from '../../../platform/db/index.js';
import { NotFoundError } from '../../../platform/errors.js';
import type { IncidentsService } from '../../../incidents/incidents.service.js';
import { escalationFromRows, type Escalation, type EscalationListener, type EscalationLookup, type EscalationTarget } from './model.js';
import type { PagerDutyResponderRequestsTable, PagerDutyRespondersTable } from './tables.js';

// Reading escalations, and the change notification every writer sends in its transaction. The one place that
// turns the escalation tables into `Escalation`s; also what links and auto-acknowledgement ask (`targetFor`).

export class EscalationStore implements EscalationLookup {
  private readonly listeners: EscalationListener[] = [];
  /** Set by setupEscalations: the follower's update (the one writer of a target's status). */
  applyStatus: ((targetId: string, u: { status: string; statusAt: string; acknowledgedBy?: { id: string; name: string; at: string }[] }, db?: Executor) => Promise<boolean>) | null = null;

  constructor(private readonly deps: { db: Db; incidents: IncidentsService }) {}

  onChange(listener: EscalationListener): void {
    this.listeners.push(listener);
  }

  /**
   * Every writer calls this in the transaction that changed the escalation. A writer that holds the whole
   * escalation as it now stands (the escalate use case, which has just written every row) passes it as `current`:
   * listeners that `get` it in this transaction are then answered without reading it back.
   */
  async changed(escalationId: string, tx: Executor, current?: Escalation): Promise<void> {
    if (current) this.current.set(tx, current);
    try {
      for (const l of this.listeners) await l(escalationId, tx);
    } finally {
      if (current) this.current.delete(tx);
    }
  }

  /** Escalations handed to `changed` by the writer, while its listeners run, by transaction. */
  private readonly current = new WeakMap<Executor, Escalation>();

  /** For a listener: the escalation as its writer handed it to `changed` in this transaction, or null (then read it). */
  known(id: string, tx: Executor): Escalation | null {
    const e = this.current.get(tx);
    return e?.id === id ? e : null;
  }

  async get(id: string, db: Executor = this.deps.db): Promise<Escalation> {
    const known = this.known(id, db);
    if (known) return structuredClone(known);
    const e = await db.selectFrom('pagerduty_escalations').selectAll().where('id', '=', id).executeTakeFirst();
    if (!e) throw new NotFoundError('Escalation', id);
    const [targets, requests] = await Promise.all([
      db.selectFrom('pagerduty_escalation_targets').selectAll().where('escalation_id', '=', id).execute(),
      this.requestsOf([id], db),
    ]);
    return escalationFromRows(e, targets, requests.get(id));
  }

  /** Add-responders requests and their responders, by escalation (two queries for any number of escalations). */
  private async requestsOf(ids: string[], db: Executor): Promise<Map<string, { row: PagerDutyResponderRequestsTable; responders: PagerDutyRespondersTable[] }>> {
    const out = new Map<string, { row: PagerDutyResponderRequestsTable; responders: PagerDutyRespondersTable[] }>();
    if (ids.length === 0) return out;
    const rows = await db.selectFrom('pagerduty_responder_requests').selectAll().where('escalation_id', 'in', ids).execute();
    if (rows.length === 0) return out;
    const people = await db.selectFrom('pagerduty_responders').selectAll().where('escalation_id', 'in', rows.map((r) => r.escalation_id)).execute();
    for (const r of rows) out.set(r.escalation_id, { row: r, responders: people.filter((p) => p.escalation_id === r.escalation_id) });
    return out;
  }

  async listForIncident(idOrRef: string): Promise<Escalation[]> {
    const incidentId = await this.deps.incidents.findIncidentId(idOrRef);
    const rows = await this.deps.db.selectFrom('pagerduty_escalations').selectAll().where('incident_id', '=', incidentId).orderBy('id', 'desc').execute();
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const [targets, requests] = await Promise.all([this.deps.db.selectFrom('pagerduty_escalation_targets').selectAll().where('escalation_id', 'in', ids).execute(), this.requestsOf(ids, this.deps.db)]);
    return rows.map((r) => escalationFromRows(r, targets.filter((t) => t.escalation_id === r.id), requests.get(r.id)));
  }

  async byIdempotencyKey(key: string): Promise<Escalation | null> {
    const row = await this.deps.db.selectFrom('pagerduty_escalations').select('id').where('idempotency_key', '=', key).executeTakeFirst();
    return row ? this.get(row.id) : null;
  }

  async setSlackMessage(escalationId: string, channelId: string, ts: string): Promise<void> {
    await this.deps.db.updateTable('pagerduty_escalations').set({ slack_channel_id: channelId, slack_message_ts: ts }).where('id', '=', escalationId).execute();
  }

  /** The target following a PagerDuty incident, by its id or our incident key. */
  /** `account`: only a target paged in that account (PagerDuty ids are unique within an account, not across them). */
  async findTarget(pdIncidentId: string, incidentKey: string | null, account?: string): Promise<{ id: string; escalationId: string } | null> {
    let q = this.deps.db.selectFrom('pagerduty_escalation_targets').select(['id', 'escalation_id']).where('pd_incident_id', '=', pdIncidentId);
    if (account) q = q.where('account_id', '=', account);
    const byId = await q.executeTakeFirst();
    if (byId) return { id: byId.id, escalationId: byId.escalation_id };
    if (!incidentKey?.startsWith('firebreak-escalation-')) return null;
    const byKey = await this.deps.db.selectFrom('pagerduty_escalation_targets').select(['id', 'escalation_id']).where('incident_key', '=', incidentKey).executeTakeFirst();
    return byKey ? { id: byKey.id, escalationId: byKey.escalation_id } : null;
  }

  async statusChanged(pdIncidentId: string, status: 'acknowledged' | 'resolved', by: { id: string; name: string } | null, db: Executor = this.deps.db): Promise<void> {
    const row = await db.selectFrom('pagerduty_escalation_targets').select('id').where('pd_incident_id', '=', pdIncidentId).executeTakeFirst();
    if (!row || !this.applyStatus) return;
    const at = new Date().toISOString();
    await this.applyStatus(row.id, { status, statusAt: at, acknowledgedBy: status === 'acknowledged' && by ? [{ ...by, at }] : [] }, db);
  }

  async targetFor(pdIncidentId: string, incidentKey: string | null, account?: string): Promise<{ escalation: Escalation; target: EscalationTarget } | null> {
    const found = await this.findTarget(pdIncidentId, incidentKey, account);
    if (!found) return null;
    const escalation = await this.get(found.escalationId);
    const target = escalation.targets.find((t) => t.id === found.id);
    return target ? { escalation, target } : null;
  }
}
