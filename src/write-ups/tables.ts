// The write-ups module's tables (migration 0023_write_ups), added to the shared Database type by augmentation.

export interface WriteUpsTable {
  incident_id: string;
  markdown: string;
  version: number;
  generated_at: string;
  generated_by_kind: string;
  generated_by_user_id: string | null;
  generated_by_ref: string | null;
  edited_at: string | null;
  updated_at: string;
  updated_by_kind: string;
  updated_by_user_id: string | null;
  updated_by_ref: string | null;
}

export type StoredChecklistItem = 'review' | 'follow_ups';

export interface PostIncidentItemsTable {
  incident_id: string;
  item: StoredChecklistItem;
  done: number; // 0 | 1
  note: string | null;
  actor_kind: string;
  actor_user_id: string | null;
  actor_ref: string | null;
  updated_at: string;
}

export interface PostIncidentChecklistsTable {
  incident_id: string;
  completed_at: string | null;
  updated_at: string;
}

declare module '../platform/db/schema.js' {
  interface Database {
    write_ups: WriteUpsTable;
    post_incident_items: PostIncidentItemsTable;
    post_incident_checklists: PostIncidentChecklistsTable;
  }
}
