// The incidents list, newest first, filtered by status category, severity, mode and custom fields. Filters live in
// the URL (/?status_category=live&severity_id=…&mode=test&custom_field=affected_services:<entry id>), so a filtered
// view can be bookmarked or shared.
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

const PAGE_SIZE = 25;

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
  const filterKey = `${categories.join(',')}|${severityId}|${mode ?? ''}|${fieldFilters.join('|')}`;

  const severities = useLoad(() => api.severities(), []);
  const fields = useLoad(() => fieldsApi.list(), []);
  const list = useLoad(
    () => listIncidents({ status_category: categories, severity_id: severityId || undefined, mode, limit: PAGE_SIZE }, fieldFilters),
    [filterKey],
  );
  useLive(['incidents'], null, list.refresh);
  const [more, setMore] = useState<{ items: Incident[]; cursor: string | null } | null>(null);
  const [moreLoading, setMoreLoading] = useState(false);
  const [moreError, setMoreError] = useState<unknown>(null);
  useEffect(() => {
    setMore(null);
    setMoreError(null);
  }, [filterKey]);

  const setFilter = (name: string, value: string) => {
    const params = new URLSearchParams(location.search);
    if (value) params.set(name, value);
    else params.delete(name);
    const qs = params.toString();
    navigate(qs ? `/?${qs}` : '/', { replace: true });
  };
  const setFieldFilters = (next: string[]) => {
    const params = new URLSearchParams(location.search);
    params.delete('custom_field');
    for (const f of next) params.append('custom_field', f);
    const qs = params.toString();
    navigate(qs ? `/?${qs}` : '/', { replace: true });
  };

  const incidents = [...(list.data?.incidents ?? []), ...(more?.items ?? [])];
  const cursor = more ? more.cursor : (list.data?.next_cursor ?? null);
  const loadMore = async () => {
    if (!cursor) return;
    setMoreLoading(true);
    setMoreError(null);
    try {
      const page = await listIncidents({ status_category: categories, severity_id: severityId || undefined, mode, limit: PAGE_SIZE, cursor }, fieldFilters);
      setMore((m) => ({ items: [...(m?.items ?? []), ...page.incidents], cursor: page.next_cursor }));
    } catch (e) {
      setMoreError(e);
    } finally {
      setMoreLoading(false);
    }
  };

  const maxRank = Math.max(0, ...(severities.data ?? []).map((s) => s.rank));
  const filtered = categories.length > 0 || severityId !== '' || mode !== undefined || fieldFilters.length > 0;
  const definedFields = fields.data ?? [];
  // Fields shown in the declare form are the ones people fill most; the list shows their values under the name.
  const listed = definedFields.filter((f) => f.show_in_declare);
  const ids = { status: useId(), severity: useId(), mode: useId() };

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
        {definedFields.length > 0 ? (
          <FieldFilterPicker fields={definedFields} onAdd={(f) => setFieldFilters(fieldFilters.includes(f) ? fieldFilters : [...fieldFilters, f])} />
        ) : null}
        {filtered ? (
          <button type="button" className="button-quiet" onClick={() => navigate('/', { replace: true })}>
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
      ) : incidents.length === 0 ? (
        filtered ? (
          <Empty title="No incidents match these filters.">
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
              <caption className="visually-hidden">Incidents, newest first</caption>
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
                        {i.name}
                      </Link>
                      {i.mode !== 'standard' ? <span className="badge badge-mode">{titleCase(i.mode)}</span> : null}
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
          <ErrorMessage error={moreError} title="Could not load more incidents." />
          {cursor ? (
            <p className="center">
              <button type="button" onClick={() => void loadMore()} disabled={moreLoading}>
                {moreLoading ? 'Loading…' : 'Show more incidents'}
              </button>
            </p>
          ) : null}
        </>
      )}
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
