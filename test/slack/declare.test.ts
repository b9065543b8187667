import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers.js';
import { declaredIncident, declareFromSlack, incidentChannel, incidentsNamed, person, startSlackStack, waitFor, type SlackStack, type SlackView } from './stack.js';

// A responder declares an incident from Slack and everyone sees it: a channel, the header, the announcement.

describe.each(backends)('declaring an incident from Slack (%s)', (backend) => {
  let s: SlackStack;
  beforeAll(async () => {
    s = await startSlackStack({ backend });
  });
  afterAll(async () => s?.stop());

  it('opens the declare modal right after a fast ack', async () => {
    const alice = person(s.emu, 'Alice');
    const general = [...s.emu.state.channels.values()].find((c) => c.isGeneral)!;
    const cmd = await s.emu.driver.slashCommand({ userId: alice.id, channelId: general.id, command: '/incident', text: '' });
    expect(cmd.status).toBe(200);
    expect(cmd.timedOut).toBe(false);
    expect(cmd.ackMs).toBeLessThan(3000);
    const view = await waitFor('modal', () => s.emu.openViews(alice.id)[0]);
    expect(view.callbackId).toBe('firebreak_declare');
    expect(view.blocks.map((b) => b.block_id)).toEqual(['name', 'summary', 'severity', 'triage']);
  });

  it('creates the incident, its channel, invites the declarer, pins the header and announces it', async () => {
    const bob = person(s.emu, 'Bob Builder', 'Bob.Builder@Example.com');
    const { submit } = await declareFromSlack(s, bob, { name: 'Checkout is down!', severity: 'sev-critical', summary: 'Payments fail with 500s' });
    expect(submit.status).toBe(200);
    expect(submit.view.isOpen).toBe(false);

    const list = (await s.owner.get('/api/v1/incidents')).body.incidents as any[];
    const inc = list.find((i) => i.name === 'Checkout is down!');
    expect(inc).toBeTruthy();
    expect(inc.severity.name).toBe('Critical');
    expect(inc.status.name).toBe('Investigating');
    expect(inc.creator.user.name).toBe('Bob Builder');

    const { channel, header } = await incidentChannel(s, inc.number);
    expect(channel.name).toBe(`inc-${inc.number}-checkout-is-down`);
    expect(channel.members).toContain(bob.id);
    const h = header();
    expect(h.text).toContain(`INC-${inc.number}: Checkout is down!`);
    expect(h.text).toContain('Status: Investigating');
    expect(h.text).toContain('Severity: Critical');
    expect(h.text).toContain('Lead: Bob Builder');
    expect(h.text).toContain(`${s.fb.baseUrl}/incidents/INC-${inc.number}`);

    const announcement = await waitFor('announcement', () => s.emu.messagesIn(s.announcements.id).find((m) => m.text.includes(`INC-${inc.number}`)));
    expect(announcement.text).toContain(`<#${channel.id}>`);

    // Where Bob typed the command, only he sees where to go.
    const general = [...s.emu.state.channels.values()].find((c) => c.isGeneral)!;
    const confirm = await waitFor('confirmation', () => s.emu.ephemeralsFor(bob.id).find((e) => e.channel === general.id));
    expect(confirm.text).toContain(`INC-${inc.number} is declared`);
    expect(confirm.text).toContain(`${s.fb.baseUrl}/incidents/INC-${inc.number}`);

    await waitFor('channel recorded on the incident', async () => (await s.owner.get(`/api/v1/incidents/${inc.id}`)).body.incident.slack_channel_id === channel.id);

    // The Slack person became a Firebreak responder, matched by email without case.
    const users = (await s.owner.get('/api/v1/users')).body.users as any[];
    const u = users.find((x) => x.email === 'Bob.Builder@Example.com');
    expect(u).toMatchObject({ role: 'responder', slack_user_id: bob.id });
  });

  it('links an existing Firebreak user by email, whatever the case', async () => {
    const made = await s.owner.post('/api/v1/users', { name: 'Carol Existing', email: 'carol.existing@example.com', role: 'admin' });
    expect(made.status).toBe(201);
    const carol = person(s.emu, 'Carol', 'CAROL.Existing@example.com');
    await declareFromSlack(s, carol, { name: 'Search slow' });
    const users = (await s.owner.get('/api/v1/users')).body.users as any[];
    const matching = users.filter((x) => x.email.toLowerCase() === 'carol.existing@example.com');
    expect(matching).toHaveLength(1);
    expect(matching[0]).toMatchObject({ role: 'admin', slack_user_id: carol.id });
  });

  it('/incident declare <name> fills the name in', async () => {
    const gil = person(s.emu, 'Gil');
    const general = [...s.emu.state.channels.values()].find((c) => c.isGeneral)!;
    await s.emu.driver.slashCommand({ userId: gil.id, channelId: general.id, command: '/inc', text: 'declare Login errors in EU' });
    const view = await waitFor('modal', () => s.emu.openViews(gil.id)[0]);
    const sub = await s.emu.driver.submitView({ userId: gil.id, viewId: view.id });
    expect(sub.view.isOpen).toBe(false);
    const inc = await declaredIncident(s, 'Login errors in EU');
    expect(inc.creator.user.name).toBe('Gil');
  });

  it('shows validation errors inside the modal and creates nothing', async () => {
    const dan = person(s.emu, 'Dan');
    const before = (await s.owner.get('/api/v1/incidents?limit=100')).body.incidents.length;
    const { submit } = await declareFromSlack(s, dan, { name: 'x' });
    expect(submit.view.isOpen).toBe(true);
    expect(submit.view.errors?.name).toMatch(/at least 3 characters/);
    expect((await s.owner.get('/api/v1/incidents?limit=100')).body.incidents.length).toBe(before);
  });

  it('a double submit of one modal declares one incident', async () => {
    const erin = person(s.emu, 'Erin');
    const general = [...s.emu.state.channels.values()].find((c) => c.isGeneral)!;
    await s.emu.driver.slashCommand({ userId: erin.id, channelId: general.id, command: '/incident', text: 'declare' });
    const view = await waitFor('modal', () => s.emu.openViews(erin.id)[0]);
    const values = { name: { value: 'Double trouble' } };
    const first = await s.emu.driver.submitView({ userId: erin.id, viewId: view.id, values });
    expect(first.status).toBe(200);
    // A second click on Submit before the modal closed: the same view again, with a new trigger id.
    const payload = JSON.parse(new URLSearchParams(s.emu.driver.lastRequest()!.body).get('payload')!);
    payload.trigger_id = s.emu.issueTriggerId(erin.id);
    const again = await s.emu.driver.raw({ body: new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), contentType: 'application/x-www-form-urlencoded' });
    expect(again.status).toBe(200);
    await declaredIncident(s, 'Double trouble');
    await s.fb.app.jobs.drain(10_000); // both submissions' jobs have run
    const list = (await s.owner.get('/api/v1/incidents?limit=100')).body.incidents as any[];
    expect(list.filter((i) => i.name === 'Double trouble')).toHaveLength(1);
    // One confirmation: the second job found the first's incident and said nothing.
    const confirmations = await waitFor('confirmation', () => {
      const c = s.emu.ephemeralsFor(erin.id).filter((e) => e.text.includes('is declared'));
      return c.length ? c : undefined;
    });
    expect(confirmations).toHaveLength(1);
  });

  it('people submitting at the same moment each declare as themselves; one made a viewer meanwhile is refused in the modal', async () => {
    // Their lookups and the form's rules are read together for submissions arriving in one turn of the event loop
    // (platform/per-turn.ts): each answer must still belong to its own person, with their role as it is now.
    const people = ['Hana', 'Ivo', 'Jun', 'Kit'].map((n) => person(s.emu, n));
    const general = [...s.emu.state.channels.values()].find((c) => c.isGeneral)!;
    const views: SlackView[] = [];
    for (const p of people) {
      await s.emu.driver.slashCommand({ userId: p.id, channelId: general.id, command: '/incident', text: 'declare' });
      views.push(await waitFor('the declare modal', () => s.emu.openViews(p.id).find((v) => v.callbackId === 'firebreak_declare')));
    }
    const users = async () => (await s.owner.get('/api/v1/users')).body.users as any[];
    const kit = await waitFor('Kit is a Firebreak user', async () => (await users()).find((u) => u.slack_user_id === people[3]!.id));
    expect((await s.owner.patch(`/api/v1/users/${kit.id}`, { role: 'viewer' })).status).toBe(200);
    const subs = await Promise.all(people.map((p, i) => s.emu.driver.submitView({ userId: p.id, viewId: views[i]!.id, values: { name: { value: `Together ${p.realName}` } } })));
    expect(subs.slice(0, 3).map((r) => r.view.isOpen)).toEqual([false, false, false]);
    expect(subs[3]!.view.isOpen).toBe(true);
    expect(subs[3]!.view.errors?.name).toMatch(/You are a viewer in Firebreak/);
    for (const name of ['Hana', 'Ivo', 'Jun']) expect((await declaredIncident(s, `Together ${name}`)).creator.user.name).toBe(name);
    await s.fb.app.jobs.drain(10_000);
    expect(await incidentsNamed(s, 'Together Kit')).toBe(0);
  });

  // Row locks are PostgreSQL's (SQLite runs one writing transaction at a time): the test exists on PostgreSQL only.
  if (backend === 'postgres') it('meeting someone new does not wait for a change of people holding the owners (PostgreSQL row locks)', async () => {
    // An admin's change of someone's role locks the owners' rows until it commits (the last-owner rule). Firebreak
    // creating a Slack person needs no such check, so it must not queue behind that lock.
    await s.fb.app.database.db.transaction().execute(async (tx) => {
      await sql`select id from users where role = 'owner' for update`.execute(tx);
      const lena = person(s.emu, 'Lena');
      const { submit } = await declareFromSlack(s, lena, { name: 'Queue behind nobody' });
      expect(submit.view.isOpen).toBe(false);
      expect((await declaredIncident(s, 'Queue behind nobody')).creator.user.name).toBe('Lena');
    });
  });

  it('names the channel with a suffix when the name is taken', async () => {
    const next = (await s.owner.get('/api/v1/incidents?limit=1')).body.incidents[0].number + 1;
    s.emu.addChannel(`inc-${next}-db-failover`);
    const fay = person(s.emu, 'Fay');
    await declareFromSlack(s, fay, { name: 'DB failover' });
    const ch = await waitFor('suffixed channel with the declarer in it', () => {
      const c = s.emu.channelByName(`inc-${next}-db-failover-2`);
      return c?.members.includes(fay.id) ? c : undefined;
    });
    expect(s.emu.calls('conversations.create').filter((c) => String(c.args.name).startsWith(`inc-${next}-`)).map((c) => c.error ?? 'ok')).toEqual(['name_taken', 'ok']);
    const inc = (await s.owner.get(`/api/v1/incidents/INC-${next}`)).body.incident;
    await waitFor('channel recorded', async () => (await s.owner.get(`/api/v1/incidents/INC-${next}`)).body.incident.slack_channel_id === ch.id);
    expect(inc.name).toBe('DB failover');
  });
});
