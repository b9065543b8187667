// Benchmark: full-text search over incidents (issue 16) on SQLite and PostgreSQL.
//
// Seeds N incidents (100,000; 5,000 with BENCH_SHORT=1) with their timelines (the declaration, 1-3 notes, 0-2
// updates, a status change with a reason: about 5 items each), written straight into the tables in batches with the
// search triggers off, then indexed in one pass (migration 0024's reindexAll, the same statement that indexes
// existing data when the migration runs) and the triggers put back. What the bulk load skips, a write through the
// triggers, is measured too: notes added one by one through IncidentsService.addNote, each re-indexing its incident
// in its transaction.
//
// Then a mix of searches through IncidentsService.listIncidents (what GET /api/v1/incidents?q= runs, without HTTP:
// filter, rank, page of 25, incident view, match and snippet): rare and common words, two words, a prefix as people
// type, a word with a status filter, a phrase from a name, a reference, words that match nothing. Prints p50 and p99
// per backend against the target (p99 < 50 ms) and the index size (SQLite: the FTS5 tables' pages from dbstat;
// PostgreSQL: pg_total_relation_size of incident_search, GIN index included).
//
//   npm run bench:search [-- --incidents 100000] [-- --queries 400] [-- --only sqlite|postgres]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { sql, type Insertable } from 'kysely';
import type { IncidentsTable, TimelineItemsTable } from '../src/platform/db/schema.js';
import pg from 'pg';
import { buildFirebreak, type Firebreak } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/platform/logger.js';
import { newId } from '../src/platform/ids.js';
import { reindexAll } from '../src/platform/db/migrations/0024_search.js';
import { createTriggers, dropTriggers } from '../src/platform/db/migrations/0032_search_skip_declaration.js';
import { report, shortRun } from './report.js';

const { values } = parseArgs({
  options: {
    incidents: { type: 'string', default: shortRun ? '5000' : '100000' },
    queries: { type: 'string', default: shortRun ? '120' : '400' },
    only: { type: 'string' },
  },
});
const N = Number(values.incidents);
const QUERIES = Number(values.queries);
const TARGET_P99_MS = 50;
const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

// ---- a deterministic corpus: a Zipf-like vocabulary, so some words are everywhere and most are rare ----------

let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'ta', 'vo', 'zi', 'bra', 'pel', 'dor', 'fin', 'gus', 'hal', 'jem', 'kor', 'lum', 'mar', 'nix', 'pol', 'quo', 'ren', 'sil', 'tor', 'ul', 'vex', 'wen', 'yar'];
const COMMON = ['checkout', 'payments', 'database', 'latency', 'errors', 'timeout', 'deploy', 'rollback', 'customers', 'api', 'cache', 'queue', 'login', 'search', 'eu', 'us', 'primary', 'replica', 'certificate', 'dns', 'kafka', 'redis', 'billing', 'mobile', 'web'];
const VOCAB: string[] = [...COMMON];
while (VOCAB.length < 5000) VOCAB.push(Array.from({ length: 2 + Math.floor(rand() * 3) }, () => pick(SYLLABLES)).join(''));
/** Word i is drawn with weight 1/(i+1): "checkout" is common, a word near the end is rare. */
const cumulative: number[] = [];
VOCAB.reduce((sum, _w, i) => (cumulative[i] = sum + 1 / (i + 1)), 0);
const total = cumulative[cumulative.length - 1]!;
function word(): string {
  const r = rand() * total;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! < r) lo = mid + 1;
    else hi = mid;
  }
  return VOCAB[lo]!;
}
const sentence = (min: number, max: number) => Array.from({ length: min + Math.floor(rand() * (max - min + 1)) }, word).join(' ');

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

// ---- seeding -------------------------------------------------------------------------------------------------

