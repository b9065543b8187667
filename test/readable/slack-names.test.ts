import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestFirebreak, ownerClient, userClient, anonymousClient, type Client } from '../helpers.js';
import { declareFromSlack, person, startSlackStack, waitFor, type SlackStack } from '../slack/stack.js';

// Slack channels by name: the workspace's channels searched by name through the Slack emulator (the picker on the
// Slack settings page), and the incident's channel named in the incident JSON.

describe('Slack channels by name', () => {
  let s: SlackStack;
  beforeAll(async () => {
    s = await startSlackStack();
    s.emu.addChannel('ops-alerts');
    s.emu.addChannel('Ops-Review');
    s.emu.addChannel('old-ops', { archived: true });
    s.emu.addChannel('secret-ops', { isPrivate: true });
    // More channels than one page of conversations.list (200), so every page is read.
    for (let i = 0; i < 230; i++) s.emu.addChannel(`team-${String(i).padStart(3, '0')}`);
    s.emu.addChannel('zz-ops-last');
  });
  afterAll(async () => s?.stop());

  it('lists public, unarchived channels matching a search by name (any case, # ignored), names first by prefix', async () => {
    const r = await s.owner.get('/api/v1/integrations/slack/channels?search=%23OPS');
    expect(r.status).toBe(200);
    expect(r.body.connected).toBe(true);
    expect(r.body.channels.map((c: { name: string }) => c.name)).toEqual(['ops-alerts', 'Ops-Review', 'zz-ops-last']);
    const byId = await s.owner.get(`/api/v1/integrations/slack/channels?search=${s.announcements.id}`);
    expect(byId.body.channels).toEqual([{ id: s.announcements.id, name: 'incidents', is_member: true }]);
    const limited = await s.owner.get('/api/v1/integrations/slack/channels?search=team-&limit=3');
    expect(limited.body.channels.map((c: { name: string }) => c.name)).toEqual(['team-000', 'team-001', 'team-002']);
    const none = await s.owner.get('/api/v1/integrations/slack/channels?search=nothing-like-it');
    expect(none.body.channels).toEqual([]);
  });

  it('needs read access and refuses bad queries', async () => {
    expect((await anonymousClient(s.fb.baseUrl).get('/api/v1/integrations/slack/channels')).status).toBe(401);
    const viewer = (await userClient(s.fb, s.owner, 'viewer')).client;
    expect((await viewer.get('/api/v1/integrations/slack/channels?search=ops')).status).toBe(200);
    const bad = await s.owner.get('/api/v1/integrations/slack/channels?limit=1000');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('validation_failed');
  });

  it("the incident JSON names the incident's channel, in one incident and in the list", async () => {
    const bob = person(s.emu, 'Bob Builder');
    await declareFromSlack(s, bob, { name: 'Checkout is down', severity: 'sev-critical' });
    const inc = await waitFor('the incident with its channel', async () => ((await s.owner.get('/api/v1/incidents?q=checkout')).body.incidents as any[]).find((i) => i.slack_channel_id));
    const channel = s.emu.state.channels.get(inc.slack_channel_id)!;
    expect(inc.slack_channel).toEqual({ id: channel.id, name: `inc-${inc.number}-checkout-is-down` });
    expect((await s.owner.get(`/api/v1/incidents/${inc.reference}`)).body.incident.slack_channel).toEqual({ id: channel.id, name: channel.name });
  });
});

describe('Slack channels without Slack', () => {
  it('answers connected: false and no channels', async () => {
    const fb = await startTestFirebreak('sqlite');
    try {
      const owner: Client = await ownerClient(fb);
      const r = await owner.get('/api/v1/integrations/slack/channels?search=ops');
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ connected: false, channels: [] });
      const inc = (await owner.post('/api/v1/incidents', { name: 'No Slack here' })).body.incident;
      expect(inc.slack_channel).toBeNull();
    } finally {
      await fb.destroy();
    }
  });
});
