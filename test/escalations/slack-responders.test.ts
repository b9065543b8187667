import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackEmulator, type SlackChannel, type SlackEmulator, type SlackUser } from '../../emulators/slack/index.js';
import { backends } from '../helpers.js';
import { declareFromSlack, incidentChannel, person } from '../slack/stack.js';
import { setupEscalations, waitFor, type EscSetup } from './helpers.js';

// "In the incident channel, a responder runs /incident escalate, chooses to add people to the PagerDuty incident
// already linked instead of paging anew, and the channel message shows each of them asked, then joined or declined."

const blocksText = (m: { text: string; blocks?: unknown[] }) => `${m.text}\n${JSON.stringify(m.blocks ?? [])}`;

for (const backend of backends) {
  describe(`/incident escalate adding responders in Slack (${backend})`, () => {
    let s: EscSetup;
    let emu: SlackEmulator;
    let alice: SlackUser;
    let channel: SlackChannel;
    let incident: any;

    beforeAll(async () => {
      emu = await startSlackEmulator();
      const announcements = emu.addChannel('incidents', { botIsMember: true });
      s = await setupEscalations(backend, { autoWebhook: true, start: { slack: { botToken: emu.botToken, signingSecret: emu.signingSecret, apiUrl: emu.apiUrl, announcementsChannel: announcements.id } } });
      emu.setAppUrl(`${s.fb.baseUrl}/slack/events`);
      alice = person(emu, 'Alice Ops');
      const stack = { emu, fb: s.fb, owner: s.owner, announcements, stop: async () => {} };
      await declareFromSlack(stack, alice, { name: 'Payments are failing' });
      incident = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
      ({ channel } = await incidentChannel(stack, incident.number));
    }, 120_000);
    afterAll(async () => {
      await s?.close();
      await emu?.stop();
    });

    const openModal = async (user: SlackUser) => {
      const before = new Set(emu.openViews(user.id).map((v) => v.id));
      await emu.driver.slashCommand({ userId: user.id, channelId: channel.id, command: '/incident', text: 'escalate' });
      return waitFor('the escalate modal', async () => emu.openViews(user.id).find((v) => v.callbackId === 'firebreak_escalate' && !before.has(v.id)));
    };

    it('offers adding responders only once a PagerDuty incident is linked, then asks them and follows their answers in the channel', async () => {
      // Nothing linked yet: the modal is the usual one, without the choice.
      const plain = await openModal(alice);
      expect(plain.blocks.map((b: any) => b.block_id)).not.toContain('mode');
      await emu.driver.closeView({ userId: alice.id, viewId: plain.id });

      const service = [...s.pd.state.services.values()].find((x) => s.policies.some((p) => p.serviceIds.includes(x.id)))!;
      const pdInc = s.pd.admin.triggerIncident({ service_id: service.id, title: 'Payments 5xx (monitor)' });
      expect((await s.owner.post(`/api/v1/incidents/${incident.id}/pagerduty_incidents`, { pagerduty_incident: pdInc.id })).status).toBeLessThan(300);

      const view = await openModal(alice);
      const mode = view.blocks.find((b: any) => b.block_id === 'mode');
      expect(mode.element.options.map((o: any) => o.text.text)).toEqual(['Page them: a new PagerDuty incident each', `Add them as responders to PagerDuty #${pdInc.incident_number} "Payments 5xx (monitor)"`]);
      expect(mode.element.initial_option.value).toBe('new');

      const users = [...s.pd.state.users.values()].filter((u) => ['user', 'admin'].includes(u.role));
      const [ada, ben] = [users[3]!, users[4]!];
      const submit = await emu.driver.submitView({
        userId: alice.id,
        viewId: view.id,
        values: {
          mode: { esc_mode: `add:${pdInc.id}` },
          pd_users: { esc_pd_users: [{ value: ada.id, text: ada.name }, { value: ben.id, text: ben.name }] },
          message: { esc_message: 'Card payments fail since 10:02' },
          urgency: { esc_urgency: 'high' },
        },
      });
      expect(submit.status).toBe(200);
      expect(submit.body).toBeFalsy();
      const message = await waitFor('the channel message with both asked', async () =>
        emu.messagesIn(channel.id).find((m) => m.botId && blocksText(m).includes(`${ada.name}: asked, not answered yet`) && blocksText(m).includes(`${ben.name}: asked, not answered yet`)),
      );
      // (The policy of the linked service is suggested in the modal, so it is asked too.)
      expect(blocksText(message)).toMatch(new RegExp(`asked .*${ada.name}, ${ben.name} to join <`));
      expect(blocksText(message)).toContain(`/incidents/${pdInc.id}|PagerDuty #${pdInc.incident_number}`);
      expect(blocksText(message)).toContain('Card payments fail since 10:02');
      // PagerDuty was asked once, and no PagerDuty incident was opened.
      expect(s.pd.requestLog().filter((e) => e.method === 'POST' && e.path === `/incidents/${pdInc.id}/responder_requests`)).toHaveLength(1);
      expect(s.pd.requestLog().filter((e) => e.method === 'POST' && e.path === '/incidents')).toEqual([]);

      s.pd.actAs(ada.id).acceptResponderRequest(pdInc.id);
      s.pd.actAs(ben.id).declineResponderRequest(pdInc.id);
      await s.pd.webhooks.flush();
      await waitFor('the message updated in place', async () => {
        const m = emu.messagesIn(channel.id).find((x) => x.ts === message.ts)!;
        return blocksText(m).includes(`${ada.name} joined`) && blocksText(m).includes(`${ben.name} declined`);
      });
      expect(emu.messagesIn(channel.id).filter((m) => m.botId && m.text.includes('to join PagerDuty'))).toHaveLength(1);
    });

    it('a PagerDuty incident resolved since the modal opened is refused next to the choice', async () => {
      const open = (await s.owner.get(`/api/v1/incidents/${incident.id}/pagerduty_incidents`)).body.pagerduty_incidents[0].pagerduty_incident;
      const view = await openModal(alice);
      const someone = [...s.pd.state.users.values()].filter((u) => ['user', 'admin'].includes(u.role))[5]!;
      s.pd.actAs(someone.id).resolve(open.id);
      await s.pd.webhooks.flush();
      await waitFor('the link resolved', async () => (await s.owner.get(`/api/v1/incidents/${incident.id}/pagerduty_incidents`)).body.pagerduty_incidents[0].pagerduty_incident.status === 'resolved');
      const r = await emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { mode: { esc_mode: `add:${open.id}` }, pd_users: { esc_pd_users: [{ value: someone.id, text: someone.name }] }, message: { esc_message: 'too late' } } });
      expect(r.body.response_action).toBe('errors');
      expect(r.body.errors.mode).toMatch(/is resolved in PagerDuty/);
      await emu.driver.closeView({ userId: alice.id, viewId: view.id });
    });
  });
}
