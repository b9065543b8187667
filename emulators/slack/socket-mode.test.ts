// Socket Mode in the emulator: apps.connections.open with the app-level token, single-use tickets, hello,
// envelopes for what the driver would have POSTed, acks with response payloads, disconnect and reconnection.
// Checked with a bare WebSocket (the protocol itself), with @slack/socket-mode's client, and with a real Bolt app
// in Socket Mode (the library Firebreak is built on).
import { readFileSync } from 'node:fs';
import { App, LogLevel } from '@slack/bolt';
import { SocketModeClient } from '@slack/socket-mode';
import { WebClient } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startSlackEmulator, type SlackEmulator, type SlackUser } from './index.js';

const sample = (p: string) => JSON.parse(readFileSync(`/work/shared/slack/samples/app-backend/${p}`, 'utf8'));

let emu: SlackEmulator;
let alice: SlackUser;

beforeAll(async () => {
  emu = await startSlackEmulator({ ackTimeoutMs: 600 });
});
afterAll(async () => {
  await emu.stop();
});
beforeEach(() => {
  emu.reset();
  alice = emu.addUser({ name: 'alice', realName: 'Alice Archer', email: 'alice@example.com' });
});

async function openUrl(token = emu.appToken): Promise<string> {
  const res = await fetch(`${emu.apiUrl}apps.connections.open`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' } });
  const body = (await res.json()) as { ok: boolean; url: string; error?: string };
  if (!body.ok) throw new Error(body.error);
  return body.url;
}

/** A bare WebSocket client that records every message and answers nothing unless told to. */
async function bareClient(url?: string) {
  const ws = new WebSocket(url ?? (await openUrl()));
  const messages: any[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (d) => {
    messages.push(JSON.parse(d.toString()));
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
  const next = async (pred: (m: any) => boolean, timeoutMs = 2000): Promise<any> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const m = messages.find(pred);
      if (m) return m;
      if (Date.now() > until) throw new Error('no such message');
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 50);
      });
    }
  };
  return { ws, messages, next, ack: (envelopeId: string, payload?: unknown) => ws.send(JSON.stringify({ envelope_id: envelopeId, ...(payload !== undefined ? { payload } : {}) })) };
}

const modal = {
  type: 'modal',
  callback_id: 'declare',
  title: { type: 'plain_text', text: 'Declare' },
  submit: { type: 'plain_text', text: 'Declare' },
  blocks: [{ type: 'input', block_id: 'title', label: { type: 'plain_text', text: 'Title' }, element: { type: 'plain_text_input', action_id: 'v' } }],
};

