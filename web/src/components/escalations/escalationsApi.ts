// The escalation endpoints, for the incident page, through the app's one request helper (session CSRF token,
// error shape, sign-out on 401).
import { request } from '../../api.js';

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


export const escalationsApi = {
  list: async (incidentId: string) => (await request<{ escalations: Escalation[] }>('GET', `/api/v1/incidents/${encodeURIComponent(incidentId)}/escalations`)).escalations,
  escalate: async (incidentId: string, body: { escalation_policy_ids: string[]; user_ids: string[]; message: string; urgency: 'high' | 'low'; priority_id: string | null; idempotency_key: string }) =>
    (await request<{ escalation: Escalation }>('POST', `/api/v1/incidents/${encodeURIComponent(incidentId)}/escalations`, body)).escalation,
  retry: async (escalationId: string) => (await request<{ escalation: Escalation }>('POST', `/api/v1/escalations/${encodeURIComponent(escalationId)}/retry`)).escalation,
  options: async (type: 'escalation_policy' | 'user' | 'priority', query: string) =>
    (await request<{ options: EscalationOption[] }>('GET', `/api/v1/integrations/pagerduty/escalation_options?type=${type}&limit=20${query ? `&query=${encodeURIComponent(query)}` : ''}`)).options,
};
