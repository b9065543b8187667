// In a real browser: an owner connects PagerDuty through the web form against the emulator (key check, bot
// account search), runs "Sync now" and watches it finish, then opens a team's catalog page and sees its
// members and the services that reference it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { startCheckedPagerDuty } from '../pagerduty-requests.js';
import { inPage, startBrowserStack, type BrowserStack } from './stack.js';

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('PagerDuty in the web app (Chromium)', () => {
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

  it('connects PagerDuty through the form, syncs now, and opens a team page', async () => {
    await inPage(stack, 'pagerduty', async (page) => {
      await page.goto(stack.fb.initialLoginUrl!);
      await page.getByRole('link', { name: 'Settings' }).click();
      await page.getByRole('link', { name: 'Integrations' }).click();
      await page.getByRole('link', { name: 'Connect PagerDuty' }).click();
      await page.getByRole('heading', { name: 'Connect PagerDuty' }).waitFor();
      expect(await page.locator('main').innerText()).toContain('leave "Read-only API Key" unchecked');

      // A read-only key is refused with the explanation.
      await page.getByLabel('API base URL (optional)').fill(pd.baseUrl);
      await page.getByLabel('API key', { exact: true }).fill(pd.readOnlyKey);
      await page.getByRole('button', { name: 'Check key' }).click();
      await page.getByText('This is a read-only PagerDuty key').waitFor();

      await page.getByLabel('API key', { exact: true }).fill(pd.fullAccessKey);
      await page.getByRole('button', { name: 'Check key' }).click();
      await page.getByRole('heading', { name: 'Choose the bot account' }).waitFor();
      expect(await page.locator('main').innerText()).toContain('PagerDuty requires a user on every incident it creates');
      const bot = [...pd.state.users.values()][3]!;
      await page.getByLabel('Search users').fill(bot.name);
      await page.getByRole('radio', { name: new RegExp(bot.name) }).check();
      await page.getByRole('button', { name: 'Connect PagerDuty' }).click();

      await page.getByRole('heading', { name: 'Connection' }).waitFor();
      const main = page.locator('main');
      expect(await main.innerText()).toContain(`••••${pd.fullAccessKey.slice(-4)}`);
      expect(await main.innerText()).toContain(bot.name);
      expect(await page.content()).not.toContain(pd.fullAccessKey);

      await page.getByText('Synced', { exact: true }).first().waitFor();
      await page.getByRole('button', { name: 'Sync now' }).click();
      await page.locator('.sync-run tr[data-type="teams"]').first().waitFor();
      await page.getByText('Synced', { exact: true }).first().waitFor();
      expect(await page.locator('.sync-run tr[data-type="teams"]').first().innerText()).toContain(`${pd.state.teams.size} / ${pd.state.teams.size}`);

      await page.getByRole('link', { name: 'Catalog', exact: true }).first().click();
      await page.getByRole('link', { name: 'PagerDuty Team' }).click();
      const team = [...pd.state.teams.values()].find((t) => t.members.length > 0)!;
      await page.getByRole('link', { name: team.name, exact: true }).click();
      await page.getByRole('heading', { name: team.name, exact: true }).waitFor();
      const members = page.locator('[data-attribute="members"]');
      for (const m of team.members) await members.getByRole('link', { name: pd.state.users.get(m.user_id)!.name }).waitFor();
      const services = [...pd.state.services.values()].filter((s) => s.team_ids.includes(team.id) && !s.description.includes('incident-io-ignore'));
      if (services.length > 0) {
        const refs = page.locator('[data-backlink="PagerDuty Service:Teams"]');
        for (const s of services) await refs.getByRole('link', { name: s.name }).waitFor();
      }
      expect(await page.getByRole('link', { name: 'Open in PagerDuty' }).getAttribute('href')).toContain(`/teams/${team.id}`);
    });
  }, 90_000);
});