describe('apps.connections.open', () => {
  it('answers a single-use WebSocket URL for the app-level token only', async () => {
    const call = (token?: string) => new WebClient(token, { slackApiUrl: emu.apiUrl, retryConfig: { retries: 0 } }).apiCall('apps.connections.open').catch((e) => e.data);
    const ok = await call(emu.appToken);
    expect(ok.ok).toBe(true);
    expect(ok.url).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1:${new URL(emu.url).port}/link/\\?ticket=[0-9a-f-]{36}&app_id=${emu.appId}$`));
    expect(await call(emu.botToken)).toMatchObject({ ok: false, error: 'not_allowed_token_type' });
    expect(await call('xapp-1-A0FIREBRK1-0-wrong')).toMatchObject({ ok: false, error: 'invalid_auth' });
    expect(await call(undefined)).toMatchObject({ ok: false, error: 'not_authed' });
    // The app-level token opens connections and nothing else.
    const post = await new WebClient(emu.appToken, { slackApiUrl: emu.apiUrl, retryConfig: { retries: 0 } }).chat.postMessage({ channel: 'general', text: 'x' }).catch((e) => e.data);
    expect(post).toMatchObject({ ok: false, error: 'not_allowed_token_type' });
    expect(emu.calls('apps.connections.open').map((c) => c.error ?? 'ok')).toEqual(['ok', 'not_allowed_token_type', 'invalid_auth', 'not_authed']);
  });

  it('greets a connection with hello; a reused or unknown ticket is refused', async () => {
    const url = await openUrl();
    const c = await bareClient(url);
    const hello = await c.next((m) => m.type === 'hello');
    expect(hello).toEqual({ type: 'hello', num_connections: 1, debug_info: expect.objectContaining({ host: expect.any(String) }), connection_info: { app_id: emu.appId } });
    expect(emu.socketMode.enabled).toBe(true);
    expect(emu.socketMode.connections()).toHaveLength(1);
    await expect(bareClient(url)).rejects.toThrow('refused: 401');
    await expect(bareClient(url.replace(/ticket=[^&]+/, 'ticket=00000000-0000-0000-0000-000000000000'))).rejects.toThrow('refused: 401');
    const second = await bareClient();
    expect((await second.next((m) => m.type === 'hello')).num_connections).toBe(2);
    c.ws.close();
    second.ws.close();
  });
});

describe('envelopes instead of HTTP requests', () => {
  it('sends a slash command as slash_commands with the form fields, and shows the ack payload', async () => {
    const c = await bareClient();
    const ch = emu.addChannel('ops', { members: [alice.id] });
    const pending = emu.driver.slashCommand({ userId: alice.id, channelId: ch.id, command: '/incident', text: 'help' });
    const env = await c.next((m) => m.type === 'slash_commands');
    expect(Object.keys(env).sort()).toEqual(['accepts_response_payload', 'envelope_id', 'payload', 'type']);
    expect(env.accepts_response_payload).toBe(true);
    const documented = sample('slash-commands/SlashCommandPayload.json');
    expect(Object.keys(env.payload).filter((k) => !(k in documented))).toEqual([]);
    expect(env.payload).toMatchObject({ command: '/incident', text: 'help', user_id: alice.id, channel_id: ch.id, channel_name: 'ops', team_id: emu.teamId, is_enterprise_install: 'false' });
    c.ack(env.envelope_id, { text: 'Here is some help' });
    const res = await pending;
    expect(res).toMatchObject({ status: 200, body: { text: 'Here is some help' }, timedOut: false, envelopeId: env.envelope_id });
    expect(res.triggerId).toBe(env.payload.trigger_id);
    expect(emu.ephemeralsFor(alice.id).map((e) => e.text)).toEqual(['Here is some help']);
    expect(emu.socketMode.envelopes()[0]).toMatchObject({ type: 'slash_commands', outcome: 'acked', ackPayload: { text: 'Here is some help' } });
    // An ack with an empty payload (what the SDK sends for ack()) is an empty answer, like an empty HTTP 200.
    const again = emu.driver.slashCommand({ userId: alice.id, channelId: ch.id, command: '/incident', text: '' });
    const env2 = await c.next((m) => m.type === 'slash_commands' && m.envelope_id !== env.envelope_id);
    c.ack(env2.envelope_id, {});
    expect(await again).toMatchObject({ status: 200, body: undefined });
    c.ws.close();
  });

  it('applies response_action errors from a view_submission ack; block_actions do not accept a response payload', async () => {
    const c = await bareClient();
    const view = emu.state.views.get((await new WebClient(emu.botToken, { slackApiUrl: emu.apiUrl }).views.open({ trigger_id: emu.issueTriggerId(alice.id), view: modal as never })).view!.id!)!;
    const pending = emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { title: { v: 'x' } } });
    const env = await c.next((m) => m.type === 'interactive');
    expect(env).toMatchObject({ type: 'interactive', accepts_response_payload: true, payload: { type: 'view_submission', view: { id: view.id, state: { values: { title: { v: { type: 'plain_text_input', value: 'x' } } } } } } });
    expect(env).not.toHaveProperty('retry_attempt');
    c.ack(env.envelope_id, { response_action: 'errors', errors: { title: 'Too short' } });
    const res = await pending;
    expect(res.status).toBe(200);
    expect(emu.view(view.id)).toMatchObject({ isOpen: true, errors: { title: 'Too short' } });

    const ops = emu.addChannel('ops', { members: [alice.id] });
    const msg = await new WebClient(emu.botToken, { slackApiUrl: emu.apiUrl }).chat.postMessage({
      channel: ops.id,
      text: 'b',
      blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: 'go', text: { type: 'plain_text', text: 'Go' } }] }],
    });
    const click = emu.driver.clickButton({ userId: alice.id, channelId: msg.channel!, actionId: 'go' });
    const env2 = await c.next((m) => m.type === 'interactive' && m.payload.type === 'block_actions');
    expect(env2.accepts_response_payload).toBe(false);
    c.ack(env2.envelope_id);
    expect(await click).toMatchObject({ status: 200, timedOut: false });
    c.ws.close();
  });

  it('sends events as events_api with retry_attempt; an unacked envelope times out like an HTTP request', async () => {
    const c = await bareClient();
    const ch = emu.addChannel('ops', { members: [alice.id] });
    const m = emu.driver.postMessageAs(alice.id, ch.id, 'hello');
    c.ack((await c.next((x) => x.type === 'events_api' && x.payload.event.type === 'message')).envelope_id);
    await emu.driver.flush();
    emu.driver.eventRetryDelaysMs = [0];
    const pending = emu.driver.react({ userId: alice.id, channelId: ch.id, ts: m.ts, name: 'pushpin' });
    const first = await c.next((x) => x.type === 'events_api' && x.payload.event.type === 'reaction_added');
    expect(first).toMatchObject({ accepts_response_payload: false, retry_attempt: 0, retry_reason: '', payload: { type: 'event_callback', api_app_id: emu.appId, event: { type: 'reaction_added', reaction: 'pushpin', item: { channel: ch.id, ts: m.ts } } } });
    // not acked: after the ack timeout the same event comes again in a new envelope
    const retry = await c.next((x) => x.type === 'events_api' && x.payload.event.type === 'reaction_added' && x.retry_attempt === 1);
    expect(retry.envelope_id).not.toBe(first.envelope_id);
    expect(retry.payload.event_id).toBe(first.payload.event_id);
    expect(retry.retry_reason).toBe('timeout');
    c.ack(retry.envelope_id);
    const res = await pending;
    expect(res).toMatchObject({ status: 0, timedOut: true, error: 'operation_timeout' });
    expect(res.ackMs).toBeGreaterThanOrEqual(590);
    expect(res.retries).toEqual([expect.objectContaining({ status: 200, timedOut: false })]);
    expect(emu.state.events.find((e) => e.eventId === res.eventId)!.deliveries.map((d) => [d.status, d.retryNum, d.via])).toEqual([
      [0, undefined, 'socket'],
      [200, 1, 'socket'],
    ]);
    c.ws.close();
  });

  it('with nobody connected: a slash command fails at once, events wait for the next connection', async () => {
    emu.socketMode.enable();
    const ch = emu.addChannel('ops', { members: [alice.id] });
    const cmd = await emu.driver.slashCommand({ userId: alice.id, channelId: ch.id, command: '/incident', text: '' });
    expect(cmd).toMatchObject({ status: 0, timedOut: false, error: 'no_socket_connection' });
    const m = emu.driver.postMessageAs(alice.id, ch.id, 'hi');
    await emu.driver.flush();
    const ev = await emu.driver.react({ userId: alice.id, channelId: ch.id, ts: m.ts, name: 'eyes' });
    expect(ev).toMatchObject({ status: 0, queued: true });
    expect(emu.socketMode.queued().map((e) => e.payload.event.type)).toEqual(['message', 'reaction_added']);
    const c = await bareClient();
    const got = await c.next((x) => x.type === 'events_api' && x.payload.event.type === 'reaction_added');
    c.ack(got.envelope_id);
    const msgEnv = await c.next((x) => x.type === 'events_api' && x.payload.event.type === 'message');
    c.ack(msgEnv.envelope_id);
    expect(c.messages.filter((x) => x.type === 'events_api').map((x) => x.payload.event.type)).toEqual(['message', 'reaction_added']);
    const until = Date.now() + 2000;
    while (emu.state.events.find((e) => e.eventId === ev.eventId)!.deliveries.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(emu.state.events.find((e) => e.eventId === ev.eventId)!.deliveries).toEqual([expect.objectContaining({ status: 200, via: 'socket' })]);
    expect(emu.socketMode.queued()).toEqual([]);
    c.ws.close();
  });

  it('keeps HTTP delivery until Socket Mode is enabled', async () => {
    expect(emu.socketMode.enabled).toBe(false);
    const ch = emu.addChannel('ops', { members: [alice.id] });
    // No app URL and no socket: nothing can reach the app, as before.
    await expect(emu.driver.slashCommand({ userId: alice.id, channelId: ch.id, command: '/incident', text: '' })).rejects.toThrow(/no app URL/);
    expect(emu.socketMode.envelopes()).toEqual([]);
  });
});

describe('@slack/socket-mode against the emulator', () => {
  let client: SocketModeClient | undefined;
  afterEach(async () => {
    await client?.disconnect();
    client = undefined;
  });

  it('connects, acks through the SDK, and reconnects after a disconnect request', async () => {
    client = new SocketModeClient({ appToken: emu.appToken, clientPingTimeout: 300, logLevel: 'error' as never, clientOptions: { slackApiUrl: emu.apiUrl } });
    client.on('slash_commands', async ({ ack, body }) => {
      await ack({ text: `got ${body.text}` });
    });
    await client.start();
    const [first] = emu.socketMode.connections();
    const ch = emu.addChannel('ops', { members: [alice.id] });
    expect(await emu.driver.slashCommand({ userId: alice.id, channelId: ch.id, command: '/incident', text: 'one' })).toMatchObject({ status: 200, body: { text: 'got one' } });

    expect(emu.socketMode.disconnect({ reason: 'refresh_requested' })).toBe(1);
    const second = await emu.socketMode.waitForConnection({ except: [first!.id], timeoutMs: 5000 });
    expect(second.id).not.toBe(first!.id);
    const log = emu.socketMode.connectionLog();
    expect(log.find((c) => c.id === first!.id)).toMatchObject({ closeCode: 1000 });
    expect(await emu.driver.slashCommand({ userId: alice.id, channelId: ch.id, command: '/incident', text: 'two' })).toMatchObject({ status: 200, body: { text: 'got two' } });
    expect(emu.calls('apps.connections.open')).toHaveLength(2);
  });
});

describe('a Bolt app in Socket Mode', () => {
  let app: App | undefined;
  afterEach(async () => {
    await app?.stop();
    app = undefined;
    // Bolt's stop() does not wait for the close handshake.
    const until = Date.now() + 3000;
    while (emu.socketMode.connections().length && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  });

  it('handles a command, opens a modal, and answers a submission with errors through the ack', async () => {
    app = new App({ token: emu.botToken, appToken: emu.appToken, socketMode: true, logLevel: LogLevel.ERROR, clientOptions: { slackApiUrl: emu.apiUrl, retryConfig: { retries: 0 } } });
    app.command('/incident', async ({ ack, body, client }) => {
      await ack();
      await client.views.open({ trigger_id: body.trigger_id, view: modal as never });
    });
    app.view('declare', async ({ ack, view }) => {
      if ((view.state.values.title?.v?.value ?? '').length < 5) return void (await ack({ response_action: 'errors', errors: { title: 'At least 5 characters' } }));
      await ack();
    });
    await app.start();
    const ch = emu.addChannel('ops', { members: [alice.id] });
    const cmd = await emu.driver.slashCommand({ userId: alice.id, channelId: ch.id, command: '/incident', text: '' });
    expect(cmd).toMatchObject({ status: 200, timedOut: false });
    const until = Date.now() + 3000;
    while (!emu.openViews(alice.id).length && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const [view] = emu.openViews(alice.id);
    expect(view?.callbackId).toBe('declare');
    await emu.driver.submitView({ userId: alice.id, viewId: view!.id, values: { title: { v: 'db' } } });
    expect(emu.view(view!.id)).toMatchObject({ isOpen: true, errors: { title: 'At least 5 characters' } });
    await emu.driver.submitView({ userId: alice.id, viewId: view!.id, values: { title: { v: 'database down' } } });
    expect(emu.view(view!.id)).toMatchObject({ isOpen: false, closedBy: 'submit' });
    expect(emu.socketMode.envelopes().map((e) => [e.type, e.outcome])).toEqual([
      ['slash_commands', 'acked'],
      ['interactive', 'acked'],
      ['interactive', 'acked'],
    ]);
  });
});
