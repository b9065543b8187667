import { readFileSync } from 'node:fs';
import type { PagerDutyIntegration } from './connect.js';
import { SyncBusyError, type SyncRun } from '../../catalog/sync-runs.js';
import type { Actor } from '../../platform/events.js';

// `firebreak pagerduty connect | sync | status | disconnect`, given the integration of a Firebreak built on the
// configured database (src/main.ts builds it). Runs against the same database as the server; a sync run here
// takes the same lock as the server's jobs, so the two never sync at once.

const USAGE = [
  'Usage: firebreak pagerduty <command>',
  '  connect --key-file <file> --bot-email <email> [--region us|eu] [--base-url <url>] [--add-account <name>]',
  '                         check the key (full access needed), choose the bot account, connect',
  '                         (--add-account: connect another PagerDuty account under that name)',
  '  sync [--types users,teams,services,priorities,escalation_policies] [--force] [--account <name>]',
  '                         sync the catalog now, with a progress bar',
  '  status [--account <name>]  show the connection (key masked) and the last sync',
  '  disconnect [--account <name>]  delete the key and stop syncing (synced entries are kept)',
  '  (--account names an account by its name or id; without it, the first account)',
].join('\n');

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  isTTY: boolean;
}

const defaultIo: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), isTTY: !!process.stderr.isTTY };

function flags(args: string[]): { opts: Record<string, string | true>; rest: string[] } {
  const opts: Record<string, string | true> = {};
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split('=', 2) as [string, string | undefined];
      if (v !== undefined) opts[k] = v;
      else if (args[i + 1] !== undefined && !args[i + 1]!.startsWith('--')) opts[k] = args[++i]!;
      else opts[k] = true;
    } else rest.push(a);
  }
  return { opts, rest };
}

export function progressLine(progress: SyncRun['progress'], width = 24): string {
  return Object.entries(progress)
    .map(([k, p]) => {
      const ratio = p.total ? Math.min(1, p.fetched / p.total) : 0;
      const filled = Math.round(ratio * width);
      return `${k.padEnd(20)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.fetched}/${p.total ?? '?'}`;
    })
    .join('\n');
}

export function runSummary(run: SyncRun): string {
  const lines = [`Sync ${run.id}: ${run.status} (${run.requests} PagerDuty requests${run.rowsWritten !== undefined ? `, ${run.rowsWritten} rows written` : ''})`];
  for (const [k, s] of Object.entries(run.stats)) {
    lines.push(`  ${k.padEnd(20)} fetched ${s.fetched}, created ${s.created}, updated ${s.updated}, archived ${s.archived}, unchanged ${s.unchanged}, skipped by marker ${s.skippedByMarker}${s.lookedUp ? `, looked up ${s.lookedUp}` : ''}${s.error ? ` — error: ${s.error}` : ''}`);
    for (const w of s.warnings) lines.push(`  ${''.padEnd(20)} warning: ${w}`);
  }
  if (run.stopReason) lines.push(`  Stopped: ${run.stopReason}`);
  for (const e of run.errors) lines.push(`  Error: ${e}`);
  return lines.join('\n');
}

/** Runs one subcommand against a built (not started) Firebreak. Returns the exit code. */
export async function pagerDutyCli(integration: PagerDutyIntegration, args: string[], io: Io = defaultIo): Promise<number> {
  const [command, ...restArgs] = args;
  const { opts } = flags(restArgs);
  const actor: Actor = { kind: 'system', ref: 'cli' };
  let account = 'default';
  if (typeof opts.account === 'string') {
    const want = opts.account.trim().toLowerCase();
    const found = (await integration.accounts()).find((a) => a.id === want || a.name.toLowerCase() === want);
    if (!found) {
      io.err(`No PagerDuty account is named ${JSON.stringify(opts.account)}. Accounts: ${(await integration.accounts()).map((a) => a.name).join(', ') || 'none'}.\n`);
      return 2;
    }
    account = found.id;
  }
  if (command === 'connect') {
    const keyFile = opts['key-file'];
    const botEmail = opts['bot-email'];
    if (typeof keyFile !== 'string' || typeof botEmail !== 'string') {
      io.err(`${USAGE}\n`);
      return 2;
    }
    const region = opts.region === 'eu' ? 'eu' : 'us';
    const apiKey = readFileSync(keyFile, 'utf8').trim();
    const input = { region, baseUrl: typeof opts['base-url'] === 'string' ? opts['base-url'] : null, apiKey, botEmail } as const;
    if (typeof opts['add-account'] === 'string') account = await integration.addAccount({ ...input, name: opts['add-account'] }, actor);
    else await integration.connect(input, actor, null, account);
    const s = await integration.status(account);
    if (s.connected) io.out(`PagerDuty connected (${s.region.toUpperCase()}${s.baseUrl ? `, ${s.baseUrl}` : ''}), key ${s.apiKeyMasked}, bot account ${s.botUser.name} <${s.botUser.email}>.\nA first catalog sync is queued; run \`firebreak pagerduty sync\` to run one now.\n`);
    return 0;
  }
  if (command === 'status') {
    const s = await integration.status(account);
    if (!s.connected) {
      io.out('PagerDuty is not connected.\n');
      return 0;
    }
    io.out(`PagerDuty${account === 'default' ? '' : ` account ${s.name}`}: ${s.status}, region ${s.region.toUpperCase()}${s.baseUrl ? ` (${s.baseUrl})` : ''}, key ${s.apiKeyMasked}\nBot account: ${s.botUser.name} <${s.botUser.email}>\n`);
    io.out(s.lastRun ? `${runSummary(s.lastRun)}\n` : 'No sync has run yet.\n');
    return 0;
  }
  if (command === 'disconnect') {
    const gone = await integration.disconnect(actor, null, account);
    io.out(gone ? 'PagerDuty disconnected: the key is deleted and syncing stopped; synced catalog entries are kept.\n' : 'PagerDuty was not connected.\n');
    return 0;
  }
  if (command === 'sync') {
    const types = typeof opts.types === 'string' ? opts.types.split(',').map((t) => t.trim()).filter(Boolean) : undefined;
    const run = await integration.requestSync({ trigger: 'cli', types, force: opts.force === true, requestedBy: 'cli', enqueue: false, account });
    let drawn = 0;
    const draw = (p: SyncRun['progress']) => {
      if (!io.isTTY) return;
      const text = progressLine(p);
      io.err(`${drawn ? `\x1b[${drawn}A` : ''}${text.split('\n').map((l) => `\r\x1b[2K${l}`).join('\n')}\n`);
      drawn = text.split('\n').length;
    };
    // Another sync (the server's schedule, say) may hold the lock: wait for it rather than run alongside.
    let done: SyncRun | null = null;
    for (let waited = 0; !done; waited += 500) {
      try {
        done = await integration.runSync(run.id, { onProgress: draw });
      } catch (err) {
        if (!(err instanceof SyncBusyError) || waited > 300_000) throw err;
        if (waited === 0) io.err(`${err.message}; waiting for it to finish…\n`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    if (!io.isTTY) io.err(`${progressLine(done.progress)}\n`);
    io.out(`${runSummary(done)}\n`);
    return done.status === 'succeeded' ? 0 : 1;
  }
  io.err(`${USAGE}\n`);
  return command === undefined || command === 'help' ? 0 : 2;
}
