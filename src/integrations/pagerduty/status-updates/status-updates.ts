import type { Db } from '../../../platform/db/index.js';
import { inTransaction } from '../../../platform/db/index.js';
import type { DomainEvent, EventBus } from '../../../platform/events.js';
import { newId, nowIso } from '../../../platform/ids.js';
import type { JobContext, JobQueue } from '../../../platform/jobs/types.js';
import type { LiveFeed } from '../../../platform/live.js';
import type { Logger } from '../../../platform/logger.js';
import type { UpdateDelivery } from '../../../incidents/updates/deliveries.js';
import { PagerDutyError } from '../client/errors.js';
import type { PagerDutyIntegration } from '../connect.js';
import '../links/tables.js';
import type { StatusUpdateSettingsStore } from './settings.js';
import { FIRST_ACCOUNT } from '../accounts.js';
import './tables.js';
import type { PagerDutyStatusUpdatesTable } from './tables.js';

// Incident updates reach PagerDuty as status updates. On `incident.update_posted` (setting on, PagerDuty connected)
// one row per linked PagerDuty incident is written with its send job in one transaction (an outbox; a redelivered
// event adds nothing, the pair being unique). The job sends only a pending row, as the bot account:
// 2xx → sent with PagerDuty's id; another 4xx → failed with PagerDuty's message, never retried (1001, resolved
// meanwhile → skipped); 429, 5xx and no answer → retried by the queue with backoff, and failed with the last message
// once the attempts are spent. PagerDuty's resolved incidents are skipped without a request, since PagerDuty refuses
// changes to them. The outcome is shown on the update through the core's update deliveries port.
// Each row is sent in the account of its link (as that account's bot); a link whose account is not connected gets none.

export const STATUS_UPDATE_SUBSCRIBER = 'pagerduty.status_updates';
export const STATUS_UPDATE_JOB = 'pagerduty.status_update';
export const STATUS_UPDATE_MAX_ATTEMPTS = 8;
/** PagerDuty's OpenAPI document gives no limit for a status update's message; longer ones are cut to this with a note. */
export const STATUS_UPDATE_MESSAGE_MAX = 25_000;

export interface StatusUpdatesDeps {
  db: Db;
  events: EventBus;
  jobs: JobQueue;
  live: LiveFeed;
  logger: Logger;
  integration: Pick<PagerDutyIntegration, 'connected'>;
  settings: StatusUpdateSettingsStore;
}

/** PagerDuty's own words from a typed client error (its envelope's message and details, without our prefix). */
export function pagerDutyWords(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.replace(/^PagerDuty [A-Z]+ \S+: (\d{3} )?/, '').slice(0, 1000);
}

export function deliveryLabel(r: Pick<PagerDutyStatusUpdatesTable, 'pd_number' | 'pd_title' | 'pd_incident_id'>): string {
  return `PagerDuty incident ${r.pd_number !== null ? `#${r.pd_number}` : r.pd_incident_id} "${r.pd_title}"`;
}

export class StatusUpdates {
  constructor(private readonly deps: StatusUpdatesDeps) {}

  /** Register before jobs start. */
  register(): void {
    this.deps.events.subscribe(STATUS_UPDATE_SUBSCRIBER, ['incident.update_posted'], (e) => this.onUpdatePosted(e));
    this.deps.jobs.define<{ id: string }>(STATUS_UPDATE_JOB, (p, ctx) => this.send(p.id, ctx), { maxAttempts: STATUS_UPDATE_MAX_ATTEMPTS });
  }

  /** Records one delivery per linked PagerDuty incident and queues its send, in one transaction. */
  async onUpdatePosted(event: DomainEvent): Promise<void> {
    const updateId = typeof event.data.updateId === 'string' ? event.data.updateId : null;
    if (!event.incidentId || !updateId) return;
    if (!(await this.deps.settings.get()).enabled) return;
    const update = await this.deps.db.selectFrom('incident_updates').select(['id', 'incident_id']).where('id', '=', updateId).executeTakeFirst();
    if (!update || update.incident_id !== event.incidentId) return;
    const incidentId = event.incidentId;
    // The accounts of the incident's links that are connected (read before the transaction: no PagerDuty call, a
    // connection row each).
    const accountIds = await this.deps.db.selectFrom('pagerduty_incident_links').select('account_id').distinct().where('incident_id', '=', incidentId).execute();
    const connected = new Set<string>();
    for (const { account_id } of accountIds) if (await this.deps.integration.connected('background', account_id ?? FIRST_ACCOUNT)) connected.add(account_id ?? FIRST_ACCOUNT);
    if (connected.size === 0) return;
    await inTransaction(this.deps.db, async (tx) => {
      // Detached links are gone; a link people said is unrelated gets nothing.
      const links = await tx
        .selectFrom('pagerduty_incident_links')
        .select(['id', 'account_id', 'pd_incident_id', 'pd_number', 'title', 'html_url', 'status', 'related'])
        .where('incident_id', '=', incidentId)
        .orderBy('created_at')
        .execute();
      const now = nowIso();
      let added = 0;
      for (const l of links) {
        if (l.related === 'rejected' || !connected.has(l.account_id ?? FIRST_ACCOUNT)) continue;
        const resolved = l.status === 'resolved';
        const id = newId();
        const inserted = await tx
          .insertInto('pagerduty_status_updates')
          .values({
            id, update_id: updateId, incident_id: incidentId, link_id: l.id, account_id: l.account_id ?? FIRST_ACCOUNT, pd_incident_id: l.pd_incident_id, pd_number: l.pd_number,
            pd_title: l.title, html_url: l.html_url, state: resolved ? 'skipped' : 'pending', pd_status_update_id: null,
            error: resolved ? 'The PagerDuty incident is resolved; PagerDuty takes no status updates on it.' : null,
            attempts: 0, sending_at: null, created_at: now, updated_at: now, sent_at: null,
          })
          .onConflict((oc) => oc.columns(['update_id', 'pd_incident_id']).doNothing())
          .returning('id')
          .executeTakeFirst();
        if (!inserted) continue;
        added++;
        if (!resolved) await this.deps.jobs.enqueue(STATUS_UPDATE_JOB, { id }, { jobKey: `pd-status-update:${id}`, queue: `pd-status-update:${l.pd_incident_id}` }, tx);
      }
      if (added > 0) await this.touch(tx, incidentId);
    });
  }

