// The JobQueue contract, run against every adapter (queue.contract.harness.ts): running a job, job keys,
// delays, the outbox and per-queue order.
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { expect, it } from 'vitest';
import { beforeCommit, inTransaction, type Db } from '../db/index.js';
import { describeContract, sleep, waitFor } from './queue.contract.harness.js';
import type { JobEvent } from './types.js';

describeContract('basics', (t) => {
  const { queue } = t;

  it('runs a job with its payload intact and reports it', async () => {
    const q = queue();
    const seen: Array<{ payload: unknown; attempt: number; maxAttempts: number; name: string }> = [];
    const events: JobEvent[] = [];
    q.onEvent((e) => events.push(e));
    q.define('echo', async (payload, ctx) => {
      seen.push({ payload, attempt: ctx.attempt, maxAttempts: ctx.maxAttempts, name: ctx.name });
    }, { maxAttempts: 3 });
    await q.start();
    const payload = { s: 'héllo ✓ "quoted"', n: 42.5, neg: -1, b: false, nil: null, list: [1, 'two', { three: 3 }], nested: { deep: { x: [] } } };
    await q.enqueue('echo', payload);
    await q.drain();
    expect(seen).toEqual([{ payload, attempt: 1, maxAttempts: 3, name: 'echo' }]);
    expect(events.map((e) => [e.type, e.name, e.attempt])).toEqual([['completed', 'echo', 1]]);
    expect(await q.stats()).toEqual({ pending: 0, running: 0, dead: 0 });
    expect(await q.healthy()).toBe(true);
  });

  it('dedupes by job key while the job is pending or running, and not after it finished', async () => {
    const q = queue();
    const runs: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    q.define<{ v: string }>('keyed', async (p) => {
      runs.push(p.v);
      if (p.v === 'while-pending-1') await gate;
    });
    // Pending: three enqueues with one key before the queue runs anything.
    await q.enqueue('keyed', { v: 'while-pending-1' }, { jobKey: 'k1' });
    await q.enqueue('keyed', { v: 'while-pending-2' }, { jobKey: 'k1' });
    await q.enqueue('keyed', { v: 'while-pending-3' }, { jobKey: 'k1' });
    expect((await q.stats()).pending).toBe(1);
    await q.start();
    await waitFor('the keyed job to start', () => runs.length === 1);
    // Running: still deduped.
    await q.enqueue('keyed', { v: 'while-running' }, { jobKey: 'k1' });
    release();
    await q.drain();
    expect(runs).toEqual(['while-pending-1']);
    // Finished: the key is free again.
    await q.enqueue('keyed', { v: 'after-done' }, { jobKey: 'k1' });
    await q.drain();
    expect(runs).toEqual(['while-pending-1', 'after-done']);
  });

  it('does not run a delayed job before its time', async () => {
    const q = queue();
    const ranAt: Record<string, number> = {};
    q.define<{ id: string }>('later', async (p) => {
      ranAt[p.id] = Date.now();
    });
    await q.start();
    const t0 = Date.now();
    await q.enqueue('later', { id: 'delay' }, { delayMs: 600 });
    await q.enqueue('later', { id: 'runAt' }, { runAt: new Date(t0 + 900) });
    await q.enqueue('later', { id: 'now' }, {});
    await sleep(400);
    expect(Object.keys(ranAt)).toEqual(['now']);
    await waitFor('both delayed jobs', () => ranAt.delay !== undefined && ranAt.runAt !== undefined);
    // 15 ms tolerance: PostgreSQL and Node read the same clock, but round differently.
    expect(ranAt.delay! - t0).toBeGreaterThanOrEqual(600 - 15);
    expect(ranAt.runAt! - t0).toBeGreaterThanOrEqual(900 - 15);
  });

  it('outbox: a job enqueued in a transaction exists exactly when the transaction commits', async () => {
    const q = queue();
    const ran: string[] = [];
    q.define<{ v: string }>('outbox', async (p) => {
      ran.push(p.v);
    });
    await q.start();
    await expect(
      t.env.db.transaction().execute(async (tx) => {
        await q.enqueue('outbox', { v: 'rolled-back' }, {}, tx);
        throw new Error('abort the transaction');
      }),
    ).rejects.toThrow('abort the transaction');
    await t.env.db.transaction().execute(async (tx) => {
      await q.enqueue('outbox', { v: 'committed' }, {}, tx);
      // Not visible (so not runnable) before commit.
      await sleep(150);
      expect(ran).toEqual([]);
    });
    await waitFor('the committed job', () => ran.length > 0);
    await sleep(150);
    await q.drain();
    expect(ran).toEqual(['committed']);
    expect(await q.stats()).toEqual({ pending: 0, running: 0, dead: 0 });
  });

  it('enqueueMany in a transaction (inTransaction): all jobs or none, each queue in the order given, keys deduped', async () => {
    const q = queue({ concurrency: 4 });
    const ran: string[] = [];
    q.define<{ v: string }>('many', async (p) => {
      ran.push(p.v);
      await sleep(5);
    });
    await q.start();
    await expect(
      inTransaction(t.env.db, async (tx) => {
        await q.enqueueMany([{ name: 'many', payload: { v: 'rolled-back' } }], tx);
        throw new Error('abort the transaction');
      }),
    ).rejects.toThrow('abort the transaction');
    await inTransaction(t.env.db, async (tx) => {
      await q.enqueueMany(
        [
          ...Array.from({ length: 6 }, (_, i) => ({ name: 'many', payload: { v: `a${i}` }, opts: { queue: 'incident-a' } })),
          { name: 'many', payload: { v: 'keyed' }, opts: { jobKey: 'once' } },
          { name: 'many', payload: { v: 'keyed-again' }, opts: { jobKey: 'once' } },
          ...Array.from({ length: 6 }, (_, i) => ({ name: 'many', payload: { v: `b${i}` }, opts: { queue: 'incident-b' } })),
        ],
        tx,
      );
      await sleep(150);
      expect(ran).toEqual([]); // not runnable before commit
    });
    await waitFor('the committed jobs', () => ran.length === 13);
    await q.drain();
    expect(ran.filter((v) => v.startsWith('a'))).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5']);
    expect(ran.filter((v) => v.startsWith('b'))).toEqual(['b0', 'b1', 'b2', 'b3', 'b4', 'b5']);
    expect(ran.filter((v) => v.startsWith('keyed'))).toEqual(['keyed']);
    expect(await q.stats()).toEqual({ pending: 0, running: 0, dead: 0 });
  });

  it('jobs a transaction adds at several moments, also from work just before its commit, run in order once it commits (PostgreSQL: one insert)', async () => {
    const q = queue({ concurrency: 2 });
    const ran: string[] = [];
    q.define<{ v: string }>('gathered', async (p) => void ran.push(p.v));
    await q.start();
    // On PostgreSQL the transaction runs on a connection of its own whose statements are counted.
    const inserts: string[] = [];
    const pool = q.kind === 'postgres' ? new pg.Pool({ connectionString: process.env.TEST_DATABASE_URL, max: 1 }) : null;
    const db = pool ? (new Kysely<any>({ dialect: new PostgresDialect({ pool }), log: (e) => void (/add_jobs/.test(e.query.sql) && inserts.push(e.query.sql)) }) as unknown as Db) : t.env.db;
    try {
      await inTransaction(db, async (tx) => {
        await q.enqueueMany([{ name: 'gathered', payload: { v: 'first' }, opts: { queue: 'one' } }], tx);
        beforeCommit(tx, () => q.enqueue('gathered', { v: 'from the work before commit' }, { queue: 'one' }, tx));
        await q.enqueue('gathered', { v: 'second' }, { queue: 'one' }, tx);
        await q.enqueueMany([{ name: 'gathered', payload: { v: 'elsewhere' }, opts: { queue: 'two' } }], tx);
      });
      await waitFor('the committed jobs', () => ran.length === 4);
      expect(ran.filter((v) => v !== 'elsewhere')).toEqual(['first', 'second', 'from the work before commit']);
      expect(ran).toContain('elsewhere');
      if (pool) expect(inserts).toHaveLength(1);
    } finally {
      await pool?.end();
    }
  });

  it('enqueueMany in a transaction keeps the key rules of enqueue: a running job holds its key, a finished one frees it', async () => {
    const q = queue({ concurrency: 2 });
    const ran: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    q.define<{ v: string }>('keyed-many', async (p) => {
      ran.push(p.v);
      if (p.v === 'first') await held;
    });
    await q.start();
    await q.enqueue('keyed-many', { v: 'first' }, { jobKey: 'k' });
    await waitFor('the first job to run', () => ran.includes('first'));
    await inTransaction(t.env.db, (tx) =>
      q.enqueueMany(
        [
          { name: 'keyed-many', payload: { v: 'while-running' }, opts: { jobKey: 'k' } },
          { name: 'keyed-many', payload: { v: 'other' }, opts: { jobKey: 'k2' } },
          { name: 'keyed-many', payload: { v: 'other-again' }, opts: { jobKey: 'k2' } },
        ],
        tx,
      ),
    );
    await waitFor('the other key', () => ran.includes('other'));
    release();
    await q.drain();
    await inTransaction(t.env.db, (tx) => q.enqueueMany([{ name: 'keyed-many', payload: { v: 'after-done' }, opts: { jobKey: 'k' } }], tx));
    await waitFor('the job after the first finished', () => ran.includes('after-done'));
    await q.drain();
    expect(ran.sort()).toEqual(['after-done', 'first', 'other']);
    expect(await q.stats()).toEqual({ pending: 0, running: 0, dead: 0 });
  });

  it('runs jobs of one queue name one at a time, in enqueue order', async () => {
    const q = queue({ concurrency: 4 });
    const order: number[] = [];
    let active = 0;
    let maxActive = 0;
    q.define<{ i: number }>('serial', async (p) => {
      active++;
      maxActive = Math.max(maxActive, active);
      order.push(p.i);
      await sleep(5 + ((p.i * 7) % 11));
      active--;
    });
    for (let i = 0; i < 12; i++) await q.enqueue('serial', { i }, { queue: 'incident-42' });
    await q.start();
    await q.drain(20_000);
    expect(order).toEqual([...Array(12).keys()]);
    expect(maxActive).toBe(1);
  });
});
