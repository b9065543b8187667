import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackEmulator, type SlackChannel, type SlackUser } from '../../emulators/slack/index.js';
import { startTestFirebreak, backends } from '../helpers.js';
import { declareFromSlack, incidentChannel, person, startSlackStack, waitFor, type SlackStack } from './stack.js';

// Only Slack can drive Firebreak through /slack/events: forged, stale and replayed requests get 401 and change
// nothing.

describe.each(backends)('/slack/events refuses requests that are not from Slack (%s)', (backend) => {
  let s: SlackStack;
  let alice: SlackUser;
  let channel: SlackChannel;
  let incidentId: string;
  const notes = async () => ((await s.owner.get(`/api/v1/incidents/${incidentId}/timeline`)).body.items as any[]).filter((i) => i.kind === 'note_added');
  const commandBody = (text: string) =>
    new URLSearchParams({ token: 'x', team_id: s.emu.teamId, channel_id: channel.id, user_id: alice.id, user_name: alice.name, command: '/incident', text, response_url: `${s.emu.url}/hooks/respond/T/0`, trigger_id: '1.2.3' }).toString();
  const sign = (secret: string, ts: number, body: string) => `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
  const now = () => Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    s = await startSlackStack({ backend });
    alice = person(s.emu, 'Alice');
    await declareFromSlack(s, alice, { name: 'Signed requests only' });
    const inc = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
    incidentId = inc.id;
    ({ channel } = await incidentChannel(s, inc.number));
  });
  afterAll(async () => s?.stop());

  it('a request signed with another secret → 401, nothing recorded', async () => {
    const body = commandBody('note forged');
    const ts = now();
    const r = await s.emu.driver.raw({ body, contentType: 'application/x-www-form-urlencoded', timestamp: ts, signature: sign('not-the-secret', ts, body) });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('invalid_signature');
    await s.fb.app.jobs.drain(3000);
    expect(await notes()).toHaveLength(0);
  });

  it('a body changed after signing → 401', async () => {
    const ts = now();
    const sig = sign(s.emu.signingSecret, ts, commandBody('note harmless'));
    const r = await s.emu.driver.raw({ body: commandBody('note tampered'), contentType: 'application/x-www-form-urlencoded', timestamp: ts, signature: sig });
    expect(r.status).toBe(401);
    expect(await notes()).toHaveLength(0);
  });

  it('missing or malformed signature headers → 401', async () => {
    const body = commandBody('note no headers');
    const res = await fetch(`${s.fb.baseUrl}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    expect(res.status).toBe(401);
    const bad = await s.emu.driver.raw({ body, contentType: 'application/x-www-form-urlencoded', signature: 'v1=abc' });
    expect(bad.status).toBe(401);
    expect(await notes()).toHaveLength(0);
  });

  it('a correctly signed request with a timestamp over 5 minutes old, or ahead → 401 stale', async () => {
    const body = commandBody('note stale');
    const old = now() - 6 * 60;
    const r = await s.emu.driver.raw({ body, contentType: 'application/x-www-form-urlencoded', timestamp: old, signature: sign(s.emu.signingSecret, old, body) });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('stale_request');
    const ahead = now() + 6 * 60;
    const f = await s.emu.driver.raw({ body, contentType: 'application/x-www-form-urlencoded', timestamp: ahead, signature: sign(s.emu.signingSecret, ahead, body) });
    expect(f.status).toBe(401);
    expect(await notes()).toHaveLength(0);
  });

  it('a replay of a real request → 401, and the note is added once', async () => {
    const first = await s.emu.driver.slashCommand({ userId: alice.id, channelId: channel.id, command: '/incident', text: 'note only once' });
    expect(first.status).toBe(200);
    const replay = await s.emu.driver.replayLast();
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('replayed_request');
    await waitFor('the note', async () => (await notes()).length === 1);
    await s.fb.app.jobs.drain(3000);
    expect((await notes()).map((n) => n.text)).toEqual(['only once']);
  });

  it('a replayed modal submission → 401 and no second incident', async () => {
    const bob = person(s.emu, 'Bob');
    await declareFromSlack(s, bob, { name: 'Replay me' });
    const replay = await s.emu.driver.replayLast();
    expect(replay.status).toBe(401);
    const list = (await s.owner.get('/api/v1/incidents?limit=100')).body.incidents as any[];
    expect(list.filter((i) => i.name === 'Replay me')).toHaveLength(1);
  });

  it('Slack URL verification is answered when signed', async () => {
    const r = await s.emu.driver.urlVerification('challenge-abc');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ challenge: 'challenge-abc' });
  });

  it('only /slack/events accepts form bodies: the REST API still answers 415', async () => {
    const r = await s.owner.request('POST', '/api/v1/incidents', 'name=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(r.status).toBe(415);
  });
});

describe('replay protection across a restart', () => {
  it('a request accepted before Firebreak restarted is still refused after it', async () => {
    const emu = await startSlackEmulator();
    const dataDir = mkdtempSync(join(tmpdir(), 'firebreak-slack-replay-'));
    const slack = { botToken: emu.botToken, signingSecret: emu.signingSecret, apiUrl: emu.apiUrl, announcementsChannel: null };
    const first = await startTestFirebreak('sqlite', { dataDir, keepData: true, slack });
    try {
      emu.setAppUrl(`${first.baseUrl}/slack/events`);
      const u = emu.addUser({ name: 'rita', email: 'rita@example.com' });
      const general = [...emu.state.channels.values()].find((c) => c.isGeneral)!;
      expect((await emu.driver.slashCommand({ userId: u.id, channelId: general.id, command: '/incident', text: 'help' })).status).toBe(200);
    } finally {
      await first.destroy();
    }
    const second = await startTestFirebreak('sqlite', { dataDir, slack });
    try {
      emu.setAppUrl(`${second.baseUrl}/slack/events`);
      const replay = await emu.driver.replayLast();
      expect(replay.status).toBe(401);
      expect(replay.body.error.code).toBe('replayed_request');
    } finally {
      await second.destroy();
      await emu.stop();
    }
  });
});
