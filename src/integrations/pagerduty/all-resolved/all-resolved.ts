import type { IncidentsService } from '../../../incidents/incidents.service.js';
import { liveStatuses } from '../../../incidents/rules.js';
import type { Status } from '../../../incidents/statuses.js';
import { addTimelineItem } from '../../../incidents/timeline.js';
import type { Db, Executor } from '../../../platform/db/index.js';
import { inTransaction } from '../../../platform/db/index.js';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../../platform/errors.js';
import type { Actor, EventBus } from '../../../platform/events.js';
import { newId, nowIso } from '../../../platform/ids.js';
import type { JobQueue } from '../../../platform/jobs/types.js';
import type { LiveFeed } from '../../../platform/live.js';
import type { Logger } from '../../../platform/logger.js';
import type { ConnectedPagerDuty } from '../connect.js';
import { linksOfIncident, updateLinks, type IncidentLink } from '../links/links.repository.js';
import { summaryFromIncident } from '../links/summary.js';
import type { AllResolvedSettingsStore } from './settings.js';
import type { PagerDutyAllResolvedTable } from './tables.js';
import './tables.js';

// Two-way close. When every related PagerDuty incident linked to an active incident is resolved in PagerDuty (a
// link marked "not related" does not count), that is told once: an episode row (`pagerduty_all_resolved`) with the
// PagerDuty incidents it covers, written in the same transaction as its timeline item and the job that tells the
// channel. People then choose (Move to Monitoring, Close incident, Keep open); the first choice claims the episode
// and applies the status change as that person, with the incidents service's usual rules. For a triage incident
// opened from PagerDuty the setting (settings.ts, default off) acts instead, as PagerDuty, and says why.
//
// Episodes: one starts when the last related PagerDuty incident resolves and ends when one is open again (PagerDuty
// reopened it, or another one was linked or marked related again). The next time all are resolved is a new episode
// and is told again; repeated webhooks, re-reads and checks inside an episode tell nothing. A check runs after every
// change to an incident's links (`watchLinks`: each such change touches the `pagerduty_links` live topic in its
// transaction), in a job queue per incident, so checks of one incident run one at a time; the unique (incident,
// episode) index holds across processes.

export const CHECK_JOB = 'pagerduty.all_resolved.check';
export const NOTICE_JOB = 'pagerduty.all_resolved.notice';
export const ACT_JOB = 'pagerduty.all_resolved.act';

const PD_ACTOR: Actor = { kind: 'integration', ref: 'pagerduty' };

export type AllResolvedChoice = 'monitoring' | 'close' | 'keep_open';
export interface Choice {
  choice: AllResolvedChoice;
  label: string;
  statusId?: string;
}
export interface ResolvedPd {
  id: string;
  number: number | null;
  title: string;
  htmlUrl: string | null;
}

/** What a front (Slack) is told about an episode; it shows the current state of it. */
export interface AllResolvedNotice {
  episodeId: string;
  incidentId: string;
  mode: 'prompt' | 'automatic';
  pagerduty: ResolvedPd[];
  /** The buttons to offer while nobody has answered and the episode holds. */
  choices: { choice: AllResolvedChoice; label: string }[];
  /** What was done (by whom, or automatically), once done. */
  outcome: string | null;
  /** Why it no longer holds (a PagerDuty incident is open again), when it ended unanswered. */
  ended: string | null;
  notice: { status: PagerDutyAllResolvedTable['notice_status']; channel: string | null; ts: string | null };
  createdAt: string;
}

export type NoticeListener = (n: AllResolvedNotice) => Promise<void>;

/** "#12 "Database down"" — how people name a PagerDuty incident in the message and the timeline. */
export const pdName = (p: Pick<ResolvedPd, 'number' | 'title'>) => `${p.number ? `#${p.number}` : 'PagerDuty incident'} "${p.title}"`;
export const pdNames = (ps: Pick<ResolvedPd, 'number' | 'title'>[]) => ps.map(pdName).join(', ');

/** The status "Move to Monitoring" moves to: the live status called Monitoring, else the last live one of several. */
export function monitoringStatus<T extends Status>(statuses: T[]): T | null {
  const live = liveStatuses(statuses);
  return live.find((s) => s.name.trim().toLowerCase() === 'monitoring') ?? (live.length >= 2 ? live[live.length - 1]! : null);
}

