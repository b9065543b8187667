import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackChannel, SlackUser } from '../../emulators/slack/index.js';
import type { WorkflowSlackPort } from '../../src/workflows/ports.js';
import { StepUpstreamError } from '../../src/workflows/ports.js';
import { backends } from '../helpers.js';
import { declareFromSlack, incidentChannel, person, startSlackStack, type SlackStack } from './stack.js';

// What workflow steps do in Slack, through the port the engine uses, against the emulator: posts land where they
// should, once per idempotency key (also when the last attempt stopped between Slack's answer and the record),
// invites bring people and user groups in, and Slack's refusals keep Slack's own code.

async function refusal(p: Promise<unknown>): Promise<StepUpstreamError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof StepUpstreamError) return err;
    throw err;
  }
  throw new Error('expected the step to be refused');
}

describe.each(backends)('the workflow Slack port (%s)', (backend) => {
  let s: SlackStack;
  let port: WorkflowSlackPort;
  let alice: SlackUser;
  let channel: SlackChannel;
  let incidentId: string;
  let reference: string;
  // Workflow posts only (the channel's own jobs post too, in the background).
  const posts = () => s.emu.calls('chat.postMessage').filter((c) => c.ok && (c.args.metadata as { event_type?: string } | undefined)?.event_type === 'firebreak_workflow_step').length;

  beforeAll(async () => {
    s = await startSlackStack({ backend });
    port = s.fb.app.slack.workflowPort;
    alice = person(s.emu, 'Alice Wf');
    await declareFromSlack(s, alice, { name: 'Checkout errors' });
    const inc = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
    incidentId = inc.id;
    reference = inc.reference;
    ({ channel } = await incidentChannel(s, inc.number));
  });
  afterAll(async () => s?.stop());

  it('knows it is connected, the incident channel and channel names', async () => {
    expect(await port.connected()).toBe(true);
    expect(await port.incidentChannel(incidentId)).toEqual({ id: channel.id, name: `#${channel.name}` });
    const ops = s.emu.addChannel('ops-wf');
    expect(await port.channelName(ops.id)).toBe('#ops-wf');
    expect(await port.channelName('C0NOTHERE')).toBeNull();
  });

  it('posts to the incident channel once per idempotency key, however often the step is retried', async () => {
    const before = posts();
    const looks = s.emu.calls('conversations.history').length;
    const first = await port.post({ incidentId, destination: { kind: 'incident_channel' }, text: `Paging payments for ${reference}`, idempotencyKey: 'wf:run1:0:0' });
    expect(first.posted).toHaveLength(1);
    expect(first.posted[0]!.channel).toBe(channel.id);
    const again = await port.post({ incidentId, destination: { kind: 'incident_channel' }, text: `Paging payments for ${reference}`, idempotencyKey: 'wf:run1:0:0' });
    expect(again).toEqual(first);
    expect(s.emu.messagesIn(channel.id).filter((m) => m.text === `Paging payments for ${reference}`)).toHaveLength(1);
    expect(posts()).toBe(before + 1);
    // The record answers the retry: Slack is not even asked.
    expect(s.emu.calls('conversations.history').length).toBe(looks);
  });

  it('a retry after Slack accepted but before the record was completed finds the message and does not post again', async () => {
    const key = 'wf:run-crash:1:0';
    const { posted } = await port.post({ incidentId, destination: { kind: 'incident_channel' }, text: 'Crash window', idempotencyKey: key });
    // As if the process died between Slack's answer and completing the record.
    await s.fb.app.database.db.updateTable('slack_workflow_posts').set({ status: 'sending', ts: null }).where('idempotency_key', '=', key).execute();
    const before = posts();
    const retried = await port.post({ incidentId, destination: { kind: 'incident_channel' }, text: 'Crash window', idempotencyKey: key });
    expect(retried.posted).toEqual(posted);
    expect(posts()).toBe(before);
    expect(s.emu.messagesIn(channel.id).filter((m) => m.text === 'Crash window')).toHaveLength(1);
    const look = s.emu.calls('conversations.history').at(-1)!.args;
    expect(look.channel).toBe(channel.id);
    expect(String(look.include_all_metadata)).toBe('true');
  });

  it('a retry after an attempt Slack never saw posts the message (once)', async () => {
    const key = 'wf:run-lost:0:0';
    // An attempt recorded its intent, then died before Slack got the message.
    await s.fb.app.database.db
      .insertInto('slack_workflow_posts')
      .values({ idempotency_key: key, target: 'incident', kind: 'post', channel_id: channel.id, ts: null, status: 'sending', result: null, created_at: new Date().toISOString(), updated_at: new Date().toISOString() })
      .execute();
    await port.post({ incidentId, destination: { kind: 'incident_channel' }, text: 'Never reached Slack', idempotencyKey: key });
    await port.post({ incidentId, destination: { kind: 'incident_channel' }, text: 'Never reached Slack', idempotencyKey: key });
    expect(s.emu.messagesIn(channel.id).filter((m) => m.text === 'Never reached Slack')).toHaveLength(1);
  });

  it('keeps Slack’s error code: channel_not_found and is_archived fail at once, rate limits are retryable', async () => {
    const notFound = await refusal(port.post({ incidentId, destination: { kind: 'channel', channelId: 'C0MISSING' }, text: 'x', idempotencyKey: 'wf:e:0:0' }));
    expect(notFound).toMatchObject({ source: 'slack', code: 'channel_not_found', retryable: false });
    expect(notFound.message).toContain('channel_not_found');
    const archived = s.emu.addChannel('old-team', { archived: true });
    expect(await refusal(port.post({ incidentId, destination: { kind: 'channel', channelId: archived.id }, text: 'x', idempotencyKey: 'wf:e:1:0' }))).toMatchObject({ code: 'is_archived', retryable: false });
    const ok = s.emu.addChannel('payments-team');
    s.emu.faults.rateLimit('chat.postMessage', 1, 120);
    expect(await refusal(port.post({ incidentId, destination: { kind: 'channel', channelId: ok.id }, text: 'Later', idempotencyKey: 'wf:e:2:0' }))).toMatchObject({ code: 'ratelimited', retryable: true });
    // The retry (the job queue's) posts it, once.
    await port.post({ incidentId, destination: { kind: 'channel', channelId: ok.id }, text: 'Later', idempotencyKey: 'wf:e:2:0' });
    await port.post({ incidentId, destination: { kind: 'channel', channelId: ok.id }, text: 'Later', idempotencyKey: 'wf:e:2:0' });
    expect(s.emu.messagesIn(ok.id).map((m) => m.text)).toEqual(['Later']);
  });

  it('joins a public channel it is not in before posting', async () => {
    const team = s.emu.addChannel('search-team', { botIsMember: false });
    await port.post({ incidentId, destination: { kind: 'channel', channelId: team.id }, text: 'Search is affected', idempotencyKey: 'wf:j:0:0' });
    expect(s.emu.messagesIn(team.id).map((m) => m.text)).toEqual(['Search is affected']);
    expect(s.emu.state.channels.get(team.id)!.members).toContain(s.emu.botUserId);
  });

  it('sends DMs to Firebreak users through their Slack accounts, once, and refuses people without one before sending anything', async () => {
    const aliceUser = (await s.owner.get('/api/v1/users')).body.users.find((u: any) => u.name === 'Alice Wf');
    const bob = person(s.emu, 'Bob Wf', 'bob.wf@example.com');
    const bobUser = (await s.owner.post('/api/v1/users', { name: 'Bob Wf', email: 'bob.wf@example.com', role: 'responder' })).body.user ?? (await s.owner.get('/api/v1/users')).body.users.find((u: any) => u.email === 'bob.wf@example.com');
    const dm = { kind: 'dm' as const, userIds: [aliceUser.id, bobUser.id] };
    const r = await port.post({ incidentId, destination: dm, text: `You are needed on ${reference}`, idempotencyKey: 'wf:dm:0:0' });
    expect(r.posted).toHaveLength(2);
    await port.post({ incidentId, destination: dm, text: `You are needed on ${reference}`, idempotencyKey: 'wf:dm:0:0' });
    expect(s.emu.dmsTo(alice.id).map((m) => m.text)).toEqual([`You are needed on ${reference}`]);
    expect(s.emu.dmsTo(bob.id).map((m) => m.text)).toEqual([`You are needed on ${reference}`]);

    const nobody = (await s.owner.post('/api/v1/users', { name: 'Nadia Noslack', email: 'nadia@elsewhere.example', role: 'responder' })).body;
    const nadiaId = nobody.user?.id ?? nobody.id;
    const before = posts();
    const e = await refusal(port.post({ incidentId, destination: { kind: 'dm', userIds: [aliceUser.id, nadiaId] }, text: 'x', idempotencyKey: 'wf:dm:1:0' }));
    expect(e).toMatchObject({ code: 'users_not_found', retryable: false });
    expect(e.message).toContain('Nadia Noslack');
    expect(posts()).toBe(before);
  });

  it('invites people and a user group’s members to the incident channel, and a retry answers the same', async () => {
    const carol = person(s.emu, 'Carol Group');
    const dan = person(s.emu, 'Dan Group');
    const group = s.emu.addUsergroup('Payments on-call', { users: [carol.id, dan.id, alice.id] });
    const erin = person(s.emu, 'Erin Invite', 'erin.invite@example.com');
    const erinUser = (await s.owner.post('/api/v1/users', { name: 'Erin Invite', email: 'erin.invite@example.com', role: 'responder' })).body;
    const erinId = erinUser.user?.id ?? erinUser.id;
    const result = await port.invite({ incidentId, userIds: [erinId], usergroupId: group.id, idempotencyKey: 'wf:inv:0:0' });
    const members = s.emu.state.channels.get(channel.id)!.members;
    for (const u of [carol, dan, erin]) expect(members).toContain(u.id);
    expect([...result.invited].sort()).toEqual(['Carol Group', 'Dan Group', 'Erin Invite']);
    expect(result.skipped).toEqual([{ who: 'Alice Wf', reason: 'already in the channel' }]);
    const invites = s.emu.calls('conversations.invite').length;
    expect(await port.invite({ incidentId, userIds: [erinId], usergroupId: group.id, idempotencyKey: 'wf:inv:0:0' })).toEqual(result);
    expect(s.emu.calls('conversations.invite').length).toBe(invites);
    expect(s.emu.calls('usergroups.users.list').at(-1)!.args).toMatchObject({ usergroup: group.id });
  });

  it('an incident whose channel is still being made is retried; one without a channel at all fails with the reason', async () => {
    const created = await s.owner.post('/api/v1/incidents', { name: 'No channel yet' });
    const inc = created.body.incident ?? created.body;
    const id = inc.id;
    const db = s.fb.app.database.db;
    await incidentChannel(s, inc.number);
    // As if the channel job had not run yet.
    await db.updateTable('slack_incidents').set({ channel_id: null }).where('incident_id', '=', id).execute();
    const fresh = await refusal(port.post({ incidentId: id, destination: { kind: 'incident_channel' }, text: 'x', idempotencyKey: 'wf:nc:0:0' }));
    expect(fresh).toMatchObject({ code: 'no_incident_channel', retryable: true });
    expect(fresh.message).toContain('being created');
    await db.updateTable('incidents').set({ created_at: new Date(Date.now() - 3600_000).toISOString() }).where('id', '=', id).execute();
    const old = await refusal(port.invite({ incidentId: id, userIds: [], usergroupId: null, idempotencyKey: 'wf:nc:1:0' }));
    expect(old).toMatchObject({ code: 'no_incident_channel', retryable: false });
    expect(old.message).toMatch(/^INC-\d+ has no Slack channel/);
  });

  it('an unknown user group is refused with Slack’s code', async () => {
    expect(await refusal(port.invite({ incidentId, userIds: [], usergroupId: 'S0NOPE', idempotencyKey: 'wf:inv:1:0' }))).toMatchObject({ source: 'slack', code: 'no_such_subteam', retryable: false });
  });
});
