// Drives the emulator's Web API with the real @slack/web-api WebClient, the way Firebreak will.
import { ErrorCode, WebClient, type WebAPIPlatformError, type WebAPIRateLimitedError } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { startSlackEmulator, type SlackEmulator, type SlackUser } from './index.js';
import { shapeProblems } from './shape.js';

let emu: SlackEmulator;
let client: WebClient;
let alice: SlackUser;
let bob: SlackUser;

async function slackError(p: Promise<unknown>): Promise<WebAPIPlatformError['data']> {
  try {
    await p;
  } catch (e) {
    const err = e as WebAPIPlatformError;
    expect(err.code).toBe(ErrorCode.PlatformError);
    return err.data;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  emu = await startSlackEmulator();
});
afterAll(async () => {
  await emu.stop();
});
beforeEach(() => {
  emu.reset();
  client = new WebClient(emu.botToken, { slackApiUrl: emu.apiUrl, retryConfig: { retries: 0 } });
  alice = emu.addUser({ name: 'alice', realName: 'Alice Archer', email: 'alice@example.com' });
  bob = emu.addUser({ name: 'bob', realName: 'Bob Baker', email: 'Bob@Example.com' });
});

describe('auth', () => {
  it('auth.test identifies the bot', async () => {
    const r = await client.auth.test();
    expect(r).toMatchObject({ ok: true, team_id: emu.teamId, user_id: emu.botUserId, bot_id: emu.botId });
    expect(emu.apiUrl.endsWith('/api/')).toBe(true);
  });
  it('a wrong token is invalid_auth, no token is not_authed', async () => {
    const bad = new WebClient('xoxb-wrong', { slackApiUrl: emu.apiUrl, retryConfig: { retries: 0 } });
    expect((await slackError(bad.auth.test())).error).toBe('invalid_auth');
    const none = new WebClient(undefined, { slackApiUrl: emu.apiUrl, retryConfig: { retries: 0 } });
    expect((await slackError(none.auth.test())).error).toBe('not_authed');
  });
  it('accepts JSON bodies with a Bearer token, and rejects malformed JSON', async () => {
    const ch = emu.addChannel('json-room');
    const res = await fetch(`${emu.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${emu.botToken}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ channel: ch.id, text: 'hi', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*hi*' } }] }),
    });
    const body = await res.json();
    expect(body.ok).toBe(true);
    // Slack fills in a block_id the app left out.
    expect(emu.messagesIn(ch.id)[0]?.blocks).toEqual([{ type: 'section', block_id: expect.stringMatching(/^\w+$/), text: { type: 'mrkdwn', text: '*hi*' } }]);
    const broken = await fetch(`${emu.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${emu.botToken}`, 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(await broken.json()).toEqual({ ok: false, error: 'invalid_json' });
  });
  it('accepts the token as a form field too', async () => {
    const res = await fetch(`${emu.apiUrl}auth.test`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: emu.botToken }).toString(),
    });
    expect((await res.json()).ok).toBe(true);
  });
  it('unknown methods answer unknown_method', async () => {
    expect((await slackError(client.apiCall('chat.frobnicate'))).error).toBe('unknown_method');
  });
  it('missing_scope carries needed and provided', async () => {
    emu.setScopes(['chat:write', 'users:read']);
    const data = await slackError(client.users.lookupByEmail({ email: 'alice@example.com' }));
    expect(data).toMatchObject({ error: 'missing_scope', needed: 'users:read.email' });
    expect(String((data as unknown as Record<string, unknown>).provided)).toContain('chat:write');
    // Without users:read.email, users.info hides emails like Slack does.
    const info = await client.users.info({ user: alice.id });
    expect(info.user?.profile?.email).toBeUndefined();
  });
});

describe('chat', () => {
  it('chat.postMessage stores text and blocks and answers with the message', async () => {
    const ch = emu.addChannel('incidents');
    const blocks = [{ type: 'section', block_id: 'b1', text: { type: 'mrkdwn', text: 'SEV1 *db down*' } }];
    const r = await client.chat.postMessage({ channel: ch.id, text: 'SEV1 db down', blocks });
    expect(r.ok).toBe(true);
    expect(r.channel).toBe(ch.id);
    expect(r.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(r.message).toMatchObject({ type: 'message', text: 'SEV1 db down', user: emu.botUserId, bot_id: emu.botId, blocks });
    const stored = emu.messagesIn(ch.id);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ ts: r.ts, text: 'SEV1 db down', blocks, user: emu.botUserId, source: 'api' });
    expect(emu.calls('chat.postMessage')[0]?.args).toMatchObject({ channel: ch.id, blocks });
  });
  it('timestamps are unique and increasing, threads are tracked', async () => {
    const ch = emu.addChannel('threads');
    const a = await client.chat.postMessage({ channel: ch.id, text: 'parent' });
    const b = await client.chat.postMessage({ channel: ch.id, text: 'reply', thread_ts: a.ts! });
    expect(Number(b.ts)).toBeGreaterThan(Number(a.ts));
    expect(emu.messagesIn(ch.id)[1]?.threadTs).toBe(a.ts);
    const replies = await client.conversations.replies({ channel: ch.id, ts: a.ts! });
    expect(replies.messages?.map((m) => m.text)).toEqual(['parent', 'reply']);
  });
  it('not_in_channel when the bot is not a member, is_archived for archived channels, channel_not_found otherwise', async () => {
    const foreign = emu.addChannel('random', { members: [alice.id], botIsMember: false });
    expect((await slackError(client.chat.postMessage({ channel: foreign.id, text: 'x' }))).error).toBe('not_in_channel');
    const archived = emu.addChannel('old', { archived: true });
    expect((await slackError(client.chat.postMessage({ channel: archived.id, text: 'x' }))).error).toBe('is_archived');
    expect((await slackError(client.chat.postMessage({ channel: 'C0NOPE', text: 'x' }))).error).toBe('channel_not_found');
    const secret = emu.addChannel('secret', { isPrivate: true, members: [alice.id], botIsMember: false });
    expect((await slackError(client.chat.postMessage({ channel: secret.id, text: 'x' }))).error).toBe('channel_not_found');
    expect((await slackError(client.chat.postMessage({ channel: emu.addChannel('empty').id, text: '' }))).error).toBe('no_text');
    expect(emu.messagesIn(foreign.id)).toHaveLength(0);
  });
  it('chat:write.public lets the bot post to public channels it is not in', async () => {
    const foreign = emu.addChannel('public', { members: [alice.id], botIsMember: false });
    emu.setScopes([...emu.state.scopes, 'chat:write.public']);
    expect((await client.chat.postMessage({ channel: foreign.id, text: 'hello' })).ok).toBe(true);
  });
  it('posting to a user id goes to the DM', async () => {
    const r = await client.chat.postMessage({ channel: alice.id, text: 'you are on call' });
    expect(r.channel).toMatch(/^D/);
    expect(emu.dmsTo(alice.id).map((m) => m.text)).toEqual(['you are on call']);
  });
  it('chat.update replaces text/blocks, keeps blocks when omitted, and refuses others\' messages', async () => {
    const ch = emu.addChannel('upd', { members: [alice.id] });
    const r = await client.chat.postMessage({ channel: ch.id, text: 'v1', blocks: [{ type: 'divider' }] });
    const u = await client.chat.update({ channel: ch.id, ts: r.ts!, text: 'v2' });
    expect(u).toMatchObject({ ok: true, channel: ch.id, ts: r.ts, text: 'v2' });
    const m = emu.messagesIn(ch.id)[0]!;
    expect(m.text).toBe('v2');
    expect(m.blocks).toEqual([{ type: 'divider', block_id: expect.any(String) }]);
    expect(m.edited?.user).toBe(emu.botUserId);
    await client.chat.update({ channel: ch.id, ts: r.ts!, text: 'v3', blocks: [] });
    expect(emu.messagesIn(ch.id)[0]?.blocks).toEqual([]);
    expect((await slackError(client.chat.update({ channel: ch.id, ts: '1.000001', text: 'x' }))).error).toBe('message_not_found');
    const theirs = emu.driver.postMessageAs(alice.id, ch.id, 'mine');
    expect((await slackError(client.chat.update({ channel: ch.id, ts: theirs.ts, text: 'x' }))).error).toBe('cant_update_message');
  });
  it('chat.postEphemeral is only visible to that person, who must be in the channel', async () => {
    const ch = emu.addChannel('eph', { members: [alice.id] });
    const r = await client.chat.postEphemeral({ channel: ch.id, user: alice.id, text: 'only you' });
    expect(r.message_ts).toMatch(/^\d+\.\d{6}$/);
    expect(emu.ephemeralsFor(alice.id).map((e) => [e.channel, e.text])).toEqual([[ch.id, 'only you']]);
    expect(emu.messagesIn(ch.id)).toHaveLength(0);
    expect((await slackError(client.chat.postEphemeral({ channel: ch.id, user: bob.id, text: 'x' }))).error).toBe('user_not_in_channel');
  });
  it('chat.getPermalink builds a workspace link and checks the message exists', async () => {
    const ch = emu.addChannel('links');
    const r = await client.chat.postMessage({ channel: ch.id, text: 'x' });
    const p = await client.chat.getPermalink({ channel: ch.id, message_ts: r.ts! });
    expect(p.permalink).toBe(`https://${emu.teamDomain}.slack.com/archives/${ch.id}/p${r.ts!.replace('.', '')}`);
    expect((await slackError(client.chat.getPermalink({ channel: ch.id, message_ts: '1.000001' }))).error).toBe('message_not_found');
  });
});

describe('conversations', () => {
  it('conversations.create makes the bot creator and member', async () => {
    const r = await client.conversations.create({ name: 'inc-42-db-down' });
    expect(r.channel).toMatchObject({ name: 'inc-42-db-down', is_channel: true, is_private: false, is_member: true, creator: emu.botUserId, is_archived: false });
    expect(r.channel?.id).toMatch(/^C/);
    const ch = emu.channelByName('inc-42-db-down')!;
    expect(ch.members).toEqual([emu.botUserId]);
    const priv = await client.conversations.create({ name: 'inc-43', is_private: true });
    expect(priv.channel).toMatchObject({ is_private: true, is_group: true, is_channel: false });
  });
  it.each([
    ['', 'invalid_name_required'],
    ['x'.repeat(81), 'invalid_name_maxlength'],
    ['---', 'invalid_name_punctuation'],
    ['Has Caps', 'invalid_name_specials'],
    ['inc.42', 'invalid_name_specials'],
    ['inc 42', 'invalid_name_specials'],
    ['INC-42', 'invalid_name_specials'],
  ])('conversations.create(%j) → %s', async (name, code) => {
    expect((await slackError(client.conversations.create({ name }))).error).toBe(code);
  });
  it('names are taken by existing (even archived) channels; 80 chars is fine', async () => {
    await client.conversations.create({ name: 'inc-1' });
    expect((await slackError(client.conversations.create({ name: 'inc-1' }))).error).toBe('name_taken');
    emu.addChannel('archived-one', { archived: true });
    expect((await slackError(client.conversations.create({ name: 'archived-one' }))).error).toBe('name_taken');
    expect((await slackError(client.conversations.create({ name: 'general' }))).error).toBe('name_taken');
    expect((await client.conversations.create({ name: 'a'.repeat(80) })).ok).toBe(true);
  });
  it('conversations.invite adds members and reports Slack\'s errors', async () => {
    const { channel } = await client.conversations.create({ name: 'inc-2' });
    const r = await client.conversations.invite({ channel: channel!.id!, users: `${alice.id},${bob.id}` });
    expect(r.ok).toBe(true);
    expect(emu.state.channels.get(channel!.id!)?.members).toEqual([emu.botUserId, alice.id, bob.id]);
    const again = await slackError(client.conversations.invite({ channel: channel!.id!, users: alice.id }));
    expect(again.error).toBe('already_in_channel');
    expect((await slackError(client.conversations.invite({ channel: channel!.id!, users: 'U0NOBODY' }))).error).toBe('user_not_found');
    expect((await slackError(client.conversations.invite({ channel: channel!.id!, users: emu.botUserId }))).error).toBe('cant_invite_self');
    const foreign = emu.addChannel('foreign', { members: [alice.id], botIsMember: false });
    expect((await slackError(client.conversations.invite({ channel: foreign.id, users: bob.id }))).error).toBe('not_in_channel');
    await client.conversations.archive({ channel: channel!.id! });
    const carol = emu.addUser({ name: 'carol' });
    expect((await slackError(client.conversations.invite({ channel: channel!.id!, users: carol.id }))).error).toBe('is_archived');
  });
  it('conversations.open opens (and reuses) a DM', async () => {
    const r = await client.conversations.open({ users: alice.id });
    expect(r.channel?.id).toMatch(/^D/);
    const again = await client.conversations.open({ users: alice.id });
    expect(again.channel?.id).toBe(r.channel?.id);
    expect(again.already_open).toBe(true);
    await client.chat.postMessage({ channel: r.channel!.id!, text: 'page' });
    expect(emu.dmsTo(alice.id).map((m) => m.text)).toEqual(['page']);
    expect((await slackError(client.conversations.open({ users: 'U0NOBODY' }))).error).toBe('user_not_found');
  });
  it('conversations.info and conversations.members', async () => {
    const ch = emu.addChannel('team', { members: [alice.id, bob.id], topic: 'hello' });
    const info = await client.conversations.info({ channel: ch.id, include_num_members: true });
    expect(info.channel).toMatchObject({ id: ch.id, name: 'team', is_member: true, num_members: 3, topic: { value: 'hello' } });
    expect((await slackError(client.conversations.info({ channel: 'C0NOPE' }))).error).toBe('channel_not_found');
    const all: string[] = [];
    for await (const page of client.paginate('conversations.members', { channel: ch.id, limit: 2 })) {
      all.push(...((page as { members?: string[] }).members ?? []));
    }
    expect(all).toEqual([emu.botUserId, alice.id, bob.id]);
  });
  it('conversations.setTopic needs membership and an unarchived channel', async () => {
    const { channel } = await client.conversations.create({ name: 'topic' });
    const r = await client.conversations.setTopic({ channel: channel!.id!, topic: 'SEV1 · IC @alice' });
    expect(r.channel).toMatchObject({ topic: { value: 'SEV1 · IC @alice', creator: emu.botUserId } });
    expect(emu.state.channels.get(channel!.id!)?.topic.value).toBe('SEV1 · IC @alice');
    const foreign = emu.addChannel('f', { botIsMember: false, members: [alice.id] });
    expect((await slackError(client.conversations.setTopic({ channel: foreign.id, topic: 'x' }))).error).toBe('not_in_channel');
    await client.conversations.archive({ channel: channel!.id! });
    expect((await slackError(client.conversations.setTopic({ channel: channel!.id!, topic: 'x' }))).error).toBe('is_archived');
  });
  it('conversations.archive archives once; general cannot be archived', async () => {
    const { channel } = await client.conversations.create({ name: 'done' });
    expect((await client.conversations.archive({ channel: channel!.id! })).ok).toBe(true);
    expect(emu.state.channels.get(channel!.id!)?.isArchived).toBe(true);
    expect((await slackError(client.conversations.archive({ channel: channel!.id! }))).error).toBe('already_archived');
    expect((await slackError(client.chat.postMessage({ channel: channel!.id!, text: 'x' }))).error).toBe('is_archived');
    const general = emu.channelByName('general')!;
    expect((await slackError(client.conversations.archive({ channel: general.id }))).error).toBe('cant_archive_general');
  });
  it('conversations.join, rename and history', async () => {
    const ch = emu.addChannel('lobby', { members: [alice.id], botIsMember: false });
    await client.conversations.join({ channel: ch.id });
    await client.chat.postMessage({ channel: ch.id, text: 'one' });
    await client.chat.postMessage({ channel: ch.id, text: 'two' });
    const h = await client.conversations.history({ channel: ch.id });
    expect(h.messages?.map((m) => m.text)).toEqual(['two', 'one']);
    const r = await client.conversations.rename({ channel: ch.id, name: 'lobby-2' });
    expect(r.channel).toMatchObject({ name: 'lobby-2', previous_names: ['lobby'] });
  });
});

describe('users', () => {
  it('users.info returns the profile with email', async () => {
    const r = await client.users.info({ user: alice.id });
    expect(r.user).toMatchObject({ id: alice.id, name: 'alice', real_name: 'Alice Archer', is_bot: false, profile: { email: 'alice@example.com', real_name: 'Alice Archer' } });
    expect(r.user?.tz).toBe('America/Los_Angeles'); // the default; addUser({ tz }) gives another
    const madrid = emu.addUser({ name: 'tz-madrid', tz: 'Europe/Madrid' });
    expect((await client.users.info({ user: madrid.id })).user?.tz).toBe('Europe/Madrid');
    emu.state.users.delete(madrid.id);
    for (const c of emu.state.channels.values()) c.members = c.members.filter((m) => m !== madrid.id);
    expect((await slackError(client.users.info({ user: 'U0NOBODY' }))).error).toBe('user_not_found');
  });
  it('users.list pages through everyone, bot and Slackbot included', async () => {
    for (let i = 0; i < 5; i++) emu.addUser({ name: `u${i}`, email: `u${i}@example.com` });
    const ids: string[] = [];
    for await (const page of client.paginate('users.list', { limit: 3 })) {
      ids.push(...((page as { members?: { id: string }[] }).members ?? []).map((m) => m.id));
    }
    expect(ids).toHaveLength(9); // 7 people, the bot and Slackbot
    expect(ids).toContain(emu.botUserId);
    expect(ids).toContain('USLACKBOT');
    expect(new Set(ids).size).toBe(9);
  });
  it('users.lookupByEmail is case-insensitive and answers users_not_found', async () => {
    expect((await client.users.lookupByEmail({ email: 'bob@example.com' })).user?.id).toBe(bob.id);
    expect((await slackError(client.users.lookupByEmail({ email: 'nobody@example.com' }))).error).toBe('users_not_found');
  });
});

describe('pins and reactions', () => {
  it('pins.add pins once', async () => {
    const ch = emu.addChannel('pins');
    const r = await client.chat.postMessage({ channel: ch.id, text: 'summary' });
    expect((await client.pins.add({ channel: ch.id, timestamp: r.ts! })).ok).toBe(true);
    expect(emu.messagesIn(ch.id)[0]).toMatchObject({ pinned: true, pinnedBy: emu.botUserId });
    expect((await slackError(client.pins.add({ channel: ch.id, timestamp: r.ts! }))).error).toBe('already_pinned');
    expect((await slackError(client.pins.add({ channel: ch.id, timestamp: '1.000001' }))).error).toBe('message_not_found');
    const list = await client.pins.list({ channel: ch.id });
    expect(list.items).toHaveLength(1);
  });
  it('reactions.add reacts once per name', async () => {
    const ch = emu.addChannel('reacts');
    const r = await client.chat.postMessage({ channel: ch.id, text: 'ack?' });
    await client.reactions.add({ channel: ch.id, timestamp: r.ts!, name: 'eyes' });
    expect(emu.messagesIn(ch.id)[0]?.reactions).toEqual([{ name: 'eyes', users: [emu.botUserId] }]);
    expect((await slackError(client.reactions.add({ channel: ch.id, timestamp: r.ts!, name: 'eyes' }))).error).toBe('already_reacted');
    expect((await slackError(client.reactions.add({ channel: ch.id, timestamp: r.ts!, name: 'Not An Emoji' }))).error).toBe('invalid_name');
    expect((await slackError(client.reactions.add({ channel: ch.id, timestamp: '1.000001', name: 'eyes' }))).error).toBe('message_not_found');
  });
});

describe('views', () => {
  const modal = (extra: Record<string, unknown> = {}) => ({
    type: 'modal' as const,
    callback_id: 'declare',
    title: { type: 'plain_text' as const, text: 'Declare incident' },
    submit: { type: 'plain_text' as const, text: 'Declare' },
    blocks: [{ type: 'input', block_id: 'title', label: { type: 'plain_text', text: 'Title' }, element: { type: 'plain_text_input', action_id: 'v' } }],
    ...extra,
  });

  it('views.open consumes a driver trigger id once and returns the view with an id', async () => {
    const trigger = emu.issueTriggerId(alice.id);
    const r = await client.views.open({ trigger_id: trigger, view: modal({ private_metadata: 'inc=1' }) as never });
    expect(r.view).toMatchObject({ type: 'modal', callback_id: 'declare', private_metadata: 'inc=1', state: { values: {} } });
    expect(r.view?.id).toMatch(/^V/);
    expect(r.view?.hash).toBeTruthy();
    expect(emu.openViews(alice.id).map((v) => v.id)).toEqual([r.view!.id]);
    expect((await slackError(client.views.open({ trigger_id: trigger, view: modal() as never }))).error).toBe('exchanged_trigger_id');
    const unknown = await slackError(client.views.open({ trigger_id: '123.456.abc', view: modal() as never }));
    expect(unknown.error).toBe('invalid_arguments');
  });
  it('a trigger id expires after 3 seconds', async () => {
    const trigger = emu.issueTriggerId(alice.id);
    await new Promise((r) => setTimeout(r, 3100));
    expect((await slackError(client.views.open({ trigger_id: trigger, view: modal() as never }))).error).toBe('expired_trigger_id');
    expect(emu.openViews()).toHaveLength(0);
  });
  it('rejects invalid views with Slack-style messages', async () => {
    const issue = () => emu.issueTriggerId(alice.id);
    const long = await slackError(client.views.open({ trigger_id: issue(), view: modal({ title: { type: 'plain_text', text: 'This title is far too long' } }) as never }));
    expect(long.error).toBe('invalid_arguments');
    expect(long.response_metadata?.messages?.join(' ')).toContain('/view/title/text');
    const noSubmit = await slackError(client.views.open({ trigger_id: issue(), view: modal({ submit: undefined }) as never }));
    expect(noSubmit.error).toBe('invalid_arguments');
  });
  it('rejects input blocks past Slack limits: labels, option counts and texts, initial options, number inputs', async () => {
    const issue = () => emu.issueTriggerId(alice.id);
    const opt = (v: string, text = v) => ({ text: { type: 'plain_text', text }, value: v });
    const withInput = (element: Record<string, unknown>, label = 'Field') => modal({ blocks: [{ type: 'input', block_id: 'f', label: { type: 'plain_text', text: label }, element: { action_id: 'v', ...element } }] });
    const refused = async (view: unknown, pointer: string) => {
      const r = await slackError(client.views.open({ trigger_id: issue(), view: view as never }));
      expect(r.error).toBe('invalid_arguments');
      expect(r.response_metadata?.messages?.join(' ')).toContain(pointer);
    };
    const many = Array.from({ length: 101 }, (_, i) => opt(`o${i}`));
    await refused(withInput({ type: 'multi_static_select', options: many }), '/view/blocks/0/element/options');
    await refused(withInput({ type: 'static_select', options: [opt('a', 'x'.repeat(76))] }), '/view/blocks/0/element/options/0/text');
    await refused(withInput({ type: 'static_select', options: [opt('a')], initial_option: opt('b') }), '/view/blocks/0/element');
    await refused(withInput({ type: 'number_input' }), 'is_decimal_allowed');
    await refused(withInput({ type: 'plain_text_input' }, 'L'.repeat(2001)), '/view/blocks/0/label/text');
    const ok = await client.views.open({ trigger_id: issue(), view: withInput({ type: 'multi_static_select', options: many.slice(0, 100), initial_options: [opt('o99')] }, 'L'.repeat(2000)) as never });
    expect(ok.ok).toBe(true);
  });
  it('views.update keeps state, checks hash; views.push stacks', async () => {
    const issue = () => emu.issueTriggerId(alice.id);
    const opened = await client.views.open({ trigger_id: issue(), view: modal() as never });
    const id = opened.view!.id!;
    const upd = await client.views.update({ view_id: id, hash: opened.view!.hash!, view: modal({ callback_id: 'declare2' }) as never });
    expect(upd.view).toMatchObject({ id, callback_id: 'declare2' });
    expect(upd.view?.hash).not.toBe(opened.view?.hash);
    expect(emu.view(id)?.callbackId).toBe('declare2');
    expect((await slackError(client.views.update({ view_id: id, hash: opened.view!.hash!, view: modal() as never }))).error).toBe('hash_conflict');
    expect((await slackError(client.views.update({ view_id: 'V0NOPE', view: modal() as never }))).error).toBe('not_found');
    const pushed = await client.views.push({ trigger_id: issue(), view: modal({ callback_id: 'step2' }) as never });
    expect(pushed.view).toMatchObject({ root_view_id: id, previous_view_id: id });
    expect(emu.openViews(alice.id).map((v) => v.callbackId)).toEqual(['declare2', 'step2']);
  });
});

describe('faults', () => {
  it('rateLimit answers 429 with Retry-After; rejectRateLimitedCalls surfaces it', async () => {
    emu.faults.rateLimit('chat.postMessage', 1, 7);
    const ch = emu.addChannel('rl');
    const strict = new WebClient(emu.botToken, { slackApiUrl: emu.apiUrl, rejectRateLimitedCalls: true, retryConfig: { retries: 0 } });
    try {
      await strict.chat.postMessage({ channel: ch.id, text: 'x' });
      throw new Error('expected rate limit');
    } catch (e) {
      expect((e as WebAPIRateLimitedError).code).toBe(ErrorCode.RateLimitedError);
      expect((e as WebAPIRateLimitedError).retryAfter).toBe(7);
    }
    expect(emu.calls('chat.postMessage')[0]).toMatchObject({ ok: false, error: 'ratelimited', status: 429 });
    expect((await strict.chat.postMessage({ channel: ch.id, text: 'x' })).ok).toBe(true);
  });
  it("rateLimit('*') limits whichever method comes next", async () => {
    emu.faults.rateLimit('*', 1, 2);
    const strict = new WebClient(emu.botToken, { slackApiUrl: emu.apiUrl, rejectRateLimitedCalls: true, retryConfig: { retries: 0 } });
    await expect(strict.users.info({ user: alice.id })).rejects.toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 2 });
    expect((await strict.auth.test()).ok).toBe(true);
  });
  it('a retrying client waits Retry-After and then succeeds', async () => {
    emu.faults.rateLimit('auth.test', 1, 1);
    const retrying = new WebClient(emu.botToken, { slackApiUrl: emu.apiUrl, retryConfig: { retries: 1, minTimeout: 0, maxTimeout: 0 } });
    const t0 = Date.now();
    expect((await retrying.auth.test()).ok).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(emu.calls('auth.test').map((c) => c.status)).toEqual([429, 200]);
  });
  it('failNext forces one error, then the method works again', async () => {
    emu.faults.failNext('users.info', 'missing_scope');
    const data = await slackError(client.users.info({ user: alice.id }));
    expect(data).toMatchObject({ error: 'missing_scope', needed: 'users:read' });
    expect((await client.users.info({ user: alice.id })).ok).toBe(true);
  });
  it('latencyMs delays one method (or all) and clear() removes it', async () => {
    emu.faults.latencyMs('auth.test', 800);
    let t0 = Date.now();
    await client.auth.test();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(790);
    t0 = Date.now();
    await client.users.info({ user: alice.id });
    expect(Date.now() - t0).toBeLessThan(400);
    emu.faults.clear();
    t0 = Date.now();
    await client.auth.test();
    expect(Date.now() - t0).toBeLessThan(400);
    emu.faults.latencyMs('*', 500);
    t0 = Date.now();
    await client.users.info({ user: alice.id });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(490);
  });
  it('callLog records method, args without the token, ok and error', async () => {
    await client.auth.test();
    await slackError(client.users.info({ user: 'U0NOBODY' }));
    const log = emu.callLog();
    expect(log.map((c) => [c.method, c.ok, c.error])).toEqual([
      ['auth.test', true, undefined],
      ['users.info', false, 'user_not_found'],
    ]);
    expect(log[1]?.args).toEqual({ user: 'U0NOBODY' });
    expect(JSON.stringify(log)).not.toContain(emu.botToken);
  });
});

