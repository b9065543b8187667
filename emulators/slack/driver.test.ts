// Drives the driver against a receiver that verifies signatures on its own, and compares what arrives with the
// shapes Slack documents (the samples in /work/shared/slack/samples/app-backend, read at test time).
import { readFileSync } from 'node:fs';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SlackDriverError, startSlackEmulator, type SlackEmulator, type SlackUser } from './index.js';
import { shapeProblems } from './shape.js';
import { TestReceiver } from './test-receiver.js';

const SAMPLES = '/work/shared/slack/samples/app-backend';
const sample = (p: string) => JSON.parse(readFileSync(`${SAMPLES}/${p}`, 'utf8'));

let emu: SlackEmulator;
let rx: TestReceiver;
let client: WebClient;
let alice: SlackUser;
let bob: SlackUser;

beforeAll(async () => {
  emu = await startSlackEmulator({ signingSecret: 'test-secret-for-driver' });
  rx = await new TestReceiver('test-secret-for-driver').start();
  emu.setAppUrl(rx.url);
});
afterAll(async () => {
  await emu.stop();
  await rx.stop();
});
beforeEach(() => {
  emu.reset();
  rx.requests.length = 0;
  rx.handler = () => ({});
  client = new WebClient(emu.botToken, { slackApiUrl: emu.apiUrl, retryConfig: { retries: 0 } });
  alice = emu.addUser({ name: 'alice', realName: 'Alice Archer', email: 'alice@example.com' });
  bob = emu.addUser({ name: 'bob', email: 'bob@example.com' });
});

const declareModal = (extra: Record<string, unknown> = {}) => ({
  type: 'modal',
  callback_id: 'declare_incident',
  private_metadata: JSON.stringify({ channel: 'C1' }),
  title: { type: 'plain_text', text: 'Declare incident' },
  submit: { type: 'plain_text', text: 'Declare' },
  close: { type: 'plain_text', text: 'Cancel' },
  notify_on_close: true,
  blocks: [
    { type: 'input', block_id: 'title', label: { type: 'plain_text', text: 'Title' }, element: { type: 'plain_text_input', action_id: 'value', max_length: 50 } },
    {
      type: 'input',
      block_id: 'severity',
      label: { type: 'plain_text', text: 'Severity' },
      element: {
        type: 'static_select',
        action_id: 'value',
        options: [
          { text: { type: 'plain_text', text: 'SEV1' }, value: 'sev1' },
          { text: { type: 'plain_text', text: 'SEV2' }, value: 'sev2' },
        ],
      },
    },
    { type: 'input', block_id: 'service', label: { type: 'plain_text', text: 'Service' }, element: { type: 'external_select', action_id: 'pick', min_query_length: 2 } },
    { type: 'input', block_id: 'policies', optional: true, label: { type: 'plain_text', text: 'Policies' }, element: { type: 'multi_external_select', action_id: 'pick' } },
    {
      type: 'input',
      block_id: 'areas',
      optional: true,
      label: { type: 'plain_text', text: 'Areas' },
      element: { type: 'multi_static_select', action_id: 'v', options: ['api', 'db', 'web'].map((v) => ({ text: { type: 'plain_text', text: v.toUpperCase() }, value: v })) },
    },
    { type: 'input', block_id: 'ic', label: { type: 'plain_text', text: 'Commander' }, element: { type: 'users_select', action_id: 'user' } },
    { type: 'input', block_id: 'responders', optional: true, label: { type: 'plain_text', text: 'Responders' }, element: { type: 'multi_users_select', action_id: 'users' } },
    {
      type: 'input',
      block_id: 'flags',
      optional: true,
      label: { type: 'plain_text', text: 'Flags' },
      element: { type: 'checkboxes', action_id: 'f', options: [{ text: { type: 'mrkdwn', text: '*Page* on-call' }, value: 'page' }, { text: { type: 'plain_text', text: 'Public' }, value: 'public' }] },
    },
    {
      type: 'input',
      block_id: 'status',
      label: { type: 'plain_text', text: 'Status' },
      element: {
        type: 'radio_buttons',
        action_id: 'r',
        initial_option: { text: { type: 'plain_text', text: 'Investigating' }, value: 'investigating' },
        options: [{ text: { type: 'plain_text', text: 'Investigating' }, value: 'investigating' }, { text: { type: 'plain_text', text: 'Identified' }, value: 'identified' }],
      },
    },
    { type: 'input', block_id: 'notes', optional: true, label: { type: 'plain_text', text: 'Notes' }, element: { type: 'plain_text_input', action_id: 'v', multiline: true } },
  ],
  ...extra,
});

