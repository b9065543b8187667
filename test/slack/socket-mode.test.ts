import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackEmulator } from '../../emulators/slack/index.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { backends, ownerClient, startTestFirebreak } from '../helpers.js';
import { declareFromSlack, incidentChannel, person, waitFor, type SlackStack } from './stack.js';

// Firebreak without a public URL: SLACK_APP_TOKEN turns on Socket Mode. Firebreak opens the connection to the Slack
// emulator itself; the emulator is never given Firebreak's URL, so everything below arrives as envelopes on the
// socket and every answer (modal errors included) goes back in the envelope's ack.

async function startSocketStack(backend: 'sqlite' | 'postgres', appToken?: string): Promise<SlackStack> {
  const emu = await startSlackEmulator();
  const announcements = emu.addChannel('incidents');
  const fb = await startTestFirebreak(backend, {
    slack: { botToken: emu.botToken, signingSecret: null, appToken: appToken ?? emu.appToken, apiUrl: emu.apiUrl, announcementsChannel: announcements.id },
  });
  const owner = await ownerClient(fb);
  return {
    emu,
    fb,
    owner,
    announcements,
    async stop() {
      await fb.destroy();
      await emu.stop();
    },
  };
}

const general = (s: SlackStack) => [...s.emu.state.channels.values()].find((c) => c.isGeneral)!;
const socketStatus = async (s: SlackStack) => (await s.owner.get('/api/v1/integrations/slack')).body.slack;

