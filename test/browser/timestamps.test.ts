// Timestamps in the web app, in Chromium: a responder opens an incident and sees when it was reported and that
// impact started then; times set elsewhere (the API, as Slack or another person would) show without a reload,
// with the durations in words; changing Fixed to before Identified is refused with a message naming both, and a
// right time with a reason is saved and shows who set it and why. A viewer sees the times but cannot change them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiAs, inPage, startBrowserStack, type BrowserStack } from './stack.js';

const local = (d: Date) => {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
};

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('timestamps in the web app (Chromium)', () => {
  let stack: BrowserStack;
  let viewerLink = '';
  let reference = '';

  beforeAll(async () => {
    stack = await startBrowserStack();
  }, 90_000);
  afterAll(async () => stack?.close());

  it('shows the times with their source, updates live, refuses an out-of-order change naming both and saves one with a reason', async () => {
    await inPage(stack, 'timestamps', async (page) => {
      await page.goto(stack.fb.initialLoginUrl!);
      await page.waitForURL((u) => u.pathname === '/');
      const api = await apiAs(page);
      const viewer = await api('POST', '/api/v1/users', { name: 'Vic Viewer', email: 'vic@example.com', role: 'viewer' });
      viewerLink = (await api('POST', `/api/v1/users/${viewer.user.id}/login_link`)).url;
      const inc = (await api('POST', '/api/v1/incidents', { name: 'Payments are timing out' })).incident;
      reference = inc.reference;

      await page.goto(`/incidents/${reference}`);
      const card = page.getByRole('region', { name: 'Timestamps' });
      const item = (kind: string) => card.locator(`[data-kind="${kind}"]`);
      await item('reported').getByText('From the status').waitFor();
      await item('impact_started').getByText('From the status').waitFor();
      expect(await item('identified').getByText('Not set').count()).toBe(1);
      expect(await card.locator('[data-kind^="pagerduty_"]').count()).toBe(0);
      expect(await card.locator('[data-duration="time_to_fix_seconds"]').innerText()).toBe('Not known yet');

      // Set through the API (as another person or Slack would): the card follows through the live feed.
      // Whole minutes, as the form takes them.
      const base = Math.floor((Date.now() - 3 * 3_600_000) / 60_000) * 60_000;
      const at = (min: number) => new Date(base + min * 60_000).toISOString();
      for (const [kind, min] of [['impact_started', -10], ['reported', 0], ['identified', 30], ['fixed', 72]] as const) {
        await api('PUT', `/api/v1/incidents/${inc.id}/timestamps/${kind}`, { at: at(min), reason: 'From the chat log' });
      }
      await card.locator('[data-duration="time_to_fix_seconds"]').getByText('1 h 12 min').waitFor();
      expect(await card.locator('[data-duration="time_to_identify_seconds"]').innerText()).toBe('30 min');
      expect(await card.locator('[data-duration="impact_duration_seconds"]').innerText()).toBe('1 h 22 min');
      await item('identified').getByText('Set by Owner: From the chat log').waitFor();

      // Fixed before Identified: refused, naming both; nothing changes.
      await item('fixed').getByRole('button', { name: 'Change Fixed' }).click();
      const form = card.getByRole('form', { name: 'Change Fixed' });
      await form.getByLabel('Fixed').fill(local(new Date(base + 20 * 60_000)));
      await form.getByLabel('Reason').fill('The rollback finished earlier');
      await form.getByRole('button', { name: 'Save' }).click();
      const alert = form.getByRole('alert');
      await alert.waitFor();
      expect(await alert.innerText()).toMatch(/Fixed \(.+ UTC\) cannot be before Identified \(.+ UTC\)/);
      expect((await api('GET', `/api/v1/incidents/${inc.id}/timestamps`)).timestamps.find((t: any) => t.kind === 'fixed').at).toBe(at(72));

      // A right time with a reason.
      await form.getByLabel('Fixed').fill(local(new Date(base + 60 * 60_000)));
      await form.getByLabel('Reason').fill('The rollback finished at the hour');
      await form.getByRole('button', { name: 'Save' }).click();
      await item('fixed').getByText('Set by Owner: The rollback finished at the hour').waitFor();
      await card.locator('[data-duration="time_to_fix_seconds"]').getByText('1 h', { exact: true }).waitFor();
      await page.getByRole('region', { name: 'Timeline' }).getByText(/Fixed changed from .+ to .+: The rollback finished at the hour/).waitFor();
    });
  });

  it('a viewer sees the times and durations but cannot change them', async () => {
    await inPage(stack, 'timestamps-viewer', async (page) => {
      await page.goto(viewerLink);
      await page.waitForURL((u) => u.pathname === '/');
      await page.goto(`/incidents/${reference}`);
      const card = page.getByRole('region', { name: 'Timestamps' });
      await card.locator('[data-duration="time_to_fix_seconds"]').getByText('1 h', { exact: true }).waitFor();
      expect(await card.getByRole('button').count()).toBe(0);
    });
  });
});
