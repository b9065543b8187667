// Integrations: Slack and PagerDuty, whether each is connected, and the way to each one's settings.
import { api } from '../../api.js';
import { Link } from '../../router.js';
import { useLoad, useTitle } from '../../hooks.js';
import { Empty, ErrorMessage, Loading } from '../../components/ui.js';
import type { Integration } from '../../types.js';

const STATUS_LABEL: Record<Integration['status'], string> = {
  not_connected: 'Not connected',
  connected: 'Connected',
  error: 'Needs attention',
};

export function IntegrationsPage() {
  useTitle('Integrations');
  const list = useLoad(() => api.integrations(), []);
  return (
    <>
      <h1>Integrations</h1>
      <p className="lead-text">Connect the tools your team already uses to run incidents.</p>
      {list.loading && !list.data ? (
        <Loading label="Loading integrations…" />
      ) : list.error && !list.data ? (
        <ErrorMessage error={list.error} title="Could not load integrations." />
      ) : (list.data ?? []).length === 0 ? (
        <Empty title="No integrations are available." />
      ) : (
        <ul className="integration-list">
          {(list.data ?? []).map((i) => (
            <li key={i.kind} className="card integration">
              <div className="integration-head">
                <h2>{i.name}</h2>
                <span className={`badge badge-integration-${i.status}`}>{STATUS_LABEL[i.status]}</span>
              </div>
              <p>{i.description}</p>
              <Link to={`/settings/integrations/${i.kind}`} className="button">
                {i.status === 'not_connected' ? `Connect ${i.name}` : `Manage ${i.name}`}
              </Link>
              {i.status === 'error' && i.details && typeof i.details.message === 'string' ? (
                <p className="notice notice-error">{i.details.message}</p>
              ) : null}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
