import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackChannel, SlackUser } from '../../emulators/slack/index.js';
import { backends } from '../helpers.js';
import { declareFromSlack, incidentChannel, person, startSlackStack, waitFor, type SlackStack } from './stack.js';

// Pinning a message in an incident channel, or reacting with :pushpin:, puts it on the incident timeline once,
// however often Slack delivers the event.

describe.each(backends)('pinned Slack messages on the timeline (%s)', (backend) => {
  let s: SlackStack;
  let alice: SlackUser;
  let channel: SlackChannel;
  let incidentId: string;
  const pinnedItems = async () => ((await s.owner.get(`/api/v1/incidents/${incidentId}/timeline`)).body.items as any[]).filter((i) => i.kind === 'slack.message_pinned');

  beforeAll(async () => {
    s = await startSlackStack({ backend });
    alice = person(s.emu, 'Alice Pinner');
    await declareFromSlack(s, alice, { name: 'Disk full on db-3' });
    const inc = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
    incidentId = inc.id;
    ({ channel } = await incidentChannel(s, inc.number));
  });
  afterAll(async () => s?.stop());

  it('a pin becomes one timeline item with author, text and permalink, even when redelivered', async () => {
    const bob = person(s.emu, 'Bob Writer');
    s.emu.state.channels.get(channel.id)!.members.push(bob.id);
    const msg = s.emu.driver.postMessageAs(bob.id, channel.id, 'Found it: logrotate was disabled on db-3');
    await s.emu.driver.flush();
    const pin = await s.emu.driver.pinMessage({ userId: alice.id, channelId: channel.id, ts: msg.ts });
    expect(pin.status).toBe(200);
    const [item] = await waitFor('pinned item', async () => {
      const items = await pinnedItems();
      return items.length ? items : undefined;
    });
    expect(item.text).toBe('Found it: logrotate was disabled on db-3');
    expect(item.payload.author).toEqual({ slackUserId: bob.id, name: 'Bob Writer' });
    expect(item.payload.permalink).toContain(msg.ts.replace('.', ''));
    expect(item.actor.user.name).toBe('Alice Pinner');

    const again = await s.emu.driver.redeliverEvent(pin.eventId, { retryNum: 1, retryReason: 'http_timeout' });
    expect(again.status).toBe(200);
    // A :pushpin: on the same message is the same fact.
    await s.emu.driver.react({ userId: bob.id, channelId: channel.id, ts: msg.ts, name: 'pushpin' });
    await s.fb.app.jobs.drain(5000);
    expect(await pinnedItems()).toHaveLength(1);
  });

  it('a :pushpin: reaction adds the message once; other reactions add nothing', async () => {
    const msg = s.emu.driver.postMessageAs(alice.id, channel.id, 'Freed 40 GB, writes are back');
    await s.emu.driver.flush();
    await s.emu.driver.react({ userId: alice.id, channelId: channel.id, ts: msg.ts, name: 'eyes' });
    await s.fb.app.jobs.drain(5000);
    expect(await pinnedItems()).toHaveLength(1);

    const r = await s.emu.driver.react({ userId: alice.id, channelId: channel.id, ts: msg.ts, name: 'pushpin' });
    await waitFor('second pinned item', async () => (await pinnedItems()).length === 2);
    await s.emu.driver.redeliverEvent(r.eventId, { retryNum: 1 });
    await s.emu.driver.redeliverEvent(r.eventId, { retryNum: 2 });
    await s.fb.app.jobs.drain(5000);
    const items = await pinnedItems();
    expect(items).toHaveLength(2);
    expect(items[1].text).toBe('Freed 40 GB, writes are back');
    expect(items[1].payload.via).toBe('reaction');
  });

  it('pins outside incident channels are ignored', async () => {
    const general = [...s.emu.state.channels.values()].find((c) => c.isGeneral)!;
    const msg = s.emu.driver.postMessageAs(alice.id, general.id, 'lunch?');
    await s.emu.driver.pinMessage({ userId: alice.id, channelId: general.id, ts: msg.ts });
    await s.fb.app.jobs.drain(5000);
    expect(await pinnedItems()).toHaveLength(2);
    expect(s.emu.calls('chat.getPermalink').some((c) => c.args.channel === general.id)).toBe(false);
  });
});
