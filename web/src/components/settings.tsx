// The frame the settings pages share: the page's title (also the tab's), its lead text, the way back to the
// Integrations page for an integration's own page, and the loading and failed states of what the page loads.
import type { ReactNode } from 'react';
import type { Loaded } from '../hooks.js';
import { useTitle } from '../hooks.js';
import { Link } from '../router.js';
import { ErrorMessage, Loading } from './ui.js';

export function SettingsPage({ title, lead, integration, children }: { title: string; lead?: ReactNode; integration?: boolean; children: ReactNode }) {
  useTitle(title);
  return (
    <>
      {integration ? (
        <p className="muted small">
          <Link to="/settings/integrations">Integrations</Link> / {title}
        </p>
      ) : null}
      <h1>{title}</h1>
      {lead ? <p className="lead-text">{lead}</p> : null}
      {children}
    </>
  );
}

const isEmptyList = (data: unknown) => Array.isArray(data) && data.length === 0;

/**
 * What `state` loaded, once it has: until then "Loading…" (`loading`), or the error under the title `failed`.
 * Data already shown stays while a reload runs or fails. A list with nothing in it shows `empty`.
 */
export function LoadGate<T>({
  state,
  loading,
  failed,
  empty,
  children,
}: {
  state: Loaded<T>;
  loading: string;
  failed: string;
  empty?: ReactNode;
  children: (data: T) => ReactNode;
}) {
  if (state.data === undefined) {
    if (state.loading) return <Loading label={loading} />;
    if (state.error) return <ErrorMessage error={state.error} title={failed} />;
    return null;
  }
  if (empty !== undefined && isEmptyList(state.data)) return <>{empty}</>;
  return <>{children(state.data)}</>;
}
