import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addTimelineItem } from '../../src/incidents/timeline.js';
import { migrations } from '../../src/migrations.js';
import { inTransaction, migrateToLatest, openDatabase } from '../../src/platform/db/index.js';
import { newId, nowIso } from '../../src/platform/ids.js';
import { backends, freshPostgresDatabase, ownerClient, startTestFirebreak, userClient, type Client, type TestFirebreak } from '../helpers.js';

// Full-text search over incidents through GET /api/v1/incidents?q=…, on each backend: what a responder typing in
// the list's search box finds, in which order, and where each result matched, with the matched words marked.

const text = (snippet: { text: string; hit: boolean }[]) => snippet.map((s) => s.text).join('');
const hits = (snippet: { text: string; hit: boolean }[]) => snippet.filter((s) => s.hit).map((s) => s.text.toLowerCase());

describe.each(backends)('incident search on %s', (backend) => {
  let fb: TestFirebreak;
  let owner: Client;
  let viewer: Client;
  const inc: Record<string, { id: string; reference: string }> = {};

  const search = async (q: string, extra = '') => owner.get(`/api/v1/incidents?q=${encodeURIComponent(q)}${extra}`);
  const names = (res: { body: any }) => res.body.incidents.map((i: any) => i.name);
  /** An update as the updates module writes it: a timeline item of kind update_posted with payload.message. */
  const postUpdate = (incidentId: string, message: string) =>
    inTransaction(fb.app.database.db, (tx) => addTimelineItem(tx, fb.app.events, { incidentId, kind: 'update_posted', actor: { kind: 'system' }, payload: { message, updateId: 'u1' } }));

  beforeAll(async () => {
    fb = await startTestFirebreak(backend);
    owner = await ownerClient(fb);
    viewer = (await userClient(fb, owner, 'viewer')).client;
    const declare = async (key: string, body: Record<string, unknown>) => {
      const r = await owner.post('/api/v1/incidents', body);
      expect(r.status).toBe(201);
      inc[key] = r.body.incident;
    };
    await declare('checkout', { name: 'Checkout outage in eu-west', summary: 'Card payments are declined' });
    await declare('replica', { name: 'Replica lag on primary database', summary: 'Reads are stale for the reporting dashboard' });
    await declare('noted', { name: 'Slow search', summary: 'Queries take seconds' });
    await declare('updated', { name: 'Login errors', summary: 'Some people cannot sign in', mode: 'test' });
    const note = await owner.post(`/api/v1/incidents/${inc.noted!.id}/timeline/notes`, { text: 'The checkout team deployed a new index on orders at 10:02' });
    expect(note.status).toBe(201);
    await postUpdate(inc.updated!.id, 'Rolled back the identity provider certificate; error rate falling');
  });
  afterAll(async () => fb?.destroy());

  it('finds an incident by a word of its name and marks the word', async () => {
    const r = await search('replica');
    expect(r.status).toBe(200);
    expect(names(r)).toEqual(['Replica lag on primary database']);
    expect(r.body.incidents[0].match.field).toBe('name');
    expect(hits(r.body.incidents[0].match.snippet)).toEqual(['replica']);
    expect(text(r.body.incidents[0].match.snippet)).toBe('Replica lag on primary database');
  });

  it('finds by the summary, a note and an update, saying where it matched', async () => {
    const bySummary = await search('stale');
    expect(names(bySummary)).toEqual(['Replica lag on primary database']);
    expect(bySummary.body.incidents[0].match).toEqual({ field: 'summary', snippet: [{ text: 'Reads are ', hit: false }, { text: 'stale', hit: true }, { text: ' for the reporting dashboard', hit: false }] });

    const byNote = await search('deployed index');
    expect(names(byNote)).toEqual(['Slow search']);
    expect(byNote.body.incidents[0].match.field).toBe('note');
    expect(hits(byNote.body.incidents[0].match.snippet)).toEqual(['deployed', 'index']);

    const byUpdate = await search('certificate');
    expect(names(byUpdate)).toEqual(['Login errors']);
    expect(byUpdate.body.incidents[0].match.field).toBe('update');
    expect(text(byUpdate.body.incidents[0].match.snippet)).toContain('identity provider certificate');
  });

  it('ranks a name match above a note match, and pages by relevance without repeats', async () => {
    const r = await search('checkout');
    expect(names(r)).toEqual(['Checkout outage in eu-west', 'Slow search']);
    expect(r.body.incidents.map((i: any) => i.match.field)).toEqual(['name', 'note']);
    const first = await search('checkout', '&limit=1');
    expect(names(first)).toEqual(['Checkout outage in eu-west']);
    expect(first.body.next_cursor).toBeTruthy();
    const second = await search('checkout', `&limit=1&cursor=${first.body.next_cursor}`);
    expect(names(second)).toEqual(['Slow search']);
    expect(second.body.next_cursor).toBeNull();
    // An explicit sort still applies to search results.
    const oldest = await search('checkout', '&sort=created&order=asc');
    expect(names(oldest)).toEqual(['Checkout outage in eu-west', 'Slow search']);
    const newest = await search('checkout', '&sort=created&order=desc');
    expect(names(newest)).toEqual(['Slow search', 'Checkout outage in eu-west']);
  });

  it('matches the last word as a prefix while people type, other words whole', async () => {
    expect(names(await search('repl'))).toEqual(['Replica lag on primary database']);
    const r = await search('card paym');
    expect(names(r)).toEqual(['Checkout outage in eu-west']);
    expect(hits(r.body.incidents[0].match.snippet)).toEqual(['card', 'payments']);
    expect(names(await search('paym card'))).toEqual([]);
    expect(names(await search('REPLICA LAG'))).toEqual(['Replica lag on primary database']);
  });

  it('a reference still finds exactly that incident', async () => {
    const r = await search(inc.replica!.reference.toLowerCase());
    expect(names(r)).toEqual(['Replica lag on primary database']);
    expect(r.body.incidents[0].match.field).toBe('reference');
  });

  it('punctuation, quotes and operators are plain text, never an error', async () => {
    for (const q of ['"checkout', 'checkout"', 'checkout AND', 'OR', 'NOT checkout', 'NEAR(checkout outage)', 'check*', '^checkout', 'name:checkout', '(checkout', "check'out", 'checkout & | ! <->', ':*', '\\', '%', '___', '-checkout', '"', "'", '!!!', '+++', 'eu-west', 'café', '😀 checkout']) {
      const r = await search(q);
      expect(r.status, `${q}: ${JSON.stringify(r.body)}`).toBe(200);
    }
    expect(names(await search('"checkout outage"'))).toEqual(['Checkout outage in eu-west']);
    expect(names(await search('eu-west'))).toEqual(['Checkout outage in eu-west']);
    expect(names(await search('10:02'))).toEqual(['Slow search']);
    expect(names(await search('!!!'))).toEqual([]);
    // Whitespace only is no search at all: the whole list, newest first.
    expect((await search('   ')).body.incidents).toHaveLength(4);
  });

  it('combines with filters and refuses relevance without a search', async () => {
    expect(names(await search('login', '&mode=test'))).toEqual(['Login errors']);
    expect(names(await search('login', '&mode=standard'))).toEqual([]);
    expect(names(await search('checkout', '&status_category=closed'))).toEqual([]);
    const bad = await owner.get('/api/v1/incidents?sort=relevance');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toBeTruthy();
    const tooLong = await search('x'.repeat(201));
    expect(tooLong.status).toBe(400);
    const otherCursor = await owner.get(`/api/v1/incidents?limit=1`);
    expect((await search('checkout', `&cursor=${otherCursor.body.next_cursor}`)).status).toBe(400);
    // Viewers read search results too; without a session, 401.
    expect((await viewer.get('/api/v1/incidents?q=checkout')).status).toBe(200);
    expect((await fetch(`${fb.baseUrl}/api/v1/incidents?q=checkout`)).status).toBe(401);
  });

  it('does not re-index an incident for its declaration item (it adds nothing to the document); any other item re-indexes it', async () => {
    // How many times the incident is re-indexed while one item is added: on PostgreSQL the calls of the refresh
    // function in this transaction (track_functions), on SQLite the rows the insert changed, its triggers' included.
    const db = fb.app.database.db;
    const rollback = new Error('rollback');
    const counted: number[] = [];
    await inTransaction(db, async (tx) => {
      if (backend === 'postgres') await sql`set local track_functions = 'pl'`.execute(tx);
      const reindexes = async () =>
        backend === 'postgres'
          ? Number((await sql<{ n: number }>`select coalesce(pg_stat_get_xact_function_calls('firebreak_search_refresh'::regproc), 0) as n`.execute(tx)).rows[0]!.n)
          : Number((await sql<{ n: number }>`select total_changes() as n`.execute(tx)).rows[0]!.n);
      for (const kind of ['incident_declared', 'note_added']) {
        const before = await reindexes();
        const now = nowIso();
        await sql`insert into timeline_items (id, incident_id, kind, occurred_at, created_at, actor_kind, payload) values (${newId()}, ${inc.replica!.id}, ${kind}, ${now}, ${now}, 'system', ${JSON.stringify({ text: 'quarantined shard' })})`.execute(tx);
        // SQLite: the item's own row is one change; a re-index adds the document's delete and insert.
        counted.push((await reindexes()) - before - (backend === 'postgres' ? 0 : 1));
      }
      throw rollback;
    }).catch((err: unknown) => {
      if (err !== rollback) throw err;
    });
    expect(counted[0]).toBe(0);
    expect(counted[1]).toBeGreaterThan(0);
  });

  it('follows renames, summary edits and new notes in the same transaction as the change', async () => {
    const renamed = await owner.patch(`/api/v1/incidents/${inc.replica!.id}`, { name: 'Follower delay on main database', summary: 'Dashboards lag behind' });
    expect(renamed.status).toBe(200);
    const r = await search('follower');
    expect(names(r)).toEqual(['Follower delay on main database']);
    expect(r.body.incidents[0].match.field).toBe('name');
    // The old name is history now: found through the rename on the timeline, no longer as the name.
    const old = await search('replica');
    expect(names(old)).toEqual(['Follower delay on main database']);
    expect(old.body.incidents[0].match.field).toBe('timeline');
    expect(names(await search('stale'))).toEqual(['Follower delay on main database']);
    expect((await search('stale')).body.incidents[0].match.field).toBe('timeline');

    // A module that writes the summary itself (no timeline item) still re-indexes the incident.
    await fb.app.database.db.updateTable('incidents').set({ summary: 'Vacuum stalled on orders' }).where('id', '=', inc.replica!.id).execute();
    expect(names(await search('vacuum'))).toEqual(['Follower delay on main database']);
    expect((await search('vacuum')).body.incidents[0].match.field).toBe('summary');

    // A change that rolls back leaves the index as it was.
    await expect(
      inTransaction(fb.app.database.db, async (tx) => {
        await addTimelineItem(tx, fb.app.events, { incidentId: inc.checkout!.id, kind: 'note_added', actor: { kind: 'system' }, payload: { text: 'zeppelin' } });
        const seen = await tx.selectFrom('incidents').select('id').where('id', '=', inc.checkout!.id).execute();
        expect(seen).toHaveLength(1);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(names(await search('zeppelin'))).toEqual([]);
    await owner.post(`/api/v1/incidents/${inc.checkout!.id}/timeline/notes`, { text: 'A zeppelin-shaped spike in traffic' });
    expect(names(await search('zeppelin'))).toEqual(['Checkout outage in eu-west']);
  });

  it('keeps every item when integrations add items to one incident at the same time (no incident lock taken)', async () => {
    const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'].map((w) => `${w}zulu`);
    await Promise.all(
      words.map((w) =>
        inTransaction(fb.app.database.db, async (tx) => {
          await addTimelineItem(tx, fb.app.events, { incidentId: inc.noted!.id, kind: 'pagerduty.note', actor: { kind: 'integration', ref: 'pagerduty' }, payload: { text: `PagerDuty says ${w}` } });
          await new Promise((r) => setTimeout(r, 20));
        }),
      ),
    );
    for (const w of words) expect(names(await search(w)), w).toEqual(['Slow search']);
  });
});

// Relevance ranks the newest N matching incidents that pass the filters. PostgreSQL finds them range by range from
// the newest (src/incidents/search.ts, pgRelevanceWindow) and filters on copies of status, severity and mode kept
// beside each document (migration 0025); here N and the first range are shrunk so that 46 incidents need several
// ranges, and every result is checked against what the incidents are.
describe.each(backends)('the relevance window on %s', (backend) => {
  let fb: TestFirebreak;
  let owner: Client;
  type Made = { id: string; n: number; where: 'name' | 'summary' | 'note' | null; closed: boolean; minor: boolean; core: boolean };
  const made: Made[] = [];
  let minorId = '';
  const WINDOW = 9;

  beforeAll(async () => {
    fb = await startTestFirebreak(backend);
    owner = await ownerClient(fb);
    fb.app.incidents.relevanceSlicing = { window: WINDOW, firstSlice: 4, maxSlices: 4 };
    expect((await owner.post('/api/v1/custom_fields', { key: 'team', name: 'Team', type: 'text' })).status).toBe(201);
    for (let n = 1; n <= 40; n++) await declare(n);
  });
  afterAll(async () => fb?.destroy());

  /** Incident n has "osprey" in its name, summary, a note or nowhere (n % 4); some are then closed, made minor, given team core. */
  async function declare(n: number) {
    const where = (['name', 'summary', 'note', null] as const)[n % 4]!;
    const r = await owner.post('/api/v1/incidents', { name: where === 'name' ? `Osprey feed ${n} stalls` : `Feed ${n} stalls`, summary: where === 'summary' ? 'the osprey importer is behind' : 'the importer is behind' });
    expect(r.status).toBe(201);
    const id = r.body.incident.id as string;
    // A severity other than the one incidents are declared with.
    minorId ||= (await owner.get('/api/v1/severities')).body.severities.find((sv: { id: string }) => sv.id !== r.body.incident.severity.id).id;
    if (where === 'note') expect((await owner.post(`/api/v1/incidents/${id}/timeline/notes`, { text: 'osprey backlog drained' })).status).toBe(201);
    // Changed after declaration: the copies beside the search document must follow.
    const closed = n % 3 === 0;
    const minor = n % 5 === 0;
    const core = n % 2 === 0;
    if (closed) expect((await owner.post(`/api/v1/incidents/${id}/actions/close`, {})).status).toBe(200);
    if (minor) expect((await owner.post(`/api/v1/incidents/${id}/actions/severity`, { severity_id: minorId })).status).toBe(200);
    if (core) expect((await owner.patch(`/api/v1/incidents/${id}`, { custom_field_values: { team: 'core' } })).status).toBe(200);
    made.push({ id, n, where, closed, minor, core });
  }

  /** Every page of a relevance search, two at a time. */
  async function allPages(filters: string) {
    const seen: { id: string; field: string }[] = [];
    let cursor: string | null = null;
    do {
      const r = await owner.get(`/api/v1/incidents?q=osprey&limit=2${filters}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      seen.push(...r.body.incidents.map((i: any) => ({ id: i.id, field: i.match.field })));
      cursor = r.body.next_cursor;
    } while (cursor);
    return seen;
  }

  const cases: [string, (m: Made) => boolean][] = [
    ['', () => true],
    ['&status_category=live', (m) => !m.closed],
    ['&status_category=closed', (m) => m.closed],
    ['&severity_id=MINOR', (m) => m.minor],
    ['&custom_field=team:core', (m) => m.core],
    ['&status_category=closed&custom_field=team:core', (m) => m.closed && m.core],
  ];

  it('ranks exactly the newest matches that pass the filters, name before summary before notes, each once', async () => {
    for (const [filters, passes] of cases) {
      const f = filters.replace('MINOR', minorId);
      const expected = made.filter((m) => m.where !== null && passes(m)).sort((a, b) => b.n - a.n).slice(0, WINDOW);
      const seen = await allPages(f);
      expect(seen.map((s) => s.id).sort(), f).toEqual(expected.map((m) => m.id).sort());
      const order = { name: 0, summary: 1, note: 2 } as Record<string, number>;
      const ranks = seen.map((s) => order[s.field]!);
      expect(ranks, f).toEqual([...ranks].sort((a, b) => a - b));
      expect(seen.map((s) => s.field), f).toEqual(seen.map((s) => made.find((m) => m.id === s.id)!.where));
    }
  });

  it('takes in incidents declared after the window was last searched, and status written without a timeline item', async () => {
    await allPages('');
    for (let n = 41; n <= 46; n++) await declare(n);
    // A module that writes the status itself (no timeline item, so no re-index): the filters still follow.
    const closedStatus = await fb.app.database.db.selectFrom('incident_statuses').select('id').where('category', '=', 'closed').executeTakeFirstOrThrow();
    const quiet = made.find((m) => m.n === 46)!;
    expect(quiet.closed || quiet.where === null).toBe(false);
    await fb.app.database.db.updateTable('incidents').set({ status_id: closedStatus.id }).where('id', '=', quiet.id).execute();
    quiet.closed = true;
    const expected = made.filter((m) => m.where !== null && m.closed).sort((a, b) => b.n - a.n).slice(0, WINDOW);
    expect(expected.some((m) => m.n > 40)).toBe(true);
    expect((await allPages('&status_category=closed')).map((s) => s.id).sort()).toEqual(expected.map((m) => m.id).sort());
  });
});

describe.each(backends)('the search migration on %s', (backend) => {
  it('indexes the incidents and timelines that existed before it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'firebreak-search-mig-'));
    const pgDb = backend === 'postgres' ? await freshPostgresDatabase() : null;
    const handle = openDatabase(pgDb ? { kind: 'postgres', url: pgDb.url } : { kind: 'sqlite', file: join(dataDir, 'firebreak.sqlite') });
    try {
      await migrateToLatest(handle.db, Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '0024')));
      const db = handle.db;
      const severity = await db.selectFrom('severities').select('id').executeTakeFirstOrThrow();
      const status = await db.selectFrom('incident_statuses').select('id').where('category', '=', 'live').executeTakeFirstOrThrow();
      const id = newId();
      const now = nowIso();
      await db.updateTable('sequences').set({ value: 7 }).where('name', '=', 'incident').execute();
      await db
        .insertInto('incidents')
        .values({ id, number: 7, reference: 'INC-7', name: 'Queue backlog', summary: 'Workers stuck', severity_id: severity.id, status_id: status.id, mode: 'standard', source: 'declared', creator_kind: 'system', creator_user_id: null, creator_ref: null, lead_user_id: null, merged_into_id: null, slack_channel_id: null, idempotency_key: null, created_at: now, updated_at: now })
        .execute();
      const item = (kind: string, payload: Record<string, unknown>) => ({ id: newId(), incident_id: id, kind, occurred_at: now, created_at: now, actor_kind: 'system' as const, actor_user_id: null, actor_ref: null, payload: JSON.stringify(payload), dedupe_key: null });
      await db.insertInto('timeline_items').values([item('note_added', { text: 'the wombat consumer is wedged' }), item('update_posted', { message: 'draining the dead letter queue' }), item('status_changed', { from: 'Investigating', to: 'Fixing', reason: 'found the poison message' })]).execute();
    } finally {
      await handle.destroy();
    }
    const fb = await startTestFirebreak(backend, { dataDir, ...(pgDb ? { pgUrl: pgDb.url } : {}) });
    try {
      const owner = await ownerClient(fb);
      const find = async (q: string) => (await owner.get(`/api/v1/incidents?q=${encodeURIComponent(q)}`)).body.incidents.map((i: any) => [i.name, i.match.field]);
      expect(await find('wombat')).toEqual([['Queue backlog', 'note']]);
      expect(await find('dead letter')).toEqual([['Queue backlog', 'update']]);
      expect(await find('poison')).toEqual([['Queue backlog', 'timeline']]);
      expect(await find('backlog')).toEqual([['Queue backlog', 'name']]);
    } finally {
      await fb.destroy();
      await pgDb?.drop();
    }
  });
});
