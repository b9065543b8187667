// Insights: incidents per week by severity, time to acknowledge and to resolve (median and p90), incidents and
// pages by PagerDuty service and team, and the busiest hours for pages. Filters (range, modes, severity, time
// zone) live in the URL; every chart has its CSV; the page reloads quietly when incidents or pages change.
import { useId, useMemo } from 'react';
import { call } from '../api.js';
import type { Ok } from '../api/operations.js';
import { Empty, ErrorMessage, Loading } from '../components/ui.js';
import { EChart, axisStyle, baseOption, useThemeColors, type ThemeColors } from '../components/insights/EChart.js';
import { useLoad, useTitle } from '../hooks.js';
import { useLive } from '../live.js';
import { navigate, useLocation } from '../router.js';

type PerWeek = Ok<'/api/v1/insights/incidents_per_week', 'get'>;
type Times = Ok<'/api/v1/insights/response_times', 'get'>;
type Groups = Ok<'/api/v1/insights/by_service', 'get'>;
type Hours = Ok<'/api/v1/insights/page_hours', 'get'>;

const MODE_OPTIONS = [
  { value: 'standard', label: 'Standard incidents' },
  { value: 'standard,retrospective', label: 'Standard and retrospective' },
  { value: 'standard,retrospective,test', label: 'All, test incidents too' },
  { value: 'test', label: 'Test incidents only' },
];
const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
/** Most severe first: red, orange, amber, then cooler colours. */
const SEVERITY_COLORS = ['#dc2626', '#ea580c', '#f59e0b', '#65a30d', '#0891b2', '#6366f1', '#64748b'];

function timeZones(): string[] {
  const all = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return ['UTC', ...all.filter((z) => z !== 'UTC')];
}

/** 90 s → "1 min 30 s", 7200 → "2 h". */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return 'no data';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = seconds / 60;
  if (minutes < 60) return `${Math.round(minutes * 10) / 10} min`;
  const hours = minutes / 60;
  return hours < 48 ? `${Math.round(hours * 10) / 10} h` : `${Math.round((hours / 24) * 10) / 10} days`;
}

function csvHref(path: string, query: Record<string, string>): string {
  const p = new URLSearchParams({ ...Object.fromEntries(Object.entries(query).filter(([, v]) => v)), format: 'csv' });
  return `${path}?${p.toString()}`;
}

