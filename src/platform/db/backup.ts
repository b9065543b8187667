import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { parseMasterKey, SecretBox } from '../crypto/secrets.js';
import { migrateToLatest, type Database, type Migrations } from './index.js';

// Backup and restore of the embedded SQLite installation (`firebreak backup | restore`). A backup is taken with
// SQLite's online backup API in one step, i.e. inside one read transaction: it is the database as it was at one
// instant, WAL included, while the running Firebreak keeps writing (WAL readers never block writers). A restore
// validates the file (SQLite, Firebreak's schema, no migration newer than this build), copies it into the data
// directory through a temporary file, migrates it, and swaps it in by rename. The master key that encrypts stored
// secrets is not inside the database: it goes into a separate owner-only file only when asked for.

export const DB_FILE_NAME = 'firebreak.sqlite';
export const MASTER_KEY_FILE_NAME = 'master.key';
const SQLITE_MAGIC = 'SQLite format 3\0';
/** Tables every Firebreak database has had since the first migration. */
const CORE_TABLES = ['kysely_migration', 'users', 'incidents', 'timeline_items', 'settings'];
/** Copy every page in one backup step: one read transaction, one instant. */
const ALL_PAGES = 0x7fffffff;

/** A refusal or failure with a message meant for the person at the terminal. */
export class BackupError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface DatabaseFacts {
  migrations: string[];
  incidents: number;
  /** Encrypted integration secrets stored in the database, with the context each was encrypted for. */
  secrets: { context: string; box: string }[];
}

export interface SecretsCheck {
  total: number;
  /** Decrypted with the key in use; null when no key is known. */
  readable: number | null;
}

export interface BackupResult {
  file: string;
  bytes: number;
  facts: DatabaseFacts;
  /** Where the master key was written (--with-key), or null. */
  keyFile: string | null;
  /** Where the key in use comes from: the environment, the data directory, or nowhere yet. */
  keySource: 'FIREBREAK_MASTER_KEY' | 'file' | null;
  keyPath: string;
}

export interface BackupOptions {
  dataDir: string;
  dest: string;
  force?: boolean;
  withKey?: boolean;
  /** FIREBREAK_MASTER_KEY when set. */
  envMasterKey?: Buffer | null;
  /** Every migration this build knows (src/migrations.ts): a database with any other is from a newer build. */
  migrations: Migrations;
}

/** `firebreak backup <dest>`: a consistent copy of DATA_DIR/firebreak.sqlite, safe while Firebreak runs. */
export async function backupDatabase(opts: BackupOptions): Promise<BackupResult> {
  const dbFile = join(opts.dataDir, DB_FILE_NAME);
  const dest = resolve(opts.dest);
  const keyFile = `${dest}.key`;
  if (!isFile(dbFile)) {
    throw new BackupError(`There is no Firebreak database at ${dbFile}. Set DATA_DIR to the data directory of the installation to back up.`);
  }
  if ([dbFile, `${dbFile}-wal`, `${dbFile}-shm`].includes(dest) || dest === join(opts.dataDir, MASTER_KEY_FILE_NAME)) {
    throw new BackupError(`${dest} is one of Firebreak's own files; choose a backup file outside them.`);
  }
  checkWritableTarget(dest, !!opts.force, 'backup file');
  if (opts.withKey) checkWritableTarget(keyFile, !!opts.force, 'key file');

  const key = opts.withKey ? currentKey(opts.dataDir, opts.envMasterKey ?? null) : null;
  if (opts.withKey && !key) {
    throw new BackupError(`--with-key: there is no master key to save (no FIREBREAK_MASTER_KEY and no ${join(opts.dataDir, MASTER_KEY_FILE_NAME)}).`);
  }

  const partial = join(dirname(dest), `.${basename(dest)}.partial-${process.pid}`);
  createOwnerOnly(partial, dest);
  try {
    const source = new SqliteDatabase(dbFile, { readonly: true, fileMustExist: true, timeout: 5000 });
    try {
      inspect(source, dbFile, opts.migrations); // refuse to back up something that is not a Firebreak database
      await source.backup(partial, { progress: () => ALL_PAGES });
    } finally {
      source.close();
    }
    // The copy carries the source's WAL flag; make it one self-contained file, then prove it reads back whole.
    const copy = new SqliteDatabase(partial, { fileMustExist: true });
    let facts: DatabaseFacts;
    try {
      copy.pragma('journal_mode = DELETE');
      checkIntegrity(copy, dest);
      facts = inspect(copy, dest, opts.migrations);
    } finally {
      copy.close();
    }
    renameSync(partial, dest);
    let written: string | null = null;
    if (key) {
      writeOwnerOnlyAtomically(keyFile, key.toString('base64') + '\n');
      written = keyFile;
    }
    return {
      file: dest,
      bytes: statSync(dest).size,
      facts,
      keyFile: written,
      keySource: opts.envMasterKey ? 'FIREBREAK_MASTER_KEY' : isFile(join(opts.dataDir, MASTER_KEY_FILE_NAME)) ? 'file' : null,
      keyPath: join(opts.dataDir, MASTER_KEY_FILE_NAME),
    };
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }
}

