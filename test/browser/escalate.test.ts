// In a real browser: with PagerDuty connected and synced (against the emulator), an admin picks the fallback
// escalation service on the PagerDuty settings page, then a responder opens an incident, uses the Escalate
// form to page one escalation policy and one PagerDuty user, and sees both targets paged on the incident page.
// PagerDuty's side is checked in the emulator: one incident per target, with the right policy or assignee.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { startCheckedPagerDuty } from '../pagerduty-requests.js';
import { apiAs, inPage, startBrowserStack, type BrowserStack } from './stack.js';

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('Escalating from the incident page (Chromium)', () => {
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

  it('pages a policy and a person from the Escalate form', async () => {
    await inPage(stack, 'escalate', async (page) => {
      await page.goto(stack.fb.initialLoginUrl!);
      await page.getByRole('link', { name: 'Declare incident' }).first().waitFor();
      // Connecting through the form is covered by pagerduty-connect.test.ts; here the API does it, as the owner.
      const call = await apiAs(page);
      const ignoredPolicies = new Set([...pd.state.tags.values()].filter((t) => t.label === 'incident-io-ignore').flatMap((t) => t.escalation_policies));
      const services = [...pd.state.services.values()].filter((s) => !s.description.includes('incident-io-ignore') && !ignoredPolicies.has(s.escalation_policy_id));
      const policy = pd.state.escalationPolicies.get(services[0]!.escalation_policy_id)!;
      const users = [...pd.state.users.values()];
      const bot = users[0]!;
      const person = users.find((u) => u.id !== bot.id && u.email.trim() === u.email)!;
      await call('PUT', '/api/v1/integrations/pagerduty', { region: 'us', base_url: pd.baseUrl, api_key: pd.fullAccessKey, bot_user_id: bot.id });
      await call('POST', '/api/v1/integrations/pagerduty/sync', {});

      // The admin chooses the fallback escalation service on the PagerDuty settings page.
      await page.goto('/settings/integrations/pagerduty');
      await page.getByText('Synced', { exact: true }).first().waitFor();
      await page.getByRole('heading', { name: 'Escalation', exact: true }).waitFor();
      const fallback = services[1] ?? services[0]!;
      const escalationSettings = page.getByRole('region', { name: 'Escalation', exact: true });
      await escalationSettings.getByPlaceholder('Search services').fill(fallback.name);
      await escalationSettings.getByRole('button', { name: fallback.name, exact: true }).click();
      await page.getByText(`Now: ${fallback.name}`).waitFor();

      const incident = (await call('POST', '/api/v1/incidents', { name: 'Payments API returns 502s' })) as { incident: { reference: string } };
      await page.goto(`/incidents/${incident.incident.reference}`);
      await page.getByRole('button', { name: 'Escalate…' }).click();
      const form = page.getByRole('form', { name: 'Escalate' });
      await form.getByLabel('Escalation policies', { exact: true }).fill(policy.name);
      await form.getByRole('list', { name: 'Escalation policies found' }).getByRole('button', { name: policy.name }).first().click();
      await form.getByLabel('PagerDuty users', { exact: true }).fill(person.name);
      await form.getByRole('list', { name: 'PagerDuty users found' }).getByRole('button', { name: new RegExp(person.name) }).first().click();
      await form.getByLabel('Why do you need them?').fill('Card payments fail since the 10:02 deploy; need the payments on-call.');
      await form.getByRole('button', { name: 'Page them' }).click();

      const card = page.getByRole('region', { name: 'Escalations' });
      await card.getByText(policy.name).first().waitFor();
      await card.getByText(person.name).first().waitFor();
      await expect.poll(() => [...pd.state.incidents.values()].length, { timeout: 20_000 }).toBe(2);
      const created = [...pd.state.incidents.values()];
      const viaPolicy = created.find((i) => i.assigned_via === 'escalation_policy')!;
      const direct = created.find((i) => i.assigned_via === 'direct_assignment')!;
      expect(viaPolicy.escalation_policy_id).toBe(policy.id);
      expect(viaPolicy.title).toBe(`[${incident.incident.reference}] Payments API returns 502s`);
      expect(direct.assignments.map((a) => a.user_id)).toEqual([person.id]);
      expect(direct.service_id).toBe(fallback.id);
      const posts = pd.requestLog().filter((r) => r.method === 'POST' && r.path === '/incidents');
      // The owner has no PagerDuty account, so the pages come from the bot account.
      expect(posts.map((r) => String(r.headers.from ?? '').trim().toLowerCase())).toEqual([bot.email.trim().toLowerCase(), bot.email.trim().toLowerCase()]);
      // The card follows PagerDuty: both rows move from "Paging…" to "Paged" with a link to the PagerDuty incident.
      await expect.poll(async () => card.getByRole('cell', { name: 'Paged', exact: true }).count(), { timeout: 20_000 }).toBe(2);
      expect(await card.getByRole('cell', { name: 'Paging…' }).count()).toBe(0);
      await page.screenshot({ path: '/tmp/fb-escalate.png', fullPage: true });
    }, { height: 1000, timeoutMs: 20_000 });
  }, 90_000);
});
