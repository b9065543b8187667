import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { freshPostgresDatabase, postgresAvailable } from '../../../../test/helpers.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../../../platform/db/index.js';
import { migrations } from '../../../migrations.js';
import { PostgresRequestBudget, TAKEN_AHEAD_TTL_MS } from './budget.js';

// Two budgets on one row stand for two Firebreak processes sharing a PagerDuty key.
describe.skipIf(!postgresAvailable)('request budget shared through PostgreSQL', () => {
  let handle: DatabaseHandle;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const d = await freshPostgresDatabase();
    drop = d.drop;
    handle = openDatabase({ kind: 'postgres', url: d.url, poolSize: 4 });
    await migrateToLatest(handle.db, migrations);
  });
  afterAll(async () => {
    await handle.destroy();
    await drop();
  });

  it('two processes share one bucket: together they get the burst once, then the refill rate', async () => {
    const a = new PostgresRequestBudget(handle.db, 'pagerduty', { limitPerMinute: 120 });
    const b = new PostgresRequestBudget(handle.db, 'pagerduty', { limitPerMinute: 120 });
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 15 }, (_, i) => (i % 2 ? a : b).acquire('interactive')));
    expect(Date.now() - t0).toBeLessThan(1000);
    const t1 = Date.now();
    await Promise.all([a.acquire('interactive'), b.acquire('interactive')]);
    // 120/min with a burst of 15 refills at 1.75 tokens per second: two more take about a second.
    expect(Date.now() - t1).toBeGreaterThanOrEqual(700);
  });

  it('interactive calls queued together (an escalation’s targets) take their tokens in one trip to the row, each once', async () => {
    const budget = new Counted(handle.db, 'pd-batch', { limitPerMinute: 960 });
    await budget.acquire('interactive'); // the row exists, 59 of 60 tokens left
    const trips = budget.trips;
    await Promise.all(Array.from({ length: 10 }, () => budget.acquire('interactive')));
    // Asked in the same turn of the event loop, they wait for one another: one trip to the row for all ten.
    expect(budget.trips - trips).toBe(1);
  });

  class Counted extends PostgresRequestBudget {
    trips = 0;
    protected override take(need: number, max: number) {
      this.trips++;
      return super.take(need, max);
    }
  }
  afterEach(() => vi.useRealTimers());

  it('tokens taken ahead (an escalation’s pages, while it is recorded) are debited from the shared row, and those calls then go out without a trip to it', async () => {
    const budget = new Counted(handle.db, 'pd-ahead', { limitPerMinute: 120 }); // 15 tokens, 1.75 a second
    await budget.acquire('interactive');
    budget.takeAhead(10);
    await new Promise((r) => setTimeout(r, 100));
    const trips = budget.trips;
    await Promise.all(Array.from({ length: 10 }, () => budget.acquire('interactive')));
    expect(budget.trips - trips).toBe(0);
    // They came out of the bucket every process shares: 15 - 1 - 10 left, plus what refilled meanwhile.
    const row = await sql<{ tokens: number }>`select tokens from pagerduty_request_budget where connection = 'pd-ahead'`.execute(handle.db);
    expect(Number(row.rows[0]!.tokens)).toBeLessThan(6);
    await budget.acquire('interactive'); // the eleventh takes its own
    expect(budget.trips - trips).toBe(1);
  });

  it('a token taken ahead and not used in time is forgotten: a later call takes its own', async () => {
    const budget = new Counted(handle.db, 'pd-ahead-late', { limitPerMinute: 960 });
    await budget.acquire('interactive');
    budget.takeAhead(1);
    await new Promise((r) => setTimeout(r, 100));
    const trips = budget.trips;
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + TAKEN_AHEAD_TTL_MS + 1);
    await budget.acquire('interactive');
    expect(budget.trips - trips).toBe(1);
  });

  it('a 429 seen by one process pauses the other', async () => {
    const a = new PostgresRequestBudget(handle.db, 'pd-pause', { limitPerMinute: 960 });
    const b = new PostgresRequestBudget(handle.db, 'pd-pause', { limitPerMinute: 960 });
    await a.acquire('interactive');
    a.observe({ status: 429, remaining: 0, resetMs: 500 });
    await new Promise((r) => setTimeout(r, 50));
    const t = Date.now();
    await b.acquire('interactive');
    expect(Date.now() - t).toBeGreaterThanOrEqual(350);
  });
});
