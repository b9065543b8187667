// `firebreak backup` / `firebreak restore` end to end: Firebreak runs as a real child process on SQLite, a stream
// of writes goes through the REST API, the backup CLI runs in the middle of it, and the restored copy must hold
// exactly a moment of that stream (everything acknowledged before the backup began, nothing sent after it ended,
// no writer's sequence with a hole). Also the refusals, and the master key that goes (or not) with a backup.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kysely, SqliteDialect } from 'kysely';
import { startPagerDutyEmulator, type PagerDutyEmulator } from '../emulators/pagerduty/index.js';
import { migrations } from '../src/migrations.js';
import { apiKeyClient, signInWithLink, type Client } from './helpers.js';

const root = resolve(import.meta.dirname, '..');
const main = join(root, 'src/main.ts');
const tmp = mkdtempSync(join(tmpdir(), 'firebreak-backup-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The environment of a SQLite installation at dataDir (nothing inherited that would point elsewhere). */
function envFor(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...extra };
  for (const k of ['DATABASE_URL', 'FIREBREAK_MASTER_KEY', 'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN']) if (!(k in extra)) delete env[k];
  return env;
}

/** Runs the CLI as its own process (through `bin/firebreak.mjs`, as an operator would, when viaBin) and waits. */
function firebreak(args: string[], env: NodeJS.ProcessEnv, viaBin = false): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolveRun, reject) => {
    const argv = viaBin ? [join(root, 'bin/firebreak.mjs'), ...args] : ['--import', 'tsx', main, ...args];
    const child = spawn(process.execPath, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolveRun({ code, out, err }));
  });
}

interface Server {
  child: ChildProcess;
  baseUrl: string;
  loginUrl: string | null;
  stop(): Promise<void>;
}

/** `firebreak start` as its own process; resolves once it prints its address (and the first sign-in link, if any). */
function startServer(dataDir: string, expectLink: boolean): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', main, 'start'], { env: envFor(dataDir), stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return new Promise((resolveStart, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`Firebreak did not start: ${out}`)), 60_000);
    const check = () => {
      const url = /Firebreak is running at (\S+)/.exec(out)?.[1];
      const link = /\n\s+(http\S+\/auth\/login\?token=\S+)/.exec(out)?.[1] ?? null;
      if (url && (link || !expectLink)) {
        clearTimeout(timer);
        resolveStart({
          child,
          baseUrl: url,
          loginUrl: link,
          stop: async () => {
            child.kill('SIGTERM');
            await exited;
          },
        });
      }
    };
    child.stdout!.on('data', (d: Buffer) => ((out += d.toString()), check()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`Firebreak exited with ${code}: ${out}`)));
  });
}

async function allPages<T>(c: Client, path: string, key: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const res = await c.get(`${path}${path.includes('?') ? '&' : '?'}${cursor ? `cursor=${encodeURIComponent(cursor)}&` : ''}limit=100`);
    expect(res.status).toBe(200);
    items.push(...(res.body[key] as T[]));
    cursor = res.body.next_cursor;
  } while (cursor);
  return items;
}

type Op =
  | { kind: 'declare'; writer: number; sentAt: number; ackedAt: number; incident: { id: string; reference: string; number: number; name: string } }
  | { kind: 'note'; writer: number; sentAt: number; ackedAt: number; incidentId: string; itemId: string; text: string }
  | { kind: 'entry'; writer: number; sentAt: number; ackedAt: number; entry: { id: string; name: string; attribute_values: unknown } }
  | { kind: 'archive'; writer: number; sentAt: number; ackedAt: number; entryId: string };

/**
 * Starts Firebreak on a restored data directory, reads incidents, timelines and the catalog type over the REST
 * API, checks they are exactly the writes of `ops` found there (nothing else, same content), and returns which
 * writes were found.
 */
