// Typed calls for the PagerDuty connection and the catalog (REST API: /api/v1/integrations/pagerduty,
// /api/v1/catalog_types, /api/v1/catalog_entries, /api/v1/catalog_sync_runs).
import { request } from '../api.js';

export interface PdUser {
  id: string;
  name: string;
  email: string;
}

export interface TypeStats {
  fetched: number;
  created: number;
  updated: number;
  archived: number;
  unchanged: number;
  skipped_by_marker: number;
  /** Entries the listing could not reach, checked one by one. */
  looked_up: number;
  complete: boolean;
  error: string | null;
  warnings: string[];
}

export interface SyncRun {
  id: string;
  source: string;
  trigger: string;
  status: 'queued' | 'running' | 'succeeded' | 'partial' | 'failed' | 'stopped' | 'abandoned' | 'cancelled';
  forced: boolean;
  types: string[];
  stats: Record<string, TypeStats>;
  progress: Record<string, { fetched: number; total: number | null }>;
  requests: number;
  rows_written: number | null;
  errors: string[];
  /** Known limits of a run that still succeeded, each prefixed with its type key. */
  warnings: string[];
  stop_reason: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface PagerDutyStatus {
  connected: boolean;
  status?: string;
  region?: 'us' | 'eu';
  base_url?: string | null;
  api_key?: string | null;
  bot_user?: PdUser;
  sync_intervals_minutes?: Record<string, number>;
  archive_threshold?: number;
  connected_at?: string;
  last_run?: SyncRun | null;
}

export interface KeyInput {
  region: 'us' | 'eu';
  base_url: string | null;
  api_key: string;
}

export interface CatalogAttribute {
  id: string;
  name: string;
  type: string;
  array: boolean;
  reference_type: string | null;
}

export interface CatalogType {
  id: string;
  type_name: string;
  name: string;
  description: string;
  source: string;
  read_only: boolean;
  syncing: boolean;
  sync_interval_minutes: number | null;
  last_synced_at: string | null;
  attributes: CatalogAttribute[];
  entry_count?: number;
}

export interface CatalogEntry {
  id: string;
  type_id: string;
  external_id: string;
  name: string;
  aliases: string[];
  attribute_values: Record<string, unknown>;
  external_url: string | null;
  archived_at: string | null;
}

export interface EntryLink {
  kind: 'entry' | 'user';
  id: string;
  name: string;
  type_id?: string;
  archived?: boolean;
  email?: string;
}

export interface EntryDetail {
  catalog_entry: CatalogEntry;
  catalog_type: CatalogType;
  attributes: { attribute: CatalogAttribute; value: unknown; links: EntryLink[] }[];
  backlinks: { type: { id: string; name: string }; attribute: { id: string; name: string }; entries: { id: string; name: string; archived: boolean }[] }[];
}

const base = '/api/v1/integrations/pagerduty';
const qs = (q: Record<string, string | number | undefined>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
};

export const pdApi = {
  status: () => request<PagerDutyStatus>('GET', base),
  checkKey: (k: KeyInput, query = '') => request<{ ok: true; users: PdUser[]; more: boolean }>('POST', `${base}/check_key`, { ...k, query }),
  connect: (k: KeyInput, botUserId: string) => request<PagerDutyStatus>('PUT', base, { ...k, bot_user_id: botUserId }),
  update: (patch: { bot_user_id?: string }) => request<PagerDutyStatus>('PATCH', base, patch),
  disconnect: () => request<void>('DELETE', base, {}),
  users: (query: string) => request<{ users: PdUser[]; more: boolean }>('GET', `${base}/users${qs({ query })}`),
  syncNow: (force = false) => request<{ run: SyncRun }>('POST', `${base}/sync`, force ? { force } : {}),
  run: (id: string) => request<{ sync_run: SyncRun }>('GET', `/api/v1/catalog_sync_runs/${encodeURIComponent(id)}`),
  runs: (source = 'pagerduty', limit = 10) => request<{ sync_runs: SyncRun[] }>('GET', `/api/v1/catalog_sync_runs${qs({ source, limit })}`),
};

export const catalogApi = {
  types: () => request<{ catalog_types: CatalogType[] }>('GET', '/api/v1/catalog_types'),
  type: (id: string) => request<{ catalog_type: CatalogType }>('GET', `/api/v1/catalog_types/${encodeURIComponent(id)}`),
  entries: (q: { catalog_type_id: string; search?: string; archived?: 'exclude' | 'include' | 'only'; cursor?: string; limit?: number }) =>
    request<{ catalog_entries: CatalogEntry[]; next_cursor: string | null }>('GET', `/api/v1/catalog_entries${qs(q)}`),
  entry: (id: string) => request<EntryDetail>('GET', `/api/v1/catalog_entries/${encodeURIComponent(id)}`),
};

export const TYPE_LABELS: Record<string, string> = {
  users: 'Users',
  teams: 'Teams',
  services: 'Services',
  priorities: 'Priorities',
  escalation_policies: 'Escalation policies',
};
