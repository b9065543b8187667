// Follow-ups across incidents: filtered by status, priority, owner, incident and text, newest first, a page at a
// time. Filters live in the URL (/follow-ups?status=open&priority=urgent,high&owner_user_id=…&incident=INC-4&q=disk),
// and "Download CSV" exports exactly what the filters select. Changes made anywhere show through the live feed.
import { useEffect, useId, useState } from 'react';
import { api } from '../api.js';
import { useLoad, useTitle } from '../hooks.js';
import { useLive } from '../live.js';
import { Link, navigate, useLocation } from '../router.js';
import { DateTime, Empty, ErrorMessage, Loading } from '../components/ui.js';
import { FOLLOW_UP_PRIORITIES, FOLLOW_UP_STATUSES, followUpsApi, priorityLabel, statusLabel, type FollowUpFilters } from '../components/follow-ups/api.js';

const PAGE_SIZE = 25;
const PAGE_PARAMS = ['cursor', 'prev'];

export function FollowUpsPage() {
  useTitle('Follow-ups');
  const location = useLocation();
  const get = (k: string) => location.search.get(k) ?? '';
  const filters: FollowUpFilters = {
    status: get('status') || undefined,
    priority: get('priority') || undefined,
    owner_user_id: get('owner_user_id') || undefined,
    incident: get('incident') || undefined,
    q: get('q') || undefined,
  };
  const cursor = get('cursor');
  const prev = location.search.has('prev') ? get('prev').split(',') : [];
  const key = `${JSON.stringify(filters)}|${cursor}`;
  const list = useLoad(() => followUpsApi.list(filters, { limit: PAGE_SIZE, cursor: cursor || undefined }), [key]);
  const users = useLoad(() => api.users(), []);
  useLive(['incidents'], null, list.refresh);
  const ids = { status: useId(), priority: useId(), owner: useId(), incident: useId() };

  const go = (params: URLSearchParams, replace = true) => {
    const qs = params.toString();
    navigate(qs ? `/follow-ups?${qs}` : '/follow-ups', { replace });
  };
  const setFilter = (name: string, value: string) => {
    const params = new URLSearchParams(location.search);
    for (const k of PAGE_PARAMS) params.delete(k);
    if (value) params.set(name, value);
    else params.delete(name);
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
    const target = prev[prev.length - 1] ?? '';
    if (target) params.set('cursor', target);
    else params.delete('cursor');
    const before = prev.slice(0, -1);
    if (before.length) params.set('prev', before.join(','));
    else params.delete('prev');
    go(params, false);
  };

  const items = list.data?.follow_ups ?? [];
  const filtered = Object.values(filters).some(Boolean);

  return (
    <>
      <div className="page-head">
        <h1>Follow-ups</h1>
        <a className="button" href={followUpsApi.csvUrl(filters)} download>
          Download CSV
        </a>
      </div>

      <form className="filters" role="search" aria-label="Filter follow-ups" onSubmit={(e) => e.preventDefault()}>
        <TextFilter label="Search" value={get('q')} placeholder="Words in the title or description" onChange={(v) => setFilter('q', v)} />
        <div className="field">
          <label htmlFor={ids.status}>Status</label>
          <select id={ids.status} value={get('status')} onChange={(e) => setFilter('status', e.target.value)}>
            <option value="">Any status</option>
            {FOLLOW_UP_STATUSES.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
            <option value="done,wont_do">Finished (done or won't do)</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.priority}>Priority</label>
          <select id={ids.priority} value={get('priority')} onChange={(e) => setFilter('priority', e.target.value)}>
            <option value="">Any priority</option>
            <option value="urgent,high">Urgent or high</option>
            {FOLLOW_UP_PRIORITIES.map((p) => (
              <option key={p.value} value={p.value}>
                {p.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.owner}>Owner</label>
          <select id={ids.owner} value={get('owner_user_id')} onChange={(e) => setFilter('owner_user_id', e.target.value)}>
            <option value="">Anyone</option>
            {(users.data ?? []).map((u) => (
              <option key={u.id} value={u.id}>
                {u.name}
              </option>
            ))}
          </select>
        </div>
        <TextFilter label="Incident" value={get('incident')} placeholder="INC-42" onChange={(v) => setFilter('incident', v.trim())} />
        {filtered ? (
          <button type="button" className="button-quiet" onClick={() => go(new URLSearchParams())}>
            Clear filters
          </button>
        ) : null}
      </form>

      {list.loading && !list.data ? (
        <Loading label="Loading follow-ups…" />
      ) : list.error ? (
        <>
          <ErrorMessage error={list.error} title="Could not load follow-ups." />
          <button type="button" onClick={list.reload}>
            Try again
          </button>
        </>
      ) : items.length === 0 ? (
        filtered ? (
          <Empty title="No follow-ups match these filters">
            <p>Change or clear the filters to see more.</p>
          </Empty>
        ) : (
          <Empty title="No follow-ups yet">
            <p>
              The work incidents leave behind appears here, across all incidents: follow-ups added on an incident's page, with the API, or in Slack with <code>/incident follow-up</code> or the “Create follow-up”
              message shortcut.
            </p>
          </Empty>
        )
      ) : (
        <>
          <table className="table" aria-label="Follow-ups">
            <thead>
              <tr>
                <th scope="col">Follow-up</th>
                <th scope="col">Incident</th>
                <th scope="col">Owner</th>
                <th scope="col">Priority</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {items.map((f) => (
                <tr key={f.id}>
                  <td>
                    {f.title}
                    {f.link ? (
                      <>
                        {' '}
                        <a href={f.link} target="_blank" rel="noreferrer noopener">
                          Link
                        </a>
                      </>
                    ) : null}
                  </td>
                  <td>
                    <Link to={`/incidents/${encodeURIComponent(f.incident.reference)}`}>{f.incident.reference}</Link> {f.incident.name}
                  </td>
                  <td>{f.owner?.name ?? <span className="muted">Nobody</span>}</td>
                  <td>{priorityLabel(f.priority)}</td>
                  <td>{statusLabel(f.status)}</td>
                  <td>
                    <DateTime value={f.created_at} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav className="pager" aria-label="Pages">
            {prev.length > 0 ? (
              <button type="button" className="button-quiet" onClick={previousPage}>
                Previous
              </button>
            ) : null}
            <span className="muted">Page {prev.length + 1}</span>
            {list.data?.next_cursor ? (
              <button type="button" className="button-quiet" onClick={() => nextPage(list.data!.next_cursor!)}>
                Next
              </button>
            ) : null}
          </nav>
        </>
      )}
    </>
  );
}

/** A text filter applied when typing pauses, so the URL is not rewritten on every key. */
function TextFilter({ label, value, placeholder, onChange }: { label: string; value: string; placeholder: string; onChange: (v: string) => void }) {
  const id = useId();
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  useEffect(() => {
    if (text === value) return;
    const t = setTimeout(() => onChange(text), 300);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [text]);
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} type="search" value={text} placeholder={placeholder} onChange={(e) => setText(e.target.value)} />
    </div>
  );
}
