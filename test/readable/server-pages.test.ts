import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestFirebreak, type TestFirebreak } from '../helpers.js';

// Pages the server renders itself (not the web app) declare UTF-8 in the header and the document, read as the app
// does, and follow the browser's dark-mode preference.

describe('server-rendered pages', () => {
  let fb: TestFirebreak;
  beforeAll(async () => {
    fb = await startTestFirebreak('sqlite');
  });
  afterAll(async () => fb?.destroy());

  const get = async (path: string) => {
    const r = await fetch(`${fb.baseUrl}${path}`, { redirect: 'manual' });
    const bytes = Buffer.from(await r.arrayBuffer());
    return { status: r.status, type: r.headers.get('content-type'), bytes, text: bytes.toString('utf8') };
  };

  it('an unknown or already used sign-in link answers a styled UTF-8 page that reads "Settings → Users"', async () => {
    const used = new URL(fb.initialLoginUrl!);
    expect((await get(used.pathname + used.search)).status).toBe(302);
    for (const path of ['/auth/login?token=not-a-real-token', used.pathname + used.search]) {
      const r = await get(path);
      expect(r.status, path).toBe(400);
      expect(r.type, path).toBe('text/html; charset=utf-8');
      expect(r.text).toMatch(/^<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">/);
      // The arrow is sent as UTF-8 bytes (e2 86 92), which the declared charset makes a browser read as "→".
      expect(r.bytes.includes(Buffer.from([0xe2, 0x86, 0x92]))).toBe(true);
      expect(r.text).toContain('Ask an admin for a new one (Settings → Users)');
      expect(r.text).toContain('<h1>Sign-in link not valid</h1>');
      expect(r.text).toContain('@media (prefers-color-scheme: dark)');
      expect(r.text).toContain('<a href="/signin">Back to sign in</a>');
    }
  });

  it('the web app itself (index and client routes) is served as UTF-8 HTML', async () => {
    for (const path of ['/', '/incidents/INC-1']) {
      const r = await get(path);
      expect(r.status, path).toBe(200);
      expect(r.type, path).toBe('text/html; charset=utf-8');
      expect(r.text.toLowerCase()).toContain('<meta charset="utf-8"');
    }
  });
});
