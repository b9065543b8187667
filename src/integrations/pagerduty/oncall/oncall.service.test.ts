import { describe, expect, it } from 'vitest';
import type { CatalogService } from '../../../catalog/catalog.service.js';
import { MemoryRequestBudget } from '../client/budget.js';
import { PagerDutyClient } from '../client/client.js';
import type { PagerDutyIntegration } from '../connect.js';
import { CACHE_MS, OnCallService } from './oncall.service.js';
import { levelsLine, utcTime, wouldPage } from './text.js';

// The on-call service over a PagerDuty that answers in the shapes of the official OpenAPI document (`/oncalls`,
// `Oncall`, `GET /schedules/{id}` with `final_schedule.rendered_schedule_entries`). The end-to-end tests against
// the emulator are in test/oncall/.

type Handler = (url: URL) => { status: number; body?: unknown; headers?: Record<string, string> } | Promise<never>;

const ref = (type: string, id: string, summary: string) => ({ id, type: `${type}_reference`, summary, self: `https://api.pagerduty.com/${type}s/${id}`, html_url: null });

function setup(handler: Handler, opts: { connected?: boolean; timeoutMs?: number } = {}) {
  const calls: URL[] = [];
  const fetchFn = (async (input: string | URL, init?: RequestInit) => {
    const url = new URL(String(input));
    calls.push(url);
    const signal = init?.signal;
    const r = await Promise.race([handler(url), new Promise<never>((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }))]);
    return new Response(r.body === undefined ? '' : JSON.stringify(r.body), { status: r.status, headers: { 'content-type': 'application/json', ...r.headers } });
  }) as typeof fetch;
  const lookupTuning = { maxRateLimitRetries: 0, timeoutMs: opts.timeoutMs ?? 2_000, maxRetries: 0 };
  const client = new PagerDutyClient({ apiKey: 'k', baseUrl: 'http://pd.test', budget: new MemoryRequestBudget(), fetch: fetchFn, ...lookupTuning });
  const integration = {
    lookupTuning,
    async connected(mode: string) {
      expect(mode).toBe('lookup');
      return opts.connected === false ? null : { client, settings: {} };
    },
  } as unknown as PagerDutyIntegration;
  const catalog = { findType: async () => null } as unknown as CatalogService;
  const people = new Map([['alan@example.com', { id: 'u-alan', name: 'Alan Weber (Firebreak)', slackUserId: 'UALAN' }]]);
  const svc = new OnCallService({ integration, catalog, logger: { warn() {}, child() { return this; } } as never, findUserByEmail: async (e) => people.get(e) ?? null });
  let now = Date.parse('2026-12-06T12:00:00Z');
  svc.now = () => now;
  return { svc, calls, advance: (ms: number) => (now += ms) };
}

const oncallsBody = {
  oncalls: [
    { escalation_policy: ref('escalation_policy', 'PEP1', 'Checkout'), escalation_level: 2, user: { ...ref('user', 'PBEA', 'Bea Ortiz'), type: 'user', name: 'Bea Ortiz', email: 'bea@example.com' }, schedule: null, start: null, end: null },
    { escalation_policy: ref('escalation_policy', 'PEP1', 'Checkout'), escalation_level: 1, user: { ...ref('user', 'PALAN', 'Alan Weber'), type: 'user', name: 'Alan Weber', email: 'alan@example.com' }, schedule: ref('schedule', 'PSCH', 'Primary'), start: '2026-12-06T09:00:00Z', end: '2026-12-06T17:00:00Z' },
  ],
  limit: 100,
  offset: 0,
  more: false,
  total: 2,
};

