// The incidents list: searched (full text: name, summary, updates, notes, timeline; best match first, with where it
// matched shown and the matched words marked), sorted, paged and filtered by status category, severity,
// mode and custom fields. Everything lives in the URL (/?q=checkout&sort=severity&status_category=live&severity_id=…
// &mode=test&custom_field=affected_services:<entry id>&cursor=…&prev=…), so a view can be bookmarked or shared, and
// Back returns to the previous page of results.
import { useEffect, useId, useState } from 'react';
import { api } from '../api.js';
import { useLoad, useTitle } from '../hooks.js';
import { useLive } from '../live.js';
import { Link, navigate, useLocation } from '../router.js';
import { canRespond, useSession } from '../session.js';
import { DateTime, Empty, ErrorMessage, Loading, SeverityBadge, StatusBadge, titleCase } from '../components/ui.js';
import { MODES, STATUS_CATEGORIES, type Incident, type Mode, type StatusCategory } from '../types.js';
import { fieldsApi, listIncidents, type CustomField } from '../components/custom-fields/api.js';
import { FieldFilterChips, FieldFilterPicker } from '../components/custom-fields/FieldFilter.js';
import type { Ok } from '../api/operations.js';

const PAGE_SIZE = 25;

/** The list's orders, as the URL's `sort` names them, and what they ask the API for. */
const SORTS = {
  newest: { label: 'Newest first', sort: 'created', order: 'desc' },
  oldest: { label: 'Oldest first', sort: 'created', order: 'asc' },
  severity: { label: 'Most severe first', sort: 'severity', order: 'desc' },
  status: { label: 'By status (triage first)', sort: 'status', order: 'asc' },
  updated: { label: 'Recently updated', sort: 'updated', order: 'desc' },
  relevance: { label: 'Best match', sort: 'relevance', order: 'desc' },
} as const;
type SortName = keyof typeof SORTS;
/** With a search the list is best match first unless the URL says otherwise; relevance means nothing without one. */
const defaultSort = (q: string): SortName => (q ? 'relevance' : 'newest');
const parseSort = (v: string | null, q: string): SortName => (v && v in SORTS && (v !== 'relevance' || q) ? (v as SortName) : defaultSort(q));
const MATCH_LABELS = { reference: 'Reference', name: 'Name', summary: 'Summary', update: 'Update', note: 'Note', timeline: 'Timeline' } as const;
type SearchMatch = NonNullable<Ok<'/api/v1/incidents', 'get'>['incidents'][number]['match']>;
/** URL parameters that describe which page of results is shown; any other change starts from the first page. */
const PAGE_PARAMS = ['cursor', 'prev'];

const CATEGORY_OPTIONS: Array<{ value: string; label: string }> = [
  { value: '', label: 'Any status' },
  { value: 'triage,live', label: 'Open (triage or live)' },
  ...STATUS_CATEGORIES.map((c) => ({ value: c, label: titleCase(c) })),
];

function parseCategories(v: string | null): StatusCategory[] {
  if (!v) return [];
  return v.split(',').filter((c): c is StatusCategory => (STATUS_CATEGORIES as readonly string[]).includes(c));
}

function parseMode(v: string | null): Mode | undefined {
  return v && (MODES as readonly string[]).includes(v) ? (v as Mode) : undefined;
}