export interface RestoreOptions {
  file: string;
  dataDir: string;
  force?: boolean;
  /** The master key file to restore with the database; default `<file>.key` when it exists. */
  keyFile?: string;
  envMasterKey?: Buffer | null;
  /** Every migration this build knows (src/migrations.ts): refuses a backup with others, applies what it lacks. */
  migrations: Migrations;
}

export interface RestoreResult {
  dbFile: string;
  facts: DatabaseFacts;
  /** Migrations this build applied on top of the backup (it was made by an older Firebreak). */
  applied: string[];
  /** The files that were there before and were replaced (--force). */
  replaced: string[];
  /** The key file restored into the data directory, or null. */
  keyRestoredFrom: string | null;
  keyInUse: 'FIREBREAK_MASTER_KEY' | 'restored' | 'existing' | null;
  secrets: SecretsCheck;
}

/** `firebreak restore <file>`: validates a backup and makes it the database of DATA_DIR. */
export async function restoreDatabase(opts: RestoreOptions): Promise<RestoreResult> {
  const file = resolve(opts.file);
  const dataDir = resolve(opts.dataDir);
  const dbFile = join(dataDir, DB_FILE_NAME);
  const keyPath = join(dataDir, MASTER_KEY_FILE_NAME);

  // 1. The backup: a readable file, a whole SQLite database, Firebreak's schema, not from a newer build.
  if (!existsSync(file)) throw new BackupError(`Backup file ${file} does not exist.`);
  if (!isFile(file)) throw new BackupError(`${file} is not a file.`);
  if (!hasSqliteHeader(file)) throw new BackupError(`${file} is not a SQLite database (it does not start with the SQLite file header), so it is not a Firebreak backup.`);
  let source: SqliteDatabase.Database;
  try {
    source = new SqliteDatabase(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new BackupError(`${file} cannot be opened as a SQLite database: ${(err as Error).message}`);
  }
  try {
    checkIntegrity(source, file);
    const facts = inspect(source, file, opts.migrations);

    // 2. The master key that goes with it: --key-file, else <file>.key beside the backup.
    const keySourcePath = opts.keyFile ? resolve(opts.keyFile) : isFile(`${file}.key`) ? `${file}.key` : null;
    let restoredKey: Buffer | null = null;
    if (keySourcePath) {
      if (!isFile(keySourcePath)) throw new BackupError(`Key file ${keySourcePath} does not exist.`);
      const parsed = parseMasterKey(readFileSync(keySourcePath, 'utf8'));
      if (typeof parsed === 'string') throw new BackupError(`${keySourcePath} is not a Firebreak master key: it ${parsed}.`);
      restoredKey = parsed;
    }

    // 3. The target: never a data directory in use, never one with data unless --force.
    if (existsSync(dataDir) && !statSync(dataDir).isDirectory()) throw new BackupError(`DATA_DIR ${dataDir} is not a directory.`);
    if (databaseInUse(dbFile)) {
      throw new BackupError(`Firebreak is running on ${dataDir} (its database is open in another process). Stop every Firebreak process that uses this data directory, then restore.`);
    }
    const present = existsSync(dataDir) ? readdirSync(dataDir).filter((n) => n !== 'lost+found') : [];
    if (present.length && !opts.force) {
      throw new BackupError(
        `DATA_DIR ${dataDir} is not empty (${present.slice(0, 6).join(', ')}${present.length > 6 ? ', …' : ''}). Restoring replaces its database${restoredKey ? ' and master key' : ''}; run again with --force to do that, or choose an empty DATA_DIR.`,
      );
    }

    // 4. Copy into the data directory under a temporary name, migrate, check the secrets, then swap it in.
    createOwnerOnlyDir(dataDir);
    const partial = join(dataDir, `.restore-${process.pid}.sqlite`);
    createOwnerOnly(partial, partial);
    try {
      await source.backup(partial, { progress: () => ALL_PAGES });
      source.close();
      const copy = new SqliteDatabase(partial, { fileMustExist: true });
      copy.pragma('journal_mode = DELETE');
      copy.pragma('foreign_keys = ON');
      const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: copy }) });
      let applied: string[];
      let secrets: SecretsCheck;
      const existingKey = !restoredKey && isFile(keyPath) ? parseMasterKey(readFileSync(keyPath, 'utf8')) : null;
      const keyInUse = opts.envMasterKey ? 'FIREBREAK_MASTER_KEY' : restoredKey ? 'restored' : Buffer.isBuffer(existingKey) ? 'existing' : null;
      const key = opts.envMasterKey ?? restoredKey ?? (Buffer.isBuffer(existingKey) ? existingKey : null);
      try {
        applied = (await migrateToLatest(db, opts.migrations)).filter((r) => r.status === 'Success').map((r) => r.migrationName);
        secrets = checkSecrets(facts.secrets, key);
      } finally {
        await db.destroy();
      }
      // Checked again just before the swap: a Firebreak started meanwhile would keep the old file open.
      if (databaseInUse(dbFile)) throw new BackupError(`Firebreak started on ${dataDir} during the restore; nothing was replaced. Stop it and restore again.`);
      const replaced = [DB_FILE_NAME, `${DB_FILE_NAME}-wal`, `${DB_FILE_NAME}-shm`, `${DB_FILE_NAME}-journal`].filter((n) => existsSync(join(dataDir, n)));
      if (restoredKey && isFile(keyPath)) replaced.push(MASTER_KEY_FILE_NAME);
      // A WAL left by the old database must never be replayed onto the restored one: remove it first.
      for (const n of [`${DB_FILE_NAME}-wal`, `${DB_FILE_NAME}-shm`, `${DB_FILE_NAME}-journal`]) rmSync(join(dataDir, n), { force: true });
      renameSync(partial, dbFile);
      if (restoredKey) writeOwnerOnlyAtomically(keyPath, restoredKey.toString('base64') + '\n');
      return { dbFile, facts, applied, replaced, keyRestoredFrom: restoredKey ? keySourcePath : null, keyInUse, secrets };
    } finally {
      rmSync(partial, { force: true });
    }
  } finally {
    if (source.open) source.close();
  }
}

