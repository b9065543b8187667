import { addTimelineItem } from '../../../incidents/timeline.js';
import type { IncidentsService } from '../../../incidents/incidents.service.js';
import { isUniqueViolation } from '../../../platform/db/errors.js';
import type { Db } from '../../../platform/db/index.js';
import { inTransaction } from '../../../platform/db/index.js';
import { ConflictError, ValidationError } from '../../../platform/errors.js';
import type { Actor, EventBus } from '../../../platform/events.js';
import { newId, nowIso } from '../../../platform/ids.js';
import type { JobQueue } from '../../../platform/jobs/types.js';
import type { UsersService } from '../../../users/users.service.js';
import type { PagerDutyIntegration } from '../connect.js';
import { TYPE, type PagerDutyDirectory } from '../directory.js';
import { PAGERDUTY_ACTOR, escalationFromRows, type EscalateInput, type Escalation, type LinkedPdIncident } from './model.js';
import type { ResponderRequests } from './responders.js';
import { JOB_GRACE_MS, PAGE_JOB, PAGE_PRIORITY, type HeldTargets, type PagingWorker } from './paging.js';
import type { EscalationSettingsStore } from './settings.js';
import type { EscalationStore } from './store.js';
import type { PagerDutyEscalationTargetsTable, PagerDutyEscalationsTable, TargetStatus } from './tables.js';
import { planTargets, type PlannedTarget } from './targets.js';
import { FIRST_ACCOUNT, splitPdKey } from '../accounts.js';
import '../../../workflows/tables.js';

// The escalate use case (API, web, Slack): check what was asked against the synced catalog, choose each target's
// service (targets.ts), record the escalation, its targets and one durable paging job per target in one
// transaction, then start paging them all at once in this process (paging.ts). And retry: page again every target
// that has no PagerDuty incident yet. PagerDuty takes one escalation policy or one assignee per incident, so each
// target becomes its own PagerDuty incident.

export interface EscalateDeps {
  db: Db;
  incidents: IncidentsService;
  users: UsersService;
  events: EventBus;
  jobs: JobQueue;
  integration: PagerDutyIntegration;
  directory: PagerDutyDirectory;
  settings: EscalationSettingsStore;
  store: EscalationStore;
  paging: PagingWorker;
  /** PagerDuty services linked to an incident (preferred when paging a policy). */
  linkedServiceIds?: (incidentId: string) => Promise<string[]>;
  publicUrl?: () => string;
  /** The add-responders mode: its requests, and the PagerDuty incidents linked to an incident (from links). */
  responders: ResponderRequests;
  linkedIncidents?: (incidentId: string) => Promise<LinkedPdIncident[]>;
}

/** The linked PagerDuty incident an add-responders escalation asks people to join, or a 400 saying why there is none. */
export function chooseLinkedIncident(linked: LinkedPdIncident[], wanted: string | null | undefined): LinkedPdIncident {
  const path = 'pagerduty_incident_id';
  const open = linked.filter((l) => l.status !== 'resolved');
  const label = (l: LinkedPdIncident) => `PagerDuty incident ${l.number !== null ? `#${l.number}` : l.id} "${l.title}"`;
  if (wanted) {
    const l = linked.find((x) => x.id === wanted);
    if (!l) throw new ValidationError(`PagerDuty incident ${JSON.stringify(wanted)} is not linked to this incident. Link it first, or page in a new PagerDuty incident instead.`, [{ path, message: 'not linked to this incident' }]);
    if (l.status === 'resolved') throw new ValidationError(`${label(l)} is resolved in PagerDuty, so nobody can be added to it. Page in a new PagerDuty incident instead.`, [{ path, message: 'resolved in PagerDuty' }]);
    return l;
  }
  if (open.length === 0) {
    throw new ValidationError(
      linked.length ? 'Every PagerDuty incident linked to this incident is resolved, so nobody can be added to one. Page in a new PagerDuty incident instead.' : 'No PagerDuty incident is linked to this incident, so there is none to add responders to. Page in a new PagerDuty incident instead, or link one first.',
      [{ path, message: 'no unresolved PagerDuty incident is linked' }],
    );
  }
  if (open.length > 1) throw new ValidationError(`Several unresolved PagerDuty incidents are linked (${open.map(label).join(', ')}): choose which one to add responders to.`, [{ path, message: 'choose one' }]);
  return open[0]!;
}