export function choicesFor(current: Status, statuses: Status[]): Choice[] {
  const out: Choice[] = [];
  const mon = monitoringStatus(statuses);
  if (mon && mon.id !== current.id) out.push({ choice: 'monitoring', label: `Move to ${mon.name}`, statusId: mon.id });
  out.push({ choice: 'close', label: 'Close incident' });
  out.push({ choice: 'keep_open', label: 'Keep open' });
  return out;
}

/** Related links: everything linked except what a person marked as not related. */
const related = (links: IncidentLink[]) => links.filter((l) => l.related !== 'rejected');
const toPd = (l: IncidentLink): ResolvedPd => ({ id: l.pagerduty.id, number: l.pagerduty.number, title: l.pagerduty.title, htmlUrl: l.pagerduty.htmlUrl });

export interface AllResolvedDeps {
  db: Db;
  incidents: IncidentsService;
  events: EventBus;
  jobs: JobQueue;
  live: LiveFeed;
  logger: Logger;
  settings: AllResolvedSettingsStore;
  /** A client for the connected account; null when PagerDuty is not connected. */
  connected: (mode?: 'interactive' | 'background', account?: string) => Promise<ConnectedPagerDuty | null>;
}

export class AllResolved {
  private readonly listeners: NoticeListener[] = [];

  constructor(private readonly deps: AllResolvedDeps) {}

  define(): void {
    this.deps.jobs.define<{ incidentId: string }>(CHECK_JOB, async ({ incidentId }) => this.check(incidentId), { maxAttempts: 8 });
    this.deps.jobs.define<{ episodeId: string }>(ACT_JOB, async ({ episodeId }) => this.act(episodeId), { maxAttempts: 8 });
    this.deps.jobs.define<{ episodeId: string }>(NOTICE_JOB, async ({ episodeId }) => this.tell(episodeId), { maxAttempts: 8 });
  }

  onNotice(l: NoticeListener): void {
    this.listeners.push(l);
  }

