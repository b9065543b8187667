import type { App as BoltApp } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackEmulator } from '../../emulators/slack/index.js';
import type { SlackConnection, SlackCredentials } from '../../src/integrations/slack/slack.connection.js';
import { SocketModeOwner } from '../../src/integrations/slack/socket-mode.owner.js';
import { createLogger } from '../../src/platform/logger.js';
import { backends, ownerClient, startTestFirebreak } from '../helpers.js';
import { declareFromSlack, incidentChannel, person, waitFor, type SlackStack } from './stack.js';

// Socket Mode set up on Settings → Integrations → Slack instead of SLACK_APP_TOKEN: the app-level token is checked
// with Slack (apps.connections.open), stored encrypted, never shown again, and the socket follows the saved
// credentials at once: opened on connect, closed on disconnect, gone when the connection is HTTP only again.

describe.each(backends)('Socket Mode configured on the Integrations page (%s)', (backend) => {
  let s: SlackStack;
  const general = () => [...s.emu.state.channels.values()].find((c) => c.isGeneral)!;
  const status = async () => (await s.owner.get('/api/v1/integrations/slack')).body.slack;
  const row = () => s.fb.app.database.db.selectFrom('integration_connections').selectAll().where('kind', '=', 'slack').executeTakeFirst();
  const secrets = (): string[] => [s.emu.appToken, s.emu.botToken, s.emu.signingSecret];
  const leaks: string[] = [];
  /** Every API answer of this suite, kept to check that no secret was ever in one. */
  const seen = <R extends { body: any }>(r: R): R => {
    leaks.push(JSON.stringify(r.body ?? null));
    return r;
  };

  beforeAll(async () => {
    const emu = await startSlackEmulator();
    const announcements = emu.addChannel('incidents');
    // Nothing in the environment but the emulator's address; Slack is never given Firebreak's URL until the HTTP part.
    const fb = await startTestFirebreak(backend, { slack: { botToken: null, signingSecret: null, appToken: null, apiUrl: emu.apiUrl, announcementsChannel: null } });
    const owner = await ownerClient(fb);
    s = {
      emu,
      fb,
      owner,
      announcements,
      async stop() {
        await fb.destroy();
        await emu.stop();
      },
    };
  });
  afterAll(async () => s?.stop());

  it('starts with no socket and HTTP as the transport', async () => {
    expect(seen({ body: await status() }).body).toMatchObject({ status: 'not_connected', transport: 'http', socket_mode: null, app_token: null });
    expect(s.emu.socketMode.connections()).toEqual([]);
  });

  it('refuses an app-level token Slack does not accept: 400 on app_token, nothing saved, no socket', async () => {
    const bad = seen(await s.owner.request('PUT', '/api/v1/integrations/slack', { bot_token: s.emu.botToken, app_token: 'xapp-1-A0FIREBRK1-0000000003-notthetoken' }));
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('invalid_auth');
    expect(bad.body.error.details.fields).toEqual([{ path: 'app_token', message: expect.stringContaining('invalid_auth') }]);
    expect(s.emu.calls('apps.connections.open')).toEqual([expect.objectContaining({ ok: false, error: 'invalid_auth' })]);

    const malformed = seen(await s.owner.request('PUT', '/api/v1/integrations/slack', { bot_token: s.emu.botToken, app_token: s.emu.botToken }));
    expect(malformed.status).toBe(400);
    expect(JSON.stringify(malformed.body)).toMatch(/app-level token starting with xapp-.*App-Level Tokens.*connections:write/);

    const neither = seen(await s.owner.request('PUT', '/api/v1/integrations/slack', { bot_token: s.emu.botToken }));
    expect(neither.status).toBe(400);
    expect(neither.body.error.details.fields).toEqual([{ path: 'signing_secret', message: expect.stringContaining('required without an app-level token') }]);

    expect(await row()).toBeUndefined();
    expect((await status()).status).toBe('not_connected');
    expect(s.emu.socketMode.connections()).toEqual([]);
    expect(s.emu.socketMode.connectionLog()).toEqual([]);
  });

  it('connects with a bot token and an app-level token, no signing secret: one socket, status connected, token masked', async () => {
    const r = seen(await s.owner.request('PUT', '/api/v1/integrations/slack', { bot_token: s.emu.botToken, app_token: s.emu.appToken, announcements_channel: s.announcements.id }));
    expect(r.status).toBe(200);
    expect(r.body.slack).toMatchObject({ source: 'integration', transport: 'socket_mode', signing_secret: null, app_token: `••••${s.emu.appToken.slice(-4)}`, team: 'Firebreak Emulated' });
    await s.emu.socketMode.waitForConnection({ timeoutMs: 10_000 });
    expect(s.emu.socketMode.connections()).toHaveLength(1);
    const st = await waitFor('connected status', async () => {
      const x = seen({ body: await status() }).body;
      return x.socket_mode?.connected ? x : undefined;
    });
    expect(st).toMatchObject({ status: 'connected', transport: 'socket_mode', socket_mode: { state: 'connected', connections: 1, error: null }, error: null });
    const list = seen(await s.owner.get('/api/v1/integrations')).body.integrations.find((i: any) => i.kind === 'slack');
    expect(list).toMatchObject({ status: 'connected', details: { source: 'integration', transport: 'socket_mode', socket_mode: 'connected' } });
    const stored = (await row())!;
    expect(JSON.parse(stored.secrets)).toHaveProperty('app_token');
    expect(stored.secrets).not.toContain(s.emu.appToken);
  });

  it('/incident declare over the socket opens the modal, and submitting it creates the incident channel', async () => {
    const ana = person(s.emu, 'Ana Page');
    const { cmd, submit } = await declareFromSlack(s, ana, { name: 'Socket from the page', severity: 'sev-critical' }, general().id);
    expect(cmd).toMatchObject({ status: 200, timedOut: false, envelopeId: expect.any(String) });
    expect(submit).toMatchObject({ status: 200, timedOut: false });
    expect(submit.view.isOpen).toBe(false);
    const inc = (seen(await s.owner.get('/api/v1/incidents')).body.incidents as any[]).find((i) => i.name === 'Socket from the page');
    const { channel, header } = await incidentChannel(s, inc.number);
    expect(channel.members).toContain(ana.id);
    expect(header().text).toContain(`INC-${inc.number}: Socket from the page`);
    expect(s.emu.socketMode.envelopes().filter((e) => e.envelopeId === cmd.envelopeId || e.envelopeId === submit.envelopeId).map((e) => e.outcome)).toEqual(['acked', 'acked']);
    expect(s.emu.driver.lastRequest()).toBeUndefined();
  });

  it('disconnecting closes the socket and the status is not_connected', async () => {
    const [conn] = s.emu.socketMode.connections();
    expect((await s.owner.del('/api/v1/integrations/slack')).status).toBe(204);
    await waitFor('socket closed', () => s.emu.socketMode.connections().length === 0);
    expect(s.emu.socketMode.connectionLog().find((c) => c.id === conn!.id)).toMatchObject({ closeCode: 1000 });
    expect(seen({ body: await status() }).body).toMatchObject({ status: 'not_connected', transport: 'http', socket_mode: null, app_token: null });
    expect(await row()).toBeUndefined();
    expect(s.fb.logs.text()).toContain('Slack Socket Mode: no app-level token any more, closing the connection');
  });

  it('reconnecting with only a bot token and a signing secret goes back to HTTP, with no socket', async () => {
    const opens = s.emu.calls('apps.connections.open').length;
    // The Slack app is switched back to request URLs.
    s.emu.socketMode.disable();
    s.emu.setAppUrl(`${s.fb.baseUrl}/slack/events`);
    const r = seen(await s.owner.request('PUT', '/api/v1/integrations/slack', { bot_token: s.emu.botToken, signing_secret: s.emu.signingSecret }));
    expect(r.status).toBe(200);
    expect(r.body.slack).toMatchObject({ status: 'connected', transport: 'http', socket_mode: null, app_token: null, signing_secret: `••••${s.emu.signingSecret.slice(-4)}` });
    const u = person(s.emu, 'Hugo Http');
    const help = await s.emu.driver.slashCommand({ userId: u.id, channelId: general().id, command: '/incident', text: 'help' });
    expect(help).toMatchObject({ status: 200 });
    expect(help.envelopeId).toBeUndefined();
    await waitFor('help', () => s.emu.ephemeralsFor(u.id)[0]);
    expect(s.emu.socketMode.connections()).toEqual([]);
    expect(s.emu.calls('apps.connections.open')).toHaveLength(opens);
  });

  it('switching a saved HTTP connection to Socket Mode opens the socket; saving the same token again keeps it', async () => {
    const r = seen(await s.owner.request('PUT', '/api/v1/integrations/slack', { bot_token: s.emu.botToken, signing_secret: s.emu.signingSecret, app_token: s.emu.appToken }));
    expect(r.status).toBe(200);
    expect(r.body.slack).toMatchObject({ transport: 'socket_mode', signing_secret: `••••${s.emu.signingSecret.slice(-4)}`, app_token: `••••${s.emu.appToken.slice(-4)}` });
    const first = await s.emu.socketMode.waitForConnection({ timeoutMs: 10_000 });
    expect(s.emu.socketMode.connections()).toHaveLength(1);
    // The same token again: the running connection stays (a different token would replace it).
    expect(seen(await s.owner.request('PUT', '/api/v1/integrations/slack', { bot_token: s.emu.botToken, app_token: s.emu.appToken })).status).toBe(200);
    expect(s.emu.socketMode.connections()).toHaveLength(1);
    expect(s.emu.socketMode.connections()[0]!.id).toBe(first.id);
  });

  it('never shows a secret in an answer or a log line', () => {
    for (const secret of secrets()) {
      for (const body of leaks) expect(body).not.toContain(secret);
      expect(s.fb.logs.text()).not.toContain(secret);
    }
    expect(s.fb.logs.text()).not.toContain('notthetoken');
  });
});