async function seedIncidents(fb: Firebreak): Promise<{ seedS: number; indexS: number }> {
  const db = fb.database.db;
  const severities = await db.selectFrom('severities').select('id').execute();
  const statuses = await db.selectFrom('incident_statuses').select(['id', 'category']).execute();
  const live = statuses.filter((s) => s.category === 'live' || s.category === 'closed');
  await dropTriggers(db);
  const t0 = performance.now();
  const BATCH = 500;
  const base = Date.parse('2025-01-01T00:00:00Z');
  for (let start = 1; start <= N; start += BATCH) {
    const incidents: Insertable<IncidentsTable>[] = [];
    const items: Insertable<TimelineItemsTable>[] = [];
    for (let n = start; n < Math.min(N + 1, start + BATCH); n++) {
      const id = newId();
      const at = new Date(base + n * 60_000).toISOString();
      const name = `${sentence(2, 5)}`.replace(/^./, (c) => c.toUpperCase());
      const summary = sentence(6, 20);
      incidents.push({ id, number: n, reference: `INC-${n}`, name, summary, severity_id: pick(severities).id, status_id: pick(live).id, mode: 'standard' as const, source: 'declared', creator_kind: 'system' as const, creator_user_id: null, creator_ref: null, lead_user_id: null, merged_into_id: null, slack_channel_id: null, idempotency_key: null, created_at: at, updated_at: at });
      const item = (kind: string, payload: Record<string, unknown>, k: number) => ({ id: newId(), incident_id: id, kind, occurred_at: new Date(base + n * 60_000 + k * 1000).toISOString(), created_at: at, actor_kind: 'system' as const, actor_user_id: null, actor_ref: null, payload: JSON.stringify(payload), dedupe_key: null });
      items.push(item('incident_declared', { name, summary, severity: 'Major', status: 'Investigating', mode: 'standard', reference: `INC-${n}` }, 0));
      const notes = 1 + Math.floor(rand() * 3);
      for (let k = 0; k < notes; k++) items.push(item('note_added', { text: sentence(5, 25) }, 1 + k));
      const updates = Math.floor(rand() * 3);
      for (let k = 0; k < updates; k++) items.push(item('update_posted', { message: sentence(8, 30) }, 10 + k));
      items.push(item('status_changed', { from: 'Investigating', to: 'Fixing', reason: sentence(3, 8) }, 20));
    }
    await db.transaction().execute(async (tx) => {
      await tx.insertInto('incidents').values(incidents).execute();
      for (let i = 0; i < items.length; i += 1000) await tx.insertInto('timeline_items').values(items.slice(i, i + 1000)).execute();
    });
  }
  if (fb.database.dialect === 'postgres') await sql`select setval('incident_number_seq', ${N})`.execute(db);
  else await db.updateTable('sequences').set({ value: N }).where('name', '=', 'incident').execute();
  const seedS = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  await reindexAll(db);
  await createTriggers(db);
  if (fb.database.dialect === 'postgres') await sql`analyze`.execute(db);
  return { seedS, indexS: (performance.now() - t1) / 1000 };
}

async function indexBytes(fb: Firebreak): Promise<number> {
  if (fb.database.dialect === 'postgres') {
    const r = await sql<{ n: string }>`select pg_total_relation_size('incident_search') as n`.execute(fb.database.db);
    return Number(r.rows[0]!.n);
  }
  const r = await sql<{ n: number }>`select coalesce(sum(pgsize), 0) as n from dbstat where name like 'incident_search%'`.execute(fb.database.db);
  return Number(r.rows[0]!.n);
}

// ---- queries -------------------------------------------------------------------------------------------------

function queryMix(): { label: string; q: string; statusCategories?: ('live' | 'closed')[] }[] {
  const rare = () => VOCAB[2000 + Math.floor(rand() * 3000)]!;
  const mid = () => VOCAB[100 + Math.floor(rand() * 400)]!;
  return [
    { label: 'common word', q: pick(COMMON) },
    { label: 'rare word', q: rare() },
    { label: 'two words', q: `${pick(COMMON)} ${mid()}` },
    { label: 'prefix as typed', q: mid().slice(0, 3) },
    { label: 'word + prefix', q: `${pick(COMMON)} ${mid().slice(0, 4)}` },
    { label: 'word + status filter', q: mid(), statusCategories: ['live'] },
    { label: 'three words', q: `${mid()} ${mid()} ${rare()}` },
    { label: 'reference', q: `INC-${1 + Math.floor(rand() * N)}` },
    { label: 'no match', q: 'zzqxnothing' },
    { label: 'punctuation', q: `"${pick(COMMON)}" OR (${mid()}` },
  ];
}

