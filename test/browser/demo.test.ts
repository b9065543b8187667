// In a real browser, as a newcomer would after `npm run demo`: in the Slack view declare an incident with
// `/incident declare` and fill the modal, escalate it to a policy with `/incident escalate`, see the page in the
// PagerDuty view and acknowledge it there, then see the acknowledgement on the incident's timeline in Firebreak's
// web app (signed in with the printed link) and in the incident's Slack channel.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type Demo } from '../../scripts/demo.js';
import { ensureWebBuilt, launchChromium } from './web-build.js';

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('npm run demo, walked in Chromium', () => {
  let demo: Demo;
  let browser: Browser;
  let dataDir: string;

  beforeAll(async () => {
    ensureWebBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'firebreak-demo-'));
    demo = await startDemo({ dataDir, reset: true });
    browser = await launchChromium();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts connected: catalog synced, webhook subscribed, sample incidents, sign-in link', async () => {
    expect(demo.pd.state.webhookSubscriptions.size).toBeGreaterThan(0);
    expect([...demo.pd.state.webhookSubscriptions.values()][0]!.url).toBe(`${demo.firebreakUrl}/webhooks/pagerduty`);
    const emails = new Set([...demo.pd.state.users.values()].map((u) => u.email));
    expect(demo.people.length).toBeGreaterThanOrEqual(3);
    for (const p of demo.people) expect(emails.has(demo.slack.state.users.get(p.slackId)!.email!)).toBe(true);
    expect(demo.signInUrl).toContain('/auth/login?token=');
  });

  it('declare in Slack, escalate to a policy, acknowledge in PagerDuty, see it in Firebreak and in Slack', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const shot = (name: string) => page.screenshot({ path: `/tmp/demo-${name}.png`, fullPage: true });
    try {
      const me = demo.people[0]!;
      // Slack view: the banner says what it is; declare from #incidents.
      await page.goto(`${demo.slackViewUrl}?as=${me.slackId}`);
      await page.getByText('Demo — Slack emulator').waitFor();
      await shot('0-slack-incidents');
      await page.getByRole('textbox', { name: 'Message' }).fill('/incident declare');
      await page.getByRole('button', { name: 'Send' }).click();
      const declare = page.getByRole('dialog');
      await declare.getByLabel('Name').fill('Payments page returns errors');
      await shot('1-declare-modal');
      await declare.getByRole('button', { name: /declare/i }).click();

      // The incident's channel appears in the sidebar; open it.
      const channelLink = page.getByRole('link', { name: /^#inc-\d+-payments-page/ });
      await channelLink.waitFor({ timeout: 20_000 });
      const channelName = (await channelLink.textContent())!;
      const number = Number(/^#inc-(\d+)/.exec(channelName)![1]);
      await channelLink.click();
      await page.getByRole('heading', { name: channelName }).waitFor();
      await shot('2-incident-channel');

      // Escalate to a policy: the policy list loads from Firebreak (block_suggestion) when the field is focused.
      await page.getByRole('textbox', { name: 'Message' }).fill('/incident escalate');
      await page.getByRole('button', { name: 'Send' }).click();
      const esc = page.getByRole('dialog', { name: 'Escalate' });
      await esc.getByPlaceholder('Search escalation policies').fill('');
      await esc.getByPlaceholder('Search escalation policies').focus();
      const firstPolicy = esc.getByRole('option').first();
      await firstPolicy.waitFor();
      const policyName = ((await firstPolicy.textContent()) ?? '').trim();
      await firstPolicy.click();
      await esc.getByLabel('Why do you need them?').fill('Payments are failing for everyone');
      await shot('3-escalate-modal');
      await esc.getByRole('button', { name: 'Page them' }).click();
      await page.getByRole('dialog').waitFor({ state: 'detached' });

      // PagerDuty view: the page is there, on that policy; acknowledge it as one of the people it was assigned to.
      const pdIncident = await waitFor('the PagerDuty incident', () => [...demo.pd.state.incidents.values()].find((i) => demo.pd.state.escalationPolicies.get(i.escalation_policy_id)?.name === policyName.replace(/ \(.*\)$/, '')));
      const assignee = pdIncident.assignments[0]!.user_id;
      await page.goto(`${demo.pagerdutyViewUrl}?as=${assignee}&incident=${pdIncident.id}`);
      await page.getByText('Demo — PagerDuty emulator').waitFor();
      await textIn(page.locator('.detail h2'), `#${pdIncident.incident_number}`);
      await textIn(page.locator('.detail'), 'triggered');
      await shot('4-pagerduty-triggered');
      await page.getByRole('button', { name: 'Acknowledge' }).click();
      await textIn(page.locator('.detail .st'), 'acknowledged');
      const ackerName = demo.pd.state.users.get(assignee)!.name;
      await textIn(page.locator('.log'), `Acknowledged by ${ackerName}`);
      await shot('5-pagerduty-acknowledged');

      // Firebreak: sign in with the printed link, open the incident, the acknowledgement is on its timeline.
      await page.goto(demo.signInUrl);
      await page.goto(`${demo.firebreakUrl}/incidents/INC-${number}`);
      await page.getByText(/acknowledged/i).first().waitFor({ timeout: 20_000 });
      await page.getByText(new RegExp(`${ackerName}.*acknowledged|acknowledged.*${ackerName}`, 'i')).first().waitFor();
      await shot('6-firebreak-timeline');

      // Slack view: the incident channel says so too.
      await page.goto(`${demo.slackViewUrl}?as=${me.slackId}`);
      await page.getByRole('link', { name: channelName }).click();
      await textIn(page.locator('#messages'), /acknowledged/i);
      await shot('7-slack-channel');
      expect(errors).toEqual([]);
    } catch (err) {
      await shot('failure').catch(() => {});
      throw err;
    } finally {
      await context.close();
    }
  }, 180_000);

  it('an alert triggered in the PagerDuty view opens a triage incident; Accept pressed in the Slack view accepts it', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const shot = (name: string) => page.screenshot({ path: `/tmp/demo-${name}.png`, fullPage: true });
    try {
      const service = demo.autoCreateServices[0]!;
      await page.goto(`${demo.pagerdutyViewUrl}?as=${demo.people[1]!.pagerdutyId}`);
      await page.getByLabel('Service').selectOption({ label: service.name });
      await page.getByLabel('Title').fill('Disk full on primary database');
      await page.getByRole('button', { name: 'Trigger an alert' }).click();
      await textIn(page.locator('.detail h2'), 'Disk full on primary database');
      await shot('8-pagerduty-trigger');

      await page.goto(`${demo.slackViewUrl}?as=${demo.people[0]!.slackId}`);
      const announcement = page.locator('article', { hasText: 'Disk full on primary database' }).first();
      await waitForLocator(page, announcement);
      await shot('9-slack-triage-announcement');
      await announcement.getByRole('button', { name: 'Accept' }).click();
      // The announcement is redrawn (the page reloads itself) without the triage buttons once Firebreak accepted it.
      await textIn(page.locator('article', { hasText: 'Disk full on primary database' }).last(), `Accepted by ${demo.people[0]!.name}`);
      expect(await page.locator('article', { hasText: 'Disk full on primary database' }).last().getByRole('button', { name: 'Accept' }).count()).toBe(0);
      await page.reload();
      await shot('10-slack-accepted');
    } finally {
      await context.close();
    }
  }, 120_000);
});

async function waitForLocator(page: Page, locator: ReturnType<Page['locator']>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while ((await locator.count()) === 0) {
    if (Date.now() > end) throw new Error('timed out waiting for the element');
    await page.waitForTimeout(500);
    await page.reload();
  }
}


async function waitFor<T>(what: string, fn: () => T | undefined | null | false, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the element's text contains `want` (the page reloads itself as things change). */
async function textIn(locator: ReturnType<Page['locator']>, want: string | RegExp, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    last = (await locator.first().innerText().catch(() => '')) ?? '';
    if (typeof want === 'string' ? last.includes(want) : want.test(last)) return;
    if (Date.now() > end) throw new Error(`expected ${String(want)} in: ${last.slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
