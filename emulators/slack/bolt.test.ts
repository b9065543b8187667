// A real Bolt App (HTTPReceiver, signature verification on) against the emulator: proves the emulator and
// driver interoperate with the library Firebreak is built on.
import type { AddressInfo } from 'node:net';
import { App, LogLevel } from '@slack/bolt';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startSlackEmulator, type SlackEmulator, type SlackUser } from './index.js';

let emu: SlackEmulator;
let app: App;
let alice: SlackUser;
const seen: { reactions: string[]; submissions: Record<string, unknown>[]; eventIds: string[]; retryNums: (number | undefined)[] } = {
  reactions: [],
  submissions: [],
  eventIds: [],
  retryNums: [],
};

const modal = (channelId: string) => ({
  type: 'modal' as const,
  callback_id: 'declare',
  private_metadata: channelId,
  title: { type: 'plain_text' as const, text: 'Declare incident' },
  submit: { type: 'plain_text' as const, text: 'Declare' },
  blocks: [
    { type: 'input', block_id: 'title', label: { type: 'plain_text' as const, text: 'Title' }, element: { type: 'plain_text_input', action_id: 'v' } },
    { type: 'input', block_id: 'service', label: { type: 'plain_text' as const, text: 'Service' }, element: { type: 'external_select', action_id: 'svc' } },
  ],
});

beforeAll(async () => {
  emu = await startSlackEmulator();
  app = new App({
    token: emu.botToken,
    signingSecret: emu.signingSecret,
    logLevel: LogLevel.ERROR,
    clientOptions: { slackApiUrl: emu.apiUrl, retryConfig: { retries: 0 } },
  });
  app.command('/incident', async ({ ack, body, client }) => {
    await ack();
    await client.views.open({ trigger_id: body.trigger_id, view: modal(body.channel_id) as never });
  });
  app.options<'block_suggestion'>({ action_id: 'svc' }, async ({ ack, options }) => {
    await ack({ options: [{ text: { type: 'plain_text', text: `Checkout (${options.value})` }, value: 'PSVC1' }] });
  });
  app.view('declare', async ({ ack, view, client }) => {
    const title = view.state.values.title?.v?.value ?? '';
    if (title.length < 5) {
      await ack({ response_action: 'errors', errors: { title: 'At least 5 characters' } });
      return;
    }
    await ack();
    seen.submissions.push(view.state.values);
    const svc = view.state.values.service?.svc?.selected_option?.value;
    await client.chat.postMessage({
      channel: view.private_metadata,
      text: `Incident declared: ${title} (${svc})`,
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: `*${title}*` } },
        { type: 'actions', block_id: 'acts', elements: [{ type: 'button', action_id: 'ack_incident', text: { type: 'plain_text', text: 'Acknowledge' }, value: 'inc-1' }] },
      ],
    });
  });
  app.action('ack_incident', async ({ ack, respond, body }) => {
    await ack();
    await respond({ replace_original: true, text: `Acknowledged by <@${body.user.id}>` });
  });
  app.event('reaction_added', async ({ event, body, context }) => {
    seen.reactions.push(event.reaction);
    seen.eventIds.push(body.event_id);
    seen.retryNums.push(context.retryNum);
  });
  const server = await app.start(0);
  emu.setAppUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`);
});

afterAll(async () => {
  await app.stop();
  await emu.stop();
});

beforeEach(() => {
  // Keep the bot user and #general; add a person and a channel for each test.
  alice = emu.addUser({ name: `alice${Math.floor(Math.random() * 1e6)}`, email: 'alice@example.com' });
});

describe('Bolt App over HTTPReceiver', () => {
  it('slash command → ack → views.open → external select → submit with validation → message → button → respond', async () => {
    const ch = emu.addChannel(`ops-${Date.now()}`, { members: [alice.id] });
    const cmd = await emu.driver.slashCommand({ userId: alice.id, channelId: ch.id, command: '/incident', text: '' });
    expect(cmd.status).toBe(200);
    expect(cmd.ackMs).toBeLessThan(3000);
    await vi.waitFor(() => expect(emu.openViews(alice.id)).toHaveLength(1));
    const view = emu.openViews(alice.id)[0]!;
    expect(view.callbackId).toBe('declare');
    expect(emu.state.triggers.get(cmd.triggerId)?.used).toBe(true);

    const opts = await emu.driver.optionsRequest({ userId: alice.id, viewId: view.id, blockId: 'service', actionId: 'svc', value: 'chk' });
    expect(opts.status).toBe(200);
    expect(opts.body.options[0]).toMatchObject({ value: 'PSVC1', text: { text: 'Checkout (chk)' } });

    await emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { title: { v: 'db' }, service: { svc: { value: 'PSVC1', text: 'Checkout' } } } });
    expect(emu.view(view.id)).toMatchObject({ isOpen: true, errors: { title: 'At least 5 characters' } });

    await emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { title: { v: 'Database down' } } });
    expect(emu.view(view.id)?.isOpen).toBe(false);
    await vi.waitFor(() => expect(emu.messagesIn(ch.id)).toHaveLength(1));
    expect(emu.messagesIn(ch.id)[0]?.text).toBe('Incident declared: Database down (PSVC1)');

    const click = await emu.driver.clickButton({ userId: alice.id, channelId: ch.id, actionId: 'ack_incident' });
    expect(click.status).toBe(200);
    await vi.waitFor(() => expect(emu.messagesIn(ch.id)[0]?.text).toBe(`Acknowledged by <@${alice.id}>`));
  });

  it('Bolt refuses forged and stale requests from the driver with 401', async () => {
    const ch = emu.addChannel(`sec-${Date.now()}`, { members: [alice.id] });
    const forgedBody = new URLSearchParams({ command: '/incident', text: '', user_id: alice.id, channel_id: ch.id, trigger_id: 'x' }).toString();
    const forged = await emu.driver.raw({ body: forgedBody, contentType: 'application/x-www-form-urlencoded', signature: `v0=${'a'.repeat(64)}` });
    expect(forged.status).toBe(401);
    const stale = await emu.driver.raw({ body: forgedBody, contentType: 'application/x-www-form-urlencoded', timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(stale.status).toBe(401);
    expect(emu.calls('views.open').filter((c) => c.args.trigger_id === 'x')).toHaveLength(0);
  });

  it('events reach Bolt in the Events API envelope; a redelivery carries the same event_id and the retry number', async () => {
    const ch = emu.addChannel(`ev-${Date.now()}`, { members: [alice.id] });
    const posted = await app.client.chat.postMessage({ channel: ch.id, text: 'status?' });
    const res = await emu.driver.react({ userId: alice.id, channelId: ch.id, ts: posted.ts!, name: 'eyes' });
    expect(res.status).toBe(200);
    await emu.driver.redeliverEvent(res.eventId, { retryNum: 1 });
    await vi.waitFor(() => expect(seen.eventIds).toEqual([res.eventId, res.eventId]));
    expect(seen.reactions).toEqual(['eyes', 'eyes']);
    expect(seen.retryNums).toEqual([undefined, 1]);
  });
});