async function measure(backend: 'sqlite' | 'postgres', env: Record<string, string>, dataDir: string): Promise<void> {
  const fb = await buildFirebreak(loadConfig(env, { dataDir }), createLogger('warn', process.stderr));
  try {
    console.log(`\n${backend}: seeding ${N.toLocaleString('en')} incidents with their timelines…`);
    const { seedS, indexS } = await seedIncidents(fb);
    const items = await fb.database.db.selectFrom('timeline_items').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    console.log(`  seeded in ${seedS.toFixed(1)} s (${Number(items.n).toLocaleString('en')} timeline items); indexed in one pass in ${indexS.toFixed(1)} s`);
    const bytes = await indexBytes(fb);

    // Warm up, then the mix, round-robin, so every kind of query is in the percentile.
    const svc = fb.incidents;
    for (let i = 0; i < 20; i++) for (const m of queryMix().slice(0, 3)) await svc.listIncidents({ q: m.q, limit: 25 });
    const times: number[] = [];
    const byLabel = new Map<string, number[]>();
    let results = 0;
    while (times.length < QUERIES) {
      for (const m of queryMix()) {
        const t = performance.now();
        const page = await svc.listIncidents({ q: m.q, statusCategories: m.statusCategories, limit: 25 });
        const dt = performance.now() - t;
        results += page.incidents.length;
        times.push(dt);
        byLabel.set(m.label, [...(byLabel.get(m.label) ?? []), dt]);
      }
    }
    const load = loadavg().map((l) => l.toFixed(2)).join(' ');
    for (const [label, xs] of byLabel) console.log(`  ${label.padEnd(22)} p50 ${pct(xs, 50).toFixed(1)} ms  p99 ${pct(xs, 99).toFixed(1)} ms`);
    console.log(`  ${times.length} searches, ${(results / times.length).toFixed(1)} results a page on average; load average ${load} (2 cores, shared)`);
    const name = backend === 'sqlite' ? 'SQLite' : 'PostgreSQL';
    report({ bench: 'search', figure: `search p50, ${name}, ${N.toLocaleString('en')} incidents`, value: pct(times, 50), unit: 'ms', target: `< ${TARGET_P99_MS} ms`, met: pct(times, 50) < TARGET_P99_MS, limit: `load average ${load}` });
    report({ bench: 'search', figure: `search p99, ${name}, ${N.toLocaleString('en')} incidents`, value: pct(times, 99), unit: 'ms', target: `< ${TARGET_P99_MS} ms`, met: pct(times, 99) < TARGET_P99_MS, limit: `load average ${load}` });
    console.log(`  index size: ${(bytes / 1024 / 1024).toFixed(1)} MB (${backend === 'sqlite' ? 'FTS5 tables, dbstat' : 'incident_search with its GIN index, pg_total_relation_size'})`);
    report({ bench: 'search', figure: `search index size, ${name}, ${N.toLocaleString('en')} incidents`, value: bytes / 1024 / 1024, unit: 'MB', target: 'reported', met: true });

    // Writes through the triggers: a note re-indexes its incident in the note's transaction.
    const ids = await fb.database.db.selectFrom('incidents').select('id').orderBy('number').limit(200).execute();
    const writes: number[] = [];
    for (const { id } of ids) {
      const t = performance.now();
      await svc.addNote(id, sentence(5, 20), { kind: 'system' });
      writes.push(performance.now() - t);
    }
    console.log(`  note added (with its re-index) p50 ${pct(writes, 50).toFixed(1)} ms, p99 ${pct(writes, 99).toFixed(1)} ms`);
  } finally {
    await fb.http.close();
    await fb.jobs.stop();
    await fb.database.destroy();
  }
}

async function main(): Promise<void> {
  console.log(`bench:search: ${N.toLocaleString('en')} incidents, ${QUERIES} searches per backend${shortRun ? ' (short run)' : ''}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (values.only !== 'postgres') {
    const dataDir = mkdtempSync(join(tmpdir(), 'firebreak-bench-search-'));
    try {
      await measure('sqlite', {}, dataDir);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  if (values.only === 'sqlite') return;
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch {
    console.log('PostgreSQL not reachable (TEST_DATABASE_URL or 127.0.0.1:5432/test): PostgreSQL run skipped');
    return;
  }
  const name = `fb_bench_search_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'firebreak-bench-search-pg-'));
  try {
    await measure('postgres', { DATABASE_URL: u.toString(), FIREBREAK_MASTER_KEY: randomBytes(32).toString('base64') }, dataDir);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

await main();
