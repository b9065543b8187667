// Recent PagerDuty changes of an incident, and pinning one to its timeline.
import { call } from '../../api.js';
import type { Ok } from '../../api/operations.js';

const list = '/api/v1/incidents/{id}/pagerduty_changes';
export type ChangesAnswer = Ok<typeof list, 'get'>;
export type RecentChange = ChangesAnswer['change_events'][number];

export const changesApi = {
  /** `fresh` asks PagerDuty again instead of an answer kept a few seconds. */
  list: (id: string, hours: number, fresh = false) => call('get', list, { params: { id }, query: { hours, ...(fresh ? { refresh: 'true' as const } : {}) } }),
  pin: (id: string, changeId: string) => call('post', '/api/v1/incidents/{id}/pagerduty_changes/{change_id}/pin', { params: { id, change_id: changeId } }),
};
