import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import { ValidationError } from '../platform/errors.js';
import type { App } from '../platform/http/server.js';
import { requireAccess } from '../users/auth.js';
import type { InsightsService } from './insights.service.js';
import type { IncidentMode, InsightsFilter } from './model.js';
import { isTimeZone } from './stats.js';

// GET /api/v1/insights/<chart>: each chart's series with names (never ids), and the same data as CSV with
// ?format=csv (one row per point, a header naming the columns). Read access. The range is [from, to) in UTC,
// by default the last 12 weeks; a date alone means midnight UTC, and for `to` the end of that day.

const MODES = ['standard', 'test', 'retrospective'] as const;
const DAY_MS = 86_400_000;
const DEFAULT_RANGE_MS = 12 * 7 * DAY_MS;
/** Two years (a leap year included). */
export const MAX_RANGE_DAYS = 731;

/** A comma-separated (or repeated) query value as a list of trimmed, non-empty strings. */
const commaList = (max: number) =>
  z
    .union([z.string().max(2000), z.array(z.string().max(2000)).max(max)])
    .optional()
    .transform((v) => (v === undefined ? undefined : (Array.isArray(v) ? v : [v]).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean)));

const instant = z.string().trim().max(40).optional();
const filterQuery = {
  from: instant.describe('start of the range (ISO date or date-time, UTC); default 12 weeks before `to`'),
  to: instant.describe('end of the range, exclusive (a date alone: the end of that day); default now'),
  mode: commaList(3).pipe(z.array(z.enum(MODES)).max(3).optional()).describe('incident modes to count, comma-separated; default standard (test incidents left out)'),
  severity_id: commaList(20).pipe(z.array(z.string().min(1).max(64)).max(20).optional()).describe('only incidents of these severities, comma-separated ids; default all'),
  format: z.enum(['json', 'csv']).default('json').describe('csv: the same data as a CSV download'),
};
const baseQuery = z.strictObject(filterQuery);
const hoursQuery = z.strictObject({
  ...filterQuery,
  time_zone: z.string().trim().min(1).max(64).default('UTC').refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Berlin').describe('IANA time zone the hours are counted in; default UTC'),
});

const filterJson = z.object({ from: z.string(), to: z.string(), modes: z.array(z.enum(MODES)), severity_ids: z.array(z.string()).nullable() });
const stats = z.object({ count: z.number(), median_seconds: z.number().nullable(), p90_seconds: z.number().nullable() });
const groupsJson = z.object({ filter: filterJson, groups: z.array(z.object({ name: z.string(), incidents: z.number(), pages: z.number() })) });

type BaseQuery = z.output<typeof baseQuery>;

/** The 200 answer: the JSON, or with ?format=csv the same data as CSV (documented as both). */
const okJsonOrCsv = <T extends z.ZodType>(json: T, columns: string) => ({
  description: `The chart's data; with format=csv a CSV file with the header ${columns}`,
  content: { 'application/json': { schema: json }, 'text/csv': { schema: z.string() } },
});

/** The filter a query asks for, or a 400 naming what is wrong (both ends when they are out of order). */
export function filterOf(q: Pick<BaseQuery, 'from' | 'to' | 'mode' | 'severity_id'>, now = new Date()): InsightsFilter {
  const parse = (name: 'from' | 'to', v: string | undefined): number | null => {
    if (v === undefined || v === '') return null;
    const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(v);
    const t = Date.parse(dateOnly ? `${v}T00:00:00Z` : v);
    if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(t)) throw new ValidationError(`${name} must be an ISO date (2026-03-01) or date-time (2026-03-01T09:00:00Z)`, [{ path: name, message: `"${v}" is not a date` }]);
    return dateOnly && name === 'to' ? t + DAY_MS : t;
  };
  const toMs = parse('to', q.to) ?? now.getTime();
  const fromMs = parse('from', q.from) ?? toMs - DEFAULT_RANGE_MS;
  const from = new Date(fromMs).toISOString();
  const to = new Date(toMs).toISOString();
  if (fromMs >= toMs) {
    const message = `from (${from}) must be before to (${to})`;
    throw new ValidationError(message, [
      { path: 'from', message },
      { path: 'to', message },
    ]);
  }
  if (toMs - fromMs > MAX_RANGE_DAYS * DAY_MS) {
    const message = `the range from ${from} to ${to} is longer than ${MAX_RANGE_DAYS} days (2 years); choose a shorter one`;
    throw new ValidationError(message, [
      { path: 'from', message },
      { path: 'to', message },
    ]);
  }
  return { from, to, modes: q.mode && q.mode.length > 0 ? [...new Set(q.mode)] as IncidentMode[] : ['standard'], severityIds: q.severity_id && q.severity_id.length > 0 ? [...new Set(q.severity_id)] : null };
}

const filterToJson = (f: InsightsFilter) => ({ from: f.from, to: f.to, modes: f.modes, severity_ids: f.severityIds });

