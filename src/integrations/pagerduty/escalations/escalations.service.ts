import type { IncidentsService } from '../../../incidents/incidents.service.js';
import { isUniqueViolation } from '../../../incidents/incidents.service.js';
import { addTimelineItem } from '../../../incidents/timeline.js';
import type { Db, DbDialect, Executor } from '../../../platform/db/index.js';
import { inTransaction } from '../../../platform/db/index.js';
import { ConflictError, NotFoundError, ValidationError } from '../../../platform/errors.js';
import type { Actor, EventBus } from '../../../platform/events.js';
import { newId, nowIso } from '../../../platform/ids.js';
import type { JobQueue } from '../../../platform/jobs/types.js';
import type { Logger } from '../../../platform/logger.js';
import type { UsersService } from '../../../users/users.service.js';
import type { ConnectionsStore } from '../../connections.js';
import { PagerDutyClient } from '../client/client.js';
import { PagerDutyError } from '../client/errors.js';
import type { PdRef } from '../client/wire.js';
import { KIND, type PagerDutyIntegration, type PagerDutySettings } from '../connect.js';
import { TYPE, type PagerDutyDirectory } from '../directory.js';
import type { EscalationSettingsStore } from './settings.js';
import type { PagerDutyEscalationTargetsTable, PagerDutyEscalationsTable, TargetKind, TargetStatus } from './tables.js';
import type { PdIncidentWire, PdLogEntryWire } from './wire.js';
import { escalationFromRows, mergePeople, parsePeople, personOf, type EscalateInput, type Escalation, type PersonAt, type Urgency } from './model.js';
export type { EscalateInput, Escalation, EscalationTarget, PersonAt, Urgency } from './model.js';

// Escalating an incident to PagerDuty. PagerDuty takes one escalation policy or one assignee per incident, so
// each target becomes its own PagerDuty incident, created by its own durable job whose idempotency key is also
// the PagerDuty `incident_key`: a retry looks the incident up by that key before creating it again, and
// PagerDuty itself refuses a second open incident with the key, so nobody is paged twice.
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
export const REFRESH_JOB = 'pagerduty.escalation.refresh';
export const SWEEP_JOB = 'pagerduty.escalation.sweep';
export const SWEEP_SCHEDULE = 'pagerduty.escalation.sweep';
export const PAGE_PRIORITY = -10;

/** Called in the transaction that changed an escalation (e.g. Slack queues an update of its message). */
export type EscalationListener = (escalationId: string, tx: Executor) => Promise<void>;

/** Knobs tests and benchmarks turn; production uses the defaults. */
export interface EscalationTuning {
  /** 429 retries per request before a target is reported as rate limited. */
  maxRateLimitRetries: number;
  clientTimeoutMs: number;
  /** First poll of an open PagerDuty incident when no webhook subscription exists; doubles each time. */
  pollBaseMs: number;
  pollCapMs: number;
  /** How long a worker holds a target while talking to PagerDuty (renewed every third of it while it works). */
  leaseMs: number;
  faults: {
    afterCreate?: (targetId: string) => void | Promise<void>;
    /** Tests: return true to stop paging the target at that point as a killed process would (no release, no renewal). */
    crash?: (targetId: string, point: 'before_create' | 'after_create') => boolean;
  };
}

export interface EscalationDeps {
  db: Db;
  dialect: DbDialect;
  incidents: IncidentsService;
  users: UsersService;
  events: EventBus;
  jobs: JobQueue;
  logger: Logger;
  integration: PagerDutyIntegration;
  connections: ConnectionsStore;
  directory: PagerDutyDirectory;
  settings: EscalationSettingsStore;
  publicUrl: () => string;
  /** PagerDuty services linked to an incident (preferred when paging a policy). */
  linkedServiceIds?: (incidentId: string) => Promise<string[]>;
}

interface PagingContext {
  pd: { client: PagerDutyClient; settings: PagerDutySettings } | null;
  esc: PagerDutyEscalationsTable;
  incident: { reference: string; name: string; slackChannelId: string | null };
}

