// One catalog entry: its attributes (references link to their entries, Firebreak users by name, derived
// attributes computed and shown the same way), a link to the object in its source, and the entries that refer
// to it (e.g. a team's services). Admins edit, archive and restore entries of custom types. A PagerDuty entry's
// Account row shows only when more than one PagerDuty account is connected (with one, it says nothing new).
import { useState } from 'react';
import { DateTime, ErrorMessage, Loading } from '../../components/ui.js';
import { useLoad, useSubmit, useTitle } from '../../hooks.js';
import { Link } from '../../router.js';
import { catalogApi, pdApi } from '../../pagerduty/api.js';
import { isAdmin, useSession } from '../../session.js';
import { catalogEdit } from './api.js';
import { formatValue } from './CatalogTypePage.js';
import { EntryForm } from './EntryForm.js';
import { OnCallCard } from '../../components/oncall/OnCallCard.js';
import { ONCALL_KIND_BY_TYPE } from '../../components/oncall/oncallApi.js';

export function CatalogEntryPage({ id }: { id: string }) {
  const d = useLoad(() => catalogApi.entry(id), [id]);
  useTitle(d.data?.catalog_entry.name ?? 'Catalog entry');
  const admin = isAdmin(useSession().user.role);
  const [editing, setEditing] = useState(false);
  const action = useSubmit();
  const source = d.data?.catalog_type.source;
  // How many PagerDuty accounts are connected (PagerDuty entries only; null until known).
  const pdAccounts = useLoad(async () => (source === 'pagerduty' ? (await pdApi.accounts()).accounts.length : null), [source]);
  if (d.loading && !d.data) return <Loading label="Loading the entry…" />;
  if (d.error || !d.data) return <ErrorMessage error={d.error} title="Could not load this entry." />;
  const { catalog_entry: e, catalog_type: t, attributes, backlinks } = d.data;
  const editable = !t.read_only && admin;
  const archiveOrRestore = () => action.run(async () => (e.archived_at ? catalogEdit.restore(e.id) : catalogEdit.archive(e.id)).then(() => d.reload()));
  const oncallKind = t.source === 'pagerduty' && !e.archived_at ? ONCALL_KIND_BY_TYPE[t.type_name] : undefined;
  const shown = attributes.filter((a) => !(t.source === 'pagerduty' && a.attribute.id === 'account' && (pdAccounts.data ?? 0) <= 1));
  const shownAs = (a: (typeof attributes)[number]['attribute']) => (a.type === 'derived' ? (a.derived_kind ?? 'string') : a.type);
  return (
    <>
      <p className="muted small">
        <Link to="/catalog">Catalog</Link> / <Link to={`/catalog/${encodeURIComponent(t.type_name)}`}>{t.name}</Link>
      </p>
      <div className="page-head">
        <h1>{e.name}</h1>
        {editable ? (
          <div className="action-row">
            <button type="button" onClick={() => setEditing(true)} disabled={editing || !!e.archived_at}>
              Edit
            </button>
            <button type="button" className={e.archived_at ? '' : 'button-danger'} onClick={() => void archiveOrRestore()} disabled={action.busy}>
              {e.archived_at ? 'Restore' : 'Archive'}
            </button>
          </div>
        ) : null}
      </div>
      <ErrorMessage error={action.error} />
      {e.archived_at ? (
        <p className="notice notice-warn">
          Archived <DateTime value={e.archived_at} />
          {t.read_only ? `: it is no longer in ${t.source === 'pagerduty' ? 'PagerDuty' : 'its source'}, or is excluded from syncing.` : '. References to it are kept and shown as archived.'}
        </p>
      ) : null}
      {!e.external_url && !t.read_only ? (
        <p className="muted small">
          External id <span className="mono">{e.external_id}</span>
          {e.aliases.length > 0 ? ` · also known as ${e.aliases.join(', ')}` : ''}
        </p>
      ) : null}
      {editing ? (
        <EntryForm
          type={t}
          initial={{ ...e, picked: Object.fromEntries(attributes.filter((a) => a.attribute.type === 'reference').map((a) => [a.attribute.id, a.links.map((l) => ({ id: l.id, name: l.name }))])) }}
          onSaved={() => {
            setEditing(false);
            d.reload();
          }}
          onCancel={() => setEditing(false)}
        />
      ) : null}
      {e.external_url ? (
        <p>
          <a href={e.external_url} target="_blank" rel="noreferrer">
            Open in {t.source === 'pagerduty' ? 'PagerDuty' : t.source}
          </a>{' '}
          <span className="muted small mono">{e.external_id}</span>
        </p>
      ) : null}
      {oncallKind ? <OnCallCard kind={oncallKind} pagerdutyId={e.external_id} /> : null}
      <div className="card">
        <h2>Attributes</h2>
        <dl className="facts">
          {shown.map((a) => (
            <div key={a.attribute.id} data-attribute={a.attribute.id}>
              <dt>
                {a.attribute.name}
                {a.attribute.type === 'derived' ? <span className="muted small" title="Computed by following references"> (derived)</span> : null}
              </dt>
              <dd>
                {shownAs(a.attribute) === 'reference' || shownAs(a.attribute) === 'firebreak_user' ? (
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
