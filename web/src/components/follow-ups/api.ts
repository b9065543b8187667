// Typed calls for follow-ups (REST API: /api/v1/incidents/{incident_id}/follow_ups, /api/v1/follow_ups).
import { call } from '../../api.js';
import type { Body, Ok, QueryOf } from '../../api/operations.js';

export type FollowUp = Ok<'/api/v1/follow_ups/{follow_up_id}', 'get'>['follow_up'];
export type FollowUpStatus = FollowUp['status'];
export type FollowUpPriority = FollowUp['priority'];
export type FollowUpInput = Body<'/api/v1/incidents/{incident_id}/follow_ups', 'post'>;
export type FollowUpPatch = Body<'/api/v1/follow_ups/{follow_up_id}', 'patch'>;
export type FollowUpFilters = Omit<QueryOf<'/api/v1/follow_ups', 'get'>, 'limit' | 'cursor'>;

export const FOLLOW_UP_STATUSES: { value: FollowUpStatus; label: string }[] = [
  { value: 'open', label: 'Open' },
  { value: 'done', label: 'Done' },
  { value: 'wont_do', label: "Won't do" },
];
export const FOLLOW_UP_PRIORITIES: { value: FollowUpPriority; label: string }[] = [
  { value: 'urgent', label: 'Urgent' },
  { value: 'high', label: 'High' },
  { value: 'medium', label: 'Medium' },
  { value: 'low', label: 'Low' },
];
export const statusLabel = (s: FollowUpStatus) => FOLLOW_UP_STATUSES.find((x) => x.value === s)?.label ?? s;
export const priorityLabel = (p: FollowUpPriority) => FOLLOW_UP_PRIORITIES.find((x) => x.value === p)?.label ?? p;

/** The query string the list and the CSV export share, so "Download CSV" gives exactly what is shown. */
export function filterQuery(f: FollowUpFilters): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) {
    if (v === undefined || v === null || v === '') continue;
    params.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  return params.toString();
}

export const followUpsApi = {
  forIncident: (incidentId: string) => call('get', '/api/v1/incidents/{incident_id}/follow_ups', { params: { incident_id: incidentId } }).then((r) => r.follow_ups),
  create: (incidentId: string, body: FollowUpInput) => call('post', '/api/v1/incidents/{incident_id}/follow_ups', { params: { incident_id: incidentId }, body }).then((r) => r.follow_up),
  update: (id: string, body: FollowUpPatch) => call('patch', '/api/v1/follow_ups/{follow_up_id}', { params: { follow_up_id: id }, body }).then((r) => r.follow_up),
  list: (filters: FollowUpFilters, page: { limit: number; cursor?: string }) => call('get', '/api/v1/follow_ups', { query: { ...filters, ...page } }),
  csvUrl: (filters: FollowUpFilters) => {
    const qs = filterQuery(filters);
    return `/api/v1/follow_ups/export.csv${qs ? `?${qs}` : ''}`;
  },
};
