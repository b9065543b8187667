import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../../../platform/db/index.js';
import { createLogger } from '../../../platform/logger.js';
import { migrations } from '../../../migrations.js';
import { createSqliteJobQueue } from '../../../platform/jobs/index.js';
import type { PdWebhookEvent } from '../client/events.js';
import { WebhookDrain } from './drain.js';

// The drain applies a PagerDuty incident's events in arrival order, and different incidents side by side.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('webhook drain lanes', () => {
  let dir: string;
  let handle: DatabaseHandle;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fb-drain-'));
    handle = openDatabase({ kind: 'sqlite', file: join(dir, 'db.sqlite') });
    await migrateToLatest(handle.db, migrations);
  });
  afterEach(async () => {
    await handle.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  async function store(n: number, incidents: number) {
    for (let i = 0; i < n; i++) {
      const pd = `PINC${i % incidents}`;
      const payload = JSON.stringify({ event: { id: `ev-${i}`, event_type: 'incident.acknowledged', resource_type: 'incident', occurred_at: new Date(1_800_000_000_000 + i).toISOString(), data: { id: pd, type: 'incident', status: 'acknowledged' } } });
      await handle.db
        .insertInto('pagerduty_webhook_events')
        .values({ delivery_id: `d-${String(i).padStart(4, '0')}`, event_id: `ev-${i}`, event_type: 'incident.acknowledged', resource_type: 'incident', resource_id: pd, occurred_at: null, payload, received_at: new Date(1_800_000_000_000 + i).toISOString(), applied_at: null, outcome: null })
        .execute();
    }
  }

  it('keeps arrival order per PagerDuty incident while applying incidents side by side, each delivery once', async () => {
    await store(40, 5);
    const drain = new WebhookDrain({ db: handle.db, logger: createLogger('silent'), lanes: 4 });
    const seen = new Map<string, number[]>();
    let active = 0;
    let most = 0;
    drain.subscribe(async (ev: PdWebhookEvent) => {
      active++;
      most = Math.max(most, active);
      await sleep(Number(ev.id.slice(3)) % 3 === 0 ? 8 : 1); // uneven, so a later event could overtake
      const pd = String(ev.data.id);
      seen.set(pd, [...(seen.get(pd) ?? []), Number(ev.id.slice(3))]);
      active--;
      return 'done';
    });
    expect(await drain.drain()).toBe(40);
    expect(most).toBe(4);
    for (const [, order] of seen) expect(order).toEqual([...order].sort((a, b) => a - b));
    expect([...seen.values()].flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const left = await handle.db.selectFrom('pagerduty_webhook_events').select('delivery_id').where('applied_at', 'is', null).execute();
    expect(left).toEqual([]);
    expect(await drain.drain()).toBe(0);
  });

  it('a failing event stops its own incident (order kept for the retry), not the others, and what applied is marked', async () => {
    await store(10, 2);
    const drain = new WebhookDrain({ db: handle.db, logger: createLogger('silent'), lanes: 2 });
    const applied: number[] = [];
    drain.subscribe(async (ev: PdWebhookEvent) => {
      const i = Number(ev.id.slice(3));
      if (i === 2) throw new Error('PINC0 is not ready');
      applied.push(i);
    });
    await expect(drain.drain()).rejects.toThrow('PINC0 is not ready');
    // PINC0 has 0, 2, 4, 6, 8: only 0 applied; PINC1 (1, 3, 5, 7, 9) all applied.
    expect(applied.sort((a, b) => a - b)).toEqual([0, 1, 3, 5, 7, 9]);
    const left = await handle.db.selectFrom('pagerduty_webhook_events').select('delivery_id').where('applied_at', 'is', null).orderBy('delivery_id').execute();
    expect(left.map((r) => r.delivery_id)).toEqual(['d-0002', 'd-0004', 'd-0006', 'd-0008']);
  });

  const jobsStored = async () => (await handle.db.selectFrom('jobs').select('payload').where('name', '=', 'follow-up').execute()).map((r) => JSON.parse(r.payload) as number[]);
  const unapplied = async () => (await handle.db.selectFrom('pagerduty_webhook_events').select('delivery_id').where('applied_at', 'is', null).orderBy('delivery_id').execute()).map((r) => r.delivery_id);

  it('a batch subscriber gets what applied, in arrival order, and queues its work in the transaction that marks it', async () => {
    await store(6, 2);
    const jobs = createSqliteJobQueue({ db: handle.db });
    const drain = new WebhookDrain({ db: handle.db, logger: createLogger('silent'), lanes: 2 });
    drain.subscribe(async (ev) => {
      if (ev.id === 'ev-0') await sleep(30); // PINC1's events finish first
      if (ev.id === 'ev-2') throw new Error('PINC0 is not ready');
    });
    const batches: number[][] = [];
    drain.onApplied(async (events, tx) => {
      const ids = events.map((e) => Number(e.id.slice(3)));
      batches.push(ids);
      await jobs.enqueue('follow-up', ids, {}, tx);
    });
    await expect(drain.drain()).rejects.toThrow('PINC0 is not ready');
    // PINC0 has 0, 2, 4 (stops at 2); PINC1 has 1, 3, 5: one call for the batch, in arrival order.
    expect(batches).toEqual([[0, 1, 3, 5]]);
    expect(await jobsStored()).toEqual([[0, 1, 3, 5]]);
    expect(await unapplied()).toEqual(['d-0002', 'd-0004']);
  });

  it('when the batch subscriber fails, nothing of the batch is marked and nothing it queued exists; the next drain applies it all once', async () => {
    await store(4, 2);
    const jobs = createSqliteJobQueue({ db: handle.db });
    const drain = new WebhookDrain({ db: handle.db, logger: createLogger('silent'), lanes: 2 });
    const applied: number[] = [];
    drain.subscribe(async (ev) => {
      applied.push(Number(ev.id.slice(3)));
    });
    let fail = true;
    drain.onApplied(async (events, tx) => {
      await jobs.enqueue('follow-up', events.map((e) => Number(e.id.slice(3))), {}, tx);
      if (fail) throw new Error('the database went away');
    });
    await expect(drain.drain()).rejects.toThrow('the database went away');
    expect(await unapplied()).toEqual(['d-0000', 'd-0001', 'd-0002', 'd-0003']);
    expect(await jobsStored()).toEqual([]);
    fail = false;
    expect(await drain.drain()).toBe(4);
    expect(await unapplied()).toEqual([]);
    // Applied again (subscribers are idempotent), but the follow-up work exists once.
    expect(applied.sort((a, b) => a - b)).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    expect(await jobsStored()).toEqual([[0, 1, 2, 3]]);
  });
});
