import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadOrCreateKeyFile, maskSecret, parseMasterKey, SecretBox } from './secrets.js';

describe('secrets at rest', () => {
  const box = new SecretBox(randomBytes(32));

  it('round-trips, never stores the plaintext, and differs each time', () => {
    const a = box.encrypt('u+abcdEFGH1234', 'pagerduty.api_key');
    const b = box.encrypt('u+abcdEFGH1234', 'pagerduty.api_key');
    expect(a).not.toContain('abcdEFGH');
    expect(a).not.toBe(b);
    expect(box.decrypt(a, 'pagerduty.api_key')).toBe('u+abcdEFGH1234');
  });

  it('refuses tampered ciphertexts, another context and another key', () => {
    const c = box.encrypt('secret', 'slack.bot_token');
    const raw = Buffer.from(c.slice(3), 'base64');
    raw[raw.length - 1]! ^= 1;
    expect(() => box.decrypt(`v1:${raw.toString('base64')}`, 'slack.bot_token')).toThrow();
    expect(() => box.decrypt(c, 'pagerduty.api_key')).toThrow();
    expect(() => new SecretBox(randomBytes(32)).decrypt(c, 'slack.bot_token')).toThrow();
  });

  it('creates the embedded key file once, owner-only, and reuses it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-key-'));
    try {
      const k1 = loadOrCreateKeyFile(dir);
      expect(statSync(join(dir, 'master.key')).mode & 0o777).toBe(0o600);
      expect(loadOrCreateKeyFile(dir).equals(k1)).toBe(true);
      expect(readFileSync(join(dir, 'master.key'), 'utf8').trim()).toBe(k1.toString('base64'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('parses configured keys and explains bad ones', () => {
    const k = randomBytes(32);
    expect((parseMasterKey(k.toString('base64')) as Buffer).equals(k)).toBe(true);
    expect((parseMasterKey(k.toString('hex')) as Buffer).equals(k)).toBe(true);
    expect(parseMasterKey('short')).toMatch(/32 random bytes/);
    expect(maskSecret('abcdefgh1234')).toBe('••••1234');
  });
});
