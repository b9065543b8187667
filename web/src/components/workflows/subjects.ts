// What a condition can be about, built from what exists now: the incident's own fields, each custom field, and
// catalog paths one hop on from catalog fields (from GET /api/v1/expressions/reference, e.g. "Affected services →
// Escalation policy"). Each subject is an expression of the shared language plus what kind of value it gives, so
// the builder offers the operators and value controls that fit.
import type { ConditionOperator } from './api.js';

export type SubjectKind = 'severity' | 'status' | 'person' | 'text' | 'number' | 'options' | 'catalog';

export interface Subject {
  expression: string;
  label: string;
  group: 'Incident' | 'Custom fields' | 'Catalog';
  kind: SubjectKind;
  /** Several values (a multi-entry catalog field, a multi select, a path through one). */
  list: boolean;
  /** For `catalog`: the catalog type's name (type_name) the value picker searches. */
  catalogType?: string;
  /** For `options`: the choices. */
  options?: string[];
}

export interface FieldInfo {
  key: string;
  name: string;
  type: string;
  multiple: boolean;
  options: { label: string }[];
  catalog_type: { id: string; type_name: string; name: string } | null;
}
export interface ReferenceInfo {
  types: { name: string; catalog_type: string | null; members: { name: string; type: string; doc: string }[] }[];
}

const title = (s: string) => s.charAt(0).toUpperCase() + s.slice(1).replace(/_/g, ' ');

export function buildSubjects(fields: FieldInfo[], reference: ReferenceInfo | undefined): Subject[] {
  const out: Subject[] = [
    { expression: 'incident.severity', label: 'Severity', group: 'Incident', kind: 'severity', list: false },
    { expression: 'incident.status', label: 'Status', group: 'Incident', kind: 'status', list: false },
    { expression: 'incident.lead', label: 'Lead', group: 'Incident', kind: 'person', list: false },
    { expression: 'incident.mode', label: 'Mode', group: 'Incident', kind: 'options', list: false, options: ['standard', 'test', 'retrospective'] },
    { expression: 'incident.name', label: 'Name', group: 'Incident', kind: 'text', list: false },
    { expression: 'incident.summary', label: 'Summary', group: 'Incident', kind: 'text', list: false },
  ];
  const catalogTypes = new Set((reference?.types ?? []).filter((t) => t.catalog_type).map((t) => t.name));
  for (const f of fields) {
    const expr = `incident.custom_fields.${f.key}`;
    if (f.type === 'catalog' && f.catalog_type) {
      out.push({ expression: expr, label: f.name, group: 'Custom fields', kind: 'catalog', list: f.multiple, catalogType: f.catalog_type.type_name });
      const t = reference?.types.find((x) => x.name === f.catalog_type!.type_name);
      for (const m of t?.members ?? []) {
        const many = /^list<(.+)>$/.exec(m.type);
        const target = many ? many[1]! : m.type;
        if (!catalogTypes.has(target) || m.name === 'referenced_by') continue;
        out.push({
          expression: f.multiple ? `${expr}.map(x, x.${m.name})` : `${expr}.${m.name}`,
          label: `${f.name} → ${title(m.name)}`,
          group: 'Catalog',
          kind: 'catalog',
          list: f.multiple || !!many,
          catalogType: target,
        });
      }
    } else if (f.type === 'single_select' || f.type === 'multi_select') {
      out.push({ expression: expr, label: f.name, group: 'Custom fields', kind: 'options', list: f.type === 'multi_select', options: f.options.map((o) => o.label) });
    } else if (f.type === 'number') {
      out.push({ expression: expr, label: f.name, group: 'Custom fields', kind: 'number', list: false });
    } else {
      out.push({ expression: expr, label: f.name, group: 'Custom fields', kind: 'text', list: false });
    }
  }
  return out;
}

export function operatorsFor(s: Subject | undefined): ConditionOperator[] {
  if (!s) return ['is', 'is_not', 'is_one_of', 'contains', 'is_set', 'is_not_set', 'at_least', 'at_most'];
  switch (s.kind) {
    case 'severity':
      return ['is', 'is_not', 'is_one_of', 'at_least', 'at_most'];
    case 'status':
      return ['is', 'is_not', 'is_one_of'];
    case 'person':
      return ['is', 'is_not', 'is_set', 'is_not_set'];
    default:
      return s.list ? ['contains', 'is_set', 'is_not_set', 'is', 'is_not', 'is_one_of'] : ['is', 'is_not', 'is_one_of', 'contains', 'is_set', 'is_not_set'];
  }
}

export const takesValue = (op: ConditionOperator) => op !== 'is_set' && op !== 'is_not_set';
export const takesList = (op: ConditionOperator) => op === 'is_one_of';