export function InsightsPage() {
  useTitle('Insights');
  const location = useLocation();
  const ids = { from: useId(), to: useId(), mode: useId(), severity: useId(), tz: useId() };
  const from = location.search.get('from') ?? '';
  const to = location.search.get('to') ?? '';
  const mode = location.search.get('mode') ?? 'standard';
  const severityId = location.search.get('severity_id') ?? '';
  const tz = location.search.get('time_zone') ?? 'UTC';
  const query = { from, to, mode, severity_id: severityId };
  const key = JSON.stringify(query);

  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams(location.search);
    if (value) next.set(name, value);
    else next.delete(name);
    const qs = next.toString();
    navigate(`/insights${qs ? `?${qs}` : ''}`, { replace: true });
  };

  const severities = useLoad(() => call('get', '/api/v1/severities').then((r) => r.severities), []);
  const perWeek = useLoad(() => call('get', '/api/v1/insights/incidents_per_week', { query }), [key]);
  const times = useLoad(() => call('get', '/api/v1/insights/response_times', { query }), [key]);
  const byService = useLoad(() => call('get', '/api/v1/insights/by_service', { query }), [key]);
  const byTeam = useLoad(() => call('get', '/api/v1/insights/by_team', { query }), [key]);
  const hours = useLoad(() => call('get', '/api/v1/insights/page_hours', { query: { ...query, time_zone: tz } }), [key, tz]);
  useLive(['incidents', 'incident', 'escalations'], null, () => {
    for (const l of [perWeek, times, byService, byTeam, hours]) l.refresh();
  });

  const theme = useThemeColors();
  const zones = useMemo(timeZones, []);
  const shown = perWeek.data?.filter;

  return (
    <>
      <div className="page-head">
        <h1>Insights</h1>
      </div>
      <p className="lead-text">
        How often incidents happen, how fast they are acknowledged and resolved, where they and PagerDuty pages come from, and when pages arrive.
        {shown ? (
          <>
            {' '}
            Showing {shown.from.slice(0, 10)} to {new Date(Date.parse(shown.to) - 1).toISOString().slice(0, 10)} (UTC).
          </>
        ) : null}
      </p>
      <form className="filters" aria-label="Filter insights" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor={ids.from}>From</label>
          <input id={ids.from} type="date" value={from || (shown ? shown.from.slice(0, 10) : '')} onChange={(e) => setFilter('from', e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={ids.to}>To</label>
          <input id={ids.to} type="date" value={to || (shown ? new Date(Date.parse(shown.to) - 1).toISOString().slice(0, 10) : '')} onChange={(e) => setFilter('to', e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={ids.mode}>Incidents</label>
          <select id={ids.mode} value={mode} onChange={(e) => setFilter('mode', e.target.value === 'standard' ? '' : e.target.value)}>
            {MODE_OPTIONS.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.severity}>Severity</label>
          <select id={ids.severity} value={severityId} onChange={(e) => setFilter('severity_id', e.target.value)}>
            <option value="">Any severity</option>
            {[...(severities.data ?? [])]
              .sort((a, b) => b.rank - a.rank)
              .map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name}
                </option>
              ))}
          </select>
        </div>
      </form>
      {perWeek.error ? <ErrorMessage error={perWeek.error} title="The insights could not be loaded" /> : null}

      <ChartCard title="Incidents per week" csv={csvHref('/api/v1/insights/incidents_per_week', query)} loaded={perWeek}>
        {(d) =>
          d.severities.every((s) => s.counts.every((n) => n === 0)) ? (
            <Empty title="No incidents in this range">Incidents per week will appear here once incidents are declared, stacked by severity.</Empty>
          ) : (
            <EChart label="Incidents per week by severity, stacked bars" option={perWeekOption(d, theme)} />
          )
        }
      </ChartCard>

      <ChartCard title="Time to acknowledge and to resolve" csv={csvHref('/api/v1/insights/response_times', query)} loaded={times}>
        {(d) =>
          d.weeks.every((w) => w.acknowledge.count === 0 && w.resolve.count === 0) ? (
            <Empty title="No acknowledged or resolved incidents in this range">
              The median and 90th percentile of the time from report to the first PagerDuty acknowledgement, and to resolution, will appear here week by week once incidents are acknowledged or resolved.
            </Empty>
          ) : (
            <EChart label="Time to acknowledge and to resolve per week, median and 90th percentile" option={timesOption(d, theme)} />
          )
        }
      </ChartCard>

      <ChartCard title="By PagerDuty service" csv={csvHref('/api/v1/insights/by_service', query)} loaded={byService}>
        {(d) =>
          d.groups.length === 0 ? (
            <Empty title="No incidents or pages by service yet">
              Incidents appear here by the PagerDuty services set in their custom fields (a field whose catalog type is PagerDuty Service), and pages by the service Firebreak paged.
            </Empty>
          ) : (
            <EChart label="Incidents and pages by PagerDuty service" option={groupsOption(d, theme)} height={groupsHeight(d)} />
          )
        }
      </ChartCard>

      <ChartCard title="By PagerDuty team" csv={csvHref('/api/v1/insights/by_team', query)} loaded={byTeam}>
        {(d) =>
          d.groups.length === 0 ? (
            <Empty title="No incidents or pages by team yet">
              Incidents appear here by the PagerDuty teams of their services or team fields, and pages by the team of the service or policy Firebreak paged.
            </Empty>
          ) : (
            <EChart label="Incidents and pages by PagerDuty team" option={groupsOption(d, theme)} height={groupsHeight(d)} />
          )
        }
      </ChartCard>

      <ChartCard
        title="Busiest hours for pages"
        csv={csvHref('/api/v1/insights/page_hours', { ...query, time_zone: tz })}
        loaded={hours}
        extra={
          <div className="field insights-tz">
            <label htmlFor={ids.tz}>Time zone</label>
            <select id={ids.tz} value={tz} onChange={(e) => setFilter('time_zone', e.target.value === 'UTC' ? '' : e.target.value)}>
              {zones.map((z) => (
                <option key={z} value={z}>
                  {z}
                </option>
              ))}
            </select>
          </div>
        }
      >
        {(d) =>
          d.total === 0 ? (
            <Empty title="No pages in this range">The PagerDuty pages Firebreak sends will appear here by day of the week and hour, so you can see when on-call is busiest.</Empty>
          ) : (
            <EChart label={`PagerDuty pages by day of week and hour (${d.time_zone})`} option={hoursOption(d, theme)} height={300} />
          )
        }
      </ChartCard>
    </>
  );
}

function ChartCard<T>({ title, csv, loaded, extra, children }: { title: string; csv: string; loaded: { data: T | undefined; loading: boolean; error: unknown }; extra?: React.ReactNode; children: (d: T) => React.ReactNode }) {
  return (
    <section className="card insights-card" aria-label={title}>
      <div className="card-head">
        <h2>{title}</h2>
        <div className="insights-actions">
          {extra}
          <a className="button" href={csv} download>
            Download CSV
          </a>
        </div>
      </div>
      {loaded.data !== undefined ? children(loaded.data) : loaded.error ? <ErrorMessage error={loaded.error} /> : <Loading />}
    </section>
  );
}

