#!/usr/bin/env node
// The whole test suite: `npm test`.
// - PostgreSQL: uses TEST_DATABASE_URL, else tries postgres://postgres@127.0.0.1:5432/test. When reachable, a fresh
//   database is created for this run (and dropped afterwards) and the PostgreSQL variants of the storage and
//   job suites run. When not reachable they are skipped, and this script says so and why. With
//   FIREBREAK_REQUIRE_POSTGRES=1 (set by .ci/run) an unreachable server fails the run instead.
// - Browser: the browser tests need Chromium (CHROMIUM_PATH or /usr/bin/chromium). Without it they are skipped
//   with a printed reason, or fail the run when FIREBREAK_REQUIRE_BROWSER=1 (set by .ci/run).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import pg from 'pg';

const requirePg = process.env.FIREBREAK_REQUIRE_POSTGRES === '1';
const requireBrowser = process.env.FIREBREAK_REQUIRE_BROWSER === '1';
const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const env = { ...process.env };
const notes = [];
let created = null;

async function preparePostgres() {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
  } catch (err) {
    return `PostgreSQL tests SKIPPED: cannot connect to ${redact(adminUrl)} (${err.code ?? err.message}). Set TEST_DATABASE_URL to run them.`;
  }
  const name = `firebreak_test_${Date.now()}_${process.pid}`;
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  created = { name };
  env.TEST_DATABASE_URL = url.toString();
  env.FIREBREAK_TEST_POSTGRES = '1';
  return `PostgreSQL tests run against fresh database ${name} on ${url.host}`;
}

async function dropPostgres() {
  if (!created) return;
  const client = new pg.Client({ connectionString: adminUrl });
  try {
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${created.name} WITH (FORCE)`);
  } catch (err) {
    console.error(`could not drop test database ${created.name}: ${err.message}`);
  } finally {
    await client.end().catch(() => {});
  }
}

function redact(u) {
  try { const x = new URL(u); if (x.password) x.password = '***'; return x.toString(); } catch { return u; }
}

const pgNote = await preparePostgres();
notes.push(pgNote);
if (!env.FIREBREAK_TEST_POSTGRES && requirePg) {
  console.error(pgNote + '\nFIREBREAK_REQUIRE_POSTGRES=1: failing.');
  process.exit(1);
}
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (existsSync(chromium)) {
  env.CHROMIUM_PATH = chromium;
  env.FIREBREAK_TEST_BROWSER = '1';
  notes.push(`Browser tests run with ${chromium}`);
} else {
  const msg = `Browser tests SKIPPED: no Chromium at ${chromium} (apt-get install -y chromium, or set CHROMIUM_PATH).`;
  if (requireBrowser) { console.error(msg + '\nFIREBREAK_REQUIRE_BROWSER=1: failing.'); process.exit(1); }
  notes.push(msg);
}
for (const n of notes) console.log(`[firebreak test] ${n}`);
// Build the web app once up front: several test files serve it, and parallel builds would race.
const build = spawnSync('npm', ['run', '--silent', 'build:web', '--', '--logLevel', 'warn'], { stdio: 'inherit', env });
if (build.status !== 0) {
  console.error('[firebreak test] building the web app failed');
  process.exit(1);
}
const args = ['vitest', 'run', ...process.argv.slice(2)];
const r = spawnSync('npx', args, { stdio: 'inherit', env });
await dropPostgres();
for (const n of notes) console.log(`[firebreak test] ${n}`);
process.exit(r.status ?? 1);