describe('Socket Mode from the page stops with Firebreak', () => {
  it('startFirebreak().stop() closes a socket opened from the Integrations page and does not hang', async () => {
    const emu = await startSlackEmulator();
    const fb = await startTestFirebreak('sqlite', { slack: { botToken: null, signingSecret: null, appToken: null, apiUrl: emu.apiUrl, announcementsChannel: null } });
    try {
      const owner = await ownerClient(fb);
      expect((await owner.request('PUT', '/api/v1/integrations/slack', { bot_token: emu.botToken, app_token: emu.appToken })).status).toBe(200);
      const conn = await emu.socketMode.waitForConnection({ timeoutMs: 10_000 });
      await fb.stop();
      await waitFor('socket closed', () => emu.socketMode.connections().length === 0, 3000);
      expect(emu.socketMode.connectionLog().find((c) => c.id === conn.id)).toMatchObject({ closeCode: 1000 });
      expect(fb.logs.text()).toContain('Slack Socket Mode: stopped');
    } finally {
      await fb.destroy();
      await emu.stop();
    }
  });
});

describe('the Socket Mode owner follows credentials changed elsewhere', () => {
  it('on its timer: opens for a new token, replaces the connection for another token, closes when the token goes', async () => {
    const emu = await startSlackEmulator();
    const otherToken = 'xapp-1-A0FIREBRK1-0000000003-anothertoken';
    let creds: SlackCredentials | null = null;
    // Stands for another process saving and deleting the connection: only the credentials this process reads change.
    const connection = { invalidate() {}, credentials: async () => creds } as unknown as SlackConnection;
    const owner = new SocketModeOwner({ connection, apiUrl: emu.apiUrl, bolt: {} as BoltApp, logger: createLogger('silent'), reconcileMs: 50 });
    const base = { botToken: emu.botToken, signingSecret: null, announcementsChannel: null, source: 'integration' as const };
    try {
      await owner.start();
      expect(emu.socketMode.connections()).toEqual([]);

      creds = { ...base, appToken: emu.appToken };
      const first = await emu.socketMode.waitForConnection({ timeoutMs: 10_000 });
      await waitFor('connected', () => owner.statusFor(emu.appToken)?.state === 'connected');

      creds = { ...base, appToken: otherToken };
      await waitFor('first connection closed', () => emu.socketMode.connections().length === 0);
      expect(emu.socketMode.connectionLog().find((c) => c.id === first.id)).toMatchObject({ closeCode: 1000 });
      const refused = await waitFor('the other token tried', () => owner.statusFor(otherToken)?.state === 'error' && owner.statusFor(otherToken));
      expect(refused.error).toMatch(/refused the app-level token \(invalid_auth\).*Settings → Integrations → Slack/);
      expect(owner.statusFor(emu.appToken)).toBeNull();

      creds = { ...base, appToken: emu.appToken };
      const again = await emu.socketMode.waitForConnection({ except: [first.id], timeoutMs: 10_000 });
      creds = { ...base, appToken: null, signingSecret: emu.signingSecret };
      await waitFor('closed when HTTP only', () => emu.socketMode.connections().length === 0);
      expect(emu.socketMode.connectionLog().find((c) => c.id === again.id)).toMatchObject({ closeCode: 1000 });
      expect(owner.statusFor(emu.appToken)).toBeNull();
    } finally {
      await owner.close();
      await emu.stop();
    }
  });
});
