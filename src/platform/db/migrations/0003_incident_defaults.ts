import { PostgresAdapter, sql, type Kysely } from 'kysely';

// The defaults a new install starts with: four severities and the standard statuses. Severities and the
// live statuses' names can be changed afterwards; the category of each status is what the rules use.
const now = () => new Date().toISOString();

export const defaultStatuses = [
  { id: 'triage', name: 'Triage', category: 'triage', rank: 0, description: 'Not yet confirmed as an incident: accept, decline or merge it.' },
  { id: 'investigating', name: 'Investigating', category: 'live', rank: 1, description: 'Working out what is happening.' },
  { id: 'fixing', name: 'Fixing', category: 'live', rank: 2, description: 'The cause is known and a fix is under way.' },
  { id: 'monitoring', name: 'Monitoring', category: 'live', rank: 3, description: 'A fix is in place; watching that it holds.' },
  { id: 'closed', name: 'Closed', category: 'closed', rank: 10, description: 'The incident is over.' },
  { id: 'declined', name: 'Declined', category: 'declined', rank: 11, description: 'Triage decided this was not an incident.' },
  { id: 'merged', name: 'Merged', category: 'merged', rank: 12, description: 'Folded into another incident.' },
  { id: 'canceled', name: 'Canceled', category: 'canceled', rank: 13, description: 'Declared by mistake.' },
] as const;

export const defaultSeverities = [
  { id: 'sev-critical', name: 'Critical', rank: 4, description: 'Complete outage or data loss for many customers.' },
  { id: 'sev-major', name: 'Major', rank: 3, description: 'A core feature is broken or badly degraded.' },
  { id: 'sev-minor', name: 'Minor', rank: 2, description: 'Partial degradation with a workaround.' },
  { id: 'sev-low', name: 'Low', rank: 1, description: 'Little or no customer impact.' },
] as const;

export async function up(db: Kysely<any>): Promise<void> {
  await db.insertInto('incident_statuses').values(defaultStatuses.map((s) => ({ ...s }))).execute();
  await db.insertInto('severities').values(defaultSeverities.map((s) => ({ ...s, created_at: now() }))).execute();
  await db.insertInto('sequences').values({ name: 'incident', value: 0 }).execute();
  // PostgreSQL hands out incident numbers from a sequence: no row lock shared by every concurrent declaration.
  // (SQLite serialises writers anyway and uses the `sequences` row.)
  if (db.getExecutor().adapter instanceof PostgresAdapter) await sql`create sequence incident_number_seq start 1`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) await sql`drop sequence if exists incident_number_seq`.execute(db);
  await db.deleteFrom('sequences').where('name', '=', 'incident').execute();
  await db.deleteFrom('severities').execute();
  await db.deleteFrom('incident_statuses').execute();
}
