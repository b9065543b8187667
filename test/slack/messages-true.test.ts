import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackEmulator, type SlackChannel, type SlackEmulator, type SlackMessage } from '../../emulators/slack/index.js';
import { backends, userClient } from '../helpers.js';
import { setupLinks, timeline, type LinksSetup } from '../pagerduty-links/helpers.js';
import { declareFromSlack, ephemeralText, incidentChannel, person, startSlackStack, waitFor, type SlackStack } from './stack.js';

// Slack messages that stay true: the announcement follows the incident (chat.update, never a second post), the
// channel topic says status, severity and lead, a used button gives way to its outcome in words, a stale button
// gets a friendly answer, one /incident update is one message, channels can be archived a while after close,
// and whoever accepts a triage incident joins its channel.

/** What a person reads in a message: its text and every piece of text in its blocks. */
function readable(m: Pick<SlackMessage, 'text' | 'blocks'>): string {
  const texts: string[] = [m.text];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.text === 'string') texts.push(o.text);
      Object.values(o).forEach(walk);
    }
  };
  walk(m.blocks ?? []);
  return texts.join('\n');
}
const hasButtons = (m: Pick<SlackMessage, 'blocks'>) => (m.blocks ?? []).some((b: any) => b.type === 'actions');
const OUTCOME_TIME = /at \d\d:\d\d (UTC|[A-Za-z_]+\/[A-Za-z_]+)/;

