import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pagerDutyCli, runSummary } from '../../src/integrations/pagerduty/cli.js';
import { setup, type Setup } from './helpers.js';

describe('firebreak pagerduty (CLI)', () => {
  let s: Setup;
  let dir: string;
  beforeAll(async () => {
    s = await setup('sqlite', 'small');
    dir = mkdtempSync(join(tmpdir(), 'pd-cli-'));
  });
  afterAll(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = async (args: string[], isTTY = false) => {
    let out = '';
    let err = '';
    const code = await pagerDutyCli(s.fb.app.pagerduty.integration, args, { out: (x) => (out += x), err: (x) => (err += x), isTTY });
    return { code, out, err };
  };

  it('connects from a key file, syncs with a progress bar, shows status and disconnects, never printing the key', async () => {
    const keyFile = join(dir, 'pd.key');
    writeFileSync(keyFile, `${s.pd.fullAccessKey}\n`, { mode: 0o600 });
    const bot = [...s.pd.state.users.values()][1]!;
    const usage = await run(['connect']);
    expect(usage.code).toBe(2);
    expect(usage.err).toContain('--key-file');

    const c = await run(['connect', '--key-file', keyFile, '--bot-email', bot.email.trim(), '--base-url', s.pd.baseUrl]);
    expect(c.code).toBe(0);
    expect(c.out).toContain(`key ••••${s.pd.fullAccessKey.slice(-4)}`);
    expect(c.out).toContain(bot.name);

    const sync = await run(['sync'], true);
    expect(sync.code).toBe(0);
    expect(sync.err).toMatch(/users\s+\[#+\] \d+\/\d+/);
    expect(sync.out).toMatch(/Sync .*: succeeded \(\d+ PagerDuty requests, \d+ rows written\)/);
    expect(sync.out).toMatch(/teams\s+fetched \d+/);

    const st = await run(['status']);
    expect(st.out).toContain('Bot account:');
    expect(st.out).toContain('succeeded');

    const d = await run(['disconnect']);
    expect(d.out).toContain('PagerDuty disconnected');
    expect((await run(['status'])).out).toContain('not connected');
    for (const r of [c, sync, st, d]) expect(r.out + r.err).not.toContain(s.pd.fullAccessKey);
    const audit = await s.fb.app.database.db.selectFrom('audit_events').select(['action', 'actor_id']).where('action', 'like', 'pagerduty.%').execute();
    expect(audit).toEqual([
      { action: 'pagerduty.connected', actor_id: 'cli' },
      { action: 'pagerduty.disconnected', actor_id: 'cli' },
    ]);
  });
});

describe('the CLI sync summary', () => {
  const stats = { fetched: 10_000, created: 10_000, updated: 0, archived: 2, unchanged: 0, skippedByMarker: 0, lookedUp: 3, complete: false, error: null, warnings: ['991 of 20,000 users are in no team and past the listing limit'] };
  it('names the looked-up count, each warning and why a run stopped', () => {
    const text = runSummary({ id: 'R1', source: 'pagerduty', trigger: 'cli', status: 'cancelled', forced: false, types: ['users'], stats: { users: stats }, progress: {}, requests: 120, errors: [], stopReason: 'PagerDuty was disconnected', requestedBy: 'cli', createdAt: '', startedAt: '', finishedAt: '' });
    expect(text.split('\n')).toEqual([
      'Sync R1: cancelled (120 PagerDuty requests)',
      '  users                fetched 10000, created 10000, updated 0, archived 2, unchanged 0, skipped by marker 0, looked up 3',
      '                       warning: 991 of 20,000 users are in no team and past the listing limit',
      '  Stopped: PagerDuty was disconnected',
    ]);
  });
});