export class EscalateUseCase {
  constructor(private readonly deps: EscalateDeps) {}

  /** Records the escalation and its targets, queues one paging job per target, and starts paging them all. */
  async escalate(input: EscalateInput, actor: Actor): Promise<{ escalation: Escalation; created: boolean }> {
    if (input.idempotencyKey) {
      const existing = await this.deps.store.byIdempotencyKey(input.idempotencyKey);
      if (existing) return { escalation: existing, created: false };
    }
    const { directory } = this.deps;
    const policyIds = [...new Set(input.policyIds ?? [])];
    const userIds = [...new Set(input.userIds ?? [])];
    const emails = [...new Set((input.emails ?? []).map((x) => x.trim()).filter(Boolean))];
    const newIncidents = input.mode !== 'add_responders';
    // Every lookup starts at once (on PostgreSQL each is a round trip or a chain of them; the requester's PagerDuty
    // user, found by email after their Firebreak user, is the longest chain), and their answers are checked below in a fixed order, so the error a request
    // gets does not depend on which lookup answered first. A lookup a failed check makes useless only costs a read.
    const incidentP = settle(this.deps.incidents.getIncidentHeader(input.incident));
    const settingsP = settle(this.deps.settings.get());
    const lookups = {
      connected: settle(this.deps.integration.connected()),
      accounts: settle(this.deps.integration.accounts()),
      incident: incidentP,
      policies: settle(Promise.all(policyIds.map((id) => directory.entry(TYPE.policies, id)))),
      users: settle(Promise.all(userIds.map((id) => directory.entry(TYPE.users, id)))),
      emails: settle(Promise.all(emails.map((e) => directory.userByEmail(e)))),
      priority: settle(input.priorityId ? directory.entry(TYPE.priorities, input.priorityId) : Promise.resolve(null)),
      settings: settingsP,
      requester: settle(this.requester(actor, input.requester, settingsP)),
      // New incidents only: the services each policy can be paged through, and those linked to the incident.
      services: settle(newIncidents ? Promise.all(policyIds.map((id) => directory.servicesUsingPolicy(id))) : Promise.resolve([])),
      linked: settle(
        incidentP.then((i) => (newIncidents && i.ok && this.deps.linkedServiceIds ? this.deps.linkedServiceIds(i.value.id) : [])),
      ),
    };
    const connected = await unwrap(lookups.connected);
    // The first account's bot speaks for requests that name no account (add responders); targets of other accounts
    // are paged in their own account, as their own bot when the person has no user there.
    const accounts = await unwrap(lookups.accounts);
    const pd = connected?.settings ?? accounts[0]?.settings;
    if (!pd) throw new ConflictError('pagerduty_not_connected', 'PagerDuty is not connected. An admin can connect it in Settings → Integrations → PagerDuty.');
    const incident = await unwrap(lookups.incident);
    const message = input.message.trim();
    if (!message) throw new ValidationError('Say why you need them: it is what the people paged will read.', [{ path: 'message', message: 'must not be empty' }]);
    if (input.mode !== 'add_responders' && input.pagerdutyIncidentId) {
      throw new ValidationError('pagerduty_incident_id says which PagerDuty incident to add responders to: send it with mode "add_responders".', [{ path: 'pagerduty_incident_id', message: 'only with mode add_responders' }]);
    }

    const [policyEntries, userEntries, emailUsers] = [await unwrap(lookups.policies), await unwrap(lookups.users), await unwrap(lookups.emails)];
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
      const e = await unwrap(lookups.priority);
      if (!e) throw new ValidationError(`No PagerDuty priority ${JSON.stringify(input.priorityId)} is in the synced catalog.`, [{ path: 'priority_id', message: 'unknown priority' }]);
      priority = { id: input.priorityId, name: e.name };
    }

