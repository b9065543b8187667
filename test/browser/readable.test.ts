// In a real browser, with the PagerDuty emulator delivering signed webhooks:
//  - the timeline folds PagerDuty's assignments and notifications under the state change they follow (one line that
//    expands on click), names who acted ("<person> via PagerDuty"), shows notes as quoted notes with their author,
//    and filters (everything / updates and notes / PagerDuty activity) with the filter in the URL;
//  - the incidents list's search box, sort and pages, all in the URL;
//  - dark mode when the browser prefers it (screenshots in /tmp/readable-*.png), and the invalid sign-in page
//    reading "Settings → Users" in both schemes.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { startCheckedPagerDuty } from '../pagerduty-requests.js';
import { apiAs, inPage, startBrowserStack, type BrowserStack } from './stack.js';

const PD_HEADERS = (key: string, from?: string) => ({
  authorization: `Token token=${key}`,
  accept: 'application/vnd.pagerduty+json;version=2',
  'content-type': 'application/json',
  ...(from ? { from } : {}),
});

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('readable pages (Chromium)', () => {
  let stack: BrowserStack;
  let pd: PagerDutyEmulator;
  let incidentRef = '';
  // One-time sign-in links for the owner, made while signed in, for the later tests' fresh browser profiles.
  const links: string[] = [];

  beforeAll(async () => {
    pd = await startCheckedPagerDuty({ seed: 'small', rateLimitPerMinute: false });
    stack = await startBrowserStack();
  });

  afterAll(async () => {
    await stack?.close();
    await pd?.stop();
  });

  it('the timeline folds PagerDuty noise under each state change, names people and filters by kind', async () => {
    await inPage(stack, 'readable-timeline', async (page) => {
      await page.goto(stack.fb.initialLoginUrl!);
      await page.getByRole('link', { name: 'Declare incident' }).first().waitFor();
      const call = await apiAs(page);
      const ownerId = (await call('GET', '/api/v1/session')).user.id as string;
      for (let i = 0; i < 4; i++) links.push((await call('POST', `/api/v1/users/${ownerId}/login_link`)).url);
      const bot = [...pd.state.users.values()][0]!;
      await call('PUT', '/api/v1/integrations/pagerduty', { region: 'us', base_url: pd.baseUrl, api_key: pd.fullAccessKey, bot_user_id: bot.id });
      const subRes = await fetch(`${pd.baseUrl}/webhook_subscriptions`, {
        method: 'POST',
        headers: PD_HEADERS(pd.fullAccessKey),
        body: JSON.stringify({ webhook_subscription: { type: 'webhook_subscription', delivery_method: { type: 'http_delivery_method', url: `${stack.fb.baseUrl}/webhooks/pagerduty` }, events: ['incident.triggered', 'incident.acknowledged', 'incident.resolved', 'incident.annotated'], filter: { type: 'account_reference' } } }),
      });
      expect(subRes.status).toBe(200);
      await call('PUT', '/api/v1/integrations/pagerduty/webhook_secret', { secret: ((await subRes.json()) as any).webhook_subscription.delivery_method.secret });

      // A PagerDuty incident pages people (assignments and email notifications), is attached to an incident, and
      // one of the people paged acknowledges it in PagerDuty.
      const service = [...pd.state.services.values()].find((s) => !s.description.includes('incident-io-ignore'))!;
      const pdInc = pd.admin.triggerIncident({ service_id: service.id, title: 'Checkout latency above 2 s', urgency: 'high' });
      const created = (await call('POST', '/api/v1/incidents', { name: 'Checkout is slow', summary: 'p99 above 2 s' })).incident;
      incidentRef = created.reference;
      await call('POST', `/api/v1/incidents/${created.id}/pagerduty_incidents`, { pagerduty_incident: pdInc.id });
      const responder = pd.state.users.get(pdInc.assignments[0]!.user_id)!;
      const ack = await fetch(`${pd.baseUrl}/incidents/${pdInc.id}`, {
        method: 'PUT',
        headers: PD_HEADERS(pd.fullAccessKey, responder.email),
        body: JSON.stringify({ incident: { type: 'incident_reference', status: 'acknowledged' } }),
      });
      expect(ack.status).toBe(200);
      await pd.webhooks.flush();
      await call('POST', `/api/v1/incidents/${created.id}/timeline/notes`, { text: 'Rolled back the 14:02 deploy.\nLatency is recovering.' });
      let items: { kind: string; text: string }[] = [];
      await expect
        .poll(async () => {
          items = (await call('GET', `/api/v1/incidents/${created.id}/timeline`)).items;
          return items.map((i) => i.kind);
        }, { timeout: 20_000, interval: 300 })
        .toEqual(expect.arrayContaining(['pagerduty.triggered', 'pagerduty.assigned', 'pagerduty.notified', 'pagerduty.acknowledged', 'note_added']));
      const notified = items.filter((i) => i.kind === 'pagerduty.notified');
      const assigned = items.filter((i) => i.kind === 'pagerduty.assigned');
      expect(notified.length).toBeGreaterThan(0);

      await page.goto(`/incidents/${incidentRef}`);
      const timeline = page.getByRole('list', { name: 'Timeline' });
      const triggered = timeline.getByRole('listitem').filter({ hasText: /PagerDuty incident #\d+ triggered/ });
      await triggered.waitFor();
      // The assignments and notifications are one line under "triggered", folded until clicked.
      const toggle = triggered.getByRole('button', { name: `Show ${assigned.length} assignment${assigned.length === 1 ? '' : 's'} and ${notified.length} notification${notified.length === 1 ? '' : 's'} (email)` });
      await toggle.waitFor();
      expect(await timeline.getByText(notified[0]!.text, { exact: true }).count()).toBe(0);
      expect(await timeline.getByRole('button', { name: /^Show / }).count()).toBe(1);
      await page.screenshot({ path: '/tmp/readable-timeline-folded.png', fullPage: true });
      await toggle.click();
      const folded = triggered.getByRole('list', { name: 'PagerDuty assignments and notifications' });
      for (const n of [...assigned, ...notified]) await folded.getByText(n.text, { exact: true }).waitFor();
      expect(await triggered.getByRole('button', { name: /^Hide / }).getAttribute('aria-expanded')).toBe('true');

      // The acknowledgement is told as the person who did it, never a PagerDuty id.
      const acked = timeline.getByRole('listitem').filter({ hasText: /acknowledged by/ });
      await acked.getByText(`${responder.name} via PagerDuty`, { exact: true }).waitFor();
      const pageText = (await page.locator('main').textContent()) ?? '';
      expect(pageText).not.toContain(responder.id);
      expect(pageText).not.toContain(pdInc.id);

      // The note is a quoted note with its author, line breaks kept.
      const note = timeline.locator('blockquote.timeline-note');
      expect(await note.innerText()).toBe('Rolled back the 14:02 deploy.\nLatency is recovering.');
      await timeline.getByText('Note by Owner', { exact: true }).waitFor();
      await page.screenshot({ path: '/tmp/readable-timeline-light.png', fullPage: true });

      // Filter: updates and notes hide PagerDuty activity; PagerDuty activity hides the note. Kept in the URL.
      const filter = page.getByRole('navigation', { name: 'Show on the timeline' });
      await filter.getByRole('link', { name: 'Updates and notes' }).click();
      await page.waitForURL(/[?&]timeline=updates\b/);
      await timeline.locator('blockquote.timeline-note').waitFor();
      expect(await timeline.getByText(/PagerDuty incident #\d+/).count()).toBe(0);
      await page.reload();
      await timeline.locator('blockquote.timeline-note').waitFor();
      expect(await timeline.getByText(/PagerDuty incident #\d+/).count()).toBe(0);
      expect(await filter.getByRole('link', { name: 'Updates and notes' }).getAttribute('aria-current')).toBe('true');
      await filter.getByRole('link', { name: 'PagerDuty activity' }).click();
      await page.waitForURL(/[?&]timeline=pagerduty\b/);
      await triggered.waitFor();
      expect(await timeline.locator('blockquote.timeline-note').count()).toBe(0);
      expect(await timeline.getByText(/^Incident declared/).count()).toBe(0);
      await filter.getByRole('link', { name: 'Everything' }).click();
      await timeline.locator('blockquote.timeline-note').waitFor();
      expect(page.url()).not.toContain('timeline=');
    }, { height: 1100, timeoutMs: 20_000 });
  }, 120_000);

  it('the incidents list searches, sorts and pages, all in the URL', async () => {
    await inPage(stack, 'readable-list', async (page) => {
      await signIn(page);
      const api = await apiAs(page);
      const sevs = (await api('GET', '/api/v1/severities')).severities as { id: string; name: string }[];
      const critical = sevs.find((s) => s.name === 'Critical')!.id;
      await api('POST', '/api/v1/incidents', { name: 'Payments API 500s', summary: 'card checkout failing', severity_id: critical });
      await api('POST', '/api/v1/incidents', { name: 'Search index stale', summary: 'nightly job late' });
      for (let i = 1; i <= 26; i++) await api('POST', '/api/v1/incidents', { name: `Noise ${i}`, summary: 'synthetic' });

      await page.goto('/');
      const table = page.locator('table.incidents-table tbody');
      await table.getByRole('link', { name: 'Noise 26' }).waitFor();
      await page.getByLabel('Search').fill('CHECKOUT');
      await page.waitForURL(/[?&]q=CHECKOUT\b/);
      await expect.poll(async () => (await table.locator('.row-title').allTextContents()).sort()).toEqual(['Checkout is slow', 'Payments API 500s']);
      await page.screenshot({ path: '/tmp/readable-list-search.png', fullPage: true });
      // A reload keeps the search, in the box and in the list.
      await page.reload();
      expect(await page.getByLabel('Search').inputValue()).toBe('CHECKOUT');
      await expect.poll(async () => (await table.locator('.row-title').allTextContents()).sort()).toEqual(['Checkout is slow', 'Payments API 500s']);
      await page.getByLabel('Sort').selectOption({ label: 'Most severe first' });
      await page.waitForURL(/[?&]sort=severity\b/);
      await expect.poll(() => table.locator('.row-title').allTextContents()).toEqual(['Payments API 500s', 'Checkout is slow']);

      // Pages: 29 incidents, 25 a page.
      await page.getByLabel('Search').fill('');
      await page.waitForURL((u) => !u.search.includes('q='));
      await page.getByLabel('Sort').selectOption({ label: 'Oldest first' });
      await page.waitForURL(/[?&]sort=oldest\b/);
      await expect.poll(() => table.locator('.row-title').count()).toBe(25);
      const first = await table.locator('.row-title').first().textContent();
      expect(first).toBe('Checkout is slow');
      const pager = page.getByRole('navigation', { name: 'Pages of incidents' });
      expect(await pager.getByRole('button', { name: '← Previous' }).isDisabled()).toBe(true);
      await pager.getByRole('button', { name: 'Next →' }).click();
      await page.waitForURL(/[?&]cursor=/);
      await pager.getByText('Page 2').waitFor();
      await expect.poll(() => table.locator('.row-title').allTextContents()).toEqual(['Noise 23', 'Noise 24', 'Noise 25', 'Noise 26']);
      expect(await pager.getByRole('button', { name: 'Next →' }).isDisabled()).toBe(true);
      await page.reload();
      await pager.getByText('Page 2').waitFor();
      await pager.getByRole('button', { name: '← Previous' }).click();
      await pager.getByText('Page 1').waitFor();
      expect(await table.locator('.row-title').first().textContent()).toBe('Checkout is slow');
    }, { timeoutMs: 20_000 });
  }, 120_000);

  it('follows the browser in dark mode, and the invalid sign-in page reads "Settings → Users" in both schemes', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      const context = await stack.browser.newContext({ baseURL: stack.fb.baseUrl, viewport: { width: 1280, height: 1000 }, colorScheme: scheme });
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      try {
        await page.goto('/auth/login?token=no-such-token');
        await page.getByText('Ask an admin for a new one (Settings → Users)').waitFor();
        expect(await page.locator('body').textContent()).not.toContain('â');
        const signinBg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
        expect(signinBg).toBe(scheme === 'dark' ? 'rgb(15, 20, 27)' : 'rgb(246, 247, 249)');
        await page.screenshot({ path: `/tmp/readable-signin-${scheme}.png`, fullPage: true });

        await signIn(page);
        await page.goto(`/incidents/${incidentRef}`);
        await page.getByRole('list', { name: 'Timeline' }).waitFor();
        const colours = await page.evaluate(() => {
          const css = (sel: string, prop: 'backgroundColor' | 'color') => {
            const el = document.querySelector(sel);
            return el ? getComputedStyle(el)[prop] : null;
          };
          return { bg: css('html', 'backgroundColor'), card: css('.card', 'backgroundColor'), text: css('.card', 'color'), input: css('textarea', 'backgroundColor') };
        });
        if (scheme === 'dark') expect(colours).toEqual({ bg: 'rgb(15, 20, 27)', card: 'rgb(24, 32, 43)', text: 'rgb(230, 234, 240)', input: 'rgb(17, 24, 32)' });
        else expect(colours).toEqual({ bg: 'rgb(246, 247, 249)', card: 'rgb(255, 255, 255)', text: 'rgb(28, 36, 48)', input: 'rgb(255, 255, 255)' });
        // Every badge on the page keeps its text readable against its own background.
        const badges = await page.evaluate(() =>
          [...document.querySelectorAll('.badge')].map((b) => {
            // A badge without its own background shows the one behind it.
            let el: Element | null = b;
            let bg = 'rgba(0, 0, 0, 0)';
            while (el && /rgba\(0, 0, 0, 0\)|transparent/.test((bg = getComputedStyle(el).backgroundColor))) el = el.parentElement;
            return { text: b.textContent, color: getComputedStyle(b).color, bg };
          }),
        );
        expect(badges.length).toBeGreaterThan(0);
        for (const b of badges) expect(contrast(b.color, b.bg), `${b.text}: ${b.color} on ${b.bg}`).toBeGreaterThanOrEqual(4.5);
        await page.screenshot({ path: `/tmp/readable-incident-${scheme}.png`, fullPage: true });
        await page.goto('/');
        await page.locator('table.incidents-table').waitFor();
        await page.screenshot({ path: `/tmp/readable-list-${scheme}.png`, fullPage: true });
        for (const [name, path] of [['declare', '/declare'], ['pagerduty', '/settings/integrations/pagerduty'], ['users', '/settings/users']] as const) {
          await page.goto(path);
          await page.locator('main h1').first().waitFor();
          await page.screenshot({ path: `/tmp/readable-${name}-${scheme}.png`, fullPage: true });
        }
        expect(errors).toEqual([]);
      } catch (err) {
        await page.screenshot({ path: `/tmp/fb-readable-${scheme}-failure.png`, fullPage: true }).catch(() => {});
        throw err;
      } finally {
        await context.close();
      }
    }
  }, 120_000);

  it('an admin edits the triage settings of incidents opened from PagerDuty on the settings page', async () => {
    await inPage(stack, 'readable-triage', async (page) => {
      await signIn(page);
      const api = await apiAs(page);
      await api('POST', '/api/v1/integrations/pagerduty/sync', {});
      await expect.poll(async () => (await api('GET', '/api/v1/integrations/pagerduty/auto_create_settings')).defaults.priorities.length, { timeout: 30_000, interval: 500 }).toBe(5);
      const severities = (await api('GET', '/api/v1/severities')).severities as { id: string; name: string }[];
      const p3 = [...pd.state.priorities.values()].find((p) => p.name === 'P3')!;

      await page.goto('/settings/integrations/pagerduty');
      const form = page.getByRole('form', { name: 'Triage settings' });
      // Each priority by name, with what it opens as by default.
      expect(await form.getByLabel('Severity for P1').locator('option:checked').textContent()).toBe('Default (Critical, or more when high urgency)');
      await form.getByText('a high-urgency page opens at least as Major', { exact: false }).waitFor();
      await form.getByLabel('Severity for P3').selectOption({ label: 'Critical' });
      await form.getByLabel('Grouping window (minutes)').fill('15');
      await form.getByLabel('Decline a triage incident when PagerDuty resolves it first').uncheck();
      await form.getByRole('button', { name: 'Save triage settings' }).click();
      await form.getByRole('status').getByText('Triage settings saved.').waitFor();
      const saved = await api('GET', '/api/v1/integrations/pagerduty/auto_create_settings');
      expect({ map: saved.severity_map, window: saved.grouping_window_minutes, decline: saved.auto_decline_on_resolve }).toEqual({
        map: { [p3.id]: severities.find((v) => v.name === 'Critical')!.id },
        window: 15,
        decline: false,
      });
      await page.screenshot({ path: '/tmp/readable-triage-settings.png', fullPage: true });
      await page.reload();
      expect(await form.getByLabel('Severity for P3').locator('option:checked').textContent()).toBe('Critical');
      expect(await form.getByLabel('Grouping window (minutes)').inputValue()).toBe('15');
      expect(await form.getByLabel('Decline a triage incident when PagerDuty resolves it first').isChecked()).toBe(false);
    }, { height: 1400, timeoutMs: 20_000 });
  }, 120_000);

  /** Signs the owner in on a fresh page with one of the links made in the first test. */
  async function signIn(page: Page): Promise<void> {
    const link = links.shift();
    if (!link) throw new Error('no sign-in link left');
    await page.goto(link);
    await page.getByRole('link', { name: 'Declare incident' }).first().waitFor();
  }
});

/** WCAG contrast ratio of two computed `rgb(...)` colours. */
function contrast(a: string, b: string): number {
  const lum = (c: string) => {
    const [r, g, bl] = (c.match(/\d+(\.\d+)?/g) ?? ['0', '0', '0']).slice(0, 3).map((v) => {
      const s = Number(v) / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [x, y] = [lum(a), lum(b)].sort((m, n) => n - m);
  return (x! + 0.05) / (y! + 0.05);
}

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('Slack channels by name on the Slack settings page (Chromium)', () => {
  let stack: BrowserStack;
  let slack: import('../../emulators/slack/index.js').SlackEmulator;

  beforeAll(async () => {
    const { startSlackEmulator } = await import('../../emulators/slack/index.js');
    slack = await startSlackEmulator({ teamName: 'Acme Ops', botName: 'firebreak' });
    slack.addChannel('incidents');
    slack.addChannel('ops-alerts');
    slack.addChannel('ops-review');
    stack = await startBrowserStack({ slack: { botToken: null, signingSecret: null, apiUrl: slack.apiUrl, announcementsChannel: null } });
  });
  afterAll(async () => {
    await stack?.close();
    await slack?.stop();
  });

  it('the announcements channel is picked by searching channel names and shown as #name', async () => {
    await inPage(stack, 'readable-channels', async (page) => {
      await page.goto(stack.fb.initialLoginUrl!);
      await page.getByRole('link', { name: 'Declare incident' }).first().waitFor();
      const api = await apiAs(page);
      const incidents = [...slack.state.channels.values()].find((c) => c.name === 'incidents')!;
      await api('PUT', '/api/v1/integrations/slack', { bot_token: slack.botToken, signing_secret: slack.signingSecret, announcements_channel: incidents.id });

      await page.goto('/settings/integrations/slack');
      await page.getByRole('heading', { name: 'Connection' }).waitFor();
      const facts = page.locator('dl.facts');
      await facts.getByText('#incidents', { exact: true }).waitFor();
      expect(await facts.innerText()).not.toContain(incidents.id);

      const picker = page.getByRole('combobox', { name: 'Announcements channel (optional)' });
      expect(await picker.inputValue()).toBe('#incidents');
      await picker.fill('OPS');
      const found = page.getByRole('listbox', { name: 'Channels found' });
      await found.getByRole('option', { name: '#ops-alerts' }).waitFor();
      expect(await found.getByRole('option').allTextContents()).toEqual(['#ops-alerts', '#ops-review']);
      await page.screenshot({ path: '/tmp/readable-channel-picker.png', fullPage: true });
      await found.getByRole('option', { name: '#ops-review' }).click();
      expect(await picker.inputValue()).toBe('#ops-review');
      const form = page.getByRole('form', { name: 'Slack credentials' });
      await form.getByLabel('Bot token').fill(slack.botToken);
      await form.getByLabel('Signing secret').fill(slack.signingSecret);
      await form.getByRole('button', { name: 'Connect Slack' }).click();
      await facts.getByText('#ops-review', { exact: true }).waitFor();
      const opsReview = [...slack.state.channels.values()].find((c) => c.name === 'ops-review')!;
      expect((await api('GET', '/api/v1/integrations/slack')).slack.announcements_channel).toBe(opsReview.id);
    }, { height: 1400 });
  }, 120_000);
});
