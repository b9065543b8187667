// The related-PagerDuty-incident endpoints, for the incident page and the PagerDuty settings page.
import { request } from '../../api.js';

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


const base = (incidentId: string) => `/api/v1/incidents/${encodeURIComponent(incidentId)}/pagerduty_incidents`;

export const pagerdutyLinksApi = {
  list: async (incidentId: string) => (await request<{ pagerduty_incidents: PdLink[] }>('GET', base(incidentId))).pagerduty_incidents,
  attach: async (incidentId: string, ref: string) => (await request<{ pagerduty_incident: PdLink }>('POST', base(incidentId), { pagerduty_incident: ref })).pagerduty_incident,
  detach: (incidentId: string, linkId: string) => request<void>('DELETE', `${base(incidentId)}/${encodeURIComponent(linkId)}`),
  related: (incidentId: string, linkId: string, related: boolean) => request<{ pagerduty_incident: PdLink }>('POST', `${base(incidentId)}/${encodeURIComponent(linkId)}/related`, { related }),
  mirror: (incidentId: string, linkId: string, mirror: boolean) => request<{ pagerduty_incident: PdLink }>('PATCH', `${base(incidentId)}/${encodeURIComponent(linkId)}`, { mirror }),
  resolveOpen: (incidentId: string) => request<{ resolved: string[]; skipped: { id: string; reason: string }[] }>('POST', `${base(incidentId)}/resolve`, {}),
  rules: async () => (await request<{ rules: AutoCreateRule[] }>('GET', '/api/v1/integrations/pagerduty/auto_create_rules')).rules,
  addRule: (body: Partial<AutoCreateRule> & { name: string }) => request<{ rule: AutoCreateRule }>('POST', '/api/v1/integrations/pagerduty/auto_create_rules', body),
  updateRule: (id: string, body: Partial<AutoCreateRule>) => request<{ rule: AutoCreateRule }>('PATCH', `/api/v1/integrations/pagerduty/auto_create_rules/${encodeURIComponent(id)}`, body),
  deleteRule: (id: string) => request<void>('DELETE', `/api/v1/integrations/pagerduty/auto_create_rules/${encodeURIComponent(id)}`),
};
