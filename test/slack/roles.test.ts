import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackChannel, SlackUser } from '../../emulators/slack/index.js';
import { backends } from '../helpers.js';
import { declareFromSlack, ephemeralText, incidentChannel, person, startSlackStack, waitFor, type SlackStack } from './stack.js';

// Roles from an incident channel: `/incident role Scribe @bob` gives it at once, `/incident role` opens a form,
// an unknown role name is answered with the names there are, a viewer is refused. The pinned header and the
// topic show the lead and who holds each role (a Slack mention when Firebreak knows the person's Slack account).

describe.each(backends)('/incident role (%s)', (backend) => {
  let s: SlackStack;
  let alice: SlackUser;
  let bob: SlackUser;
  let carol: SlackUser;
  let channel: SlackChannel;
  let header: () => { text: string; blocks?: unknown[] };
  let ref: string;
  let roles: Record<string, any>;

  const run = (user: SlackUser, text: string) => s.emu.driver.slashCommand({ userId: user.id, channelId: channel.id, command: '/incident', text });
  const incident = async () => (await s.owner.get(`/api/v1/incidents/${ref}`)).body.incident;
  const holder = async (role: string) => (await incident()).roles.find((r: any) => r.role.name === role)?.user?.name ?? null;
  const channelSays = (fragment: string) => waitFor(`"${fragment}" in the channel`, () => s.emu.messagesIn(channel.id).find((m) => m.text.includes(fragment)));
  const roleField = (role: string) => ((header().blocks ?? []) as any[]).find((b) => b.block_id === 'roles')?.fields.find((f: any) => f.text.startsWith(`*${role}*`))?.text as string | undefined;

  beforeAll(async () => {
    s = await startSlackStack({ backend });
    roles = {};
    for (const [name, description] of [['Communications', 'Keeps stakeholders informed'], ['Scribe', 'Keeps the timeline']] as const) {
      const r = await s.owner.post('/api/v1/incident_roles', { name, description });
      expect(r.status).toBe(201);
      roles[name] = r.body.incident_role;
    }
    alice = person(s.emu, 'Alice Ops');
    bob = person(s.emu, 'Bob Dev');
    carol = person(s.emu, 'Carol Comms');
    await declareFromSlack(s, alice, { name: 'Payments failing', severity: 'sev-minor' });
    const inc = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
    ref = inc.reference;
    ({ channel, header } = await incidentChannel(s, inc.number));
  });
  afterAll(async () => s?.stop());

  it('role <name> @someone gives the role (name without case), brings them in; the header and topic show them', async () => {
    const cmd = await run(alice, `role scribe <@${bob.id}|${bob.name}>`);
    expect(cmd.status).toBe(200);
    await waitFor('Bob is Scribe', async () => (await holder('Scribe')) === 'Bob Dev');
    await waitFor('Bob invited', () => s.emu.state.channels.get(channel.id)!.members.includes(bob.id));
    await channelSays('Scribe given to Bob Dev (by Alice Ops)');
    await waitFor('header shows the Scribe', () => header().text.includes('Lead: Alice Ops | Scribe: Bob Dev'));
    expect(roleField('Scribe')).toBe(`*Scribe*\n<@${bob.id}>`);
    await waitFor('topic shows the Scribe', () => (s.emu.state.channels.get(channel.id)!.topic?.value ?? '').endsWith('| Lead: Alice Ops | Scribe: Bob Dev'));
    const item = (await s.owner.get(`/api/v1/incidents/${ref}/timeline`)).body.items.find((i: any) => i.kind === 'role_assigned');
    expect(item.actor.user.name).toBe('Alice Ops');
  });

  it('an unknown role name is answered with the roles there are, and nothing changes', async () => {
    const before = await incident();
    await run(alice, `role Comms <@${carol.id}>`);
    await waitFor('the list of roles', () => ephemeralText(s, alice.id).includes('There is no role named "Comms". Roles: Communications, Scribe (and the lead: `/incident lead @someone`).'));
    await run(alice, 'role Scribe');
    await waitFor('usage', () => ephemeralText(s, alice.id).includes('Mention who takes the role'));
    expect((await incident()).roles).toEqual(before.roles);
  });

  it('role alone opens a form; submitting it gives the role, and the header follows', async () => {
    await run(alice, 'role');
    const view = await waitFor('role modal', () => s.emu.openViews(alice.id).find((v) => v.callbackId === 'firebreak_role'));
    const options = view.blocks.find((b: any) => b.block_id === 'role').element.options;
    expect(options.map((o: any) => [o.text.text, o.description?.text])).toEqual([
      ['Communications', 'Keeps stakeholders informed'],
      ['Scribe', 'Keeps the timeline · now: Bob Dev'],
    ]);
    const sub = await s.emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { role: { value: roles.Communications.id }, user: { value: carol.id } } });
    expect(sub.status).toBe(200);
    expect(sub.body?.response_action).toBeUndefined();
    await waitFor('Carol is Communications', async () => (await holder('Communications')) === 'Carol Comms');
    await waitFor('header shows both roles', () => header().text.includes('Lead: Alice Ops | Communications: Carol Comms | Scribe: Bob Dev'));
    expect(roleField('Communications')).toBe(`*Communications*\n<@${carol.id}>`);
  });

  it('the form shows a refusal next to the role when the role was deleted meanwhile, and nothing is written', async () => {
    const temp = (await s.owner.post('/api/v1/incident_roles', { name: 'Liaison' })).body.incident_role;
    await run(alice, 'role');
    const view = await waitFor('role modal', () => s.emu.openViews(alice.id).filter((v) => v.callbackId === 'firebreak_role' && v.isOpen).pop());
    expect((await s.owner.del(`/api/v1/incident_roles/${temp.id}`)).status).toBe(204);
    const sub = await s.emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { role: { value: temp.id }, user: { value: bob.id } } });
    expect(sub.body.response_action).toBe('errors');
    expect(sub.body.errors.role).toBe('The role Liaison was deleted; it can no longer be given.');
    expect((await incident()).roles.map((r: any) => r.role.name)).toEqual(['Communications', 'Scribe']);
  });

  it('role <name> none takes it away; the header drops it', async () => {
    await run(alice, 'role Communications none');
    await waitFor('nobody is Communications', async () => (await holder('Communications')) === null);
    await channelSays('Communications removed (was Carol Comms)');
    await waitFor('header without Communications', () => !header().text.includes('Communications:') && header().text.includes('Scribe: Bob Dev'));
  });

  it('a viewer is told why, and nothing changes', async () => {
    const vic = s.emu.addUser({ name: 'vic', realName: 'Vic Viewer', email: `vic-${backend}@example.com` });
    expect((await s.owner.post('/api/v1/users', { name: 'Vic Viewer', email: `vic-${backend}@example.com`, role: 'viewer' })).status).toBe(201);
    s.emu.state.channels.get(channel.id)!.members.push(vic.id);
    await run(vic, `role Scribe <@${vic.id}>`);
    await waitFor('refusal', () => ephemeralText(s, vic.id).includes('You are a viewer in Firebreak'));
    await run(vic, 'role');
    await waitFor('refusal for the form', () => ephemeralText(s, vic.id).split('You are a viewer').length === 3);
    expect(s.emu.openViews(vic.id)).toEqual([]);
    expect(await holder('Scribe')).toBe('Bob Dev');
  });
});
