import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackEmulator, type SlackChannel, type SlackEmulator, type SlackUser } from '../../emulators/slack/index.js';
import { backends } from '../helpers.js';
import { declareFromSlack, ephemeralText, incidentChannel, person } from '../slack/stack.js';
import { createsByKey, manualWebhook, setupEscalations, waitFor, type EscSetup } from './helpers.js';

// "A responder runs /incident escalate in the incident channel, picks two policies, a PagerDuty user and a
// colleague in Slack, and the channel shows each of them being paged, then acknowledged."

const blocksText = (m: { text: string; blocks?: unknown[] }) => `${m.text}\n${JSON.stringify(m.blocks ?? [])}`;

for (const backend of backends) {
  describe(`/incident escalate in Slack (${backend})`, () => {
    let s: EscSetup;
    let emu: SlackEmulator;
    let alice: SlackUser;
    let channel: SlackChannel;
    let incidentRef: string;

    beforeAll(async () => {
      emu = await startSlackEmulator();
      const announcements = emu.addChannel('incidents', { botIsMember: true });
      s = await setupEscalations(backend, { start: { slack: { botToken: emu.botToken, signingSecret: emu.signingSecret, apiUrl: emu.apiUrl, announcementsChannel: announcements.id } } });
      emu.setAppUrl(`${s.fb.baseUrl}/slack/events`);
      await manualWebhook(s);
      alice = person(emu, 'Alice Ops');
      const stack = { emu, fb: s.fb, owner: s.owner, announcements, stop: async () => {} };
      await declareFromSlack(stack, alice, { name: 'Checkout errors' });
      const inc = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
      incidentRef = inc.reference;
      ({ channel } = await incidentChannel(stack, inc.number));
    }, 120_000);
    afterAll(async () => {
      await s?.close();
      await emu?.stop();
    });

    const run = (user: SlackUser, channelId: string) => emu.driver.slashCommand({ userId: user.id, channelId, command: '/incident', text: 'escalate' });
    const openModal = async (user: SlackUser) => {
      const before = new Set(emu.openViews(user.id).map((v) => v.id));
      await run(user, channel.id);
      return waitFor('the escalate modal', async () => emu.openViews(user.id).find((v) => v.callbackId === 'firebreak_escalate' && !before.has(v.id)));
    };

    it('outside an incident channel it explains where it works', async () => {
      const general = [...emu.state.channels.values()].find((c) => c.isGeneral)!;
      const bob = person(emu, 'Bob Dev');
      await emu.driver.slashCommand({ userId: bob.id, channelId: general.id, command: '/inc', text: 'escalate' });
      expect(await waitFor('answer', async () => ephemeralText({ emu } as never, bob.id))).toContain("`/inc escalate` works in an incident's channel");
    });

    it('the modal searches policies and PagerDuty users by name or email (ignored policies never appear)', async () => {
      const view = await openModal(alice);
      const labels = view.blocks.map((b: any) => b.label?.text);
      expect(labels).toEqual(['Escalation policies', 'PagerDuty users', 'Or people in Slack', 'Why do you need them?', 'Urgency', 'PagerDuty priority']);
      const policy = s.policies[0]!;
      const r = await emu.driver.optionsRequest({ userId: alice.id, viewId: view.id, blockId: 'policies', actionId: 'esc_policies', value: policy.name.slice(0, 6) });
      expect(r.status).toBe(200);
      expect(r.body.options.map((o: any) => o.value)).toContain(policy.id);
      const ignored = [...s.pd.state.tags.values()].find((t) => t.label === 'incident-io-ignore')?.escalation_policies ?? [];
      const all = await emu.driver.optionsRequest({ userId: alice.id, viewId: view.id, blockId: 'policies', actionId: 'esc_policies', value: '' });
      for (const id of ignored) expect(all.body.options.map((o: any) => o.value)).not.toContain(id);
      const pdUser = [...s.pd.state.users.values()][9]!;
      const byEmail = await emu.driver.optionsRequest({ userId: alice.id, viewId: view.id, blockId: 'pd_users', actionId: 'esc_pd_users', value: pdUser.email.trim().slice(0, 8) });
      expect(byEmail.body.options.map((o: any) => o.value)).toContain(pdUser.id);
      await emu.driver.closeView({ userId: alice.id, viewId: view.id });
    });

    it('validation problems show in the modal next to the field', async () => {
      const view = await openModal(alice);
      const none = await emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { message: { esc_message: 'help' } } });
      expect(none.body.response_action).toBe('errors');
      expect(none.body.errors.policies).toMatch(/at least one/);
      const noPd = person(emu, 'Nina NoPager', 'nina.nopager@example.com');
      const bad = await emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { slack_users: { esc_slack_users: [noPd.id] }, message: { esc_message: 'help' } } });
      expect(bad.body.errors.slack_users).toMatch(/nina\.nopager@example\.com has no PagerDuty account/);
      await emu.driver.closeView({ userId: alice.id, viewId: view.id });
    });

    it('pages two policies, a PagerDuty user and a Slack colleague; the channel message follows them to acknowledged', async () => {
      const pdUsers = [...s.pd.state.users.values()];
      const colleagueInPd = pdUsers[10]!;
      const colleague = person(emu, 'Carla Colleague', colleagueInPd.email.trim());
      const direct = pdUsers[11]!;
      const priority = [...s.pd.state.priorities.values()][0]!;
      const view = await openModal(alice);
      const submit = await emu.driver.submitView({
        userId: alice.id,
        viewId: view.id,
        values: {
          policies: { esc_policies: [{ value: s.policies[0]!.id, text: s.policies[0]!.name }, { value: s.policies[1]!.id, text: s.policies[1]!.name }] },
          pd_users: { esc_pd_users: [{ value: direct.id, text: direct.name }] },
          slack_users: { esc_slack_users: [colleague.id] },
          message: { esc_message: 'Payments fail after the 10:02 deploy' },
          urgency: { esc_urgency: 'high' },
          priority: { esc_priority: priority.id },
        },
      });
      expect(submit.status).toBe(200);
      expect(submit.body).toBeFalsy();
      const escalation = await waitFor('the escalation', async () => (await s.owner.get(`/api/v1/incidents/${incidentRef}/escalations`)).body.escalations[0]);
      expect(escalation.targets.map((t: any) => t.name).sort()).toEqual([s.policies[0]!.name, s.policies[1]!.name, direct.name, colleagueInPd.name].sort());
      expect(escalation.requester).toMatchObject({ kind: 'user', name: 'Alice Ops' });
      const message = await waitFor('the status message with every target paged', async () =>
        emu.messagesIn(channel.id).find((m) => m.botId && m.text.includes('is paging through PagerDuty') && (blocksText(m).match(/Paged /g) ?? []).length === 4),
      );
      expect(blocksText(message)).toContain('Payments fail after the 10:02 deploy');
      const done = (await s.owner.get(`/api/v1/escalations/${escalation.id}`)).body.escalation;
      for (const t of done.targets) {
        const sent = createsByKey(s.pd).get(t.incident_key)!;
        expect(sent).toHaveLength(1);
        expect(sent[0].body.incident.priority.id).toBe(priority.id);
      }
      // The colleague acknowledges on their phone: the same message says so, in place.
      const target = done.targets.find((t: any) => t.pagerduty_id === colleagueInPd.id);
      s.pd.actAs(colleagueInPd.id).acknowledge(target.pagerduty_incident.id);
      await s.pd.webhooks.flush();
      await waitFor('the message updated in place', async () => {
        const m = emu.messagesIn(channel.id).find((x) => x.ts === message.ts)!;
        return blocksText(m).includes(`acknowledged by ${colleagueInPd.name}`);
      });
      expect(emu.messagesIn(channel.id).filter((m) => m.botId && m.text.includes('is paging through PagerDuty'))).toHaveLength(1);
      const timeline = (await s.owner.get(`/api/v1/incidents/${incidentRef}/timeline`)).body.items.map((i: any) => i.text);
      expect(timeline.some((t: string) => t.includes(`acknowledged by ${colleagueInPd.name}`))).toBe(true);
    });

    it('a failed target gets a retry button that pages it again', async () => {
      s.fb.app.pagerduty.integration.interactiveTuning.maxRateLimitRetries = 0;
      s.pd.faults.set({ rateLimitBurst: 1000 });
      try {
        const view = await openModal(alice);
        const who = [...s.pd.state.users.values()][6]!;
        await emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { pd_users: { esc_pd_users: [{ value: who.id, text: who.name }] }, message: { esc_message: 'retry me' } } });
        const failed = await waitFor('the failure in the channel', async () => emu.messagesIn(channel.id).find((m) => blocksText(m).includes('retry me') && blocksText(m).includes(`Paging ${who.name} failed`)));
        expect(blocksText(failed)).toContain('Retry failed');
        s.pd.faults.clear();
        s.fb.app.pagerduty.integration.interactiveTuning.maxRateLimitRetries = 3;
        await new Promise((r) => setTimeout(r, 1100));
        await emu.driver.clickButton({ userId: alice.id, channelId: channel.id, messageTs: failed.ts, actionId: 'escalation_retry' });
        await waitFor('paged after the retry', async () => blocksText(emu.messagesIn(channel.id).find((m) => m.ts === failed.ts)!).includes(`Paged ${who.name}`));
      } finally {
        s.pd.faults.clear();
        s.fb.app.pagerduty.integration.interactiveTuning.maxRateLimitRetries = 3;
      }
    });

    it('with PagerDuty disconnected it says how to connect it', async () => {
      await s.owner.request('DELETE', '/api/v1/integrations/pagerduty');
      await run(alice, channel.id);
      expect(await waitFor('answer', async () => ephemeralText({ emu } as never, alice.id).includes('PagerDuty is not connected') && ephemeralText({ emu } as never, alice.id))).toContain('Settings → Integrations → PagerDuty');
    });
  });
}