async function readBack(dataDir: string, token: string, typeId: string, ops: Op[], more?: (c: Client, state: { incidents: any[] }) => Promise<void>): Promise<(o: Op) => boolean> {
  const server = await startServer(dataDir, false);
  try {
    expect(server.loginUrl).toBeNull(); // the owner had signed in: same people, same keys
    const r = apiKeyClient(server.baseUrl, token);
    const incidents = await allPages<any>(r, '/api/v1/incidents', 'incidents');
    const timelines = new Map<string, any[]>();
    for (const i of incidents) timelines.set(i.id, (await r.get(`/api/v1/incidents/${i.id}/timeline`)).body.items);
    const entries = await allPages<any>(r, `/api/v1/catalog_entries?catalog_type_id=${typeId}&archived=include`, 'catalog_entries');

    const incidentById = new Map(incidents.map((i) => [i.id, i]));
    const entryById = new Map(entries.map((e) => [e.id, e]));
    const present = (o: Op): boolean => {
      if (o.kind === 'declare') return incidentById.has(o.incident.id);
      if (o.kind === 'note') return !!timelines.get(o.incidentId)?.some((t) => t.id === o.itemId);
      if (o.kind === 'entry') return entryById.has(o.entry.id);
      return entryById.get(o.entryId)?.archived_at != null;
    };
    // Exactly what was acknowledged: same incidents, notes and entries, nothing else.
    const kept = ops.filter(present);
    expect(incidents.map((i) => ({ id: i.id, reference: i.reference, number: i.number, name: i.name })).sort((a, b) => a.number - b.number)).toEqual(
      kept.flatMap((o) => (o.kind === 'declare' ? [o.incident] : [])).sort((a, b) => a.number - b.number),
    );
    for (const i of incidents) {
      const notes = timelines.get(i.id)!.filter((t) => t.kind === 'note_added').map((t) => ({ id: t.id, text: t.text }));
      expect(notes).toEqual(kept.flatMap((o) => (o.kind === 'note' && o.incidentId === i.id ? [{ id: o.itemId, text: o.text }] : [])));
      expect(timelines.get(i.id)!.filter((t) => t.kind !== 'note_added').length).toBeGreaterThan(0); // written with the incident
    }
    expect(entries.map((e) => ({ id: e.id, name: e.name, attribute_values: e.attribute_values, archived: e.archived_at !== null })).sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      kept
        .flatMap((o) => (o.kind === 'entry' ? [{ ...o.entry, archived: kept.some((a) => a.kind === 'archive' && a.entryId === o.entry.id) }] : []))
        .sort((a, b) => a.name.localeCompare(b.name)),
    );
    await more?.(r, { incidents });
    return present;
  } finally {
    await server.stop();
  }
}