/** The jobs wait this long, so the request's own paging (which starts at once) normally leaves them nothing to do. */
const JOB_GRACE_MS = 2000;

/** Tests: thrown where `tuning.faults.crash` asks paging to stop as a killed process would. */
export class SimulatedCrash extends Error {}

const PAGERDUTY_ACTOR: Actor = { kind: 'integration', ref: 'pagerduty' };
const STATUS_RANK: Record<TargetStatus, number> = { pending: 0, failed: 0, triggered: 1, acknowledged: 2, resolved: 3 };

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

export class EscalationsService {
  private readonly listeners: EscalationListener[] = [];
  readonly tuning: EscalationTuning = { maxRateLimitRetries: 3, clientTimeoutMs: 15_000, pollBaseMs: 15_000, pollCapMs: 300_000, leaseMs: 30_000, faults: {} };
  /** Fast-path pages still running in this process (shutdown and tests wait for them). */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: EscalationDeps) {}

  onChange(listener: EscalationListener): void {
    this.listeners.push(listener);
  }

  private async changed(escalationId: string, tx: Executor): Promise<void> {
    for (const l of this.listeners) await l(escalationId, tx);
  }

  // ---- reading ----

  async get(id: string, db: Executor = this.deps.db): Promise<Escalation> {
    const e = await db.selectFrom('pagerduty_escalations').selectAll().where('id', '=', id).executeTakeFirst();
    if (!e) throw new NotFoundError('Escalation', id);
    const targets = await db.selectFrom('pagerduty_escalation_targets').selectAll().where('escalation_id', '=', id).execute();
    return escalationFromRows(e, targets);
  }

  async listForIncident(idOrRef: string): Promise<Escalation[]> {
    const incidentId = await this.deps.incidents.findIncidentId(idOrRef);
    const rows = await this.deps.db.selectFrom('pagerduty_escalations').selectAll().where('incident_id', '=', incidentId).orderBy('id', 'desc').execute();
    if (rows.length === 0) return [];
    const targets = await this.deps.db.selectFrom('pagerduty_escalation_targets').selectAll().where('escalation_id', 'in', rows.map((r) => r.id)).execute();
    return rows.map((r) => escalationFromRows(r, targets.filter((t) => t.escalation_id === r.id)));
  }

  async setSlackMessage(escalationId: string, channelId: string, ts: string): Promise<void> {
    await this.deps.db.updateTable('pagerduty_escalations').set({ slack_channel_id: channelId, slack_message_ts: ts }).where('id', '=', escalationId).execute();
  }

  // ---- escalating ----

  /** Records the escalation and its targets, queues one paging job per target, and starts paging them all. */
  async escalate(input: EscalateInput, actor: Actor): Promise<{ escalation: Escalation; created: boolean }> {
    if (input.idempotencyKey) {
      const existing = await this.byIdempotencyKey(input.idempotencyKey);
      if (existing) return { escalation: existing, created: false };
    }
    const pd = await this.deps.integration.settings();
    if (!pd) throw new ConflictError('pagerduty_not_connected', 'PagerDuty is not connected. An admin can connect it in Settings → Integrations → PagerDuty.');
    const incident = await this.deps.incidents.getIncident(input.incident);
    const message = input.message.trim();
    if (!message) throw new ValidationError('Say why you need them: it is what the people paged will read.', [{ path: 'message', message: 'must not be empty' }]);

    const { directory } = this.deps;
    // Lookups run side by side (on PostgreSQL each is a round trip of its own).
    const policyIds = [...new Set(input.policyIds ?? [])];
    const userIds = [...new Set(input.userIds ?? [])];
    const emails = [...new Set((input.emails ?? []).map((x) => x.trim()).filter(Boolean))];
    const [policyEntries, userEntries, emailUsers] = await Promise.all([
      Promise.all(policyIds.map((id) => directory.entry(TYPE.policies, id))),
      Promise.all(userIds.map((id) => directory.entry(TYPE.users, id))),
      Promise.all(emails.map((e) => directory.userByEmail(e))),
    ]);
    const policies: { id: string; name: string }[] = [];
    for (const [i, id] of policyIds.entries()) {
      const e = policyEntries[i];
      if (!e) throw new ValidationError(`No escalation policy ${JSON.stringify(id)} is in the synced PagerDuty catalog (or it is marked incident-io-ignore).`, [{ path: 'escalation_policy_ids', message: `unknown policy ${id}` }]);
      policies.push({ id, name: e.name });
    }
    const people = new Map<string, string>();
    for (const [i, id] of userIds.entries()) {
      const e = userEntries[i];
      if (!e) throw new ValidationError(`No PagerDuty user ${JSON.stringify(id)} is in the synced PagerDuty catalog.`, [{ path: 'user_ids', message: `unknown PagerDuty user ${id}` }]);
      people.set(id, e.name);
    }
    const missing: string[] = [];
    for (const [i, email] of emails.entries()) {
      const u = emailUsers[i];
      if (u) people.set(u.id, u.name);
      else missing.push(email);
    }
    if (missing.length > 0) {
      throw new ValidationError(
        `${missing.join(', ')} ${missing.length === 1 ? 'has' : 'have'} no PagerDuty account (no PagerDuty user has that email), so PagerDuty cannot page ${missing.length === 1 ? 'them' : 'these people'}. Page an escalation policy instead, or ask a PagerDuty admin to add them.`,
        missing.map((m) => ({ path: 'emails', message: `${m} has no PagerDuty account` })),
      );
    }
    if (policies.length + people.size === 0) throw new ValidationError('Choose at least one escalation policy or PagerDuty user to page.', [{ path: 'targets', message: 'choose at least one' }]);

    let priority: { id: string; name: string } | null = null;
    if (input.priorityId) {
      const e = await directory.entry(TYPE.priorities, input.priorityId);
      if (!e) throw new ValidationError(`No PagerDuty priority ${JSON.stringify(input.priorityId)} is in the synced catalog.`, [{ path: 'priority_id', message: 'unknown priority' }]);
      priority = { id: input.priorityId, name: e.name };
    }

    const settings = await this.deps.settings.get();
    let requesterName = actor.ref ?? actor.kind;
    let from: string = pd.botUser.email;
    if (actor.kind === 'user' && actor.userId) {
      const u = await this.deps.users.get(actor.userId);
      requesterName = u.name;
      if (!settings.alwaysUseBot) {
        const match = await directory.userByEmail(u.email);
        if (match?.email) from = match.email;
      }
    }
    const linked = new Set(this.deps.linkedServiceIds ? await this.deps.linkedServiceIds(incident.id) : []);
    const fallback = settings.fallbackService;
    const noFallback = 'no fallback escalation service is set: an admin can choose one in Settings → Integrations → PagerDuty';

    interface Planned { kind: TargetKind; id: string; name: string; service: { id: string; name: string } | null; error: string | null }
    const planned: Planned[] = [];
    const servicesByPolicy = await Promise.all(policies.map((p) => directory.servicesUsingPolicy(p.id)));
    for (const [i, p] of policies.entries()) {
      const services = servicesByPolicy[i]!;
      const svc = services.find((s) => linked.has(s.id)) ?? services[0] ?? fallback;
      planned.push({ kind: 'escalation_policy', id: p.id, name: p.name, service: svc ? { id: svc.id, name: svc.name } : null, error: svc ? null : `No PagerDuty service uses this escalation policy and ${noFallback}.` });
    }
    for (const [id, name] of people) {
      planned.push({ kind: 'user', id, name, service: fallback, error: fallback ? null : `PagerDuty pages a person through a service, and ${noFallback}.` });
    }

    const escalationId = newId();
    const now = nowIso();
    let targetIds: string[] = [];
    try {
      await inTransaction(this.deps.db, async (tx) => {
        await tx
          .insertInto('pagerduty_escalations')
          .values({
            id: escalationId,
            incident_id: incident.id,
            requester_kind: actor.kind,
            requester_user_id: actor.userId ?? null,
            requester_ref: actor.ref ?? null,
            requester_name: requesterName,
            message,
            urgency: input.urgency ?? 'high',
            priority_id: priority?.id ?? null,
            priority_name: priority?.name ?? null,
            source: input.source,
            idempotency_key: input.idempotencyKey ?? null,
            slack_channel_id: input.slackChannelId ?? null,
            slack_message_ts: null,
            created_at: now,
            updated_at: now,
          })
          .execute();
        const rows = planned.map((p, position) => {
          const id = newId();
          return {
            id,
            escalation_id: escalationId,
            position,
            kind: p.kind,
            target_id: p.id,
            target_name: p.name,
            service_id: p.service?.id ?? null,
            service_name: p.service?.name ?? null,
            incident_key: `firebreak-escalation-${id}`,
            from_email: from,
            status: (p.error ? 'failed' : 'pending') as TargetStatus,
            error: p.error,
            pd_incident_id: null,
            pd_incident_number: null,
            pd_html_url: null,
            paged: '[]',
            acknowledged_by: '[]',
            attempts: 0,
            retries: 0,
            lease_until: null,
            status_event_at: null,
            triggered_at: null,
            acknowledged_at: null,
            resolved_at: null,
            failed_at: p.error ? now : null,
            created_at: now,
            updated_at: now,
          };
        });
        await tx.insertInto('pagerduty_escalation_targets').values(rows).execute();
        const names = planned.map((p) => p.name);
        await addTimelineItem(tx, this.deps.events, {
          incidentId: incident.id,
          kind: 'pagerduty.escalation_requested',
          actor,
          occurredAt: now,
          dedupeKey: `pd-escalation:${escalationId}`,
          payload: { escalationId, message, urgency: input.urgency ?? 'high', targets: names, text: `${requesterName} paged ${names.join(', ')} through PagerDuty: "${message}"` },
        });
        for (const r of rows) {
          if (r.status === 'failed') {
            await addTimelineItem(tx, this.deps.events, { incidentId: incident.id, kind: 'pagerduty.escalation_failed', actor: PAGERDUTY_ACTOR, dedupeKey: `pd-target:${r.id}:failed:0`, payload: { escalationId, targetId: r.id, target: r.target_name, error: r.error, text: `Paging ${r.target_name} failed: ${r.error}` } });
          } else {
            await this.deps.jobs.enqueue(PAGE_JOB, { targetId: r.id }, { jobKey: `pd-page:${r.id}:0`, priority: PAGE_PRIORITY, maxAttempts: 6, delayMs: JOB_GRACE_MS }, tx);
          }
        }
        await this.changed(escalationId, tx);
        targetIds = rows.filter((r) => r.status === 'pending').map((r) => r.id);
      });
    } catch (err) {
      if (input.idempotencyKey && isUniqueViolation(err)) {
        const existing = await this.byIdempotencyKey(input.idempotencyKey);
        if (existing) return { escalation: existing, created: false };
      }
      throw err;
    }
    this.startPaging(targetIds);
    return { escalation: await this.get(escalationId), created: true };
  }

  private async byIdempotencyKey(key: string): Promise<Escalation | null> {
    const row = await this.deps.db.selectFrom('pagerduty_escalations').select('id').where('idempotency_key', '=', key).executeTakeFirst();
    return row ? this.get(row.id) : null;
  }

  /**
   * Pages again every target that has no PagerDuty incident yet: failed ones, and pending ones (say, left by a
   * crashed process). Same incident keys, so still never twice; a pending target another worker holds is paged
   * by the new job once that worker lets go (or its lease runs out).
   */
  async retryFailed(escalationId: string, actor: Actor): Promise<Escalation> {
    const esc = await this.get(escalationId);
    const open = esc.targets.filter((t) => t.status === 'failed' || (t.status === 'pending' && !t.pagerduty));
    if (open.length === 0) throw new ConflictError('nothing_to_retry', 'Every target of this escalation already has its PagerDuty incident; there is nothing to page again.');
    const fallback = (await this.deps.settings.get()).fallbackService;
    // Looked up before the transaction: on SQLite the catalog shares the one connection the transaction holds.
    const services = new Map<string, { id: string; name: string } | null>();
    for (const t of open) {
      let service = t.service;
      if (!service && t.kind === 'escalation_policy') service = (await this.deps.directory.servicesUsingPolicy(t.targetId))[0] ?? null;
      services.set(t.id, service ?? fallback);
    }
    const ids: string[] = [];
    await inTransaction(this.deps.db, async (tx) => {
      for (const t of open) {
        const service = services.get(t.id);
        if (!service) continue;
        const row = await tx
          .updateTable('pagerduty_escalation_targets')
          .set((eb) =>
            t.status === 'failed'
              ? { status: 'pending', error: null, failed_at: null, lease_until: null, service_id: service.id, service_name: service.name, retries: eb('retries', '+', 1), updated_at: nowIso() }
              : { retries: eb('retries', '+', 1), updated_at: nowIso() },
          )
          .where('id', '=', t.id)
          .where('status', '=', t.status)
          .where('pd_incident_id', 'is', null)
          .returning(['retries'])
          .executeTakeFirst();
        if (!row) continue;
        await this.deps.jobs.enqueue(PAGE_JOB, { targetId: t.id }, { jobKey: `pd-page:${t.id}:${row.retries}`, priority: PAGE_PRIORITY, maxAttempts: 6, delayMs: JOB_GRACE_MS }, tx);
        ids.push(t.id);
      }
      if (ids.length === 0) throw new ConflictError('no_service', 'The failed targets still have no PagerDuty service to page through: choose a fallback escalation service in Settings → Integrations → PagerDuty first.');
      const names = open.filter((t) => ids.includes(t.id)).map((t) => t.name);
      await addTimelineItem(tx, this.deps.events, { incidentId: esc.incidentId, kind: 'pagerduty.escalation_retried', actor, payload: { escalationId, targets: names, text: `Paging ${names.join(', ')} again` } });
      await this.changed(escalationId, tx);
    });
    this.startPaging(ids);
    return this.get(escalationId);
  }

  /**
   * Starts paging in this process right away, every target at once, with what they share (client, escalation,
   * incident) read once. The queued jobs (due a little later) finish whatever this does not.
   */
  private startPaging(targetIds: string[]): void {
    if (targetIds.length === 0) return;
    const p = this.pageMany(targetIds)
      .catch((err) => this.deps.logger.warn({ targets: targetIds, error: (err as Error).message }, 'paging failed; the jobs will retry'))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async pageMany(targetIds: string[]): Promise<void> {
    const rows = await this.claim(targetIds);
    if (rows.length === 0) return;
    const ctx = await this.loadContext(rows[0]!.escalation_id);
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

  /** Waits for paging started in this process (tests, benchmarks, shutdown). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  // ---- paging one target ----

  /** A client for the connection, tuned for paging (null when PagerDuty is not connected). */
  async connectedClient(): Promise<{ client: PagerDutyClient; settings: PagerDutySettings } | null> {
    const s = await this.deps.integration.settings();
    const key = s ? await this.deps.connections.secret(KIND, 'api_key') : null;
    if (!s || !key) return null;
    const client = new PagerDutyClient({
      apiKey: key,
      region: s.region,
      baseUrl: s.baseUrl,
      budget: this.deps.integration.budget(s.rateLimitPerMinute),
      maxRateLimitRetries: this.tuning.maxRateLimitRetries,
      timeoutMs: this.tuning.clientTimeoutMs,
      maxRetries: 2,
    });
    return { client, settings: s };
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
    const [c, esc] = await Promise.all([this.connectedClient(), this.deps.db.selectFrom('pagerduty_escalations').selectAll().where('id', '=', escalationId).executeTakeFirstOrThrow()]);
    const incident = await this.deps.incidents.getIncident(esc.incident_id);
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
    const c = ctx.pd;
    if (!c) return this.markFailed(row, 'PagerDuty is not connected any more. An admin can connect it in Settings → Integrations → PagerDuty.');
    if (!row.service_id) return this.markFailed(row, 'No PagerDuty service to page through.');
    if (this.tuning.faults.crash?.(row.id, 'before_create')) throw new SimulatedCrash(`simulated crash before creating ${row.id}`);
    // A previous attempt may have created the incident and died before recording it.
    if (Number(row.attempts) > 1) {
      const found = await this.findByKey(c.client, row.incident_key);
      if (found) return this.recordIncident(row, found);
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
    const body = {
      incident: {
        type: 'incident',
        title: `[${incident.reference}] ${incident.name}`.slice(0, 1024),
        service: { id: row.service_id, type: 'service_reference' },
        urgency: esc.urgency,
        incident_key: row.incident_key,
        body: { type: 'incident_body', details },
        ...(esc.priority_id ? { priority: { id: esc.priority_id, type: 'priority_reference' } } : {}),
        ...(row.kind === 'escalation_policy'
          ? { escalation_policy: { id: row.target_id, type: 'escalation_policy_reference' } }
          : { assignments: [{ assignee: { id: row.target_id, type: 'user_reference' } }] }),
      },
    };
    let from = row.from_email ?? c.settings.botUser.email;
    for (;;) {
      try {
        const r = await c.client.post<{ incident: PdIncidentWire }>('/incidents', body, { from, priority: 'interactive' });
        await this.tuning.faults.afterCreate?.(row.id);
        if (this.tuning.faults.crash?.(row.id, 'after_create')) throw new SimulatedCrash(`simulated crash after creating ${row.id}`);
        return await this.recordIncident({ ...row, from_email: from }, r.incident);
      } catch (err) {
        if (!(err instanceof PagerDutyError)) throw err;
        if (err.kind === 'bad_request' && err.status === 400) {
          // PagerDuty refuses a second open incident with our key: the first one exists, record it.
          const found = await this.findByKey(c.client, row.incident_key).catch(() => null);
          if (found) return this.recordIncident(row, found);
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

  private async findByKey(client: PagerDutyClient, key: string): Promise<PdIncidentWire | null> {
    const r = await client.get<{ incidents?: PdIncidentWire[] }>('/incidents', { incident_key: key, date_range: 'all', limit: 1 }, { priority: 'interactive' });
    return r.incidents?.[0] ?? null;
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
      await this.changed(r.escalation_id, tx);
    });
  }

  private async recordIncident(row: PagerDutyEscalationTargetsTable, inc: PdIncidentWire): Promise<void> {
    const at = inc.created_at ?? nowIso();
    await this.applyUpdate(row.id, {
      pdIncident: { id: inc.id, number: inc.incident_number ?? null, htmlUrl: inc.html_url ?? null },
      status: inc.status,
      statusAt: inc.last_status_change_at ?? at,
      paged: (inc.assignments ?? []).map((a) => personOf(a.assignee, a.at ?? at)).filter((p): p is PersonAt => !!p),
      acknowledgedBy: (inc.acknowledgements ?? []).map((a) => personOf(a.acknowledger, a.at ?? at)).filter((p): p is PersonAt => !!p),
    });
    // Learn who was notified (and, without webhooks, keep polling until it is resolved).
    const poll = !(await this.deps.settings.webhooksConfigured());
    await this.deps.jobs.enqueue(REFRESH_JOB, { targetId: row.id, poll, step: 0 }, { jobKey: `pd-refresh:${row.id}:0`, delayMs: poll ? this.tuning.pollBaseMs : 1000, priority: 5 });
  }

  // ---- following a PagerDuty incident ----

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
      let q = tx.selectFrom('pagerduty_escalation_targets').selectAll().where('id', '=', targetId);
      if (this.deps.dialect === 'postgres') q = q.forUpdate();
      const row = await q.executeTakeFirst();
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
      // PagerDuty's times come with and without milliseconds: compare instants, not strings.
      const stale = !!(u.statusAt && row.status_event_at && Date.parse(u.statusAt) < Date.parse(row.status_event_at));
      let status = row.status;
      if (hasIncident && valid && !stale && next !== row.status) {
        status = next;
        set.status = next;
        set.status_event_at = u.statusAt ?? now;
      } else if (hasIncident && valid && !stale && u.statusAt) set.status_event_at = u.statusAt;
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
      await this.changed(esc.id, tx);
      return true;
    });
  }

  /** The target following a PagerDuty incident, by its id or our incident key. */
  async findTarget(pdIncidentId: string, incidentKey: string | null): Promise<string | null> {
    const byId = await this.deps.db.selectFrom('pagerduty_escalation_targets').select('id').where('pd_incident_id', '=', pdIncidentId).executeTakeFirst();
    if (byId) return byId.id;
    if (!incidentKey?.startsWith('firebreak-escalation-')) return null;
    const byKey = await this.deps.db.selectFrom('pagerduty_escalation_targets').select('id').where('incident_key', '=', incidentKey).executeTakeFirst();
    return byKey?.id ?? null;
  }

  /** Reads the PagerDuty incident and its log (who was notified, who acknowledged); polls again while open without webhooks. */
  async refresh(targetId: string, poll: boolean, step: number): Promise<void> {
    const row = await this.deps.db.selectFrom('pagerduty_escalation_targets').selectAll().where('id', '=', targetId).executeTakeFirst();
    if (!row?.pd_incident_id) return;
    const c = await this.connectedClient();
    if (!c) return;
    const id = encodeURIComponent(row.pd_incident_id);
    const inc = (await c.client.get<{ incident: PdIncidentWire }>(`/incidents/${id}`, {}, { priority: 'background' })).incident;
    const log = await c.client.get<{ log_entries?: PdLogEntryWire[] }>(`/incidents/${id}/log_entries`, { limit: 100 }, { priority: 'background' });
    const entries = log.log_entries ?? [];
    const notified = entries.filter((e) => e.type === 'notify_log_entry').map((e) => personOf(e.user, e.created_at)).filter((p): p is PersonAt => !!p);
    const acks = entries.filter((e) => e.type === 'acknowledge_log_entry').map((e) => personOf(e.agent, e.created_at)).filter((p): p is PersonAt => !!p);
    await this.applyUpdate(targetId, {
      pdIncident: { id: inc.id, number: inc.incident_number ?? null, htmlUrl: inc.html_url ?? null },
      status: inc.status,
      statusAt: inc.last_status_change_at,
      paged: [...(inc.assignments ?? []).map((a) => personOf(a.assignee, a.at)).filter((p): p is PersonAt => !!p), ...notified],
      acknowledgedBy: [...(inc.acknowledgements ?? []).map((a) => personOf(a.acknowledger, a.at)).filter((p): p is PersonAt => !!p), ...acks],
    });
    if (!poll || inc.status === 'resolved' || (await this.deps.settings.webhooksConfigured())) return;
    const created = Date.parse(row.created_at);
    if (Date.now() - created > 7 * 86_400_000) return; // a week: stop following
    const delay = Math.min(this.tuning.pollCapMs, this.tuning.pollBaseMs * 2 ** (step + 1));
    await this.deps.jobs.enqueue(REFRESH_JOB, { targetId, poll: true, step: step + 1 }, { jobKey: `pd-refresh:${targetId}:${step + 1}`, delayMs: delay, priority: 5 });
  }
}
