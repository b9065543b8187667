import { PostgresAdapter, sql, type Kysely } from 'kysely';
import { createTriggers as createTriggers0024, dropTriggers as dropTriggers0024, sqliteRefresh } from './0024_search.js';

// Adding an incident's declaration to its timeline no longer re-indexes the incident for search (issue 18). The
// declaration item adds nothing to the search document (0024 leaves it out: it repeats the name and summary, which
// the incident's own insert indexed a moment before, in the same transaction), yet every declaration paid for a
// second full re-index: on PostgreSQL the three timeline aggregates, the tsvector, an upsert of the document and its
// GIN entries written at once (`fastupdate = off`, 0025); on SQLite an FTS5 delete and insert. Every other item, and
// any change or removal of an item (a declaration included), still re-indexes as before.

const DECLARED = `'incident_declared'`;

export async function up(db: Kysely<any>): Promise<void> {
  await skipDeclaration(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`drop trigger if exists incident_search_timeline_ins on timeline_items`.execute(db);
    await sql`drop trigger if exists incident_search_timeline on timeline_items`.execute(db);
    await sql`create trigger incident_search_timeline after insert or update of kind, payload, incident_id or delete on timeline_items for each row execute function firebreak_search_timeline_trg()`.execute(db);
    return;
  }
  await sql`drop trigger if exists incident_search_timeline_ins`.execute(db);
  await sql.raw(`create trigger incident_search_timeline_ins after insert on timeline_items begin ${sqliteRefresh('new.incident_id')} end`).execute(db);
}

async function skipDeclaration(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    // One trigger for inserts, with the condition; changes and removals keep theirs (a WHEN on a trigger that also
    // fires on DELETE cannot name NEW).
    await sql`drop trigger incident_search_timeline on timeline_items`.execute(db);
    await sql.raw(`create trigger incident_search_timeline_ins after insert on timeline_items for each row when (new.kind <> ${DECLARED}) execute function firebreak_search_timeline_trg()`).execute(db);
    await sql`create trigger incident_search_timeline after update of kind, payload, incident_id or delete on timeline_items for each row execute function firebreak_search_timeline_trg()`.execute(db);
    return;
  }
  await sql`drop trigger incident_search_timeline_ins`.execute(db);
  await sql.raw(`create trigger incident_search_timeline_ins after insert on timeline_items when new.kind <> ${DECLARED} begin ${sqliteRefresh('new.incident_id')} end`).execute(db);
}

/** The search triggers as they are now (0024's, with this change): the search benchmark drops them while it bulk-loads. */
export async function createTriggers(db: Kysely<any>): Promise<void> {
  await createTriggers0024(db);
  await skipDeclaration(db);
}

export async function dropTriggers(db: Kysely<any>): Promise<void> {
  await dropTriggers0024(db);
  if (db.getExecutor().adapter instanceof PostgresAdapter) await sql`drop trigger if exists incident_search_timeline_ins on timeline_items`.execute(db);
}
