// In a real browser: an incident already has its PagerDuty incident linked; a responder opens the Escalate form,
// chooses to add a person as a responder to that PagerDuty incident instead of paging anew, and the Escalations
// card lists them as asked, then (live, from PagerDuty's webhook) as joined. PagerDuty's side is the emulator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { startCheckedPagerDuty } from '../pagerduty-requests.js';
import { apiAs, inPage, startBrowserStack, type BrowserStack } from './stack.js';

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('Adding responders from the incident page (Chromium)', () => {
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

  it('asks a person to join the linked PagerDuty incident and shows them asked, then joined', async () => {
    await inPage(stack, 'escalate-responders', async (page) => {
      await page.goto(stack.fb.initialLoginUrl!);
      await page.getByRole('link', { name: 'Declare incident' }).first().waitFor();
      const call = await apiAs(page);
      const users = [...pd.state.users.values()];
      const bot = users[0]!;
      const person = users.find((u) => u.id !== bot.id && u.email.trim() === u.email && ['user', 'admin'].includes(u.role))!;
      await call('PUT', '/api/v1/integrations/pagerduty', { region: 'us', base_url: pd.baseUrl, api_key: pd.fullAccessKey, bot_user_id: bot.id });
      await call('POST', '/api/v1/integrations/pagerduty/sync', {});
      // Firebreak subscribes to the emulator's webhooks itself (it is on this machine).
      await expect.poll(() => pd.state.webhookSubscriptions.size, { timeout: 20_000 }).toBe(1);
      await expect.poll(async () => ((await call('GET', `/api/v1/integrations/pagerduty/escalation_options?type=user&query=${encodeURIComponent(person.name)}`)) as any).options.length, { timeout: 30_000 }).toBeGreaterThan(0);

      const incident = (await call('POST', '/api/v1/incidents', { name: 'Payments API returns 502s' })) as { incident: { id: string; reference: string } };
      const service = [...pd.state.services.values()][0]!;
      const pdInc = pd.admin.triggerIncident({ service_id: service.id, title: 'Payments 502 rate above 5%' });
      await call('POST', `/api/v1/incidents/${incident.incident.id}/pagerduty_incidents`, { pagerduty_incident: pdInc.id });

      await page.goto(`/incidents/${incident.incident.reference}`);
      await page.getByRole('button', { name: 'Escalate…' }).click();
      const form = page.getByRole('form', { name: 'Escalate' });
      await form.getByRole('radio', { name: `Add them as responders to PagerDuty #${pdInc.incident_number} “Payments 502 rate above 5%”` }).check();
      // Urgency and priority belong to a new PagerDuty incident: not asked when adding responders.
      expect(await form.getByLabel('Urgency').count()).toBe(0);
      await form.getByLabel('PagerDuty users', { exact: true }).fill(person.name);
      await form.getByRole('list', { name: 'PagerDuty users found' }).getByRole('button', { name: new RegExp(person.name) }).first().click();
      await form.getByLabel('Why do you need them?').fill('Need the payments database expert on the bridge.');
      await page.screenshot({ path: '/tmp/fb-escalate-responders-form.png', fullPage: true });
      await form.getByRole('button', { name: 'Ask them to join' }).click();

      const card = page.getByRole('region', { name: 'Escalations' });
      await card.getByText(`asked ${person.name} to join`).waitFor();
      const responders = card.getByRole('table', { name: 'Responders' });
      await responders.getByRole('row', { name: new RegExp(`${person.name}.*Asked, no answer yet`) }).waitFor({ timeout: 20_000 });
      expect(pd.state.incidents.get(pdInc.id)!.responders!.map((r) => [r.user_id, r.state])).toEqual([[person.id, 'pending']]);
      await page.screenshot({ path: '/tmp/fb-escalate-responders-asked.png', fullPage: true });

      // They accept on their phone: the card says so without a reload.
      pd.actAs(person.id).acceptResponderRequest(pdInc.id);
      await pd.webhooks.flush();
      await responders.getByRole('row', { name: new RegExp(`${person.name}.*Joined`) }).waitFor({ timeout: 20_000 });
      expect(pd.state.incidents.size).toBe(1); // nobody was paged in a new PagerDuty incident
      await page.screenshot({ path: '/tmp/fb-escalate-responders-joined.png', fullPage: true });
    }, { height: 1000, timeoutMs: 20_000 });
  }, 120_000);
});
