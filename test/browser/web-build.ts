// The browser tests drive the built web app that Firebreak serves from web/dist. Build it when it is missing
// or older than its sources, so a fresh checkout works and a repeated run costs only a few stat calls.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const webDir = join(repoRoot, 'web');

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

export function ensureWebBuilt(): void {
  const built = join(webDir, 'dist', 'index.html');
  const sources = Math.max(newestMtime(join(webDir, 'src')), newestMtime(join(webDir, 'index.html')), newestMtime(join(webDir, 'vite.config.ts')));
  if (existsSync(built) && statSync(built).mtimeMs >= sources) return;
  const vite = join(repoRoot, 'node_modules', 'vite', 'bin', 'vite.js');
  const r = spawnSync(process.execPath, [vite, 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`building the web app failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
}

/**
 * Debian's Chromium, headless, with the flags this machine needs (no sandbox as root; no background
 * networking, whose connections the closed network refuses).
 */
export function launchChromium(): Promise<import('playwright-core').Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
