import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { startCheckedPagerDuty } from '../pagerduty-requests.js';
import { startSlackEmulator, type SlackEmulator } from '../../emulators/slack/index.js';
import { newId } from '../../src/platform/ids.js';
import { declareFromSlack, incidentChannel, person } from '../slack/stack.js';
import { setupEscalations, waitFor, type EscSetup } from './helpers.js';

// The escalate modal's external selects over the `huge` account (20,000 users, 2,000 policies): every search
// is answered well inside Slack's 3 seconds. A full sync of `huge` takes minutes on the test machines, so the
// huge account's users and policies are written into the synced catalog types directly (through the catalog
// service's own apply function); Firebreak itself is connected to a small account.

describe('/incident escalate search over a huge PagerDuty account', () => {
  let s: EscSetup;
  let emu: SlackEmulator;
  let huge: PagerDutyEmulator;
  beforeAll(async () => {
    emu = await startSlackEmulator();
    huge = await startCheckedPagerDuty({ seed: 'huge', rateLimitPerMinute: false });
    const announcements = emu.addChannel('incidents', { botIsMember: true });
    s = await setupEscalations('sqlite', { seed: 'small', start: { slack: { botToken: emu.botToken, signingSecret: emu.signingSecret, apiUrl: emu.apiUrl, announcementsChannel: announcements.id } } });
    emu.setAppUrl(`${s.fb.baseUrl}/slack/events`);
    const catalog = s.fb.app.catalog.service;
    const write = async (typeName: string, items: { id: string; name: string; aliases: string[]; values: Record<string, unknown> }[]) => {
      const type = (await catalog.findType(typeName))!;
      const stored = await catalog.snapshot(type.id);
      const fresh = items.filter((i) => !stored.has(i.id));
      await catalog.applyWrites(type.id, fresh.map((i) => ({ id: newId(), externalId: i.id, name: i.name, aliases: JSON.stringify(i.aliases), attributes: JSON.stringify(i.values), externalUrl: null, refs: [], isNew: true })));
    };
    await write('PagerDutyUser', [...huge.state.users.values()].map((u) => ({ id: u.id, name: u.name, aliases: [u.email.trim()], values: { name: u.name, email: u.email.trim(), role: u.role, job_title: u.job_title, time_zone: u.time_zone, firebreak_user: null } })));
    await write('PagerDutyEscalationPolicy', [...huge.state.escalationPolicies.values()].map((p) => ({ id: p.id, name: p.name, aliases: [], values: { name: p.name, description: p.description, teams: [] } })));
  }, 240_000);
  afterAll(async () => {
    await s?.close();
    await emu?.stop();
    await huge?.stop();
  });

  it('answers policy and user searches within 3 s', async () => {
    const alice = person(emu, 'Alice Ops');
    const stack = { emu, fb: s.fb, owner: s.owner, announcements: [...emu.state.channels.values()][0]!, stop: async () => {} };
    await declareFromSlack(stack, alice, { name: 'Huge account' });
    const inc = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
    const { channel } = await incidentChannel(stack, inc.number);
    await emu.driver.slashCommand({ userId: alice.id, channelId: channel.id, command: '/incident', text: 'escalate' });
    const view = await waitFor('the modal', async () => emu.openViews(alice.id).find((v) => v.callbackId === 'firebreak_escalate'));
    const users = [...huge.state.users.values()];
    const queries: [string, string, string][] = [
      ['policies', 'esc_policies', ''],
      ['policies', 'esc_policies', 'a'],
      ['policies', 'esc_policies', [...huge.state.escalationPolicies.values()][1500]!.name.slice(0, 5)],
      ['pd_users', 'esc_pd_users', 'e'],
      ['pd_users', 'esc_pd_users', users[19_000]!.name.split(' ')[0]!],
      ['pd_users', 'esc_pd_users', users[12_345]!.email.trim().slice(0, 10)],
    ];
    for (const [blockId, actionId, value] of queries) {
      const r = await emu.driver.optionsRequest({ userId: alice.id, viewId: view.id, blockId, actionId, value });
      expect(r.timedOut).toBe(false);
      expect(r.ackMs).toBeLessThan(3000);
      expect(r.body.options.length).toBeGreaterThan(0);
      expect(r.body.options.length).toBeLessThanOrEqual(100);
    }
  });
});