/**
 * Whether another process has this SQLite database open. A connection in WAL mode keeps a SHARED lock on the
 * database file for as long as it is open (Firebreak opens it at start and reads at once), so asking for an
 * EXCLUSIVE lock without waiting fails exactly while such a process lives; the OS drops the lock when the
 * process dies, even by kill -9. POSIX locks: reliable on a local filesystem, not on NFS.
 */
export function databaseInUse(dbFile: string): boolean {
  if (!isFile(dbFile)) return false;
  let probe: SqliteDatabase.Database;
  try {
    probe = new SqliteDatabase(dbFile, { fileMustExist: true, timeout: 0 });
  } catch {
    return false;
  }
  try {
    probe.pragma('locking_mode = EXCLUSIVE');
    probe.exec('BEGIN EXCLUSIVE');
    probe.exec('COMMIT');
    return false;
  } catch (err) {
    // Not a database at all (to be replaced with --force) cannot be in use by Firebreak.
    return (err as { code?: string }).code === 'SQLITE_BUSY';
  } finally {
    probe.close();
  }
}

/** Decrypts each stored secret with the key Firebreak will use, to tell the operator before they find out. */
export function checkSecrets(secrets: DatabaseFacts['secrets'], key: Buffer | null): SecretsCheck {
  if (!key) return { total: secrets.length, readable: null };
  const box = new SecretBox(key);
  let readable = 0;
  for (const s of secrets) {
    try {
      box.decrypt(s.box, s.context);
      readable++;
    } catch {
      /* wrong key (or damaged value) */
    }
  }
  return { total: secrets.length, readable };
}

