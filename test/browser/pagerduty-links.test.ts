// In a real browser, against the PagerDuty emulator delivering signed webhooks to Firebreak:
//  - an admin adds an auto-create rule on the PagerDuty settings page, picking the service by name; a PagerDuty incident that triggers on
//    that service then shows up in the incidents list as a triage incident, and its page's "PagerDuty
//    incidents" card names the PagerDuty incident that opened it;
//  - a responder attaches another PagerDuty incident to an incident by pasting its PagerDuty URL into the card,
//    sees it listed with its status, and detaches it again.
// Both are checked against Firebreak's API as well as on the page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { startCheckedPagerDuty } from '../pagerduty-requests.js';
import { apiAs, inPage, startBrowserStack, type BrowserStack } from './stack.js';

const PD_HEADERS = (key: string) => ({ authorization: `Token token=${key}`, accept: 'application/vnd.pagerduty+json;version=2', 'content-type': 'application/json' });

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('PagerDuty incidents on the incident page and auto-create rules (Chromium)', () => {
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

  it('a rule added on the settings page opens a triage incident from a PagerDuty trigger; a PagerDuty URL pasted on an incident attaches it', async () => {
    await inPage(stack, 'pdlinks', async (page) => {
      await page.goto(stack.fb.initialLoginUrl!);
      await page.getByRole('link', { name: 'Declare incident' }).first().waitFor();
      const call = await apiAs(page);
      // Connecting and syncing through the form is covered by pagerduty-connect.test.ts; here the API does it.
      const bot = [...pd.state.users.values()][0]!;
      await call('PUT', '/api/v1/integrations/pagerduty', { region: 'us', base_url: pd.baseUrl, api_key: pd.fullAccessKey, bot_user_id: bot.id });
      await call('POST', '/api/v1/integrations/pagerduty/sync', {});
      // PagerDuty delivers incident webhooks to Firebreak, signed with the subscription's secret.
      const subRes = await fetch(`${pd.baseUrl}/webhook_subscriptions`, {
        method: 'POST',
        headers: PD_HEADERS(pd.fullAccessKey),
        body: JSON.stringify({ webhook_subscription: { type: 'webhook_subscription', delivery_method: { type: 'http_delivery_method', url: `${stack.fb.baseUrl}/webhooks/pagerduty` }, events: ['incident.triggered', 'incident.acknowledged', 'incident.resolved'], filter: { type: 'account_reference' } } }),
      });
      expect(subRes.status).toBe(200);
      const sub = ((await subRes.json()) as any).webhook_subscription;
      await call('PUT', '/api/v1/integrations/pagerduty/webhook_secret', { secret: sub.delivery_method.secret });

      const services = [...pd.state.services.values()].filter((s) => !s.description.includes('incident-io-ignore'));
      const [watched, other] = [services[0]!, services[1]!];

      // The admin adds a rule: triggers on the watched service open a triage incident.
      await page.goto('/settings/integrations/pagerduty');
      const ruleForm = page.getByRole('form', { name: 'Add an auto-create rule' });
      await ruleForm.getByLabel('Name').fill('Checkout pages');
      await ruleForm.getByLabel('PagerDuty services').fill(watched.name);
      await ruleForm.getByRole('list', { name: 'services found' }).getByRole('button', { name: watched.name, exact: true }).click();
      await ruleForm.getByRole('list', { name: 'Chosen services' }).getByText(watched.name).waitFor();
      await ruleForm.getByRole('button', { name: 'Add rule' }).click();
      // The rule is listed by the service's name, not its PagerDuty id, also after a reload.
      await page.getByRole('list', { name: 'Auto-create rules' }).getByText(`Checkout pages — services ${watched.name}, teams any, urgencies any, priorities any → triage`).waitFor();
      await page.reload();
      await page.getByRole('list', { name: 'Auto-create rules' }).getByText(`Checkout pages — services ${watched.name}, teams any`).waitFor();
      // The card says that ignored services never open an incident and can still be attached by hand.
      const note = page.getByRole('note', { name: 'Ignored services' });
      await note.getByText('never open an incident, whatever the rule says').waitFor();
      expect(await note.textContent()).toContain('You can still attach such a PagerDuty incident to an incident by hand');
      const rules = (await call('GET', '/api/v1/integrations/pagerduty/auto_create_rules')) as { rules: any[] };
      expect(rules.rules.map((r: any) => ({ name: r.name, service_ids: r.service_ids, create_as: r.create_as }))).toEqual([{ name: 'Checkout pages', service_ids: [watched.id], create_as: 'triage' }]);

      // PagerDuty: one trigger on the watched service, one on another service.
      const opening = pd.admin.triggerIncident({ service_id: watched.id, title: 'Checkout latency above 2 s', urgency: 'high' });
      pd.admin.triggerIncident({ service_id: other.id, title: 'Batch job late', urgency: 'high' });
      await pd.webhooks.flush();

      // The incidents list shows the triage incident named after the PagerDuty incident, and only that one.
      await page.goto('/incidents');
      await expect.poll(async () => {
        await page.reload();
        return page.getByRole('link', { name: 'Checkout latency above 2 s' }).count();
      }, { timeout: 30_000, interval: 500 }).toBe(1);
      expect(await page.getByRole('link', { name: 'Batch job late' }).count()).toBe(0);
      await page.getByRole('link', { name: 'Checkout latency above 2 s' }).click();
      const card = page.getByRole('region', { name: 'PagerDuty incidents' });
      await card.getByText('Checkout latency above 2 s').waitFor();
      await card.getByText(/Opened this incident/).waitFor();
      await page.getByText(/triage/i).first().waitFor();

      // A responder attaches the other PagerDuty incident to a new incident by pasting its PagerDuty URL.
      const other1 = [...pd.state.incidents.values()].find((i) => i.title === 'Batch job late')!;
      const otherRest = (await (await fetch(`${pd.baseUrl}/incidents/${other1.id}`, { headers: PD_HEADERS(pd.fullAccessKey) })).json()) as any;
      const htmlUrl = otherRest.incident.html_url as string;
      expect(htmlUrl).toMatch(/^https:\/\/.+\/incidents\//);
      const created = (await call('POST', '/api/v1/incidents', { name: 'Nightly batch pipeline stalled' })) as { incident: { id: string; reference: string } };
      await page.goto(`/incidents/${created.incident.reference}`);
      const card2 = page.getByRole('region', { name: 'PagerDuty incidents' });
      await card2.getByText('No PagerDuty incident is attached.').waitFor();
      await card2.getByLabel('PagerDuty incident URL or id').fill(htmlUrl);
      await card2.getByRole('button', { name: 'Attach' }).click();
      await card2.getByText('Batch job late').waitFor();
      await card2.getByText('triggered', { exact: true }).waitFor();
      await card2.getByText(/Attached by hand/).waitFor();
      const attached = (await call('GET', `/api/v1/incidents/${created.incident.id}/pagerduty_incidents`)) as { pagerduty_incidents: any[] };
      expect(attached.pagerduty_incidents.map((l) => ({ id: l.pagerduty_incident.id, reason: l.reason }))).toEqual([{ id: other1.id, reason: 'related' }]);

      // Detaching removes it from the card and from the API.
      await card2.getByRole('button', { name: 'Detach' }).click();
      await card2.getByText('No PagerDuty incident is attached.').waitFor();
      const after = (await call('GET', `/api/v1/incidents/${created.incident.id}/pagerduty_incidents`)) as { pagerduty_incidents: any[] };
      expect(after.pagerduty_incidents).toEqual([]);
    }, { height: 1000, timeoutMs: 20_000 });
  }, 120_000);
});
