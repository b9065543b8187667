import { addTimelineItem } from '../../../incidents/timeline.js';
import type { IncidentsService } from '../../../incidents/incidents.service.js';
import type { Db } from '../../../platform/db/index.js';
import { inTransaction } from '../../../platform/db/index.js';
import type { EventBus } from '../../../platform/events.js';
import { nowIso } from '../../../platform/ids.js';
import type { JobQueue } from '../../../platform/jobs/types.js';
import type { Logger } from '../../../platform/logger.js';
import { PagerDutyError } from '../client/errors.js';
import type { PdIncidentCreate } from '../client/wire.js';
import type { ConnectedPagerDuty, PagerDutyIntegration } from '../connect.js';
import type { Follower } from './follow.js';
import { FIRST_ACCOUNT, splitPdKey } from '../accounts.js';
import { PAGERDUTY_ACTOR, type EscalationTuning } from './model.js';
import type { EscalationStore } from './store.js';
import type { PagerDutyEscalationTargetsTable, PagerDutyEscalationsTable } from './tables.js';

// The paging worker: creates one target's PagerDuty incident, exactly once. The job that pages a target has an
// idempotency key that is also the PagerDuty `incident_key`: a retry looks the incident up by that key before
// creating it again, and PagerDuty itself refuses a second open incident with the key, so nobody is paged twice.
// The person's own PagerDuty account is the `From`; when PagerDuty refuses it, the bot account pages instead.
//
// Targets are paged concurrently: the jobs are recorded in the escalation's transaction, and the process that
// took the request starts every target at once instead of waiting for free job slots. A lease on the target
// row makes sure one worker at a time talks to PagerDuty for it; the job is the safety net when that fails.
//
// Crashes: a worker renews its lease while it pages, so a live worker (however long PagerDuty's 429s make it
// wait) is never taken over, and a dead one is after `leaseMs`. A job that finds the target held does not spend
// an attempt: it queues its own follow-up for the moment the lease runs out, so no lease outlives the jobs
// waiting on it. A sweep re-queues any pending target nobody has touched for two leases (a job lost or dead).

export const PAGE_JOB = 'pagerduty.escalation.page';
export const SWEEP_JOB = 'pagerduty.escalation.sweep';
export const SWEEP_SCHEDULE = 'pagerduty.escalation.sweep';
export const PAGE_PRIORITY = -10;
/** The jobs wait this long, so the request's own paging (which starts at once) normally leaves them nothing to do. */
export const JOB_GRACE_MS = 2000;

/** Tests: thrown where `tuning.faults.crash` asks paging to stop as a killed process would. */
export class SimulatedCrash extends Error {}

export interface PagingDeps {
  db: Db;
  incidents: IncidentsService;
  events: EventBus;
  jobs: JobQueue;
  logger: Logger;
  integration: PagerDutyIntegration;
  store: EscalationStore;
  follow: Follower;
  publicUrl: () => string;
  tuning: EscalationTuning;
}

/** Targets recorded held by this process (`leaseForNewTargets`), with what paging them needs. */
export interface HeldTargets {
  rows: PagerDutyEscalationTargetsTable[];
  context: PagingContext;
}

export interface PagingContext {
  pd: ConnectedPagerDuty | null;
  esc: PagerDutyEscalationsTable;
  incident: { reference: string; name: string; slackChannelId: string | null };
}

/** PagerDuty's reason, without our request prefix ("PagerDuty POST /incidents: "). */
function reasonOf(err: PagerDutyError): string {
  const m = /^PagerDuty \S+ \S+: (.*)$/s.exec(err.message);
  const text = m?.[1] ?? err.message;
  switch (err.kind) {
    case 'read_only_key':
      return `PagerDuty refused to create the incident: the connected API key is read-only (${text}). An admin must reconnect PagerDuty with a full-access key.`;
    case 'invalid_key':
      return 'PagerDuty rejected the connected API key (401). An admin must reconnect PagerDuty.';
    case 'rate_limited':
      return `PagerDuty kept answering 429 Rate Limit Exceeded; gave up after several waits (${text}).`;
    case 'payment_required':
      return `PagerDuty's plan for this account does not allow this (${text}).`;
    default:
      return `PagerDuty refused the incident: ${text}`;
  }
}

