// In a real browser: an admin turns on the two-way close setting on the PagerDuty settings page and picks the status
// (the API then says so); a change made through the API shows on the open page without a reload (live feed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { startCheckedPagerDuty } from '../pagerduty-requests.js';
import { apiAs, inPage, startBrowserStack, type BrowserStack } from './stack.js';

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('Two-way close setting (Chromium)', () => {
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

  it('an admin turns the automatic close on and picks Monitoring by name; a change made elsewhere shows without a reload', async () => {
    await inPage(stack, 'pdallresolved', async (page) => {
      await page.goto(stack.fb.initialLoginUrl!);
      await page.getByRole('link', { name: 'Declare incident' }).first().waitFor();
      const call = await apiAs(page);
      const bot = [...pd.state.users.values()][0]!;
      await call('PUT', '/api/v1/integrations/pagerduty', { region: 'us', base_url: pd.baseUrl, api_key: pd.fullAccessKey, bot_user_id: bot.id });
      const path = '/api/v1/integrations/pagerduty/all_resolved_settings';

      await page.goto('/settings/integrations/pagerduty');
      const card = page.getByRole('region', { name: 'When all linked PagerDuty incidents are resolved' });
      const box = card.getByRole('checkbox', { name: 'Do it automatically for triage incidents opened from PagerDuty' });
      await box.waitFor();
      expect(await box.isChecked()).toBe(false);
      const select = card.getByLabel('Move them to');
      expect(await select.locator('option:checked').textContent()).toBe('Closed (the first closed status: Closed)');
      await box.check();
      await expect.poll(async () => (await call('GET', path)).automatic_for_triage).toBe(true);
      await select.selectOption({ label: 'Monitoring (live)' });
      await expect.poll(async () => (await call('GET', path)).status?.name).toBe('Monitoring');
      expect(await box.isChecked()).toBe(true);
      await card.scrollIntoViewIfNeeded();
      await page.screenshot({ path: '/tmp/fb-pdallresolved.png', fullPage: false });

      // Another admin (here the API) turns it off: the page follows through the live feed.
      await call('PUT', path, { automatic_for_triage: false, status_id: null });
      await expect.poll(() => box.isChecked(), { timeout: 10_000 }).toBe(false);
      expect(await select.locator('option:checked').textContent()).toBe('Closed (the first closed status: Closed)');
    });
  });
});
