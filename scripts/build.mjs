#!/usr/bin/env node
// `npm run build`: compiles the server to dist/ and builds the web app into web/dist, each only when one of its
// inputs changed since its last build (scripts/build-lib.mjs says how that is decided). `npm start` runs it before
// `node dist/main.js start`, so a restart with nothing changed costs a few milliseconds of hashing.
//   node scripts/build.mjs [server] [web] [--force] [--check]
// --force rebuilds regardless; --check builds nothing and exits 1 when a target is out of date.
import { buildServer, buildWeb, checkStamp } from './build-lib.mjs';

const args = process.argv.slice(2);
const force = args.includes('--force');
const checkOnly = args.includes('--check');
const named = args.filter((a) => !a.startsWith('--'));
const unknown = named.filter((a) => a !== 'server' && a !== 'web');
if (unknown.length) {
  console.error(`build: unknown target ${unknown.join(', ')} (server, web)`);
  process.exit(2);
}
const targets = named.length ? named : ['server', 'web'];
const builders = { server: buildServer, web: buildWeb };

let stale = 0;
for (const target of targets) {
  const state = checkStamp(target);
  if (state.current && !force) {
    if (checkOnly) console.log(`${target}: up to date`);
    continue;
  }
  if (checkOnly) {
    console.log(`${target}: out of date (${state.reason})`);
    stale++;
    continue;
  }
  const started = performance.now();
  console.log(`Building the ${target === 'server' ? 'server (dist/)' : 'web app (web/dist)'}: ${force ? 'forced' : state.reason}`);
  try {
    await builders[target]();
  } catch (err) {
    console.error(`build: the ${target} failed to build: ${err?.message ?? err}`);
    process.exit(1);
  }
  console.log(`Built the ${target} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
process.exit(stale ? 1 : 0);