function perWeekOption(d: PerWeek, t: ThemeColors) {
  const axis = axisStyle(t);
  return {
    ...baseOption(t),
    tooltip: { ...(baseOption(t).tooltip as object), trigger: 'axis', axisPointer: { type: 'shadow' } },
    grid: { left: 40, right: 16, top: 40, bottom: 30 },
    xAxis: { type: 'category', data: d.weeks.map((w) => `w/c ${w}`), ...axis, splitLine: { show: false } },
    yAxis: { type: 'value', minInterval: 1, ...axis },
    series: d.severities.map((s, i) => ({ name: s.name, type: 'bar', stack: 'incidents', emphasis: { focus: 'series' }, itemStyle: { color: SEVERITY_COLORS[i % SEVERITY_COLORS.length] }, data: s.counts })),
  };
}

function timesOption(d: Times, t: ThemeColors) {
  const axis = axisStyle(t);
  const minutes = (s: number | null) => (s === null ? null : Math.round((s / 60) * 100) / 100);
  const line = (name: string, color: string, dashed: boolean, values: (number | null)[]) => ({ name, type: 'line', connectNulls: false, symbolSize: 6, itemStyle: { color }, lineStyle: { color, type: dashed ? 'dashed' : 'solid' }, data: values });
  return {
    ...baseOption(t),
    tooltip: { ...(baseOption(t).tooltip as object), trigger: 'axis', valueFormatter: (v: unknown) => (typeof v === 'number' ? duration(v * 60) : 'no data') },
    grid: { left: 50, right: 16, top: 40, bottom: 30 },
    xAxis: { type: 'category', data: d.weeks.map((w) => `w/c ${w.week_start}`), ...axis, splitLine: { show: false } },
    yAxis: { type: 'value', name: 'minutes', nameTextStyle: { color: t.muted }, ...axis },
    series: [
      line('Acknowledge, median', '#2563eb', false, d.weeks.map((w) => minutes(w.acknowledge.median_seconds))),
      line('Acknowledge, p90', '#2563eb', true, d.weeks.map((w) => minutes(w.acknowledge.p90_seconds))),
      line('Resolve, median', '#ea580c', false, d.weeks.map((w) => minutes(w.resolve.median_seconds))),
      line('Resolve, p90', '#ea580c', true, d.weeks.map((w) => minutes(w.resolve.p90_seconds))),
    ],
  };
}

const groupsHeight = (d: Groups) => Math.max(200, 60 + d.groups.length * 34);

function groupsOption(d: Groups, t: ThemeColors) {
  const axis = axisStyle(t);
  const names = d.groups.map((g) => g.name).reverse();
  const rows = [...d.groups].reverse();
  return {
    ...baseOption(t),
    tooltip: { ...(baseOption(t).tooltip as object), trigger: 'axis', axisPointer: { type: 'shadow' } },
    grid: { left: 16, right: 24, top: 40, bottom: 20, containLabel: true },
    xAxis: { type: 'value', minInterval: 1, ...axis },
    yAxis: { type: 'category', data: names, ...axis, splitLine: { show: false } },
    series: [
      { name: 'Incidents', type: 'bar', itemStyle: { color: '#ea580c' }, data: rows.map((g) => g.incidents) },
      { name: 'Pages', type: 'bar', itemStyle: { color: '#2563eb' }, data: rows.map((g) => g.pages) },
    ],
  };
}

function hoursOption(d: Hours, t: ThemeColors) {
  const axis = axisStyle(t);
  const max = Math.max(1, ...d.cells.map((c) => c.pages));
  return {
    ...baseOption(t),
    tooltip: { ...(baseOption(t).tooltip as object), formatter: (p: { data: [number, number, number] }) => `${DAYS[p.data[1]]} ${String(p.data[0]).padStart(2, '0')}:00–${String(p.data[0]).padStart(2, '0')}:59: ${p.data[2]} page${p.data[2] === 1 ? '' : 's'}` },
    legend: { show: false },
    grid: { left: 50, right: 16, top: 10, bottom: 70 },
    xAxis: { type: 'category', data: Array.from({ length: 24 }, (_, h) => String(h).padStart(2, '0')), ...axis, splitArea: { show: true } },
    yAxis: { type: 'category', data: DAYS, inverse: true, ...axis, splitArea: { show: true } },
    visualMap: { min: 0, max, calculable: false, text: [`${max} pages`, '0'], orient: 'horizontal', left: 'center', bottom: 0, textStyle: { color: t.text }, inRange: { color: t.dark ? ['#1d2632', '#f97316'] : ['#fff7ed', '#c2410c'] } },
    series: [{ name: 'Pages', type: 'heatmap', data: d.cells.map((c) => [c.hour, c.day_index, c.pages]), label: { show: false }, emphasis: { itemStyle: { borderColor: t.text, borderWidth: 1 } } }],
  };
}
