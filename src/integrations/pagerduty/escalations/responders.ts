import { addTimelineItem } from '../../../incidents/timeline.js';
import type { Db, Executor } from '../../../platform/db/index.js';
import { inTransaction } from '../../../platform/db/index.js';
import type { EventBus } from '../../../platform/events.js';
import { newId, nowIso } from '../../../platform/ids.js';
import type { JobContext, JobQueue } from '../../../platform/jobs/types.js';
import type { Logger } from '../../../platform/logger.js';
import type { PdWebhookEvent } from '../client/events.js';
import { PagerDutyError } from '../client/errors.js';
import type { PdIncidentResponder, PdResponderRequest } from '../client/wire.js';
import type { ConnectedPagerDuty, PagerDutyIntegration } from '../connect.js';
import { PAGERDUTY_ACTOR, type EscalationTuning } from './model.js';
import { SimulatedCrash } from './paging.js';
import type { EscalationStore } from './store.js';
import type { PagerDutyResponderRequestsTable, PagerDutyRespondersTable, ResponderState, TargetKind } from './tables.js';
import { FIRST_ACCOUNT, splitPdKey } from '../accounts.js';

// Adding responders to a PagerDuty incident already linked (`POST /incidents/{id}/responder_requests`), the other
// escalate mode. The escalate use case records the request row and its send job in the escalation's transaction;
// the job sends only a pending row, exactly once:
// - before sending again after an attempt that may have reached PagerDuty (any attempt after the first), it reads the
//   incident and looks for the request among its `responder_requests` (same requester, the exact message, every
//   target): found → recorded as sent with the responders PagerDuty lists, nothing is sent;
// - 2xx → sent, the responders PagerDuty asked recorded as pending; 429 (after the client's own waits), 5xx and no
//   answer → retried by the queue with backoff; another 4xx → failed with PagerDuty's message, never retried. A 403
//   (or 1008) for the person's own account sends as the bot account instead, as paging does.
// Each responder's state then follows the webhooks (incident.responder.added / .replied), applied in the order of
// the PagerDuty incident's lane and only forward in time, each change written once with its timeline item.

export const RESPONDER_JOB = 'pagerduty.responder_request';
export const RESPONDER_MAX_ATTEMPTS = 8;

export interface ResponderDeps {
  db: Db;
  events: EventBus;
  jobs: JobQueue;
  logger: Logger;
  integration: Pick<PagerDutyIntegration, 'connected'>;
  store: EscalationStore;
  tuning: EscalationTuning;
}

type Target = { kind: TargetKind; id: string; name: string };

const STATE_WORDS: Record<ResponderState, string> = { pending: 'was asked to join', joined: 'joined', declined: 'declined to join', user_cancelled: 'was no longer asked to join' };

/** PagerDuty's own words from a typed client error (its envelope's message and details, without our prefix). */
function words(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.replace(/^PagerDuty [A-Z]+ \S+: (\d{3} )?/, '').slice(0, 1000);
}

export function pdLabel(r: Pick<PagerDutyResponderRequestsTable, 'pd_incident_number' | 'pd_incident_id'>): string {
  return `PagerDuty incident ${r.pd_incident_number !== null ? `#${r.pd_incident_number}` : r.pd_incident_id}`;
}

export class ResponderRequests {
  constructor(private readonly deps: ResponderDeps) {}

  /** Register before jobs start. */
  register(): void {
    this.deps.jobs.define<{ escalationId: string }>(RESPONDER_JOB, (p, ctx) => this.send(p.escalationId, ctx), { maxAttempts: RESPONDER_MAX_ATTEMPTS });
  }

