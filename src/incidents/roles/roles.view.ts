import type { Executor } from '../../platform/db/index.js';

// The roles an incident shows: every live role in rank order (held by someone or nobody), then any deleted role
// still held on that incident (its past holder keeps the name it had). Read for a whole page of incidents in
// two queries, beside the rest of incident-view.ts.

export interface IncidentRoleView {
  role: { id: string; name: string; description: string };
  user: { id: string; name: string } | null;
}

/** Incident id → its roles, for every id given (an incident without assignments still lists the live roles). */
export async function rolesForIncidents(db: Executor, incidentIds: string[]): Promise<Map<string, IncidentRoleView[]>> {
  if (incidentIds.length === 0) return new Map();
  const [live, held] = await Promise.all([liveRoleRows(db).execute(), heldRoleRows(db).where('a.incident_id', 'in', incidentIds).execute()]);
  return rolesFromRows(incidentIds, live, held);
}

/** The rows rolesFromRows needs, as queries (a page of incidents, or one incident inside another query). */
export function liveRoleRows(db: Executor) {
  return db.selectFrom('incident_roles').select(['id', 'name', 'description']).where('deleted_at', 'is', null).orderBy('rank').orderBy('id');
}

export function heldRoleRows(db: Executor) {
  return db
    .selectFrom('incident_role_assignments as a')
    .innerJoin('incident_roles as r', 'r.id', 'a.role_id')
    .innerJoin('users as u', 'u.id', 'a.user_id')
    .select(['a.incident_id', 'r.id as role_id', 'r.name as role_name', 'r.description as role_description', 'r.deleted_at', 'r.rank', 'u.id as user_id', 'u.name as user_name'])
    .orderBy('r.rank')
    .orderBy('r.id');
}

export function rolesFromRows(
  incidentIds: string[],
  live: { id: string; name: string; description: string }[],
  held: { incident_id: string; role_id: string; role_name: string; role_description: string; deleted_at: string | null; user_id: string; user_name: string }[],
): Map<string, IncidentRoleView[]> {
  const out = new Map<string, IncidentRoleView[]>();
  for (const id of incidentIds) {
    const mine = held.filter((h) => h.incident_id === id);
    const byRole = new Map(mine.map((h) => [h.role_id, { id: h.user_id, name: h.user_name }]));
    const roles: IncidentRoleView[] = live.map((r) => ({ role: { id: r.id, name: r.name, description: r.description }, user: byRole.get(r.id) ?? null }));
    for (const h of mine) {
      if (h.deleted_at) roles.push({ role: { id: h.role_id, name: h.role_name, description: h.role_description }, user: { id: h.user_id, name: h.user_name } });
    }
    out.set(id, roles);
  }
  return out;
}
