// Incident roles in the web app, in Chromium: an admin defines Communications, Scribe and Operations on
// Settings → Roles (a duplicate name is refused with the server's message, a role moves up, a description is
// edited); on an incident page a responder gives Communications to a person from the Roles card, and the
// timeline tells it; a change made elsewhere (the API) and a role renamed show without a reload. A viewer reads
// the same names without any control.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { apiAs, inPage, startBrowserStack, type BrowserStack } from './stack.js';

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('incident roles in the web app (Chromium)', () => {
  let stack: BrowserStack;
  let responderLink = '';
  let viewerLink = '';
  let adminLink = '';
  let ownerId = '';
  let reference = '';

  beforeAll(async () => {
    stack = await startBrowserStack();
  }, 90_000);
  afterAll(async () => stack?.close());

  const rowOf = (page: Page, name: string) => page.getByRole('list', { name: 'Roles, in the order incidents show them' }).getByRole('listitem').filter({ has: page.getByText(name, { exact: true }) });
  const names = (page: Page) => page.getByRole('list', { name: 'Roles, in the order incidents show them' }).locator('strong').allTextContents();

  it('an admin defines, reorders and describes roles; a duplicate name is refused with its reason', async () => {
    await inPage(stack, 'roles-settings', async (page) => {
      await page.goto(stack.fb.initialLoginUrl!);
      await page.waitForURL((u) => u.pathname === '/');
      const api = await apiAs(page);
      ownerId = (await api('GET', '/api/v1/session')).user.id;
      const responder = await api('POST', '/api/v1/users', { name: 'Rosa Responder', email: 'rosa@example.com', role: 'responder' });
      const viewer = await api('POST', '/api/v1/users', { name: 'Vic Viewer', email: 'vic@example.com', role: 'viewer' });
      responderLink = (await api('POST', `/api/v1/users/${responder.user.id}/login_link`)).url;
      viewerLink = (await api('POST', `/api/v1/users/${viewer.user.id}/login_link`)).url;
      const admin = await api('POST', '/api/v1/users', { name: 'Ada Admin', email: 'ada@example.com', role: 'admin' });
      adminLink = (await api('POST', `/api/v1/users/${admin.user.id}/login_link`)).url;

      await page.goto('/settings/severities');
      await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Roles' }).click();
      await page.getByRole('heading', { name: 'Roles', level: 1 }).waitFor();
      await page.getByText('No roles yet besides the lead.').waitFor();
      const add = page.getByRole('region', { name: 'Add a role' });
      for (const [name, description] of [
        ['Communications', 'Keeps stakeholders and the status page informed'],
        ['Scribe', 'Keeps the timeline'],
        ['Operations', 'Hands on keyboard'],
      ] as const) {
        await add.getByLabel('Name').fill(name);
        await add.getByLabel('Description').fill(description);
        await add.getByRole('button', { name: 'Add role' }).click();
        await rowOf(page, name).waitFor();
      }
      expect(await names(page)).toEqual(['Communications', 'Scribe', 'Operations']);

      await add.getByLabel('Name').fill('scribe');
      await add.getByRole('button', { name: 'Add role' }).click();
      await add.getByText('A role named "Scribe" already exists; role names are unique (whatever their case).').waitFor();

      await page.getByRole('button', { name: 'Move Operations up' }).click();
      await expect.poll(() => names(page)).toEqual(['Communications', 'Operations', 'Scribe']);

      await page.getByRole('button', { name: 'Edit Scribe' }).click();
      const form = page.getByRole('form', { name: 'Edit Scribe' });
      await form.getByLabel('Description').fill('Keeps the timeline and the notes');
      await form.getByRole('button', { name: 'Save' }).click();
      await rowOf(page, 'Scribe').getByText('Keeps the timeline and the notes').waitFor();
      await page.screenshot({ path: '/tmp/fb-roles-settings.png', fullPage: true });

      const stored = (await api('GET', '/api/v1/incident_roles')).incident_roles.map((r: { name: string; rank: number }) => [r.name, r.rank]);
      expect(stored).toEqual([['Communications', 1], ['Operations', 2], ['Scribe', 3]]);
      reference = (await api('POST', '/api/v1/incidents', { name: 'Checkout is down' })).incident.reference;
    });
  });

  it('a responder gives a role from the incident page; changes made elsewhere show without a reload', async () => {
    await inPage(stack, 'roles-incident', async (page) => {
      await page.goto(responderLink);
      await page.waitForURL((u) => u.pathname === '/');
      const api = await apiAs(page);
      await page.goto(`/incidents/${reference}`);
      const card = page.getByRole('region', { name: 'Roles' });
      await card.getByText('Lead', { exact: true }).waitFor();
      const comms = card.getByLabel('Communications: who holds it');
      expect(await comms.inputValue()).toBe('');
      const options = await comms.locator('option').allTextContents();
      expect(options).toContain('Rosa Responder');
      expect(options).not.toContain('Vic Viewer');

      await comms.selectOption({ label: 'Rosa Responder' });
      await expect.poll(async () => (await api('GET', `/api/v1/incidents/${reference}`)).incident.roles[0].user?.name ?? null).toBe('Rosa Responder');
      await page.getByRole('region', { name: 'Timeline' }).getByText('Communications given to Rosa Responder').waitFor();

      // Someone else (here the API, as Slack or another tab would) gives Scribe to the owner: the card follows.
      const scribe = (await api('GET', '/api/v1/incident_roles')).incident_roles.find((r: { name: string }) => r.name === 'Scribe');
      await api('PUT', `/api/v1/incidents/${reference}/roles/${scribe.id}`, { user_id: ownerId });
      await expect.poll(() => card.getByLabel('Scribe: who holds it').evaluate((s: HTMLSelectElement) => s.selectedOptions[0]?.textContent ?? '')).toBe('Owner');
      await page.getByRole('region', { name: 'Timeline' }).getByText('Scribe given to Owner').waitFor();
      await page.screenshot({ path: '/tmp/fb-roles-incident.png', fullPage: true });
    });
  });

  it('a role renamed by an admin shows its new name; a viewer reads names without controls', async () => {
    await inPage(stack, 'roles-viewer', async (page) => {
      await page.goto(viewerLink);
      await page.waitForURL((u) => u.pathname === '/');
      await page.goto(`/incidents/${reference}`);
      const card = page.getByRole('region', { name: 'Roles' });
      await card.getByText('Rosa Responder').waitFor();
      // Lead, then the roles in their order, each with who holds it, by name.
      expect(await card.locator('dt').evaluateAll((ds) => ds.map((d) => d.firstChild?.textContent))).toEqual(['Lead', 'Communications', 'Operations', 'Scribe']);
      expect(await card.locator('dd').allTextContents()).toEqual(['Owner', 'Rosa Responder', 'Nobody', 'Owner']);
      await card.getByText('Keeps stakeholders and the status page informed').waitFor();
      expect(await card.locator('select').count()).toBe(0);

      // An admin renames Communications on Settings → Roles in another browser: the viewer's page follows.
      await inPage(stack, 'roles-rename', async (admin) => {
        await admin.goto(adminLink);
        await admin.waitForURL((u) => u.pathname === '/');
        await admin.goto('/settings/roles');
        await admin.getByRole('button', { name: 'Edit Communications' }).click();
        const form = admin.getByRole('form', { name: 'Edit Communications' });
        await form.getByLabel('Name').fill('Comms');
        await form.getByRole('button', { name: 'Save' }).click();
        await rowOf(admin, 'Comms').waitFor();
      });
      await expect.poll(() => card.locator('dt').evaluateAll((ds) => ds.map((d) => d.firstChild?.textContent)), { timeout: 10_000 }).toEqual(['Lead', 'Comms', 'Operations', 'Scribe']);

      await page.goto('/settings/roles');
      await page.getByText('Only owners and admins can change roles.').waitFor();
      expect(await page.getByRole('region', { name: 'Add a role' }).count()).toBe(0);
      expect(await page.getByRole('button', { name: /Move|Edit|Delete/ }).count()).toBe(0);
    });
  });
});