describe('on-call lookups', () => {
  it('asks /oncalls for the policy with users side-loaded and orders the answer by escalation level, with names and the schedule handoff', async () => {
    const t = setup((u) => (u.pathname === '/oncalls' ? { status: 200, body: oncallsBody } : { status: 404, body: { error: { message: 'Not Found', code: 2100 } } }));
    const a = await t.svc.lookup('escalation_policy', 'PEP1');
    expect(t.calls).toHaveLength(1);
    expect(t.calls[0]!.searchParams.getAll('escalation_policy_ids[]')).toEqual(['PEP1']);
    expect(t.calls[0]!.searchParams.getAll('include[]')).toEqual(['users']);
    expect(t.calls[0]!.searchParams.get('earliest')).toBe('true');
    expect(a.state).toBe('ok');
    const p = a.policies[0]!;
    expect(p.name).toBe('Checkout');
    expect(p.levels.map((l) => [l.level, l.people.map((x) => x.user.name)])).toEqual([
      [1, ['Alan Weber']],
      [2, ['Bea Ortiz']],
    ]);
    // Matched to the Firebreak person with the same email; Bea has no Firebreak account.
    expect(p.levels[0]!.people[0]!.user.firebreakUser).toEqual({ id: 'u-alan', name: 'Alan Weber (Firebreak)', slackUserId: 'UALAN' });
    expect(p.levels[1]!.people[0]!.user.firebreakUser).toBeNull();
    expect(levelsLine(p, utcTime(Date.parse('2026-12-06T12:00:00Z')))).toBe('Level 1: Alan Weber (until 17:00 UTC via Primary), level 2: Bea Ortiz');
    expect(wouldPage(p)).toBe('would page: Alan Weber (level 1), then Bea Ortiz (level 2)');
  });

  it('keeps an answer one minute per query, then asks PagerDuty again', async () => {
    const t = setup(() => ({ status: 200, body: oncallsBody }));
    await t.svc.lookup('escalation_policy', 'PEP1');
    await Promise.all([t.svc.lookup('escalation_policy', 'PEP1'), t.svc.lookup('escalation_policy', 'PEP1')]);
    t.advance(CACHE_MS - 1);
    await t.svc.lookup('escalation_policy', 'PEP1');
    expect(t.calls).toHaveLength(1);
    await t.svc.lookup('escalation_policy', 'PEP2'); // another query is its own entry
    expect(t.calls).toHaveLength(2);
    t.advance(2);
    await t.svc.lookup('escalation_policy', 'PEP1');
    expect(t.calls).toHaveLength(3);
  });

  it('a schedule is read rendered at this instant (overflow: the real handoff) and a deleted one says so without throwing', async () => {
    const t = setup((u) => {
      if (u.pathname === '/schedules/PSCH')
        return { status: 200, body: { schedule: { id: 'PSCH', type: 'schedule', name: 'Primary', time_zone: 'Europe/Berlin', final_schedule: { name: 'Final Schedule', rendered_schedule_entries: [{ user: ref('user', 'PALAN', 'Alan Weber'), start: '2026-12-06T09:00:00Z', end: '2026-12-06T17:00:00Z' }] } } } };
      return { status: 404, body: { error: { message: 'Not Found', code: 2100 } } };
    });
    const ok = await t.svc.lookup('schedule', 'PSCH');
    expect(t.calls[0]!.searchParams.get('overflow')).toBe('true');
    expect(t.calls[0]!.searchParams.get('since')).toBe('2026-12-06T12:00:00.000Z');
    expect(ok.schedule).toMatchObject({ name: 'Primary', timeZone: 'Europe/Berlin', people: [{ user: { name: 'Alan Weber' }, until: '2026-12-06T17:00:00Z' }] });
    const gone = await t.svc.lookup('schedule', 'PGONE');
    expect(gone.state).toBe('unavailable');
    expect(gone.error).toEqual({ code: 'not_found', message: expect.stringContaining('PagerDuty has no schedule') });
  });

  it('a 429 is reported once with the wait PagerDuty named, not retried, and the failure is kept briefly rather than asked again at once', async () => {
    const t = setup(() => ({ status: 429, body: { error: { message: 'Rate Limit Exceeded', code: 2020 } }, headers: { 'ratelimit-reset': '30' } }), { timeoutMs: 100 });
    const a = await t.svc.lookup('escalation_policy', 'PEP1');
    expect(a.error?.code).toBe('rate_limited');
    expect(a.error?.message).toMatch(/request limit .* used up.*asks again in 30 s/);
    t.advance(29_000);
    await t.svc.lookup('escalation_policy', 'PEP1');
    expect(t.calls).toHaveLength(1);
    // Past the kept failure, the question is asked again, but the budget holds it while PagerDuty's pause lasts:
    // nothing is sent, and the person is told rather than kept waiting.
    t.advance(2_000);
    const held = await t.svc.lookup('escalation_policy', 'PEP1');
    expect(held.error?.message).toMatch(/request limit held the question/);
    expect(t.calls).toHaveLength(1);
  });

  it('a PagerDuty that does not answer in time gives a timeout message; not connected says how to connect', async () => {
    const slow = setup((_u) => new Promise<never>(() => {}), { timeoutMs: 50 });
    const a = await slow.svc.lookup('escalation_policy', 'PEP1');
    expect(a.error?.code).toBe('timeout');
    expect(slow.calls).toHaveLength(1);
    const off = setup(() => ({ status: 200, body: oncallsBody }), { connected: false });
    const b = await off.svc.lookup('team', 'PTEAM');
    expect(b.error?.code).toBe('not_connected');
    expect(off.calls).toHaveLength(0);
  });
});
