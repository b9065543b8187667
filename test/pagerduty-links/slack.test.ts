import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackEmulator, type SlackChannel, type SlackEmulator } from '../../emulators/slack/index.js';
import { backends } from '../helpers.js';
import { ephemeralText, incidentChannel, person } from '../slack/stack.js';
import { setupLinks, timeline, waitFor, type LinksSetup } from './helpers.js';

// In Slack: a responder pastes a PagerDuty link with /incident pd link, the channel asks whether it is related,
// the paged person says yes and gets a DM saying Firebreak acknowledged it for them; someone PagerDuty did not
// page gets a DM button instead; a PagerDuty trigger opens a triage incident announced with Accept and Decline.

for (const backend of backends) {
  describe(`PagerDuty incidents in Slack (${backend})`, () => {
    let s: LinksSetup;
    let emu: SlackEmulator;
    let announcements: SlackChannel;
    const dmText = (userId: string) => emu.dmsTo(userId).map((m) => `${m.text} ${JSON.stringify(m.blocks ?? [])}`).join('\n');

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

    async function incidentWithChannel(name: string) {
      const inc = (await s.owner.post('/api/v1/incidents', { name })).body.incident;
      const { channel } = await incidentChannel({ emu } as never, inc.number);
      return { inc, channel };
    }

    it('/incident pd link attaches by URL, asks whether it is related; the paged person says yes and is DMed that it was acknowledged for them', async () => {
      const { inc, channel } = await incidentWithChannel('Payments down');
      const pd = await s.trigger(s.fallbackServiceId, { title: 'Payment API 5xx' });
      const pagedId = s.assignees(pd.id)[0]!;
      const paged = s.pd.state.users.get(pagedId)!;
      const responder = person(emu, 'Pat Paged', paged.email.trim().toLowerCase());
      await emu.driver.slashCommand({ userId: responder.id, channelId: channel.id, command: '/incident', text: `pd link https://firebreak-emulator.pagerduty.com/incidents/${pd.id}` });
      expect(await waitFor('answer', async () => ephemeralText({ emu } as never, responder.id))).toContain(`Attached PagerDuty incident #${pd.incident_number}`);
      const question = await waitFor('the related question', async () => emu.messagesIn(channel.id).find((m) => m.text.includes('related to this incident')));
      expect(JSON.stringify(question.blocks)).toContain('Payment API 5xx');
      const click = await emu.driver.clickButton({ userId: responder.id, channelId: channel.id, actionId: 'pd_related_yes' });
      expect(click.status).toBe(200);
      await s.settle();
      await waitFor('acknowledged', async () => s.pd.state.incidents.get(pd.id)!.status === 'acknowledged');
      expect(s.pd.state.incidents.get(pd.id)!.acknowledgements.map((a) => a.user_id)).toEqual([pagedId]);
      expect(await waitFor('the DM', async () => dmText(responder.id))).toContain(`We've acknowledged PagerDuty incident #${pd.incident_number} for you`);
      expect((await timeline(s.owner, inc.id)).some((i) => i.kind === 'pagerduty.auto_acknowledged')).toBe(true);
    });

    it('"No, not related" from the paged person never acknowledges in PagerDuty: no write to the PagerDuty incident, no offer, the link marked not related', async () => {
      const { inc, channel } = await incidentWithChannel('Login slow');
      const pd = await s.trigger(s.fallbackServiceId, { title: 'Auth latency' });
      const pagedId = s.assignees(pd.id)[0]!;
      // The person PagerDuty paged, who a "yes" would acknowledge for (see the first test).
      const responder = person(emu, 'Noah Notrelated', s.pd.state.users.get(pagedId)!.email.trim().toLowerCase());
      await emu.driver.slashCommand({ userId: responder.id, channelId: channel.id, command: '/incident', text: `pd link ${pd.id}` });
      await waitFor('the related question', async () => emu.messagesIn(channel.id).find((m) => m.text.includes('related to this incident')));
      const click = await emu.driver.clickButton({ userId: responder.id, channelId: channel.id, actionId: 'pd_related_no' });
      expect(click.status).toBe(200);
      await waitFor('the answer on the timeline', async () => (await timeline(s.owner, inc.id)).find((i) => i.kind === 'pagerduty.related_answered'));
      await s.settle();
      await s.fb.app.jobs.drain(20_000);
      expect(s.pd.state.incidents.get(pd.id)!.status).toBe('triggered');
      expect(s.pd.state.incidents.get(pd.id)!.acknowledgements).toEqual([]);
      expect(s.pd.requestLog().filter((e) => e.method !== 'GET' && e.path.startsWith(`/incidents/${pd.id}`))).toEqual([]);
      const links = (await s.owner.get(`/api/v1/incidents/${inc.id}/pagerduty_incidents`)).body.pagerduty_incidents;
      expect(links).toMatchObject([{ related: 'rejected', pagerduty_incident: { id: pd.id } }]);
      expect((await timeline(s.owner, inc.id)).some((i) => i.kind === 'pagerduty.auto_acknowledged')).toBe(false);
      expect(dmText(responder.id)).not.toContain("We've acknowledged");
      expect(dmText(responder.id)).not.toContain('pd_ack_offer');
    });

    it('when the DM cannot be sent the acknowledgement still happens', async () => {
      const { inc, channel } = await incidentWithChannel('Search down');
      const pd = await s.trigger(s.fallbackServiceId);
      const pagedId = s.assignees(pd.id)[0]!;
      const responder = person(emu, 'Dee Dm', s.pd.state.users.get(pagedId)!.email.trim().toLowerCase());
      await emu.driver.slashCommand({ userId: responder.id, channelId: channel.id, command: '/inc', text: `pd link ${pd.id}` });
      await waitFor('the related question', async () => emu.messagesIn(channel.id).find((m) => m.text.includes('related to this incident')));
      emu.faults.failNext('conversations.open', 'user_not_found');
      await emu.driver.clickButton({ userId: responder.id, channelId: channel.id, actionId: 'pd_related_yes' });
      await s.settle();
      await waitFor('acknowledged', async () => s.pd.state.incidents.get(pd.id)!.status === 'acknowledged');
      // PagerDuty holds the acknowledgement a moment before Firebreak records it: wait for the record, then
      // let everything settle and check it was recorded once.
      await waitFor('the acknowledgement on the timeline', async () => (await timeline(s.owner, inc.id)).some((i) => i.kind === 'pagerduty.auto_acknowledged'));
      await s.settle();
      expect((await timeline(s.owner, inc.id)).filter((i) => i.kind === 'pagerduty.auto_acknowledged')).toHaveLength(1);
      expect(dmText(responder.id)).not.toContain("We've acknowledged");
      emu.faults.clear();
    });

    it('someone PagerDuty did not page gets a DM button that acknowledges as them', async () => {
      const { channel } = await incidentWithChannel('Cache down');
      const pd = await s.trigger(s.fallbackServiceId);
      const other = s.bystander(pd.id);
      const responder = person(emu, 'Olly Other', other.email.trim().toLowerCase());
      await emu.driver.slashCommand({ userId: responder.id, channelId: channel.id, command: '/incident', text: `pd link ${pd.id}` });
      await waitFor('the related question', async () => emu.messagesIn(channel.id).find((m) => m.text.includes('related to this incident')));
      await emu.driver.clickButton({ userId: responder.id, channelId: channel.id, actionId: 'pd_related_yes' });
      await s.settle();
      expect(s.pd.state.incidents.get(pd.id)!.status).toBe('triggered');
      const dm = await waitFor('the offer', async () => emu.dmsTo(responder.id).find((m) => JSON.stringify(m.blocks ?? []).includes('pd_ack_offer')));
      expect(`${dm.text}`).toContain('did not page you');
      await emu.driver.clickButton({ userId: responder.id, channelId: dm.channel, actionId: 'pd_ack_offer' });
      await waitFor('acknowledged as them', async () => s.pd.state.incidents.get(pd.id)!.acknowledgements.some((a) => a.user_id === other.id));
    });

    it('a PagerDuty trigger matching a rule is announced with Accept and Decline; Accept in Slack makes it live and acknowledges for the paged person', async () => {
      const rule = await s.owner.post('/api/v1/integrations/pagerduty/auto_create_rules', { name: 'Everything high', urgencies: ['high'] });
      expect(rule.status).toBe(201);
      try {
        const pd = await s.trigger(s.fallbackServiceId, { title: 'Orders queue stuck', urgency: 'high' });
        await s.settle();
        const msg = await waitFor('the announcement', async () => emu.messagesIn(announcements.id).find((m) => JSON.stringify(m.blocks ?? []).includes('pd_triage_accept') && m.text.includes('Orders queue stuck')));
        const pagedId = s.assignees(pd.id)[0]!;
        const responder = person(emu, 'Acey Accept', s.pd.state.users.get(pagedId)!.email.trim().toLowerCase());
        const click = await emu.driver.clickButton({ userId: responder.id, channelId: announcements.id, messageTs: msg.ts, actionId: 'pd_triage_accept' });
        expect(click.status).toBe(200);
        const row = await waitFor('the incident', async () => s.fb.app.database.db.selectFrom('incidents').select('id').where('idempotency_key', '=', `pagerduty:${pd.id}`).executeTakeFirst());
        await waitFor('live', async () => (await s.owner.get(`/api/v1/incidents/${row.id}`)).body.incident.status.category === 'live');
        await s.settle();
        await waitFor('acknowledged', async () => s.pd.state.incidents.get(pd.id)!.acknowledgements.some((a) => a.user_id === pagedId));
      } finally {
        await s.owner.del(`/api/v1/integrations/pagerduty/auto_create_rules/${rule.body.rule.id}`);
      }
    });

    it('Decline and Merge from the announcement', async () => {
      const rule = await s.owner.post('/api/v1/integrations/pagerduty/auto_create_rules', { name: 'Everything', create_as: 'triage' });
      const target = (await s.owner.post('/api/v1/incidents', { name: 'The big one' })).body.incident;
      try {
        const a = await s.trigger(s.fallbackServiceId, { title: 'Merge me' });
        const b = await s.trigger(s.fallbackServiceId, { title: 'Decline me' });
        await s.settle();
        const msgA = await waitFor('announcement A', async () => emu.messagesIn(announcements.id).find((m) => m.text.includes('Merge me')));
        const msgB = await waitFor('announcement B', async () => emu.messagesIn(announcements.id).find((m) => m.text.includes('Decline me')));
        const who = person(emu, 'Tri Age');
        const incA = await waitFor('A', async () => s.fb.app.database.db.selectFrom('incidents').select('id').where('idempotency_key', '=', `pagerduty:${a.id}`).executeTakeFirst());
        const incB = await waitFor('B', async () => s.fb.app.database.db.selectFrom('incidents').select('id').where('idempotency_key', '=', `pagerduty:${b.id}`).executeTakeFirst());
        await emu.driver.selectOption({ userId: who.id, channelId: announcements.id, messageTs: msgA.ts, actionId: 'pd_triage_merge', value: `${incA.id}|${target.id}` });
        await emu.driver.clickButton({ userId: who.id, channelId: announcements.id, messageTs: msgB.ts, actionId: 'pd_triage_decline' });
        await waitFor('merged', async () => (await s.owner.get(`/api/v1/incidents/${incA.id}`)).body.incident.status.category === 'merged');
        await waitFor('declined', async () => (await s.owner.get(`/api/v1/incidents/${incB.id}`)).body.incident.status.category === 'declined');
        // Each incident opened from PagerDuty is announced once, by the message with the triage actions.
        await s.settle();
        expect(emu.messagesIn(announcements.id).filter((m) => m.text.includes('Merge me'))).toHaveLength(1);
        expect(emu.messagesIn(announcements.id).filter((m) => m.text.includes('Decline me'))).toHaveLength(1);
      } finally {
        await s.owner.del(`/api/v1/integrations/pagerduty/auto_create_rules/${rule.body.rule.id}`);
      }
    });
  });
}
