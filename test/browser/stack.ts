// What every browser test starts with: the built web app, Firebreak on a fresh embedded database in a
// temporary data directory, and Debian's Chromium; and a fresh browser profile per test that fails the test on
// any uncaught error in the page and leaves a full-page screenshot in /tmp when a step fails.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { startFirebreak, type RunningFirebreak, type StartOptions } from '../../src/main.js';
import { ensureWebBuilt, launchChromium } from './web-build.js';

export interface BrowserStack {
  fb: RunningFirebreak;
  browser: Browser;
  close(): Promise<void>;
}

/** `options` are Firebreak's (e.g. `slack`); it listens on a free port of 127.0.0.1 and logs nothing. */
export async function startBrowserStack(options: Omit<StartOptions, 'dataDir' | 'port' | 'host' | 'logLevel'> = {}): Promise<BrowserStack> {
  ensureWebBuilt();
  const dataDir = mkdtempSync(join(tmpdir(), 'firebreak-browser-'));
  let fb: RunningFirebreak | null = null;
  try {
    fb = await startFirebreak({ dataDir, port: 0, host: '127.0.0.1', logLevel: 'silent', ...options });
    const browser = await launchChromium();
    const running = fb;
    return {
      fb: running,
      browser,
      async close() {
        await browser.close();
        await running.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await fb?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Runs `steps` in a fresh browser profile (no cookies) on Firebreak. A failing step leaves
 * /tmp/fb-<name>-failure.png; once the steps pass, no uncaught error may have happened in the page.
 */
export async function inPage(stack: BrowserStack, name: string, steps: (page: Page) => Promise<void>, opts: { height?: number; timeoutMs?: number } = {}): Promise<void> {
  const context = await stack.browser.newContext({ baseURL: stack.fb.baseUrl, viewport: { width: 1280, height: opts.height ?? 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(opts.timeoutMs ?? 15_000);
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  try {
    await steps(page);
    expect(errors).toEqual([]);
  } catch (err) {
    await page.screenshot({ path: `/tmp/fb-${name}-failure.png`, fullPage: true }).catch(() => {});
    throw err;
  } finally {
    await context.close();
  }
}

/**
 * The REST API as the person signed in on `page` (its session cookie and CSRF token), for set-up the test does
 * not drive through the UI. An answer other than 2xx fails the test with the server's message.
 */
export async function apiAs(page: Page): Promise<(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, data?: unknown) => Promise<any>> {
  const csrf = ((await (await page.request.get('/api/v1/session')).json()) as { csrf_token: string }).csrf_token;
  return async (method, path, data) => {
    const r = await page.request.fetch(path, { method, ...(data === undefined ? {} : { data }), headers: { 'x-csrf-token': csrf } });
    expect(r.status(), `${method} ${path}: ${await r.text()}`).toBeLessThan(300);
    return r.status() === 204 ? null : r.json();
  };
}
