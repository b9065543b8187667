// The catalog: every type with its entry count and when it last synced; admins add custom types ("New type")
// and import catalog files (YAML or JSON, previewed as a plan before they are applied).
import { useState } from 'react';
import { DateTime, Empty, ErrorMessage, Loading } from '../../components/ui.js';
import { useLoad, useTitle } from '../../hooks.js';
import { Link, navigate } from '../../router.js';
import { catalogApi } from '../../pagerduty/api.js';
import { isAdmin, useSession } from '../../session.js';
import { ImportPanel } from './ImportPanel.js';
import { TypeForm } from './TypeForm.js';

export function CatalogHomePage() {
  useTitle('Catalog');
  const types = useLoad(() => catalogApi.types(), []);
  const list = types.data?.catalog_types ?? [];
  const admin = isAdmin(useSession().user.role);
  const [panel, setPanel] = useState<'none' | 'type' | 'import'>('none');
  return (
    <>
      <div className="page-head">
        <h1>Catalog</h1>
        {admin ? (
          <div className="action-row">
            <button type="button" className="button-primary" onClick={() => setPanel('type')} disabled={panel === 'type'}>
              New type
            </button>
            <button type="button" onClick={() => setPanel('import')} disabled={panel === 'import'}>
              Import
            </button>
          </div>
        ) : null}
      </div>
      <p className="lead-text">Users, teams, services and more, kept in sync from your tools, and types of your own, so workflows and people can refer to them.</p>
      {panel === 'type' ? <TypeForm types={list} onSaved={(t) => navigate(`/catalog/${encodeURIComponent(t.type_name)}`)} onCancel={() => setPanel('none')} /> : null}
      {panel === 'import' ? <ImportPanel onApplied={() => types.reload()} onClose={() => setPanel('none')} /> : null}
      {types.loading && !types.data ? (
        <Loading label="Loading the catalog…" />
      ) : types.error && !types.data ? (
        <ErrorMessage error={types.error} title="Could not load the catalog." />
      ) : list.length === 0 ? (
        <Empty title="The catalog is empty.">
          <p>
            Connect <Link to="/settings/integrations/pagerduty">PagerDuty</Link> to fill it with your users, teams, services, priorities and escalation policies, or add a type of your own.
          </p>
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Type</th>
                <th scope="col">Entries</th>
                <th scope="col">Source</th>
                <th scope="col">Last synced</th>
              </tr>
            </thead>
            <tbody>
              {list.map((t) => (
                <tr key={t.id}>
                  <td>
                    <Link to={`/catalog/${encodeURIComponent(t.type_name)}`}>{t.name}</Link>
                  </td>
                  <td>{t.entry_count ?? 0}</td>
                  <td>
                    {t.source === 'custom' ? 'Custom' : t.source === 'pagerduty' ? 'PagerDuty' : t.source}
                    {t.read_only && !t.syncing ? <span className="muted small"> (no longer syncing)</span> : null}
                  </td>
                  <td>{t.last_synced_at ? <DateTime value={t.last_synced_at} /> : <span className="muted">{t.source === 'custom' ? 'not synced' : 'never'}</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
