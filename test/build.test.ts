// The production build (scripts/build-lib.mjs): the server compiled to JavaScript runs without TypeScript (every
// migration included), and a build counts as current only while every input and output has the content it had.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript without declarations (it runs before anything is compiled)
import { buildServer, checkStamp } from '../scripts/build-lib.mjs';
import { createRequire } from 'node:module';
import { migrations } from '../src/migrations.js';
import { startTestFirebreak } from './helpers.js';

const check = checkStamp as (target: string, opts: { outDir: string }) => { current: boolean; reason: string };

describe('production build', () => {
  let outDir: string;
  let dataDir: string;

  beforeAll(async () => {
    // Inside the repository, so that the compiled code finds node_modules as dist/ does (ignored by git).
    outDir = mkdtempSync(join(import.meta.dirname, '..', '.test-build-'));
    dataDir = mkdtempSync(join(tmpdir(), 'firebreak-build-data-'));
    await buildServer({ outDir });
  }, 120_000);

  afterAll(() => {
    rmSync(outDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('the compiled server applies every migration and serves /readyz, with no TypeScript loader', async () => {
    const env = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn', NODE_OPTIONS: '' };
    const migrate = spawnSync(process.execPath, [join(outDir, 'main.js'), 'migrate'], { env, encoding: 'utf8' });
    expect(migrate.stderr).toBe('');
    expect(migrate.status).toBe(0);
    const applied = /Applied: (.*)/.exec(migrate.stdout)?.[1]?.split(', ');
    expect(applied).toEqual(Object.keys(migrations));

    const child = spawn(process.execPath, [join(outDir, 'main.js'), 'start'], { env: { ...env, PORT: '0', HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /running at (\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
      });
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }, 120_000);

  it('is current after building, and not once an input or an output differs', () => {
    expect(check('server', { outDir })).toEqual({ current: true, reason: 'up to date' });

    const stampPath = join(outDir, '.stamps', 'server.json');
    const original = readFileSync(stampPath, 'utf8');
    const stamp = JSON.parse(original) as { inputs: Record<string, string> };
    expect(Object.keys(stamp.inputs)).toContain('src/migrations.ts');
    expect(Object.keys(stamp.inputs)).toContain('src/platform/db/migrations/0001_core.ts');
    // An input whose content is not what was built (as after an edit): the stamp records another hash.
    writeFileSync(stampPath, JSON.stringify({ ...stamp, inputs: { ...stamp.inputs, 'src/app.ts': '0'.repeat(64) } }));
    expect(check('server', { outDir })).toEqual({ current: false, reason: 'src/app.ts changed' });
    writeFileSync(stampPath, original);
    expect(check('server', { outDir }).current).toBe(true);

    appendFileSync(join(outDir, 'main.js'), '\n// edited\n');
    expect(check('server', { outDir }).current).toBe(false);
    expect(check('server', { outDir }).reason).toMatch(/main\.js is missing or was changed/);
  });
});

// Idle memory: a Firebreak without Slack never loads Bolt (with Express and OAuth) nor the Socket Mode client (with
// undici); src/integrations/slack/index.ts makes Bolt on first use.
it('a Firebreak without Slack serves without loading Bolt or the Socket Mode client', async () => {
  const fb = await startTestFirebreak('sqlite');
  try {
    expect((await fetch(`${fb.baseUrl}/readyz`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 200)); // past the after-listen check for Slack credentials
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    expect(loaded.filter((f) => /node_modules\/(@slack\/bolt|@slack\/socket-mode|express|undici)\//.test(f))).toEqual([]);
  } finally {
    await fb.destroy();
  }
});
