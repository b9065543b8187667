import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackChannel, SlackUser } from '../../emulators/slack/index.js';
import { backends } from '../helpers.js';
import { declareFromSlack, ephemeralText, incidentChannel, person, startSlackStack, waitFor, type SlackStack } from './stack.js';

// Running an incident from its channel: /incident update, lead, note, resolve, accept/decline, help, and what
// people see when a command is used in the wrong place or by someone who may not change incidents.

describe.each(backends)('/incident in an incident channel (%s)', (backend) => {
  let s: SlackStack;
  let alice: SlackUser;
  let bob: SlackUser;
  let channel: SlackChannel;
  let header: () => { text: string };
  let ref: string;

  const run = (user: SlackUser, text: string, channelId = channel.id, command = '/incident') => s.emu.driver.slashCommand({ userId: user.id, channelId, command, text });
  const incident = async () => (await s.owner.get(`/api/v1/incidents/${ref}`)).body.incident;
  const channelSays = (fragment: string) => waitFor(`"${fragment}" in the channel`, () => s.emu.messagesIn(channel.id).find((m) => m.text.includes(fragment)));

  beforeAll(async () => {
    s = await startSlackStack({ backend });
    alice = person(s.emu, 'Alice Ops');
    bob = person(s.emu, 'Bob Dev');
    await declareFromSlack(s, alice, { name: 'API latency spike', severity: 'sev-minor' });
    const inc = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
    ref = inc.reference;
    ({ channel, header } = await incidentChannel(s, inc.number));
    s.emu.state.channels.get(channel.id)!.members.push(bob.id);
  });
  afterAll(async () => s?.stop());

  it('update opens a modal whose submission posts one update changing status, severity and summary; the header follows', async () => {
    const cmd = await run(alice, 'update');
    expect(cmd.status).toBe(200);
    const view = await waitFor('update modal', () => s.emu.openViews(alice.id).find((v) => v.callbackId === 'firebreak_update'));
    const statusOptions = view.blocks.find((b) => b.block_id === 'status').element.options.map((o: any) => o.value);
    expect(statusOptions).toEqual(['investigating', 'fixing', 'monitoring', 'closed', 'canceled']);
    const sub = await s.emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { message: { value: 'Rolling back the 10:02 deploy' }, status: { value: 'fixing' }, severity: { value: 'sev-major' }, summary: { value: 'p99 at 4 s since the 10:02 deploy' } } });
    expect(sub.status).toBe(200);
    expect(sub.view.isOpen).toBe(false);
    const after = await incident();
    expect(after.status.name).toBe('Fixing');
    expect(after.severity.name).toBe('Major');
    expect(after.summary).toBe('p99 at 4 s since the 10:02 deploy');
    await waitFor('header shows Fixing and Major', () => header().text.includes('Status: Fixing') && header().text.includes('Severity: Major'));
    await channelSays('Update on ' + ref + ' from Alice Ops: Rolling back the 10:02 deploy (Fixing, Major)');
  });

  it('lead @someone makes them lead, brings them in, and the header shows them', async () => {
    const carol = person(s.emu, 'Carol Lead');
    await run(alice, `lead <@${carol.id}|${carol.name}>`);
    await waitFor('lead is Carol', async () => (await incident()).lead?.name === 'Carol Lead');
    await waitFor('Carol invited', () => s.emu.state.channels.get(channel.id)!.members.includes(carol.id));
    await waitFor('header shows the new lead', () => header().text.includes('Lead: Carol Lead'));
    await channelSays('Lead set to Carol Lead');
  });

  it('lead without a mention explains how', async () => {
    await run(alice, 'lead carol');
    await waitFor('usage', () => ephemeralText(s, alice.id).includes('Mention the new lead'));
  });

  it('note <text> adds a timeline note that also shows in the channel', async () => {
    await run(bob, 'note Rolled back deploy 4812 & watching');
    const timeline = await waitFor('note on the timeline', async () => {
      const items = (await s.owner.get(`/api/v1/incidents/${ref}/timeline`)).body.items as any[];
      return items.find((i) => i.kind === 'note_added');
    });
    expect(timeline.text).toBe('Rolled back deploy 4812 & watching');
    expect(timeline.actor.user.name).toBe('Bob Dev');
    await channelSays('*Bob Dev* added a note: Rolled back deploy 4812 &amp; watching');
  });

  it('accept on a live incident says why not, and changes nothing', async () => {
    await run(alice, 'accept');
    await waitFor('refusal', () => ephemeralText(s, alice.id).includes(`Cannot accept ${ref}: it is Fixing`));
    expect((await incident()).status.name).toBe('Fixing');
  });

  it('resolve closes the incident and the header says Closed', async () => {
    await run(bob, 'resolve', channel.id, '/inc');
    await waitFor('closed', async () => (await incident()).status.name === 'Closed');
    await waitFor('header shows Closed', () => header().text.includes('Status: Closed'));
    await channelSays('Status changed from Fixing to Closed (by Bob Dev)');
  });

  it('accept and decline run a triage incident', async () => {
    await declareFromSlack(s, alice, { name: 'Maybe broken logins', triage: true });
    const triaged = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
    expect(triaged.status.name).toBe('Triage');
    const { channel: tch, header: th } = await incidentChannel(s, triaged.number);
    await run(alice, 'accept', tch.id);
    await waitFor('accepted', async () => (await s.owner.get(`/api/v1/incidents/${triaged.id}`)).body.incident.status.name === 'Investigating');
    await waitFor('header shows Investigating', () => th().text.includes('Status: Investigating'));

    await declareFromSlack(s, alice, { name: 'Probably nothing', triage: true });
    const second = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
    const { channel: dch } = await incidentChannel(s, second.number);
    await run(alice, 'decline false alarm from a canary', dch.id);
    await waitFor('declined', async () => (await s.owner.get(`/api/v1/incidents/${second.id}`)).body.incident.status.name === 'Declined');
    const items = (await s.owner.get(`/api/v1/incidents/${second.id}/timeline`)).body.items as any[];
    expect(items.find((i) => i.kind === 'status_changed').payload.reason).toBe('false alarm from a canary');
  });
});