describe('backup and restore (SQLite, Firebreak running in its own process)', () => {
  it('a backup taken during a stream of writes restores exactly one moment of it', { timeout: 300_000 }, async () => {
    const source = join(tmp, 'source');
    const server = await startServer(source, true);
    let stopped = false;
    let stopWriters = async () => {};
    try {
      const owner = await signInWithLink(server.baseUrl, server.loginUrl!);
      const key = await owner.post('/api/v1/api_keys', { name: 'stream', scopes: ['admin'] });
      expect(key.status).toBe(201);
      const api = apiKeyClient(server.baseUrl, key.body.token);
      const type = await api.post('/api/v1/catalog_types', { type_name: 'BackupService', name: 'Backup service', attributes: [{ name: 'Tier', type: 'string' }, { name: 'Paged', type: 'bool' }] });
      expect(type.status).toBe(201);
      const typeId = type.body.catalog_type.id as string;

      // Four writers, each strictly sequential: declare, two notes, a catalog entry, archive its previous entry.
      const ops: Op[] = [];
      const failures: string[] = [];
      let running = true;
      const writer = async (w: number) => {
        let prevEntry: string | null = null;
        for (let k = 0; running; k++) {
          const call = async <T,>(fn: () => Promise<{ status: number; body: any }>, expected: number, record: (body: any, sentAt: number, ackedAt: number) => T): Promise<T | null> => {
            const sentAt = Date.now();
            const res = await fn();
            if (res.status !== expected) {
              failures.push(`${res.status} ${JSON.stringify(res.body)}`);
              return null;
            }
            return record(res.body, sentAt, Date.now());
          };
          const inc = await call(() => api.post('/api/v1/incidents', { name: `w${w} incident ${k}` }), 201, (b, sentAt, ackedAt) => {
            const op: Op = { kind: 'declare', writer: w, sentAt, ackedAt, incident: { id: b.incident.id, reference: b.incident.reference, number: b.incident.number, name: b.incident.name } };
            ops.push(op);
            return b.incident.id as string;
          });
          if (!inc) return;
          for (const n of [1, 2]) {
            const text = `w${w} incident ${k} note ${n}`;
            await call(() => api.post(`/api/v1/incidents/${inc}/timeline/notes`, { text }), 201, (b, sentAt, ackedAt) => ops.push({ kind: 'note', writer: w, sentAt, ackedAt, incidentId: inc, itemId: b.item.id, text }));
          }
          const entry = await call(
            () => api.post('/api/v1/catalog_entries', { catalog_type_id: typeId, name: `w${w}-svc-${k}`, attribute_values: { Tier: `tier-${k % 3}`, Paged: k % 2 === 0 } }),
            201,
            (b, sentAt, ackedAt) => {
              ops.push({ kind: 'entry', writer: w, sentAt, ackedAt, entry: { id: b.catalog_entry.id, name: b.catalog_entry.name, attribute_values: b.catalog_entry.attribute_values } });
              return b.catalog_entry.id as string;
            },
          );
          if (prevEntry) {
            const id = prevEntry;
            await call(() => api.post(`/api/v1/catalog_entries/${id}/actions/archive`), 200, (_b, sentAt, ackedAt) => ops.push({ kind: 'archive', writer: w, sentAt, ackedAt, entryId: id }));
          }
          prevEntry = entry;
        }
      };
      const writers = Promise.all([0, 1, 2, 3].map(writer));
      stopWriters = async () => {
        running = false;
        await writers.catch(() => {});
      };

      await new Promise((r) => setTimeout(r, 2500));
      const file = join(tmp, 'during-writes.sqlite');
      const backupStarted = Date.now();
      const backup = await firebreak(['backup', file], envFor(source), true);
      const backupEnded = Date.now();
      expect(backup.err + backup.out).not.toContain('failed');
      expect(backup.code).toBe(0);
      expect(backup.out).toContain(`to ${file}`);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      await new Promise((r) => setTimeout(r, 1000));

      // While Firebreak runs on it, its data directory is never restored over, even with --force.
      const overRunning = await firebreak(['restore', file, '--force'], envFor(source));
      expect(overRunning.code).toBe(1);
      expect(overRunning.err).toMatch(/Firebreak is running on .*source/);

      running = false;
      await writers;
      expect(failures).toEqual([]);

      // Firebreak still running, the stream over: the last writes (still only in the WAL, most likely) and a second
      // backup, which must then hold every acknowledged write, exactly.
      const last = await api.post('/api/v1/incidents', { name: 'last word' });
      expect(last.status).toBe(201);
      ops.push({ kind: 'declare', writer: 4, sentAt: Date.now(), ackedAt: Date.now(), incident: { id: last.body.incident.id, reference: last.body.incident.reference, number: last.body.incident.number, name: 'last word' } });
      const lastNote = await api.post(`/api/v1/incidents/${last.body.incident.id}/timeline/notes`, { text: 'written just before the quiet backup' });
      expect(lastNote.status).toBe(201);
      ops.push({ kind: 'note', writer: 4, sentAt: Date.now(), ackedAt: Date.now(), incidentId: last.body.incident.id, itemId: lastNote.body.item.id, text: 'written just before the quiet backup' });
      const quietFile = join(tmp, 'quiet.sqlite');
      const quiet = await firebreak(['backup', quietFile], envFor(source));
      expect(quiet.code).toBe(0);
      await server.stop();
      stopped = true;

      const before = ops.filter((o) => o.ackedAt < backupStarted);
      const after = ops.filter((o) => o.sentAt > backupEnded);
      // The stream really surrounds the backup: plenty acknowledged before it, and more sent after it.
      expect(before.length).toBeGreaterThan(40);
      expect(after.length).toBeGreaterThan(10);

      // Restore into a fresh data directory and read everything back over the REST API.
      const target = join(tmp, 'restored');
      const restore = await firebreak(['restore', file], envFor(target));
      expect(restore.err).toBe('');
      expect(restore.code).toBe(0);
      const present = await readBack(target, key.body.token, typeId, ops, async (r, state) => {
        // The restored installation keeps working: numbering continues after the restored incidents.
        const next = await r.post('/api/v1/incidents', { name: 'after restore' });
        expect(next.status).toBe(201);
        expect(next.body.incident.number).toBe(Math.max(...state.incidents.map((i: any) => i.number)) + 1);
      });
      // Everything acknowledged before the backup began is there; nothing sent after it ended is.
      expect(before.filter((o) => !present(o)).map((o) => o.kind)).toEqual([]);
      expect(after.filter((o) => present(o)).map((o) => o.kind)).toEqual([]);
      // One moment: no write is there while one acknowledged before it was sent is missing (within a writer: its
      // restored operations are a prefix of what it did; across writers: the same, by the clock).
      const missing = ops.filter((o) => !present(o));
      const firstAckMissing = Math.min(...missing.map((o) => o.ackedAt));
      expect(ops.filter((o) => present(o) && o.sentAt > firstAckMissing).map((o) => `${o.kind} by writer ${o.writer}`)).toEqual([]);
      for (const w of [0, 1, 2, 3]) {
        const seq = ops.filter((o) => o.writer === w).map(present);
        const firstMissing = seq.indexOf(false);
        expect(firstMissing === -1 ? [] : seq.slice(firstMissing).filter(Boolean), `writer ${w}`).toEqual([]);
      }
      console.info(`backup during writes: ${ops.length} writes acknowledged, ${before.length} before the backup began, ${after.length} sent after it ended, ${ops.filter(present).length} in the backup; backup took ${backupEnded - backupStarted} ms (process start included)`);

      // The quiet backup: all of it.
      const quietTarget = join(tmp, 'restored-quiet');
      expect((await firebreak(['restore', quietFile], envFor(quietTarget))).code).toBe(0);
      const inQuiet = await readBack(quietTarget, key.body.token, typeId, ops);
      expect(ops.filter((o) => !inQuiet(o)).map((o) => `${o.kind} by writer ${o.writer}`)).toEqual([]);

      // A data directory with a database is not overwritten without --force (and is left as it was).
      const dbFile = join(target, 'firebreak.sqlite');
      const beforeBytes = readFileSync(dbFile);
      const refused = await firebreak(['restore', file], envFor(target));
      expect(refused.code).toBe(1);
      expect(refused.err).toMatch(/is not empty .*--force/);
      expect(readFileSync(dbFile).equals(beforeBytes)).toBe(true);
      const forced = await firebreak(['restore', file, '--force'], envFor(target));
      expect(forced.code).toBe(0);
      expect(forced.out).toContain('Replaced: firebreak.sqlite');
    } finally {
      await stopWriters(); // a failed expectation must not leave requests running into a stopped server
      if (!stopped) await server.stop();
    }
  });
});