    const settings = await unwrap(lookups.settings);
    const requester = await unwrap(lookups.requester);
    const requesterName = requester.name;
    const from: string = requester.match && !settings.alwaysUseBot ? requester.match.email : pd.botUser.email;
    const fromPdId: string = requester.match && !settings.alwaysUseBot ? requester.match.id : pd.botUser.id;
    if (input.mode === 'add_responders') {
      const pdIncident = chooseLinkedIncident(this.deps.linkedIncidents ? await this.deps.linkedIncidents(incident.id) : [], input.pagerdutyIncidentId);
      const targets = [...policies.map((p) => ({ kind: 'escalation_policy' as const, id: p.id, name: p.name })), ...[...people].map(([id, name]) => ({ kind: 'user' as const, id, name }))];
      // Responders are added in the account of the linked PagerDuty incident: its targets must be of that account, and
      // the request comes from the person's user there, else that account's bot.
      const account = pdIncident.account ?? FIRST_ACCOUNT;
      const elsewhere = targets.filter((t) => splitPdKey(t.id).account !== account);
      if (elsewhere.length > 0) {
        const accountLabel = (id: string) => accounts.find((a) => a.id === id)?.name ?? id;
        throw new ValidationError(
          `${elsewhere.map((t) => t.name).join(', ')} ${elsewhere.length === 1 ? 'is' : 'are'} in the PagerDuty account ${accountLabel(splitPdKey(elsewhere[0]!.id).account)}, and PagerDuty incident ${pdIncident.number !== null ? `#${pdIncident.number}` : pdIncident.id} is in ${accountLabel(account)}: PagerDuty adds responders of its own account only. Page them in a new PagerDuty incident instead.`,
          elsewhere.map((t) => ({ path: t.kind === 'user' ? 'user_ids' : 'escalation_policy_ids', message: `not in the account of the PagerDuty incident` })),
        );
      }
      let fromHere = { email: from, id: fromPdId };
      if (account !== FIRST_ACCOUNT) {
        const bot = accounts.find((a) => a.id === account)?.settings.botUser;
        if (!bot) throw new ConflictError('pagerduty_not_connected', `The PagerDuty account of PagerDuty incident ${pdIncident.number !== null ? `#${pdIncident.number}` : pdIncident.id} is not connected any more.`);
        fromHere = { email: bot.email, id: bot.id };
        if (actor.kind === 'user' && actor.userId && !settings.alwaysUseBot) {
          const match = requester.email ? await directory.userByEmail(requester.email, account) : null;
          if (match?.email) fromHere = { email: match.email, id: splitPdKey(match.id).id };
        }
      }
      return this.addResponders({ input, actor, incidentId: incident.id, reference: incident.reference, pdIncident, account, targets, message, from: fromHere.email, fromPdId: fromHere.id, requesterName });
    }
    const linked = new Set(await unwrap(lookups.linked));
    const servicesByPolicy = await unwrap(lookups.services);
    // Several accounts: each target is paged in the account its catalog entry belongs to, through a service of that
    // account (the fallback service only serves targets of its own account), `From` the person's user there or the
    // account's bot. With one account this is exactly one group, as before.
    const accountOf = (key: string) => splitPdKey(key).account;
    const groups = [...new Set([...policies.map((p) => accountOf(p.id)), ...[...people.keys()].map(accountOf)])];
    const planned: (PlannedTarget & { account: string; from: string })[] = [];
    for (const account of groups) {
      const fallback = settings.fallbackServices.get(account) ?? null;
      let fromHere = from;
      if (account !== FIRST_ACCOUNT || accountOf(fromPdId) !== FIRST_ACCOUNT) {
        const bot = accounts.find((a) => a.id === account)?.settings.botUser;
        if (!bot) throw new ConflictError('pagerduty_not_connected', `The PagerDuty account of ${[...policies.filter((p) => accountOf(p.id) === account).map((p) => p.name), ...[...people].filter(([id]) => accountOf(id) === account).map(([, n]) => n)].join(', ')} is not connected any more.`);
        fromHere = bot.email;
        if (actor.kind === 'user' && actor.userId && !settings.alwaysUseBot) {
          const match = requester.email ? await directory.userByEmail(requester.email, account) : null;
          if (match?.email) fromHere = match.email;
        }
      }
      const inGroup = planTargets({
        policies: policies.map((p, i) => ({ ...p, services: servicesByPolicy[i]! })).filter((p) => accountOf(p.id) === account),
        people: [...people].map(([id, name]) => ({ id, name })).filter((p) => accountOf(p.id) === account),
        linkedServiceIds: linked,
        fallback,
      });
      planned.push(...inGroup.map((t) => ({ ...t, account, from: fromHere })));
    }

    // The pages of this account's targets take their share of the request budget while the escalation is recorded
    // (on PostgreSQL a trip to the shared row), so they leave as soon as it commits. Unused if recording fails.
    if (connected) connected.client.takeAhead(planned.filter((p) => !p.error && p.account === connected.account).length);

    const escalationId = newId();
    const now = nowIso();
    let targetIds: string[] = [];
    let held: HeldTargets | undefined;
    let created: Escalation | undefined;
    try {
      await inTransaction(this.deps.db, async (tx) => {
        // The targets are recorded already held by this process, which pages them as soon as this commits.
        const lease = this.deps.paging.leaseForNewTargets();
        const escRow: PagerDutyEscalationsTable = {
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
        };
        await tx.insertInto('pagerduty_escalations').values(escRow).execute();
        const rows = planned.map((p, position): PagerDutyEscalationTargetsTable => {
          const id = newId();
          return {
            id,
            escalation_id: escalationId,
            position,
            account_id: p.account,
            kind: p.kind,
            target_id: p.id,
            target_name: p.name,
            service_id: p.service?.id ?? null,
            service_name: p.service?.name ?? null,
            incident_key: `firebreak-escalation-${id}`,
            from_email: p.from,
            status: (p.error ? 'failed' : 'pending') as TargetStatus,
            error: p.error,
            pd_incident_id: null,
            pd_incident_number: null,
            pd_html_url: null,
            paged: '[]',
            acknowledged_by: '[]',
            attempts: p.error ? 0 : lease.attempts,
            retries: 0,
            lease_until: p.error ? null : lease.lease_until,
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
          if (r.status !== 'failed') continue;
          await addTimelineItem(tx, this.deps.events, { incidentId: incident.id, kind: 'pagerduty.escalation_failed', actor: PAGERDUTY_ACTOR, dedupeKey: `pd-target:${r.id}:failed:0`, payload: { escalationId, targetId: r.id, target: r.target_name, error: r.error, text: `Paging ${r.target_name} failed: ${r.error}` } });
        }
        const pending = rows.filter((r) => r.status === 'pending');
        // The safety net, one job per target, all in one statement: due after the grace (and after the lease when
        // this process dies). No job key: the targets are new, so there is nothing to deduplicate against (and a
        // key would cost a statement per job).
        if (pending.length > 0) {
          await this.deps.jobs.enqueueMany(pending.map((r) => ({ name: PAGE_JOB, payload: { targetId: r.id }, opts: { priority: PAGE_PRIORITY, maxAttempts: 6, delayMs: JOB_GRACE_MS } })), tx);
        }
        // What was just written is the escalation: listeners that read it in this transaction are given it.
        created = escalationFromRows(escRow, rows);
        await this.deps.store.changed(escalationId, tx, created);
        targetIds = pending.map((r) => r.id);
        held = { rows: pending, context: { pd: connected, esc: escRow, incident: { reference: incident.reference, name: incident.name, slackChannelId: incident.slackChannelId } } };
      });
    } catch (err) {
      if (input.idempotencyKey && isUniqueViolation(err)) {
        const existing = await this.deps.store.byIdempotencyKey(input.idempotencyKey);
        if (existing) return { escalation: existing, created: false };
      }
      throw err;
    }
    this.deps.paging.startPaging(targetIds, held);
    // The escalation as committed (every target pending or failed); the paging just started reports through the
    // escalation's change notifications (live, Slack), not through this answer.
    return { escalation: created!, created: true };
  }

  /**
   * Who asks, by name, and (a person) their PagerDuty user by email, whom PagerDuty is told the pages are from
   * unless the settings say always the bot. A workflow is named by its workflow and pages as the bot.
   */
  private async requester(
    actor: Actor,
    known: EscalateInput['requester'],
    settings: Promise<Settled<{ alwaysUseBot: boolean }>>,
  ): Promise<{ name: string; email: string | null; match: { id: string; email: string } | null }> {
    if (actor.kind === 'workflow') return { name: await workflowName(this.deps.db, actor.ref ?? null), email: null, match: null };
    if (actor.kind !== 'user' || !actor.userId) return { name: actor.ref ?? actor.kind, email: null, match: null };
    const u = known?.id === actor.userId ? known : await this.deps.users.get(actor.userId);
    const s = await settings;
    if (s.ok && s.value.alwaysUseBot) return { name: u.name, email: u.email, match: null };
    const match = await this.deps.directory.userByEmail(u.email);
    return { name: u.name, email: u.email, match: match?.email ? { id: match.id, email: match.email } : null };
  }

  /** The add-responders mode: the escalation and its request recorded with the send job in one transaction. */
  private async addResponders(a: {
    input: EscalateInput; actor: Actor; incidentId: string; reference: string; pdIncident: LinkedPdIncident; account: string;
    targets: { kind: 'escalation_policy' | 'user'; id: string; name: string }[]; message: string; from: string; fromPdId: string; requesterName: string;
  }): Promise<{ escalation: Escalation; created: boolean }> {
    const { input, actor } = a;
    if (input.priorityId) throw new ValidationError('A priority is set on a new PagerDuty incident; adding responders to one keeps its own.', [{ path: 'priority_id', message: 'not used when adding responders' }]);
    const escalationId = newId();
    const now = nowIso();
    // What the people asked read, with the way back to the Firebreak incident (and, exactly, how a retry recognises it).
    const base = (this.deps.publicUrl?.() ?? '').replace(/\/$/, '');
    const message = `${a.message}\n\n${a.requesterName} in Firebreak: ${base ? `${base}/incidents/${a.reference}` : a.reference}`;
    try {
      await inTransaction(this.deps.db, async (tx) => {
        const escRow: PagerDutyEscalationsTable = {
          id: escalationId, incident_id: a.incidentId, requester_kind: actor.kind, requester_user_id: actor.userId ?? null, requester_ref: actor.ref ?? null,
          requester_name: a.requesterName, message: a.message, urgency: 'high', priority_id: null, priority_name: null, source: input.source,
          idempotency_key: input.idempotencyKey ?? null, slack_channel_id: input.slackChannelId ?? null, slack_message_ts: null, created_at: now, updated_at: now,
        };
        await tx.insertInto('pagerduty_escalations').values(escRow).execute();
        await this.deps.responders.record(tx, {
          escalationId, incidentId: a.incidentId, account: a.account, pd: { id: a.pdIncident.id, number: a.pdIncident.number, title: a.pdIncident.title, htmlUrl: a.pdIncident.htmlUrl },
          targets: a.targets, message, said: a.message, from: a.from, requesterPdId: a.fromPdId, requesterName: a.requesterName, actor,
        });
        await this.deps.store.changed(escalationId, tx);
      });
    } catch (err) {
      if (input.idempotencyKey && isUniqueViolation(err)) {
        const existing = await this.deps.store.byIdempotencyKey(input.idempotencyKey);
        if (existing) return { escalation: existing, created: false };
      }
      throw err;
    }
    return { escalation: await this.deps.store.get(escalationId), created: true };
  }

  /**
   * Pages again every target that has no PagerDuty incident yet: failed ones, and pending ones (say, left by a
   * crashed process). Same incident keys, so still never twice; a pending target another worker holds is paged
   * by the new job once that worker lets go (or its lease runs out).
   */
  async retryFailed(escalationId: string, actor: Actor): Promise<Escalation> {
    const esc = await this.deps.store.get(escalationId);
    const open = esc.targets.filter((t) => t.status === 'failed' || (t.status === 'pending' && !t.pagerduty));
    if (open.length === 0) throw new ConflictError('nothing_to_retry', 'Every target of this escalation already has its PagerDuty incident; there is nothing to page again.');
    const fallbacks = (await this.deps.settings.get()).fallbackServices;
    // Looked up before the transaction: on SQLite the catalog shares the one connection the transaction holds.
    const services = new Map<string, { id: string; name: string } | null>();
    for (const t of open) {
      let service = t.service;
      if (!service && t.kind === 'escalation_policy') service = (await this.deps.directory.servicesUsingPolicy(t.targetId))[0] ?? null;
      services.set(t.id, service ?? fallbacks.get(t.account) ?? null);
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
      await this.deps.store.changed(escalationId, tx);
    });
    this.deps.paging.startPaging(ids);
    return this.deps.store.get(escalationId);
  }

}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };
/** A lookup started now and checked later: its failure waits to be thrown where its answer is needed. */
const settle = <T>(p: Promise<T>): Promise<Settled<T>> => p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
async function unwrap<T>(p: Promise<Settled<T>>): Promise<T> {
  const r = await p;
  if (!r.ok) throw r.error;
  return r.value;
}

/** A workflow pages as the bot account; the escalation names the workflow (`workflow:<id>:<runId>` → its name). */
async function workflowName(db: Db, ref: string | null): Promise<string> {
  const id = /^workflow:([^:]+)/.exec(ref ?? '')?.[1];
  const row = id ? await db.selectFrom('workflows').select('name').where('id', '=', id).executeTakeFirst() : undefined;
  return row ? `Workflow "${row.name}"` : 'A workflow';
}
