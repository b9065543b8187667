import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KyselyPlugin } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../../../platform/db/index.js';
import type { JobQueue } from '../../../platform/jobs/types.js';
import { createLogger } from '../../../platform/logger.js';
import { migrations } from '../../../migrations.js';
import { parseWebhookEvent } from '../client/events.js';
import type { WebhookHealthStore } from './health.js';
import { WebhookIntake } from './intake.js';
import type { WebhookSecretStore } from './secrets.js';

// Intake's group commit: deliveries that arrive while a write is in flight share the next statement, each is
// answered from what that statement stored, and a write that fails answers none of its deliveries as stored.

function event(i: number) {
  const raw = JSON.stringify({ event: { id: `ev-${i}`, event_type: 'incident.acknowledged', resource_type: 'incident', occurred_at: new Date(1_800_000_000_000 + i).toISOString(), data: { id: `PINC${i % 3}`, type: 'incident', status: 'acknowledged' } } });
  return { ev: parseWebhookEvent(JSON.parse(raw)), raw };
}

describe('webhook intake group commit', () => {
  let dir: string;
  let handle: DatabaseHandle;
  let inserts: number;
  let failNext: boolean;
  let asks: number;
  let intake: WebhookIntake;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fb-intake-'));
    handle = openDatabase({ kind: 'sqlite', file: join(dir, 'db.sqlite') });
    await migrateToLatest(handle.db, migrations);
    inserts = 0;
    failNext = false;
    asks = 0;
    // Counts the INSERT statements intake sends; fails the next one when asked to (the database refusing a write).
    const probe: KyselyPlugin = {
      transformQuery: ({ node }) => {
        if (node.kind === 'InsertQueryNode') {
          inserts++;
          if (failNext) {
            failNext = false;
            throw new Error('disk I/O error');
          }
        }
        return node;
      },
      transformResult: async ({ result }) => result,
    };
    const jobs = { enqueue: async () => void asks++ } as unknown as JobQueue;
    intake = new WebhookIntake({ db: handle.db.withPlugin(probe), jobs, secrets: {} as WebhookSecretStore, health: {} as WebhookHealthStore, logger: createLogger('silent') });
  });
  afterEach(async () => {
    await handle.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const storedIds = async () => (await handle.db.selectFrom('pagerduty_webhook_events').select('delivery_id').orderBy('delivery_id').execute()).map((r) => r.delivery_id);

  it('deliveries arriving while a write is in flight are stored together in the next statement, each answered as stored', async () => {
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => event(i)).map(({ ev, raw }, i) => intake.store(`d-${String(i).padStart(2, '0')}`, ev, raw)));
    expect(answers).toEqual(Array.from({ length: 30 }, () => true));
    // The first goes at once; the 29 that arrived meanwhile share the second statement.
    expect(inserts).toBe(2);
    expect(await storedIds()).toEqual(Array.from({ length: 30 }, (_, i) => `d-${String(i).padStart(2, '0')}`));
    expect(asks).toBeGreaterThanOrEqual(1);
  });

  it('the same delivery (or event) twice in one write, or again later, is stored once and answered as a duplicate', async () => {
    const { ev, raw } = event(1);
    const first = intake.store('d-first', event(0).ev, event(0).raw);
    const together = await Promise.all([intake.store('d-same', ev, raw), intake.store('d-same', ev, raw), intake.store('d-other', ev, raw)]);
    expect(await first).toBe(true);
    // d-other is another delivery of the same event (event ids are unique too): a duplicate as well.
    expect(together).toEqual([true, false, false]);
    expect(inserts).toBe(2);
    expect(await intake.store('d-same', ev, raw)).toBe(false);
    expect(await storedIds()).toEqual(['d-first', 'd-same']);
  });

  it('a write that fails refuses every delivery in it and stores none of them; the next write goes on', async () => {
    const first = intake.store('d-0', event(0).ev, event(0).raw);
    failNext = true; // the second statement: the two deliveries that arrive while the first is written
    const failed = [intake.store('d-1', event(1).ev, event(1).raw), intake.store('d-2', event(2).ev, event(2).raw)].map((p) => p.then(() => 'stored', (err: Error) => err.message));
    expect(await first).toBe(true);
    expect(await Promise.all(failed)).toEqual(['disk I/O error', 'disk I/O error']);
    expect(await intake.store('d-3', event(3).ev, event(3).raw)).toBe(true);
    expect(await storedIds()).toEqual(['d-0', 'd-3']);
  });
});