describe('backup and restore refusals', () => {
  let dataDir: string;
  let good: string;
  beforeAll(async () => {
    // A real installation made by `firebreak migrate`, backed up once.
    dataDir = join(tmp, 'refusals');
    expect((await firebreak(['migrate'], envFor(dataDir))).code).toBe(0);
    good = join(tmp, 'good.sqlite');
    expect((await firebreak(['backup', good], envFor(dataDir))).code).toBe(0);
  }, 60_000);

  it('refuses files that are missing, not SQLite, not Firebreak, or from a newer build', { timeout: 60_000 }, async () => {
    const target = join(tmp, 'never-written');
    const missing = await firebreak(['restore', join(tmp, 'nope.sqlite')], envFor(target));
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('does not exist');

    const garbage = join(tmp, 'garbage.sqlite');
    writeFileSync(garbage, Buffer.from('this is not a database, just some bytes that go on for a while'.repeat(100)));
    const g = await firebreak(['restore', garbage], envFor(target));
    expect(g.code).toBe(1);
    expect(g.err).toContain('is not a SQLite database');

    const torn = join(tmp, 'torn.sqlite');
    writeFileSync(torn, readFileSync(good).subarray(0, 8192)); // a SQLite header, then most of the pages missing
    const t = await firebreak(['restore', torn], envFor(target));
    expect(t.code).toBe(1);
    expect(t.err).toMatch(/damaged|not a Firebreak database|cannot be/);

    const other = join(tmp, 'other.sqlite');
    const o = new SqliteDatabase(other);
    o.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)');
    o.close();
    const ot = await firebreak(['restore', other], envFor(target));
    expect(ot.code).toBe(1);
    expect(ot.err).toContain('not a Firebreak database');

    const newer = join(tmp, 'newer.sqlite');
    copyFileSync(good, newer);
    const n = new SqliteDatabase(newer);
    n.prepare('INSERT INTO kysely_migration (name, timestamp) VALUES (?, ?)').run('9999_from_the_future', new Date().toISOString());
    n.close();
    const nt = await firebreak(['restore', newer], envFor(target));
    expect(nt.code).toBe(1);
    expect(nt.err).toContain('newer Firebreak');
    expect(nt.err).toContain('9999_from_the_future');
    expect(existsSync(target)).toBe(false); // nothing was created by any refusal
  });

  it('migrates a backup made by an older build', { timeout: 60_000 }, async () => {
    // The newest migration undone with its own down(): the database an older build left behind.
    const older = join(tmp, 'older.sqlite');
    copyFileSync(good, older);
    const names = Object.keys(migrations).sort();
    const last = names.at(-1)!;
    const k = new Kysely<any>({ dialect: new SqliteDialect({ database: new SqliteDatabase(older) }) });
    await migrations[last]!.down!(k);
    await k.deleteFrom('kysely_migration').where('name', '=', last).execute();
    await k.destroy();
    const target = join(tmp, 'from-older');
    const r = await firebreak(['restore', older], envFor(target));
    expect(r.code).toBe(0);
    expect(r.out).toContain(`applied migrations: ${last}`);
    const restored = new SqliteDatabase(join(target, 'firebreak.sqlite'), { readonly: true });
    const applied = (restored.prepare('SELECT name FROM kysely_migration ORDER BY name').all() as { name: string }[]).map((x) => x.name);
    const schemaOf = (db: SqliteDatabase.Database): unknown[] => db.prepare(`SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`).all();
    const reference = new SqliteDatabase(good, { readonly: true });
    expect(applied).toEqual(names);
    const olderDb = new SqliteDatabase(older, { readonly: true });
    expect(schemaOf(olderDb)).not.toEqual(schemaOf(reference)); // the down() really changed something
    olderDb.close();
    expect(schemaOf(restored)).toEqual(schemaOf(reference)); // and restore brought it back to this build's schema
    restored.close();
    reference.close();
  });

  it('refuses unwritable backup paths, an existing backup without --force, and a missing database', { timeout: 60_000 }, async () => {
    const env = envFor(dataDir);
    const noDir = await firebreak(['backup', join(tmp, 'no-such-dir', 'b.sqlite')], env);
    expect(noDir.code).toBe(1);
    expect(noDir.err).toContain('does not exist');
    const aFile = join(tmp, 'a-file');
    writeFileSync(aFile, 'x');
    const underFile = await firebreak(['backup', join(aFile, 'b.sqlite')], env);
    expect(underFile.code).toBe(1);
    expect(underFile.err).toContain('is not a directory');
    const exists = await firebreak(['backup', good], env);
    expect(exists.code).toBe(1);
    expect(exists.err).toContain('already exists');
    const empty = join(tmp, 'empty-data');
    const none = await firebreak(['backup', join(tmp, 'x.sqlite')], envFor(empty));
    expect(none.code).toBe(1);
    expect(none.err).toContain('There is no Firebreak database');
    expect(existsSync(join(empty, 'firebreak.sqlite'))).toBe(false); // looking did not create one
    const usage = await firebreak(['backup'], env);
    expect(usage.code).toBe(2);
    expect(usage.err).toContain('Usage: firebreak backup');
  });

  it('sends PostgreSQL installations to pg_dump and pg_restore without touching anything', { timeout: 60_000 }, async () => {
    const pgEnv = envFor(join(tmp, 'pg-unused'), { DATABASE_URL: 'postgres://firebreak@127.0.0.1:1/firebreak' });
    const b = await firebreak(['backup', join(tmp, 'pg.sqlite')], pgEnv);
    expect(b.code).toBe(2);
    expect(b.err).toContain('pg_dump');
    expect(b.err).toContain('FIREBREAK_MASTER_KEY');
    const r = await firebreak(['restore', good], pgEnv);
    expect(r.code).toBe(2);
    expect(r.err).toContain('pg_restore');
    expect(existsSync(join(tmp, 'pg.sqlite'))).toBe(false);
    expect(existsSync(join(tmp, 'pg-unused'))).toBe(false);
  });

  it('with FIREBREAK_MASTER_KEY, --with-key saves that key, and restore says the environment wins', { timeout: 60_000 }, async () => {
    const envKey = randomBytes(32).toString('base64');
    const file = join(tmp, 'env-key.sqlite');
    const b = await firebreak(['backup', file, '--with-key'], envFor(dataDir, { FIREBREAK_MASTER_KEY: envKey }));
    expect(b.code).toBe(0);
    expect(readFileSync(`${file}.key`, 'utf8').trim()).toBe(envKey);
    const r = await firebreak(['restore', file], envFor(join(tmp, 'env-key-target'), { FIREBREAK_MASTER_KEY: envKey }));
    expect(r.code).toBe(0);
    expect(r.err).toContain('FIREBREAK_MASTER_KEY is set and wins');
    for (const x of [b, r]) expect(x.out + x.err).not.toContain(envKey);
  });

  it('help lists backup and restore', async () => {
    const h = await firebreak(['help'], envFor(dataDir), true);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/backup <file>/);
    expect(h.out).toMatch(/restore <file>/);
  });
});

