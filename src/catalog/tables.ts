// The catalog's tables, added to the shared Database type by module augmentation.

export interface CatalogTypesTable {
  id: string;
  type_name: string;
  name: string;
  description: string;
  source: string; // 'custom' | integration kind (e.g. 'pagerduty')
  attributes: string; // JSON: CatalogAttribute[]
  sync_interval_ms: number | null;
  syncing: number; // 1 while an integration keeps this type in sync
  last_synced_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface CatalogEntriesTable {
  id: string;
  type_id: string;
  external_id: string;
  name: string;
  name_lower: string;
  aliases: string; // JSON string[]
  attributes: string; // JSON: attribute id -> value
  external_url: string | null;
  archived_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface CatalogEntryRefsTable {
  from_entry_id: string;
  attribute_id: string;
  to_entry_id: string;
}

export interface CatalogSyncRunsTable {
  id: string;
  source: string;
  trigger: string;
  status: 'queued' | 'running' | 'succeeded' | 'partial' | 'failed' | 'stopped' | 'abandoned' | 'cancelled';
  forced: number;
  types: string; // JSON string[]
  stats: string; // JSON: type key -> TypeRunStats
  progress: string; // JSON: type key -> { fetched, total }
  requests: number;
  errors: string; // JSON string[]
  stop_reason: string | null;
  requested_by: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  heartbeat_at: string | null;
}

export interface CatalogSyncLocksTable {
  source: string;
  run_id: string;
  expires_at: string;
}

declare module '../platform/db/schema.js' {
  interface Database {
    catalog_types: CatalogTypesTable;
    catalog_entries: CatalogEntriesTable;
    catalog_entry_refs: CatalogEntryRefsTable;
    catalog_sync_runs: CatalogSyncRunsTable;
    catalog_sync_locks: CatalogSyncLocksTable;
  }
}
