// The related-PagerDuty-incident endpoints, for the incident page and the PagerDuty settings page.
import { ApiError } from '../../api.js';

export interface PdLink {
  id: string;
  incident_id: string;
  pagerduty_incident: {
    id: string;
    number: number | null;
    title: string;
    status: string;
    urgency: string | null;
    priority: { id: string; name: string } | null;
    service: { id: string; name: string } | null;
    assignees: { id: string; name: string }[];
    html_url: string | null;
  };
  reason: 'escalation' | 'related' | 'source' | 'grouped';
  related: 'pending' | 'confirmed' | 'rejected' | null;
  mirror: boolean;
}

export interface AutoCreateRule {
  id: string;
  name: string;
  enabled: boolean;
  service_ids: string[] | null;
  team_ids: string[] | null;
  urgencies: ('high' | 'low')[] | null;
  priority_ids: string[] | null;
  create_as: 'triage' | 'live';
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') {
    const session = (await (await fetch('/api/v1/session', { credentials: 'same-origin' })).json()) as { csrf_token?: string };
    headers['content-type'] = 'application/json';
    if (session.csrf_token) headers['x-csrf-token'] = session.csrf_token;
  }
  const res = await fetch(path, { method, headers, credentials: 'same-origin', body: method === 'GET' || method === 'DELETE' ? undefined : JSON.stringify(body ?? {}) });
  if (res.status === 204) return undefined as T;
  const data = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string; details?: { fields?: { path: string; message: string }[] } } } | null;
  if (!res.ok) throw new ApiError(res.status, data?.error?.code ?? 'http_error', data?.error?.message ?? `The server answered ${res.status}.`, data?.error?.details?.fields ?? []);
  return data as T;
}

const base = (incidentId: string) => `/api/v1/incidents/${encodeURIComponent(incidentId)}/pagerduty_incidents`;

export const pagerdutyLinksApi = {
  list: async (incidentId: string) => (await call<{ pagerduty_incidents: PdLink[] }>('GET', base(incidentId))).pagerduty_incidents,
  attach: async (incidentId: string, ref: string) => (await call<{ pagerduty_incident: PdLink }>('POST', base(incidentId), { pagerduty_incident: ref })).pagerduty_incident,
  detach: (incidentId: string, linkId: string) => call<void>('DELETE', `${base(incidentId)}/${encodeURIComponent(linkId)}`),
  related: (incidentId: string, linkId: string, related: boolean) => call<{ pagerduty_incident: PdLink }>('POST', `${base(incidentId)}/${encodeURIComponent(linkId)}/related`, { related }),
  mirror: (incidentId: string, linkId: string, mirror: boolean) => call<{ pagerduty_incident: PdLink }>('PATCH', `${base(incidentId)}/${encodeURIComponent(linkId)}`, { mirror }),
  resolveOpen: (incidentId: string) => call<{ resolved: string[]; skipped: { id: string; reason: string }[] }>('POST', `${base(incidentId)}/resolve`, {}),
  rules: async () => (await call<{ rules: AutoCreateRule[] }>('GET', '/api/v1/integrations/pagerduty/auto_create_rules')).rules,
  addRule: (body: Partial<AutoCreateRule> & { name: string }) => call<{ rule: AutoCreateRule }>('POST', '/api/v1/integrations/pagerduty/auto_create_rules', body),
  updateRule: (id: string, body: Partial<AutoCreateRule>) => call<{ rule: AutoCreateRule }>('PATCH', `/api/v1/integrations/pagerduty/auto_create_rules/${encodeURIComponent(id)}`, body),
  deleteRule: (id: string) => call<void>('DELETE', `/api/v1/integrations/pagerduty/auto_create_rules/${encodeURIComponent(id)}`),
};