/** Opens the declare modal via a real slash command → views.open round trip. */
async function openDeclareModal(extra: Record<string, unknown> = {}) {
  const ch = emu.addChannel('ops', { members: [alice.id] });
  rx.handler = async (r) => {
    if (r.form?.command === '/incident') await client.views.open({ trigger_id: r.form.trigger_id!, view: declareModal(extra) as never });
    return {};
  };
  const res = await emu.driver.slashCommand({ userId: alice.id, channelId: ch.id, command: '/incident', text: 'declare' });
  expect(res.status).toBe(200);
  const [view] = emu.openViews(alice.id);
  expect(view).toBeDefined();
  return { ch, view: view! };
}

describe('slash commands', () => {
  it('sends Slack\'s form fields, signed, with a fresh trigger id and a working response_url', async () => {
    const ch = emu.addChannel('ops', { members: [alice.id] });
    const res = await emu.driver.slashCommand({ userId: alice.id, channelId: ch.id, command: '/incident', text: 'declare db is down & slow' });
    expect(res.status).toBe(200);
    expect(res.timedOut).toBe(false);
    const r = rx.last();
    expect(r.verdict).toBe('ok');
    expect(r.contentType).toBe('application/x-www-form-urlencoded');
    expect(r.headers['user-agent']).toMatch(/^Slackbot/);
    const documented = sample('slash-commands/SlashCommandPayload.json');
    const sent = Object.keys(r.form!);
    expect(sent.filter((k) => !(k in documented))).toEqual([]);
    // enterprise_* are only sent for Enterprise Grid installs
    expect(Object.keys(documented).filter((k) => !sent.includes(k))).toEqual(['enterprise_id', 'enterprise_name']);
    expect(r.form).toMatchObject({
      team_id: emu.teamId,
      channel_id: ch.id,
      channel_name: 'ops',
      user_id: alice.id,
      user_name: 'alice',
      command: '/incident',
      text: 'declare db is down & slow',
      api_app_id: emu.appId,
      is_enterprise_install: 'false',
      trigger_id: res.triggerId,
      response_url: res.responseUrl,
    });
    expect(res.triggerId).toMatch(/^\d+\.\d+\.[0-9a-f]{32}$/);
    expect(r.raw).toContain('command=%2Fincident');
    expect(r.raw).toContain('text=declare+db+is+down+%26+slow');

    // response_url: ephemeral by default, in_channel on request, at most 5 uses
    const post = (body: unknown) => fetch(res.responseUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post({ text: 'working on it' })).status).toBe(200);
    expect(emu.ephemeralsFor(alice.id).map((e) => e.text)).toEqual(['working on it']);
    expect((await post({ response_type: 'in_channel', text: 'Incident declared', blocks: [{ type: 'divider' }] })).status).toBe(200);
    expect(emu.messagesIn(ch.id).map((m) => [m.text, m.source, m.user])).toEqual([['Incident declared', 'response_url', emu.botUserId]]);
    for (let i = 0; i < 3; i++) expect((await post({ text: `n${i}` })).status).toBe(200);
    const sixth = await post({ text: 'too many' });
    expect(sixth.status).toBe(404);
    expect(await sixth.text()).toBe('used_url');
  });

  it('an ack with a body is shown to the person (ephemeral) or the channel (in_channel)', async () => {
    const ch = emu.addChannel('ops', { members: [alice.id] });
    rx.handler = (r) => ({ body: r.form?.text === 'help' ? { text: 'Usage: /incident declare' } : { response_type: 'in_channel', text: 'Declared!' } });
    await emu.driver.slashCommand({ userId: alice.id, channelId: ch.id, command: '/incident', text: 'help' });
    expect(emu.ephemeralsFor(alice.id).map((e) => [e.text, e.source])).toEqual([['Usage: /incident declare', 'slash_command_ack']]);
    await emu.driver.slashCommand({ userId: alice.id, channelId: ch.id, command: '/incident', text: 'declare' });
    expect(emu.messagesIn(ch.id).map((m) => m.text)).toEqual(['Declared!']);
  });

  it('reports an ack slower than 3 s as a timeout, like Slack', async () => {
    const ch = emu.addChannel('ops', { members: [alice.id] });
    rx.handler = () => ({ delayMs: 3300 });
    const res = await emu.driver.slashCommand({ userId: alice.id, channelId: ch.id, command: '/incident', text: '' });
    expect(res.timedOut).toBe(true);
    expect(res.status).toBe(0);
    expect(res.ackMs).toBeGreaterThanOrEqual(2990);
  });

  it('a person cannot type in an archived channel or as a bot', async () => {
    const ch = emu.addChannel('gone', { archived: true, members: [alice.id] });
    await expect(emu.driver.slashCommand({ userId: alice.id, channelId: ch.id, command: '/incident', text: '' })).rejects.toThrow(SlackDriverError);
    await expect(emu.driver.slashCommand({ userId: emu.botUserId, channelId: ch.id, command: '/incident', text: '' })).rejects.toThrow(/bot/);
  });
});