export class PagingWorker {
  /** Fast-path pages still running in this process (shutdown and tests wait for them). */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: PagingDeps) {}

  private get tuning(): EscalationTuning {
    return this.deps.tuning;
  }

  /**
   * Starts paging in this process right away, every target at once, with what they share (client, escalation,
   * incident) read once. The queued jobs (due a little later) finish whatever this does not.
   */
  startPaging(targetIds: string[], held?: HeldTargets): void {
    if (targetIds.length === 0) return;
    const p = this.pageMany(targetIds, held)
      .catch((err) => this.deps.logger.warn({ targets: targetIds, error: (err as Error).message }, 'paging failed; the jobs will retry'))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async pageMany(targetIds: string[], held?: HeldTargets): Promise<void> {
    // Targets recorded already held by this process (see `leaseForNewTargets`) need no claim nor reading back.
    const rows = held ? held.rows.filter((r) => targetIds.includes(r.id)) : await this.claim(targetIds);
    if (rows.length === 0) return;
    const ctx = held?.context ?? (await this.loadContext(rows[0]!.escalation_id));
    await Promise.all(
      rows.map(async (row) => {
        try {
          await this.pageHeld(row, ctx);
        } catch (err) {
          if (err instanceof SimulatedCrash) return;
          await this.release(row.id);
          this.deps.logger.warn({ target: row.id, error: (err as Error).message }, 'paging a target failed; its job will retry');
        }
      }),
    );
  }

  /**
   * The claim a target gets when it is recorded by the process that will page it at once: the lease and the first
   * attempt, written in the escalation's own transaction, so paging starts at commit without a claim of its own.
   * A crash after commit leaves the target held until the lease runs out, then its job pages it (as a crash after
   * a claim always has).
   */
  leaseForNewTargets(): { lease_until: string; attempts: number } {
    return { lease_until: new Date(Date.now() + this.tuning.leaseMs).toISOString(), attempts: 1 };
  }

  /** Waits for paging started in this process (tests, benchmarks, shutdown). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Takes the targets that are pending and not held by another worker; returns the ones taken. */
  private async claim(targetIds: string[]): Promise<PagerDutyEscalationTargetsTable[]> {
    const nowMs = Date.now();
    return this.deps.db
      .updateTable('pagerduty_escalation_targets')
      .set((eb) => ({ lease_until: new Date(nowMs + this.tuning.leaseMs).toISOString(), attempts: eb('attempts', '+', 1), updated_at: nowIso() }))
      .where('id', 'in', targetIds)
      .where('status', '=', 'pending')
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', new Date(nowMs).toISOString())]))
      .returningAll()
      .execute();
  }

  /** Pages a claimed target, renewing its lease while PagerDuty is being talked to. */
  private async pageHeld(row: PagerDutyEscalationTargetsTable, ctx: PagingContext): Promise<void> {
    const renew = setInterval(() => {
      // Only this claim's lease (attempts fences it): a lease taken over after a stall is not extended.
      this.deps.db
        .updateTable('pagerduty_escalation_targets')
        .set({ lease_until: new Date(Date.now() + this.tuning.leaseMs).toISOString() })
        .where('id', '=', row.id)
        .where('status', '=', 'pending')
        .where('attempts', '=', row.attempts)
        .where('lease_until', 'is not', null)
        .execute()
        .catch((err: unknown) => this.deps.logger.warn({ target: row.id, error: (err as Error).message }, 'could not renew the paging lease'));
    }, Math.max(200, Math.floor(this.tuning.leaseMs / 3)));
    renew.unref();
    try {
      await this.page(row, ctx);
    } finally {
      clearInterval(renew);
    }
  }

  private async release(targetId: string): Promise<void> {
    await this.deps.db.updateTable('pagerduty_escalation_targets').set({ lease_until: null }).where('id', '=', targetId).where('status', '=', 'pending').execute();
  }

  private async loadContext(escalationId: string): Promise<PagingContext> {
    const [c, esc] = await Promise.all([this.deps.integration.connected(), this.deps.db.selectFrom('pagerduty_escalations').selectAll().where('id', '=', escalationId).executeTakeFirstOrThrow()]);
    const incident = await this.deps.incidents.getIncidentHeader(esc.incident_id);
    return { pd: c, esc, incident: { reference: incident.reference, name: incident.name, slackChannelId: incident.slackChannelId } };
  }

  /**
   * The job: pages one target unless it is done. When another worker holds it, the job spends no attempt: it
   * queues a follow-up for when that lease runs out (a live worker renews it; a dead one does not).
   */
  async pageTarget(targetId: string, job?: { attempt: number; maxAttempts: number }): Promise<void> {
    const [claimed] = await this.claim([targetId]);
    if (!claimed) {
      const row = await this.deps.db.selectFrom('pagerduty_escalation_targets').select(['status', 'lease_until', 'retries']).where('id', '=', targetId).executeTakeFirst();
      if (!row || row.status !== 'pending' || !job) return;
      const until = Math.max(Date.now(), row.lease_until ? Date.parse(row.lease_until) : 0);
      await this.deps.jobs.enqueue(PAGE_JOB, { targetId }, { jobKey: `pd-page:${targetId}:${row.retries}:after:${until}`, runAt: new Date(until + 250), priority: PAGE_PRIORITY, maxAttempts: 6 });
      return;
    }
    try {
      await this.pageHeld(claimed, await this.loadContext(claimed.escalation_id));
    } catch (err) {
      if (err instanceof SimulatedCrash) throw err;
      await this.release(targetId);
      if (job && job.attempt >= job.maxAttempts) {
        await this.markFailed(claimed, `Could not reach PagerDuty after ${job.attempt} attempts: ${(err as Error).message}`);
        return;
      }
      throw err;
    }
  }

  private async page(row: PagerDutyEscalationTargetsTable, ctx: PagingContext): Promise<void> {
    // A target is paged in its own account (its catalog entry's): that account's key, bot and ids.
    const account = row.account_id ?? FIRST_ACCOUNT;
    const c = (ctx.pd?.account ?? FIRST_ACCOUNT) === account && ctx.pd ? ctx.pd : await this.deps.integration.connected('interactive', account);
    const pdId = (key: string) => splitPdKey(key).id;
    const priority = ctx.esc.priority_id && splitPdKey(ctx.esc.priority_id).account === account ? pdId(ctx.esc.priority_id) : null;
    if (!c) return this.markFailed(row, 'PagerDuty is not connected any more. An admin can connect it in Settings → Integrations → PagerDuty.');
    if (!row.service_id) return this.markFailed(row, 'No PagerDuty service to page through.');
    if (this.tuning.faults.crash?.(row.id, 'before_create')) throw new SimulatedCrash(`simulated crash before creating ${row.id}`);
    // A previous attempt may have created the incident and died before recording it.
    if (Number(row.attempts) > 1) {
      const found = await c.client.findByIncidentKey(row.incident_key, { priority: 'interactive' });
      if (found) return this.deps.follow.recordCreated(row, found);
    }
    const { esc, incident } = ctx;
    const base = this.deps.publicUrl().replace(/\/$/, '');
    const details = [
      esc.message,
      '',
      `Requested by ${esc.requester_name} in Firebreak.`,
      `Incident: ${base}/incidents/${incident.reference}`,
      ...(incident.slackChannelId ? [`Slack channel: https://slack.com/app_redirect?channel=${incident.slackChannelId}`] : []),
    ].join('\n');
    const incidentBody: PdIncidentCreate = {
      type: 'incident',
      title: `[${incident.reference}] ${incident.name}`.slice(0, 1024),
      service: { id: pdId(row.service_id), type: 'service_reference' },
      urgency: esc.urgency,
      incident_key: row.incident_key,
      body: { type: 'incident_body', details },
      ...(priority ? { priority: { id: priority, type: 'priority_reference' as const } } : {}),
      ...(row.kind === 'escalation_policy'
        ? { escalation_policy: { id: pdId(row.target_id), type: 'escalation_policy_reference' as const } }
        : { assignments: [{ assignee: { id: pdId(row.target_id), type: 'user_reference' as const } }] }),
    };
    let from = row.from_email ?? c.settings.botUser.email;
    for (;;) {
      try {
        const created = await c.client.createIncident(incidentBody, { from, priority: 'interactive' });
        await this.tuning.faults.afterCreate?.(row.id);
        if (this.tuning.faults.crash?.(row.id, 'after_create')) throw new SimulatedCrash(`simulated crash after creating ${row.id}`);
        return await this.deps.follow.recordCreated({ ...row, from_email: from }, created);
      } catch (err) {
        if (!(err instanceof PagerDutyError)) throw err;
        // PagerDuty refuses writes made as a read-only, observer or restricted user (403): page as the bot. A
        // read-only key is refused again as the bot, and that refusal is the one recorded.
        if (err.status === 403 && from !== c.settings.botUser.email) {
          from = c.settings.botUser.email;
          await this.deps.db.updateTable('pagerduty_escalation_targets').set({ from_email: from }).where('id', '=', row.id).execute();
          continue;
        }
        if (err.kind === 'bad_request' && err.status === 400) {
          // PagerDuty refuses a second open incident with our key: the first one exists, record it.
          const found = await c.client.findByIncidentKey(row.incident_key, { priority: 'interactive' }).catch(() => null);
          if (found) return this.deps.follow.recordCreated(row, found);
          // The person's PagerDuty user may have gone since the escalation was recorded: page as the bot.
          if ((err.code === 1008 || /From|Requester/i.test(err.message)) && from !== c.settings.botUser.email) {
            from = c.settings.botUser.email;
            await this.deps.db.updateTable('pagerduty_escalation_targets').set({ from_email: from }).where('id', '=', row.id).execute();
            continue;
          }
        }
        if (err.kind === 'network' || err.kind === 'server_error') throw err;
        return this.markFailed(row, reasonOf(err));
      }
    }
  }

  /**
   * The sweep (a schedule): a pending target nobody has claimed for two leases has lost its jobs (dead, or never
   * committed by a queue that failed); queue one again. Returns how many were queued.
   */
  async sweep(): Promise<number> {
    const now = Date.now();
    const rows = await this.deps.db
      .selectFrom('pagerduty_escalation_targets')
      .select(['id', 'retries'])
      .where('status', '=', 'pending')
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', new Date(now).toISOString())]))
      .where('updated_at', '<', new Date(now - 2 * this.tuning.leaseMs).toISOString())
      .execute();
    for (const r of rows) {
      await this.deps.jobs.enqueue(PAGE_JOB, { targetId: r.id }, { jobKey: `pd-page:${r.id}:${r.retries}:sweep`, priority: PAGE_PRIORITY, maxAttempts: 6 });
    }
    if (rows.length > 0) this.deps.logger.warn({ targets: rows.map((r) => r.id) }, 'escalation targets were left pending with nobody paging them; queued them again');
    return rows.length;
  }

  private async markFailed(row: PagerDutyEscalationTargetsTable, error: string): Promise<void> {
    await inTransaction(this.deps.db, async (tx) => {
      const now = nowIso();
      const r = await tx
        .updateTable('pagerduty_escalation_targets')
        .set({ status: 'failed', error, failed_at: now, lease_until: null, updated_at: now })
        .where('id', '=', row.id)
        .where('status', '=', 'pending')
        .returning(['escalation_id', 'retries'])
        .executeTakeFirst();
      if (!r) return;
      const esc = await tx.selectFrom('pagerduty_escalations').select(['incident_id']).where('id', '=', r.escalation_id).executeTakeFirstOrThrow();
      await addTimelineItem(tx, this.deps.events, {
        incidentId: esc.incident_id,
        kind: 'pagerduty.escalation_failed',
        actor: PAGERDUTY_ACTOR,
        dedupeKey: `pd-target:${row.id}:failed:${r.retries}`,
        payload: { escalationId: r.escalation_id, targetId: row.id, target: row.target_name, error, text: `Paging ${row.target_name} failed: ${error}` },
      });
      await this.deps.store.changed(r.escalation_id, tx);
    });
  }

}
