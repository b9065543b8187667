import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackEmulator, type SlackEmulator } from '../../emulators/slack/index.js';
import { FirebreakProcess } from '../chaos/harness.js';
import { freePort } from '../escalations/helpers.js';
import { signInWithLink, type Client } from '../helpers.js';
import { waitFor } from './stack.js';

// A declaration acknowledged in Slack is declared, once, even when Firebreak is killed (SIGKILL) right after the
// acks: the acks come only once the declarations are durable (slack.declare jobs), and the jobs create each
// incident once (the view id is the idempotency key) after a restart on the same data.

describe('declarations from Slack survive kill -9 after the ack (SQLite, real process)', () => {
  let emu: SlackEmulator;
  let fb: FirebreakProcess;
  let owner: Client;
  let dataDir: string;

  beforeAll(async () => {
    emu = await startSlackEmulator();
    const announcements = emu.addChannel('incidents');
    dataDir = mkdtempSync(join(tmpdir(), 'firebreak-slack-crash-'));
    fb = new FirebreakProcess({
      name: 'firebreak',
      port: await freePort(),
      env: { DATA_DIR: dataDir, SLACK_BOT_TOKEN: emu.botToken, SLACK_SIGNING_SECRET: emu.signingSecret, SLACK_API_URL: emu.apiUrl, SLACK_ANNOUNCEMENTS_CHANNEL: announcements.id },
    });
    await fb.start();
    if (!fb.loginUrl) throw new Error(`no first sign-in link printed:\n${fb.tail()}`);
    owner = await signInWithLink(fb.baseUrl, fb.loginUrl);
    emu.setAppUrl(`${fb.baseUrl}/slack/events`);
  }, 180_000);

  afterAll(async () => {
    await fb?.stop();
    await emu?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('every acknowledged declaration exists exactly once after a kill and a restart', async () => {
    const general = [...emu.state.channels.values()].find((c) => c.isGeneral)!;
    const people = Array.from({ length: 12 }, (_, i) => emu.addUser({ name: `crash${i}`, realName: `Crash Person ${i}`, email: `crash${i}@example.com` }));
    const views = await Promise.all(
      people.map(async (p) => {
        await emu.driver.slashCommand({ userId: p.id, channelId: general.id, command: '/incident', text: 'declare' });
        return waitFor('the declare modal', () => emu.openViews(p.id)[0], 20_000);
      }),
    );
    // Everyone submits at once; Firebreak dies the moment the last ack is in.
    const submits = await Promise.all(people.map((p, i) => emu.driver.submitView({ userId: p.id, viewId: views[i]!.id, values: { name: { value: `Crash declaration ${i}` } } })));
    await fb.kill();
    for (const s of submits) {
      expect(s.status).toBe(200);
      expect(s.view.isOpen).toBe(false);
    }

    // On disk at the moment of the kill: each acknowledged declaration is an incident or a declare job still to run.
    const file = new Database(join(dataDir, 'firebreak.sqlite'), { fileMustExist: true });
    let pendingAtKill: number;
    try {
      const names = new Set((file.prepare("select name from incidents where name like 'Crash declaration %'").all() as { name: string }[]).map((r) => r.name));
      const jobs = (file.prepare("select payload from jobs where name = 'slack.declare' and state in ('pending', 'running')").all() as { payload: string }[]).map((r) => JSON.parse(r.payload).input.name as string);
      pendingAtKill = jobs.filter((n) => !names.has(n)).length;
      for (let i = 0; i < people.length; i++) expect(names.has(`Crash declaration ${i}`) || jobs.includes(`Crash declaration ${i}`), `declaration ${i} is on disk`).toBe(true);
    } finally {
      file.close();
    }

    await fb.start();
    const all = await waitFor(
      'every declaration after the restart',
      async () => {
        const list = ((await owner.get('/api/v1/incidents?limit=100')).body.incidents as { name: string }[]).filter((i) => i.name.startsWith('Crash declaration '));
        return list.length >= people.length ? list : null;
      },
      60_000,
    );
    const names = all.map((i) => i.name).sort();
    expect(names).toEqual(people.map((_, i) => `Crash declaration ${i}`).sort()); // each once
    // Each declarer hears where to go (at least once; a job killed after confirming may confirm again).
    for (const p of people) await waitFor(`the confirmation to ${p.name}`, () => emu.ephemeralsFor(p.id).some((e) => e.text.includes('is declared')), 30_000);
    console.log(`declarations still to run when the process was killed: ${pendingAtKill} of ${people.length}`);
  }, 180_000);
});
