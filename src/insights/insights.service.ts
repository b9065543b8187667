import { sql, type Kysely } from 'kysely';
import type { Database } from '../platform/db/schema.js';
import { ValidationError } from '../platform/errors.js';
import type { GroupCounts, IncidentsPerWeek, InsightsFilter, InsightsPagesPort, PageHours, PageRecord, ResponseTimes } from './model.js';
import { DAYS, hourOfWeek, hourOfWeekFormatter, quantile, weekStart, weeksBetween } from './stats.js';

// The insights' read model: incidents per week by severity, time to acknowledge and to resolve, incidents and
// pages by PagerDuty service and team, the busiest hours for pages. Read only, over the core's incidents,
// timestamps and custom field values (catalog entry names for display) and the PagerDuty wing's pages port.
//
// Which incidents count: those whose mode the filter names (standard only by default), of the filter's
// severities, reported in [from, to): the `reported` timestamp, or the declaration when none is recorded.
// Declined, merged and canceled incidents are not incidents that happened, so they never count.

/** Catalog types whose entries are PagerDuty services and teams (the wing's synced types, by their type name). */
const SERVICE_TYPE = 'PagerDutyService';
const TEAM_TYPE = 'PagerDutyTeam';
const NOT_INCIDENTS = ['declined', 'merged', 'canceled'] as const;

