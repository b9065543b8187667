import { startSlackEmulator, type SlackChannel, type SlackEmulator, type SlackUser, type SlackView } from '../../emulators/slack/index.js';
import { ownerClient, startTestFirebreak, type Client, type TestFirebreak } from '../helpers.js';

// Firebreak wired to the Slack emulator: the driver plays people in Slack (signed requests in), and the
// emulator's state is what they would see (Web API calls out).

export interface SlackStack {
  emu: SlackEmulator;
  fb: TestFirebreak;
  owner: Client;
  announcements: SlackChannel;
  stop(): Promise<void>;
}

export async function startSlackStack(opts: { announcementsBotMember?: boolean; backend?: 'sqlite' | 'postgres' } = {}): Promise<SlackStack> {
  const emu = await startSlackEmulator();
  const announcements = emu.addChannel('incidents', { botIsMember: opts.announcementsBotMember ?? true });
  const fb = await startTestFirebreak(opts.backend ?? 'sqlite', {
    slack: { botToken: emu.botToken, signingSecret: emu.signingSecret, apiUrl: emu.apiUrl, announcementsChannel: announcements.id },
  });
  emu.setAppUrl(`${fb.baseUrl}/slack/events`);
  const owner = await ownerClient(fb);
  return {
    emu,
    fb,
    owner,
    announcements,
    async stop() {
      await fb.destroy();
      await emu.stop();
    },
  };
}

export async function waitFor<T>(what: string, fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 8000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

let seq = 0;
export function person(emu: SlackEmulator, name: string, email?: string): SlackUser {
  seq += 1;
  return emu.addUser({ name: `${name}${seq}`, realName: name, email: email ?? `${name.toLowerCase().replace(/\W+/g, '.')}.${seq}@example.com` });
}

/** Runs /incident declare, waits for the modal and submits it. */
export async function declareFromSlack(
  s: SlackStack,
  user: SlackUser,
  values: { name: string; severity?: string; summary?: string; triage?: boolean },
  channelId = [...s.emu.state.channels.values()].find((c) => c.isGeneral)!.id,
) {
  const cmd = await s.emu.driver.slashCommand({ userId: user.id, channelId, command: '/incident', text: 'declare' });
  const view = await waitFor('the declare modal', () => s.emu.openViews(user.id).find((v) => v.callbackId === 'firebreak_declare'));
  const before = await incidentsNamed(s, values.name);
  const submit = await s.emu.driver.submitView({
    userId: user.id,
    viewId: view.id,
    values: {
      name: { value: values.name },
      ...(values.severity ? { severity: { value: values.severity } } : {}),
      ...(values.summary ? { summary: { value: values.summary } } : {}),
      ...(values.triage ? { triage: { value: ['triage'] } } : {}),
    },
  });
  // The ack means the declaration is recorded; its job creates the incident a moment later.
  if (!submit.view.isOpen) await waitFor(`the incident "${values.name}"`, async () => (await incidentsNamed(s, values.name)) > before);
  return { cmd, view, submit };
}

/** How many incidents have this name (the newest 100). */
export async function incidentsNamed(s: Pick<SlackStack, 'owner'>, name: string): Promise<number> {
  return ((await s.owner.get('/api/v1/incidents?limit=100')).body.incidents as { name: string }[]).filter((i) => i.name === name).length;
}

/** The incident a closed declare modal asked for, once its job has created it (the newest with this name). */
export async function declaredIncident(s: Pick<SlackStack, 'owner'>, name: string): Promise<any> {
  return waitFor(`the incident "${name}"`, async () => ((await s.owner.get('/api/v1/incidents?limit=100')).body.incidents as any[]).find((i) => i.name === name));
}

/** The incident channel once it exists, with its pinned header. */
export async function incidentChannel(s: SlackStack, number: number): Promise<{ channel: SlackChannel; header: () => ReturnType<SlackEmulator['messagesIn']>[number] }> {
  const channel = await waitFor(`channel of INC-${number}`, () => [...s.emu.state.channels.values()].find((c) => c.name.startsWith(`inc-${number}-`) || c.name === `inc-${number}`));
  await waitFor(`pinned header in #${channel.name}`, () => s.emu.messagesIn(channel.id).find((m) => m.pinned && m.botId));
  return { channel, header: () => s.emu.messagesIn(channel.id).find((m) => m.pinned && m.botId)! };
}

export function ephemeralText(s: SlackStack, userId: string): string {
  return s.emu.ephemeralsFor(userId).map((e) => e.text).join('\n');
}

export type { SlackView };