describe('bookmarks', () => {
  it('bookmarks.add / list / remove', async () => {
    const ch = emu.addChannel('inc-bm');
    const r = await client.bookmarks.add({ channel_id: ch.id, title: 'Runbook', type: 'link', link: 'https://runbooks.example.com/db' });
    expect(r.bookmark).toMatchObject({ channel_id: ch.id, title: 'Runbook', link: 'https://runbooks.example.com/db', type: 'link' });
    expect(emu.state.channels.get(ch.id)?.bookmarks.map((b) => b.title)).toEqual(['Runbook']);
    expect((await client.bookmarks.list({ channel_id: ch.id })).bookmarks).toHaveLength(1);
    await client.bookmarks.remove({ channel_id: ch.id, bookmark_id: r.bookmark!.id! });
    expect(emu.state.channels.get(ch.id)?.bookmarks).toEqual([]);
    expect((await slackError(client.bookmarks.add({ channel_id: ch.id, title: 'x', type: 'link', link: 'not a url' }))).error).toBe('invalid_link');
  });
});

describe('answers have the shapes Slack documents', () => {
  // Every key the emulator answers with must exist (with the same JSON type) in Slack's sample for that method.
  const apiSample = (m: string) => JSON.parse(readFileSync(`/work/shared/slack/samples/api/${m}.json`, 'utf8'));
  const raw = async (method: string, args: Record<string, unknown>) => {
    const body = new URLSearchParams(Object.entries(args).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString();
    const res = await fetch(`${emu.apiUrl}${method}`, { method: 'POST', headers: { authorization: `Bearer ${emu.botToken}`, 'content-type': 'application/x-www-form-urlencoded' }, body });
    const json = await res.json();
    expect(json.ok, `${method}: ${JSON.stringify(json)}`).toBe(true);
    return json;
  };
  it('for every method with a sample', async () => {
    const view = { type: 'modal', title: { type: 'plain_text', text: 'T' }, submit: { type: 'plain_text', text: 'S' }, close: { type: 'plain_text', text: 'C' }, blocks: [{ type: 'input', block_id: 'b', label: { type: 'plain_text', text: 'L' }, element: { type: 'plain_text_input', action_id: 'a' } }] };
    const created = await raw('conversations.create', { name: 'shapes' });
    const ch = created.channel.id as string;
    const posted = await raw('chat.postMessage', { channel: ch, text: 'hi', blocks: [{ type: 'divider' }] });
    const foreign = emu.addChannel('lobby', { members: [alice.id], botIsMember: false });
    const opened = await raw('views.open', { trigger_id: emu.issueTriggerId(alice.id), view });
    const answers: [string, Record<string, unknown>][] = [
      ['auth.test', await raw('auth.test', {})],
      ['team.info', await raw('team.info', {})],
      ['conversations.create', created],
      ['chat.postMessage', posted],
      ['chat.update', await raw('chat.update', { channel: ch, ts: posted.ts, text: 'v2', blocks: [{ type: 'divider' }] })],
      ['conversations.invite', await raw('conversations.invite', { channel: ch, users: alice.id })],
      ['chat.postEphemeral', await raw('chat.postEphemeral', { channel: ch, user: alice.id, text: 'x' })],
      ['chat.getPermalink', await raw('chat.getPermalink', { channel: ch, message_ts: posted.ts })],
      ['conversations.join', await raw('conversations.join', { channel: foreign.id })],
      ['conversations.info', await raw('conversations.info', { channel: ch, include_num_members: 'true' })],
      ['conversations.members', await raw('conversations.members', { channel: ch })],
      ['conversations.setTopic', await raw('conversations.setTopic', { channel: ch, topic: 't' })],
      ['conversations.setPurpose', await raw('conversations.setPurpose', { channel: ch, purpose: 'p' })],
      ['conversations.rename', await raw('conversations.rename', { channel: ch, name: 'shapes-2' })],
      ['conversations.open', await raw('conversations.open', { users: alice.id })],
      ['users.info', await raw('users.info', { user: alice.id })],
      ['users.list', await raw('users.list', {})],
      ['users.lookupByEmail', await raw('users.lookupByEmail', { email: 'alice@example.com' })],
      ['pins.add', await raw('pins.add', { channel: ch, timestamp: posted.ts })],
      ['reactions.add', await raw('reactions.add', { channel: ch, timestamp: posted.ts, name: 'eyes' })],
      ['bookmarks.add', await raw('bookmarks.add', { channel_id: ch, title: 'Doc', type: 'link', link: 'https://example.com' })],
      ['views.open', opened],
      ['views.update', await raw('views.update', { view_id: opened.view.id, view })],
      ['views.push', await raw('views.push', { trigger_id: emu.issueTriggerId(alice.id), view })],
      ['views.publish', await raw('views.publish', { user_id: alice.id, view: { type: 'home', blocks: [] } })],
      ['conversations.archive', await raw('conversations.archive', { channel: ch })],
    ];
    const problems = answers.flatMap(([m, body]) => shapeProblems(apiSample(m), body).map((p) => `${m}: ${p}`));
    expect(problems).toEqual([]);
  });
});

describe('user groups and message metadata', () => {
  it('usergroups.users.list answers the member ids; unknown or disabled groups are no_such_subteam', async () => {
    const g = emu.addUsergroup('Payments on-call', { users: [alice.id, bob.id] });
    expect(await client.usergroups.users.list({ usergroup: g.id })).toMatchObject({ ok: true, users: [alice.id, bob.id] });
    expect((await slackError(client.usergroups.users.list({ usergroup: 'S0NOPE' }))).error).toBe('no_such_subteam');
    const off = emu.addUsergroup('Old team', { users: [alice.id], disabled: true });
    expect((await slackError(client.usergroups.users.list({ usergroup: off.id }))).error).toBe('no_such_subteam');
    expect((await client.usergroups.users.list({ usergroup: off.id, include_disabled: true })).users).toEqual([alice.id]);
    emu.setScopes(['chat:write']);
    expect((await slackError(client.usergroups.users.list({ usergroup: g.id }))).error).toBe('missing_scope');
  });

  it('conversations.history returns message metadata only with include_all_metadata', async () => {
    const ch = emu.addChannel('meta');
    const metadata = { event_type: 'firebreak_workflow_step', event_payload: { idempotency_key: 'k1' } };
    await client.chat.postMessage({ channel: ch.id, text: 'hello', metadata });
    const plain = await client.conversations.history({ channel: ch.id });
    expect(plain.messages![0]!.metadata).toBeUndefined();
    const withMeta = await client.conversations.history({ channel: ch.id, include_all_metadata: true });
    expect(withMeta.messages![0]!.metadata).toEqual(metadata);
  });
});
