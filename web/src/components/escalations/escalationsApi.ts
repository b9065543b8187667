// The escalation endpoints, for the incident page. Writes carry the session's CSRF token, read from
// GET /api/v1/session (the same token the rest of the app uses).
import { ApiError } from '../../api.js';

export type TargetStatus = 'pending' | 'triggered' | 'acknowledged' | 'resolved' | 'failed';

export interface PersonAt {
  id: string;
  name: string;
  at: string;
}

export interface EscalationTarget {
  id: string;
  type: 'escalation_policy' | 'user';
  pagerduty_id: string;
  name: string;
  service: { id: string; name: string } | null;
  status: TargetStatus;
  error: string | null;
  pagerduty_incident: { id: string; number: number | null; html_url: string | null } | null;
  paged: PersonAt[];
  acknowledged_by: PersonAt[];
  triggered_at: string | null;
  acknowledged_at: string | null;
  resolved_at: string | null;
}

export interface Escalation {
  id: string;
  requester: { name: string };
  message: string;
  urgency: 'high' | 'low';
  priority: { id: string; name: string } | null;
  created_at: string;
  targets: EscalationTarget[];
}

export interface EscalationOption {
  id: string;
  name: string;
  email?: string;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') {
    const session = (await (await fetch('/api/v1/session', { credentials: 'same-origin' })).json()) as { csrf_token?: string };
    headers['content-type'] = 'application/json';
    if (session.csrf_token) headers['x-csrf-token'] = session.csrf_token;
  }
  const res = await fetch(path, { method, headers, credentials: 'same-origin', body: method === 'GET' ? undefined : JSON.stringify(body ?? {}) });
  const data = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string; details?: { fields?: { path: string; message: string }[] } } } | null;
  if (!res.ok) throw new ApiError(res.status, data?.error?.code ?? 'http_error', data?.error?.message ?? `The server answered ${res.status}.`, data?.error?.details?.fields ?? []);
  return data as T;
}

export const escalationsApi = {
  list: async (incidentId: string) => (await call<{ escalations: Escalation[] }>('GET', `/api/v1/incidents/${encodeURIComponent(incidentId)}/escalations`)).escalations,
  escalate: async (incidentId: string, body: { escalation_policy_ids: string[]; user_ids: string[]; message: string; urgency: 'high' | 'low'; priority_id: string | null; idempotency_key: string }) =>
    (await call<{ escalation: Escalation }>('POST', `/api/v1/incidents/${encodeURIComponent(incidentId)}/escalations`, body)).escalation,
  retry: async (escalationId: string) => (await call<{ escalation: Escalation }>('POST', `/api/v1/escalations/${encodeURIComponent(escalationId)}/retry`)).escalation,
  options: async (type: 'escalation_policy' | 'user' | 'priority', query: string) =>
    (await call<{ options: EscalationOption[] }>('GET', `/api/v1/integrations/pagerduty/escalation_options?type=${type}&limit=20${query ? `&query=${encodeURIComponent(query)}` : ''}`)).options,
};
