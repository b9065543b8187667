import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FOLLOW_UP_SHORTCUT } from '../../src/integrations/slack/follow-ups/follow-ups.view.js';
import { declareFromSlack, incidentChannel, person, startSlackStack, waitFor, type SlackStack } from './stack.js';

// The manifest people paste into Slack is enough: with exactly its scopes, everything Firebreak does works.

const manifest = readFileSync(resolve(import.meta.dirname, '../../src/integrations/slack/manifest.yaml'), 'utf8');
const section = (start: RegExp) => {
  const lines = manifest.split('\n');
  const i = lines.findIndex((l) => start.test(l));
  const indent = lines[i]!.search(/\S/);
  const out: string[] = [];
  for (const l of lines.slice(i + 1)) {
    if (l.trim() && l.search(/\S/) <= indent) break;
    const m = /^\s*-\s+([^\s#]+)/.exec(l);
    if (m) out.push(m[1]!);
  }
  return out;
};

describe('the Slack app manifest', () => {
  let s: SlackStack;
  const scopes = section(/^\s+bot:\s*$/);
  beforeAll(async () => {
    s = await startSlackStack({ announcementsBotMember: false });
    s.emu.setScopes(scopes);
  });
  afterAll(async () => s?.stop());

  it('declares both commands, the two events and one URL for everything', () => {
    expect([...manifest.matchAll(/- command: (\S+)/g)].map((m) => m[1])).toEqual(['/incident', '/inc']);
    expect(section(/^\s+bot_events:\s*$/)).toEqual(['pin_added', 'reaction_added']);
    const urls = new Set([...manifest.matchAll(/(?:url|request_url): (\S+)/g)].map((m) => m[1]));
    expect([...urls]).toEqual(['https://firebreak.example.com/slack/events']);
  });

  it('declares the "Create follow-up" message shortcut in both manifests, with the callback id the app answers', () => {
    const socket = readFileSync(resolve(import.meta.dirname, '../../src/integrations/slack/manifest.socket-mode.yaml'), 'utf8');
    for (const m of [manifest, socket]) {
      expect([...m.matchAll(/callback_id: (\S+)/g)].map((x) => x[1])).toEqual([FOLLOW_UP_SHORTCUT]);
      expect(m).toMatch(/- name: Create follow-up\n\s+type: message\n/);
    }
  });

  it('grants every scope the app uses: declare, announce, note, pin and DM with no missing_scope', async () => {
    const alice = person(s.emu, 'Alice Scoped');
    await declareFromSlack(s, alice, { name: 'Scoped incident' });
    const inc = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
    const { channel } = await incidentChannel(s, inc.number);
    await waitFor('announced', () => s.emu.messagesIn(s.announcements.id).some((m) => m.text.includes(inc.reference)));
    await s.emu.driver.slashCommand({ userId: alice.id, channelId: channel.id, command: '/incident', text: 'note scoped note' });
    const msg = s.emu.driver.postMessageAs(alice.id, channel.id, 'pin me');
    await s.emu.driver.flush();
    await s.emu.driver.react({ userId: alice.id, channelId: channel.id, ts: msg.ts, name: 'pushpin' });
    await waitFor('pinned on the timeline', async () => ((await s.owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items as any[]).some((i) => i.kind === 'slack.message_pinned'));
    // A failure is told by DM (conversations.open + chat.postMessage need im:write and chat:write).
    s.emu.faults.failNext('conversations.create', 'restricted_action');
    await declareFromSlack(s, alice, { name: 'Refused channel' });
    await waitFor('DM', () => s.emu.dmsTo(alice.id).some((m) => m.text.includes('restricted_action')));
    expect(s.emu.callLog().filter((c) => c.error === 'missing_scope')).toEqual([]);
  });
});
