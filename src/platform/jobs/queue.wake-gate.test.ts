// JobQueue.wakeAfter on both adapters: the workers' wake-up for new jobs waits for the gate (Slack: its pending
// acks), and nothing is lost meanwhile. The workers' poll is set far out (10 s), so a job that runs at once was woken.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backends } from '../../../test/helpers.js';
import { inTransaction, migrateToLatest, openDatabase, type DatabaseHandle } from '../db/index.js';
import { coreMigrations } from '../db/migrations/index.js';
import { createPostgresJobQueue } from './postgres-queue.js';
import { createSqliteJobQueue } from './sqlite-queue.js';
import type { JobQueue } from './types.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function open(backend: 'sqlite' | 'postgres'): Promise<{ handle: DatabaseHandle; queue: JobQueue; close: () => Promise<void> }> {
  if (backend === 'postgres') {
    const url = process.env.TEST_DATABASE_URL!;
    const schema = `fb_wake_test_${randomBytes(5).toString('hex')}`;
    const handle = openDatabase({ kind: 'postgres', url, poolSize: 6 });
    const queue = createPostgresJobQueue({ pool: handle.pgPool!, schema, pollIntervalMs: 10_000, lockTimeoutMs: 60_000 });
    return {
      handle,
      queue,
      close: async () => {
        await queue.stop({ timeoutMs: 1000 });
        await handle.pgPool!.query(`drop schema if exists "${schema}" cascade`);
        await handle.destroy();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'fb-wake-'));
  const handle = openDatabase({ kind: 'sqlite', file: join(dir, 'jobs.db') });
  await migrateToLatest(handle.db, coreMigrations);
  const queue = createSqliteJobQueue({ db: handle.db, pollIntervalMs: 10_000 });
  return {
    handle,
    queue,
    close: async () => {
      await queue.stop({ timeoutMs: 1000 });
      await handle.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

for (const backend of backends) {
  describe(`JobQueue.wakeAfter (${backend})`, () => {
    it('jobs committed while the gate holds wait for it, all of them, and run as soon as it opens', async () => {
      const { handle, queue, close } = await open(backend);
      try {
        const ran: string[] = [];
        queue.define<{ v: string }>('gated', async (p) => void ran.push(p.v));
        let open!: () => void;
        let gate = new Promise<void>((r) => (open = r));
        queue.wakeAfter(() => gate);
        await queue.start();
        await sleep(300); // the workers' first look at the queue, at start, is over
        await inTransaction(handle.db, (tx) => queue.enqueue('gated', { v: 'one' }, {}, tx));
        await inTransaction(handle.db, (tx) => queue.enqueueMany([{ name: 'gated', payload: { v: 'two' } }], tx));
        await sleep(400);
        expect(ran).toEqual([]);
        const opened = Date.now();
        open();
        while (ran.length < 2 && Date.now() - opened < 5000) await sleep(10);
        expect(ran.sort()).toEqual(['one', 'two']);
        expect(Date.now() - opened).toBeLessThan(3000); // woken, not found by the 10 s poll
        // An open gate holds nothing up.
        gate = Promise.resolve();
        const t = Date.now();
        await inTransaction(handle.db, (tx) => queue.enqueue('gated', { v: 'three' }, {}, tx));
        while (ran.length < 3 && Date.now() - t < 5000) await sleep(10);
        expect(ran).toContain('three');
        expect(Date.now() - t).toBeLessThan(3000);
      } finally {
        await close();
      }
    });
  });
}
