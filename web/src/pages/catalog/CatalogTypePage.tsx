// One catalog type: its entries in a searchable table, more loaded on demand (cursor pagination). For a custom
// type, admins add entries ("New entry"), change the type ("Edit type") and download it as a catalog file.
import { useEffect, useState } from 'react';
import { Empty, ErrorMessage, Loading } from '../../components/ui.js';
import { useLoad, useTitle } from '../../hooks.js';
import { Link, navigate } from '../../router.js';
import { catalogApi, type CatalogEntry } from '../../pagerduty/api.js';
import { isAdmin, useSession } from '../../session.js';
import { catalogEdit } from './api.js';
import { EntryForm } from './EntryForm.js';
import { TypeForm } from './TypeForm.js';

export function CatalogTypePage({ typeName }: { typeName: string }) {
  const type = useLoad(() => catalogApi.type(typeName), [typeName]);
  const t = type.data?.catalog_type;
  useTitle(t?.name ?? 'Catalog');
  const [search, setSearch] = useState('');
  const [archived, setArchived] = useState<'exclude' | 'only'>('exclude');
  const [entries, setEntries] = useState<CatalogEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const admin = isAdmin(useSession().user.role);
  const [panel, setPanel] = useState<'none' | 'entry' | 'type'>('none');
  const allTypes = useLoad(() => (panel === 'type' ? catalogApi.types() : Promise.resolve(null)), [panel]);

  const load = async (more: boolean) => {
    setLoading(true);
    setError(null);
    try {
      const r = await catalogApi.entries({ catalog_type_id: typeName, search: search.trim() || undefined, archived, cursor: more ? (cursor ?? undefined) : undefined, limit: 50 });
      setEntries((prev) => (more ? [...prev, ...r.catalog_entries] : r.catalog_entries));
      setCursor(r.next_cursor);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    const timer = setTimeout(() => void load(false), 200);
    return () => clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [typeName, search, archived]);

  const shown = (t?.attributes ?? []).filter((a) => a.type !== 'reference' && a.type !== 'derived' && a.id !== 'name').slice(0, 3);
  const editable = !!t && !t.read_only && admin;
  return (
    <>
      <p className="muted small">
        <Link to="/catalog">Catalog</Link> / {t?.name ?? typeName}
      </p>
      <div className="page-head">
        <h1>{t?.name ?? typeName}</h1>
        <div className="action-row">
          {editable ? (
            <>
              <button type="button" className="button-primary" onClick={() => setPanel('entry')} disabled={panel === 'entry'}>
                New entry
              </button>
              <button type="button" onClick={() => setPanel('type')} disabled={panel === 'type'}>
                Edit type
              </button>
            </>
          ) : null}
          {t ? (
            <a className="button" href={catalogEdit.exportUrl(t.type_name)} download={`${t.type_name}.yaml`}>
              Export YAML
            </a>
          ) : null}
        </div>
      </div>
      {t?.description ? <p className="lead-text">{t.description}</p> : null}
      {type.error ? <ErrorMessage error={type.error} title="Could not load this type." /> : null}
      {t && panel === 'entry' ? <EntryForm type={t} onSaved={(id) => navigate(`/catalog/entries/${id}`)} onCancel={() => setPanel('none')} /> : null}
      {t && panel === 'type' && allTypes.data ? (
        <TypeForm
          types={allTypes.data.catalog_types}
          existing={t}
          onSaved={(saved) => {
            type.setData({ catalog_type: saved });
            setPanel('none');
          }}
          onCancel={() => setPanel('none')}
        />
      ) : null}
      {t?.read_only ? <p className="muted small">Synced from {t.source === 'pagerduty' ? 'PagerDuty' : t.source}{t.syncing ? '' : ' (no longer syncing)'}: change these entries there.</p> : null}
      <div className="filters">
        <label className="field">
          <span>Search</span>
          <input type="search" name="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="Name, alias or id" />
        </label>
        <label className="field">
          <span>Show</span>
          <select value={archived} onChange={(e) => setArchived(e.target.value as 'exclude' | 'only')}>
            <option value="exclude">Current entries</option>
            <option value="only">Archived entries</option>
          </select>
        </label>
      </div>
      {error ? <ErrorMessage error={error} /> : null}
      {loading && entries.length === 0 ? (
        <Loading label="Loading entries…" />
      ) : entries.length === 0 ? (
        <Empty title={search ? 'No entry matches.' : 'No entries.'} />
      ) : (
        <div className="table-wrap">
          <table className="table catalog-entries">
            <thead>
              <tr>
                <th scope="col">Name</th>
                {shown.map((a) => (
                  <th scope="col" key={a.id} className="col-optional">
                    {a.name}
                  </th>
                ))}
                <th scope="col">External id</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id}>
                  <td>
                    <Link to={`/catalog/entries/${e.id}`}>{e.name}</Link>
                  </td>
                  {shown.map((a) => (
                    <td key={a.id} className="col-optional">
                      {formatValue(e.attribute_values[a.id])}
                    </td>
                  ))}
                  <td className="mono">{e.external_id}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {cursor ? (
        <button type="button" onClick={() => void load(true)} disabled={loading}>
          {loading ? 'Loading…' : 'Load more'}
        </button>
      ) : null}
    </>
  );
}

export function formatValue(v: unknown): string {
  if (v === null || v === undefined || v === '') return '—';
  if (Array.isArray(v)) return v.map(formatValue).join(', ');
  if (typeof v === 'boolean') return v ? 'Yes' : 'No';
  return String(v);
}
