import { PostgresAdapter, sql, type Kysely } from 'kysely';

// Full-text search over incidents (issue 16): one search document per incident, kept current by triggers on
// `incidents` and `timeline_items`, so every write that changes a name, a summary or the timeline (whichever module
// makes it) re-indexes the incident in the same transaction, and nothing else has to remember to. The document's
// parts, in ranking order: name, summary, updates (`update_posted` payload.message), notes (`note_added`
// payload.text) and the rest of the timeline (its items' text, reason, message, title, summary, from and to when
// they are strings; the declaration is left out, it repeats the name and summary).
//
// SQLite: an FTS5 table, contentless (the text stays in its own tables; the index holds only tokens), rowid =
// incidents.number, tokenizer unicode61 (case and diacritics folded), prefix indexes for 2 and 3 characters (the last
// word is matched as a prefix while people type, and short prefixes would otherwise merge many words' lists). PostgreSQL: `incident_search` with one
// weighted tsvector per incident (A name, B summary, C updates and notes, D timeline) under a GIN index, config
// 'simple' (no stemming and no stop words: the same words match on both backends, hostnames, error codes and
// service names are kept as written; prefix matching on the last word gives most of what stemming would). ASCII
// punctuation is turned into spaces first, so `api.example.com` or `db_primary` split into words the way FTS5's
// tokenizer splits them.
//
// Concurrency on PostgreSQL: the refresh locks the incident's search row before it reads the timeline, so two
// transactions adding items to one incident re-index one after the other, the second seeing the first's item.

const TIMELINE_FIELDS = ['text', 'reason', 'message', 'title', 'summary', 'from', 'to'] as const;

export async function up(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) await upPostgres(db);
  else await upSqlite(db);
  await reindexAll(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await dropTriggers(db);
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    for (const f of ['firebreak_search_incidents_trg', 'firebreak_search_timeline_trg']) await sql.raw(`drop function if exists ${f}()`).execute(db);
    await sql`drop function if exists firebreak_search_refresh(text)`.execute(db);
    await sql`drop function if exists firebreak_search_fold(text)`.execute(db);
  }
  await sql`drop table if exists incident_search`.execute(db);
}

// ---- SQLite ---------------------------------------------------------------------------------------------------

const sqliteTimelineText = `concat_ws(' ', ${TIMELINE_FIELDS.map((f) => `CASE WHEN json_type(t.payload, '$.${f}') = 'text' THEN json_extract(t.payload, '$.${f}') END`).join(', ')})`;

/** The statements that re-index one incident, given an expression for its id. */
export function sqliteRefresh(incidentId: string): string {
  return `
    DELETE FROM incident_search WHERE rowid = (SELECT number FROM incidents WHERE id = ${incidentId});
    INSERT INTO incident_search(rowid, name, summary, updates, notes, timeline)
      SELECT i.number, i.name, i.summary,
        (SELECT group_concat(json_extract(t.payload, '$.message'), char(10)) FROM timeline_items t WHERE t.incident_id = i.id AND t.kind = 'update_posted'),
        (SELECT group_concat(json_extract(t.payload, '$.text'), char(10)) FROM timeline_items t WHERE t.incident_id = i.id AND t.kind = 'note_added'),
        (SELECT group_concat(${sqliteTimelineText}, char(10)) FROM timeline_items t WHERE t.incident_id = i.id AND t.kind NOT IN ('update_posted', 'note_added', 'incident_declared'))
      FROM incidents i WHERE i.id = ${incidentId};`;
}

async function upSqlite(db: Kysely<any>): Promise<void> {
  await sql`create virtual table incident_search using fts5(name, summary, updates, notes, timeline, content='', contentless_delete=1, prefix='2 3', tokenize='unicode61 remove_diacritics 2')`.execute(db);
  await createTriggers(db);
}

// ---- PostgreSQL -----------------------------------------------------------------------------------------------

const pgTimelineText = `concat_ws(' ', ${TIMELINE_FIELDS.map((f) => `CASE WHEN jsonb_typeof(t.payload::jsonb -> '${f}') = 'string' THEN t.payload::jsonb ->> '${f}' END`).join(', ')})`;

async function upPostgres(db: Kysely<any>): Promise<void> {
  await sql`create table incident_search (incident_id text primary key references incidents(id) on delete cascade, document tsvector not null)`.execute(db);
  await sql`create index incident_search_document_idx on incident_search using gin (document)`.execute(db);
  // ASCII punctuation → spaces (the ranges !-/ :-@ [-` {-~), as FTS5's tokenizer separates words.
  await sql`create function firebreak_search_fold(t text) returns text language sql immutable as $$ select regexp_replace(coalesce(t, ''), '[!-/:-@\\[-\`{-~]+', ' ', 'g') $$`.execute(db);
  await sql
    .raw(
      `create function firebreak_search_refresh(p_incident_id text) returns void language plpgsql as $$
      begin
        perform 1 from incident_search where incident_id = p_incident_id for update;
        insert into incident_search (incident_id, document)
          select i.id,
            setweight(to_tsvector('simple', firebreak_search_fold(i.name)), 'A') ||
            setweight(to_tsvector('simple', firebreak_search_fold(i.summary)), 'B') ||
            setweight(to_tsvector('simple', firebreak_search_fold((select string_agg(t.payload::jsonb ->> 'message', ' ') from timeline_items t where t.incident_id = i.id and t.kind = 'update_posted'))), 'C') ||
            setweight(to_tsvector('simple', firebreak_search_fold((select string_agg(t.payload::jsonb ->> 'text', ' ') from timeline_items t where t.incident_id = i.id and t.kind = 'note_added'))), 'C') ||
            setweight(to_tsvector('simple', firebreak_search_fold((select string_agg(${pgTimelineText}, ' ') from timeline_items t where t.incident_id = i.id and t.kind not in ('update_posted', 'note_added', 'incident_declared')))), 'D')
          from incidents i where i.id = p_incident_id
        on conflict (incident_id) do update set document = excluded.document;
      end $$`,
    )
    .execute(db);
  await sql
    .raw(
      `create function firebreak_search_incidents_trg() returns trigger language plpgsql as $$
      begin perform firebreak_search_refresh(new.id); return null; end $$`,
    )
    .execute(db);
  await sql
    .raw(
      `create function firebreak_search_timeline_trg() returns trigger language plpgsql as $$
      begin
        if tg_op = 'DELETE' then perform firebreak_search_refresh(old.incident_id); return null; end if;
        perform firebreak_search_refresh(new.incident_id);
        if tg_op = 'UPDATE' and old.incident_id <> new.incident_id then perform firebreak_search_refresh(old.incident_id); end if;
        return null;
      end $$`,
    )
    .execute(db);
  await createTriggers(db);
}

