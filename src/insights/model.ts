import type { IncidentsTable } from '../platform/db/schema.js';

// The insights' shapes and the one port they need from an integration: the pages PagerDuty sent for Firebreak.

export type IncidentMode = IncidentsTable['mode'];

/** What every chart is filtered by: [from, to) in UTC, the incidents' modes, and their severities (null: all). */
export interface InsightsFilter {
  from: string;
  to: string;
  modes: IncidentMode[];
  severityIds: string[] | null;
}

/**
 * One page: a PagerDuty incident Firebreak opened for one of its incidents (matching the filter's modes and
 * severities). `service` is the PagerDuty service it was opened on, `teams` that service's teams (or the policy's),
 * `target` the escalation policy or person paged; all names, never ids.
 */
export interface PageRecord {
  at: string;
  service: string | null;
  teams: string[];
  target: string;
}

/** Implemented by the PagerDuty wing (read only); without PagerDuty there are no pages. */
export interface InsightsPagesPort {
  pages(filter: InsightsFilter): Promise<PageRecord[]>;
}

export interface IncidentsPerWeek {
  weeks: string[];
  severities: { name: string; rank: number; counts: number[] }[];
}

export interface DurationStats {
  count: number;
  median_seconds: number | null;
  p90_seconds: number | null;
}

export interface ResponseTimes {
  weeks: { week_start: string; acknowledge: DurationStats; resolve: DurationStats }[];
}

export interface GroupCounts {
  groups: { name: string; incidents: number; pages: number }[];
}

export interface PageHours {
  time_zone: string;
  cells: { day: string; day_index: number; hour: number; pages: number }[];
  total: number;
}