describe('/incident help, unknown subcommands and the wrong place', () => {
  let s: SlackStack;
  let general: SlackChannel;
  beforeAll(async () => {
    s = await startSlackStack();
    general = [...s.emu.state.channels.values()].find((c) => c.isGeneral)!;
  });
  afterAll(async () => s?.stop());

  it('help lists the subcommands', async () => {
    const u = person(s.emu, 'Helpy');
    await s.emu.driver.slashCommand({ userId: u.id, channelId: general.id, command: '/incident', text: 'help' });
    const text = await waitFor('help', () => ephemeralText(s, u.id));
    for (const sub of ['declare [name]', 'update', 'resolve', 'lead @someone', 'note <text>', 'accept', 'decline', 'escalate']) expect(text).toContain(`/incident ${sub}`);
  });

  it('an unknown subcommand gets the help, saying what was not understood', async () => {
    const u = person(s.emu, 'Typo');
    await s.emu.driver.slashCommand({ userId: u.id, channelId: general.id, command: '/inc', text: 'frobnicate now' });
    const text = await waitFor('help', () => ephemeralText(s, u.id));
    expect(text).toContain("I don't know `/inc frobnicate`");
    expect(text).toContain('/inc declare');
  });

  it('a channel subcommand outside an incident channel says where to run it', async () => {
    const u = person(s.emu, 'Lost');
    await s.emu.driver.slashCommand({ userId: u.id, channelId: general.id, command: '/incident', text: 'resolve' });
    const text = await waitFor('explanation', () => ephemeralText(s, u.id));
    expect(text).toContain("`/incident resolve` works in an incident's channel");
    expect(text).not.toContain('such as');
    // Once incident channels exist, it points at one.
    const declarer = person(s.emu, 'Decl');
    await declareFromSlack(s, declarer, { name: 'Example incident' });
    const inc = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
    const { channel } = await incidentChannel(s, inc.number);
    await s.emu.driver.slashCommand({ userId: u.id, channelId: general.id, command: '/incident', text: 'note hello' });
    await waitFor('second explanation', () => s.emu.ephemeralsFor(u.id).length === 2);
    expect(s.emu.ephemeralsFor(u.id)[1]!.text).toContain(`such as <#${channel.id}>`);
  });

  it('someone whose email Slack does not share is told why Firebreak cannot act for them', async () => {
    const noEmail = s.emu.addUser({ name: 'ghost', realName: 'Ghost' });
    const r = await s.emu.driver.slashCommand({ userId: noEmail.id, channelId: general.id, command: '/incident', text: 'declare' });
    expect(r.status).toBe(200);
    expect(await waitFor('explanation', () => ephemeralText(s, noEmail.id))).toContain('cannot see your Slack email address');
    expect(((await s.owner.get('/api/v1/users')).body.users as any[]).some((u) => u.name === 'Ghost')).toBe(false);
  });

  it('escalate outside an incident channel says where it works', async () => {
    const u = person(s.emu, 'Pager');
    await s.emu.driver.slashCommand({ userId: u.id, channelId: general.id, command: '/incident', text: 'escalate' });
    expect(await waitFor('answer', () => ephemeralText(s, u.id))).toContain("`/incident escalate` works in an incident's channel");
  });
});