// ---- both -----------------------------------------------------------------------------------------------------

/** The triggers that keep the index current (the search benchmark drops them while it bulk-loads, then reindexes). */
export async function createTriggers(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`create trigger incident_search_incidents_ins after insert on incidents for each row execute function firebreak_search_incidents_trg()`.execute(db);
    await sql`create trigger incident_search_incidents_upd after update of name, summary on incidents for each row when (old.name is distinct from new.name or old.summary is distinct from new.summary) execute function firebreak_search_incidents_trg()`.execute(db);
    await sql`create trigger incident_search_timeline after insert or update of kind, payload, incident_id or delete on timeline_items for each row execute function firebreak_search_timeline_trg()`.execute(db);
    return;
  }
  await sql.raw(`create trigger incident_search_incidents_ins after insert on incidents begin ${sqliteRefresh('new.id')} end`).execute(db);
  await sql.raw(`create trigger incident_search_incidents_upd after update of name, summary on incidents when old.name is not new.name or old.summary is not new.summary begin ${sqliteRefresh('new.id')} end`).execute(db);
  await sql.raw(`create trigger incident_search_incidents_del after delete on incidents begin DELETE FROM incident_search WHERE rowid = old.number; end`).execute(db);
  await sql.raw(`create trigger incident_search_timeline_ins after insert on timeline_items begin ${sqliteRefresh('new.incident_id')} end`).execute(db);
  await sql.raw(`create trigger incident_search_timeline_upd after update of kind, payload, incident_id on timeline_items begin ${sqliteRefresh('new.incident_id')} ${sqliteRefresh('old.incident_id')} end`).execute(db);
  await sql.raw(`create trigger incident_search_timeline_del after delete on timeline_items begin ${sqliteRefresh('old.incident_id')} end`).execute(db);
}

export async function dropTriggers(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    for (const t of ['incident_search_incidents_ins', 'incident_search_incidents_upd']) await sql.raw(`drop trigger if exists ${t} on incidents`).execute(db);
    await sql`drop trigger if exists incident_search_timeline on timeline_items`.execute(db);
    return;
  }
  for (const t of ['incident_search_incidents_ins', 'incident_search_incidents_upd', 'incident_search_incidents_del', 'incident_search_timeline_ins', 'incident_search_timeline_upd', 'incident_search_timeline_del']) {
    await sql.raw(`drop trigger if exists ${t}`).execute(db);
  }
}

/** Indexes every incident from scratch (existing data at migration; the benchmark after its bulk load). */
export async function reindexAll(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`delete from incident_search`.execute(db);
    await sql
      .raw(
        `insert into incident_search (incident_id, document)
        select i.id,
          setweight(to_tsvector('simple', firebreak_search_fold(i.name)), 'A') ||
          setweight(to_tsvector('simple', firebreak_search_fold(i.summary)), 'B') ||
          setweight(to_tsvector('simple', firebreak_search_fold(agg.updates)), 'C') ||
          setweight(to_tsvector('simple', firebreak_search_fold(agg.notes)), 'C') ||
          setweight(to_tsvector('simple', firebreak_search_fold(agg.timeline)), 'D')
        from incidents i
        left join (
          select t.incident_id,
            string_agg(case when t.kind = 'update_posted' then t.payload::jsonb ->> 'message' end, ' ') as updates,
            string_agg(case when t.kind = 'note_added' then t.payload::jsonb ->> 'text' end, ' ') as notes,
            string_agg(case when t.kind not in ('update_posted', 'note_added', 'incident_declared') then ${pgTimelineText} end, ' ') as timeline
          from timeline_items t group by t.incident_id
        ) agg on agg.incident_id = i.id`,
      )
      .execute(db);
    return;
  }
  await sql`delete from incident_search`.execute(db);
  await sql
    .raw(
      `INSERT INTO incident_search(rowid, name, summary, updates, notes, timeline)
      SELECT i.number, i.name, i.summary, agg.updates, agg.notes, agg.timeline
      FROM incidents i LEFT JOIN (
        SELECT t.incident_id,
          group_concat(CASE WHEN t.kind = 'update_posted' THEN json_extract(t.payload, '$.message') END, char(10)) AS updates,
          group_concat(CASE WHEN t.kind = 'note_added' THEN json_extract(t.payload, '$.text') END, char(10)) AS notes,
          group_concat(CASE WHEN t.kind NOT IN ('update_posted', 'note_added', 'incident_declared') THEN ${sqliteTimelineText} END, char(10)) AS timeline
        FROM timeline_items t GROUP BY t.incident_id
      ) agg ON agg.incident_id = i.id`,
    )
    .execute(db);
}
