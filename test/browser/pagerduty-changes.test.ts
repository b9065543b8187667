// In a real browser, against the PagerDuty emulator: the incident page's "Recent changes" card.
//  - With no affected service it says what will appear and why nothing does.
//  - Setting the "Affected services" field shows that service's changes (sent to PagerDuty's Events API v2) at
//    once, newest first, with their source and links; a responder pins one and it appears on the timeline.
//  - A listing PagerDuty does not answer in time is said so on the card, and the rest of the page still works.
// Screenshots: /tmp/fb-recent-changes-empty.png, /tmp/fb-recent-changes.png, /tmp/fb-recent-changes-timeout.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { startCheckedPagerDuty } from '../pagerduty-requests.js';
import { apiAs, inPage, startBrowserStack, type BrowserStack } from './stack.js';

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('Recent changes on the incident page (Chromium)', () => {
  let stack: BrowserStack;
  let pd: PagerDutyEmulator;

  beforeAll(async () => {
    pd = await startCheckedPagerDuty({ seed: 'small', rateLimitPerMinute: false });
    stack = await startBrowserStack();
  });
  afterAll(async () => {
    await stack?.close();
    await pd?.stop();
  });

  async function sendChange(serviceId: string, summary: string, o: { minutesAgo: number; source?: string; links?: { href: string; text: string }[] }) {
    const res = await fetch(`${pd.baseUrl}/v2/change/enqueue`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ routing_key: pd.state.services.get(serviceId)!.integrations![0]!.integration_key, payload: { summary, timestamp: new Date(Date.now() - o.minutesAgo * 60_000).toISOString(), source: o.source }, links: o.links ?? [] }),
    });
    expect(res.status).toBe(202);
  }

  it('shows the changes of the affected service, pins one to the timeline, and says when PagerDuty is too slow', async () => {
    await inPage(stack, 'recent-changes', async (page) => {
      await page.goto(stack.fb.initialLoginUrl!);
      await page.getByRole('link', { name: 'Declare incident' }).first().waitFor();
      const call = await apiAs(page);
      const bot = [...pd.state.users.values()][0]!;
      await call('PUT', '/api/v1/integrations/pagerduty', { region: 'us', base_url: pd.baseUrl, api_key: pd.fullAccessKey, bot_user_id: bot.id });
      await expect.poll(async () => ((await call('GET', '/api/v1/catalog_entries?catalog_type_id=PagerDutyService')) as any).catalog_entries.length, { timeout: 30_000, interval: 250 }).toBeGreaterThan(1);
      const entries = ((await call('GET', '/api/v1/catalog_entries?catalog_type_id=PagerDutyService')) as any).catalog_entries;
      const checkout = entries[0];
      await call('POST', '/api/v1/custom_fields', { key: 'affected_services', name: 'Affected services', type: 'catalog', catalog_type: 'PagerDutyService', multiple: true });
      const inc = ((await call('POST', '/api/v1/incidents', { name: 'Checkout returns 500s' })) as any).incident;

      await page.goto(`/incidents/${inc.reference}`);
      const card = page.getByRole('region', { name: 'Recent changes' });
      await card.getByText('No affected PagerDuty services yet.').waitFor();
      await card.getByText(/set the services in its PagerDuty service field, or link a PagerDuty incident/).waitFor();
      await card.scrollIntoViewIfNeeded();
      await page.screenshot({ path: '/tmp/fb-recent-changes-empty.png', fullPage: true });

      await sendChange(checkout.external_id, 'Deploy checkout v2.3', { minutesAgo: 40, source: 'ci-runner-7', links: [{ href: 'https://ci.example.com/builds/231', text: 'Build 231' }] });
      await sendChange(checkout.external_id, 'Turn on the new-cart flag', { minutesAgo: 12, source: 'flags' });
      // Setting the field elsewhere (here through the API) updates the open page: the card follows the incident.
      await call('PATCH', `/api/v1/incidents/${inc.id}`, { custom_field_values: { affected_services: [checkout.id] } });
      const list = card.getByRole('list', { name: 'Changes, newest first' });
      await list.getByText('Turn on the new-cart flag').waitFor();
      const items = list.getByRole('listitem');
      expect(await items.count()).toBe(2);
      expect(await items.nth(0).textContent()).toContain('Turn on the new-cart flag');
      expect(await items.nth(1).textContent()).toContain(`${checkout.name} · from ci-runner-7`);
      expect(await items.nth(1).getByRole('link', { name: 'Build 231' }).getAttribute('href')).toBe('https://ci.example.com/builds/231');
      await card.getByText(`Services: ${checkout.name}.`).waitFor();

      await items.nth(1).getByRole('button', { name: 'Pin "Deploy checkout v2.3" to the timeline' }).click();
      await items.nth(1).getByText('On the timeline').waitFor();
      const timeline = page.getByRole('region', { name: 'Timeline' });
      await timeline.getByText(`Change on ${checkout.name}: Deploy checkout v2.3 (from ci-runner-7)`).waitFor();
      expect(await timeline.getByRole('link', { name: 'Build 231' }).count()).toBe(1);
      await card.scrollIntoViewIfNeeded();
      await page.screenshot({ path: '/tmp/fb-recent-changes.png', fullPage: true });

      // PagerDuty too slow for this listing: the card says so, the rest of the page works.
      const tuning = stack.fb.app.pagerduty.integration.lookupTuning;
      const before = tuning.timeoutMs;
      tuning.timeoutMs = 300;
      pd.faults.set({ pathLatencyMs: { [`/services/${checkout.external_id}/change_events`]: 3_000 } });
      try {
        await card.getByRole('button', { name: 'Refresh' }).click();
        await card.getByRole('alert').getByText(`PagerDuty did not answer within 300 ms for the service ${checkout.name}. Not retried; refresh to try again.`).waitFor();
        await card.scrollIntoViewIfNeeded();
        await page.screenshot({ path: '/tmp/fb-recent-changes-timeout.png', fullPage: true });
        await page.getByRole('textbox', { name: 'Add a note to the timeline' }).fill('Rolled back v2.3');
        await page.getByRole('button', { name: 'Add note' }).click();
        await timeline.getByText('Rolled back v2.3').waitFor();
      } finally {
        tuning.timeoutMs = before;
        pd.faults.clear();
      }
    }, { height: 1100, timeoutMs: 20_000 });
  }, 120_000);
});