describe('signatures, staleness and replays', () => {
  it('the receiver accepts the driver\'s signature and refuses forged, stale and replayed requests', async () => {
    const ch = emu.addChannel('ops', { members: [alice.id] });
    await emu.driver.slashCommand({ userId: alice.id, channelId: ch.id, command: '/incident', text: 'x' });
    const last = emu.driver.lastRequest()!;
    expect(rx.last().raw).toBe(last.body);
    expect(rx.last().verdict).toBe('ok');

    const replay = await emu.driver.replayLast();
    expect(replay.status).toBe(401);
    expect(rx.last().verdict).toBe('replay');
    expect(rx.last().raw).toBe(last.body);
    expect(rx.last().headers['x-slack-signature']).toBe(last.headers['x-slack-signature']);

    const forged = await emu.driver.raw({ body: last.body, contentType: 'application/x-www-form-urlencoded', signature: `v0=${'0'.repeat(64)}` });
    expect(forged.status).toBe(401);
    expect(rx.last().verdict).toBe('bad_signature');

    const stale = await emu.driver.raw({ body: 'command=%2Fincident', contentType: 'application/x-www-form-urlencoded', timestamp: Math.floor(Date.now() / 1000) - 600 });
    expect(stale.status).toBe(401);
    expect(rx.last().verdict).toBe('stale');

    const fresh = await emu.driver.raw({ body: 'command=%2Fincident&text=ok', contentType: 'application/x-www-form-urlencoded' });
    expect(fresh.status).toBe(200);
    expect(rx.last().verdict).toBe('ok');
  });
});