  /** Sends one recorded status update, once. Throws to have the queue retry (429, 5xx, no answer). */
  async send(id: string, ctx: JobContext): Promise<void> {
    const { db, logger } = this.deps;
    const row = await db.selectFrom('pagerduty_status_updates').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || row.state !== 'pending') return;
    const last = ctx.attempt >= ctx.maxAttempts;
    const c = await this.deps.integration.connected('background', row.account_id ?? FIRST_ACCOUNT);
    if (!c) return this.finish(row, { state: 'failed', error: 'PagerDuty is not connected.' });
    const update = await db.selectFrom('incident_updates').select(['message']).where('id', '=', row.update_id).executeTakeFirstOrThrow();
    let message = update.message;
    if (message.length > STATUS_UPDATE_MESSAGE_MAX) message = `${message.slice(0, STATUS_UPDATE_MESSAGE_MAX - 40)}… (cut; the full update is in Firebreak)`;
    // Claim the send: a row another run already sent or settled is left alone.
    const claimed = await db
      .updateTable('pagerduty_status_updates')
      .set({ attempts: row.attempts + 1, sending_at: nowIso(), updated_at: nowIso() })
      .where('id', '=', id)
      .where('state', '=', 'pending')
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) === 0) return;
    try {
      const sent = await c.client.createStatusUpdate(row.pd_incident_id, message, { from: c.settings.botUser.email, priority: 'background', signal: ctx.signal });
      await this.finish(row, { state: 'sent', pd_status_update_id: sent?.id ?? null, error: null, sent_at: nowIso() });
    } catch (err) {
      if (!(err instanceof PagerDutyError)) {
        // Not PagerDuty's answer (shutting down, a bug): retried like a missing answer; the last attempt says so.
        if (last && !ctx.signal.aborted) return this.finish(row, { state: 'failed', error: `Not sent: ${pagerDutyWords(err)}` });
        await db.updateTable('pagerduty_status_updates').set({ sending_at: null, error: pagerDutyWords(err), updated_at: nowIso() }).where('id', '=', id).where('state', '=', 'pending').execute();
        throw err;
      }
      const words = pagerDutyWords(err);
      const retryable = err.kind === 'rate_limited' || err.kind === 'server_error' || err.kind === 'network';
      if (retryable && !last) {
        logger.warn({ pd_incident: row.pd_incident_id, status: err.status, attempt: ctx.attempt }, 'PagerDuty status update not taken yet; will retry');
        await db.updateTable('pagerduty_status_updates').set({ sending_at: null, error: words, updated_at: nowIso() }).where('id', '=', id).where('state', '=', 'pending').execute();
        throw err;
      }
      if (err.code === 1001) return this.finish(row, { state: 'skipped', error: words });
      logger.warn({ pd_incident: row.pd_incident_id, status: err.status, code: err.code }, 'PagerDuty refused a status update');
      await this.finish(row, { state: 'failed', error: words });
    }
  }

  private async finish(row: PagerDutyStatusUpdatesTable, set: Partial<Pick<PagerDutyStatusUpdatesTable, 'state' | 'pd_status_update_id' | 'error' | 'sent_at'>>): Promise<void> {
    await inTransaction(this.deps.db, async (tx) => {
      const r = await tx
        .updateTable('pagerduty_status_updates')
        .set({ ...set, sending_at: null, updated_at: nowIso() })
        .where('id', '=', row.id)
        .where('state', '=', 'pending')
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) > 0) await this.touch(tx, row.incident_id);
    });
  }

  /** The page showing the incident's updates reloads when a delivery changes. */
  private async touch(tx: Parameters<LiveFeed['touch']>[0], incidentId: string): Promise<void> {
    await this.deps.live.touch(tx, { topic: 'incident', incidentId });
    await this.deps.live.touch(tx, { topic: 'timeline', incidentId });
  }

  /** The update deliveries port: each update's PagerDuty status updates, labelled with names. */
  async deliveries(updateIds: string[]): Promise<Map<string, UpdateDelivery[]>> {
    const out = new Map<string, UpdateDelivery[]>();
    for (let i = 0; i < updateIds.length; i += 500) {
      const rows = await this.deps.db
        .selectFrom('pagerduty_status_updates')
        .selectAll()
        .where('update_id', 'in', updateIds.slice(i, i + 500))
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      for (const r of rows) {
        const d: UpdateDelivery = {
          target: 'pagerduty',
          ref: r.pd_incident_id,
          label: deliveryLabel(r),
          url: r.html_url,
          state: r.state,
          message: r.state === 'sent' ? null : r.error,
          at: r.sent_at ?? r.updated_at,
        };
        out.set(r.update_id, [...(out.get(r.update_id) ?? []), d]);
      }
    }
    return out;
  }
}