export class InsightsService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly pagesPort: () => InsightsPagesPort | null,
  ) {}

  /** Refuses a filter naming severities that do not exist (a typo would otherwise look like a quiet month). */
  async checkFilter(f: InsightsFilter): Promise<void> {
    if (!f.severityIds) return;
    const known = new Set((await this.db.selectFrom('severities').select('id').where('id', 'in', f.severityIds).execute()).map((r) => r.id));
    const unknown = f.severityIds.filter((id) => !known.has(id));
    if (unknown.length > 0) {
      const all = await this.db.selectFrom('severities').select(['id', 'name']).orderBy('rank', 'desc').execute();
      const message = `${unknown.map((u) => JSON.stringify(u)).join(', ')} ${unknown.length === 1 ? 'is not a severity' : 'are not severities'}; one of: ${all.map((x) => `${x.id} (${x.name})`).join(', ')}`;
      throw new ValidationError(message, [{ path: 'severity_id', message }]);
    }
  }

  /** The incidents the filter covers, with when they were reported (see above). */
  private counted(f: InsightsFilter) {
    const reportedAt = sql<string>`coalesce(r.at, i.created_at)`;
    let q = this.db
      .selectFrom('incidents as i')
      .innerJoin('incident_statuses as st', 'st.id', 'i.status_id')
      .leftJoin('incident_timestamps as r', (j) => j.onRef('r.incident_id', '=', 'i.id').on('r.kind', '=', 'reported'))
      .where('i.mode', 'in', f.modes)
      .where('st.category', 'not in', [...NOT_INCIDENTS])
      .where(reportedAt, '>=', f.from)
      .where(reportedAt, '<', f.to);
    if (f.severityIds) q = q.where('i.severity_id', 'in', f.severityIds);
    return { q, reportedAt };
  }

  async incidentsPerWeek(f: InsightsFilter): Promise<IncidentsPerWeek> {
    const { q, reportedAt } = this.counted(f);
    const rows = await q.select(['i.severity_id', reportedAt.as('reported_at')]).execute();
    let sevQuery = this.db.selectFrom('severities').select(['id', 'name', 'rank']).orderBy('rank', 'desc');
    if (f.severityIds) sevQuery = sevQuery.where('id', 'in', f.severityIds);
    const severities = await sevQuery.execute();
    const weeks = weeksBetween(f.from, f.to);
    const weekIndex = new Map(weeks.map((w, i) => [w, i]));
    const counts = new Map(severities.map((s) => [s.id, weeks.map(() => 0)]));
    for (const r of rows) {
      const i = weekIndex.get(weekStart(r.reported_at));
      const c = counts.get(r.severity_id);
      if (i !== undefined && c) c[i]! += 1;
    }
    return { weeks, severities: severities.map((s) => ({ name: s.name, rank: s.rank, counts: counts.get(s.id)! })) };
  }

  async responseTimes(f: InsightsFilter): Promise<ResponseTimes> {
    const { q, reportedAt } = this.counted(f);
    const rows = await q
      .leftJoin('incident_timestamps as ack', (j) => j.onRef('ack.incident_id', '=', 'i.id').on('ack.kind', '=', 'pagerduty_first_acknowledged'))
      .leftJoin('incident_timestamps as trg', (j) => j.onRef('trg.incident_id', '=', 'i.id').on('trg.kind', '=', 'pagerduty_first_triggered'))
      .leftJoin('incident_timestamps as res', (j) => j.onRef('res.incident_id', '=', 'i.id').on('res.kind', '=', 'resolved'))
      .select([reportedAt.as('reported_at'), 'trg.at as triggered_at', 'ack.at as acknowledged_at', 'res.at as resolved_at'])
      .execute();
    const weeks = weeksBetween(f.from, f.to);
    const byWeek = new Map(weeks.map((w) => [w, { ack: [] as number[], res: [] as number[] }]));
    const seconds = (a: string, b: string | null) => (b === null ? null : (Date.parse(b) - Date.parse(a)) / 1000);
    for (const r of rows) {
      const bucket = byWeek.get(weekStart(r.reported_at));
      if (!bucket) continue;
      // Time to acknowledge starts at the earlier of the report and PagerDuty's first trigger, as on the incident
      // page and in the write-up (durationsOf in src/incidents/timestamps/rules.ts).
      const ackFrom = r.triggered_at && Date.parse(r.triggered_at) < Date.parse(r.reported_at) ? r.triggered_at : r.reported_at;
      const ack = seconds(ackFrom, r.acknowledged_at);
      const res = seconds(r.reported_at, r.resolved_at);
      // A time before the report is a timestamp being corrected; it says nothing about how fast anyone was.
      if (ack !== null && ack >= 0) bucket.ack.push(ack);
      if (res !== null && res >= 0) bucket.res.push(res);
    }
    const stats = (v: number[]) => ({ count: v.length, median_seconds: round(quantile(v, 0.5)), p90_seconds: round(quantile(v, 0.9)) });
    return { weeks: weeks.map((w) => ({ week_start: w, acknowledge: stats(byWeek.get(w)!.ack), resolve: stats(byWeek.get(w)!.res) })) };
  }

  /** Incidents by the PagerDuty services set in their catalog fields, and pages by the service they were opened on. */
  async byService(f: InsightsFilter): Promise<GroupCounts> {
    const incidents = await this.catalogValues(f, SERVICE_TYPE);
    const pages = await this.pages(f);
    return groups(incidents, pages.map((p) => [p.service ?? p.target]));
  }

  /**
   * Incidents by team: a PagerDuty Team field, or the teams of the PagerDuty services set on the incident (once per
   * team whichever way); pages by their service's teams, else their policy's, else by what was paged.
   */
  async byTeam(f: InsightsFilter): Promise<GroupCounts> {
    const direct = await this.catalogValues(f, TEAM_TYPE);
    const viaService = await this.db
      .selectFrom('incident_custom_field_values as v')
      .innerJoin('custom_fields as cf', 'cf.id', 'v.field_id')
      .innerJoin('catalog_types as t', 't.id', 'cf.catalog_type_id')
      .innerJoin('catalog_entry_refs as ref', (j) => j.onRef('ref.from_entry_id', '=', 'v.value_key').on('ref.attribute_id', '=', 'teams'))
      .innerJoin('catalog_entries as team', 'team.id', 'ref.to_entry_id')
      .where('cf.type', '=', 'catalog')
      .where('cf.deleted_at', 'is', null)
      .where('t.type_name', '=', SERVICE_TYPE)
      .where('v.incident_id', 'in', this.counted(f).q.select('i.id'))
      .select(['v.incident_id', 'team.id as entry_id', 'team.name'])
      .distinct()
      .execute();
    const pages = await this.pages(f);
    return groups([...direct, ...viaService], pages.map((p) => (p.teams.length > 0 ? p.teams : [p.target])));
  }

  async pageHours(f: InsightsFilter, timeZone: string): Promise<PageHours> {
    const pages = await this.pages(f);
    const fmt = hourOfWeekFormatter(timeZone);
    const counts = Array.from({ length: 7 * 24 }, () => 0);
    for (const p of pages) {
      const { day, hour } = hourOfWeek(fmt, p.at);
      counts[day * 24 + hour]! += 1;
    }
    return {
      time_zone: timeZone,
      total: pages.length,
      cells: counts.map((n, i) => ({ day: DAYS[Math.floor(i / 24)]!, day_index: Math.floor(i / 24), hour: i % 24, pages: n })),
    };
  }

  private async pages(f: InsightsFilter): Promise<PageRecord[]> {
    const port = this.pagesPort();
    return port ? port.pages(f) : [];
  }

  /** (incident, catalog entry) pairs of the counted incidents' live catalog fields of one catalog type. */
  private catalogValues(f: InsightsFilter, typeName: string) {
    return this.db
      .selectFrom('incident_custom_field_values as v')
      .innerJoin('custom_fields as cf', 'cf.id', 'v.field_id')
      .innerJoin('catalog_types as t', 't.id', 'cf.catalog_type_id')
      .innerJoin('catalog_entries as e', 'e.id', 'v.value_key')
      .where('cf.type', '=', 'catalog')
      .where('cf.deleted_at', 'is', null)
      .where('t.type_name', '=', typeName)
      .where('v.incident_id', 'in', this.counted(f).q.select('i.id'))
      .select(['v.incident_id', 'e.id as entry_id', 'e.name'])
      .distinct()
      .execute();
  }
}

const round = (n: number | null) => (n === null ? null : Math.round(n * 1000) / 1000);

/** Counts incidents once per (incident, group) and pages once per group they fall in, by name, largest first. */
function groups(incidentRows: { incident_id: string; name: string }[], pageGroups: string[][]): GroupCounts {
  const byName = new Map<string, { incidents: Set<string>; pages: number }>();
  const at = (name: string) => {
    let g = byName.get(name);
    if (!g) byName.set(name, (g = { incidents: new Set(), pages: 0 }));
    return g;
  };
  for (const r of incidentRows) at(r.name).incidents.add(r.incident_id);
  for (const names of pageGroups) for (const n of new Set(names)) at(n).pages += 1;
  return {
    groups: [...byName.entries()]
      .map(([name, g]) => ({ name, incidents: g.incidents.size, pages: g.pages }))
      .sort((a, b) => b.incidents + b.pages - (a.incidents + a.pages) || a.name.localeCompare(b.name)),
  };
}