  /** Records the request (state pending) and queues its send, in the escalation's transaction. `message` is what PagerDuty is sent, `said` what the person wrote. */
  async record(
    tx: Executor,
    r: { escalationId: string; incidentId: string; account: string; pd: { id: string; number: number | null; title: string; htmlUrl: string | null }; targets: Target[]; message: string; said: string; from: string; requesterPdId: string; requesterName: string; actor: Parameters<typeof addTimelineItem>[2]['actor'] },
  ): Promise<void> {
    const now = nowIso();
    await tx
      .insertInto('pagerduty_responder_requests')
      .values({
        escalation_id: r.escalationId, account_id: r.account, pd_incident_id: r.pd.id, pd_incident_number: r.pd.number, pd_incident_title: r.pd.title, pd_html_url: r.pd.htmlUrl,
        targets: JSON.stringify(r.targets), message: r.message, from_email: r.from, requester_pd_id: r.requesterPdId, state: 'pending', error: null,
        attempts: 0, sending_at: null, sent_at: null, created_at: now, updated_at: now,
      })
      .execute();
    const names = r.targets.map((t) => t.name);
    const label = pdLabel({ pd_incident_number: r.pd.number, pd_incident_id: r.pd.id });
    await addTimelineItem(tx, this.deps.events, {
      incidentId: r.incidentId,
      kind: 'pagerduty.responders_requested',
      actor: r.actor,
      occurredAt: now,
      dedupeKey: `pd-escalation:${r.escalationId}`,
      payload: { escalationId: r.escalationId, pagerdutyIncidentId: r.pd.id, targets: names, text: `${r.requesterName} asked ${names.join(', ')} to join ${label} "${r.pd.title}": "${r.said}"` },
    });
    await this.deps.jobs.enqueue(RESPONDER_JOB, { escalationId: r.escalationId }, { jobKey: `pd-responders:${r.escalationId}`, priority: -10, maxAttempts: RESPONDER_MAX_ATTEMPTS }, tx);
  }

  /** The job: sends one recorded request, once. Throws to have the queue retry (429, 5xx, no answer). */
  async send(escalationId: string, ctx: Pick<JobContext, 'attempt' | 'maxAttempts' | 'signal'>): Promise<void> {
    const { db, logger } = this.deps;
    let row = await db.selectFrom('pagerduty_responder_requests').selectAll().where('escalation_id', '=', escalationId).executeTakeFirst();
    if (!row || row.state !== 'pending') return;
    const last = ctx.attempt >= ctx.maxAttempts;
    // The account of the linked PagerDuty incident (the targets' ids are its catalog ids; PagerDuty is sent its own).
    const c = await this.deps.integration.connected('interactive', row.account_id ?? FIRST_ACCOUNT);
    if (!c) return this.fail(row, 'PagerDuty is not connected any more. An admin can connect it in Settings → Integrations → PagerDuty.');
    for (;;) {
      try {
        // An earlier attempt may have reached PagerDuty and stopped before recording the answer.
        if (row.attempts > 0) {
          const found = await this.findOnIncident(c, row);
          if (found) {
            logger.info({ escalation: escalationId, pd_incident: row.pd_incident_id }, 'responder request already on the PagerDuty incident; recorded without sending again');
            return await this.recordSent(row, found);
          }
        }
        // Claim the send (fenced by the attempt count): a row another run sent or settled is left alone.
        const claimed = await db
          .updateTable('pagerduty_responder_requests')
          .set({ attempts: row.attempts + 1, sending_at: nowIso(), updated_at: nowIso() })
          .where('escalation_id', '=', escalationId)
          .where('state', '=', 'pending')
          .where('attempts', '=', row.attempts)
          .executeTakeFirst();
        if (Number(claimed.numUpdatedRows) === 0) return;
        row = { ...row, attempts: row.attempts + 1 };
        const targets = JSON.parse(row.targets) as Target[];
        const answer = await c.client.createResponderRequest(
          row.pd_incident_id,
          { requesterId: row.requester_pd_id, message: row.message, targets: targets.map((t) => ({ id: splitPdKey(t.id).id, type: t.kind === 'user' ? ('user_reference' as const) : ('escalation_policy_reference' as const) })) },
          { from: row.from_email, priority: 'interactive', signal: ctx.signal },
        );
        if (this.deps.tuning.faults.responderCrash?.(escalationId, 'after_send')) throw new SimulatedCrash(`simulated crash after sending the responder request of ${escalationId}`);
        return await this.recordSent(row, answer);
      } catch (err) {
        if (err instanceof SimulatedCrash) throw err;
        if (!(err instanceof PagerDutyError)) {
          if (last && !ctx.signal.aborted) return this.fail(row, `Not sent: ${words(err)}`);
          await this.release(row, words(err));
          throw err;
        }
        // PagerDuty refuses the person's own account (a role that may not act, or gone): ask as the bot account.
        const bot = c.settings.botUser;
        if (row.from_email !== bot.email && (err.status === 403 || err.code === 1008)) {
          await db.updateTable('pagerduty_responder_requests').set({ from_email: bot.email, requester_pd_id: bot.id, sending_at: null, updated_at: nowIso() }).where('escalation_id', '=', escalationId).execute();
          row = { ...row, from_email: bot.email, requester_pd_id: bot.id };
          continue;
        }
        const retryable = err.kind === 'rate_limited' || err.kind === 'server_error' || err.kind === 'network';
        if (retryable && !last) {
          logger.warn({ escalation: escalationId, status: err.status, attempt: ctx.attempt }, 'PagerDuty did not take the responder request yet; will retry');
          await this.release(row, words(err));
          throw err;
        }
        logger.warn({ escalation: escalationId, status: err.status, code: err.code }, 'PagerDuty refused a responder request');
        return this.fail(row, `PagerDuty refused the request: ${words(err)}`);
      }
    }
  }

