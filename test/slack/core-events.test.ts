import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers.js';
import { declareFromSlack, incidentChannel, person, startSlackStack, waitFor, type SlackStack } from './stack.js';

// Changes made in the web app or through the API reach the incident's Slack channel: the header is updated and
// a short note says what changed and who changed it.

describe.each(backends)('core changes show up in Slack (%s)', (backend) => {
  let s: SlackStack;
  beforeAll(async () => {
    s = await startSlackStack({ backend });
  });
  afterAll(async () => s?.stop());

  it('a status change, a severity change and a note made through the REST API reach the channel', async () => {
    const alice = person(s.emu, 'Alice');
    await declareFromSlack(s, alice, { name: 'Cache stampede' });
    const inc = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
    const { channel, header } = await incidentChannel(s, inc.number);

    expect((await s.owner.post(`/api/v1/incidents/${inc.id}/actions/status`, { status_id: 'monitoring' })).status).toBe(200);
    expect((await s.owner.post(`/api/v1/incidents/${inc.id}/actions/severity`, { severity_id: 'sev-critical' })).status).toBe(200);
    expect((await s.owner.post(`/api/v1/incidents/${inc.id}/timeline/notes`, { text: 'Warmed the cache by hand' })).status).toBe(201);

    await waitFor('header shows Monitoring, Critical', () => header().text.includes('Status: Monitoring') && header().text.includes('Severity: Critical'));
    const texts = () => s.emu.messagesIn(channel.id).map((m) => m.text);
    await waitFor('three notes', () => texts().some((t) => t.includes('added a note: Warmed the cache by hand')));
    expect(texts()).toEqual(
      expect.arrayContaining([
        ':arrows_counterclockwise: Status changed from Investigating to Monitoring (by Owner)',
        ':arrows_counterclockwise: Severity changed from Low to Critical (by Owner)',
        ':memo: *Owner* added a note: Warmed the cache by hand',
      ]),
    );
    // In the order they happened.
    const order = texts().filter((t) => t.startsWith(':'));
    expect(order.findIndex((t) => t.includes('Monitoring'))).toBeLessThan(order.findIndex((t) => t.includes('Critical')));
  });

  it('an incident declared in the web app or API gets its channel too', async () => {
    const r = await s.owner.post('/api/v1/incidents', { name: 'Declared from the web', severity_id: 'sev-major' });
    expect(r.status).toBe(201);
    const { channel, header } = await incidentChannel(s, r.body.incident.number);
    expect(channel.name).toBe(`inc-${r.body.incident.number}-declared-from-the-web`);
    expect(header().text).toContain('Severity: Major');
    await waitFor('announced', () => s.emu.messagesIn(s.announcements.id).some((m) => m.text.includes(r.body.incident.reference)));
  });

  it('when the channel was archived, the person who made the change is told by DM', async () => {
    // The owner uses Slack too: linked by email on first interaction.
    const ownerInSlack = s.emu.addUser({ name: 'owner', realName: 'Owner', email: 'owner@localhost' });
    const general = [...s.emu.state.channels.values()].find((c) => c.isGeneral)!;
    await s.emu.driver.slashCommand({ userId: ownerInSlack.id, channelId: general.id, command: '/incident', text: 'declare' });
    await waitFor('owner linked', async () => ((await s.owner.get('/api/v1/users')).body.users as any[]).some((u) => u.slack_user_id === ownerInSlack.id));

    const r = await s.owner.post('/api/v1/incidents', { name: 'Archived too soon' });
    const { channel } = await incidentChannel(s, r.body.incident.number);
    s.emu.state.channels.get(channel.id)!.isArchived = true;
    await s.owner.post(`/api/v1/incidents/${r.body.incident.id}/actions/status`, { status_id: 'fixing' });
    const dm = await waitFor('DM to the owner', () => s.emu.dmsTo(ownerInSlack.id).find((m) => m.text.includes(r.body.incident.reference)));
    expect(dm.text).toContain('is_archived');
    expect(dm.text).toContain('could not');
  });
});