describe.each(backends)('Slack over Socket Mode (%s)', (backend) => {
  let s: SlackStack;
  beforeAll(async () => {
    s = await startSocketStack(backend);
    await s.emu.socketMode.waitForConnection({ timeoutMs: 10_000 });
  });
  afterAll(async () => s?.stop());

  it('connects with the app-level token and says so in the Slack status', async () => {
    expect(s.emu.calls('apps.connections.open')).toEqual([expect.objectContaining({ ok: true })]);
    expect(s.emu.socketMode.connections()).toHaveLength(1);
    const st = await waitFor('connected status', async () => {
      const x = await socketStatus(s);
      return x.socket_mode?.connected ? x : undefined;
    });
    expect(st).toMatchObject({ status: 'connected', transport: 'socket_mode', socket_mode: { state: 'connected', connections: 1, error: null }, signing_secret: null });
    const list = (await s.owner.get('/api/v1/integrations')).body.integrations.find((i: any) => i.kind === 'slack');
    expect(list.details).toMatchObject({ transport: 'socket_mode', socket_mode: 'connected' });
    expect(s.fb.logs.text()).toContain('Slack Socket Mode: connected');
    expect(s.fb.logs.text()).not.toContain(s.emu.appToken);
  });

  it('/incident declare opens the modal, and submitting it creates the incident and its channel with the pinned header', async () => {
    const alice = person(s.emu, 'Alice Socket');
    const { cmd, submit } = await declareFromSlack(s, alice, { name: 'Checkout over sockets', severity: 'sev-critical' });
    expect(cmd).toMatchObject({ status: 200, timedOut: false });
    expect(cmd.envelopeId).toEqual(expect.any(String));
    expect(submit).toMatchObject({ status: 200, timedOut: false });
    expect(submit.view.isOpen).toBe(false);

    const inc = ((await s.owner.get('/api/v1/incidents')).body.incidents as any[]).find((i) => i.name === 'Checkout over sockets');
    expect(inc).toMatchObject({ severity: { name: 'Critical' } });
    const { channel, header } = await incidentChannel(s, inc.number);
    expect(channel.members).toContain(alice.id);
    expect(header().text).toContain(`INC-${inc.number}: Checkout over sockets`);
    await waitFor('announcement', () => s.emu.messagesIn(s.announcements.id).find((m) => m.text.includes(`INC-${inc.number}`)));

    // Both arrived on the socket and were acked there; nothing was POSTed anywhere.
    const mine = s.emu.socketMode.envelopes().filter((e) => e.envelopeId === cmd.envelopeId || e.envelopeId === submit.envelopeId);
    expect(mine.map((e) => [e.type, e.outcome])).toEqual([
      ['slash_commands', 'acked'],
      ['interactive', 'acked'],
    ]);
    expect(s.emu.driver.lastRequest()).toBeUndefined();
  });

  it('a validation error comes back as response_action errors in the ack, and nothing is created', async () => {
    const dan = person(s.emu, 'Dan Socket');
    const before = (await s.owner.get('/api/v1/incidents?limit=100')).body.incidents.length;
    const { submit } = await declareFromSlack(s, dan, { name: 'x' });
    expect(submit.status).toBe(200);
    expect(submit.view.isOpen).toBe(true);
    expect(submit.view.errors?.name).toMatch(/at least 3 characters/);
    const env = s.emu.socketMode.envelopes().find((e) => e.envelopeId === submit.envelopeId)!;
    expect(env).toMatchObject({ type: 'interactive', acceptsResponsePayload: true, outcome: 'acked', ackPayload: { response_action: 'errors', errors: { name: expect.stringMatching(/at least 3 characters/) } } });
    expect((await s.owner.get('/api/v1/incidents?limit=100')).body.incidents.length).toBe(before);
  });

  it('a pin and a :pushpin: reaction arrive as events_api envelopes and land on the timeline', async () => {
    const pat = person(s.emu, 'Pat Pinner');
    await declareFromSlack(s, pat, { name: 'Disk full over sockets' });
    const inc = ((await s.owner.get('/api/v1/incidents')).body.incidents as any[]).find((i) => i.name === 'Disk full over sockets');
    const { channel } = await incidentChannel(s, inc.number);
    const pinned = async () => ((await s.owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items as any[]).filter((i) => i.kind === 'slack.message_pinned');

    const first = s.emu.driver.postMessageAs(pat.id, channel.id, 'logrotate was off on db-3');
    await s.emu.driver.flush();
    const pin = await s.emu.driver.pinMessage({ userId: pat.id, channelId: channel.id, ts: first.ts });
    expect(pin).toMatchObject({ status: 200, timedOut: false });
    await waitFor('pinned item', async () => (await pinned()).length === 1);

    const second = s.emu.driver.postMessageAs(pat.id, channel.id, 'Freed 40 GB');
    await s.emu.driver.flush();
    const react = await s.emu.driver.react({ userId: pat.id, channelId: channel.id, ts: second.ts, name: 'pushpin' });
    expect(react.status).toBe(200);
    await waitFor('second pinned item', async () => (await pinned()).length === 2);
    expect((await pinned()).map((i) => i.text).sort()).toEqual(['Freed 40 GB', 'logrotate was off on db-3']);
    const events = s.emu.socketMode.envelopes().filter((e) => e.envelopeId === pin.envelopeId || e.envelopeId === react.envelopeId);
    expect(events.map((e) => [e.type, e.payload.event.type, e.outcome])).toEqual([
      ['events_api', 'pin_added', 'acked'],
      ['events_api', 'reaction_added', 'acked'],
    ]);
  });

  it('reconnects after Slack asks it to (disconnect: refresh_requested), and the next command works', async () => {
    const [before] = s.emu.socketMode.connections();
    expect(s.emu.socketMode.disconnect({ reason: 'refresh_requested' })).toBe(1);
    const after = await s.emu.socketMode.waitForConnection({ except: [before!.id], timeoutMs: 10_000 });
    expect(after.id).not.toBe(before!.id);
    expect(s.emu.socketMode.connectionLog().find((c) => c.id === before!.id)).toMatchObject({ closeCode: 1000 });
    expect(s.emu.calls('apps.connections.open').filter((c) => c.ok)).toHaveLength(2);

    const carl = person(s.emu, 'Carl Again');
    const cmd = await s.emu.driver.slashCommand({ userId: carl.id, channelId: general(s).id, command: '/incident', text: '' });
    expect(cmd).toMatchObject({ status: 200, timedOut: false });
    await waitFor('modal after reconnecting', () => s.emu.openViews(carl.id).find((v) => v.callbackId === 'firebreak_declare'));
    const st = await waitFor('status after reconnecting', async () => {
      const x = await socketStatus(s);
      return x.socket_mode.connections === 2 && x.socket_mode.connected ? x : undefined;
    });
    expect(st.status).toBe('connected');
    expect(s.fb.logs.text()).toContain('Slack Socket Mode: reconnected');
  });

  it('reconnects after the connection is cut without a close handshake', async () => {
    const [before] = s.emu.socketMode.connections();
    expect(s.emu.socketMode.terminate()).toBe(1);
    await s.emu.socketMode.waitForConnection({ except: [before!.id], timeoutMs: 10_000 });
    const erin = person(s.emu, 'Erin Cut');
    expect(await s.emu.driver.slashCommand({ userId: erin.id, channelId: general(s).id, command: '/incident', text: 'help' })).toMatchObject({ status: 200, timedOut: false });
  });
});

describe.each(backends)('Socket Mode with a token Slack refuses (%s)', (backend) => {
  let s: SlackStack;
  beforeAll(async () => {
    s = await startSocketStack(backend, 'xapp-1-A0FIREBRK1-0000000003-notthetoken');
  });
  afterAll(async () => s?.stop());

  it('logs a clear error, reports not connected, keeps running and stops cleanly', async () => {
    await waitFor('refused open', () => s.emu.calls('apps.connections.open').find((c) => c.error === 'invalid_auth'));
    const st = await waitFor('error status', async () => {
      const x = await socketStatus(s);
      return x.socket_mode?.state === 'error' ? x : undefined;
    });
    expect(st).toMatchObject({ status: 'error', transport: 'socket_mode', socket_mode: { connected: false, connected_at: null } });
    expect(st.socket_mode.error).toMatch(/refused the app-level token \(invalid_auth\).*SLACK_APP_TOKEN/);
    expect(st.error).toBe(st.socket_mode.error);
    const line = s.fb.logs.lines.map((l) => JSON.parse(l)).find((l) => /Socket Mode: Slack refused the app-level token/.test(l.msg));
    expect(line).toMatchObject({ level: 50, code: 'invalid_auth' });
    expect(s.fb.logs.text()).not.toContain('notthetoken');
    // Not retried: the same answer would come back.
    await new Promise((r) => setTimeout(r, 300));
    expect(s.emu.calls('apps.connections.open')).toHaveLength(1);
    expect(s.emu.socketMode.connections()).toEqual([]);
    expect((await fetch(`${s.fb.baseUrl}/healthz`)).status).toBe(200);
  });
});

describe('Socket Mode lifecycle', () => {
  it('startFirebreak().stop() closes the socket with a close handshake and does not hang', async () => {
    const s = await startSocketStack('sqlite');
    try {
      const conn = await s.emu.socketMode.waitForConnection({ timeoutMs: 10_000 });
      const t0 = Date.now();
      await s.fb.stop();
      expect(Date.now() - t0).toBeLessThan(4000);
      await waitFor('socket closed', () => s.emu.socketMode.connections().length === 0, 3000);
      expect(s.emu.socketMode.connectionLog().find((c) => c.id === conn.id)).toMatchObject({ closeCode: 1000 });
      expect(s.fb.logs.text()).toContain('Slack Socket Mode: stopped');
    } finally {
      await s.stop();
    }
  });

  it('when Slack goes away it keeps trying (status reconnecting) and still stops at once', async () => {
    const s = await startSocketStack('sqlite');
    try {
      await s.emu.socketMode.waitForConnection({ timeoutMs: 10_000 });
      await s.emu.stop();
      const st = await waitFor('reconnecting status', async () => {
        const x = await socketStatus(s);
        return x.socket_mode.state === 'reconnecting' && x.socket_mode.error ? x : undefined;
      });
      expect(st.socket_mode).toMatchObject({ connected: false, connected_at: null, error: expect.stringMatching(/could not connect/) });
      expect(s.fb.logs.text()).toContain('Slack Socket Mode: disconnected, reconnecting');
      const t0 = Date.now();
      await s.fb.stop();
      expect(Date.now() - t0).toBeLessThan(4000);
    } finally {
      await s.fb.destroy();
    }
  });

  it('events sent while Firebreak is away wait, and are handled once it connects', async () => {
    const emu = await startSlackEmulator({ socketMode: true });
    const alice = person(emu, 'Alice Early');
    const ops = emu.addChannel('ops', { members: [alice.id] });
    const msg = emu.driver.postMessageAs(alice.id, ops.id, 'before Firebreak started');
    await emu.driver.flush();
    const cmd = await emu.driver.slashCommand({ userId: alice.id, channelId: ops.id, command: '/incident', text: 'help' });
    expect(cmd).toMatchObject({ status: 0, error: 'no_socket_connection' });
    const r = await emu.driver.react({ userId: alice.id, channelId: ops.id, ts: msg.ts, name: 'eyes' });
    expect(r.queued).toBe(true);
    const fb = await startTestFirebreak('sqlite', { slack: { botToken: emu.botToken, signingSecret: null, appToken: emu.appToken, apiUrl: emu.apiUrl, announcementsChannel: null } });
    try {
      await waitFor('queued events delivered and acked', () => emu.socketMode.queued().length === 0 && emu.socketMode.envelopes().filter((e) => e.type === 'events_api').every((e) => e.outcome === 'acked'));
      expect(emu.state.events.find((e) => e.eventId === r.eventId)!.deliveries).toEqual([expect.objectContaining({ status: 200, via: 'socket' })]);
    } finally {
      await fb.destroy();
      await emu.stop();
    }
  });
});

describe('SLACK_APP_TOKEN configuration', () => {
  it('reads the app-level token; Socket Mode needs no signing secret', () => {
    const c = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_APP_TOKEN: 'xapp-1-A1-2-def' });
    expect(c.slack).toMatchObject({ botToken: 'xoxb-1-2-abc', appToken: 'xapp-1-A1-2-def', signingSecret: null });
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_APP_TOKEN: 'xapp-1-A1-2-def', SLACK_SIGNING_SECRET: 'secret-secret' }).slack.signingSecret).toBe('secret-secret');
  });

  it('needs the bot token with the app-level token, and still both HTTP secrets without it', () => {
    expect(() => loadConfig({ SLACK_APP_TOKEN: 'xapp-1-A1-2-def' })).toThrow(/SLACK_BOT_TOKEN is required with SLACK_APP_TOKEN/);
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1-2-abc' })).toThrow(/SLACK_SIGNING_SECRET is required with SLACK_BOT_TOKEN.*set SLACK_APP_TOKEN instead/s);
  });

  it('says where a malformed app-level token comes from, without showing it', () => {
    for (const bad of ['xoxb-1-2-a-bot-token', 'not-a-token']) {
      try {
        loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_APP_TOKEN: bad });
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        const text = (err as ConfigError).problems.join('\n');
        expect(text).toContain('SLACK_APP_TOKEN=(value hidden): must be an app-level token starting with xapp-');
        expect(text).toContain('Basic Information → App-Level Tokens');
        expect(text).toContain('connections:write');
        expect(text).not.toContain(bad);
      }
    }
  });
});

