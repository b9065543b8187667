/**
 * Standalone PagerDuty emulator.
 *   npm run emulator:pagerduty -- --port 8091 --seed medium [--seed-file account.json] [--rate-limit 960|off] [--host 127.0.0.1]
 */
import { parseArgs } from 'node:util';
import { startPagerDutyEmulator, SEED_SIZES } from './index.js';
import type { SeedSize } from './types.js';

const USAGE = `Usage: npm run emulator:pagerduty -- [--port 8091] [--host 127.0.0.1] [--seed small|medium|large|huge|none]
                                    [--seed-file account.json] [--rate-limit <per minute>|off] [--subdomain name]
                                    [--schedules N]   (schedules in the generated seed; default: the size's own)
                                    [--full-access-key KEY] [--read-only-key KEY]   (default: new random keys each start)`;

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({ options: {
      port: { type: 'string', default: '8091' }, host: { type: 'string', default: '127.0.0.1' },
      seed: { type: 'string', default: 'medium' }, 'seed-file': { type: 'string' }, 'rate-limit': { type: 'string', default: '960' },
      subdomain: { type: 'string' }, schedules: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      'full-access-key': { type: 'string' }, 'read-only-key': { type: 'string' },
    } }));
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) { console.log(USAGE); return; }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) { console.error(`--port must be 0-65535\n${USAGE}`); process.exit(2); }
  const seed = values.seed as SeedSize;
  if (!['small', 'medium', 'large', 'huge', 'none'].includes(seed)) { console.error(`--seed must be small, medium, large, huge or none\n${USAGE}`); process.exit(2); }
  const seedSchedules = values.schedules === undefined ? undefined : Number(values.schedules);
  if (seedSchedules !== undefined && (!Number.isInteger(seedSchedules) || seedSchedules < 0)) { console.error(`--schedules must be a non-negative integer\n${USAGE}`); process.exit(2); }
  const rl = values['rate-limit'];
  const rateLimitPerMinute = rl === 'off' ? false : Number(rl);
  if (rateLimitPerMinute !== false && (!Number.isInteger(rateLimitPerMinute) || rateLimitPerMinute < 1)) { console.error(`--rate-limit must be a positive integer or "off"\n${USAGE}`); process.exit(2); }

  let pd;
  try {
    if (values['full-access-key'] !== undefined && values['full-access-key'] === values['read-only-key']) {
      console.error(`--full-access-key and --read-only-key must differ\n${USAGE}`);
      process.exit(2);
    }
    pd = await startPagerDutyEmulator({ port, host: values.host, seed, seedFile: values['seed-file'], seedSchedules, rateLimitPerMinute, subdomain: values.subdomain,
      fullAccessKey: values['full-access-key'], readOnlyKey: values['read-only-key'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    console.error(err.code === 'EADDRINUSE' ? `Port ${port} is already in use; pick another with --port.` : `Could not start: ${err.message}`);
    process.exit(1);
  }
  const s = pd.state;
  const firstService = [...s.services.values()][0];
  const size = values['seed-file'] ? `from ${values['seed-file']}` : `${seed}${seed !== 'none' ? ` (~${SEED_SIZES[seed as Exclude<SeedSize, 'none'>].users} users)` : ''}`;
  console.log(`PagerDuty emulator (REST API v2 + webhooks v3) listening

  Base URL          ${pd.baseUrl}
  Full-access key   ${pd.fullAccessKey}
  Read-only key     ${pd.readOnlyKey}

  Account: seed ${size}: ${s.users.size} users, ${s.teams.size} teams, ${s.services.size} services, ${s.escalationPolicies.size} escalation policies, ${s.schedules.size} schedules, ${s.priorities.size} priorities
  Rate limit: ${rateLimitPerMinute === false ? 'off' : `${rateLimitPerMinute} requests/minute per key`}
  Try:  curl -H 'Authorization: Token token=${pd.fullAccessKey}' '${pd.baseUrl}/users?limit=2'
  Control API (not PagerDuty's): ${pd.baseUrl}/_emulator${firstService ? `
  Trigger an incident as a monitoring alert would:
        curl -X POST ${pd.baseUrl}/_emulator/trigger -d '{"service_id":"${firstService.id}","title":"CPU above 95%"}'` : ''}
  Press Ctrl+C to stop.`);
  const stop = () => { void pd.stop().then(() => process.exit(0)); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main();
