// In a real browser: the catalog pages of a synced PagerDuty schedule and of an escalation policy that targets it
// show names (users of every layer, the team, the time zone; the policy's schedules and users), never ids.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { startCheckedPagerDuty } from '../pagerduty-requests.js';
import { apiAs, inPage, startBrowserStack, type BrowserStack } from './stack.js';

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('PagerDuty schedules on the catalog pages (Chromium)', () => {
  let stack: BrowserStack;
  let pd: PagerDutyEmulator;

  beforeAll(async () => {
    pd = await startCheckedPagerDuty({ seed: 'small', rateLimitPerMinute: false });
    stack = await startBrowserStack();
  });
  afterAll(async () => {
    await stack?.close();
    await pd?.stop();
  });

  it('a schedule page names its users, team and time zone, and the policy using it; the policy page names its targets', async () => {
    const users = [...pd.state.users.values()].filter((u) => ['user', 'admin'].includes(u.role));
    const [a, b, c] = users as [typeof users[0], typeof users[0], typeof users[0]];
    const team = [...pd.state.teams.values()][0]!;
    const schedule = pd.admin.addSchedule({ name: 'Payments primary', description: 'Who answers for payments', time_zone: 'Europe/Berlin', team_ids: [team.id], layers: [
      { rotation_virtual_start: '2026-01-05T09:00:00Z', rotation_turn_length_seconds: 604_800, users: [a.id, b.id] },
      { rotation_virtual_start: '2026-01-05T09:00:00Z', rotation_turn_length_seconds: 86_400, users: [c.id], restrictions: [{ type: 'daily_restriction', start_time_of_day: '09:00:00', duration_seconds: 28_800 }] },
    ] });
    pd.admin.addEscalationPolicy({ name: 'Payments escalation', escalation_rules: [{ targets: [{ type: 'schedule', id: schedule.id }] }, { targets: [{ type: 'user', id: a.id }] }] });
    await inPage(stack, 'pagerduty-schedules', async (page) => {
      await page.goto(stack.fb.initialLoginUrl!);
      const api = await apiAs(page);
      const connected = await api('PUT', '/api/v1/integrations/pagerduty', { region: 'us', base_url: pd.baseUrl, api_key: pd.fullAccessKey, bot_user_id: a.id });
      for (let i = 0; ; i++) {
        const run = (await api('GET', `/api/v1/catalog_sync_runs/${connected.last_run.id}`)).sync_run;
        if (!['queued', 'running'].includes(run.status)) break;
        if (i > 300) throw new Error('sync did not finish');
        await page.waitForTimeout(100);
      }
      const entries = (await api('GET', '/api/v1/catalog_entries?catalog_type_id=PagerDutySchedule&limit=250')).catalog_entries;
      const entry = entries.find((e: any) => e.external_id === schedule.id);
      await page.goto(`/catalog/entries/${entry.id}`);
      const main = page.getByRole('main');
      await main.getByRole('heading', { name: 'Payments primary' }).waitFor();
      for (const name of [a.name, b.name, c.name, team.name, 'Europe/Berlin', 'Payments escalation']) await expect(main.getByText(name, { exact: true }).first().isVisible()).resolves.toBe(true);
      expect(await main.textContent()).not.toContain(a.id);
      await page.screenshot({ path: '/tmp/fb-pagerduty-schedule-page.png', fullPage: true });

      await main.getByRole('link', { name: 'Payments escalation' }).first().click();
      await main.getByRole('heading', { name: 'Payments escalation' }).waitFor();
      for (const label of ['Targets (schedules)', 'Targets (users)', 'Payments primary', a.name]) await expect(main.getByText(label, { exact: true }).first().isVisible()).resolves.toBe(true);
      expect(await main.textContent()).not.toContain(schedule.id);
      await page.screenshot({ path: '/tmp/fb-pagerduty-policy-page.png', fullPage: true });
    });
  });
});
