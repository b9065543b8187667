import { PostgresAdapter, sql, type Kysely } from 'kysely';

// Search on PostgreSQL answers the list's filters from the search table itself (issue 16's benchmark: p99 under
// 50 ms at 100,000 incidents). `incident_search` gets the incident's status, severity and mode beside its document,
// so finding the newest matches that pass the filters reads only the matching rows of `incident_search` (one heap
// page each) instead of also looking each match up in `incidents` (about four pages each: 3,000 of the 3,800 pages a
// search for a rare word read). Kept current in the writing transaction, like the document:
// - a BEFORE trigger on `incident_search` copies them from the incident whenever a row is written or its document
//   re-indexed, so every writer of the table (migration 0024's refresh function and one-pass reindexing) fills them;
// - an AFTER trigger on `incidents` copies a change of status, severity or mode (no re-index: the document is the
//   same).
// And the GIN index stops buffering new entries (`fastupdate = off`): with the buffer on, every search read the
// whole pending list (up to gin_pending_list_limit, 4 MB: 350 pages after the benchmark's load) until a vacuum
// merged it; off, each re-index writes its entries into the index at once (the write cost is in bench:search).
// SQLite is unchanged: FTS5 answers the window there (0024), and its filters stay on `incidents`.

export async function up(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  // The GIN index is dropped while every row is rewritten (maintaining it row by row took minutes at 100,000
  // incidents) and built again after.
  await sql`drop index incident_search_document_idx`.execute(db);
  await sql`alter table incident_search add column status_id text, add column severity_id text, add column mode text`.execute(db);
  await sql`update incident_search s set status_id = i.status_id, severity_id = i.severity_id, mode = i.mode from incidents i where i.id = s.incident_id`.execute(db);
  await sql`alter table incident_search alter column status_id set not null, alter column severity_id set not null, alter column mode set not null`.execute(db);
  await sql
    .raw(
      `create function firebreak_search_filters_fill() returns trigger language plpgsql as $$
      begin
        select i.status_id, i.severity_id, i.mode into new.status_id, new.severity_id, new.mode from incidents i where i.id = new.incident_id;
        return new;
      end $$`,
    )
    .execute(db);
  await sql
    .raw(
      `create function firebreak_search_filters_trg() returns trigger language plpgsql as $$
      begin
        update incident_search set status_id = new.status_id, severity_id = new.severity_id, mode = new.mode where incident_id = new.id;
        return null;
      end $$`,
    )
    .execute(db);
  await sql`create trigger incident_search_filters_fill before insert or update of document on incident_search for each row execute function firebreak_search_filters_fill()`.execute(db);
  await sql`create trigger incident_search_incidents_filters after update of status_id, severity_id, mode on incidents for each row when (old.status_id is distinct from new.status_id or old.severity_id is distinct from new.severity_id or old.mode is distinct from new.mode) execute function firebreak_search_filters_trg()`.execute(db);
  await sql`create index incident_search_document_idx on incident_search using gin (document) with (fastupdate = off)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  await sql`alter index incident_search_document_idx reset (fastupdate)`.execute(db);
  await sql`drop trigger if exists incident_search_incidents_filters on incidents`.execute(db);
  await sql`drop trigger if exists incident_search_filters_fill on incident_search`.execute(db);
  await sql`drop function if exists firebreak_search_filters_trg()`.execute(db);
  await sql`drop function if exists firebreak_search_filters_fill()`.execute(db);
  await sql`alter table incident_search drop column status_id, drop column severity_id, drop column mode`.execute(db);
}
