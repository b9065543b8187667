// In a real browser: a responder posts an update from the incident page (what changed, a new status and severity)
// and sees it listed with names and in the header; an update posted elsewhere (the API) appears without a reload;
// an admin changes the update reminders on their settings page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiAs, inPage, startBrowserStack, type BrowserStack } from './stack.js';

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('updates in the web app', () => {
  let stack: BrowserStack;

  beforeAll(async () => {
    stack = await startBrowserStack();
  });
  afterAll(async () => stack?.close());

  it('posts an update on the incident page, sees it listed, and sees one posted elsewhere arrive live', async () => {
    const loginUrl = stack.fb.initialLoginUrl!;
    await inPage(stack, 'updates', async (page) => {
      await page.goto(loginUrl);
      await page.waitForURL((u) => u.pathname === '/');
      const call = await apiAs(page);
      const inc = (await call('POST', '/api/v1/incidents', { name: 'Checkout errors', severity_id: 'sev-minor' })).incident;
      await page.goto(`/incidents/${inc.reference}`);
      await page.getByRole('heading', { name: 'Checkout errors', level: 1 }).waitFor();

      const card = page.locator('section', { has: page.getByRole('heading', { name: 'Updates', level: 2 }) });
      await card.getByText('No updates yet').waitFor();
      const form = card.getByRole('form', { name: 'Post an update' });
      await form.getByLabel('What changed').fill('Rolled back deploy 4812');
      await form.getByLabel('Status').selectOption({ label: 'Fixing' });
      await form.getByLabel('Severity').selectOption({ label: 'Major' });
      await form.getByRole('button', { name: 'Post update' }).click();

      const list = card.getByRole('list', { name: 'Updates, newest first' });
      await list.getByText('Rolled back deploy 4812').waitFor();
      expect(await list.locator('li.update').first().innerText()).toContain('Fixing · Major · Owner');
      await page.locator('.incident-head .badge-status').filter({ hasText: /^Fixing$/ }).waitFor();
      expect(await form.getByLabel('What changed').inputValue()).toBe('');
      // On the timeline too, as one item.
      await page.getByText('Update: Rolled back deploy 4812 (Fixing, Major)').waitFor();

      // Posted elsewhere: it shows up here through the live feed.
      await call('POST', `/api/v1/incidents/${inc.id}/updates`, { message: 'Error rate back to normal', status_id: 'monitoring' });
      await list.getByText('Error rate back to normal').waitFor();
      expect(await list.locator('li.update').count()).toBe(2);
      expect(await list.locator('li.update').first().innerText()).toContain('Error rate back to normal');
    }, { timeoutMs: 10_000 });
  }, 60_000);

  it('an admin changes the update reminders on the settings page', async () => {
    await inPage(stack, 'update-reminders', async (page) => {
      // A fresh sign-in link for the owner (the first one is used).
      const owner = (await stack.fb.app.users.list()).find((u) => u.role === 'owner')!;
      const link = await stack.fb.app.users.createLoginLink(owner.id, stack.fb.baseUrl, { kind: 'system' }, { kind: 'system', ref: 'test' });
      await page.goto(link.url);
      await page.waitForURL((u) => u.pathname === '/');
      await page.goto('/settings');
      await page.getByRole('link', { name: 'Update reminders' }).click();
      await page.getByRole('heading', { name: 'Update reminders', level: 1 }).waitFor();
      const critical = page.getByLabel('Critical');
      expect(await critical.inputValue()).toBe('30');
      await critical.fill('15');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
      const call = await apiAs(page);
      expect((await call('GET', '/api/v1/settings/update_reminders')).update_reminders.minutes_by_severity['sev-critical']).toBe(15);
    }, { timeoutMs: 10_000 });
  }, 60_000);
});
