import type { Executor } from './db/index.js';
import { newId, nowIso } from './ids.js';
import type { JobQueue } from './jobs/types.js';
import type { LiveFeed, LiveTopic } from './live.js';

// Domain events: what happened in the core, for integrations to react to. Publishing writes the event and
// one job per subscriber in the caller's transaction (an outbox): the event is delivered exactly when the
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
  | 'incident.timeline_item_added';

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

export class EventBus {
  private readonly subs = new Map<string, Subscription>();
  private started = false;

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
    this.jobs.define<DomainEvent>(jobName(name), (event) => sub.handler(event));
  }

  markStarted(): void {
    this.started = true;
  }

  async publish(
    tx: Executor,
    input: { type: DomainEventType; incidentId: string | null; actor: Actor; data: Record<string, unknown> },
  ): Promise<DomainEvent> {
    const event: DomainEvent = { id: newId(), occurredAt: nowIso(), ...input };
    await tx
      .insertInto('domain_events')
      .values({ id: event.id, type: event.type, incident_id: event.incidentId, payload: JSON.stringify(event), created_at: event.occurredAt })
      .execute();
    if (this.live) {
      for (const topic of liveTopicsOf(event.type)) await this.live.touch(tx, { topic, incidentId: event.incidentId });
    }
    for (const sub of this.subs.values()) {
      if (sub.types !== 'all' && !sub.types.has(event.type)) continue;
      // No job key: the event id is new, so a key would dedupe nothing and cost the queue a statement per job.
      await this.jobs.enqueue(jobName(sub.name), event, { queue: event.incidentId ? `ev:${sub.name}:${event.incidentId}` : undefined }, tx);
    }
    return event;
  }
}

/** What pages an event changes: the incident (and the list it appears in), or its timeline. */
function liveTopicsOf(type: DomainEventType): LiveTopic[] {
  return type === 'incident.timeline_item_added' ? ['timeline'] : ['incident', 'incidents'];
}

function jobName(subscriber: string): string {
  return `event:${subscriber}`;
}