describe('buttons', () => {
  it('clicking a button in a message sends block_actions with Slack\'s shape and a response_url that can replace the message', async () => {
    const ch = emu.addChannel('inc-1', { members: [alice.id] });
    const posted = await client.chat.postMessage({
      channel: ch.id,
      text: 'SEV1 declared',
      blocks: [
        { type: 'section', block_id: 'summary', text: { type: 'mrkdwn', text: 'SEV1' } },
        {
          type: 'actions',
          block_id: 'incident_actions',
          elements: [
            { type: 'button', action_id: 'ack', text: { type: 'plain_text', text: 'Acknowledge' }, value: 'inc-1', style: 'primary' },
            { type: 'button', action_id: 'resolve', text: { type: 'plain_text', text: 'Resolve' }, value: 'inc-1' },
          ],
        },
      ],
    });
    const res = await emu.driver.clickButton({ userId: alice.id, channelId: ch.id, actionId: 'ack' });
    expect(res.status).toBe(200);
    const p = rx.last().payload;
    expect(rx.last().verdict).toBe('ok');
    expect(shapeProblems(sample('interactive-components/BlockActionPayload.json'), p)).toEqual([]);
    expect(p).toMatchObject({
      type: 'block_actions',
      user: { id: alice.id, username: 'alice', team_id: emu.teamId },
      team: { id: emu.teamId },
      api_app_id: emu.appId,
      container: { type: 'message', message_ts: posted.ts, channel_id: ch.id, is_ephemeral: false },
      channel: { id: ch.id, name: 'inc-1' },
      message: { ts: posted.ts, text: 'SEV1 declared', bot_id: emu.botId },
      trigger_id: res.triggerId,
      response_url: res.responseUrl,
      actions: [{ action_id: 'ack', block_id: 'incident_actions', value: 'inc-1', type: 'button', style: 'primary', text: { type: 'plain_text', text: 'Acknowledge' } }],
    });
    expect(p.actions[0].action_ts).toMatch(/^\d+\.\d{6}$/);

    await fetch(res.responseUrl!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ replace_original: true, text: 'Acknowledged by alice' }) });
    expect(emu.messagesIn(ch.id).map((m) => [m.ts, m.text, m.blocks])).toEqual([[posted.ts, 'Acknowledged by alice', undefined]]);
  });

  it('a person can only click buttons that exist', async () => {
    const ch = emu.addChannel('inc-2', { members: [alice.id] });
    await client.chat.postMessage({ channel: ch.id, text: 'plain' });
    await expect(emu.driver.clickButton({ userId: alice.id, channelId: ch.id, actionId: 'ack' })).rejects.toThrow(/no button ack/);
    expect(rx.requests).toHaveLength(0);
  });

  it('picking in a select menu of a message sends block_actions with the selection and the state', async () => {
    const ch = emu.addChannel('inc-9', { members: [alice.id, bob.id] });
    await client.chat.postMessage({
      channel: ch.id,
      text: 'Assign',
      blocks: [
        {
          type: 'actions',
          block_id: 'assign',
          elements: [
            { type: 'users_select', action_id: 'ic', placeholder: { type: 'plain_text', text: 'Commander' } },
            { type: 'static_select', action_id: 'sev', options: [{ text: { type: 'plain_text', text: 'SEV1' }, value: 'sev1' }] },
            { type: 'overflow', action_id: 'more', options: [{ text: { type: 'plain_text', text: 'Resolve' }, value: 'resolve' }] },
          ],
        },
      ],
    });
    await emu.driver.selectOption({ userId: alice.id, channelId: ch.id, actionId: 'ic', value: bob.id });
    let p = rx.last().payload;
    expect(shapeProblems(sample('interactive-components/BlockActionPayload.json'), p, ['state.values'])).toEqual([]);
    expect(p.actions).toEqual([{ type: 'users_select', action_id: 'ic', block_id: 'assign', selected_user: bob.id, placeholder: { type: 'plain_text', text: 'Commander' }, action_ts: expect.stringMatching(/^\d+\.\d{6}$/) }]);
    expect(p.state.values).toEqual({ assign: { ic: { type: 'users_select', selected_user: bob.id } } });
    await emu.driver.selectOption({ userId: alice.id, channelId: ch.id, actionId: 'sev', value: 'sev1' });
    expect(rx.last().payload.actions[0]).toMatchObject({ type: 'static_select', selected_option: { value: 'sev1', text: { text: 'SEV1' } } });
    await emu.driver.selectOption({ userId: alice.id, channelId: ch.id, actionId: 'more', value: 'resolve' });
    expect(rx.last().payload.actions[0]).toMatchObject({ type: 'overflow', selected_option: { value: 'resolve' } });
    await expect(emu.driver.selectOption({ userId: alice.id, channelId: ch.id, actionId: 'sev', value: 'sev7' })).rejects.toThrow(SlackDriverError);
  });

  it('response_url can delete an ephemeral message the button was in', async () => {
    const ch = emu.addChannel('inc-10', { members: [alice.id] });
    await client.chat.postEphemeral({
      channel: ch.id,
      user: alice.id,
      text: 'Confirm?',
      blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: 'yes', text: { type: 'plain_text', text: 'Yes' } }] }],
    });
    const res = await emu.driver.clickButton({ userId: alice.id, channelId: ch.id, actionId: 'yes' });
    const p = rx.last().payload;
    expect(p.container).toMatchObject({ is_ephemeral: true, channel_id: ch.id });
    expect(p.message).toBeUndefined();
    expect(p.actions[0]).toMatchObject({ action_id: 'yes', block_id: expect.stringMatching(/^\w+$/) }); // generated by Slack
    // Another person does not see alice's ephemeral button.
    await expect(emu.driver.clickButton({ userId: bob.id, channelId: ch.id, actionId: 'yes' })).rejects.toThrow(SlackDriverError);
    const del = await fetch(res.responseUrl!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ delete_original: true }) });
    expect(del.status).toBe(200);
    expect(emu.ephemeralsFor(alice.id)).toEqual([]);
    expect(emu.ephemeralsFor(alice.id, { all: true })[0]?.deleted).toBe(true);
  });

  it('buttons inside a modal send a view container and a trigger that can push a view', async () => {
    const ch = emu.addChannel('ops', { members: [alice.id] });
    rx.handler = async (r) => {
      if (r.form) {
        await client.views.open({
          trigger_id: r.form.trigger_id!,
          view: { type: 'modal', callback_id: 'm', title: { type: 'plain_text', text: 'Pick' }, blocks: [{ type: 'actions', block_id: 'a', elements: [{ type: 'button', action_id: 'more', text: { type: 'plain_text', text: 'More' } }] }] },
        });
      } else if (r.payload?.type === 'block_actions') {
        await client.views.push({ trigger_id: r.payload.trigger_id, view: { type: 'modal', callback_id: 'm2', title: { type: 'plain_text', text: 'More' }, blocks: [] } });
      }
      return {};
    };
    await emu.driver.slashCommand({ userId: alice.id, channelId: ch.id, command: '/incident', text: '' });
    const [view] = emu.openViews(alice.id);
    await emu.driver.clickButton({ userId: alice.id, viewId: view!.id, actionId: 'more' });
    const p = rx.last().payload;
    expect(p.container).toEqual({ type: 'view', view_id: view!.id });
    expect(p.view).toMatchObject({ id: view!.id, callback_id: 'm' });
    expect(shapeProblems(sample('interactive-components/BlockActionPayload.json'), p)).toEqual([]);
    expect(emu.openViews(alice.id).map((v) => v.callbackId)).toEqual(['m', 'm2']);
  });
});

