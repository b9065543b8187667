// End to end in a real browser: sign in with the first owner's one-time link, declare an incident into
// triage, accept it, move it to Fixing, close it, and read each step back from the timeline. Also: a
// signed-out visitor is sent to the sign-in help page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { inPage, startBrowserStack, type BrowserStack } from './stack.js';

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('web app in Chromium', () => {
  let stack: BrowserStack;

  beforeAll(async () => {
    stack = await startBrowserStack();
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('sends a signed-out visitor from / to the sign-in page, which says how to get a link', async () => {
    await inPage(stack, 'signin', async (page) => {
      await page.goto('/');
      await page.waitForURL((u) => u.pathname === '/signin');
      await page.getByRole('heading', { name: 'Sign in to Firebreak' }).waitFor();
      expect(await page.locator('main').innerText()).toContain('npm run firebreak -- login-link you@example.com');
    }, { timeoutMs: 10_000 });
  });

  it('signs in, declares an incident, accepts it, moves it to Fixing, closes it, and shows each step on the timeline', async () => {
    const loginUrl = stack.fb.initialLoginUrl;
    if (!loginUrl) throw new Error('Firebreak started on an empty database gave no initial sign-in link');
    await inPage(stack, 'lifecycle', (page) => lifecycle(page, loginUrl), { timeoutMs: 10_000 });
  }, 60_000);
});

/** The steps a newcomer takes, through the UI only: labels, roles and button texts. */
async function lifecycle(page: Page, loginUrl: string): Promise<void> {
  const statusBadge = (name: string) =>
    page.locator('.incident-head .badge-status').filter({ hasText: new RegExp(`^${name}$`) });

  // Sign in: the one-time link sets the session cookie and lands on the incidents list.
  await page.goto(loginUrl);
  await page.waitForURL((u) => u.pathname === '/');
  await page.getByRole('heading', { name: 'Incidents', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();

  // Declare, into triage.
  await page.getByRole('link', { name: 'Declare incident' }).first().click();
  await page.waitForURL((u) => u.pathname === '/declare');
  await page.getByLabel('Name').fill('Checkout failing for EU customers');
  await page.getByLabel('Summary (optional)').fill('Payments time out after 30 s since 10:02.');
  const severity = page.getByLabel('Severity');
  await severity.locator('option:not([disabled])').first().waitFor({ state: 'attached' });
  const firstSeverity = await severity.locator('option:not([disabled])').first().getAttribute('value');
  await severity.selectOption(firstSeverity ?? '');
  await page.getByLabel(/Start in triage/).check();
  await page.getByRole('button', { name: 'Declare incident' }).click();

  await page.waitForURL((u) => /^\/incidents\/INC-\d+$/.test(u.pathname));
  await page.getByRole('heading', { name: 'Checkout failing for EU customers', level: 1 }).waitFor();
  await statusBadge('Triage').waitFor();

  // Accept it out of triage → live (Investigating).
  await page.getByRole('button', { name: 'Accept', exact: true }).click();
  await statusBadge('Investigating').waitFor();

  // Move to Fixing.
  await page.getByRole('button', { name: 'Move to Fixing' }).click();
  await statusBadge('Fixing').waitFor();

  // Close.
  await page.getByRole('button', { name: 'Close incident' }).click();
  await statusBadge('Closed').waitFor();
  expect(await page.getByRole('button', { name: 'Close incident' }).count()).toBe(0);

  // Reload: the deep link /incidents/INC-n is served by the SPA fallback and everything was stored.
  await page.reload();
  await statusBadge('Closed').waitFor();

  // The timeline, oldest first, shows every step in order.
  const items = page.getByRole('list', { name: 'Timeline' }).locator(':scope > li');
  await items.filter({ hasText: /Closed/ }).first().waitFor();
  const texts = (await items.locator('.timeline-text').allInnerTexts()).map((t) => t.trim());
  const at = (pattern: RegExp, after: number) => {
    const i = texts.findIndex((t, idx) => idx > after && pattern.test(t));
    if (i < 0) throw new Error(`no timeline item matching ${pattern} after position ${after} in:\n${texts.join('\n')}`);
    return i;
  };
  const declared = at(/declared|created|opened/i, -1);
  const accepted = at(/Triage.*Investigating|accepted/i, declared);
  const fixing = at(/Investigating.*Fixing|to Fixing/i, accepted);
  at(/Fixing.*Closed|closed/i, fixing);

  await page.screenshot({ path: '/tmp/fb-incident.png', fullPage: true });
}
