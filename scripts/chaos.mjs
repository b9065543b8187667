#!/usr/bin/env node
// `npm run chaos -- --rounds N [--seed S] [--workloads a,b]`: the chaos suite (test/chaos/chaos.test.ts) with more rounds than
// `npm test` runs, through scripts/test.mjs so that it gets its fresh PostgreSQL database.
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const env = { ...process.env };
for (let i = 0; i < args.length; i++) {
  const [flag, inline] = args[i].split('=');
  const value = inline ?? args[++i];
  if (flag === '--rounds' && /^\d+$/.test(value ?? '') && Number(value) > 0) env.CHAOS_ROUNDS = value;
  else if (flag === '--seed' && /^\d+$/.test(value ?? '')) env.CHAOS_SEED = value;
  else if (flag === '--workloads' && /^[a-z,]+$/.test(value ?? '')) env.CHAOS_WORKLOADS = value;
  else {
    console.error(`usage: npm run chaos -- [--rounds N] [--seed S] [--workloads escalations,webhooks,storm,sync]   (unknown or invalid: ${args.join(' ')})`);
    process.exit(2);
  }
}
const r = spawnSync(process.execPath, ['scripts/test.mjs', 'test/chaos/chaos.test.ts'], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
