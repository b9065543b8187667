import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { startCheckedPagerDuty } from '../pagerduty-requests.js';
import { backends, freshPostgresDatabase, ownerClient, startTestFirebreak, type Client, type TestFirebreak } from '../helpers.js';
import { allEntries, firstUser, waitForRun, type Setup } from './helpers.js';

// Disconnecting PagerDuty stops a sync wherever it runs. On PostgreSQL two Firebreak instances share one
// database: the sync runs in A, the disconnect goes through B's API, and A's run must notice, stop its requests,
// write nothing and be recorded as cancelled. On SQLite (one process) the same through the one instance's API.

/** A client carrying the owner's session against another instance on the same database. */
function sameSessionOn(baseUrl: string, owner: { cookie: string; csrf: string }): Client {
  const request: Client['request'] = async (method, path, body) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { cookie: owner.cookie, 'x-csrf-token': owner.csrf, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
  };
  return { request, get: (p) => request('GET', p), post: (p, b = {}) => request('POST', p, b), patch: (p, b = {}) => request('PATCH', p, b), del: (p) => request('DELETE', p) };
}

/** Resolves once the run is running and has read at least one page of users. */
async function whenUsersStarted(api: Client, runId: string) {
  for (;;) {
    const run = (await api.get(`/api/v1/catalog_sync_runs/${runId}`)).body.sync_run;
    if (run.status !== 'queued' && run.status !== 'running') throw new Error(`run ended before the disconnect: ${run.status}`);
    if (run.status === 'running' && (run.progress.users?.fetched ?? 0) > 0) return run;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The emulator's request log no longer grows (checked twice, some time apart). */
async function requestsAfter(pd: PagerDutyEmulator, ms = 600) {
  const before = pd.requestLog().length;
  await new Promise((r) => setTimeout(r, ms));
  return pd.requestLog().length - before;
}

for (const backend of backends) {
  describe(`disconnecting stops a running sync (${backend}${backend === 'postgres' ? ', two instances on one database' : ''})`, () => {
    let pd: PagerDutyEmulator;
    let other: PagerDutyEmulator;
    let a: TestFirebreak;
    let b: TestFirebreak | null = null;
    let dropDb: (() => Promise<void>) | null = null;
    let ownerA: Awaited<ReturnType<typeof ownerClient>>;
    let ownerB: Client;

    beforeAll(async () => {
      pd = await startCheckedPagerDuty({ seed: 'large', rateLimitPerMinute: false });
      other = await startCheckedPagerDuty({ seed: 'small', rateLimitPerMinute: false });
      if (backend === 'postgres') {
        const db = await freshPostgresDatabase();
        dropDb = db.drop;
        const masterKey = randomBytes(32);
        a = await startTestFirebreak('postgres', { pgUrl: db.url, masterKey });
        ownerA = await ownerClient(a);
        b = await startTestFirebreak('postgres', { pgUrl: db.url, masterKey });
        ownerB = sameSessionOn(b.baseUrl, ownerA);
      } else {
        a = await startTestFirebreak('sqlite');
        ownerA = await ownerClient(a);
        ownerB = ownerA;
      }
    }, 60_000);
    afterAll(async () => {
      await b?.destroy();
      await a?.destroy();
      await dropDb?.();
      await pd?.stop();
      await other?.stop();
    });

    const setupA = (): Setup => ({ fb: a, pd, owner: ownerA, close: async () => {} });
    const connectThrough = async (api: Client, emu: PagerDutyEmulator) => {
      const r = await api.request('PUT', '/api/v1/integrations/pagerduty', { region: 'us', base_url: emu.baseUrl, api_key: emu.fullAccessKey, bot_user_id: firstUser(emu).id });
      expect(r.status).toBe(200);
      const first = await waitForRun(setupA(), r.body.last_run.id, 60_000);
      expect(first.status).toBe('succeeded');
    };
    /** Starts a sync running in instance A's process: directly on PostgreSQL (B's worker could take a queued job), through the API on SQLite. */
    const startSyncOnA = async () => {
      if (backend === 'postgres') {
        const integration = a.app.pagerduty.integration;
        const run = await integration.requestSync({ trigger: 'manual', enqueue: false });
        const result = integration.runSync(run.id);
        result.catch(() => {});
        return { id: run.id, result };
      }
      const r = await ownerA.post('/api/v1/integrations/pagerduty/sync', {});
      expect(r.status).toBe(202);
      return { id: r.body.run.id as string, result: null };
    };

    it('a disconnect through another instance cancels the run: no more requests, nothing written, earlier entries kept and no longer syncing', async () => {
      await connectThrough(ownerA, pd);
      const stored = (await allEntries(setupA(), 'PagerDutyUser')).length;
      expect(stored).toBe(pd.state.users.size);
      // A change a completed sync would write: it must not be written.
      const renamed = [...pd.state.users.values()][3]!;
      const oldName = renamed.name;
      pd.admin.updateUser(renamed.id, { name: 'Renamed During Disconnect' });
      pd.faults.set({ latencyMs: 80 });
      const sync = await startSyncOnA();
      await whenUsersStarted(ownerB, sync.id);

      const del = await ownerB.request('DELETE', '/api/v1/integrations/pagerduty');
      expect(del.status).toBe(204);
      if (sync.result) expect((await sync.result).status).toBe('cancelled');
      const run = await waitForRun(setupA(), sync.id, 30_000);
      pd.faults.clear();
      expect(run.status).toBe('cancelled');
      expect(run.stop_reason).toMatch(/^PagerDuty was disconnected\. The sync stopped and wrote nothing; nothing was archived\./);
      expect(run.errors).toEqual([]);
      expect(run.rows_written).toBe(0);
      // It stopped part-way: the users were not all read.
      expect(run.progress.users.fetched).toBeLessThan(pd.state.users.size);
      expect(await requestsAfter(pd)).toBe(0);

      // Both instances see the disconnection; the entries are kept, unchanged, marked as no longer syncing.
      expect((await ownerA.get('/api/v1/integrations/pagerduty')).body).toEqual({ connected: false });
      const types = (await ownerA.get('/api/v1/catalog_types')).body.catalog_types.filter((t: any) => t.source === 'pagerduty');
      expect(types).toHaveLength(6);
      expect(types.every((t: any) => t.syncing === false)).toBe(true);
      const users = await allEntries(setupA(), 'PagerDutyUser');
      expect(users).toHaveLength(stored);
      expect(users.find((e) => e.external_id === renamed.id).name).toBe(oldName);
      expect((await allEntries(setupA(), 'PagerDutyUser', 'only')).length).toBe(0);
    }, 90_000);

    it('a reconnect to another account through another instance cancels the run too; the new connection syncs', async () => {
      await connectThrough(ownerA, pd);
      pd.faults.set({ latencyMs: 80 });
      const sync = await startSyncOnA();
      await whenUsersStarted(ownerB, sync.id);
      const re = await ownerB.request('PUT', '/api/v1/integrations/pagerduty', { region: 'us', base_url: other.baseUrl, api_key: other.fullAccessKey, bot_user_id: firstUser(other).id });
      expect(re.status).toBe(200);
      const run = await waitForRun(setupA(), sync.id, 30_000);
      pd.faults.clear();
      expect(run.status).toBe('cancelled');
      expect(run.stop_reason).toMatch(/^PagerDuty was reconnected with another key or account\./);
      expect(await requestsAfter(pd)).toBe(0);
      // The reconnection's own run syncs the other account (and, past the safety threshold, stops rather than archiving the first account's entries).
      const next = await waitForRun(setupA(), re.body.last_run.id, 60_000);
      expect(['succeeded', 'stopped']).toContain(next.status);
      expect(other.requestLog().some((e) => e.path === '/users')).toBe(true);
    }, 90_000);
  });
}
