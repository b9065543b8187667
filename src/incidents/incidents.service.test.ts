import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, freshPostgresDatabase } from '../../test/helpers.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../platform/db/index.js';
import { coreMigrations } from '../platform/db/migrations/index.js';
import { EventBus, type DomainEvent } from '../platform/events.js';
import { createJobQueue } from '../platform/jobs/index.js';
import type { JobQueue } from '../platform/jobs/types.js';
import { IncidentsService } from './incidents.service.js';

// The incidents repository on each backend: atomic changes, events delivered through the queue, numbers.

describe.each(backends)('incidents service on %s', (backend) => {
  let handle: DatabaseHandle;
  let jobs: JobQueue;
  let svc: IncidentsService;
  let cleanup: () => Promise<void>;
  const received: DomainEvent[] = [];
  const user = { kind: 'system' as const, ref: 'test' };

  beforeAll(async () => {
    if (backend === 'postgres') {
      const pgDb = await freshPostgresDatabase();
      handle = openDatabase({ kind: 'postgres', url: pgDb.url });
      cleanup = pgDb.drop;
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'fb-svc-'));
      handle = openDatabase({ kind: 'sqlite', file: join(dir, 'db.sqlite') });
      cleanup = async () => rmSync(dir, { recursive: true, force: true });
    }
    await migrateToLatest(handle.db, coreMigrations);
    jobs = createJobQueue(handle, { concurrency: 2 });
    const events = new EventBus(jobs);
    events.subscribe('recorder', 'all', async (e) => {
      received.push(e);
    });
    events.markStarted();
    svc = new IncidentsService(handle.db, events, handle.dialect);
    await jobs.start();
  });
  afterAll(async () => {
    await jobs?.stop({ timeoutMs: 1000 });
    await handle?.destroy();
    await cleanup?.();
  });

  it('delivers every change as a domain event to subscribers, in order per incident', async () => {
    const { incident } = await svc.createIncident({ name: 'Deliver me', triage: true }, user);
    await svc.accept(incident.id, {}, user);
    await svc.changeStatus(incident.id, 'fixing', user);
    await svc.close(incident.id, user);
    await jobs.drain(10_000);
    const mine = received.filter((e) => e.incidentId === incident.id && e.type !== 'incident.timeline_item_added');
    expect(mine.map((e) => [e.type, e.data.action ?? null])).toEqual([
      ['incident.created', null],
      ['incident.status_changed', 'accept'],
      ['incident.status_changed', 'status'],
      ['incident.status_changed', 'close'],
    ]);
    expect(mine.every((e) => e.actor.kind === 'system')).toBe(true);
    // One transaction's events reach a subscriber in the order they were published (one job carries them).
    const all = received.filter((e) => e.incidentId === incident.id).map((e) => e.type);
    expect(all.slice(0, 2)).toEqual(['incident.timeline_item_added', 'incident.created']);
    expect(all.slice(2, 4)).toEqual(['incident.timeline_item_added', 'incident.status_changed']);
  });

  it('writes nothing when any part of a change fails (no incident, no timeline, no event, number not used)', async () => {
    const before = await counts();
    const down = async () => { throw new Error('queue down'); };
    const downQueue = { define() {}, enqueue: down, enqueueMany: down } as unknown as JobQueue;
    const failing = new EventBus(downQueue);
    failing.subscribe('boom', 'all', async () => {});
    const broken = new IncidentsService(handle.db, failing, handle.dialect);
    await expect(broken.createIncident({ name: 'Half-written?' }, user)).rejects.toThrow('queue down');
    expect(await counts()).toEqual(before);
    const next = await svc.createIncident({ name: 'After failure' }, user);
    const seq = await handle.db.selectFrom('incidents').select('number').orderBy('number', 'desc').limit(2).execute();
    // SQLite rolls the counter back with the rest; PostgreSQL's sequence may leave a gap, never a repeat.
    if (backend === 'sqlite') expect(next.incident.number).toBe(Number(seq[1]?.number ?? 0) + 1);
    else expect(next.incident.number).toBeGreaterThan(Number(seq[1]?.number ?? 0));
  });

  it('never hands out the same reference twice under concurrent creation', async () => {
    const made = await Promise.all(Array.from({ length: 30 }, (_, i) => svc.createIncident({ name: `Burst ${i}` }, user)));
    const numbers = made.map((m) => m.incident.number);
    expect(new Set(numbers).size).toBe(30);
    const all = await handle.db.selectFrom('incidents').select('number').execute();
    expect(new Set(all.map((r) => Number(r.number))).size).toBe(all.length);
  });

  it('applies concurrent actions on one incident one at a time', async () => {
    const { incident } = await svc.createIncident({ name: 'Race', triage: true }, user);
    const results = await Promise.allSettled([svc.accept(incident.id, {}, user), svc.decline(incident.id, {}, user), svc.accept(incident.id, {}, user)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const tl = await svc.timeline(incident.id);
    expect(tl.filter((i) => i.kind === 'status_changed')).toHaveLength(1);
  });

  async function counts() {
    const n = async (t: 'incidents' | 'timeline_items' | 'domain_events') => Number((await handle.db.selectFrom(t).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    return { incidents: await n('incidents'), timeline: await n('timeline_items'), events: await n('domain_events') };
  }
});