describe('shortcuts', () => {
  it('a message shortcut sends message_action with Slack\'s shape; a global shortcut sends shortcut', async () => {
    const ch = emu.addChannel('chatter', { members: [alice.id] });
    const m = emu.driver.postMessageAs(alice.id, ch.id, 'checkout is throwing 500s');
    await emu.driver.flush();
    const res = await emu.driver.messageShortcut({ userId: alice.id, channelId: ch.id, messageTs: m.ts, callbackId: 'declare_from_message' });
    expect(res.status).toBe(200);
    const p = rx.last().payload;
    expect(shapeProblems(sample('interactive-components/MessageShortcutPayload.json'), p)).toEqual([]);
    expect(p).toMatchObject({
      type: 'message_action',
      callback_id: 'declare_from_message',
      trigger_id: res.triggerId,
      response_url: res.responseUrl,
      message_ts: m.ts,
      channel: { id: ch.id, name: 'chatter' },
      user: { id: alice.id, name: 'alice' },
      message: { ts: m.ts, text: 'checkout is throwing 500s', user: alice.id },
    });
    const g = await emu.driver.globalShortcut({ userId: alice.id, callbackId: 'declare' });
    expect(rx.last().payload).toMatchObject({ type: 'shortcut', callback_id: 'declare', trigger_id: g.triggerId, user: { id: alice.id } });
  });
});

