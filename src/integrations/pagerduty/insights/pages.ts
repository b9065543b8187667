import { sql, type Kysely } from 'kysely';
import type { Database } from '../../../platform/db/schema.js';
import type { InsightsFilter, InsightsPagesPort, PageRecord } from '../../../insights/model.js';
import '../escalations/tables.js';
import '../../../catalog/tables.js';
import { TYPE } from '../directory.js';

// The pages PagerDuty sent for Firebreak, as the insights read them (read only; app.ts hands this port to the
// insights module, which never imports PagerDuty code). A page is an escalation target that got a PagerDuty
// incident, dated when PagerDuty triggered it (or when it was asked for), of an incident of the filter's modes and
// severities. Names come from the synced catalog where it knows the service or policy (today's names, so pages
// and incidents group under one name), else from what the escalation recorded.

const CHUNK = 500;

export function createInsightsPagesPort(db: Kysely<Database>): InsightsPagesPort {
  /** Live or archived entries of a synced type by PagerDuty id, with the names of their teams. */
  async function entriesWithTeams(typeName: string, externalIds: string[]): Promise<Map<string, { name: string; teams: string[] }>> {
    const out = new Map<string, { name: string; teams: string[] }>();
    for (let i = 0; i < externalIds.length; i += CHUNK) {
      const chunk = externalIds.slice(i, i + CHUNK);
      const entries = await db
        .selectFrom('catalog_entries as e')
        .innerJoin('catalog_types as t', 't.id', 'e.type_id')
        .where('t.type_name', '=', typeName)
        .where('e.external_id', 'in', chunk)
        .select(['e.id', 'e.external_id', 'e.name'])
        .execute();
      if (entries.length === 0) continue;
      const teams = await db
        .selectFrom('catalog_entry_refs as r')
        .innerJoin('catalog_entries as team', 'team.id', 'r.to_entry_id')
        .where('r.from_entry_id', 'in', entries.map((e) => e.id))
        .where('r.attribute_id', '=', 'teams')
        .select(['r.from_entry_id', 'team.name'])
        .orderBy('team.name')
        .execute();
      for (const e of entries) out.set(e.external_id, { name: e.name, teams: teams.filter((t) => t.from_entry_id === e.id).map((t) => t.name) });
    }
    return out;
  }

  return {
    async pages(f: InsightsFilter): Promise<PageRecord[]> {
      const at = sql<string>`coalesce(t.triggered_at, t.created_at)`;
      let q = db
        .selectFrom('pagerduty_escalation_targets as t')
        .innerJoin('pagerduty_escalations as e', 'e.id', 't.escalation_id')
        .innerJoin('incidents as i', 'i.id', 'e.incident_id')
        .where('t.pd_incident_id', 'is not', null)
        .where('i.mode', 'in', f.modes)
        .where(at, '>=', f.from)
        .where(at, '<', f.to);
      if (f.severityIds) q = q.where('i.severity_id', 'in', f.severityIds);
      const rows = await q.select([at.as('at'), 't.kind', 't.target_id', 't.target_name', 't.service_id', 't.service_name']).execute();
      const services = await entriesWithTeams(TYPE.services, [...new Set(rows.flatMap((r) => (r.service_id ? [r.service_id] : [])))]);
      const policies = await entriesWithTeams(TYPE.policies, [...new Set(rows.flatMap((r) => (r.kind === 'escalation_policy' ? [r.target_id] : [])))]);
      return rows.map((r) => {
        const service = r.service_id ? services.get(r.service_id) : undefined;
        const policy = r.kind === 'escalation_policy' ? policies.get(r.target_id) : undefined;
        return {
          at: r.at,
          service: service?.name ?? r.service_name,
          teams: service && service.teams.length > 0 ? service.teams : (policy?.teams ?? []),
          target: policy?.name ?? r.target_name,
        };
      });
    },
  };
}