describe('the master key and a backup', () => {
  let pd: PagerDutyEmulator;
  beforeAll(async () => {
    pd = await startPagerDutyEmulator({ seed: 'small', rateLimitPerMinute: false });
  });
  afterAll(async () => {
    await pd?.stop();
  });

  it('stays out of a backup unless asked for, goes to an owner-only file with --with-key, and is never printed', { timeout: 120_000 }, async () => {
    const source = join(tmp, 'keyed');
    const server = await startServer(source, true);
    let token: string;
    try {
      const owner = await signInWithLink(server.baseUrl, server.loginUrl!);
      token = (await owner.post('/api/v1/api_keys', { name: 'k', scopes: ['admin'] })).body.token;
      const bot = [...pd.state.users.values()][0]!;
      const connected = await apiKeyClient(server.baseUrl, token).request('PUT', '/api/v1/integrations/pagerduty', { region: 'us', base_url: pd.baseUrl, api_key: pd.fullAccessKey, bot_user_id: bot.id });
      expect(connected.status).toBe(200);
    } finally {
      await server.stop();
    }
    const masterKey = readFileSync(join(source, 'master.key'), 'utf8').trim();

    const plain = join(tmp, 'no-key.sqlite');
    const withoutKey = await firebreak(['backup', plain], envFor(source));
    expect(withoutKey.code).toBe(0);
    expect(withoutKey.err).toMatch(/does not contain the master key.*\d+ stored secret/s);
    expect(existsSync(`${plain}.key`)).toBe(false);

    const keyed = join(tmp, 'with-key.sqlite');
    const withKey = await firebreak(['backup', keyed, '--with-key'], envFor(source));
    expect(withKey.code).toBe(0);
    expect(statSync(`${keyed}.key`).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${keyed}.key`, 'utf8').trim()).toBe(masterKey);
    expect(readFileSync(plain).includes(Buffer.from(masterKey))).toBe(false);

    // Restored with <file>.key: the key comes back owner-only and decrypts every stored secret.
    const t1 = join(tmp, 'restored-keyed');
    const r1 = await firebreak(['restore', keyed], envFor(t1));
    expect(r1.code).toBe(0);
    expect(r1.out).toMatch(/All \d+ stored secret\(s\) decrypt/);
    expect(readFileSync(join(t1, 'master.key'), 'utf8').trim()).toBe(masterKey);
    expect(statSync(join(t1, 'master.key')).mode & 0o777).toBe(0o600);
    // Restored without a key: the operator is told the secrets are unreadable.
    const t2 = join(tmp, 'restored-keyless');
    const r2 = await firebreak(['restore', plain], envFor(t2));
    expect(r2.code).toBe(0);
    expect(r2.err).toMatch(/\d+ stored secret\(s\) and no master key came with it/);
    // A wrong key is noticed too.
    const wrong = join(tmp, 'wrong.key');
    writeFileSync(wrong, Buffer.alloc(32, 7).toString('base64'), { mode: 0o600 });
    const r3 = await firebreak(['restore', plain, '--force', '--key-file', wrong], envFor(t2));
    expect(r3.code).toBe(0);
    expect(r3.err).toMatch(/\d+ of \d+ stored secret\(s\) cannot be decrypted/);

    for (const r of [withoutKey, withKey, r1, r2, r3]) expect(r.out + r.err).not.toContain(masterKey);

    // The restored installation talks to PagerDuty with the decrypted key.
    const restored = await startServer(t1, false);
    try {
      const c = apiKeyClient(restored.baseUrl, token);
      const sync = await c.post('/api/v1/integrations/pagerduty/sync', {});
      expect(sync.status).toBeLessThan(300);
      let status = '';
      for (let i = 0; i < 100 && !['succeeded', 'failed', 'cancelled'].includes(status); i++) {
        await new Promise((r) => setTimeout(r, 200));
        status = (await c.get('/api/v1/catalog_sync_runs?source=pagerduty&limit=1')).body.sync_runs[0]?.status ?? '';
      }
      expect(status).toBe('succeeded');
    } finally {
      await restored.stop();
    }
  });
});

