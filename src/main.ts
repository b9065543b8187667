import { pathToFileURL } from 'node:url';
import type pino from 'pino';
import { buildFirebreak, type Firebreak } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { migrations } from './migrations.js';
import { migrateToLatest, openDatabase } from './platform/db/index.js';
import { createLogger } from './platform/logger.js';
import { catalogCli } from './catalog/cli.js';
import { workflowsCli } from './workflows/cli.js';
import { pagerDutyCli } from './integrations/pagerduty/cli.js';
import { runBackupCli, runRestoreCli } from './platform/db/backup.cli.js';
import { UsersService } from './users/users.service.js';

// Composition root and CLI: `firebreak start | migrate | login-link <email> | backup | restore | pagerduty | catalog | workflows | help`.

export interface StartOptions extends Partial<Config> {
  /** Tests capture log lines here (to assert that secrets never appear). */
  logStream?: pino.DestinationStream;
  /** Email of the first owner created on an empty database (default FIREBREAK_OWNER_EMAIL or owner@localhost). */
  ownerEmail?: string;
}

export interface RunningFirebreak {
  app: Firebreak;
  baseUrl: string;
  /** One-time sign-in link for the first owner, while nobody has signed in yet. */
  initialLoginUrl: string | null;
  stop(): Promise<void>;
}

export async function startFirebreak(opts: StartOptions = {}): Promise<RunningFirebreak> {
  const { logStream, ownerEmail, ...overrides } = opts;
  const config = loadConfig(process.env, overrides);
  const logger = createLogger(config.logLevel, logStream);
  const app = await buildFirebreak(config, logger);
  app.events.markStarted();
  await app.jobs.start();
  await app.http.listen({ port: config.port, host: config.host });
  const baseUrl = app.publicUrl();

  let initialLoginUrl: string | null = null;
  const { user, created } = await app.users.ensureFirstOwner(ownerEmail ?? process.env.FIREBREAK_OWNER_EMAIL ?? 'owner@localhost');
  if (created || (await app.users.nobodyHasSignedIn())) {
    const link = await app.users.createLoginLink(user.id, baseUrl, { kind: 'system', ref: 'first-start' }, { kind: 'system', ref: 'first-start' });
    initialLoginUrl = link.url;
    logger.info({ user: user.email }, 'first owner sign-in link created (printed on stdout, valid 24 hours, single use)');
  }
  logger.info({ url: baseUrl, database: app.database.description, jobs: app.jobs.kind }, 'Firebreak is running');

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('shutting down: no new requests, finishing running jobs');
      // Stop taking requests and let in-flight ones finish; a client holding a response open cannot keep the
      // process alive past the shutdown timeout.
      const closed = app.http.close();
      const timer = setTimeout(() => app.http.server.closeAllConnections(), Math.min(config.shutdownTimeoutMs, 5000));
      await closed;
      clearTimeout(timer);
      await app.jobs.stop({ timeoutMs: config.shutdownTimeoutMs });
      await app.database.destroy();
      logger.info('stopped');
      logger.flush?.();
    })());
  return { app, baseUrl, initialLoginUrl, stop };
}

