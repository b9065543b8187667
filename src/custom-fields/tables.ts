// The custom fields' tables, added to the shared Database type by module augmentation.

export interface CustomFieldsTable {
  id: string;
  key: string;
  name: string;
  description: string;
  type: string; // CustomFieldType
  options: string; // JSON: CustomFieldOption[]
  catalog_type_id: string | null;
  multiple: number;
  required_at_declaration: number;
  required_before_close: number;
  show_in_declare: number;
  default_value: string | null; // JSON: CustomFieldValue
  rank: number;
  deleted_at: string | null;
  created_at: string;
  updated_at: string;
}

/** One row per incident, field and value (a multi-valued field has several rows). */
export interface IncidentCustomFieldValuesTable {
  incident_id: string;
  field_id: string;
  /** What filters compare: option id, entry id, the text (long texts by hash), the number as text. */
  value_key: string;
  /** The stored value as JSON: a string or a number. */
  value: string;
  position: number;
}

declare module '../platform/db/schema.js' {
  interface Database {
    custom_fields: CustomFieldsTable;
    incident_custom_field_values: IncidentCustomFieldValuesTable;
  }
}
