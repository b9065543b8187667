// Who is on call now (GET /api/v1/integrations/pagerduty/oncall), through the app's one request helper.
import { call } from '../../api.js';
import type { Ok } from '../../api/operations.js';

export type OnCallAnswer = Ok<'/api/v1/integrations/pagerduty/oncall', 'get'>['oncall'];
export type OnCallKind = OnCallAnswer['subject']['type'];

const param: Record<OnCallKind, 'service_id' | 'escalation_policy_id' | 'team_id' | 'schedule_id'> = {
  service: 'service_id',
  escalation_policy: 'escalation_policy_id',
  team: 'team_id',
  schedule: 'schedule_id',
};

export const oncallApi = {
  get: async (kind: OnCallKind, pagerdutyId: string) => (await call('get', '/api/v1/integrations/pagerduty/oncall', { query: { [param[kind]]: pagerdutyId } })).oncall,
};

/** The catalog types that have an "On call now" card, by PagerDuty catalog type name. */
export const ONCALL_KIND_BY_TYPE: Record<string, OnCallKind> = {
  PagerDutyService: 'service',
  PagerDutyEscalationPolicy: 'escalation_policy',
  PagerDutyTeam: 'team',
  PagerDutySchedule: 'schedule',
};
