import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackEmulator, type SlackChannel, type SlackEmulator, type SlackUser } from '../../emulators/slack/index.js';
import { setupEscalations, waitFor, waitForTargets, type EscSetup } from '../escalations/helpers.js';
import { backends } from '../helpers.js';
import { declareFromSlack, incidentChannel, person } from '../slack/stack.js';

// One incident run the whole way, through the real edges: declared in Slack, a Scribe given from Slack, a person
// paged in PagerDuty who acknowledges there, an update from Slack that reaches the channel and PagerDuty as a status
// update, a follow-up from Slack, closed from Slack; then the write-up holds all of it by name, with the time to
// acknowledge measured from PagerDuty's real acknowledgement, and search finds the incident by its update.

describe.each(backends)('running an incident end to end (%s)', (backend) => {
  let s: EscSetup;
  let emu: SlackEmulator;
  let alice: SlackUser;
  let bob: SlackUser;
  let channel: SlackChannel;
  let inc: any;

  beforeAll(async () => {
    emu = await startSlackEmulator();
    const announcements = emu.addChannel('incidents', { botIsMember: true });
    s = await setupEscalations(backend, { autoWebhook: true, start: { slack: { botToken: emu.botToken, signingSecret: emu.signingSecret, apiUrl: emu.apiUrl, announcementsChannel: announcements.id } } });
    emu.setAppUrl(`${s.fb.baseUrl}/slack/events`);
    alice = person(emu, 'Alice Ops');
    bob = person(emu, 'Bob Scribe');
    expect((await s.owner.post('/api/v1/incident_roles', { name: 'Scribe', description: 'Keeps the timeline' })).status).toBe(201);
    await declareFromSlack({ emu, fb: s.fb, owner: s.owner, announcements, stop: async () => {} }, alice, { name: 'Checkout payments failing', severity: 'sev-major' });
    inc = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
    ({ channel } = await incidentChannel({ emu, fb: s.fb, owner: s.owner, announcements, stop: async () => {} }, inc.number));
  }, 240_000);
  afterAll(async () => {
    await s?.close();
    await emu?.stop();
  });

  const slash = (user: SlackUser, text: string) => emu.driver.slashCommand({ userId: user.id, channelId: channel.id, command: '/incident', text });
  const get = async () => (await s.owner.get(`/api/v1/incidents/${inc.id}`)).body.incident;

  it('from declaration to the write-up', async () => {
    // A Scribe from Slack.
    await slash(alice, `role scribe <@${bob.id}|${bob.name}>`);
    await waitFor('Bob is Scribe', async () => (await get()).roles.find((r: any) => r.role.name === 'Scribe')?.user?.name === 'Bob Scribe');

    // Someone paged in PagerDuty, who acknowledges there: the PagerDuty time to acknowledge comes from that.
    const pdUser = [...s.pd.state.users.values()][3]!;
    const esc = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, { user_ids: [pdUser.id], message: 'Checkout payments failing' });
    expect(esc.status, JSON.stringify(esc.body)).toBe(201);
    const paged = await waitForTargets(s.owner, esc.body.escalation.id);
    const pdIncidentId = paged.targets[0].pagerduty_incident.id as string;
    s.pd.actAs(pdUser.email).acknowledge(pdIncidentId);
    const acked = await waitFor('the acknowledgement from PagerDuty', async () => {
      const now = await get();
      return now.timestamps.find((t: any) => t.kind === 'pagerduty_first_acknowledged')?.at ? now : null;
    });
    expect(acked.durations.time_to_acknowledge_seconds).toBeGreaterThanOrEqual(0);
    expect(acked.timestamps.find((t: any) => t.kind === 'pagerduty_first_acknowledged').source).toBe('pagerduty');

    // An update from Slack: one update, in the channel, and on the paged PagerDuty incident as a status update from the bot.
    await slash(alice, 'update');
    const view = await waitFor('update modal', async () => emu.openViews(alice.id).find((v) => v.callbackId === 'firebreak_update'));
    const sub = await emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { message: { value: 'Rolled back the payments deploy' }, status: { value: 'fixing' } } });
    expect(sub.status).toBe(200);
    await waitFor('the update in the channel', async () => emu.messagesIn(channel.id).some((m) => m.text.includes('Rolled back the payments deploy')));
    const bot = [...s.pd.state.users.values()][0]!;
    await waitFor('the PagerDuty status update', async () => (s.pd.state.incidents.get(pdIncidentId)!.status_updates ?? []).length === 1);
    const statusUpdate = s.pd.state.incidents.get(pdIncidentId)!.status_updates![0]!;
    expect(statusUpdate.message).toBe('Rolled back the payments deploy');
    expect(statusUpdate.user_id).toBe(bot.id);
    expect(byKind(await get()).identified.at).toBeTruthy();

    // A follow-up from Slack, then closed from Slack.
    await slash(bob, 'follow-up Alert on payment 5xx before customers notice');
    await waitFor('the follow-up', async () => (await s.owner.get(`/api/v1/incidents/${inc.id}/follow_ups`)).body.follow_ups.length === 1);
    await slash(alice, 'resolve');
    const closed = await waitFor('closed', async () => ((await get()).status.category === 'closed' ? await get() : null));
    expect(byKind(closed).resolved.at).toBeTruthy();

    // The write-up: names, the update, the follow-up and PagerDuty's time to acknowledge, no ids.
    expect((await s.owner.post(`/api/v1/incidents/${inc.id}/write_up`, {})).status).toBe(201);
    const md = (await s.owner.request("GET", `/api/v1/incidents/${inc.id}/write_up/export.md`)).body as string;
    expect(md).toContain('Bob Scribe');
    expect(md).toContain('Rolled back the payments deploy');
    expect(md).toContain('Alert on payment 5xx before customers notice');
    expect(md).toMatch(/\*\*Time to acknowledge\*\*: (under a second|\d)/);
    expect(md).toMatch(/\*\*First acknowledged in PagerDuty\*\*: \d/);
    expect(md).not.toContain(inc.id);

    // Search finds it by the update's words, and says so.
    const found = (await s.owner.get('/api/v1/incidents?q=rolled%20back%20payments')).body.incidents;
    expect(found.map((i: any) => i.reference)).toEqual([inc.reference]);
    expect(found[0].match.field).toBe('update');
  });
});

function byKind(incident: any): Record<string, any> {
  return Object.fromEntries(incident.timestamps.map((t: any) => [t.kind, t]));
}