describe('modals', () => {
  it('submitting sends view_submission with state.values in Slack\'s exact shape', async () => {
    const { view } = await openDeclareModal();
    const res = await emu.driver.submitView({
      userId: alice.id,
      viewId: view.id,
      values: {
        title: { value: 'DB down' },
        severity: { value: 'sev1' },
        service: { pick: { value: 'PSVC1', text: 'Checkout API' } },
        policies: { pick: ['PEP1', { value: 'PEP2', text: 'DB on-call' }] },
        areas: { v: ['db', 'api'] },
        ic: { user: alice.id },
        responders: { users: [alice.id, bob.id] },
        flags: { f: ['page'] },
      },
    });
    expect(res.status).toBe(200);
    const p = rx.last().payload;
    expect(rx.last().verdict).toBe('ok');
    expect(shapeProblems(sample('views/ViewSubmissionPayload.json'), p, ['response_urls', 'view.state.values'])).toEqual([]);
    expect(p).toMatchObject({
      type: 'view_submission',
      team: { id: emu.teamId },
      user: { id: alice.id },
      api_app_id: emu.appId,
      trigger_id: res.triggerId,
      response_urls: [],
      view: { id: view.id, type: 'modal', callback_id: 'declare_incident', private_metadata: '{"channel":"C1"}', hash: view.hash, root_view_id: view.id },
    });
    const opt = (text: string, value: string) => ({ text: { type: 'plain_text', text }, value });
    const ext = (text: string, value: string) => ({ text: { type: 'plain_text', text, emoji: true }, value });
    expect(p.view.state.values).toEqual({
      title: { value: { type: 'plain_text_input', value: 'DB down' } },
      severity: { value: { type: 'static_select', selected_option: opt('SEV1', 'sev1') } },
      service: { pick: { type: 'external_select', selected_option: ext('Checkout API', 'PSVC1') } },
      policies: { pick: { type: 'multi_external_select', selected_options: [ext('PEP1', 'PEP1'), ext('DB on-call', 'PEP2')] } },
      areas: { v: { type: 'multi_static_select', selected_options: [opt('DB', 'db'), opt('API', 'api')] } },
      ic: { user: { type: 'users_select', selected_user: alice.id } },
      responders: { users: { type: 'multi_users_select', selected_users: [alice.id, bob.id] } },
      flags: { f: { type: 'checkboxes', selected_options: [{ text: { type: 'mrkdwn', text: '*Page* on-call' }, value: 'page' }] } },
      status: { r: { type: 'radio_buttons', selected_option: opt('Investigating', 'investigating') } },
      notes: { v: { type: 'plain_text_input', value: null } },
    });
    // No response_action: the modal closes.
    expect(emu.openViews(alice.id)).toEqual([]);
    expect(emu.view(view.id)).toMatchObject({ isOpen: false, closedBy: 'submit' });
  });

  it('a conversations_select with response_url_enabled gets a response_url for the picked channel', async () => {
    const target = emu.addChannel('announce', { members: [alice.id] });
    const { view } = await openDeclareModal({
      blocks: [
        { type: 'input', block_id: 'where', label: { type: 'plain_text', text: 'Post to' }, element: { type: 'conversations_select', action_id: 'ch', response_url_enabled: true } },
      ],
    });
    await emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { where: { ch: target.id } } });
    const p = rx.last().payload;
    expect(p.view.state.values).toEqual({ where: { ch: { type: 'conversations_select', selected_conversation: target.id } } });
    expect(p.response_urls).toEqual([{ block_id: 'where', action_id: 'ch', channel_id: target.id, response_url: expect.stringContaining(emu.url) }]);
    await fetch(p.response_urls[0].response_url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ response_type: 'in_channel', text: 'Declared' }) });
    expect(emu.messagesIn(target.id).map((m) => m.text)).toEqual(['Declared']);
  });

  it('a person cannot submit without required inputs or with options that do not exist', async () => {
    const { view } = await openDeclareModal();
    const before = rx.requests.length;
    await expect(emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { title: { value: 'x' } } })).rejects.toThrow(/required/);
    const base = { title: { value: 'x' }, service: { pick: 'S' }, ic: { user: alice.id } };
    await expect(emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { ...base, severity: { value: 'sev9' } } })).rejects.toThrow(/not one of the options/);
    await expect(emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { ...base, severity: { value: 'sev1' }, nope: { v: 'x' } } })).rejects.toThrow(/no input nope/);
    await expect(emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { ...base, severity: { value: 'sev1' }, title: { value: 'x'.repeat(51) } } })).rejects.toThrow(/max_length/);
    expect(rx.requests.length).toBe(before);
  });

  const values = () => ({ title: { value: 'DB down' }, severity: { value: 'sev2' }, service: { pick: 'PSVC1' }, ic: { user: alice.id } });

  it('response_action errors keeps the modal open with the errors; a corrected submit closes it', async () => {
    const { view } = await openDeclareModal();
    rx.handler = (r) => (r.payload.view.state.values.title.value.value.length < 10 ? { body: { response_action: 'errors', errors: { title: 'Too short' } } } : {});
    await emu.driver.submitView({ userId: alice.id, viewId: view.id, values: values() });
    expect(emu.view(view.id)).toMatchObject({ isOpen: true, errors: { title: 'Too short' } });
    // What the person typed is kept: only the title is changed on the second try.
    await emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { title: { value: 'Database is down' } } });
    expect(rx.last().payload.view.state.values.severity.value.selected_option.value).toBe('sev2');
    expect(emu.view(view.id)?.isOpen).toBe(false);
  });

  it('response_action update, push and clear change the stack like Slack', async () => {
    const { view } = await openDeclareModal();
    const next = { type: 'modal', callback_id: 'confirm', title: { type: 'plain_text', text: 'Confirm' }, submit: { type: 'plain_text', text: 'OK' }, blocks: [] };
    rx.handler = () => ({ body: { response_action: 'update', view: { ...next, callback_id: 'updated' } } });
    await emu.driver.submitView({ userId: alice.id, viewId: view.id, values: values() });
    expect(emu.openViews(alice.id).map((v) => [v.id, v.callbackId])).toEqual([[view.id, 'updated']]);
    rx.handler = () => ({ body: { response_action: 'push', view: next } });
    await emu.driver.submitView({ userId: alice.id, viewId: view.id });
    const stack = emu.openViews(alice.id);
    expect(stack.map((v) => v.callbackId)).toEqual(['updated', 'confirm']);
    expect(stack[1]).toMatchObject({ rootViewId: view.id, previousViewId: view.id });
    // Only the top of the stack can be submitted.
    await expect(emu.driver.submitView({ userId: alice.id, viewId: view.id })).rejects.toThrow(/top/);
    rx.handler = () => ({ body: { response_action: 'clear' } });
    await emu.driver.submitView({ userId: alice.id, viewId: stack[1]!.id });
    expect(emu.openViews(alice.id)).toEqual([]);
  });

  it('an invalid response_action view or a slow answer leaves the modal open with an error', async () => {
    const { view } = await openDeclareModal();
    rx.handler = () => ({ body: { response_action: 'update', view: { type: 'modal', title: { type: 'plain_text', text: 'A title longer than 24 chars' }, blocks: [] } } });
    await emu.driver.submitView({ userId: alice.id, viewId: view.id, values: values() });
    expect(emu.view(view.id)?.isOpen).toBe(true);
    expect(emu.view(view.id)?.submitError).toMatch(/invalid_arguments/);
    rx.handler = () => ({ delayMs: 3200 });
    const res = await emu.driver.submitView({ userId: alice.id, viewId: view.id });
    expect(res.timedOut).toBe(true);
    expect(emu.view(view.id)).toMatchObject({ isOpen: true, submitError: 'operation_timeout' });
  });

  it('closing sends view_closed only when notify_on_close is set', async () => {
    const { view } = await openDeclareModal();
    const res = await emu.driver.closeView({ userId: alice.id, viewId: view.id });
    expect(res.sent).toBe(true);
    const p = rx.last().payload;
    expect(shapeProblems(sample('views/ViewClosedPayload.json'), p, ['view.state.values'])).toEqual([]);
    expect(p).toMatchObject({ type: 'view_closed', user: { id: alice.id }, view: { id: view.id, callback_id: 'declare_incident' }, is_cleared: false });
    expect(emu.openViews(alice.id)).toEqual([]);

    const second = await openDeclareModal({ notify_on_close: false });
    const count = rx.requests.length;
    const quiet = await emu.driver.closeView({ userId: alice.id, viewId: second.view.id });
    expect(quiet.sent).toBe(false);
    expect(rx.requests.length).toBe(count);
    expect(emu.view(second.view.id)?.isOpen).toBe(false);
  });

  it('typing into an external select sends block_suggestion and returns the app\'s options', async () => {
    const { view } = await openDeclareModal();
    rx.handler = (r) => ({ body: { options: [{ text: { type: 'plain_text', text: `Checkout (${r.payload.value})` }, value: 'PSVC1' }] } });
    const res = await emu.driver.optionsRequest({ userId: alice.id, viewId: view.id, blockId: 'service', actionId: 'pick', value: 'chec' });
    expect(res.sent).toBe(true);
    expect(res.body.options[0].value).toBe('PSVC1');
    expect(rx.last().payload).toMatchObject({
      type: 'block_suggestion',
      action_id: 'pick',
      block_id: 'service',
      value: 'chec',
      user: { id: alice.id },
      team: { id: emu.teamId },
      container: { type: 'view', view_id: view.id },
      view: { id: view.id, callback_id: 'declare_incident' },
    });
    // Below min_query_length (2 here) Slack does not ask the app.
    const short = await emu.driver.optionsRequest({ userId: alice.id, viewId: view.id, blockId: 'service', actionId: 'pick', value: 'c' });
    expect(short.sent).toBe(false);
    await expect(emu.driver.optionsRequest({ userId: alice.id, viewId: view.id, blockId: 'severity', actionId: 'value', value: 'abc' })).rejects.toThrow(/not an external select/);
  });

  it('a trigger id from a slash command can be exchanged only once', async () => {
    const ch = emu.addChannel('ops', { members: [alice.id] });
    const errors: string[] = [];
    rx.handler = async (r) => {
      await client.views.open({ trigger_id: r.form!.trigger_id!, view: declareModal() as never });
      try {
        await client.views.open({ trigger_id: r.form!.trigger_id!, view: declareModal() as never });
      } catch (e) {
        errors.push((e as { data: { error: string } }).data.error);
      }
      return {};
    };
    await emu.driver.slashCommand({ userId: alice.id, channelId: ch.id, command: '/incident', text: '' });
    expect(errors).toEqual(['exchanged_trigger_id']);
    expect(emu.openViews(alice.id)).toHaveLength(1);
  });
});