/** The key in use: FIREBREAK_MASTER_KEY, else DATA_DIR/master.key, else none yet. */
function currentKey(dataDir: string, envKey: Buffer | null): Buffer | null {
  if (envKey) return envKey;
  const file = join(dataDir, MASTER_KEY_FILE_NAME);
  if (!isFile(file)) return null;
  const parsed = parseMasterKey(readFileSync(file, 'utf8'));
  if (typeof parsed === 'string') throw new BackupError(`${file} is not a valid master key: it ${parsed}.`);
  return parsed;
}

function inspect(sqlite: SqliteDatabase.Database, label: string, migrations: Migrations): DatabaseFacts {
  let tables: Set<string>;
  try {
    tables = new Set((sqlite.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map((r) => r.name));
  } catch (err) {
    throw new BackupError(`${label} cannot be read as a SQLite database: ${(err as Error).message}`);
  }
  const missing = CORE_TABLES.filter((t) => !tables.has(t));
  if (missing.length) throw new BackupError(`${label} is a SQLite database but not a Firebreak database (no ${missing.join(', ')} table${missing.length > 1 ? 's' : ''}).`);
  const names = (sqlite.prepare('SELECT name FROM kysely_migration ORDER BY name').all() as { name: string }[]).map((r) => r.name);
  const unknown = names.filter((n) => !(n in migrations));
  if (unknown.length) {
    throw new BackupError(`${label} was made by a newer Firebreak: it has migrations this build does not know (${unknown.join(', ')}). Restore it with that version or a later one.`);
  }
  const incidents = (sqlite.prepare('SELECT count(*) AS n FROM incidents').get() as { n: number }).n;
  const secrets: DatabaseFacts['secrets'] = [];
  if (tables.has('integration_connections')) {
    for (const row of sqlite.prepare('SELECT kind, secrets FROM integration_connections').all() as { kind: string; secrets: string }[]) {
      for (const [name, box] of Object.entries(JSON.parse(row.secrets) as Record<string, string>)) secrets.push({ context: `${row.kind}.${name}`, box });
    }
  }
  return { migrations: names, incidents, secrets };
}

function checkIntegrity(sqlite: SqliteDatabase.Database, label: string): void {
  let rows: { integrity_check: string }[];
  try {
    rows = sqlite.pragma('integrity_check') as { integrity_check: string }[];
  } catch (err) {
    throw new BackupError(`${label} is damaged or not a SQLite database: ${(err as Error).message}`);
  }
  const problems = rows.map((r) => r.integrity_check).filter((r) => r !== 'ok');
  if (problems.length) throw new BackupError(`${label} is damaged (SQLite integrity check: ${problems.slice(0, 3).join('; ')}).`);
}

function hasSqliteHeader(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(16);
    return readSync(fd, buf, 0, 16, 0) === 16 && buf.toString('latin1') === SQLITE_MAGIC;
  } finally {
    closeSync(fd);
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Refuses early, with a message, what would fail (or destroy something) only after the copy. */
function checkWritableTarget(path: string, force: boolean, what: string): void {
  const dir = dirname(path);
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new BackupError(`Cannot write the ${what} ${path}: the directory ${dir} does not exist.`);
  }
  if (!st.isDirectory()) throw new BackupError(`Cannot write the ${what} ${path}: ${dir} is not a directory.`);
  if (existsSync(path)) {
    if (!isFile(path)) throw new BackupError(`Cannot write the ${what} ${path}: it exists and is not a file.`);
    if (!force) throw new BackupError(`The ${what} ${path} already exists; choose another name, or run again with --force to replace it.`);
  }
}

function createOwnerOnly(path: string, shownAs: string): void {
  try {
    closeSync(openSync(path, 'w', 0o600));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new BackupError(`Cannot write ${shownAs}: ${e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : e.code === 'EROFS' ? 'read-only filesystem' : e.message}.`);
  }
}

function createOwnerOnlyDir(dir: string): void {
  try {
    // As on a first start: the data directory is owner-only when Firebreak creates it.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new BackupError(`Cannot create DATA_DIR ${dir}: ${(err as Error).message}`);
  }
}

function writeOwnerOnlyAtomically(path: string, content: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.partial-${process.pid}`);
  try {
    writeFileSync(tmp, content, { mode: 0o600 });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new BackupError(`Cannot write ${path}: ${(err as Error).message}`);
  }
}