/** `firebreak pagerduty ...`: builds Firebreak on the configured database (without serving), runs the command, closes. */
async function runPagerDuty(args: string[]): Promise<number> {
  const config = loadConfig();
  const fb = await buildFirebreak(config, createLogger(process.env.LOG_LEVEL ?? 'warn', process.stderr));
  try {
    return await pagerDutyCli(fb.pagerduty.integration, args);
  } catch (err) {
    process.stderr.write(`firebreak pagerduty ${args[0] ?? ''} failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await fb.http.close();
    await fb.database.destroy();
  }
}

/** `firebreak catalog export|apply ...`: builds Firebreak on the configured database (without serving), runs the command, closes. */
async function runCatalog(args: string[]): Promise<number> {
  const config = loadConfig();
  const fb = await buildFirebreak(config, createLogger(process.env.LOG_LEVEL ?? 'warn', process.stderr));
  try {
    return await catalogCli(fb.catalog.service, args);
  } finally {
    await fb.http.close();
    await fb.database.destroy();
  }
}

/** `firebreak workflows export|apply ...`: like catalog, on the configured database. */
async function runWorkflows(args: string[]): Promise<number> {
  const config = loadConfig();
  const fb = await buildFirebreak(config, createLogger(process.env.LOG_LEVEL ?? 'warn', process.stderr));
  try {
    return await workflowsCli(fb.workflows.service, args);
  } finally {
    await fb.http.close();
    await fb.database.destroy();
  }
}

async function cli(argv: string[]): Promise<number> {
  const [command = 'start', ...rest] = argv;
  try {
    if (command === 'start') {
      const fb = await startFirebreak();
      process.stdout.write(`\nFirebreak is running at ${fb.baseUrl}\n`);
      if (fb.initialLoginUrl) process.stdout.write(`\nSign in as the first owner (valid 24 hours, works once):\n  ${fb.initialLoginUrl}\n\n`);
      for (const sig of ['SIGINT', 'SIGTERM'] as const) {
        process.once(sig, () => {
          fb.stop().then(
            () => process.exit(0),
            (err) => {
              console.error(err);
              process.exit(1);
            },
          );
        });
      }
      return -1; // keep running
    }
    if (command === 'migrate') {
      const config = loadConfig();
      const handle = openDatabase(config.database);
      try {
        const results = await migrateToLatest(handle.db, migrations);
        const applied = results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
        console.log(applied.length ? `Applied: ${applied.join(', ')}` : `Database ${handle.description} is up to date.`);
      } finally {
        await handle.destroy();
      }
      return 0;
    }
    if (command === 'pagerduty') return await runPagerDuty(rest);
    if (command === 'catalog') return await runCatalog(rest);
    if (command === 'workflows') return await runWorkflows(rest);
    if (command === 'backup') return await runBackupCli(rest, migrations);
    if (command === 'restore') return await runRestoreCli(rest, migrations);
    if (command === 'login-link') {
      const email = rest[0];
      if (!email) {
        console.error('Usage: firebreak login-link <email>');
        return 2;
      }
      const config = loadConfig();
      const handle = openDatabase(config.database);
      try {
        await migrateToLatest(handle.db, migrations);
        const users = new UsersService(handle.db, config.sessionTtlHours);
        const user = await users.findByEmail(email);
        if (!user) {
          console.error(`No Firebreak user has the email ${email}. Existing users: ${(await users.list()).map((u) => u.email).join(', ') || 'none'}.`);
          return 1;
        }
        const base = config.publicUrl ?? `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${config.port}`;
        // The operator on the server may sign in as anyone (that is how a lost owner gets back in).
        const link = await users.createLoginLink(user.id, base, { kind: 'system', ref: 'cli' }, { kind: 'system', ref: 'cli' });
        console.log(`Sign-in link for ${user.name} <${user.email}> (valid until ${link.expiresAt}, works once):\n  ${link.url}`);
      } finally {
        await handle.destroy();
      }
      return 0;
    }
    console.log(
      [
        'Usage: firebreak <command>',
        '  start               run Firebreak (HTTP API, web app, jobs); the default',
        '  migrate             apply database migrations and exit',
        '  login-link <email>  print a one-time sign-in link for a user',
        '  backup <file> [--with-key] [--force]     consistent copy of the SQLite database, safe while running',
        '  restore <file> [--key-file <key>] [--force]  check a backup and make it the database of DATA_DIR',
        '  pagerduty <connect|sync|status|disconnect>  connect PagerDuty and sync its catalog (firebreak pagerduty help)',
        '  catalog export <type> | apply -f <file> [--dry-run]  catalog as code (firebreak catalog help)',
        '  workflows export [--out dir] | apply -f <dir> [--dry-run] [--prune]  workflows as code (firebreak workflows help)',
        'Configuration comes from the environment; see README.md.',
      ].join('\n'),
    );
    return command === 'help' || command === '--help' ? 0 : 2;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    console.error(`firebreak ${command} failed: ${(err as Error).message}`);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  cli(process.argv.slice(2)).then((code) => {
    if (code >= 0) process.exit(code);
  });
}
