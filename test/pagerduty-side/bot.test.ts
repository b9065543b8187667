import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { startCheckedPagerDuty } from '../pagerduty-requests.js';
import { backends, ownerClient, startTestFirebreak, type Client, type TestFirebreak } from '../helpers.js';

// Choosing the bot account: the users come with their PagerDuty role, and connecting checks the choice with a write
// PagerDuty validates as that user (an update of an incident that cannot exist, From the bot): PagerDuty refuses
// read-only, observer and restricted-access users, and Firebreak explains the refusal and saves nothing.

for (const backend of backends) {
  describe(`the bot account is checked with PagerDuty (${backend})`, () => {
    let pd: PagerDutyEmulator;
    let fb: TestFirebreak;
    let owner: Client;
    const key = () => ({ region: 'us', base_url: pd.baseUrl, api_key: pd.fullAccessKey });
    const byRole = (role: string) => [...pd.state.users.values()].find((u) => u.role === role && u.email === u.email.trim())!;
    beforeAll(async () => {
      pd = await startCheckedPagerDuty({ port: 0, seed: 'medium', rateLimitPerMinute: false });
      fb = await startTestFirebreak(backend);
      owner = await ownerClient(fb);
    }, 120_000);
    afterAll(async () => {
      await fb?.destroy();
      await pd?.stop();
    });

    it("checking the key lists users with PagerDuty's role for each", async () => {
      const r = await owner.post('/api/v1/integrations/pagerduty/check_key', { ...key(), query: byRole('observer').name });
      expect(r.status).toBe(200);
      const found = r.body.users.find((u: any) => u.id === byRole('observer').id);
      expect(found).toMatchObject({ name: byRole('observer').name, role: 'observer' });
      const all = (await owner.post('/api/v1/integrations/pagerduty/check_key', key())).body.users;
      for (const u of all) expect(u.role).toBe(pd.state.users.get(u.id)!.role);
    });

    for (const [role, label] of [['read_only_user', 'Read-only user'], ['observer', 'Observer'], ['restricted_access', 'Restricted access']] as const) {
      it(`a ${role} bot is refused by PagerDuty, explained in words, and nothing is saved`, async () => {
        const bot = byRole(role);
        pd.clearRequestLog();
        const r = await owner.request('PUT', '/api/v1/integrations/pagerduty', { ...key(), bot_user_id: bot.id });
        expect(r.status).toBe(400);
        expect(r.body.error.code).toBe('pagerduty_bot_refused');
        expect(r.body.error.message).toContain(`made as ${bot.name}`);
        expect(r.body.error.message).toContain(`"${label}"`);
        expect(r.body.error.message).toContain('Nothing was saved');
        // The check was a write PagerDuty validated as the bot, and it changed nothing.
        const probes = pd.requestLog().filter((e) => e.method === 'PUT' && e.path.startsWith('/incidents/'));
        expect(probes.map((e) => [e.from?.trim().toLowerCase(), e.status])).toContainEqual([bot.email.trim().toLowerCase(), 403]);
        expect(pd.state.incidents.size).toBe(0);
        expect((await owner.get('/api/v1/integrations/pagerduty')).body.connected).toBe(false);
      });
    }

    it('a bot with the User role connects (PagerDuty answers the check with 404), and changing it to an observer is refused', async () => {
      const bot = byRole('user');
      pd.clearRequestLog();
      const r = await owner.request('PUT', '/api/v1/integrations/pagerduty', { ...key(), bot_user_id: bot.id });
      expect(r.status).toBe(200);
      expect(r.body.bot_user).toMatchObject({ id: bot.id, role: 'user' });
      expect(pd.requestLog().filter((e) => e.method === 'PUT' && e.path.startsWith('/incidents/') && e.from?.trim().toLowerCase() === bot.email.trim().toLowerCase()).map((e) => e.status)).toEqual([404]);
      const observer = byRole('observer');
      const p = await owner.patch('/api/v1/integrations/pagerduty', { bot_user_id: observer.id });
      expect(p.status).toBe(400);
      expect(p.body.error.code).toBe('pagerduty_bot_refused');
      expect((await owner.get('/api/v1/integrations/pagerduty')).body.bot_user.id).toBe(bot.id);
    });
  });
}