  /** The request on the incident, if PagerDuty already has it (same requester, the exact message, every target). */
  private async findOnIncident(c: ConnectedPagerDuty, row: PagerDutyResponderRequestsTable): Promise<PdResponderRequest | null> {
    const inc = await c.client.getIncident(row.pd_incident_id, { priority: 'interactive' });
    const targets = JSON.parse(row.targets) as Target[];
    const since = Date.parse(row.created_at) - 60_000;
    return (
      (inc.responder_requests ?? []).find((q) => {
        if (q.requester?.id !== row.requester_pd_id || q.message !== row.message) return false;
        if (q.requested_at && Date.parse(q.requested_at) < since) return false;
        const theirs = new Set((q.responder_request_targets ?? []).map((t) => t.responder_request_target?.id));
        return targets.every((t) => theirs.has(splitPdKey(t.id).id));
      }) ?? null
    );
  }

  private async release(row: PagerDutyResponderRequestsTable, error: string): Promise<void> {
    await this.deps.db.updateTable('pagerduty_responder_requests').set({ sending_at: null, error, updated_at: nowIso() }).where('escalation_id', '=', row.escalation_id).where('state', '=', 'pending').execute();
  }

  /** PagerDuty took the request: mark it sent and record the people it asked (pending unless a webhook said more). */
  private async recordSent(row: PagerDutyResponderRequestsTable, answer: PdResponderRequest): Promise<void> {
    const targets = JSON.parse(row.targets) as Target[];
    const people = new Map<string, { name: string; via: string | null; state: ResponderState; at: string }>();
    for (const t of answer.responder_request_targets ?? []) {
      const target = t.responder_request_target;
      if (!target) continue;
      const policy = targets.find((x) => x.kind === 'escalation_policy' && splitPdKey(x.id).id === target.id);
      for (const r of target.incidents_responders ?? []) {
        if (!r.user?.id) continue;
        const prev = people.get(r.user.id);
        people.set(r.user.id, { name: r.user.summary ?? r.user.id, via: prev?.via ?? (policy ? policy.name : null), state: stateOf(r), at: r.updated_at ?? answer.requested_at ?? nowIso() });
      }
    }
    await inTransaction(this.deps.db, async (tx) => {
      const now = nowIso();
      const done = await tx
        .updateTable('pagerduty_responder_requests')
        .set({ state: 'sent', error: null, sending_at: null, sent_at: now, updated_at: now })
        .where('escalation_id', '=', row.escalation_id)
        .where('state', '=', 'pending')
        .executeTakeFirst();
      if (Number(done.numUpdatedRows) === 0) return;
      for (const [pdUserId, p] of people) {
        await tx
          .insertInto('pagerduty_responders')
          .values({ id: newId(), escalation_id: row.escalation_id, pd_incident_id: row.pd_incident_id, pd_user_id: pdUserId, name: p.name, via: p.via, state: p.state, state_at: p.at, created_at: now, updated_at: now })
          .onConflict((oc) => oc.columns(['escalation_id', 'pd_user_id']).doNothing())
          .execute();
      }
      await this.changed(tx, row.escalation_id);
    });
  }

  private async fail(row: PagerDutyResponderRequestsTable, error: string): Promise<void> {
    await inTransaction(this.deps.db, async (tx) => {
      const now = nowIso();
      const r = await tx
        .updateTable('pagerduty_responder_requests')
        .set({ state: 'failed', error, sending_at: null, updated_at: now })
        .where('escalation_id', '=', row.escalation_id)
        .where('state', '=', 'pending')
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return;
      const esc = await tx.selectFrom('pagerduty_escalations').select('incident_id').where('id', '=', row.escalation_id).executeTakeFirstOrThrow();
      await addTimelineItem(tx, this.deps.events, {
        incidentId: esc.incident_id,
        kind: 'pagerduty.responder_request_failed',
        actor: PAGERDUTY_ACTOR,
        dedupeKey: `pd-responders:${row.escalation_id}:failed`,
        payload: { escalationId: row.escalation_id, pagerdutyIncidentId: row.pd_incident_id, error, text: `Adding responders to ${pdLabel(row)} failed: ${error}` },
      });
      await this.changed(tx, row.escalation_id);
    });
  }

