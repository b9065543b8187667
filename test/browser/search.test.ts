// In a real browser: the incidents list's search box searches full text (name, summary, updates, notes, timeline),
// best match first, shows where each incident matched with the matched words in <mark>, and says so when nothing
// matches. Screenshot in /tmp/search-list.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiAs, inPage, startBrowserStack, type BrowserStack } from './stack.js';

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('incident search (Chromium)', () => {
  let stack: BrowserStack;

  beforeAll(async () => {
    stack = await startBrowserStack();
  });
  afterAll(async () => stack?.close());

  it('a responder searches, sees the best match first and the matched words marked', async () => {
    await inPage(stack, 'search-list', async (page) => {
      await page.goto(stack.fb.initialLoginUrl!);
      await page.getByRole('link', { name: 'Declare incident' }).first().waitFor();
      const api = await apiAs(page);
      const noted = (await api('POST', '/api/v1/incidents', { name: 'Slow search', summary: 'queries take seconds' })).incident;
      await api('POST', `/api/v1/incidents/${noted.id}/timeline/notes`, { text: 'The <b>checkout</b> team deployed a new index on orders' });
      await api('POST', '/api/v1/incidents', { name: 'Checkout outage', summary: 'card payments declined' });
      await api('POST', '/api/v1/incidents', { name: 'Unrelated noise', summary: 'nothing to see' });

      await page.goto('/');
      const table = page.locator('table.incidents-table tbody');
      await table.getByRole('link', { name: 'Unrelated noise' }).waitFor();
      await page.getByLabel('Search').fill('checkout');
      await page.waitForURL(/[?&]q=checkout\b/);
      // Best match first: the name match above the note match; the sort says so.
      await expect.poll(() => table.locator('.row-title').allTextContents()).toEqual(['Checkout outage', 'Slow search']);
      expect(await page.getByLabel('Sort').inputValue()).toBe('relevance');
      const rows = table.locator('tr');
      expect(await rows.nth(0).locator('.row-title mark').allTextContents()).toEqual(['Checkout']);
      const line = rows.nth(1).locator('.search-match');
      expect(await line.textContent()).toBe('Note: The <b>checkout</b> team deployed a new index on orders');
      expect(await line.locator('mark').allTextContents()).toEqual(['checkout']);
      // The note's text is text: no element was made from it.
      expect(await line.locator('b').count()).toBe(0);
      await page.screenshot({ path: '/tmp/search-list.png', fullPage: true });

      // Typing on: the last word matches as a prefix.
      await page.getByLabel('Search').fill('deployed ind');
      await expect.poll(() => table.locator('.row-title').allTextContents()).toEqual(['Slow search']);
      expect(await table.locator('.search-match mark').allTextContents()).toEqual(['deployed', 'index']);

      // Operators and quotes are words like any other; nothing matching says so.
      await page.getByLabel('Search').fill('"zeppelin" OR (');
      await page.getByText('No incidents match “"zeppelin" OR (”.').waitFor();
    }, { timeoutMs: 20_000 });
  }, 120_000);
});
