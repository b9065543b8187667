// The escalation endpoints, for the incident page, through the app's one request helper (session CSRF token,
// error shape, sign-out on 401).
import { call } from '../../api.js';
import type { Body, Ok, QueryOf } from '../../api/operations.js';

export type Escalation = Ok<'/api/v1/incidents/{id}/escalations', 'get'>['escalations'][number];
export type EscalationTarget = Escalation['targets'][number];
export type EscalationOption = Ok<'/api/v1/integrations/pagerduty/escalation_options', 'get'>['options'][number];
export type EscalateInput = Body<'/api/v1/incidents/{id}/escalations', 'post'>;
type OptionType = QueryOf<'/api/v1/integrations/pagerduty/escalation_options', 'get'>['type'];

export const escalationsApi = {
  list: async (id: string) => (await call('get', '/api/v1/incidents/{id}/escalations', { params: { id } })).escalations,
  escalate: async (id: string, body: EscalateInput) => (await call('post', '/api/v1/incidents/{id}/escalations', { params: { id }, body })).escalation,
  retry: async (id: string) => (await call('post', '/api/v1/escalations/{id}/retry', { params: { id } })).escalation,
  /** Policies, users, priorities, services or teams from the synced catalog, by name (or exactly by PagerDuty id). */
  options: async (type: OptionType, query: string, limit = 20) =>
    (await call('get', '/api/v1/integrations/pagerduty/escalation_options', { query: { type, limit, query } })).options,
};
