import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackEmulator, type SlackChannel, type SlackEmulator } from '../../emulators/slack/index.js';
import { backends, userClient } from '../helpers.js';
import { ephemeralText, incidentChannel, person } from '../slack/stack.js';
import { attach, setupLinks, timeline, waitFor, type LinksSetup } from './helpers.js';

// Two-way close, end to end: PagerDuty incidents are resolved in the PagerDuty emulator (signed webhooks into
// Firebreak), the channel is the Slack emulator's, and people answer by clicking the buttons through its driver.

const HEADLINE = 'All linked PagerDuty incidents are resolved';

for (const backend of backends) {
  describe(`When all linked PagerDuty incidents are resolved (${backend})`, () => {
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

    const db = () => s.fb.app.database.db;
    const prompts = (channelId: string) => emu.messagesIn(channelId).filter((m) => m.botId && m.text.startsWith(HEADLINE));
    const actionIds = (m: { blocks?: unknown[] }) => (m.blocks ?? []).flatMap((b: any) => (b.type === 'actions' ? b.elements.map((e: any) => e.action_id) : []));
    const resolveInPd = (pdId: string) => s.pd.actAs(s.assignees(pdId)[0]!).resolve(pdId);
    const incident = async (id: string) => (await s.owner.get(`/api/v1/incidents/${id}`)).body.incident;
    const episodes = (incidentId: string) => db().selectFrom('pagerduty_all_resolved').selectAll().where('incident_id', '=', incidentId).orderBy('episode').execute();

    async function incidentWithChannel(name: string) {
      const inc = (await s.owner.post('/api/v1/incidents', { name })).body.incident;
      const { channel } = await incidentChannel({ emu } as never, inc.number);
      return { inc, channel };
    }

    it('two linked PagerDuty incidents: resolving one says nothing, resolving the second posts one message naming both; Move to Monitoring changes the status as the person and updates the message', async () => {
      const { inc, channel } = await incidentWithChannel('Checkout errors');
      const a = await s.trigger(s.fallbackServiceId, { title: 'Checkout 5xx' });
      const b = await s.trigger(s.fallbackServiceId, { title: 'Cart latency' });
      await attach(s.owner, inc.id, a.id);
      await attach(s.owner, inc.id, b.id);
      await s.settle();

      resolveInPd(a.id);
      await s.settle();
      expect(prompts(channel.id)).toEqual([]);
      expect(await episodes(inc.id)).toEqual([]);

      resolveInPd(b.id);
      await s.settle();
      const msg = await waitFor('the message', async () => prompts(channel.id)[0]);
      const shown = `${msg.text} ${JSON.stringify(msg.blocks)}`;
      expect(shown).toContain(`#${a.incident_number} "Checkout 5xx"`);
      expect(shown).toContain(`#${b.incident_number} "Cart latency"`);
      expect(actionIds(msg)).toEqual(['pd_all_resolved_monitoring', 'pd_all_resolved_close', 'pd_all_resolved_keep_open']);
      expect(JSON.stringify(msg.blocks)).toContain('Move to Monitoring');
      const item = (await timeline(s.owner, inc.id)).filter((i) => i.kind === 'pagerduty.all_resolved');
      expect(item).toHaveLength(1);
      expect(item[0].text).toContain(`#${a.incident_number} "Checkout 5xx"`);

      // Redelivered webhooks and re-reads inside the same episode tell nothing again.
      await s.settle();
      expect(prompts(channel.id)).toHaveLength(1);

      const ana = person(emu, 'Ana Monitor');
      const click = await emu.driver.clickButton({ userId: ana.id, channelId: channel.id, messageTs: msg.ts, actionId: 'pd_all_resolved_monitoring' });
      expect(click.status).toBe(200);
      await waitFor('Monitoring', async () => (await incident(inc.id)).status.name === 'Monitoring');
      const changed = (await timeline(s.owner, inc.id)).filter((i) => i.kind === 'status_changed' && i.payload.to === 'Monitoring');
      expect(changed).toHaveLength(1);
      expect(changed[0].actor.user?.name).toBe('Ana Monitor');
      const updated = await waitFor('the message updated', async () => {
        const m = prompts(channel.id)[0]!;
        return actionIds(m).length === 0 && JSON.stringify(m.blocks).includes('Moved to Monitoring by Ana Monitor') ? m : undefined;
      });
      expect(updated.ts).toBe(msg.ts);
      expect(JSON.stringify(updated.blocks)).toContain('Checkout 5xx');
      expect(prompts(channel.id)).toHaveLength(1);
    });

    it('two people clicking at once: one status change, the other is told what was done', async () => {
      const { inc, channel } = await incidentWithChannel('Search outage');
      const a = await s.trigger(s.fallbackServiceId, { title: 'Search cluster red' });
      await attach(s.owner, inc.id, a.id);
      await s.settle();
      resolveInPd(a.id);
      await s.settle();
      const msg = await waitFor('the message', async () => prompts(channel.id)[0]);
      const p1 = person(emu, 'Cleo Close');
      const p2 = person(emu, 'Mo Monitor');
      await Promise.all([
        emu.driver.clickButton({ userId: p1.id, channelId: channel.id, messageTs: msg.ts, actionId: 'pd_all_resolved_close' }),
        emu.driver.clickButton({ userId: p2.id, channelId: channel.id, messageTs: msg.ts, actionId: 'pd_all_resolved_monitoring' }),
      ]);
      await waitFor('an answer', async () => (await episodes(inc.id))[0]?.outcome);
      await s.fb.app.jobs.drain(20_000);
      const changes = (await timeline(s.owner, inc.id)).filter((i) => i.kind === 'status_changed' && ['Cleo Close', 'Mo Monitor'].includes(i.actor.user?.name));
      expect(changes).toHaveLength(1);
      const winner = changes[0].actor.user.name as string;
      const loser = winner === 'Cleo Close' ? p2 : p1;
      expect(await waitFor('the other is told', async () => ephemeralText({ emu } as never, loser.id))).toMatch(/already answered|answered this a moment ago/);
      expect((await incident(inc.id)).status.name).toBe(winner === 'Cleo Close' ? 'Closed' : 'Monitoring');
    });

    it('a PagerDuty incident marked not related does not hold it up; a new one linked ends the episode (the message loses its buttons) and resolving it asks again', async () => {
      const { inc, channel } = await incidentWithChannel('Login failures');
      const a = await s.trigger(s.fallbackServiceId, { title: 'Auth 500s' });
      const b = await s.trigger(s.fallbackServiceId, { title: 'Unrelated disk alert' });
      await attach(s.owner, inc.id, a.id);
      const linkB = await attach(s.owner, inc.id, b.id);
      expect((await s.owner.post(`/api/v1/incidents/${inc.id}/pagerduty_incidents/${linkB.id}/related`, { related: false })).status).toBe(200);
      await s.settle();
      resolveInPd(a.id);
      await s.settle();
      const first = await waitFor('the message', async () => prompts(channel.id)[0]);
      expect(first.text).toContain('Auth 500s');
      expect(first.text).not.toContain('Unrelated disk alert');
      expect(s.pd.state.incidents.get(b.id)!.status).toBe('triggered');

      // Another PagerDuty incident is linked while the question is unanswered: it no longer holds.
      const c = await s.trigger(s.fallbackServiceId, { title: 'Auth 500s again' });
      await attach(s.owner, inc.id, c.id);
      await s.settle();
      const stale = await waitFor('the message says it no longer holds', async () => {
        const m = prompts(channel.id)[0]!;
        return actionIds(m).length === 0 && JSON.stringify(m.blocks).includes('No longer true') ? m : undefined;
      });
      expect(JSON.stringify(stale.blocks)).toContain(`#${c.incident_number} \\"Auth 500s again\\" is open again`);
      expect(prompts(channel.id)).toHaveLength(1);

      resolveInPd(c.id);
      await s.settle();
      const second = await waitFor('asked again', async () => prompts(channel.id)[1]);
      expect(second.text).toContain('Auth 500s again');
      expect(second.text).toContain(`#${a.incident_number} "Auth 500s"`);
      expect(actionIds(second)).toContain('pd_all_resolved_close');
      expect((await episodes(inc.id)).map((e) => [e.episode, e.ended_at === null])).toEqual([[1, false], [2, true]]);

      // Keep open: nothing changes but the answer is recorded, and nothing is asked again while nothing changes.
      const kim = person(emu, 'Kim Keep');
      await emu.driver.clickButton({ userId: kim.id, channelId: channel.id, messageTs: second.ts, actionId: 'pd_all_resolved_keep_open' });
      await waitFor('kept open on the timeline', async () => (await timeline(s.owner, inc.id)).find((i) => i.kind === 'pagerduty.all_resolved_kept_open'));
      expect((await incident(inc.id)).status.category).toBe('live');
      await s.settle();
      expect(prompts(channel.id)).toHaveLength(2);
    });

    it('a viewer cannot click through: told why, nothing changes, the buttons stay', async () => {
      const { inc, channel } = await incidentWithChannel('Billing stuck');
      const a = await s.trigger(s.fallbackServiceId, { title: 'Invoices queue' });
      await attach(s.owner, inc.id, a.id);
      await s.settle();
      resolveInPd(a.id);
      await s.settle();
      const msg = await waitFor('the message', async () => prompts(channel.id)[0]);
      expect((await s.owner.post('/api/v1/users', { name: 'Vera Viewer', email: 'vera.viewer@example.com', role: 'viewer' })).status).toBe(201);
      const vera = person(emu, 'Vera Viewer', 'vera.viewer@example.com');
      await emu.driver.clickButton({ userId: vera.id, channelId: channel.id, messageTs: msg.ts, actionId: 'pd_all_resolved_close' });
      expect(await waitFor('refusal', async () => ephemeralText({ emu } as never, vera.id))).toContain('viewer');
      await s.fb.app.jobs.drain(20_000);
      expect((await incident(inc.id)).status.category).toBe('live');
      expect(actionIds(prompts(channel.id)[0]!)).toHaveLength(3);
      expect((await episodes(inc.id))[0]!.answer).toBeNull();
    });

    it('posted once: a retry after a crash between Slack\'s answer and the record finds the message instead of posting again', async () => {
      const { inc, channel } = await incidentWithChannel('Queue backlog');
      const a = await s.trigger(s.fallbackServiceId, { title: 'Backlog growing' });
      await attach(s.owner, inc.id, a.id);
      await s.settle();
      // Slack refuses the first attempt for a moment (rate limited): the job is retried and posts once.
      emu.faults.failNext('chat.postMessage', 'ratelimited');
      resolveInPd(a.id);
      await s.settle();
      const msg = await waitFor('the message', async () => prompts(channel.id)[0]);
      // Slack shows the message a moment before Firebreak records where it went: wait for the record.
      const ep = await waitFor('the post recorded', async () => (await episodes(inc.id)).find((e) => e.notice_status === 'posted'));
      expect(ep).toMatchObject({ notice_status: 'posted', notice_channel: channel.id, notice_ts: msg.ts });
      const attempts = emu.calls('chat.postMessage').filter((c) => JSON.stringify(c.args).includes(ep!.id));
      expect(attempts.map((c) => c.ok)).toEqual([false, true]);
      // As if the process died after chat.postMessage returned but before it recorded the ts.
      await db().updateTable('pagerduty_all_resolved').set({ notice_status: 'sending', notice_ts: null }).where('id', '=', ep!.id).execute();
      await s.fb.app.jobs.enqueue('pagerduty.all_resolved.notice', { episodeId: ep!.id });
      await s.fb.app.jobs.drain(20_000);
      expect(prompts(channel.id)).toHaveLength(1);
      expect((await episodes(inc.id))[0]).toMatchObject({ notice_status: 'posted', notice_ts: msg.ts });
      // The found message still answers its buttons.
      const zed = person(emu, 'Zed Close');
      await emu.driver.clickButton({ userId: zed.id, channelId: channel.id, messageTs: msg.ts, actionId: 'pd_all_resolved_close' });
      await waitFor('closed', async () => (await incident(inc.id)).status.category === 'closed');
    });

    it('the automatic setting: admin only and audited; a triage incident opened from PagerDuty closes by itself when its PagerDuty incident resolves, and says why', async () => {
      const path = '/api/v1/integrations/pagerduty/all_resolved_settings';
      expect((await s.owner.get(path)).body).toMatchObject({ automatic_for_triage: false, status_id: null, status: { name: 'Closed' } });
      const responder = await userClient(s.fb, s.owner, 'responder');
      expect((await responder.client.request('PUT', path, { automatic_for_triage: true })).status).toBe(403);
      const bad = await s.owner.request('PUT', path, { automatic_for_triage: true, status_id: 'triage' });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details.fields[0].path).toBe('status_id');
      const put = await s.owner.request('PUT', path, { automatic_for_triage: true });
      expect(put.status).toBe(200);
      const audit = await db().selectFrom('audit_events').selectAll().where('action', '=', 'pagerduty.all_resolved_settings_changed').execute();
      expect(audit).toHaveLength(1);
      expect(JSON.parse(audit[0]!.details)).toMatchObject({ automatic_for_triage: true, was: { automatic_for_triage: false } });
      expect(audit[0]!.actor_id).toBe((await s.owner.get('/api/v1/session')).body.user.id);

      const rule = await s.owner.post('/api/v1/integrations/pagerduty/auto_create_rules', { name: 'Everything into triage', create_as: 'triage' });
      expect(rule.status).toBe(201);
      try {
        // Off (and auto-decline off too): a triage incident whose PagerDuty incident resolves is left for people.
        await s.owner.request('PUT', path, { automatic_for_triage: false });
        expect((await s.owner.patch('/api/v1/integrations/pagerduty/auto_create_settings', { auto_decline_on_resolve: false })).status).toBe(200);
        const left = await s.trigger(s.fallbackServiceId, { title: 'Left alone' });
        await s.settle();
        const leftRow = await waitFor('the first triage incident', async () => db().selectFrom('incidents').select('id').where('idempotency_key', '=', `pagerduty:${left.id}`).executeTakeFirst());
        resolveInPd(left.id);
        await s.settle();
        expect((await incident(leftRow.id)).status.category).toBe('triage');
        expect(await episodes(leftRow.id)).toEqual([]);
        expect((await s.owner.patch('/api/v1/integrations/pagerduty/auto_create_settings', { auto_decline_on_resolve: true })).status).toBe(200);
        expect((await s.owner.request('PUT', path, { automatic_for_triage: true })).status).toBe(200);

        const pd = await s.trigger(s.fallbackServiceId, { title: 'Replica lag' });
        await s.settle();
        const row = await waitFor('the triage incident', async () => db().selectFrom('incidents').select('id').where('idempotency_key', '=', `pagerduty:${pd.id}`).executeTakeFirst());
        expect((await incident(row.id)).status.category).toBe('triage');
        resolveInPd(pd.id);
        await s.settle();
        await waitFor('closed by itself', async () => (await incident(row.id)).status.category === 'closed');
        const items = await timeline(s.owner, row.id);
        // Closed, not declined: auto-decline (on by default) leaves it to this setting.
        expect(items.some((i) => i.kind === 'pagerduty.auto_declined')).toBe(false);
        const told = items.filter((i) => i.kind === 'pagerduty.all_resolved');
        expect(told).toHaveLength(1);
        expect(told[0].payload.automatic).toBe(true);
        expect(told[0].text).toContain('Closed automatically');
        expect(told[0].text).toContain(`(#${pd.incident_number} "Replica lag") were resolved in PagerDuty while it was in triage`);
        // The incident's channel says the same, without buttons.
        const slackRow = await db().selectFrom('slack_incidents').select('channel_id').where('incident_id', '=', row.id).executeTakeFirstOrThrow();
        const said = await waitFor('the channel told', async () => prompts(slackRow.channel_id!)[0]);
        expect(JSON.stringify(said.blocks)).toContain('Closed automatically');
        expect(actionIds(said)).toEqual([]);
        const changes = items.filter((i) => i.kind === 'status_changed');
        expect(changes.map((i) => i.payload.toCategory)).toEqual(['live', 'closed']);
        expect(changes.every((i) => i.actor.kind === 'integration' && i.actor.ref === 'pagerduty')).toBe(true);
      } finally {
        await s.owner.del(`/api/v1/integrations/pagerduty/auto_create_rules/${rule.body.rule.id}`);
        await s.owner.request('PUT', path, { automatic_for_triage: false });
      }
    });
  });
}