describe.each(backends)('Slack messages stay true (%s)', (backend) => {
  let s: SlackStack;
  beforeAll(async () => {
    s = await startSlackStack({ backend });
  });
  afterAll(async () => s?.stop());

  const announcementOf = (ref: string) => s.emu.messagesIn(s.announcements.id).filter((m) => m.text.includes(`${ref} `));

  it('the announcement is updated in place with chat.update when severity, lead, name and status change, and links to the page and the channel', async () => {
    const alice = person(s.emu, 'Alice Archer');
    await declareFromSlack(s, alice, { name: 'Checkout slow', severity: 'sev-minor' });
    const inc = ((await s.owner.get('/api/v1/incidents')).body.incidents as any[]).find((i) => i.name === 'Checkout slow');
    const { channel } = await incidentChannel(s, inc.number);
    const posted = await waitFor('announcement', () => announcementOf(inc.reference)[0]);
    expect(readable(posted)).toContain('Status *Investigating*');

    const me = (await s.owner.get('/api/v1/users')).body.users.find((u: any) => u.email === 'owner@localhost');
    expect((await s.owner.post(`/api/v1/incidents/${inc.id}/actions/severity`, { severity_id: 'sev-critical' })).status).toBe(200);
    expect((await s.owner.post(`/api/v1/incidents/${inc.id}/actions/lead`, { user_id: me.id })).status).toBe(200);
    expect((await s.owner.post('/api/v1/custom_fields', { key: 'blast_radius', name: 'Blast radius', type: 'text', show_in_declare: true })).status).toBe(201);
    expect((await s.owner.patch(`/api/v1/incidents/${inc.id}`, { name: 'Checkout down', custom_field_values: { blast_radius: 'EU shoppers' } })).status).toBe(200);
    expect((await s.owner.post(`/api/v1/incidents/${inc.id}/actions/close`, {})).status).toBe(200);

    const now = await waitFor('announcement reads Closed', () => announcementOf(inc.reference).find((m) => readable(m).includes('Status *Closed*')));
    console.log(`announcement of ${inc.reference} after close:\n${readable(now)}`);
    expect(announcementOf(inc.reference)).toHaveLength(1); // the same message, edited: no second post
    expect(now.ts).toBe(posted.ts);
    expect(now.edited).toBeTruthy();
    const text = readable(now);
    expect(text).toContain(`${inc.reference}: Checkout down`);
    expect(text).toContain('Severity *Critical*');
    expect(text).toContain('Lead *Owner*');
    expect(text).toContain('Blast radius: *EU shoppers*'); // a field the header shows
    expect(text).not.toContain('Investigating');
    expect(text).toContain(`<${s.fb.baseUrl}/incidents/${inc.reference}|`);
    expect(text).toContain(`<#${channel.id}>`);
    // Done through chat.update on that message, and the last update is what Slack shows.
    const updates = s.emu.calls('chat.update').filter((c) => c.args.channel === s.announcements.id && c.args.ts === posted.ts && c.ok);
    expect(updates.length).toBeGreaterThanOrEqual(1);
    expect(updates.at(-1)!.args.blocks).toEqual(now.blocks);
  });

  it('the channel topic shows status, severity and lead, kept current', async () => {
    const inc = (await s.owner.post('/api/v1/incidents', { name: 'Search stale', severity_id: 'sev-minor' })).body.incident;
    const { channel } = await incidentChannel(s, inc.number);
    const topic = () => s.emu.state.channels.get(channel.id)!.topic?.value ?? '';
    await waitFor('first topic', () => topic() === 'Status: Investigating | Severity: Minor | Lead: Owner');
    await s.owner.post(`/api/v1/incidents/${inc.id}/actions/severity`, { severity_id: 'sev-major' });
    await s.owner.post(`/api/v1/incidents/${inc.id}/actions/lead`, { user_id: null });
    await s.owner.post(`/api/v1/incidents/${inc.id}/actions/status`, { status_id: 'fixing' });
    await waitFor('current topic', () => topic() === 'Status: Fixing | Severity: Major | Lead: nobody yet');
    await s.fb.app.jobs.drain(10_000);
    // Set only when it changes (Slack shows a line in the channel for every topic change).
    const sets = s.emu.calls('conversations.setTopic').filter((c) => c.args.channel === channel.id);
    expect(new Set(sets.map((c) => c.args.topic)).size).toBe(sets.length);
  });

  it('/incident update posts one message for the whole update', async () => {
    const bea = person(s.emu, 'Bea Update');
    await declareFromSlack(s, bea, { name: 'Queue backlog' });
    const inc = ((await s.owner.get('/api/v1/incidents')).body.incidents as any[]).find((i) => i.name === 'Queue backlog');
    const { channel, header } = await incidentChannel(s, inc.number);
    await s.emu.driver.slashCommand({ userId: bea.id, channelId: channel.id, command: '/incident', text: 'update' });
    const view = await waitFor('update modal', () => s.emu.openViews(bea.id).find((v) => v.callbackId === 'firebreak_update'));
    const before = s.emu.messagesIn(channel.id).length;
    const r = await s.emu.driver.submitView({ userId: bea.id, viewId: view.id, values: { message: { value: 'Consumers restarted, backlog draining' }, status: { value: 'fixing' }, severity: { value: 'sev-critical' }, summary: { value: 'Consumers restarted' } } });
    expect(r.status).toBe(200);
    await waitFor('header updated', () => header().text.includes('Status: Fixing') && header().text.includes('Severity: Critical'));
    await s.fb.app.jobs.drain(10_000);
    const added = s.emu.messagesIn(channel.id).slice(before);
    console.log(`#${channel.name} after one /incident update:\n${added.map((m) => m.text).join('\n')}`);
    expect(added).toHaveLength(1);
    expect(added[0]!.text).toContain('from Bea Update: Consumers restarted, backlog draining (Fixing, Critical)');
  });

  it('archives the channel a while after close when set, and not when the incident was reopened meanwhile', async () => {
    expect((await s.owner.request('PUT', '/api/v1/integrations/slack/settings', { archive_after_close_minutes: -1 })).status).toBe(400);
    const set = await s.owner.request('PUT', '/api/v1/integrations/slack/settings', { archive_after_close_minutes: 0.01 });
    expect(set.status).toBe(200);
    expect(set.body.slack.archive_after_close_minutes).toBe(0.01);
    expect((await s.owner.get('/api/v1/integrations/slack')).body.slack.archive_after_close_minutes).toBe(0.01);
    try {
      const a = (await s.owner.post('/api/v1/incidents', { name: 'Archive me' })).body.incident;
      const { channel: chA } = await incidentChannel(s, a.number);
      await s.owner.post(`/api/v1/incidents/${a.id}/actions/close`, {});
      await waitFor('archived', () => s.emu.state.channels.get(chA.id)!.isArchived, 10_000);
      expect(s.emu.calls('conversations.archive').filter((c) => c.args.channel === chA.id && c.ok)).toHaveLength(1);

      await s.owner.request('PUT', '/api/v1/integrations/slack/settings', { archive_after_close_minutes: 0.03 });
      const b = (await s.owner.post('/api/v1/incidents', { name: 'Reopen me' })).body.incident;
      const { channel: chB } = await incidentChannel(s, b.number);
      await s.owner.post(`/api/v1/incidents/${b.id}/actions/close`, {});
      expect((await s.owner.post(`/api/v1/incidents/${b.id}/actions/status`, { status_id: 'fixing' })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 3000)); // past the 1.8 s delay
      await s.fb.app.jobs.drain(10_000);
      expect(s.emu.state.channels.get(chB.id)!.isArchived).toBe(false);
      expect(s.emu.calls('conversations.archive').filter((c) => c.args.channel === chB.id)).toHaveLength(0);
    } finally {
      await s.owner.request('PUT', '/api/v1/integrations/slack/settings', { archive_after_close_minutes: null });
    }
  });

  it('whoever accepts a triage incident in the web app is invited to its channel, and the announcement says who accepted and when', async () => {
    const val = s.emu.addUser({ name: 'valentina', realName: 'Valentina Ruiz', email: 'valentina.ruiz@example.com', tz: 'Europe/Madrid' });
    const { client } = await userClient(s.fb, s.owner, 'responder', 'valentina.ruiz@example.com');
    const inc = (await s.owner.post('/api/v1/incidents', { name: 'Disk alerts', triage: true })).body.incident;
    const { channel } = await incidentChannel(s, inc.number);
    expect(channel.members).not.toContain(val.id);
    expect((await client.post(`/api/v1/incidents/${inc.id}/actions/accept`, {})).status).toBe(200);
    await waitFor('Valentina invited', () => s.emu.state.channels.get(channel.id)!.members.includes(val.id));
    // In her Slack time zone, named.
    await waitFor('announcement with the decision', () => announcementOf(inc.reference).find((m) => /Accepted by A responder at \d\d:\d\d Europe\/Madrid/.test(readable(m))));
    expect(announcementOf(inc.reference)).toHaveLength(1);
  });
});

