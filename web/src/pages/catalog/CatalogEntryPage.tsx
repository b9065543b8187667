// One catalog entry: its attributes (references link to their entries, Firebreak users by name), a link to
// the object in its source, and the entries that refer to it (e.g. a team's services).
import { DateTime, ErrorMessage, Loading } from '../../components/ui.js';
import { useLoad, useTitle } from '../../hooks.js';
import { Link } from '../../router.js';
import { catalogApi } from '../../pagerduty/api.js';
import { formatValue } from './CatalogTypePage.js';

export function CatalogEntryPage({ id }: { id: string }) {
  const d = useLoad(() => catalogApi.entry(id), [id]);
  useTitle(d.data?.catalog_entry.name ?? 'Catalog entry');
  if (d.loading && !d.data) return <Loading label="Loading the entry…" />;
  if (d.error || !d.data) return <ErrorMessage error={d.error} title="Could not load this entry." />;
  const { catalog_entry: e, catalog_type: t, attributes, backlinks } = d.data;
  return (
    <>
      <p className="muted small">
        <Link to="/catalog">Catalog</Link> / <Link to={`/catalog/${encodeURIComponent(t.type_name)}`}>{t.name}</Link>
      </p>
      <h1>{e.name}</h1>
      {e.archived_at ? (
        <p className="notice notice-warn">
          Archived <DateTime value={e.archived_at} />: it is no longer in {t.source === 'pagerduty' ? 'PagerDuty' : 'its source'}, or is excluded from syncing.
        </p>
      ) : null}
      {e.external_url ? (
        <p>
          <a href={e.external_url} target="_blank" rel="noreferrer">
            Open in {t.source === 'pagerduty' ? 'PagerDuty' : t.source}
          </a>{' '}
          <span className="muted small mono">{e.external_id}</span>
        </p>
      ) : null}
      <div className="card">
        <h2>Attributes</h2>
        <dl className="facts">
          {attributes.map((a) => (
            <div key={a.attribute.id} data-attribute={a.attribute.id}>
              <dt>{a.attribute.name}</dt>
              <dd>
                {a.attribute.type === 'reference' || a.attribute.type === 'firebreak_user' ? (
                  a.links.length === 0 ? (
                    '—'
                  ) : (
                    <ul className="inline-list">
                      {a.links.map((l) => (
                        <li key={l.id}>
                          {l.kind === 'entry' ? <Link to={`/catalog/entries/${l.id}`}>{l.name}</Link> : <span>{l.name} <span className="muted">{l.email}</span></span>}
                          {l.archived ? <span className="muted small"> (archived)</span> : null}
                        </li>
                      ))}
                    </ul>
                  )
                ) : (
                  formatValue(a.value)
                )}
              </dd>
            </div>
          ))}
        </dl>
      </div>
      {backlinks.length > 0 ? (
        <div className="card">
          <h2>Referenced by</h2>
          {backlinks.map((b) => (
            <section key={`${b.type.id}:${b.attribute.id}`} data-backlink={`${b.type.name}:${b.attribute.name}`}>
              <h3>
                {b.type.name} <span className="muted small">({b.attribute.name})</span>
              </h3>
              <ul>
                {b.entries.map((x) => (
                  <li key={x.id}>
                    <Link to={`/catalog/entries/${x.id}`}>{x.name}</Link>
                    {x.archived ? <span className="muted small"> (archived)</span> : null}
                  </li>
                ))}
              </ul>
            </section>
          ))}
        </div>
      ) : null}
    </>
  );
}
