// In a real browser, against the PagerDuty emulator's schedules: the catalog page of a PagerDuty service shows
// "On call now" by escalation level with names and the schedule's handoff; a team's page says what happened when
// PagerDuty refuses (rate limit) while the rest of the page works; the Escalate form on an incident says whom the
// chosen policy would page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { startCheckedPagerDuty } from '../pagerduty-requests.js';
import { seedOnCallAccount } from '../oncall/helpers.js';
import { apiAs, inPage, startBrowserStack, type BrowserStack } from './stack.js';

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('On call now in the web app (Chromium)', () => {
  let stack: BrowserStack;
  let pd: PagerDutyEmulator;
  let account: ReturnType<typeof seedOnCallAccount>;

  beforeAll(async () => {
    pd = await startCheckedPagerDuty({ seed: 'small', rateLimitPerMinute: false });
    account = seedOnCallAccount(pd);
    stack = await startBrowserStack();
    stack.fb.app.pagerduty.oncall.service.now = () => pd.clock.now().getTime();
  });

  afterAll(async () => {
    await stack?.close();
    await pd?.stop();
  });

  it('shows who is on call on catalog pages and "would page" in the Escalate form', async () => {
    await inPage(stack, 'oncall', async (page) => {
      await page.goto(stack.fb.initialLoginUrl!);
      await page.getByRole('link', { name: 'Declare incident' }).first().waitFor();
      const call = await apiAs(page);
      await call('PUT', '/api/v1/integrations/pagerduty', { region: 'us', base_url: pd.baseUrl, api_key: pd.fullAccessKey, bot_user_id: account.bot.id });
      const find = async (type: string, name: string) => ((await call('GET', `/api/v1/catalog_entries?catalog_type_id=${type}&search=${encodeURIComponent(name)}`)).catalog_entries as any[]).find((e) => e.name === name);
      const entryOf = async (type: string, name: string) => {
        await expect.poll(async () => !!(await find(type, name)), { timeout: 60_000 }).toBe(true);
        return find(type, name);
      };

      // The service's page: levels in order, by name, with the handoff and the schedule.
      const service = await entryOf('PagerDutyService', 'Payments API');
      await page.goto(`/catalog/entries/${service.id}`);
      const card = page.getByRole('region', { name: 'On call now' });
      await card.locator('[data-level="1"]').getByText('Alan Weber').waitFor();
      expect(await card.locator('[data-level="1"]').innerText()).toMatch(/^Level 1: Alan Weber \(until Dec 7, 2026, (17:00|5:00 PM) via Payments Primary\)$/);
      expect(await card.locator('[data-level="2"]').innerText()).toBe('Level 2: Cem Yilmaz');
      await card.getByRole('heading', { name: 'Payments Escalation' }).waitFor();
      await page.screenshot({ path: '/tmp/fb-oncall-service.png', fullPage: true });

      // A team's page while PagerDuty's limit is used up: the card says so, the attributes are there.
      const team = await entryOf('PagerDutyTeam', 'Payments Crew');
      pd.faults.set({ rateLimitBurst: 3 });
      await page.goto(`/catalog/entries/${team.id}`);
      const teamCard = page.getByRole('region', { name: 'On call now' });
      await teamCard.getByText(/request limit for this account is used up/).waitFor();
      await page.getByRole('heading', { name: 'Attributes' }).waitFor();
      pd.faults.clear();
      await page.screenshot({ path: '/tmp/fb-oncall-team-limited.png', fullPage: true });

      // A schedule's page: who is on it now; a schedule deleted in PagerDuty since the sync says so, the page still works.
      const primary = await entryOf('PagerDutySchedule', 'Payments Primary');
      await page.goto(`/catalog/entries/${primary.id}`);
      await page.getByRole('region', { name: 'On call now' }).getByText('Alan Weber').waitFor();
      const old = await entryOf('PagerDutySchedule', 'Old Rotation');
      pd.admin.deleteSchedule(account.ids.oldSchedule);
      await page.goto(`/catalog/entries/${old.id}`);
      await page.getByRole('region', { name: 'On call now' }).getByText(/PagerDuty has no schedule “Old Rotation” .*deleted/).waitFor();
      await page.getByRole('heading', { name: 'Attributes' }).waitFor();
      await page.screenshot({ path: '/tmp/fb-oncall-schedule-deleted.png', fullPage: true });

      // The Escalate form: choosing a policy shows whom it would page.
      const incident = (await call('POST', '/api/v1/incidents', { name: 'Card payments fail' })) as { incident: { reference: string } };
      await page.goto(`/incidents/${incident.incident.reference}`);
      await page.getByRole('button', { name: 'Escalate…' }).click();
      const form = page.getByRole('form', { name: 'Escalate' });
      await form.getByLabel('Escalation policies', { exact: true }).fill('Payments Escalation');
      await form.getByRole('list', { name: 'Escalation policies found' }).getByRole('button', { name: 'Payments Escalation' }).first().click();
      const chosen = form.getByRole('list', { name: 'Chosen escalation policies' });
      await chosen.getByText('would page: Alan Weber (level 1), then Cem Yilmaz (level 2)').waitFor();
      await page.screenshot({ path: '/tmp/fb-oncall-escalate.png', fullPage: true });
    }, { height: 1000, timeoutMs: 20_000 });
  }, 120_000);
});
