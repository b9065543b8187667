// Live pages in a real browser, on PostgreSQL with two Firebreak processes sharing the database: one page on
// process A, one on process B, and people in Slack (through the emulator's driver, to process A) change the same
// incident; each page shows every change, whoever made it, without a reload. When process B goes away its page
// says "Reconnecting…", and once B is back the page shows what changed meanwhile.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackEmulator, type SlackEmulator, type SlackUser } from '../../emulators/slack/index.js';
import { freshPostgresDatabase, ownerClient, postgresAvailable, startTestFirebreak, type Client, type TestFirebreak } from '../helpers.js';
import { waitFor } from '../slack/stack.js';
import { ensureWebBuilt, launchChromium } from './web-build.js';

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1' || !postgresAvailable)('live pages across two processes (Chromium, PostgreSQL)', () => {
  let db: { url: string; drop(): Promise<void> };
  let emu: SlackEmulator;
  let a: TestFirebreak;
  let b: TestFirebreak;
  let owner: Client;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const errors: string[] = [];
  let startB: (port: number) => Promise<TestFirebreak>;

  beforeAll(async () => {
    ensureWebBuilt();
    db = await freshPostgresDatabase();
    emu = await startSlackEmulator({ teamName: 'Acme Ops', botName: 'firebreak' });
    const announcements = emu.addChannel('incidents', { botIsMember: true });
    const slack = { botToken: emu.botToken, signingSecret: emu.signingSecret, apiUrl: emu.apiUrl, announcementsChannel: announcements.id };
    a = await startTestFirebreak('postgres', { pgUrl: db.url, slack, logLevel: 'warn' });
    emu.setAppUrl(`${a.baseUrl}/slack/events`);
    owner = await ownerClient(a);
    startB = (port) => startTestFirebreak('postgres', { pgUrl: db.url, slack, masterKey: a.app.config.masterKey!, port, logLevel: 'warn' });
    b = await startB(0);
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await b?.destroy();
    await a?.destroy();
    await emu?.stop();
    await db?.drop();
  });

  async function signedInPage(fb: TestFirebreak, loginUrl: string, name: string): Promise<Page> {
    const context = await browser.newContext({ baseURL: fb.baseUrl, viewport: { width: 1280, height: 1000 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (err) => errors.push(`${name}: ${err.message}`));
    await page.goto(loginUrl);
    await page.getByRole('link', { name: 'Incidents' }).first().waitFor();
    return page;
  }

  const live = (page: Page) => page.getByRole('status').filter({ hasText: /^(Live|Reconnecting…|Connecting…)$/ });
  const timeline = (page: Page) => page.getByRole('list', { name: 'Timeline' });

  it('two pages on two processes and a Slack command change one incident; both pages show each change', async () => {
    const shot = async (page: Page, step: string) => page.screenshot({ path: `/tmp/fb-live-${step}.png`, fullPage: true });
    try {
      // Ana, an admin, works on process A; Raj, a responder, on process B.
      const linkFor = async (name: string, email: string, role: string) => {
        const user = (await owner.post('/api/v1/users', { name, email, role })).body.user;
        return (await owner.post(`/api/v1/users/${user.id}/login_link`)).body.url as string;
      };
      const pageA = await signedInPage(a, await linkFor('Ana Lima', 'ana@example.com', 'admin'), 'A');
      const pageB = await signedInPage(b, (await linkFor('Raj Patel', 'raj@example.com', 'responder')).replace(a.baseUrl, b.baseUrl), 'B');
      await expect.poll(() => live(pageA).innerText()).toBe('Live');
      await expect.poll(() => live(pageB).innerText()).toBe('Live');

      // Raj watches the incidents list on B; Alice declares in Slack (through A): the list shows it, reloaded
      // in place (the list never gives way to "Loading incidents…").
      await pageB.getByText('No incidents yet.').waitFor();
      await pageB.evaluate(() => {
        const w = window as unknown as { sawLoading: boolean };
        w.sawLoading = false;
        new MutationObserver(() => {
          if (document.body.innerText.includes('Loading incidents…')) w.sawLoading = true;
        }).observe(document.body, { subtree: true, childList: true, characterData: true });
      });
      const alice: SlackUser = emu.addUser({ name: 'alice', realName: 'Alice Ops', email: 'alice@example.com' });
      const general = [...emu.state.channels.values()].find((c) => c.isGeneral)!;
      await emu.driver.slashCommand({ userId: alice.id, channelId: general.id, command: '/incident', text: 'declare' });
      const view = await waitFor('the declare modal', () => emu.openViews(alice.id).find((v) => v.callbackId === 'firebreak_declare'));
      await emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { name: { value: 'Checkout latency spike' } } });
      await pageB.getByRole('link', { name: /Checkout latency spike/ }).waitFor();
      expect(await pageB.evaluate(() => (window as unknown as { sawLoading: boolean }).sawLoading)).toBe(false);
      const inc = (await owner.get('/api/v1/incidents')).body.incidents[0];
      const channel = await waitFor('the incident channel', () => [...emu.state.channels.values()].find((c) => c.name.startsWith(`inc-${inc.number}`)));

      // Both open the incident.
      await pageA.goto(`/incidents/${inc.reference}`);
      await pageB.getByRole('link', { name: /Checkout latency spike/ }).click();
      for (const p of [pageA, pageB]) await p.getByRole('heading', { name: 'Checkout latency spike' }).waitFor();

      // Raj has started typing a note on B: live updates must not lose it.
      await pageB.getByLabel('Add a note to the timeline').fill('Half-written thought');

      // A note added on page A shows on page B.
      await pageA.getByLabel('Add a note to the timeline').fill('Rolled back deploy 4812');
      await pageA.getByRole('button', { name: 'Add note' }).click();
      await timeline(pageB).getByText('Rolled back deploy 4812').waitFor({ timeout: 3000 });

      // A severity change on page B shows on page A (details card) and in its timeline.
      await pageB.getByLabel('Change severity').selectOption({ label: 'Critical' });
      await expect.poll(() => pageA.getByLabel('Change severity').evaluate((s: HTMLSelectElement) => s.selectedOptions[0]?.textContent), { timeout: 3000 }).toBe('Critical');

      // Alice in Slack (process A's endpoint): a note and a new lead show on both pages.
      await emu.driver.slashCommand({ userId: alice.id, channelId: channel.id, command: '/incident', text: 'note Cache warmed up, p99 recovering' });
      await emu.driver.slashCommand({ userId: alice.id, channelId: channel.id, command: '/incident', text: `lead <@${alice.id}|alice>` });
      for (const p of [pageA, pageB]) {
        await timeline(p).getByText('Cache warmed up, p99 recovering').waitFor({ timeout: 3000 });
        await expect.poll(() => p.getByLabel('Change lead').evaluate((s: HTMLSelectElement) => s.selectedOptions[0]?.textContent), { timeout: 3000 }).toBe('Alice Ops');
      }
      expect(await pageB.getByLabel('Add a note to the timeline').inputValue()).toBe('Half-written thought');
      await shot(pageB, 'page-b');

      // Process B goes away: its page says so, and catches up once B is back on the same address.
      const port = Number(new URL(b.baseUrl).port);
      await b.destroy();
      await expect.poll(() => live(pageB).innerText(), { timeout: 5000 }).toBe('Reconnecting…');
      await shot(pageB, 'reconnecting');
      await owner.post(`/api/v1/incidents/${inc.reference}/timeline/notes`, { text: 'Made while B was down' });
      await timeline(pageA).getByText('Made while B was down').waitFor({ timeout: 3000 });
      b = await startB(port);
      await expect.poll(() => live(pageB).innerText(), { timeout: 8000 }).toBe('Live');
      await timeline(pageB).getByText('Made while B was down').waitFor({ timeout: 3000 });
      await shot(pageB, 'back');
      expect(await pageB.getByLabel('Add a note to the timeline').inputValue()).toBe('Half-written thought');
      expect(errors).toEqual([]);
    } catch (err) {
      for (const [i, c] of contexts.entries()) await c.pages()[0]?.screenshot({ path: `/tmp/fb-live-failure-${i}.png`, fullPage: true }).catch(() => {});
      throw err;
    }
  }, 90_000);
});