export function registerInsightsRoutes(app: App, deps: { insights: InsightsService }): void {
  const svc = deps.insights;
  const read = requireAccess('read');

  /** The rows as a CSV attachment (the same data as the JSON, one row per point, a header naming the columns). */
  const csv = <R extends { header(k: string, v: string): unknown; send(p: unknown): R }>(reply: R, chart: string, f: InsightsFilter, columns: string[], rows: (string | number | null)[][]): R => {
    reply.header('content-type', 'text/csv; charset=utf-8');
    reply.header('content-disposition', `attachment; filename="firebreak-${chart}-${f.from.slice(0, 10)}-${f.to.slice(0, 10)}.csv"`);
    return reply.send(stringify(rows, { header: true, columns }));
  };

  app.get(
    '/api/v1/insights/incidents_per_week',
    {
      onRequest: read,
      schema: {
        tags: ['insights'],
        summary: 'Incidents per week (weeks start Monday, UTC) by severity, most severe first; ?format=csv for week_start,severity,incidents',
        querystring: baseQuery,
        response: { 200: okJsonOrCsv(z.object({ filter: filterJson, weeks: z.array(z.string()), severities: z.array(z.object({ name: z.string(), rank: z.number(), counts: z.array(z.number()) })) }), 'week_start,severity,incidents') },
      },
    },
    async (req, reply) => {
      const f = filterOf(req.query);
      await svc.checkFilter(f);
      const r = await svc.incidentsPerWeek(f);
      if (req.query.format === 'csv') return csv(reply, 'incidents-per-week', f, ['week_start', 'severity', 'incidents'], r.weeks.flatMap((w, i) => r.severities.map((s) => [w, s.name, s.counts[i]!])));
      return { filter: filterToJson(f), ...r };
    },
  );

  app.get(
    '/api/v1/insights/response_times',
    {
      onRequest: read,
      schema: {
        tags: ['insights'],
        summary: 'Time to acknowledge (reported → first PagerDuty acknowledgement) and to resolve (reported → resolved) per week of the report: count, median and p90 in seconds',
        querystring: baseQuery,
        response: { 200: okJsonOrCsv(z.object({ filter: filterJson, weeks: z.array(z.object({ week_start: z.string(), acknowledge: stats, resolve: stats })) }), 'week_start,acknowledge_count,acknowledge_median_seconds,acknowledge_p90_seconds,resolve_count,resolve_median_seconds,resolve_p90_seconds') },
      },
    },
    async (req, reply) => {
      const f = filterOf(req.query);
      await svc.checkFilter(f);
      const r = await svc.responseTimes(f);
      if (req.query.format === 'csv') {
        return csv(
          reply, 'response-times', f,
          ['week_start', 'acknowledge_count', 'acknowledge_median_seconds', 'acknowledge_p90_seconds', 'resolve_count', 'resolve_median_seconds', 'resolve_p90_seconds'],
          r.weeks.map((w) => [w.week_start, w.acknowledge.count, w.acknowledge.median_seconds, w.acknowledge.p90_seconds, w.resolve.count, w.resolve.median_seconds, w.resolve.p90_seconds]),
        );
      }
      return { filter: filterToJson(f), ...r };
    },
  );

  for (const [path, chart, summary, run] of [
    ['by_service', 'by-service', 'Incidents by the PagerDuty services in their catalog fields, and pages by the PagerDuty service they were opened on (or what was paged); ?format=csv for name,incidents,pages', (f: InsightsFilter) => svc.byService(f)],
    ['by_team', 'by-team', "Incidents by PagerDuty team (a team field, or the teams of the services set), and pages by their service's or policy's teams (or what was paged); ?format=csv for name,incidents,pages", (f: InsightsFilter) => svc.byTeam(f)],
  ] as const) {
    app.get(`/api/v1/insights/${path}`, { onRequest: read, schema: { tags: ['insights'], summary, querystring: baseQuery, response: { 200: okJsonOrCsv(groupsJson, 'name,incidents,pages') } } }, async (req, reply) => {
      const f = filterOf(req.query);
      await svc.checkFilter(f);
      const r = await run(f);
      if (req.query.format === 'csv') return csv(reply, chart, f, ['name', 'incidents', 'pages'], r.groups.map((g) => [g.name, g.incidents, g.pages]));
      return { filter: filterToJson(f), ...r };
    });
  }

  app.get(
    '/api/v1/insights/page_hours',
    {
      onRequest: read,
      schema: {
        tags: ['insights'],
        summary: 'PagerDuty pages Firebreak sent, by day of week and hour in a time zone (168 cells, Monday first); ?format=csv for day,hour,pages',
        querystring: hoursQuery,
        response: { 200: okJsonOrCsv(z.object({ filter: filterJson, time_zone: z.string(), total: z.number(), cells: z.array(z.object({ day: z.string(), day_index: z.number(), hour: z.number(), pages: z.number() })) }), 'day,hour,pages') },
      },
    },
    async (req, reply) => {
      const f = filterOf(req.query);
      await svc.checkFilter(f);
      const r = await svc.pageHours(f, req.query.time_zone);
      if (req.query.format === 'csv') return csv(reply, 'page-hours', f, ['day', 'hour', 'pages'], r.cells.map((c) => [c.day, c.hour, c.pages]));
      return { filter: filterToJson(f), ...r };
    },
  );
}