export function IncidentsPage() {
  useTitle('Incidents');
  const session = useSession();
  const location = useLocation();
  const categories = parseCategories(location.search.get('status_category'));
  const severityId = location.search.get('severity_id') ?? '';
  const mode = parseMode(location.search.get('mode'));
  const fieldFilters = location.search.getAll('custom_field');
  const q = location.search.get('q') ?? '';
  const sortName = parseSort(location.search.get('sort'), q);
  const cursor = location.search.get('cursor') ?? '';
  // The cursors of the pages before this one, oldest first ('' for the first page), so "Previous" works after a reload.
  const prev = location.search.has('prev') ? (location.search.get('prev') ?? '').split(',') : [];
  const filterKey = `${categories.join(',')}|${severityId}|${mode ?? ''}|${fieldFilters.join('|')}|${q}|${sortName}|${cursor}`;

  const severities = useLoad(() => api.severities(), []);
  const fields = useLoad(() => fieldsApi.list(), []);
  const { sort, order } = SORTS[sortName];
  const list = useLoad(
    () => listIncidents({ status_category: categories, severity_id: severityId || undefined, mode, q: q || undefined, sort, order, limit: PAGE_SIZE, cursor: cursor || undefined }, fieldFilters),
    [filterKey],
  );
  useLive(['incidents'], null, list.refresh);

  const go = (params: URLSearchParams, replace = true) => {
    const qs = params.toString();
    navigate(qs ? `/?${qs}` : '/', { replace });
  };
  const fresh = () => {
    const params = new URLSearchParams(location.search);
    for (const k of PAGE_PARAMS) params.delete(k);
    return params;
  };
  const setFilter = (name: string, value: string) => {
    const params = fresh();
    if (value) params.set(name, value);
    else params.delete(name);
    go(params);
  };
  const setFieldFilters = (next: string[]) => {
    const params = fresh();
    params.delete('custom_field');
    for (const f of next) params.append('custom_field', f);
    go(params);
  };
  const nextPage = (next: string) => {
    const params = new URLSearchParams(location.search);
    params.set('prev', [...prev, cursor].join(','));
    params.set('cursor', next);
    go(params, false);
  };
  const previousPage = () => {
    const params = new URLSearchParams(location.search);
    const before = prev.slice(0, -1);
    const target = prev[prev.length - 1] ?? '';
    if (target) params.set('cursor', target);
    else params.delete('cursor');
    if (before.length > 0) params.set('prev', before.join(','));
    else params.delete('prev');
    go(params, false);
  };
  const firstPage = () => go(fresh(), false);

  const incidents = list.data?.incidents ?? [];
  const nextCursor = list.data?.next_cursor ?? null;
  const pageNumber = prev.length + 1;

  const maxRank = Math.max(0, ...(severities.data ?? []).map((s) => s.rank));
  const filtered = categories.length > 0 || severityId !== '' || mode !== undefined || fieldFilters.length > 0 || q !== '';
  const definedFields = fields.data ?? [];
  // Fields shown in the declare form are the ones people fill most; the list shows their values under the name.
  const listed = definedFields.filter((f) => f.show_in_declare);
  const ids = { status: useId(), severity: useId(), mode: useId(), sort: useId() };

  return (
    <>
      <div className="page-head">
        <h1>Incidents</h1>
        {canRespond(session.user.role) ? (
          <Link to="/declare" className="button button-primary">
            Declare incident
          </Link>
        ) : null}
      </div>

      <form className="filters" role="search" aria-label="Filter incidents" onSubmit={(e) => e.preventDefault()}>
        <SearchBox value={q} onChange={(v) => setFilter('q', v)} />
        <div className="field">
          <label htmlFor={ids.status}>Status</label>
          <select id={ids.status} value={categories.join(',')} onChange={(e) => setFilter('status_category', e.target.value)}>
            {CATEGORY_OPTIONS.some((o) => o.value === categories.join(',')) ? null : (
              <option value={categories.join(',')}>{categories.map(titleCase).join(', ')}</option>
            )}
            {CATEGORY_OPTIONS.map((o) => (
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
        <div className="field">
          <label htmlFor={ids.mode}>Mode</label>
          <select id={ids.mode} value={mode ?? ''} onChange={(e) => setFilter('mode', e.target.value)}>
            <option value="">Any mode</option>
            {MODES.map((m) => (
              <option key={m} value={m}>
                {titleCase(m)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.sort}>Sort</label>
          <select id={ids.sort} value={sortName} onChange={(e) => setFilter('sort', e.target.value === defaultSort(q) ? '' : e.target.value)}>
            {(Object.keys(SORTS) as SortName[])
              .filter((k) => k !== 'relevance' || q)
              .map((k) => (
              <option key={k} value={k}>
                {SORTS[k].label}
              </option>
            ))}
          </select>
        </div>
        {definedFields.length > 0 ? (
          <FieldFilterPicker fields={definedFields} onAdd={(f) => setFieldFilters(fieldFilters.includes(f) ? fieldFilters : [...fieldFilters, f])} />
        ) : null}
        {filtered ? (
          <button type="button" className="button-quiet" onClick={() => go(new URLSearchParams(sortName === 'newest' || sortName === 'relevance' ? '' : `sort=${sortName}`))}>
            Clear filters
          </button>
        ) : null}
        <FieldFilterChips filters={fieldFilters} fields={definedFields} onRemove={(f) => setFieldFilters(fieldFilters.filter((x) => x !== f))} />
      </form>

      <ErrorMessage error={severities.error} title="Could not load severities." />
      {list.loading ? (
        <Loading label="Loading incidents…" />
      ) : list.error ? (
        <>
          <ErrorMessage error={list.error} title="Could not load incidents." />
          <button type="button" onClick={list.reload}>
            Try again
          </button>
        </>
      ) : incidents.length === 0 && pageNumber > 1 ? (
        <Empty title="No more incidents.">
          <button type="button" className="button-quiet" onClick={firstPage}>
            Back to the first page
          </button>
        </Empty>
      ) : incidents.length === 0 ? (
        filtered ? (
          <Empty title={q ? `No incidents match “${q}”${categories.length || severityId || mode || fieldFilters.length ? ' with these filters' : ''}.` : 'No incidents match these filters.'}>
            <button type="button" className="button-quiet" onClick={() => navigate('/', { replace: true })}>
              Clear filters
            </button>
          </Empty>
        ) : (
          <Empty title="No incidents yet.">
            <p>When something goes wrong, declare an incident to get everyone on the same page.</p>
            {canRespond(session.user.role) ? (
              <Link to="/declare" className="button button-primary">
                Declare incident
              </Link>
            ) : null}
          </Empty>
        )
      ) : (
        <>
          <div className="table-wrap">
            <table className="table incidents-table">
              <caption className="visually-hidden">Incidents, {SORTS[sortName].label.toLowerCase()}</caption>
              <thead>
                <tr>
                  <th scope="col">Reference</th>
                  <th scope="col">Name</th>
                  <th scope="col">Severity</th>
                  <th scope="col">Status</th>
                  <th scope="col" className="col-optional">Lead</th>
                  <th scope="col" className="col-optional">Declared</th>
                </tr>
              </thead>
              <tbody>
                {incidents.map((i) => (
                  <tr key={i.id}>
                    <td className="mono nowrap">
                      <Link to={`/incidents/${encodeURIComponent(i.reference)}`}>{i.reference}</Link>
                    </td>
                    <td>
                      <Link to={`/incidents/${encodeURIComponent(i.reference)}`} className="row-title">
                        {i.match?.field === 'name' ? <Highlighted snippet={i.match.snippet} /> : i.name}
                      </Link>
                      {i.mode !== 'standard' ? <span className="badge badge-mode">{titleCase(i.mode)}</span> : null}
                      {i.match && i.match.field !== 'name' && i.match.field !== 'reference' ? <MatchLine match={i.match} /> : null}
                      <ListedValues incident={i} fields={listed} />
                    </td>
                    <td>
                      <SeverityBadge name={i.severity.name} rank={i.severity.rank} maxRank={maxRank || undefined} />
                    </td>
                    <td>
                      <StatusBadge name={i.status.name} category={i.status.category} />
                    </td>
                    <td className="col-optional">{i.lead?.name ?? <span className="muted">Nobody</span>}</td>
                    <td className="nowrap col-optional">
                      <DateTime value={i.created_at} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="Pages of incidents">
            <button type="button" onClick={previousPage} disabled={pageNumber === 1}>
              ← Previous
            </button>
            <span className="muted">
              Page {pageNumber}
              {list.loading ? '…' : ''}
            </span>
            <button type="button" onClick={() => nextCursor && nextPage(nextCursor)} disabled={!nextCursor}>
              Next →
            </button>
            {pageNumber > 2 ? (
              <button type="button" className="button-quiet" onClick={firstPage}>
                First page
              </button>
            ) : null}
          </nav>
        </>
      )}
    </>
  );
}

/** The search box: the URL follows what is typed, 300 ms after the last key (and at once on Enter). */
function SearchBox({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const id = useId();
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  useEffect(() => {
    if (text.trim() === value) return;
    const t = setTimeout(() => onChange(text.trim()), 300);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [text, value]);
  return (
    <div className="field field-search">
      <label htmlFor={id}>Search</label>
      <input
        id={id}
        type="search"
        value={text}
        placeholder="Reference or words in names, summaries, updates, notes"
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') onChange(text.trim());
        }}
      />
    </div>
  );
}

/** Where a search matched, outside the name: "Note: …the checkout team <mark>deployed</mark>…". */
function MatchLine({ match }: { match: SearchMatch }) {
  return (
    <p className="search-match">
      <span className="muted">{MATCH_LABELS[match.field]}:</span> <Highlighted snippet={match.snippet} />
    </p>
  );
}

/** Snippet segments as text, the matched words in <mark> (the API sends plain text segments, never markup). */
function Highlighted({ snippet }: { snippet: SearchMatch['snippet'] }) {
  return (
    <>
      {snippet.map((s, n) => (s.hit ? <mark key={n}>{s.text}</mark> : <span key={n}>{s.text}</span>))}
    </>
  );
}

/** The values of the listed fields, by name: "Affected services: Payments API, Checkout". */
function ListedValues({ incident, fields }: { incident: Incident; fields: CustomField[] }) {
  const values = (incident.custom_fields).filter((v) => fields.some((f) => f.id === v.field.id));
  if (values.length === 0) return null;
  return (
    <ul className="inline-list cf-summary" aria-label="Custom fields">
      {values.map((v) => (
        <li key={v.field.id}>
          <span className="muted">{v.field.name}:</span> {v.display.map((d) => `${d.label}${d.archived ? ' (archived)' : ''}`).join(', ')}
        </li>
      ))}
    </ul>
  );
}