for (const backend of backends) {
  describe(`Slack buttons give way to their outcome (${backend})`, () => {
    let s: LinksSetup;
    let emu: SlackEmulator;
    let announcements: SlackChannel;
    beforeAll(async () => {
      emu = await startSlackEmulator();
      announcements = emu.addChannel('incidents', { botIsMember: true });
      s = await setupLinks(backend, { start: { slack: { botToken: emu.botToken, signingSecret: emu.signingSecret, apiUrl: emu.apiUrl, announcementsChannel: announcements.id } } });
      emu.setAppUrl(`${s.fb.baseUrl}/slack/events`);
    }, 120_000);
    afterAll(async () => {
      await s?.close();
      await emu?.stop();
    });

    const incidentOf = async (pdId: string) => waitFor('the incident', async () => s.fb.app.database.db.selectFrom('incidents').select(['id', 'number']).where('idempotency_key', '=', `pagerduty:${pdId}`).executeTakeFirst());
    const message = (channelId: string, ts: string) => emu.messagesIn(channelId).find((m) => m.ts === ts)!;

    it('Accept: the triage announcement is replaced by who accepted and when, without buttons; a stale Accept gets a friendly answer; the accepter joins the channel', async () => {
      const rule = await s.owner.post('/api/v1/integrations/pagerduty/auto_create_rules', { name: 'All to triage', create_as: 'triage' });
      try {
        const pd = await s.trigger(s.fallbackServiceId, { title: 'Orders stuck' });
        await s.settle();
        const msg = await waitFor('announcement', async () => emu.messagesIn(announcements.id).find((m) => m.text.includes('Orders stuck') && hasButtons(m)));
        const inc = await incidentOf(pd.id);
        const { channel } = await incidentChannel({ emu } as never, inc.number);
        const valentina = emu.addUser({ name: 'vruiz', realName: 'Valentina Ruiz', email: 'v.ruiz@example.com', tz: 'Europe/Madrid' });
        const late = person(emu, 'Larry Late');
        // Larry's Slack still shows the buttons: the update reaches Slack a little later.
        emu.faults.latencyMs('chat.update', 1500);
        expect((await emu.driver.clickButton({ userId: valentina.id, channelId: announcements.id, messageTs: msg.ts, actionId: 'pd_triage_accept' })).status).toBe(200);
        await waitFor('live', async () => (await s.owner.get(`/api/v1/incidents/${inc.id}`)).body.incident.status.category === 'live');
        expect((await emu.driver.clickButton({ userId: late.id, channelId: announcements.id, messageTs: msg.ts, actionId: 'pd_triage_accept' })).status).toBe(200);
        const stale = await waitFor('stale answer', async () => ephemeralText({ emu } as never, late.id));
        console.log(`Larry is told: ${stale}`);
        expect(stale).toMatch(new RegExp(`^INC-${inc.number} was already accepted by Valentina Ruiz at \\d\\d:\\d\\d Europe/Madrid\\.$`));
        emu.faults.clear();
        const after = await waitFor('replaced', async () => !hasButtons(message(announcements.id, msg.ts)) && message(announcements.id, msg.ts));
        console.log(`announcement after Accept:\n${readable(after)}`);
        expect(readable(after)).toMatch(/Accepted by Valentina Ruiz at \d\d:\d\d Europe\/Madrid/);
        expect(readable(after)).toContain('Orders stuck');
        expect(emu.calls('chat.update').some((c) => c.ok && c.args.ts === msg.ts && !JSON.stringify(c.args.blocks).includes('pd_triage_accept'))).toBe(true);
        await waitFor('Valentina in the channel', () => emu.state.channels.get(channel.id)!.members.includes(valentina.id));
        expect((await timeline(s.owner, inc.id)).filter((i) => i.kind === 'status_changed')).toHaveLength(1);
      } finally {
        emu.faults.clear();
        await s.owner.del(`/api/v1/integrations/pagerduty/auto_create_rules/${rule.body.rule.id}`);
      }
    });

    it('Decline and Merge: each announcement says what was decided, by whom and when, without buttons', async () => {
      const rule = await s.owner.post('/api/v1/integrations/pagerduty/auto_create_rules', { name: 'Everything', create_as: 'triage' });
      const target = (await s.owner.post('/api/v1/incidents', { name: 'The big one' })).body.incident;
      try {
        const a = await s.trigger(s.fallbackServiceId, { title: 'Merge me please' });
        const b = await s.trigger(s.fallbackServiceId, { title: 'Decline me please' });
        await s.settle();
        const msgA = await waitFor('A', async () => emu.messagesIn(announcements.id).find((m) => m.text.includes('Merge me please')));
        const msgB = await waitFor('B', async () => emu.messagesIn(announcements.id).find((m) => m.text.includes('Decline me please')));
        const incA = await incidentOf(a.id);
        const who = person(emu, 'Tri Age');
        await emu.driver.selectOption({ userId: who.id, channelId: announcements.id, messageTs: msgA.ts, actionId: 'pd_triage_merge', value: `${incA.id}|${target.id}` });
        await emu.driver.clickButton({ userId: who.id, channelId: announcements.id, messageTs: msgB.ts, actionId: 'pd_triage_decline' });
        const A = await waitFor('A replaced', async () => !hasButtons(message(announcements.id, msgA.ts)) && message(announcements.id, msgA.ts));
        const B = await waitFor('B replaced', async () => !hasButtons(message(announcements.id, msgB.ts)) && message(announcements.id, msgB.ts));
        expect(readable(A)).toMatch(new RegExp(`Merged into ${target.reference} by Tri Age ${OUTCOME_TIME.source}`));
        expect(readable(B)).toMatch(new RegExp(`Declined by Tri Age ${OUTCOME_TIME.source}`));
      } finally {
        await s.owner.del(`/api/v1/integrations/pagerduty/auto_create_rules/${rule.body.rule.id}`);
      }
    });

    it('"Is this related?" and "Acknowledge this PagerDuty incident?" are replaced by the answer; a second answer is told the first', async () => {
      const inc = (await s.owner.post('/api/v1/incidents', { name: 'Cache down again' })).body.incident;
      const { channel } = await incidentChannel({ emu } as never, inc.number);
      const pd = await s.trigger(s.fallbackServiceId, { title: 'Cache misses' });
      const other = s.bystander(pd.id);
      const olly = person(emu, 'Olly Other', other.email.trim().toLowerCase());
      const nina = person(emu, 'Nina No');
      await emu.driver.slashCommand({ userId: olly.id, channelId: channel.id, command: '/incident', text: `pd link ${pd.id}` });
      const q = await waitFor('question', async () => emu.messagesIn(channel.id).find((m) => m.text.includes('related to this incident')));
      emu.faults.latencyMs('chat.update', 1500);
      await emu.driver.clickButton({ userId: olly.id, channelId: channel.id, messageTs: q.ts, actionId: 'pd_related_yes' });
      await waitFor('answered', async () => (await timeline(s.owner, inc.id)).some((i) => i.kind === 'pagerduty.related_answered'));
      await emu.driver.clickButton({ userId: nina.id, channelId: channel.id, messageTs: q.ts, actionId: 'pd_related_no' });
      const told = await waitFor('Nina told', async () => ephemeralText({ emu } as never, nina.id));
      expect(told).toMatch(new RegExp(`^This was already answered: Marked as related by Olly Other ${OUTCOME_TIME.source}\\.$`));
      emu.faults.clear();
      const replaced = await waitFor('question replaced', async () => !hasButtons(message(channel.id, q.ts)) && message(channel.id, q.ts));
      console.log(`question after the answer:\n${readable(replaced)}`);
      expect(readable(replaced)).toContain('Cache misses');
      expect(readable(replaced)).toMatch(new RegExp(`Marked as related by Olly Other ${OUTCOME_TIME.source}`));
      expect((await timeline(s.owner, inc.id)).filter((i) => i.kind === 'pagerduty.related_answered')).toHaveLength(1);

      // Olly was not paged: the offer in his DMs, then its outcome.
      await s.settle();
      const dm = await waitFor('offer', async () => emu.dmsTo(olly.id).find((m) => JSON.stringify(m.blocks ?? []).includes('pd_ack_offer')));
      await emu.driver.clickButton({ userId: olly.id, channelId: dm.channel, messageTs: dm.ts, actionId: 'pd_ack_offer' });
      const done = await waitFor('offer replaced', async () => !hasButtons(message(dm.channel, dm.ts)) && message(dm.channel, dm.ts));
      expect(readable(done)).toMatch(new RegExp(`Acknowledged in PagerDuty by Olly Other ${OUTCOME_TIME.source}`));
      await waitFor('acknowledged as Olly', async () => s.pd.state.incidents.get(pd.id)!.acknowledgements.some((x) => x.user_id === other.id));
    });

    it('"Also resolve in PagerDuty" is replaced by what was resolved, by whom and when', async () => {
      const inc = (await s.owner.post('/api/v1/incidents', { name: 'Payments flaky' })).body.incident;
      const { channel } = await incidentChannel({ emu } as never, inc.number);
      const pd = await s.trigger(s.fallbackServiceId, { title: 'Payment timeouts' });
      const pat = person(emu, 'Pat Resolve', s.pd.state.users.get(s.assignees(pd.id)[0]!)!.email.trim().toLowerCase());
      await emu.driver.slashCommand({ userId: pat.id, channelId: channel.id, command: '/incident', text: `pd link ${pd.id}` });
      await waitFor('question', async () => emu.messagesIn(channel.id).find((m) => m.text.includes('related to this incident')));
      await s.owner.post(`/api/v1/incidents/${inc.id}/actions/close`, {});
      await s.settle();
      const offer = await waitFor('resolve offer', async () => emu.messagesIn(channel.id).find((m) => JSON.stringify(m.blocks ?? []).includes('pd_resolve_linked')));
      await emu.driver.clickButton({ userId: pat.id, channelId: channel.id, messageTs: offer.ts, actionId: 'pd_resolve_linked' });
      const done = await waitFor('offer replaced', async () => !hasButtons(message(channel.id, offer.ts)) && message(channel.id, offer.ts));
      expect(readable(done)).toMatch(new RegExp(`Resolved 1 PagerDuty incident by Pat Resolve ${OUTCOME_TIME.source}`));
      await waitFor('resolved in PagerDuty', async () => s.pd.state.incidents.get(pd.id)!.status === 'resolved');
    });
  });
}
