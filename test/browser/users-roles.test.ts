// The Users page offers an admin only what the server's role rule allows: no role menu, rename or sign-in link
// for an owner (the row says "Owners only"), no Owner in any role menu, and a working sign-in link for the
// people they may act for. Checked in Chromium as an admin signed in through an owner-made link.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiAs, inPage, startBrowserStack, type BrowserStack } from './stack.js';

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('Users page and roles in Chromium', () => {
  let stack: BrowserStack;
  let adminLink = '';

  beforeAll(async () => {
    stack = await startBrowserStack();
    await inPage(stack, 'users-roles-setup', async (page) => {
      await page.goto(stack.fb.initialLoginUrl!);
      await page.waitForURL((u) => u.pathname === '/');
      const api = await apiAs(page);
      const admin = await api('POST', '/api/v1/users', { name: 'Ada Admin', email: 'ada@example.com', role: 'admin' });
      await api('POST', '/api/v1/users', { name: 'Rui Responder', email: 'rui@example.com', role: 'responder' });
      adminLink = (await api('POST', `/api/v1/users/${admin.user.id}/login_link`)).url;
    });
  }, 60_000);
  afterAll(async () => stack?.close());

  it('shows an admin no way to act for the owner, no Owner role to give, and a working link for a responder', async () => {
    await inPage(stack, 'users-roles-admin', async (page) => {
      await page.goto(adminLink);
      await page.waitForURL((u) => u.pathname === '/');
      await page.goto('/settings/users');
      await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
      await page.getByText('Only owners can change owners').waitFor();

      const ownerRow = page.getByRole('row').filter({ hasText: 'owner@localhost' });
      expect(await ownerRow.innerText()).toContain('Owners only');
      expect(await page.getByRole('combobox', { name: 'Role of Owner' }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Create a sign-in link for Owner' }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Rename Owner' }).count()).toBe(0);

      const optionsOf = (label: string) => page.getByRole('combobox', { name: label, exact: true }).locator('option').allInnerTexts();
      expect(await optionsOf('Role of Ada Admin')).toEqual(['Admin', 'Responder', 'Viewer']);
      expect(await optionsOf('Role of Rui Responder')).toEqual(['Admin', 'Responder', 'Viewer']);
      expect(await optionsOf('Role')).toEqual(['Admin', 'Responder', 'Viewer']);

      await page.getByRole('button', { name: 'Create a sign-in link for Rui Responder' }).click();
      const link = page.getByLabel('One-time sign-in link for Rui Responder');
      await link.waitFor();
      expect(await link.inputValue()).toMatch(/\/auth\/login\?token=/);
      await page.screenshot({ path: '/tmp/fb-users-roles-admin.png', fullPage: true });

      await page.goto('/settings/api-keys');
      await page.getByText('A key never does more than the person who created it can do today').waitFor();
      await page.screenshot({ path: '/tmp/fb-api-keys-admin.png', fullPage: true });
    });
  }, 60_000);
});
