// The insights page in Chromium. On an empty database every chart says what will appear there. Then, with
// PagerDuty connected and synced (the emulator), incidents declared over the last weeks with "Affected services"
// set, their timestamps and pages written as the timestamps and escalations features record them: each chart
// draws an SVG with its bars, lines or cells and names (severities, services, teams), the time zone picker
// redraws the heatmap, the CSV links download the same data, the page reads the same in dark mode, and an incident
// declared elsewhere appears without a reload (the live feed).
// Screenshots: /tmp/fb-insights-empty.png, /tmp/fb-insights.png, /tmp/fb-insights-dark.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { startCheckedPagerDuty } from '../pagerduty-requests.js';
import { seedPage, setTimestamps } from '../insights/seed.js';
import { apiAs, inPage, startBrowserStack, type BrowserStack } from './stack.js';

const DAY = 86_400_000;
const CARDS = ['Incidents per week', 'Time to acknowledge and to resolve', 'By PagerDuty service', 'By PagerDuty team', 'Busiest hours for pages'];

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('insights page (Chromium)', () => {
  let stack: BrowserStack;
  let pd: PagerDutyEmulator;

  beforeAll(async () => {
    stack = await startBrowserStack();
    pd = await startCheckedPagerDuty({ seed: 'small', rateLimitPerMinute: false });
  }, 90_000);
  afterAll(async () => {
    await stack?.close();
    await pd?.stop();
  });

  const card = (page: Page, title: string) => page.getByRole('region', { name: title, exact: true });

  it('says what will appear while there is nothing, then draws every chart from seeded incidents and pages', async () => {
    await inPage(stack, 'insights', async (page) => {
      await page.goto(stack.fb.initialLoginUrl!);
      await page.waitForURL((u) => u.pathname === '/');
      const api = await apiAs(page);

      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Insights' }).click();
      await page.waitForURL((u) => u.pathname === '/insights');
      await page.getByRole('heading', { name: 'Insights', level: 1 }).waitFor();
      await card(page, 'Incidents per week').getByText('Incidents per week will appear here once incidents are declared').waitFor();
      await card(page, 'Time to acknowledge and to resolve').getByText('No acknowledged or resolved incidents in this range').waitFor();
      await card(page, 'By PagerDuty service').getByText('No incidents or pages by service yet').waitFor();
      await card(page, 'By PagerDuty team').getByText('No incidents or pages by team yet').waitFor();
      await card(page, 'Busiest hours for pages').getByText('The PagerDuty pages Firebreak sends will appear here').waitFor();
      expect(await page.locator('.insights-chart').count()).toBe(0);
      await page.screenshot({ path: '/tmp/fb-insights-empty.png', fullPage: true });

      // PagerDuty connected and synced; a services field; incidents over the last four weeks.
      const bot = [...pd.state.users.values()][0]!;
      await api('PUT', '/api/v1/integrations/pagerduty', { region: 'us', base_url: pd.baseUrl, api_key: pd.fullAccessKey, bot_user_id: bot.id });
      let services: { id: string; name: string; external_id: string }[] = [];
      await expect.poll(async () => (services = (await api('GET', '/api/v1/catalog_entries?catalog_type_id=PagerDutyService&limit=10')).catalog_entries).length, { timeout: 30_000 }).toBeGreaterThan(1);
      const [s1, s2] = services as [(typeof services)[0], (typeof services)[0]];
      await api('POST', '/api/v1/custom_fields', { key: 'services', name: 'Affected services', type: 'catalog', catalog_type: 'PagerDutyService', multiple: true });
      const db = stack.fb.app.database.db;
      const now = Date.now();
      const plan: [string, string, number, string[]][] = [
        ['Checkout down', 'sev-critical', 3, [s1.id]],
        ['Slow search', 'sev-minor', 9, [s2.id]],
        ['Payments errors', 'sev-major', 10, [s1.id, s2.id]],
        ['Login flaky', 'sev-low', 17, [s2.id]],
        ['Queue backlog', 'sev-critical', 24, [s1.id]],
      ];
      for (const [i, [name, severity, daysAgo, svc]] of plan.entries()) {
        const inc = (await api('POST', '/api/v1/incidents', { name, severity_id: severity, custom_field_values: { services: svc } })).incident;
        const reported = new Date(now - daysAgo * DAY).toISOString();
        await setTimestamps(db, inc.id, reported, { ack: 60 * (i + 1), resolved: 3600 * (i + 1) });
        const at = new Date(now - daysAgo * DAY + 60_000).toISOString();
        await seedPage(db, { incidentId: inc.id, kind: 'escalation_policy', targetId: 'PPOLICY', targetName: 'Primary on-call', serviceId: i % 2 === 0 ? s1.external_id : s2.external_id, serviceName: null, triggeredAt: at, createdAt: at });
      }

      await page.reload();
      for (const title of CARDS) {
        const svg = card(page, title).locator('.insights-chart svg');
        await svg.waitFor();
        // drawn, not just an empty frame: ECharts draws bars, lines and cells as paths
        await expect.poll(() => svg.locator('path').count()).toBeGreaterThan(5);
      }
      const text = async (title: string) => (await card(page, title).locator('.insights-chart svg').textContent()) ?? '';
      for (const severity of ['Critical', 'Major', 'Minor', 'Low']) expect(await text('Incidents per week')).toContain(severity);
      expect(await text('Time to acknowledge and to resolve')).toContain('Acknowledge, median');
      expect(await text('By PagerDuty service')).toContain(s1.name);
      expect(await text('By PagerDuty service')).toContain(s2.name);
      const heatmapLabel = () => card(page, 'Busiest hours for pages').locator('.insights-chart').getAttribute('aria-label');
      expect(await heatmapLabel()).toBe('PagerDuty pages by day of week and hour (UTC)');
      await page.screenshot({ path: '/tmp/fb-insights.png', fullPage: true });

      // Another time zone redraws the heatmap and is kept in the URL.
      await card(page, 'Busiest hours for pages').getByLabel('Time zone').selectOption('Asia/Tokyo');
      await page.waitForURL((u) => u.searchParams.get('time_zone') === 'Asia/Tokyo');
      await expect.poll(heatmapLabel).toBe('PagerDuty pages by day of week and hour (Asia/Tokyo)');

      // The CSV link downloads what the chart shows.
      const href = await card(page, 'By PagerDuty service').getByRole('link', { name: 'Download CSV' }).getAttribute('href');
      expect(href).toMatch(/^\/api\/v1\/insights\/by_service\?(.*&)?format=csv/);
      const csv = await (await page.request.get(href!)).text();
      const json = await api('GET', '/api/v1/insights/by_service');
      expect(csv.trim().split('\n')).toEqual(['name,incidents,pages', ...json.groups.map((g: any) => `${g.name.includes(',') ? `"${g.name}"` : g.name},${g.incidents},${g.pages}`)]);

      // Filtering by severity keeps only that severity's bars and is kept in the URL.
      await page.getByLabel('Severity', { exact: true }).selectOption({ label: 'Critical' });
      await page.waitForURL((u) => u.searchParams.get('severity_id') === 'sev-critical');
      await expect.poll(() => text('Incidents per week')).not.toContain('Minor');

      await page.emulateMedia({ colorScheme: 'dark' });
      await page.getByLabel('Severity', { exact: true }).selectOption({ label: 'Any severity' });
      await expect.poll(() => text('Incidents per week')).toContain('Minor');
      // the axis labels take the dark theme's muted text colour
      const fill = await card(page, 'Incidents per week').locator('.insights-chart svg text').first().getAttribute('fill');
      expect(fill?.toLowerCase()).not.toBe('#5b6675');
      await page.screenshot({ path: '/tmp/fb-insights-dark.png', fullPage: true });

      // Live: with test incidents only there are none yet; one declared elsewhere appears without a reload.
      await page.getByLabel('Incidents', { exact: true }).selectOption({ label: 'Test incidents only' });
      await page.waitForURL((u) => u.searchParams.get('mode') === 'test');
      await card(page, 'Incidents per week').getByText('No incidents in this range').waitFor();
      const url = page.url();
      await api('POST', '/api/v1/incidents', { name: 'Game day drill', severity_id: 'sev-minor', mode: 'test' });
      await card(page, 'Incidents per week').locator('.insights-chart svg').waitFor();
      await expect.poll(() => text('Incidents per week')).toContain('Minor');
      expect(page.url()).toBe(url);
    }, { height: 1400, timeoutMs: 20_000 });
  }, 120_000);
});