describe('the Socket Mode manifest', () => {
  const read = (f: string) => readFileSync(resolve(import.meta.dirname, '../../src/integrations/slack', f), 'utf8');
  const http = read('manifest.yaml');
  const socket = read('manifest.socket-mode.yaml');
  const list = (text: string, start: RegExp) => {
    const lines = text.split('\n');
    const i = lines.findIndex((l) => start.test(l));
    const indent = lines[i]!.search(/\S/);
    const out: string[] = [];
    for (const l of lines.slice(i + 1)) {
      if (l.trim() && l.search(/\S/) <= indent) break;
      const m = /^\s*-\s+(?:command:\s+)?([^\s#]+)/.exec(l);
      if (m) out.push(m[1]!);
    }
    return out;
  };

  it('has the same commands, scopes and events as the HTTP one, Socket Mode on and no request URL', () => {
    for (const section of [/^\s+slash_commands:\s*$/, /^\s+bot:\s*$/, /^\s+bot_events:\s*$/]) {
      expect(list(socket, section)).toEqual(list(http, section));
      expect(list(socket, section).length).toBeGreaterThan(1);
    }
    expect(socket).toMatch(/^\s+socket_mode_enabled: true$/m);
    expect(http).toMatch(/^\s+socket_mode_enabled: false$/m);
    expect(socket).toMatch(/^\s+interactivity:\n\s+is_enabled: true$/m);
    expect(socket.split('\n').filter((l) => !l.trim().startsWith('#') && /url/.test(l))).toEqual([]);
  });

  it('with exactly its scopes, everything works over the socket: declare, announce, pin, DM', async () => {
    const s = await startSocketStack('sqlite');
    try {
      s.emu.setScopes(list(socket, /^\s+bot:\s*$/));
      await s.emu.socketMode.waitForConnection({ timeoutMs: 10_000 });
      const alice = person(s.emu, 'Alice Scoped');
      await declareFromSlack(s, alice, { name: 'Scoped over sockets' });
      const inc = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
      const { channel } = await incidentChannel(s, inc.number);
      await waitFor('announced', () => s.emu.messagesIn(s.announcements.id).some((m) => m.text.includes(inc.reference)));
      const msg = s.emu.driver.postMessageAs(alice.id, channel.id, 'pin me');
      await s.emu.driver.flush();
      await s.emu.driver.react({ userId: alice.id, channelId: channel.id, ts: msg.ts, name: 'pushpin' });
      await waitFor('pinned on the timeline', async () => ((await s.owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items as any[]).some((i) => i.kind === 'slack.message_pinned'));
      s.emu.faults.failNext('conversations.create', 'restricted_action');
      await declareFromSlack(s, alice, { name: 'Refused channel' });
      await waitFor('DM', () => s.emu.dmsTo(alice.id).some((m) => m.text.includes('restricted_action')));
      expect(s.emu.callLog().filter((c) => c.error === 'missing_scope')).toEqual([]);
    } finally {
      await s.stop();
    }
  });
});