describe('events', () => {
  it('pinning sends pin_added in the Events API envelope; redelivery keeps the event_id and adds retry headers', async () => {
    const ch = emu.addChannel('inc-3', { members: [alice.id] });
    const posted = await client.chat.postMessage({ channel: ch.id, text: 'timeline' });
    const res = await emu.driver.pinMessage({ userId: alice.id, channelId: ch.id, ts: posted.ts! });
    expect(res.status).toBe(200);
    const first = rx.last();
    expect(first.verdict).toBe('ok');
    expect(first.contentType).toBe('application/json');
    expect(first.json).toMatchObject({
      type: 'event_callback',
      team_id: emu.teamId,
      api_app_id: emu.appId,
      event_id: res.eventId,
      authorizations: [{ team_id: emu.teamId, user_id: emu.botUserId, is_bot: true }],
      event: { type: 'pin_added', user: alice.id, channel_id: ch.id, item: { type: 'message', channel: ch.id, message: { ts: posted.ts, text: 'timeline' } } },
    });
    expect(typeof first.json.event_time).toBe('number');
    expect(first.json.event.event_ts).toMatch(/^\d+\.\d{6}$/);
    expect(emu.messagesIn(ch.id)[0]).toMatchObject({ pinned: true, pinnedBy: alice.id });
    expect(first.headers['x-slack-retry-num']).toBeUndefined();

    const again = await emu.driver.redeliverEvent(res.eventId, { retryNum: 1, retryReason: 'http_timeout' });
    expect(again.status).toBe(200);
    const retry = rx.last();
    expect(retry.verdict).toBe('ok'); // a genuine retry is freshly signed, never a replay
    expect(retry.raw).toBe(first.raw);
    expect(retry.headers['x-slack-retry-num']).toBe('1');
    expect(retry.headers['x-slack-retry-reason']).toBe('http_timeout');
    expect(emu.state.events[0]?.deliveries.map((d) => d.retryNum)).toEqual([undefined, 1]);
  });

  it('with eventRetryDelaysMs, a failed delivery is retried like Slack (same event_id, retry headers)', async () => {
    emu.driver.eventRetryDelaysMs = [0, 10, 10];
    const ch = emu.addChannel('inc-r', { members: [alice.id] });
    const posted = await client.chat.postMessage({ channel: ch.id, text: 'x' });
    let calls = 0;
    rx.handler = () => (++calls < 3 ? { status: 500 } : {});
    const res = await emu.driver.react({ userId: alice.id, channelId: ch.id, ts: posted.ts!, name: 'fire' });
    expect(res.status).toBe(500);
    expect(res.retries.map((r) => r.status)).toEqual([500, 200]);
    expect(rx.requests.map((r) => [r.json.event_id, r.headers['x-slack-retry-num'], r.headers['x-slack-retry-reason'], r.verdict])).toEqual([
      [res.eventId, undefined, undefined, 'ok'],
      [res.eventId, '1', 'http_error', 'ok'],
      [res.eventId, '2', 'http_error', 'ok'],
    ]);
  });

  it('reacting adds the reaction and sends reaction_added', async () => {
    const ch = emu.addChannel('inc-4', { members: [alice.id] });
    const posted = await client.chat.postMessage({ channel: ch.id, text: 'status?' });
    await emu.driver.react({ userId: alice.id, channelId: ch.id, ts: posted.ts!, name: ':white_check_mark:' });
    expect(rx.last().json.event).toMatchObject({ type: 'reaction_added', user: alice.id, reaction: 'white_check_mark', item_user: emu.botUserId, item: { type: 'message', channel: ch.id, ts: posted.ts } });
    expect(emu.messagesIn(ch.id)[0]?.reactions).toEqual([{ name: 'white_check_mark', users: [alice.id] }]);
    await expect(emu.driver.react({ userId: alice.id, channelId: ch.id, ts: posted.ts!, name: 'white_check_mark' })).rejects.toThrow(/already/);
  });

  it('a person\'s message is stored and delivered as a message event (plus app_mention when the bot is mentioned)', async () => {
    const ch = emu.addChannel('inc-5', { members: [alice.id] });
    const m = emu.driver.postMessageAs(alice.id, ch.id, `hey <@${emu.botUserId}> status?`);
    await emu.driver.flush();
    expect(emu.messagesIn(ch.id)).toEqual([expect.objectContaining({ ts: m.ts, user: alice.id, source: 'person' })]);
    const types = rx.requests.map((r) => r.json.event.type).sort();
    expect(types).toEqual(['app_mention', 'message']);
    expect(rx.requests.find((r) => r.json.event.type === 'message')!.json.event).toMatchObject({ channel: ch.id, user: alice.id, ts: m.ts, channel_type: 'channel' });
    expect(() => emu.driver.postMessageAs(bob.id, ch.id, 'not a member')).toThrow(SlackDriverError);
  });

  it('url_verification carries the challenge', async () => {
    rx.handler = (r) => ({ body: { challenge: r.json.challenge } });
    const res = await emu.driver.urlVerification('abc123');
    expect(res.body).toEqual({ challenge: 'abc123' });
    expect(rx.last().json).toMatchObject({ type: 'url_verification', challenge: 'abc123' });
  });
});

describe('latency never delays the ack', () => {
  it('a slow views.open does not make the slash command miss its 3 s ack when the app acks first', async () => {
    emu.faults.latencyMs('views.open', 2500);
    const ch = emu.addChannel('ops', { members: [alice.id] });
    let opened: Promise<unknown> = Promise.resolve();
    rx.handler = (r) => {
      opened = client.views.open({ trigger_id: r.form!.trigger_id!, view: declareModal() as never });
      return {};
    };
    const res = await emu.driver.slashCommand({ userId: alice.id, channelId: ch.id, command: '/incident', text: '' });
    expect(res.status).toBe(200);
    expect(res.ackMs).toBeLessThan(2000); // it would be ≥ 2500 if the ack waited for views.open
    await opened;
    expect(emu.openViews(alice.id)).toHaveLength(1);
  });
});
