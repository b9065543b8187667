import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackEmulator, type SlackEmulator } from '../../emulators/slack/index.js';
import { ownerClient, startTestFirebreak, userClient, type Client, type TestFirebreak } from '../helpers.js';
import { person, startSlackStack, waitFor, type SlackStack } from './stack.js';

// An admin connects Slack on the Integrations page: the token is checked with Slack, secrets are stored
// encrypted and never shown again (only their last 4 characters), and Slack works at once.

describe('connecting Slack on the Integrations page', () => {
  let emu: SlackEmulator;
  let fb: TestFirebreak;
  let owner: Client;
  beforeAll(async () => {
    emu = await startSlackEmulator();
    fb = await startTestFirebreak('sqlite', { slack: { botToken: null, signingSecret: null, apiUrl: emu.apiUrl, announcementsChannel: null } });
    emu.setAppUrl(`${fb.baseUrl}/slack/events`);
    owner = await ownerClient(fb);
  });
  afterAll(async () => {
    await fb?.destroy();
    await emu?.stop();
  });

  it('starts not connected, and /slack/events answers 503', async () => {
    const list = await owner.get('/api/v1/integrations');
    expect(list.body.integrations.find((i: any) => i.kind === 'slack')).toMatchObject({ status: 'not_connected', details: null });
    const general = [...emu.state.channels.values()].find((c) => c.isGeneral)!;
    const u = emu.addUser({ name: 'early', email: 'early@example.com' });
    const r = await emu.driver.slashCommand({ userId: u.id, channelId: general.id, command: '/incident', text: 'help' });
    expect(r.status).toBe(503);
  });

  it('refuses a token Slack does not accept, and non-admins', async () => {
    const bad = await owner.request('PUT', '/api/v1/integrations/slack', { bot_token: 'xoxb-not-a-real-token', signing_secret: emu.signingSecret });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('invalid_auth');
    const { client: responder } = await userClient(fb, owner, 'responder');
    expect((await responder.get('/api/v1/integrations/slack')).status).toBe(403);
    expect((await responder.request('PUT', '/api/v1/integrations/slack', { bot_token: emu.botToken, signing_secret: emu.signingSecret })).status).toBe(403);
    expect((await owner.get('/api/v1/integrations/slack')).body.slack.status).toBe('not_connected');
  });

  it('connects with a valid token: workspace and bot shown, secrets masked and encrypted at rest', async () => {
    const r = await owner.request('PUT', '/api/v1/integrations/slack', { bot_token: emu.botToken, signing_secret: emu.signingSecret, announcements_channel: 'general' });
    expect(r.status).toBe(200);
    expect(r.body.slack).toMatchObject({
      status: 'connected',
      source: 'integration',
      team: 'Firebreak Emulated',
      bot_name: 'firebreak',
      bot_token: `••••${emu.botToken.slice(-4)}`,
      signing_secret: `••••${emu.signingSecret.slice(-4)}`,
      announcements_channel: 'general',
      events_url: `${fb.baseUrl}/slack/events`,
    });
    const shown = JSON.stringify((await owner.get('/api/v1/integrations/slack')).body);
    expect(shown).not.toContain(emu.botToken);
    expect(shown).not.toContain(emu.signingSecret);
    const row = await fb.app.database.db.selectFrom('integration_connections').selectAll().where('kind', '=', 'slack').executeTakeFirstOrThrow();
    expect(row.secrets).not.toContain(emu.botToken);
    expect(row.secrets).not.toContain(emu.signingSecret);
    const list = await owner.get('/api/v1/integrations');
    expect(list.body.integrations.find((i: any) => i.kind === 'slack')).toMatchObject({ status: 'connected', details: { team: 'Firebreak Emulated', bot_name: 'firebreak', source: 'integration' } });
  });

  it('Slack works right away with the stored credentials', async () => {
    const general = [...emu.state.channels.values()].find((c) => c.isGeneral)!;
    const u = emu.addUser({ name: 'zed', realName: 'Zed', email: 'zed@example.com' });
    const r = await emu.driver.slashCommand({ userId: u.id, channelId: general.id, command: '/incident', text: 'help' });
    expect(r.status).toBe(200);
    await waitFor('help', () => emu.ephemeralsFor(u.id)[0]);
  });

  it('disconnecting deletes the secrets and Slack requests are refused again', async () => {
    expect((await owner.del('/api/v1/integrations/slack')).status).toBe(204);
    expect(await fb.app.database.db.selectFrom('integration_connections').selectAll().where('kind', '=', 'slack').executeTakeFirst()).toBeUndefined();
    expect((await owner.get('/api/v1/integrations/slack')).body.slack.status).toBe('not_connected');
    const general = [...emu.state.channels.values()].find((c) => c.isGeneral)!;
    const u = emu.addUser({ name: 'late', email: 'late@example.com' });
    const r = await emu.driver.slashCommand({ userId: u.id, channelId: general.id, command: '/incident', text: 'help' });
    expect(r.status).toBe(503);
  });
});

describe('Slack configured through the environment', () => {
  let s: SlackStack;
  beforeAll(async () => {
    s = await startSlackStack();
  });
  afterAll(async () => s?.stop());

  it('shows as connected with masked secrets, and the page cannot override it', async () => {
    const got = await s.owner.get('/api/v1/integrations/slack');
    expect(got.body.slack).toMatchObject({ status: 'connected', source: 'environment', team: 'Firebreak Emulated', bot_token: `••••${s.emu.botToken.slice(-4)}` });
    const put = await s.owner.request('PUT', '/api/v1/integrations/slack', { bot_token: s.emu.botToken, signing_secret: s.emu.signingSecret });
    expect(put.status).toBe(409);
    expect(put.body.error.code).toBe('configured_by_environment');
    expect((await s.owner.del('/api/v1/integrations/slack')).status).toBe(409);
    const u = person(s.emu, 'Still');
    const general = [...s.emu.state.channels.values()].find((c) => c.isGeneral)!;
    expect((await s.emu.driver.slashCommand({ userId: u.id, channelId: general.id, command: '/incident', text: 'help' })).status).toBe(200);
  });
});
