// Typed calls for the PagerDuty connection and the catalog (REST API: /api/v1/integrations/pagerduty,
// /api/v1/catalog_types, /api/v1/catalog_entries, /api/v1/catalog_sync_runs).
import { call } from '../api.js';
import type { Body, Ok, QueryOf } from '../api/operations.js';

/** The connection; only `connected` is set when PagerDuty is not connected. */
export type PagerDutyStatus = Ok<'/api/v1/integrations/pagerduty', 'get'>;
export type PdUser = NonNullable<PagerDutyStatus['bot_user']>;
export type SyncRun = Ok<'/api/v1/catalog_sync_runs/{id}', 'get'>['sync_run'];
export type KeyInput = Required<Pick<Body<'/api/v1/integrations/pagerduty', 'put'>, 'region' | 'base_url' | 'api_key'>>;

/** One connected PagerDuty account (several accounts: docs/pagerduty-accounts.md). */
export type PdAccount = Ok<'/api/v1/integrations/pagerduty/accounts', 'get'>['accounts'][number];

export type CatalogEntry = Ok<'/api/v1/catalog_entries', 'get'>['catalog_entries'][number];

const base = '/api/v1/integrations/pagerduty';

export const pdApi = {
  status: () => call('get', base),
  checkKey: (k: KeyInput, query = '') => call('post', `${base}/check_key`, { body: { ...k, query } }),
  connect: (k: KeyInput, botUserId: string) => call('put', base, { body: { ...k, bot_user_id: botUserId } }),
  update: (body: Body<typeof base, 'patch'>) => call('patch', base, { body }),
  disconnect: () => call('delete', base),
  users: (query: string) => call('get', `${base}/users`, { query: { query } }),
  syncNow: (force = false) => call('post', `${base}/sync`, { body: force ? { force } : {} }),
  run: (id: string) => call('get', '/api/v1/catalog_sync_runs/{id}', { params: { id } }),
  accounts: () => call('get', `${base}/accounts`),
  addAccount: (name: string, k: KeyInput, botUserId: string) => call('post', `${base}/accounts`, { body: { name, ...k, bot_user_id: botUserId } }),
  disconnectAccount: (id: string) => call('delete', `${base}/accounts/{id}`, { params: { id } }),
  syncAccount: (id: string) => call('post', `${base}/accounts/{id}/sync`, { params: { id }, body: {} }),
  runs: (source = 'pagerduty', limit = 10) => call('get', '/api/v1/catalog_sync_runs', { query: { source, limit } }),
};

export const catalogApi = {
  types: () => call('get', '/api/v1/catalog_types'),
  type: (id: string) => call('get', '/api/v1/catalog_types/{id}', { params: { id } }),
  entries: (query: QueryOf<'/api/v1/catalog_entries', 'get'> & { catalog_type_id: string }) => call('get', '/api/v1/catalog_entries', { query }),
  entry: (id: string) => call('get', '/api/v1/catalog_entries/{id}', { params: { id } }),
};

export const TYPE_LABELS: Record<string, string> = {
  users: 'Users',
  teams: 'Teams',
  services: 'Services',
  priorities: 'Priorities',
  escalation_policies: 'Escalation policies',
};