describe('roles decide who may change incidents from Slack', () => {
  let s: SlackStack;
  beforeAll(async () => {
    s = await startSlackStack();
  });
  afterAll(async () => s?.stop());

  it('a viewer is told why they cannot resolve, declare or update, and nothing changes', async () => {
    const responder = person(s.emu, 'Rita');
    await declareFromSlack(s, responder, { name: 'Queue backlog' });
    const inc = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
    const { channel } = await incidentChannel(s, inc.number);

    expect((await s.owner.post('/api/v1/users', { name: 'Vic Viewer', email: 'vic@example.com', role: 'viewer' })).status).toBe(201);
    const vic = s.emu.addUser({ name: 'vic', realName: 'Vic Viewer', email: 'VIC@example.com' });
    s.emu.state.channels.get(channel.id)!.members.push(vic.id);

    await s.emu.driver.slashCommand({ userId: vic.id, channelId: channel.id, command: '/incident', text: 'resolve' });
    await waitFor('refusal', () => ephemeralText(s, vic.id).includes('You are a viewer in Firebreak'));
    expect((await s.owner.get(`/api/v1/incidents/${inc.id}`)).body.incident.status.name).toBe('Investigating');

    await s.emu.driver.slashCommand({ userId: vic.id, channelId: channel.id, command: '/incident', text: 'declare' });
    await waitFor('second refusal', () => s.emu.ephemeralsFor(vic.id).length === 2);
    expect(s.emu.openViews(vic.id)).toHaveLength(0);

    await s.emu.driver.slashCommand({ userId: vic.id, channelId: channel.id, command: '/incident', text: 'note hello' });
    await waitFor('third refusal', () => s.emu.ephemeralsFor(vic.id).length === 3);
    const items = (await s.owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items as any[];
    expect(items.filter((i) => i.kind === 'note_added')).toHaveLength(0);
    expect((await s.owner.get('/api/v1/incidents')).body.incidents).toHaveLength(1);
  });

  it('someone made a viewer after opening the declare form is refused inside the form', async () => {
    const wes = person(s.emu, 'Wes');
    const general = [...s.emu.state.channels.values()].find((c) => c.isGeneral)!;
    await s.emu.driver.slashCommand({ userId: wes.id, channelId: general.id, command: '/incident', text: 'declare' });
    const view = await waitFor('modal', () => s.emu.openViews(wes.id)[0]);
    const user = await waitFor('Wes linked', async () => ((await s.owner.get('/api/v1/users')).body.users as any[]).find((u) => u.slack_user_id === wes.id));
    expect((await s.owner.patch(`/api/v1/users/${user.id}`, { role: 'viewer' })).status).toBe(200);
    const sub = await s.emu.driver.submitView({ userId: wes.id, viewId: view.id, values: { name: { value: 'Should not exist' } } });
    expect(sub.view.isOpen).toBe(true);
    expect(sub.view.errors?.name).toContain('You are a viewer');
    expect(((await s.owner.get('/api/v1/incidents')).body.incidents as any[]).some((i) => i.name === 'Should not exist')).toBe(false);
  });
});
