import { expect } from 'vitest';
import type { Client } from '../helpers.js';

// Shared steps of the custom fields tests: a custom catalog type with entries, made through the catalog API.

export async function catalogType(owner: Client, typeName: string, name: string, entries: string[]): Promise<{ type: { id: string; type_name: string }; entries: Record<string, string> }> {
  const t = await owner.post('/api/v1/catalog_types', { type_name: typeName, name, attributes: [] });
  expect(t.status, JSON.stringify(t.body)).toBe(201);
  const ids: Record<string, string> = {};
  for (const e of entries) {
    const r = await owner.post('/api/v1/catalog_entries', { catalog_type_id: t.body.catalog_type.id, name: e });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    ids[e] = r.body.catalog_entry.id;
  }
  return { type: t.body.catalog_type, entries: ids };
}

export async function defineField(owner: Client, body: Record<string, unknown>): Promise<any> {
  const r = await owner.post('/api/v1/custom_fields', body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.custom_field;
}

/** The incident's value of one field as the API shows it, or undefined. */
export function fieldOf(incident: any, key: string): any {
  return incident.custom_fields.find((f: any) => f.field.key === key);
}

export async function timelineTexts(client: Client, incidentId: string, kind?: string): Promise<string[]> {
  const r = await client.get(`/api/v1/incidents/${incidentId}/timeline`);
  expect(r.status).toBe(200);
  return r.body.items.filter((i: any) => !kind || i.kind === kind).map((i: any) => i.text);
}
