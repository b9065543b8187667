// The standalone emulator (`npm run emulator:slack`) starts, prints what Firebreak needs, and serves the Web API.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebClient } from '@slack/web-api';
import { afterAll, describe, expect, it } from 'vitest';

let child: ChildProcess | undefined;
afterAll(() => {
  child?.kill('SIGTERM');
});

function startCli(args: string[]): Promise<string> {
  const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
  child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`CLI did not start: ${out}`)), 20_000);
    child!.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Driver:')) {
        clearTimeout(timer);
        resolve(out);
      }
    });
    child!.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child!.on('exit', (code) => reject(new Error(`CLI exited with ${code}: ${out}`)));
  });
}

describe('standalone CLI', () => {
  it('prints the API URL, bot token and signing secret, seeds users, and answers WebClient calls', async () => {
    const out = await startCli(['--port', '0', '--signing-secret', 'cli-secret', '--app-url', 'http://127.0.0.1:9/slack/events']);
    const apiUrl = /API URL \(slackApiUrl\): (\S+)/.exec(out)?.[1];
    const token = /Bot token:\s+(\S+)/.exec(out)?.[1];
    expect(apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
    expect(token).toMatch(/^xoxb-/);
    expect(out).toMatch(/Signing secret:\s+cli-secret/);
    expect(out).toContain('http://127.0.0.1:9/slack/events');
    const client = new WebClient(token, { slackApiUrl: apiUrl, retryConfig: { retries: 0 } });
    expect((await client.auth.test()).ok).toBe(true);
    expect((await client.users.lookupByEmail({ email: 'alice@example.com' })).user?.name).toBe('alice');
    const ops = await client.conversations.list({});
    expect(ops.channels?.map((c) => c.name).sort()).toEqual(['general', 'ops']);
  });
});
