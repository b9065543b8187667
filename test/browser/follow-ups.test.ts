// Follow-ups in the web app, in Chromium: a responder adds one on the incident page (a bad link is refused next to
// the field and nothing is written), picks its owner and priority by name, marks it done in place, and sees one made
// elsewhere arrive through the live feed; the /follow-ups page (in the nav) lists them across incidents with names,
// filters them, and its "Download CSV" link exports the same filters; a viewer reads but cannot change anything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { apiAs, inPage, startBrowserStack, type BrowserStack } from './stack.js';

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('follow-ups in the web app (Chromium)', () => {
  let stack: BrowserStack;
  let responderLink = '';
  let responderLink2 = '';
  let viewerLink = '';
  let checkout: { id: string; reference: string };
  let search: { id: string; reference: string };

  const signIn = async (page: Page, link: string) => {
    await page.goto(link);
    await page.waitForURL((u) => u.pathname === '/');
  };

  beforeAll(async () => {
    stack = await startBrowserStack();
    await inPage(stack, 'follow-ups-setup', async (page) => {
      await signIn(page, stack.fb.initialLoginUrl!);
      const api = await apiAs(page);
      const rita = await api('POST', '/api/v1/users', { name: 'Rita Responder', email: 'rita@example.com', role: 'responder' });
      await api('POST', '/api/v1/users', { name: 'Omar Owner', email: 'omar@example.com', role: 'responder' });
      const viewer = await api('POST', '/api/v1/users', { name: 'Vic Viewer', email: 'vic@example.com', role: 'viewer' });
      // Sign-in links are single use: one per test that signs Rita in.
      responderLink = (await api('POST', `/api/v1/users/${rita.user.id}/login_link`)).url;
      responderLink2 = (await api('POST', `/api/v1/users/${rita.user.id}/login_link`)).url;
      viewerLink = (await api('POST', `/api/v1/users/${viewer.user.id}/login_link`)).url;
      checkout = (await api('POST', '/api/v1/incidents', { name: 'Checkout is down' })).incident;
      search = (await api('POST', '/api/v1/incidents', { name: 'Search is slow' })).incident;
      await api('POST', `/api/v1/incidents/${search.id}/actions/close`, {});
    });
  }, 90_000);
  afterAll(async () => stack?.close());

  it('a responder adds, edits and completes follow-ups on the incident page; one made elsewhere appears live', async () => {
    await inPage(stack, 'follow-ups-card', async (page) => {
      await signIn(page, responderLink);
      const api = await apiAs(page);
      await page.goto(`/incidents/${checkout.reference}`);
      const card = page.locator('section', { has: page.getByRole('heading', { name: /^Follow-ups/ }) });
      await card.getByText('No follow-ups yet').waitFor();

      await card.getByRole('button', { name: 'Add follow-up' }).click();
      const form = page.getByRole('form', { name: 'Add a follow-up' });
      await form.getByLabel('Title').fill('Alert when a disk passes 80%');
      await form.getByLabel('Owner').selectOption({ label: 'Omar Owner' });
      await form.getByLabel('Priority').selectOption({ label: 'High' });
      await form.getByLabel('Link').fill('ftp://tickets.example.com/OPS-1');
      await form.getByRole('button', { name: 'Add follow-up' }).click();
      await form.getByText('must be an http:// or https:// URL').waitFor();
      expect((await api('GET', `/api/v1/incidents/${checkout.id}/follow_ups`)).follow_ups).toEqual([]);

      await form.getByLabel('Link').fill('https://tickets.example.com/OPS-1');
      await form.getByRole('button', { name: 'Add follow-up' }).click();
      const list = card.getByRole('list', { name: 'Follow-ups' });
      const row = list.getByRole('listitem', { name: 'Alert when a disk passes 80%' });
      await row.waitFor();
      expect(await row.getByLabel('Owner').locator('option:checked').innerText()).toBe('Omar Owner');
      expect(await row.getByLabel('Priority').locator('option:checked').innerText()).toBe('High');
      await expect.poll(async () => (await page.getByRole('list', { name: 'Timeline' }).innerText()).includes('Follow-up added: "Alert when a disk passes 80%" (owner Omar Owner, high priority)')).toBe(true);

      await row.getByLabel('Status').selectOption({ label: 'Done' });
      await expect.poll(async () => (await api('GET', `/api/v1/incidents/${checkout.id}/follow_ups`)).follow_ups[0].status).toBe('done');
      const stored = (await api('GET', `/api/v1/incidents/${checkout.id}/follow_ups`)).follow_ups[0];
      expect(stored).toMatchObject({ owner: { name: 'Omar Owner' }, priority: 'high', link: 'https://tickets.example.com/OPS-1', source: 'web' });
      expect(stored.completed_at).toEqual(expect.any(String));
      await card.getByRole('heading', { name: 'Follow-ups (0 open of 1)' }).waitFor();

      // Made through the API (as from Slack or another tab): the card follows without a reload.
      await api('POST', `/api/v1/incidents/${checkout.id}/follow_ups`, { title: 'Write the disk runbook', priority: 'low' });
      await list.getByRole('listitem', { name: 'Write the disk runbook' }).waitFor({ timeout: 5000 });
      await card.getByRole('heading', { name: 'Follow-ups (1 open of 2)' }).waitFor();
    });
  });

  it('the Follow-ups page lists across incidents with names, filters, and downloads the same filters as CSV', async () => {
    await inPage(stack, 'follow-ups-page', async (page) => {
      await signIn(page, responderLink2);
      const api = await apiAs(page);
      await api('POST', `/api/v1/incidents/${search.id}/follow_ups`, { title: 'Tune the search cache', priority: 'urgent' });
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Follow-ups' }).click();
      await page.getByRole('heading', { name: 'Follow-ups', level: 1 }).waitFor();
      const table = page.getByRole('table', { name: 'Follow-ups' });
      await table.getByRole('row', { name: /Tune the search cache/ }).waitFor();
      const rowText = await table.getByRole('row', { name: /Alert when a disk/ }).innerText();
      expect(rowText).toContain(checkout.reference);
      expect(rowText).toContain('Checkout is down');
      expect(rowText).toContain('Omar Owner');
      expect(rowText).not.toContain(checkout.id);
      expect(await table.getByRole('row').count()).toBe(4); // header + 3

      await page.getByLabel('Status', { exact: true }).selectOption({ label: 'Done' });
      await page.waitForURL((u) => u.searchParams.get('status') === 'done');
      await expect.poll(() => table.getByRole('row').count()).toBe(2);
      const href = await page.getByRole('link', { name: 'Download CSV' }).getAttribute('href');
      expect(href).toBe('/api/v1/follow_ups/export.csv?status=done');
      const csv = await (await page.request.get(href!)).text();
      expect(csv.trim().split('\n')).toHaveLength(2);
      expect(csv).toContain(`${checkout.reference},Checkout is down,Alert when a disk passes 80%,Done,high,Omar Owner,omar@example.com,https://tickets.example.com/OPS-1`);

      // Live: a follow-up made elsewhere that matches appears.
      const made = (await api('POST', `/api/v1/incidents/${search.id}/follow_ups`, { title: 'Already handled', status: 'done' })).follow_up;
      await table.getByRole('row', { name: /Already handled/ }).waitFor({ timeout: 5000 });
      expect(made.incident.reference).toBe(search.reference);

      await page.getByLabel('Search', { exact: true }).fill('nothing matches this');
      await page.getByText('No follow-ups match these filters').waitFor();
      await page.getByRole('button', { name: 'Clear filters' }).click();
      await expect.poll(() => table.getByRole('row').count()).toBe(5);
    });
  });

  it('a viewer reads follow-ups but has nothing to change them with', async () => {
    await inPage(stack, 'follow-ups-viewer', async (page) => {
      await signIn(page, viewerLink);
      await page.goto(`/incidents/${checkout.reference}`);
      const card = page.locator('section', { has: page.getByRole('heading', { name: /^Follow-ups/ }) });
      const row = card.getByRole('listitem', { name: 'Alert when a disk passes 80%' });
      await row.waitFor();
      expect(await row.innerText()).toContain('Done · High priority · Owner: Omar Owner');
      expect(await card.getByRole('button', { name: 'Add follow-up' }).count()).toBe(0);
      expect(await card.getByRole('combobox').count()).toBe(0);
    });
  });
});
