// In a real browser: with PagerDuty connected, an owner adds a second account ("EU", another emulator) through the
// settings page (name, key check, bot account), sees both accounts listed, opens one of EU's users in the catalog
// and sees its account, then disconnects EU and sees the first account still there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { startCheckedPagerDuty } from '../pagerduty-requests.js';
import { inPage, startBrowserStack, type BrowserStack } from './stack.js';

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('several PagerDuty accounts in the web app (Chromium)', () => {
  let stack: BrowserStack;
  let main: PagerDutyEmulator;
  let eu: PagerDutyEmulator;

  beforeAll(async () => {
    main = await startCheckedPagerDuty({ seed: 'small', rateLimitPerMinute: false });
    eu = await startCheckedPagerDuty({ seed: 'small', rateLimitPerMinute: false });
    stack = await startBrowserStack();
    const pd = stack.fb.app.pagerduty.integration;
    await pd.connect({ region: 'us', baseUrl: main.baseUrl, apiKey: main.fullAccessKey, botUserId: [...main.state.users.values()][0]!.id }, { kind: 'system', ref: 'test' });
  });

  afterAll(async () => {
    await stack?.close();
    await main?.stop();
    await eu?.stop();
  });

  it('adds EU through the form, lists both accounts, shows the account on an EU entry, and disconnects EU alone', async () => {
    await inPage(stack, 'pagerduty-accounts', async (page) => {
      await page.goto(stack.fb.initialLoginUrl!);
      // With only the first account, its entries show no Account row (nothing changes for its users).
      const mainUser = [...main.state.users.values()][5]!;
      const mainEntry = (await stack.fb.app.catalog.service.listEntries({ typeId: 'PagerDutyUser', search: mainUser.email, limit: 10 })).entries.find((e) => e.externalId === mainUser.id)!;
      const attributesShown = async () => {
        // The accounts list is asked for once the entry is known: wait for its answer before counting the rows.
        const asked = page.waitForResponse((r) => r.url().endsWith('/api/v1/integrations/pagerduty/accounts') && r.request().method() === 'GET');
        await page.goto(`/catalog/entries/${mainEntry.id}`);
        await page.getByRole('heading', { name: mainUser.name }).waitFor();
        await asked;
        await page.locator('[data-attribute="email"]').waitFor();
        await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
        return page.locator('[data-attribute]').evaluateAll((els) => els.map((e) => e.getAttribute('data-attribute')));
      };
      expect(await attributesShown()).not.toContain('account');
      await page.goto('/settings/integrations/pagerduty');
      const accounts = page.getByRole('table', { name: 'PagerDuty accounts' });
      await accounts.getByText('(first account)').waitFor();
      await page.getByRole('button', { name: 'Add another account' }).click();
      await page.getByRole('heading', { name: 'Add another PagerDuty account' }).waitFor();
      await page.getByLabel('Account name').fill('EU');
      await page.getByLabel('Service region').selectOption('eu');
      await page.getByLabel('API base URL (optional)').last().fill(eu.baseUrl);
      await page.getByLabel('API key', { exact: true }).last().fill(eu.fullAccessKey);
      await page.getByRole('button', { name: 'Check key' }).last().click();
      const bot = [...eu.state.users.values()][2]!;
      await page.getByLabel('Search users').fill(bot.name);
      await page.getByRole('radio', { name: new RegExp(bot.name) }).check();
      await page.getByRole('button', { name: 'Add account' }).click();

      const euRow = accounts.getByRole('row').filter({ hasText: bot.email });
      await euRow.waitFor();
      expect((await euRow.getByRole('cell').first().innerText()).trim()).toBe('EU'); // its name, not its id
      expect((await euRow.getByRole('cell').nth(1).innerText()).trim()).toBe('EU'); // its region
      expect(await euRow.innerText()).toContain(`••••${eu.fullAccessKey.slice(-4)}`);
      expect(await page.content()).not.toContain(eu.fullAccessKey);
      await euRow.getByText('succeeded').waitFor({ timeout: 30_000 });
      // Each account has its own fallback service; the picker says which account a service belongs to.
      await page.reload();
      const fallbacks = page.getByRole('list', { name: 'Fallback service of each account' });
      await fallbacks.waitFor();
      expect((await fallbacks.getByRole('listitem').allInnerTexts()).map((t) => t.split(':')[0])).toEqual(['Main', 'EU']);
      const euService = [...eu.state.services.values()].find((x: any) => x.status !== 'disabled')!;
      await page.getByLabel('Choose from the synced PagerDuty services').fill(euService.name);
      await page.getByRole('button', { name: `${euService.name} (EU)` }).click();
      await fallbacks.getByText(`EU: ${euService.name}`).waitFor();
      await page.screenshot({ path: '/tmp/fb-pagerduty-accounts-fallback.png' });

      // With two accounts, the first account's entries say their account too.
      const both = await attributesShown();
      expect(both).toContain('account');
      expect(await page.locator('[data-attribute="account"]').innerText()).toContain('Main');

      // An EU user in the catalog shows its account by name.
      const user = [...eu.state.users.values()][5]!;
      const list = await stack.fb.app.catalog.service.listEntries({ typeId: 'PagerDutyUser', search: user.email, limit: 10 });
      const entry = list.entries.find((e) => e.externalId.endsWith(`:${user.id}`))!;
      expect(entry).toBeDefined();
      await page.goto(`/catalog/entries/${entry.id}`);
      await page.getByRole('heading', { name: user.name }).waitFor();
      expect(await page.locator('[data-attribute="account"]').innerText()).toContain('EU');

      await page.goto('/settings/integrations/pagerduty');
      await euRow.getByRole('button', { name: 'Disconnect' }).click();
      await page.getByRole('button', { name: 'Disconnect EU' }).click();
      await euRow.waitFor({ state: 'detached' });
      await accounts.getByText('(first account)').waitFor();
      expect(await accounts.getByRole('row').count()).toBe(2); // header and the first account
      // One account again: its entries show no Account row.
      expect(await attributesShown()).not.toContain('account');
    });
  }, 120_000);
});
