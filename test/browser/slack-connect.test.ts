// In a real browser: an owner connects Slack on Settings → Integrations → Slack against the Slack emulator.
// A token Slack refuses is reported next to the field; a good one shows the workspace and the bot from
// auth.test, the secrets only masked; afterwards /incident works in Slack; disconnecting takes it away.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackEmulator, type SlackEmulator } from '../../emulators/slack/index.js';
import { inPage, startBrowserStack, type BrowserStack } from './stack.js';

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('Slack in the web app (Chromium)', () => {
  let stack: BrowserStack;
  let slack: SlackEmulator;

  beforeAll(async () => {
    slack = await startSlackEmulator({ teamName: 'Acme Ops', botName: 'firebreak' });
    stack = await startBrowserStack({ slack: { botToken: null, signingSecret: null, apiUrl: slack.apiUrl, announcementsChannel: null } });
    slack.setAppUrl(`${stack.fb.baseUrl}/slack/events`);
  });

  afterAll(async () => {
    await stack?.close();
    await slack?.stop();
  });

  it('connects Slack through the form, shows workspace and bot, and disconnects', async () => {
    await inPage(stack, 'slack', async (page) => {
      await page.goto(stack.fb.initialLoginUrl!);
      await page.getByRole('link', { name: 'Settings' }).click();
      await page.getByRole('link', { name: 'Integrations' }).click();
      await page.getByRole('link', { name: 'Connect Slack' }).click();
      await page.getByRole('heading', { name: 'Connect Slack' }).waitFor();

      await page.getByLabel('Bot token').fill('xoxb-wrong-token');
      await page.getByLabel('Signing secret').fill(slack.signingSecret);
      await page.getByRole('button', { name: 'Connect Slack' }).click();
      await page.getByText('Slack does not accept this bot token').first().waitFor();

      const general = [...slack.state.channels.values()].find((c) => c.isGeneral)!;
      await page.getByLabel('Bot token').fill(slack.botToken);
      await page.getByLabel('Signing secret').fill(slack.signingSecret);
      await page.getByLabel('Announcements channel (optional)').fill(general.id);
      await page.getByRole('button', { name: 'Connect Slack' }).click();
      await page.getByRole('heading', { name: 'Connection' }).waitFor();
      const main = await page.locator('main').innerText();
      expect(main).toContain('Acme Ops');
      expect(main).toContain('@firebreak');
      expect(await page.getByLabel('Request URL for commands, interactivity and events').inputValue()).toBe(`${stack.fb.baseUrl}/slack/events`);
      expect(main).not.toContain(slack.botToken);
      expect(main).not.toContain(slack.signingSecret);
      expect(main).toContain(slack.botToken.slice(-4));
      await page.screenshot({ path: '/tmp/fb-slack-settings.png', fullPage: true });

      // Incident channels: archive an hour after close.
      await page.getByText('Channels are never archived by Firebreak').waitFor();
      await page.getByLabel("Archive an incident's channel after it closes").check();
      await page.getByLabel('Minutes after closing').fill('60');
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      await page.getByText('Saved.').waitFor();
      await page.getByText('Channels are archived 60 minutes after the incident closes').waitFor();
      await page.screenshot({ path: '/tmp/fb-slack-channel-settings.png', fullPage: true });

      // Slack now works: a person in Slack gets the help from /incident.
      const person = slack.addUser({ name: 'ana', realName: 'Ana Ruiz', email: 'ana@example.com' });
      const help = await slack.driver.slashCommand({ userId: person.id, channelId: general.id, command: '/incident', text: 'help' });
      expect(help.status).toBe(200);

      await page.reload();
      await page.getByRole('heading', { name: 'Connection' }).waitFor();
      await page.getByRole('button', { name: 'Disconnect Slack' }).click();
      await page.getByRole('button', { name: 'Yes, disconnect' }).click();
      await page.getByRole('heading', { name: 'Connect Slack' }).waitFor();
      const after = await slack.driver.slashCommand({ userId: person.id, channelId: general.id, command: '/incident', text: 'help' });
      expect(after.status).toBe(503);
    });
  });
});

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('Slack over Socket Mode in the web app (Chromium)', () => {
  let stack: BrowserStack;
  let slack: SlackEmulator;

  beforeAll(async () => {
    slack = await startSlackEmulator({ teamName: 'Acme Ops', botName: 'firebreak' });
    // No public URL: Slack is reached through the socket Firebreak opens with the app-level token.
    stack = await startBrowserStack({ slack: { botToken: slack.botToken, signingSecret: null, appToken: slack.appToken, apiUrl: slack.apiUrl, announcementsChannel: null } });
  });

  afterAll(async () => {
    await stack?.close();
    await slack?.stop();
  });

  it('shows that Slack reaches Firebreak over Socket Mode, and whether the socket is up', async () => {
    await inPage(stack, 'slack-socket', async (page) => {
      await page.goto(stack.fb.initialLoginUrl!);
      await page.getByRole('link', { name: 'Declare incident' }).first().waitFor();
      await expect.poll(() => slack.socketMode.connections().length, { timeout: 10_000 }).toBe(1);
      await page.goto('/settings/integrations/slack');
      await page.getByText('Socket Mode: connected', { exact: true }).waitFor();
      await page.getByText('environment variables (SLACK_BOT_TOKEN, SLACK_APP_TOKEN)').waitFor();
      await page.getByText('Acme Ops').waitFor();
      // No request URL to copy: Slack does not send HTTP requests to an app in Socket Mode.
      expect(await page.getByText('Request URL for commands, interactivity and events').count()).toBe(0);
      // The app token is never on the page.
      expect(await page.content()).not.toContain(slack.appToken);
    });
  }, 60_000);
});

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('Socket Mode connected from the web app (Chromium)', () => {
  let stack: BrowserStack;
  let slack: SlackEmulator;

  beforeAll(async () => {
    slack = await startSlackEmulator({ teamName: 'Acme Ops', botName: 'firebreak' });
    stack = await startBrowserStack({ slack: { botToken: null, signingSecret: null, appToken: null, apiUrl: slack.apiUrl, announcementsChannel: null } });
  });

  afterAll(async () => {
    await stack?.close();
    await slack?.stop();
  });

  it('connects with the bot token and an app-level token, no signing secret, and the socket comes up', async () => {
    await inPage(stack, 'slack-socket-form', async (page) => {
      await page.goto(stack.fb.initialLoginUrl!);
      await page.getByRole('link', { name: 'Declare incident' }).first().waitFor();
      await page.goto('/settings/integrations/slack');
      await page.getByRole('heading', { name: 'Connect Slack' }).waitFor();
      await page.getByLabel('Bot token').fill(slack.botToken);
      await page.getByLabel('App-level token (Socket Mode, for installs without a public URL)').fill(slack.appToken);
      await page.getByRole('button', { name: 'Connect Slack' }).click();
      await page.getByText('Socket Mode: connected', { exact: true }).waitFor();
      await page.getByText('Acme Ops').waitFor();
      expect(slack.socketMode.connections()).toHaveLength(1);
      expect(await page.getByText('Request URL for commands, interactivity and events').count()).toBe(0);
      expect(await page.content()).not.toContain(slack.appToken);
      expect(await page.locator('main').innerText()).toContain(slack.appToken.slice(-4));

      await page.getByRole('button', { name: 'Disconnect Slack' }).click();
      await page.getByRole('button', { name: 'Yes, disconnect' }).click();
      await page.getByRole('heading', { name: 'Connect Slack' }).waitFor();
      await expect.poll(() => slack.socketMode.connections().length, { timeout: 10_000 }).toBe(0);
    });
  }, 60_000);
});
