import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { startCheckedPagerDuty } from '../pagerduty-requests.js';
import { backends, userClient } from '../helpers.js';
import { connect, firstUser, setup, waitForRun, type Setup } from './helpers.js';

for (const backend of backends) {
  describe(`connecting PagerDuty (${backend})`, () => {
    let s: Setup;
    let other: PagerDutyEmulator;
    beforeAll(async () => {
      s = await setup(backend, 'small');
      other = await startCheckedPagerDuty({ seed: 'small', rateLimitPerMinute: false });
    });
    afterAll(async () => {
      await s.close();
      await other.stop();
    });

    const body = (key: string, extra: Record<string, unknown> = {}) => ({ region: 'us', base_url: s.pd.baseUrl, api_key: key, ...extra });

    it('an invalid key is rejected and nothing is saved', async () => {
      const r = await s.owner.post('/api/v1/integrations/pagerduty/check_key', body('not-a-key'));
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('pagerduty_key_rejected');
      expect(r.body.error.message).toMatch(/^PagerDuty rejected this key/);
      const put = await s.owner.request('PUT', '/api/v1/integrations/pagerduty', body('not-a-key', { bot_user_id: firstUser(s.pd).id }));
      expect(put.status).toBe(400);
      expect((await s.owner.get('/api/v1/integrations/pagerduty')).body).toEqual({ connected: false });
    });

    it('a key of another region (account) is rejected as PagerDuty rejected it', async () => {
      // A key from one service region gets 401 in the other: model it with a second account's key.
      const r = await s.owner.post('/api/v1/integrations/pagerduty/check_key', body(other.fullAccessKey));
      expect(r.status).toBe(400);
      expect(r.body.error.message).toMatch(/PagerDuty rejected this key.*region/);
    });

    it('a read-only key is explained, detected without any change to the account, and not saved', async () => {
      s.pd.clearRequestLog();
      const incidentsBefore = s.pd.state.incidents.size;
      const r = await s.owner.post('/api/v1/integrations/pagerduty/check_key', body(s.pd.readOnlyKey));
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('pagerduty_key_read_only');
      expect(r.body.error.message).toMatch(/full-access key/);
      expect(r.body.error.message).toMatch(/Read-only API Key" unchecked/);
      expect(s.pd.state.incidents.size).toBe(incidentsBefore);
      const writes = s.pd.requestLog().filter((e) => e.method !== 'GET');
      expect(writes.every((e) => e.status === 403)).toBe(true);
      expect((await s.owner.get('/api/v1/integrations/pagerduty')).body.connected).toBe(false);
    });

    it('a full-access key passes the check and lists users to choose the bot account from (searchable)', async () => {
      const r = await s.owner.post('/api/v1/integrations/pagerduty/check_key', body(s.pd.fullAccessKey));
      expect(r.status).toBe(200);
      expect(r.body.users.length).toBe(s.pd.state.users.size);
      const u = firstUser(s.pd);
      const q = await s.owner.post('/api/v1/integrations/pagerduty/check_key', body(s.pd.fullAccessKey, { query: u.name }));
      expect(q.body.users.map((x: any) => x.id)).toContain(u.id);
      expect(JSON.stringify(r.body)).not.toContain(s.pd.fullAccessKey);
    });

    it('the bot account must exist in the account', async () => {
      const r = await s.owner.request('PUT', '/api/v1/integrations/pagerduty', body(s.pd.fullAccessKey, { bot_email: 'nobody@nowhere.example' }));
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('pagerduty_bot_not_found');
      const r2 = await s.owner.request('PUT', '/api/v1/integrations/pagerduty', body(s.pd.fullAccessKey, { bot_user_id: 'PNOSUCH' }));
      expect(r2.body.error.code).toBe('pagerduty_bot_not_found');
      expect((await s.owner.get('/api/v1/integrations/pagerduty')).body.connected).toBe(false);
    });

    it('only admins may connect or disconnect', async () => {
      const { client } = await userClient(s.fb, s.owner, 'responder');
      const r = await client.request('PUT', '/api/v1/integrations/pagerduty', body(s.pd.fullAccessKey, { bot_user_id: firstUser(s.pd).id }));
      expect(r.status).toBe(403);
      expect((await client.request('DELETE', '/api/v1/integrations/pagerduty')).status).toBe(403);
      expect((await client.post('/api/v1/integrations/pagerduty/check_key', body(s.pd.fullAccessKey))).status).toBe(403);
    });

    it('connects with a full key (bot chosen by email, any case), masks the key, audits, and syncs', async () => {
      const u = firstUser(s.pd);
      const r = await s.owner.request('PUT', '/api/v1/integrations/pagerduty', body(s.pd.fullAccessKey, { bot_email: `  ${u.email.trim().toUpperCase()} ` }));
      expect(r.status).toBe(200);
      expect(r.body.connected).toBe(true);
      expect(r.body.bot_user).toEqual({ id: u.id, name: u.name, email: u.email.trim(), role: u.role });
      expect(r.body.api_key).toBe(`••••${s.pd.fullAccessKey.slice(-4)}`);
      const run = await waitForRun(s, r.body.last_run.id);
      expect(run.status).toBe('succeeded');
      const list = await s.owner.get('/api/v1/integrations');
      const pdRow = list.body.integrations.find((i: any) => i.kind === 'pagerduty');
      expect(pdRow.status).toBe('connected');
      expect(pdRow.details.api_key).toBe(`••••${s.pd.fullAccessKey.slice(-4)}`);
      // Stored encrypted: the raw key is nowhere in the connection row.
      const row = await s.fb.app.database.db.selectFrom('integration_connections').selectAll().where('kind', '=', 'pagerduty').executeTakeFirstOrThrow();
      expect(JSON.stringify(row)).not.toContain(s.pd.fullAccessKey);
      expect(JSON.parse(row.secrets).api_key).toMatch(/^v1:/);
    });

    it('changing the bot account, reconnecting and disconnecting are audited; disconnect keeps entries, marked not syncing', async () => {
      const users = [...s.pd.state.users.values()];
      const patch = await s.owner.patch('/api/v1/integrations/pagerduty', { bot_user_id: users[1]!.id });
      expect(patch.status).toBe(200);
      expect(patch.body.bot_user.id).toBe(users[1]!.id);
      const re = await s.owner.request('PUT', '/api/v1/integrations/pagerduty', body(s.pd.fullAccessKey, { bot_user_id: users[2]!.id }));
      expect(re.status).toBe(200);
      await waitForRun(s, re.body.last_run.id);
      const before = (await s.owner.get('/api/v1/catalog_types')).body.catalog_types.filter((t: any) => t.source === 'pagerduty');
      expect(before.every((t: any) => t.syncing && t.read_only)).toBe(true);
      const del = await s.owner.request('DELETE', '/api/v1/integrations/pagerduty');
      expect(del.status).toBe(204);
      expect((await s.owner.get('/api/v1/integrations/pagerduty')).body).toEqual({ connected: false });
      const after = (await s.owner.get('/api/v1/catalog_types')).body.catalog_types.filter((t: any) => t.source === 'pagerduty');
      expect(after.every((t: any) => !t.syncing)).toBe(true);
      expect(after.find((t: any) => t.type_name === 'PagerDutyUser').entry_count).toBe(s.pd.state.users.size);
      const row = await s.fb.app.database.db.selectFrom('integration_connections').selectAll().where('kind', '=', 'pagerduty').executeTakeFirst();
      expect(row).toBeUndefined();
      const sync = await s.owner.post('/api/v1/integrations/pagerduty/sync', {});
      expect(sync.status).toBe(409);
      const audit = await s.fb.app.database.db.selectFrom('audit_events').select(['action', 'details']).where('action', 'like', 'pagerduty.%').orderBy('id').execute();
      expect(audit.map((a) => a.action)).toEqual(['pagerduty.connected', 'pagerduty.bot_changed', 'pagerduty.reconnected', 'pagerduty.disconnected']);
      expect(JSON.stringify(audit)).not.toContain(s.pd.fullAccessKey);
    });

    it('the key never appears in any API response or log line', async () => {
      await connect(s);
      for (const path of ['/api/v1/integrations', '/api/v1/integrations/pagerduty', '/api/v1/catalog_types', '/api/v1/catalog_sync_runs', '/api/openapi.json']) {
        const r = await s.owner.get(path);
        expect(JSON.stringify(r.body)).not.toContain(s.pd.fullAccessKey);
      }
      const logs = s.fb.logs.text();
      expect(logs.length).toBeGreaterThan(0);
      expect(logs).not.toContain(s.pd.fullAccessKey);
      expect(logs).not.toContain(s.pd.readOnlyKey);
      expect(logs).not.toContain(other.fullAccessKey);
    });
  });
}
