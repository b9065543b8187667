import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig } from '../../config.js';
import { backupDatabase, BackupError, restoreDatabase } from './backup.js';
import type { Migrations } from './index.js';

// `firebreak backup <file>` and `firebreak restore <file>`: arguments, messages and exit codes around backup.ts.
// Exit codes: 0 done, 1 refused or failed (the message says why), 2 wrong usage or not applicable (PostgreSQL).

export const BACKUP_USAGE = [
  'Usage: firebreak backup <file> [--with-key] [--force]',
  '  Copies the SQLite database of DATA_DIR to <file>, consistently, while Firebreak runs.',
  '  --with-key  also write the master key (which decrypts stored secrets) to <file>.key, owner-only',
  '  --force     replace <file> (and <file>.key) if they exist',
].join('\n');

export const RESTORE_USAGE = [
  'Usage: firebreak restore <file> [--key-file <path>] [--force]',
  '  Checks <file> and makes it the database of DATA_DIR (Firebreak must be stopped).',
  '  --key-file  the master key to restore with it (default: <file>.key when it exists)',
  '  --force     replace the database (and key) of a DATA_DIR that is not empty',
].join('\n');

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}
const defaultIo: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

function postgresRefusal(command: 'backup' | 'restore'): string {
  return [
    `firebreak ${command} works on the embedded SQLite database, and DATABASE_URL is set (PostgreSQL).`,
    command === 'backup'
      ? 'Back up PostgreSQL with pg_dump (consistent while Firebreak runs):\n  pg_dump --format=custom --file firebreak.dump "$DATABASE_URL"'
      : 'Restore PostgreSQL with pg_restore into an empty database, with every Firebreak process stopped:\n  pg_restore --no-owner --exit-on-error --dbname "$DATABASE_URL" firebreak.dump',
    'Every process must keep the same FIREBREAK_MASTER_KEY: stored secrets cannot be read without it. See README.md, "Backups".',
  ].join('\n');
}

function parse(args: string[], options: NonNullable<ParseArgsConfig['options']>, usage: string, io: Io) {
  try {
    const parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
    if (parsed.positionals.length !== 1) throw new Error(parsed.positionals.length ? 'one file only' : 'the file is missing');
    return { file: parsed.positionals[0]!, values: parsed.values as Record<string, string | boolean | undefined> };
  } catch (err) {
    io.err(`${(err as Error).message}\n${usage}\n`);
    return null;
  }
}

/** `migrations`: the one ordered list (src/migrations.ts), passed in by main.ts. */
export async function runBackupCli(args: string[], migrations: Migrations, io: Io = defaultIo): Promise<number> {
  if (args[0] === 'help' || args.includes('--help')) return io.out(BACKUP_USAGE + '\n'), 0;
  if (process.env.DATABASE_URL) return io.err(postgresRefusal('backup') + '\n'), 2;
  const p = parse(args, { 'with-key': { type: 'boolean' }, force: { type: 'boolean' } }, BACKUP_USAGE, io);
  if (!p) return 2;
  const config = loadConfig();
  try {
    const r = await backupDatabase({ dataDir: config.dataDir, dest: p.file, force: !!p.values.force, withKey: !!p.values['with-key'], envMasterKey: config.masterKey, migrations });
    io.out(`Backed up ${config.dataDir} to ${r.file} (${r.bytes} bytes, ${r.facts.incidents} incidents, schema ${r.facts.migrations.at(-1)}).\n`);
    const keyName = r.keySource === 'FIREBREAK_MASTER_KEY' ? 'FIREBREAK_MASTER_KEY' : r.keyPath;
    if (r.keyFile) {
      io.out(`Master key written to ${r.keyFile} (owner-only). Anyone with both files can read the stored secrets: keep them apart, or as safe as the server.\n`);
    } else if (r.facts.secrets.length) {
      io.err(
        `Warning: the backup does not contain the master key. Its ${r.facts.secrets.length} stored secret(s) (integration keys and tokens) are encrypted with ${keyName}; ` +
          `without that key they are lost on restore and the integrations must be connected again. Keep a copy of the key somewhere else, or run with --with-key to write it to ${r.file}.key.\n`,
      );
    } else {
      io.err(`Note: the master key (${keyName}) is not in the backup; no secrets are stored yet, but keep a copy of it for those saved later.\n`);
    }
    return 0;
  } catch (err) {
    if (err instanceof BackupError) return io.err(`firebreak backup: ${err.message}\n`), err.exitCode;
    throw err;
  }
}

/** `migrations`: the one ordered list (src/migrations.ts), passed in by main.ts. */
export async function runRestoreCli(args: string[], migrations: Migrations, io: Io = defaultIo): Promise<number> {
  if (args[0] === 'help' || args.includes('--help')) return io.out(RESTORE_USAGE + '\n'), 0;
  if (process.env.DATABASE_URL) return io.err(postgresRefusal('restore') + '\n'), 2;
  const p = parse(args, { 'key-file': { type: 'string' }, force: { type: 'boolean' } }, RESTORE_USAGE, io);
  if (!p) return 2;
  const config = loadConfig();
  try {
    const r = await restoreDatabase({ file: p.file, dataDir: config.dataDir, force: !!p.values.force, keyFile: p.values['key-file'] as string | undefined, envMasterKey: config.masterKey, migrations });
    io.out(`Restored ${p.file} into ${r.dbFile} (${r.facts.incidents} incidents, schema ${r.facts.migrations.at(-1)}).\n`);
    if (r.applied.length) io.out(`The backup came from an older Firebreak; applied migrations: ${r.applied.join(', ')}.\n`);
    if (r.replaced.length) io.out(`Replaced: ${r.replaced.join(', ')}.\n`);
    if (r.keyRestoredFrom) io.out(`Master key restored from ${r.keyRestoredFrom} (owner-only).\n`);
    if (r.keyInUse === 'FIREBREAK_MASTER_KEY' && r.keyRestoredFrom) io.err('Note: FIREBREAK_MASTER_KEY is set and wins over the restored master.key file.\n');
    const s = r.secrets;
    if (s.total && s.readable === null) {
      io.err(
        `Warning: the backup has ${s.total} stored secret(s) and no master key came with it (no --key-file, no ${p.file}.key, no FIREBREAK_MASTER_KEY). ` +
          'Firebreak will make a new key at start and cannot read them: connect those integrations again, or restore again with --force --key-file <key>.\n',
      );
    } else if (s.total && s.readable! < s.total) {
      io.err(`Warning: ${s.total - s.readable!} of ${s.total} stored secret(s) cannot be decrypted with the master key in use; restore with the key the backup was made with (--force --key-file <key>) or connect those integrations again.\n`);
    } else if (s.total) {
      io.out(`All ${s.total} stored secret(s) decrypt with the master key in use.\n`);
    }
    return 0;
  } catch (err) {
    if (err instanceof BackupError) return io.err(`firebreak restore: ${err.message}\n`), err.exitCode;
    throw err;
  }
}
