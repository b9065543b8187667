import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { declareFromSlack, incidentChannel, person, startSlackStack, waitFor, type SlackStack } from './stack.js';

// A slow or rate-limiting Slack never makes a command miss its 3-second ack, and calls Slack refuses for a
// while are retried as Slack asks.

describe('when Slack is slow or refuses for a while', () => {
  let s: SlackStack;
  beforeAll(async () => {
    s = await startSlackStack({ announcementsBotMember: false });
  });
  afterAll(async () => s?.stop());
  beforeEach(() => s.emu.faults.clear());

  it('views.open and chat.postMessage taking 2.5 s: every ack still arrives well within 3 s, and the work gets done', async () => {
    s.emu.faults.latencyMs('views.open', 2500);
    s.emu.faults.latencyMs('chat.postMessage', 2500);
    const alice = person(s.emu, 'Alice Slow');
    const { cmd, submit } = await declareFromSlack(s, alice, { name: 'Slow Slack day' });
    expect(cmd.timedOut).toBe(false);
    expect(cmd.ackMs).toBeLessThan(2000); // views.open alone takes 2.5 s: the ack did not wait for it
    expect(submit.timedOut).toBe(false);
    expect(submit.ackMs).toBeLessThan(2000);
    expect(submit.view.isOpen).toBe(false);

    const inc = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
    const { channel } = await incidentChannel(s, inc.number);
    const note = await s.emu.driver.slashCommand({ userId: alice.id, channelId: channel.id, command: '/incident', text: 'note still here' });
    expect(note.timedOut).toBe(false);
    expect(note.ackMs).toBeLessThan(2000);
    await waitFor('note posted in the channel', () => s.emu.messagesIn(channel.id).some((m) => m.text.includes('still here')), 15_000);
  }, 30_000);

  it('a submission that cannot finish in time still closes the modal within 3 s, and the incident is declared', async () => {
    // A new person, and Slack takes 3.2 s to say who they are: the declaration cannot finish before the ack is due.
    s.emu.faults.latencyMs('users.info', 3200);
    const gus = person(s.emu, 'Gus Unknown');
    const { submit } = await declareFromSlack(s, gus, { name: 'Declared while Slack dawdles' });
    expect(submit.timedOut).toBe(false);
    expect(submit.ackMs).toBeLessThan(2800);
    expect(submit.view.isOpen).toBe(false);
    const inc = await waitFor('the incident', async () => ((await s.owner.get('/api/v1/incidents')).body.incidents as any[]).find((i) => i.name === 'Declared while Slack dawdles'), 10_000);
    expect(inc.creator.user.name).toBe('Gus Unknown');
    const { channel } = await incidentChannel(s, inc.number);
    expect(channel.members).toContain(gus.id);
  }, 20_000);

  it('a 429 with Retry-After is waited out and retried', async () => {
    await s.fb.app.jobs.drain(15_000); // earlier tests' posts are done: the next chat.postMessage is this incident's header
    s.emu.faults.rateLimit('chat.postMessage', 1, 1);
    const bob = person(s.emu, 'Bob Limited');
    await declareFromSlack(s, bob, { name: 'Rate limited header' });
    const inc = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
    const { channel } = await incidentChannel(s, inc.number);
    const [limited, retry] = s.emu.calls('chat.postMessage').filter((c) => c.args.channel === channel.id);
    expect(limited).toMatchObject({ status: 429, error: 'ratelimited' });
    // The same message again, once Retry-After (1 s) has passed, and it went through.
    expect(retry).toMatchObject({ status: 200, ok: true, args: { text: limited!.args.text } });
    expect(retry!.at - limited!.at).toBeGreaterThanOrEqual(950);
  });

  it('not_in_channel: the bot joins the announcements channel and posts', async () => {
    const inc = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
    // The announcement is a job of its own, after the channel's: wait for it rather than assume it is done.
    await waitFor('the announcement', () => s.emu.messagesIn(s.announcements.id).some((m) => m.text.includes(inc.reference)), 15_000);
    const joinCalls = s.emu.calls('conversations.join').filter((c) => c.args.channel === s.announcements.id);
    expect(joinCalls.length).toBeGreaterThanOrEqual(1);
  });

  it('a failing channel creation is retried, then reported to the declarer', async () => {
    s.emu.faults.failNext('conversations.create', 'fatal_error');
    const carol = person(s.emu, 'Carol Retry');
    await declareFromSlack(s, carol, { name: 'Retry channel' });
    const inc = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
    const { channel } = await incidentChannel(s, inc.number);
    expect(channel.members).toContain(carol.id);
    expect(s.emu.calls('conversations.create').filter((c) => String(c.args.name).startsWith(`inc-${inc.number}-`)).map((c) => c.error ?? 'ok')).toEqual(['fatal_error', 'ok']);

    s.emu.faults.failNext('conversations.create', 'missing_scope');
    const dan = person(s.emu, 'Dan Scope');
    await declareFromSlack(s, dan, { name: 'No scope' });
    const dm = await waitFor('DM about the failure', () => s.emu.dmsTo(dan.id)[0]);
    expect(dm.text).toContain('could not set up its Slack channel');
    expect(dm.text).toContain('missing_scope');
  }, 20_000);
});
