// Integrations: Slack and PagerDuty, whether each is connected, and the way to each one's settings.
import { api } from '../../api.js';
import { Link } from '../../router.js';
import { useLoad } from '../../hooks.js';
import { Empty } from '../../components/ui.js';
import { LoadGate, SettingsPage } from '../../components/settings.js';
import type { Integration } from '../../types.js';

const STATUS_LABEL: Record<Integration['status'], string> = {
  not_connected: 'Not connected',
  connected: 'Connected',
  error: 'Needs attention',
};

export function IntegrationsPage() {
  const list = useLoad(() => api.integrations(), []);
  return (
    <SettingsPage title="Integrations" lead="Connect the tools your team already uses to run incidents.">
      <LoadGate state={list} loading="Loading integrations…" failed="Could not load integrations." empty={<Empty title="No integrations are available." />}>
        {(integrations) => (
          <ul className="integration-list">
            {integrations.map((i) => (
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
      </LoadGate>
    </SettingsPage>
  );
}