  private async changed(tx: Executor, escalationId: string): Promise<void> {
    await tx.updateTable('pagerduty_escalations').set({ updated_at: nowIso() }).where('id', '=', escalationId).execute();
    await this.deps.store.changed(escalationId, tx);
  }

  /**
   * The webhooks module's subscriber: incident.responder.added / .replied about a PagerDuty incident Firebreak asked
   * people to join. A state older than the one recorded is ignored; each change writes one timeline item.
   */
  async onWebhookEvent(ev: PdWebhookEvent): Promise<string | void> {
    if (ev.kind !== 'responder') return;
    const pdId = ev.data.incident.id;
    const user = ev.data.user;
    const state = (['pending', 'joined', 'declined', 'user_cancelled'] as const).find((s) => s === ev.data.state) ?? (ev.event_type === 'incident.responder.added' ? 'pending' : null);
    if (!state) return;
    // The account that delivered the event: another account's incident of the same id is not this one.
    const requests = await this.deps.db.selectFrom('pagerduty_responder_requests').selectAll().where('pd_incident_id', '=', pdId).where('account_id', '=', ev.account ?? FIRST_ACCOUNT).where('state', '!=', 'failed').execute();
    if (requests.length === 0) return;
    const at = ev.occurred_at;
    let applied = false;
    await inTransaction(this.deps.db, async (tx) => {
      for (const req of requests) {
        const targets = JSON.parse(req.targets) as Target[];
        const policy = ev.data.escalation_policy?.id ? targets.find((t) => t.kind === 'escalation_policy' && splitPdKey(t.id).id === ev.data.escalation_policy!.id) : undefined;
        const asked = targets.some((t) => t.kind === 'user' && splitPdKey(t.id).id === user.id) || !!policy;
        const row = await tx.selectFrom('pagerduty_responders').selectAll().where('escalation_id', '=', req.escalation_id).where('pd_user_id', '=', user.id).executeTakeFirst();
        if (!row && !asked) continue;
        // A request that is still pending may be PagerDuty's own news of it: the people it asked are this escalation's.
        const now = nowIso();
        let changedRow: PagerDutyRespondersTable | null = null;
        if (!row) {
          changedRow = { id: newId(), escalation_id: req.escalation_id, pd_incident_id: pdId, pd_user_id: user.id, name: user.summary ?? user.id, via: policy?.name ?? null, state, state_at: at, created_at: now, updated_at: now };
          const ins = await tx.insertInto('pagerduty_responders').values(changedRow).onConflict((oc) => oc.columns(['escalation_id', 'pd_user_id']).doNothing()).returning('id').executeTakeFirst();
          if (!ins) continue;
        } else {
          if (Date.parse(at) < Date.parse(row.state_at) || row.state === state) continue;
          await tx.updateTable('pagerduty_responders').set({ state, state_at: at, name: user.summary ?? row.name, updated_at: now }).where('id', '=', row.id).execute();
          changedRow = { ...row, state, state_at: at };
        }
        applied = true;
        if (state !== 'pending' || row) {
          const esc = await tx.selectFrom('pagerduty_escalations').select('incident_id').where('id', '=', req.escalation_id).executeTakeFirstOrThrow();
          await addTimelineItem(tx, this.deps.events, {
            incidentId: esc.incident_id,
            kind: `pagerduty.responder_${state}`,
            actor: PAGERDUTY_ACTOR,
            occurredAt: at,
            dedupeKey: `pd-responder:${changedRow.id}:${ev.id}`,
            payload: { escalationId: req.escalation_id, pagerdutyIncidentId: pdId, responder: changedRow.name, state, text: `${changedRow.name} ${STATE_WORDS[state]} ${pdLabel(req)}` },
          });
        }
        await this.changed(tx, req.escalation_id);
      }
    });
    return applied ? 'responder_updated' : undefined;
  }
}

function stateOf(r: PdIncidentResponder): ResponderState {
  return r.state === 'joined' || r.state === 'declined' || r.state === 'user_cancelled' ? r.state : 'pending';
}
