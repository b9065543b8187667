// In a real browser: an admin turns PagerDuty status updates off on the PagerDuty settings page (the API then says
// off), and when another admin turns them back on through the API, the open page follows (live feed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { startCheckedPagerDuty } from '../pagerduty-requests.js';
import { apiAs, inPage, startBrowserStack, type BrowserStack } from './stack.js';

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('PagerDuty status updates setting (Chromium)', () => {
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

  it('an admin switches status updates off on the settings page; a change made elsewhere shows without a reload', async () => {
    await inPage(stack, 'pdstatusupdates', async (page) => {
      await page.goto(stack.fb.initialLoginUrl!);
      await page.getByRole('link', { name: 'Declare incident' }).first().waitFor();
      const call = await apiAs(page);
      const bot = [...pd.state.users.values()][0]!;
      await call('PUT', '/api/v1/integrations/pagerduty', { region: 'us', base_url: pd.baseUrl, api_key: pd.fullAccessKey, bot_user_id: bot.id });

      await page.goto('/settings/integrations/pagerduty');
      const card = page.getByRole('region', { name: 'PagerDuty status updates' });
      const box = card.getByRole('checkbox', { name: 'Post each incident update to the linked PagerDuty incidents as a status update' });
      await box.waitFor();
      expect(await box.isChecked()).toBe(true);
      await box.uncheck();
      await expect.poll(async () => (await call('GET', '/api/v1/integrations/pagerduty/status_update_settings')).enabled).toBe(false);
      expect(await box.isChecked()).toBe(false);

      // Another admin (here the API) turns it back on: the page follows through the live feed.
      await call('PUT', '/api/v1/integrations/pagerduty/status_update_settings', { enabled: true });
      await expect.poll(() => box.isChecked(), { timeout: 10_000 }).toBe(true);
    });
  });
});
