import { beforeCommit, type Executor } from './db/index.js';
import { newId, nowIso } from './ids.js';
import type { JobQueue, NewJob } from './jobs/types.js';
import type { LiveFeed, LiveTopic } from './live.js';

// Domain events: what happened in the core, for integrations to react to. Publishing writes the event and
// its subscribers' jobs in the caller's transaction (an outbox): the event is delivered exactly when the
// change commits, at least once, in order per incident for each subscriber. The core never imports an
// integration; integrations subscribe at start-up. Publishing also touches the live feed (live.ts) in the same
// transaction, so pages showing the incident reload when the change commits.

export type ActorKind = 'user' | 'integration' | 'workflow' | 'system';
export interface Actor {
  kind: ActorKind;
  userId?: string | null;
  /** Names the integration, workflow or API key when kind is not 'user'. */
  ref?: string | null;
}

export type DomainEventType =
  | 'incident.created'
  | 'incident.updated'
  | 'incident.status_changed'
  | 'incident.severity_changed'
  | 'incident.lead_changed'
  | 'incident.custom_field_changed'
  | 'incident.timeline_item_added'
  /** An update was posted: `data` = { updateId (incident_updates row), message, status (name), severity (name), summary (null when unchanged) }. */
  | 'incident.update_posted'
  /** A role was given or taken (`data.roleId`, `data.userId` or null when cleared). */
  | 'incident.role_assigned'
  /** A follow-up was created or changed (`data.followUpId`, `data.change`: created | updated). */
  | 'incident.follow_up_changed'
  /** One of the incident's timestamps was set, changed or cleared (`data.kind`, `data.source`). */
  | 'incident.timestamp_changed';

export interface DomainEvent<T extends DomainEventType = DomainEventType> {
  id: string;
  type: T;
  incidentId: string | null;
  actor: Actor;
  occurredAt: string;
  data: Record<string, unknown>;
}

export type EventHandler = (event: DomainEvent) => Promise<void>;

interface Subscription {
  name: string;
  types: Set<DomainEventType> | 'all';
  handler: EventHandler;
}

/** A subscriber's job carries one event, or the events of one transaction for one incident, in order. */
type EventJob = DomainEvent | { events: DomainEvent[] };

export class EventBus {
  private readonly subs = new Map<string, Subscription>();
  private started = false;
  /** Events published in a transaction opened by inTransaction, written together just before it commits. */
  private readonly pending = new WeakMap<object, DomainEvent[]>();

  constructor(
    private readonly jobs: JobQueue,
    private readonly live: LiveFeed | null = null,
  ) {}

  /** Register before start(); `name` is stable (it names the subscriber's job). */
  subscribe(name: string, types: DomainEventType[] | 'all', handler: EventHandler): void {
    if (this.started) throw new Error(`subscribe(${name}) after the event bus started`);
    if (this.subs.has(name)) throw new Error(`duplicate event subscriber ${name}`);
    const sub: Subscription = { name, types: types === 'all' ? 'all' : new Set(types), handler };
    this.subs.set(name, sub);
    this.jobs.define<EventJob>(jobName(name), async (job) => {
      if ('events' in job) for (const event of job.events) await sub.handler(event);
      else await sub.handler(job);
    });
  }

  markStarted(): void {
    this.started = true;
  }

  /**
   * Publishes in `tx`: the event and its subscribers' jobs exist exactly when `tx` commits. In a transaction
   * opened by inTransaction the transaction's events are written together just before COMMIT (one insert of
   * events, one of jobs, one of live changes, instead of a few statements per event while the transaction
   * waits), else at once.
   */
  async publish(
    tx: Executor,
    input: { type: DomainEventType; incidentId: string | null; actor: Actor; data: Record<string, unknown> },
  ): Promise<DomainEvent> {
    const event: DomainEvent = { id: newId(), occurredAt: nowIso(), ...input };
    const batch = this.pending.get(tx);
    if (batch) {
      batch.push(event);
      return event;
    }
    const events = [event];
    if (
      beforeCommit(tx, async () => {
        this.pending.delete(tx);
        await this.write(tx, events);
      })
    ) {
      this.pending.set(tx, events);
    } else {
      await this.write(tx, events);
    }
    return event;
  }

  /**
   * Stores the events and enqueues, per subscriber, one job per incident carrying that incident's events in
   * order (the job runs on the subscriber's queue for the incident, so order per incident per subscriber holds
   * within and across transactions); events without an incident get a job each.
   */
  private async write(tx: Executor, events: DomainEvent[]): Promise<void> {
    await tx
      .insertInto('domain_events')
      .values(events.map((e) => ({ id: e.id, type: e.type, incident_id: e.incidentId, payload: JSON.stringify(e), created_at: e.occurredAt })))
      .execute();
    if (this.live) {
      for (const e of events) for (const topic of liveTopicsOf(e.type)) await this.live.touch(tx, { topic, incidentId: e.incidentId });
    }
    const jobs: NewJob[] = [];
    for (const sub of this.subs.values()) {
      const byIncident = new Map<string, DomainEvent[]>();
      for (const e of events) {
        if (sub.types !== 'all' && !sub.types.has(e.type)) continue;
        if (!e.incidentId) {
          jobs.push({ name: jobName(sub.name), payload: e });
          continue;
        }
        const list = byIncident.get(e.incidentId);
        if (list) list.push(e);
        else byIncident.set(e.incidentId, [e]);
      }
      for (const [incidentId, list] of byIncident) {
        // No job key: the event id is new, so a key would dedupe nothing and cost the queue a statement per job.
        jobs.push({ name: jobName(sub.name), payload: list.length === 1 ? list[0] : { events: list }, opts: { queue: `ev:${sub.name}:${incidentId}` } });
      }
    }
    if (jobs.length > 0) await this.jobs.enqueueMany(jobs, tx);
  }
}

/** What pages an event changes: the incident (and the list it appears in), or its timeline. */
function liveTopicsOf(type: DomainEventType): LiveTopic[] {
  return type === 'incident.timeline_item_added' ? ['timeline'] : ['incident', 'incidents'];
}

function jobName(subscriber: string): string {
  return `event:${subscriber}`;
}