  /** The live feed the links module writes through: every change to an incident's links also queues a check. */
  watchLinks(live: LiveFeed): LiveFeed {
    const touch: LiveFeed['touch'] = async (tx, change) => {
      await live.touch(tx, change);
      if (change.topic === 'pagerduty_links' && change.incidentId) await this.queueCheck(change.incidentId, tx ?? undefined);
    };
    return new Proxy(live, {
      get(target, prop) {
        if (prop === 'touch') return touch;
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  async queueCheck(incidentId: string, tx?: Executor): Promise<void> {
    // No job key: a change made while a check runs must be checked again (a keyed job would be dropped).
    await this.deps.jobs.enqueue(CHECK_JOB, { incidentId }, { queue: `pd-all-resolved:${incidentId}`, priority: -2 }, tx);
  }

  /** Whether the triage setting is on (auto-decline leaves such incidents to it). */
  async automaticForTriage(): Promise<boolean> {
    return (await this.deps.settings.get()).automatic_for_triage;
  }

  /**
   * A PagerDuty incident resolved in the holding episode that a link now shows open again is asked of PagerDuty
   * before the episode ends: an old webhook delivered again sets a link's status back for a moment (the mirror then
   * reads the incident again), and that is no reason to ask people twice. What PagerDuty says is stored on the links.
   * A new link, or one marked related again, ends the episode without a read.
   */
  /** The PagerDuty incidents PagerDuty itself says are open again (null: PagerDuty cannot be asked, the links decide). */
  private async confirmReopened(incidentId: string): Promise<Set<string> | null> {
    const reopened = new Set<string>();
    const holding = await this.deps.db.selectFrom('pagerduty_all_resolved').select(['pagerduty']).where('incident_id', '=', incidentId).where('ended_at', 'is', null).executeTakeFirst();
    if (!holding) return reopened;
    const told = new Set((JSON.parse(holding.pagerduty) as ResolvedPd[]).map((p) => p.id));
    const back = related(await linksOfIncident(this.deps.db, incidentId)).filter((l) => l.pagerduty.status !== 'resolved' && told.has(l.pagerduty.id));
    if (back.length === 0) return reopened;
    // Each asked in the account of its link.
    for (const l of back) {
      const c = await this.deps.connected('background', l.account);
      if (!c) return null;
      const incident = await c.client.getIncident(l.pagerduty.id, { priority: 'background' });
      if (incident.status === 'resolved') await updateLinks(this.deps.db, l.pagerduty.id, summaryFromIncident(incident), this.deps.live, l.account);
      else reopened.add(l.pagerduty.id);
    }
    return reopened;
  }

  /** The check: starts or ends the incident's episode from its links as they are now. */
  async check(incidentId: string): Promise<void> {
    const reopened = await this.confirmReopened(incidentId);
    await inTransaction(this.deps.db, async (tx) => {
      const inc = await tx.selectFrom('incidents').select(['id', 'status_id']).where('id', '=', incidentId).executeTakeFirst();
      if (!inc) return;
      const statuses = await this.deps.incidents.listStatuses(tx);
      const current = statuses.find((s) => s.id === inc.status_id);
      if (!current) return;
      const links = related(await linksOfIncident(tx, incidentId));
      const latest = await tx.selectFrom('pagerduty_all_resolved').selectAll().where('incident_id', '=', incidentId).orderBy('episode', 'desc').limit(1).executeTakeFirst();
      const holding = latest && !latest.ended_at ? latest : null;
      // One the holding episode told as resolved is open only when PagerDuty said so just now (confirmReopened).
      const told = new Set(holding ? (JSON.parse(holding.pagerduty) as ResolvedPd[]).map((p) => p.id) : []);
      const open = links.filter((l) => l.pagerduty.status !== 'resolved' && (!told.has(l.pagerduty.id) || reopened === null || reopened.has(l.pagerduty.id)));

      if (links.length === 0 || open.length > 0) {
        if (!holding) return;
        const reason = open.length ? `${pdNames(open.map(toPd))} ${open.length === 1 ? 'is' : 'are'} open again` : 'no related PagerDuty incident is linked any more';
        const now = nowIso();
        const ended = await tx.updateTable('pagerduty_all_resolved').set({ ended_at: now, ended_reason: reason, updated_at: now }).where('id', '=', holding.id).where('ended_at', 'is', null).executeTakeFirst();
        // An unanswered message in the channel says it no longer holds (its buttons go).
        if (Number(ended.numUpdatedRows) > 0 && !holding.answer && holding.notice_status !== 'skipped') {
          await this.deps.jobs.enqueue(NOTICE_JOB, { episodeId: holding.id }, { jobKey: `pd-all-resolved-notice:${holding.id}:ended` }, tx);
        }
        return;
      }
      if (holding) return; // told already in this episode

      let mode: 'prompt' | 'automatic';
      if (current.category === 'live') mode = 'prompt';
      else if (current.category === 'triage') {
        // Only incidents opened from PagerDuty, and only when an admin turned the setting on.
        if (!links.some((l) => l.reason === 'source')) return;
        if (!(await this.deps.settings.get(tx)).automatic_for_triage) return;
        mode = 'automatic';
      } else return;

      const pagerduty = links.map(toPd);
      const id = newId();
      const now = nowIso();
      const inserted = await tx
        .insertInto('pagerduty_all_resolved')
        .values({
          id,
          incident_id: incidentId,
          episode: (latest ? Number(latest.episode) : 0) + 1,
          mode,
          pagerduty: JSON.stringify(pagerduty),
          choices: JSON.stringify(mode === 'prompt' ? choicesFor(current, statuses) : []),
          answer: null,
          answered_by: null,
          answered_at: null,
          outcome: null,
          ended_at: null,
          ended_reason: null,
          notice_status: 'pending',
          notice_channel: null,
          notice_ts: null,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.columns(['incident_id', 'episode']).doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) return; // another check recorded it
      if (mode === 'prompt') {
        await addTimelineItem(tx, this.deps.events, {
          incidentId,
          kind: 'pagerduty.all_resolved',
          actor: PD_ACTOR,
          dedupeKey: `pd-all-resolved:${id}`,
          payload: { episodeId: id, pagerduty, automatic: false, text: `All linked PagerDuty incidents are resolved: ${pdNames(pagerduty)}` },
        });
        await this.deps.jobs.enqueue(NOTICE_JOB, { episodeId: id }, { jobKey: `pd-all-resolved-notice:${id}` }, tx);
      } else {
        await this.deps.jobs.enqueue(ACT_JOB, { episodeId: id }, { jobKey: `pd-all-resolved-act:${id}` }, tx);
      }
    });
  }

  /**
   * The setting's action on a triage incident opened from PagerDuty, as PagerDuty: decline, accept into a live
   * status, or accept and close. A retry after a crash finds the change made (the incident left triage through
   * PagerDuty's own status change since the episode began) and does not make it again.
   */
  async act(episodeId: string): Promise<void> {
    const ep = await this.deps.db.selectFrom('pagerduty_all_resolved').selectAll().where('id', '=', episodeId).executeTakeFirst();
    if (!ep || ep.answer || ep.ended_at) return;
    const pagerduty = JSON.parse(ep.pagerduty) as ResolvedPd[];
    const settings = await this.deps.settings.get();
    const statuses = await this.deps.incidents.listStatuses();
    const target = statuses.find((s) => s.id === settings.status_id && ['live', 'closed', 'declined'].includes(s.category)) ?? statuses.find((s) => s.category === 'closed') ?? null;
    const why = `all its linked PagerDuty incidents (${pdNames(pagerduty)}) were resolved in PagerDuty while it was in triage`;
    const ours = async () => {
      const items = await this.deps.incidents.timeline(ep.incident_id);
      return items.some((i) => i.kind === 'status_changed' && i.actor.kind === 'integration' && i.actor.ref === 'pagerduty' && i.occurredAt >= ep.created_at);
    };
    let outcome: string;
    try {
      let inc = await this.deps.incidents.getIncident(ep.incident_id);
      if (!target) outcome = 'Nothing was done: no closed status is configured';
      else if (inc.status.category !== 'triage' && !(await ours())) outcome = `Nothing was done: it was already ${inc.status.name}`;
      else {
        if (inc.status.category === 'triage') {
          if (target.category === 'declined') await this.deps.incidents.decline(inc.id, { reason: `Declined automatically: ${why}` }, PD_ACTOR);
          else await this.deps.incidents.accept(inc.id, target.category === 'live' ? { statusId: target.id } : {}, PD_ACTOR);
          inc = await this.deps.incidents.getIncident(inc.id);
        }
        if (target.category === 'closed' && inc.status.category === 'live') inc = await this.deps.incidents.close(inc.id, PD_ACTOR);
        outcome = target.category === 'closed' ? 'Closed automatically' : target.category === 'declined' ? 'Declined automatically' : `Moved to ${target.name} automatically`;
      }
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      const now = await this.deps.incidents.getIncident(ep.incident_id);
      outcome = `${target?.name ?? 'Closed'} was refused (${err.message}); it is ${now.status.name} now`;
    }
    await inTransaction(this.deps.db, async (tx) => {
      const now = nowIso();
      const done = await tx.updateTable('pagerduty_all_resolved').set({ answer: 'automatic', answered_at: now, outcome, updated_at: now }).where('id', '=', ep.id).where('answer', 'is', null).executeTakeFirst();
      if (Number(done.numUpdatedRows) === 0) return;
      await addTimelineItem(tx, this.deps.events, {
        incidentId: ep.incident_id,
        kind: 'pagerduty.all_resolved',
        actor: PD_ACTOR,
        dedupeKey: `pd-all-resolved:${ep.id}`,
        payload: { episodeId: ep.id, pagerduty, automatic: true, outcome, text: `${outcome}: ${why} (setting: close triage incidents from PagerDuty when all their PagerDuty incidents resolve)` },
      });
      await this.deps.jobs.enqueue(NOTICE_JOB, { episodeId: ep.id }, { jobKey: `pd-all-resolved-notice:${ep.id}` }, tx);
    });
  }

  /**
   * A person's answer from the message: claimed once (a second click, or one after a PagerDuty incident opened
   * again, is refused with what happened), then the status change as that person; a refused change frees the claim.
   */
  async answer(episodeId: string, choice: string, actor: Actor): Promise<{ done: string }> {
    const load = async () => {
      const ep = await this.deps.db.selectFrom('pagerduty_all_resolved').selectAll().where('id', '=', episodeId).executeTakeFirst();
      if (!ep) throw new NotFoundError('All-resolved notice', episodeId);
      return ep;
    };
    const refuse = (ep: PagerDutyAllResolvedTable) => {
      if (ep.answer) return new ConflictError('already_answered', `This was already answered: ${ep.outcome ?? 'it is being done'}.`);
      return new ConflictError('no_longer_resolved', `This no longer holds: ${ep.ended_reason ?? 'a PagerDuty incident is open again'}. Nothing was changed.`);
    };
    const ep = await load();
    if (ep.answer || ep.ended_at) throw refuse(ep);
    const c = (JSON.parse(ep.choices) as Choice[]).find((x) => x.choice === choice);
    if (!c) throw new ValidationError(`"${choice}" is not one of the choices offered.`, [{ path: 'choice', message: 'not offered' }]);
    const at = nowIso();
    const claimed = await this.deps.db
      .updateTable('pagerduty_all_resolved')
      .set({ answer: c.choice, answered_by: actor.userId ?? null, answered_at: at, updated_at: at })
      .where('id', '=', ep.id)
      .where('answer', 'is', null)
      .where('ended_at', 'is', null)
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) === 0) throw refuse(await load());
    const who = actor.userId ? ((await this.deps.db.selectFrom('users').select('name').where('id', '=', actor.userId).executeTakeFirst())?.name ?? 'Someone') : 'Someone';
    let done: string;
    try {
      if (c.choice === 'monitoring') {
        const inc = await this.deps.incidents.changeStatus(ep.incident_id, c.statusId ?? '', actor);
        done = `Moved to ${inc.status.name}`;
      } else if (c.choice === 'close') {
        await this.deps.incidents.close(ep.incident_id, actor);
        done = 'Closed the incident';
      } else {
        done = 'Kept open';
      }
    } catch (err) {
      await this.deps.db.updateTable('pagerduty_all_resolved').set({ answer: null, answered_by: null, answered_at: null, updated_at: nowIso() }).where('id', '=', ep.id).where('outcome', 'is', null).execute();
      throw err;
    }
    await inTransaction(this.deps.db, async (tx) => {
      await tx.updateTable('pagerduty_all_resolved').set({ outcome: `${done} by ${who}`, updated_at: nowIso() }).where('id', '=', ep.id).execute();
      if (c.choice === 'keep_open') {
        await addTimelineItem(tx, this.deps.events, {
          incidentId: ep.incident_id,
          kind: 'pagerduty.all_resolved_kept_open',
          actor,
          dedupeKey: `pd-all-resolved-kept:${ep.id}`,
          payload: { episodeId: ep.id, text: `${who} kept the incident open after all its linked PagerDuty incidents were resolved` },
        });
      }
    });
    return { done };
  }

  /** The notice job: every front is told the episode as it is now; a failure is retried (the front records its post). */
  private async tell(episodeId: string): Promise<void> {
    const n = await this.notice(episodeId);
    if (!n) return;
    for (const l of this.listeners) await l(n);
  }

  async notice(episodeId: string): Promise<AllResolvedNotice | null> {
    const ep = await this.deps.db.selectFrom('pagerduty_all_resolved').selectAll().where('id', '=', episodeId).executeTakeFirst();
    if (!ep) return null;
    const open = !ep.answer && !ep.ended_at;
    return {
      episodeId: ep.id,
      incidentId: ep.incident_id,
      mode: ep.mode,
      pagerduty: JSON.parse(ep.pagerduty) as ResolvedPd[],
      choices: open && ep.mode === 'prompt' ? (JSON.parse(ep.choices) as Choice[]).map((c) => ({ choice: c.choice, label: c.label })) : [],
      outcome: ep.outcome,
      ended: ep.answer ? null : ep.ended_reason,
      notice: { status: ep.notice_status, channel: ep.notice_channel, ts: ep.notice_ts },
      createdAt: ep.created_at,
    };
  }

  /** The front records where it posts: 'sending' before it calls Slack, 'posted' with the message after, or 'skipped'. */
  async recordNotice(episodeId: string, status: 'sending' | 'posted' | 'skipped', where: { channel?: string | null; ts?: string | null } = {}): Promise<void> {
    await this.deps.db
      .updateTable('pagerduty_all_resolved')
      .set({ notice_status: status, ...(where.channel !== undefined ? { notice_channel: where.channel } : {}), ...(where.ts !== undefined ? { notice_ts: where.ts } : {}), updated_at: nowIso() })
      .where('id', '=', episodeId)
      .execute();
  }
}
