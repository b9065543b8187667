// In a real browser, against the PagerDuty emulator on this machine:
//  - the bot picker: nothing preselected, a search box, each user's PagerDuty role, a warning before choosing a
//    read-only user, and PagerDuty's refusal of that user explained in words (nothing saved); a User connects;
//  - webhooks out of the box: connecting created the subscription (PagerDuty is on this machine), the page says
//    why, and "Send test" shows when PagerDuty's ping arrived;
//  - the incident page's two PagerDuty cards agree after an acknowledgement made in PagerDuty;
//  - the acknowledge offer: shown with its button to the person it was made to only; pressing it acknowledges.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { startCheckedPagerDuty } from '../pagerduty-requests.js';
import { apiAs, inPage, startBrowserStack, type BrowserStack } from './stack.js';

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('the PagerDuty side in the web app (Chromium)', () => {
  let stack: BrowserStack;
  let pd: PagerDutyEmulator;
  /** Sign-in links are used once: each step signs the owner in with a new one. */
  let nextOwnerLink = '';
  const byRole = (role: string, skip = 0) => [...pd.state.users.values()].filter((u) => u.role === role && u.email === u.email.trim())[skip]!;

  beforeAll(async () => {
    pd = await startCheckedPagerDuty({ seed: 'medium', rateLimitPerMinute: false });
    stack = await startBrowserStack();
  });
  afterAll(async () => {
    await stack?.close();
    await pd?.stop();
  });

  it('picks the bot with roles shown, refuses a read-only user in words, then connects; the webhook works out of the box and Send test shows the ping', async () => {
    await inPage(stack, 'pdside-connect', async (page) => {
      await page.goto(stack.fb.initialLoginUrl!);
      await page.getByRole('link', { name: 'Declare incident' }).first().waitFor();
      await page.goto('/settings/integrations/pagerduty');
      const keyForm = page.getByRole('form', { name: 'PagerDuty API key' });
      await keyForm.getByLabel('API base URL (optional)').fill(pd.baseUrl);
      await keyForm.getByLabel('API key').fill(pd.fullAccessKey);
      await keyForm.getByRole('button', { name: 'Check key' }).click();
      const botForm = page.getByRole('form', { name: 'Bot account' });
      await botForm.getByRole('radio').first().waitFor();
      // Nothing is chosen for the admin.
      expect(await botForm.getByRole('radio', { checked: true }).count()).toBe(0);
      expect(await botForm.getByRole('button', { name: 'Connect PagerDuty' }).isDisabled()).toBe(true);

      const stakeholder = byRole('read_only_user');
      await botForm.getByLabel('Search users').fill(stakeholder.name);
      const row = botForm.locator('label', { hasText: stakeholder.name });
      await row.getByText('Read-only user').waitFor();
      await row.getByRole('radio').check();
      const warning = botForm.getByRole('alert');
      await warning.getByText(`${stakeholder.name} is a PagerDuty Read-only user`).waitFor();
      await page.screenshot({ path: '/tmp/pdside-bot-warning.png', fullPage: true });
      await botForm.getByRole('button', { name: 'Connect PagerDuty' }).click();
      await page.getByText(`PagerDuty refused a test write made as ${stakeholder.name}`).waitFor();
      expect(await page.getByText('"Read-only user", which may look at incidents but not create or acknowledge them').count()).toBe(1);
      await page.screenshot({ path: '/tmp/pdside-bot-refused.png', fullPage: true });
      const call = await apiAs(page);
      expect((await call('GET', '/api/v1/integrations/pagerduty')).connected).toBe(false);

      const good = byRole('user');
      await botForm.getByLabel('Search users').fill(good.name);
      const goodRow = botForm.locator('label', { hasText: good.name });
      await goodRow.getByText('User', { exact: true }).waitFor();
      await goodRow.getByRole('radio').check();
      expect(await botForm.getByRole('alert').count()).toBe(0);
      await botForm.getByRole('button', { name: 'Connect PagerDuty' }).click();
      await page.getByRole('heading', { name: 'Connection' }).waitFor();
      expect((await call('GET', '/api/v1/integrations/pagerduty')).bot_user).toMatchObject({ id: good.id, role: 'user' });

      // Webhooks out of the box: PagerDuty is on this machine, so connecting made the subscription.
      const hooks = page.getByRole('group', { name: 'Webhooks' });
      const subId = await expect.poll(async () => (await call('GET', '/api/v1/integrations/pagerduty/webhook_health')).subscription_id, { timeout: 20_000, interval: 250 }).toBeTruthy();
      void subId;
      await page.reload();
      const { subscription_id } = await call('GET', '/api/v1/integrations/pagerduty/webhook_health');
      await hooks.getByText(subscription_id, { exact: true }).waitFor();
      await hooks.getByText('PagerDuty is on this machine (an emulator) and can reach it, so Firebreak created the subscription').waitFor();
      expect(await hooks.getByText('does not know its public URL').count()).toBe(0);
      const subs = [...pd.state.webhookSubscriptions.values()];
      expect(subs.map((x) => x.url)).toEqual([`${stack.fb.baseUrl}/webhooks/pagerduty`]);
      await hooks.getByRole('button', { name: 'Send test' }).click();
      await hooks.getByRole('status').getByText('arrived').waitFor({ timeout: 20_000 });
      await hooks.getByText('(pagey.ping)').waitFor();
      await hooks.scrollIntoViewIfNeeded();
      await page.screenshot({ path: '/tmp/pdside-webhook-health.png', fullPage: true });
      const h = await call('GET', '/api/v1/integrations/pagerduty/webhook_health');
      expect(h.ping.received_at).toBeTruthy();
      expect(h.last_delivery.event_type).toBe('pagey.ping');
      const me = (await call('GET', '/api/v1/session')).user;
      nextOwnerLink = (await call('POST', `/api/v1/users/${me.id}/login_link`)).url;
    });
  }, 120_000);

  it('the two PagerDuty cards agree, and the acknowledge offer shows with its button only to the person it was made to', async () => {
    let responderLink = '';
    let ownerLink = '';
    let incidentId = '';
    let offerPd = '';
    await inPage(stack, 'pdside-cards', async (page) => {
      await page.goto(nextOwnerLink);
      await page.getByRole('link', { name: 'Declare incident' }).first().waitFor();
      const call = await apiAs(page);
      if (!(await call('GET', '/api/v1/integrations/pagerduty')).connected) throw new Error('the first test connects PagerDuty');
      const run = (await call('POST', '/api/v1/integrations/pagerduty/sync', {})).run;
      await expect.poll(async () => (await call('GET', `/api/v1/catalog_sync_runs/${run.id}`)).sync_run.status, { timeout: 60_000, interval: 500 }).toBe('succeeded');
      const services = (await call('GET', '/api/v1/integrations/pagerduty/escalation_options?type=service&limit=5')).options;
      await call('PATCH', '/api/v1/integrations/pagerduty/escalation_settings', { fallback_service_id: services[0].id });
      const inc = (await call('POST', '/api/v1/incidents', { name: 'Search is slow' })).incident;
      incidentId = inc.id;

      // Escalate to a person; they acknowledge on their phone; both cards say so.
      const paged = byRole('user', 1);
      const esc = (await call('POST', `/api/v1/incidents/${inc.id}/escalations`, { user_ids: [paged.id], message: 'please look' })).escalation;
      await expect.poll(async () => (await call('GET', `/api/v1/escalations/${esc.id}`)).escalation.targets[0].pagerduty_incident?.id ?? null, { timeout: 20_000, interval: 250 }).not.toBeNull();
      const pdId = (await call('GET', `/api/v1/escalations/${esc.id}`)).escalation.targets[0].pagerduty_incident.id as string;
      pd.actAs(paged.email).acknowledge(pdId);
      await pd.webhooks.flush();
      await page.goto(`/incidents/${inc.reference}`);
      const escCard = page.locator('section', { has: page.getByRole('heading', { name: 'Escalations' }) });
      const pdCard = page.locator('section', { has: page.getByRole('heading', { name: 'PagerDuty incidents' }) });
      await expect.poll(async () => {
        await page.reload();
        await escCard.getByText('please look').waitFor();
        return (await escCard.first().textContent()) ?? '';
      }, { timeout: 20_000, interval: 500 }).toContain(`Acknowledged by ${paged.name}`);
      await pdCard.locator('.badge', { hasText: 'acknowledged' }).waitFor();
      expect(await pdCard.locator('.badge', { hasText: 'triggered' }).count()).toBe(0);
      await page.screenshot({ path: '/tmp/pdside-cards.png', fullPage: true });

      // A PagerDuty incident on a service, attached by hand; a responder who was not paged says it is related.
      const bystander = [...pd.state.users.values()].find((u) => u.role === 'user' && u.email === u.email.trim() && u.id !== paged.id && u.id !== byRole('user').id && !pd.state.incidents.get(pdId)!.assignments.some((a) => a.user_id === u.id))!;
      const other = pd.admin.triggerIncident({ service_id: services[1].id, title: 'Queue backlog growing', urgency: 'high' });
      offerPd = other.id;
      await pd.webhooks.flush();
      if (pd.state.incidents.get(other.id)!.assignments.some((a) => a.user_id === bystander.id)) throw new Error('bystander was paged');
      const link = (await call('POST', `/api/v1/incidents/${inc.id}/pagerduty_incidents`, { pagerduty_incident: other.id })).pagerduty_incident;
      const responder = (await call('POST', '/api/v1/users', { name: bystander.name, email: bystander.email.toLowerCase(), role: 'responder' })).user;
      responderLink = (await call('POST', `/api/v1/users/${responder.id}/login_link`)).url;
      const session = (await call('GET', '/api/v1/session')).user;
      ownerLink = (await call('POST', `/api/v1/users/${session.id}/login_link`)).url;
      void link;
    });

    await inPage(stack, 'pdside-offer', async (page) => {
      await page.goto(responderLink);
      await page.getByRole('link', { name: 'Declare incident' }).first().waitFor();
      const call = await apiAs(page);
      const links = (await call('GET', `/api/v1/incidents/${incidentId}/pagerduty_incidents`)).pagerduty_incidents;
      const link = links.find((l: any) => l.pagerduty_incident.id === offerPd);
      await page.goto(`/incidents/${incidentId}`);
      const pdCard = page.locator('section', { has: page.getByRole('heading', { name: 'PagerDuty incidents' }) });
      // The responder answers "Is this related?" with Yes on the page; PagerDuty did not page them: an offer.
      const item = pdCard.locator('li', { hasText: 'Queue backlog growing' });
      await item.getByRole('button', { name: 'Yes' }).click();
      await expect.poll(async () => (await call('GET', `/api/v1/incidents/${incidentId}/pagerduty_ack_offers`)).offers.filter((o: any) => o.link_id === link.id && o.status === 'open').length, { timeout: 20_000, interval: 250 }).toBe(1);
      await page.reload();
      const offer = pdCard.getByRole('group', { name: /^Acknowledgement offer for/ });
      await offer.getByText('PagerDuty did not page you for it').waitFor();
      await page.screenshot({ path: '/tmp/pdside-offer.png', fullPage: true });
      // Someone else (the owner) looking at the same incident sees neither the offer nor its button.
      await inPage(stack, 'pdside-not-mine', async (owner) => {
        await owner.goto(ownerLink);
        await owner.getByRole('link', { name: 'Declare incident' }).first().waitFor();
        await owner.goto(`/incidents/${incidentId}`);
        const card = owner.locator('section', { has: owner.getByRole('heading', { name: 'PagerDuty incidents' }) });
        await card.getByText('Queue backlog growing').waitFor();
        expect(await card.getByRole('button', { name: 'Acknowledge in PagerDuty' }).count()).toBe(0);
        expect(await card.getByText('Acknowledge this PagerDuty incident?').count()).toBe(0);
      });
      await offer.getByRole('button', { name: 'Acknowledge in PagerDuty' }).click();
      await pdCard.getByText('Acknowledged in PagerDuty as you.').waitFor();
      expect(pd.state.incidents.get(offerPd)!.status).toBe('acknowledged');
      const me = (await call('GET', '/api/v1/session')).user.email as string;
      expect(pd.state.incidents.get(offerPd)!.acknowledgements.map((a) => a.user_id)).toEqual([[...pd.state.users.values()].find((u) => u.email.trim().toLowerCase() === me)!.id]);
      // The answered offer leaves the card once the page has the offers again (the live feed's refresh).
      await expect.poll(async () => pdCard.getByRole('group', { name: /^Acknowledgement offer for/ }).count(), { timeout: 10_000, interval: 200 }).toBe(0);
    });
  }, 120_000);
});
