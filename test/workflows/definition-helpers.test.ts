import { describe, expect, it } from 'vitest';
import { compileWith } from '../../src/expressions/compile.js';
import { buildEnvironment } from '../../src/expressions/environment.js';
import { ExpressionError } from '../../src/expressions/errors.js';
import { RunState, withRun, type EvaluationContext, type LoadedEntry } from '../../src/expressions/runtime.js';
import type { Schema, SchemaAttribute } from '../../src/expressions/schema.js';
import { rebaseError, withBindings } from '../../src/workflows/bindings.js';
import { ConditionError, conditionExpression, describeCondition, groupsExpression, subjectExpression } from '../../src/workflows/conditions.js';
import type { Condition } from '../../src/workflows/model.js';
import { parseTemplate, renderValue, TemplateError } from '../../src/workflows/template.js';

// The pure helpers workflows are built on, against the real expression environment (cel-js): conditions become
// expressions that type-check and give the right answer on an incident, and sentences; templates split into text
// and expressions; `item` and `inputs` are bound with cel.bind and errors point back at the person's text.

const t = (id: string, typeName: string, name: string, attributes: SchemaAttribute[]) => ({
  id, typeName, name, description: '', source: 'custom', attributes, syncIntervalMs: null, syncing: false, lastSyncedAt: null, readOnly: false, createdAt: '', updatedAt: '',
});
const schema: Schema = {
  types: [
    t('T-svc', 'PagerDutyService', 'PagerDuty Service', [
      { id: 'escalation_policy', name: 'Escalation policy', type: 'reference', array: false, referenceType: 'PagerDutyEscalationPolicy' },
    ]),
    t('T-pol', 'PagerDutyEscalationPolicy', 'PagerDuty Escalation Policy', []),
  ],
  fields: [
    { id: 'f1', key: 'affected_services', name: 'Affected services', type: 'catalog', options: [], catalogTypeId: 'T-svc', catalogTypeName: 'PagerDutyService', multiple: true },
    { id: 'f2', key: 'service', name: 'Service', type: 'catalog', options: [], catalogTypeId: 'T-svc', catalogTypeName: 'PagerDutyService', multiple: false },
    { id: 'f3', key: 'impact', name: 'Impact', type: 'single_select', options: [{ id: 'o1', label: 'High' }, { id: 'o2', label: 'Low' }], catalogTypeId: null, catalogTypeName: null, multiple: false },
    { id: 'f4', key: 'customers', name: 'Customers', type: 'number', options: [], catalogTypeId: null, catalogTypeName: null, multiple: false },
  ],
  severities: [
    { id: 'sev-minor', name: 'Minor', rank: 1 },
    { id: 'sev-major', name: 'Major', rank: 2 },
    { id: 'sev-critical', name: 'Critical', rank: 3 },
  ],
};
const built = buildEnvironment(schema, 'test');
const severities = schema.severities;
const e = (id: string, typeId: string, name: string, externalId: string, attributes: Record<string, unknown> = {}): LoadedEntry => ({ id, typeId, name, externalId, archived: false, url: null, attributes });

function ctx(over: { severity?: string; lead?: boolean; services?: string[]; service?: string | null; customers?: number } = {}): EvaluationContext {
  const entries = [e('s1', 'T-svc', 'checkout-api', 'PSVC1', { escalation_policy: 'p1' }), e('s2', 'T-svc', 'search', 'PSVC2', { escalation_policy: 'p2' }), e('p1', 'T-pol', 'Checkout policy', 'PPOL1'), e('p2', 'T-pol', 'Search policy', 'PPOL2')];
  const sev = severities.find((s) => s.name === (over.severity ?? 'Major'))!;
  const values = new Map<string, string | number | string[]>([['affected_services', over.services ?? ['s1', 's2']], ['impact', 'o1']]);
  if (over.service !== null) values.set('service', over.service ?? 's1');
  if (over.customers !== undefined) values.set('customers', over.customers);
  return {
    version: 'test',
    incident: { id: 'i1', reference: 'INC-1', name: 'Checkout down', summary: '', severity: sev, status: { name: 'Investigating', category: 'live' }, mode: 'standard', lead: over.lead ? { id: 'u1', name: 'Ann Lee', email: 'ann@example.com' } : null, createdAt: '2024-01-01T00:00:00.000Z', updatedAt: '2024-01-01T00:00:00.000Z' },
    customValues: values,
    actor: { kind: 'user', name: 'Ann', email: 'ann@example.com' },
    severities,
    entries: new Map(entries.map((x) => [x.id, x])),
    unloaded: new Set(),
    backlinks: new Map(),
    backlinksLoaded: new Set(),
    stats: { entries: 4, depth: 1, truncated: false, loadMs: 0, queries: 0 },
  } as EvaluationContext;
}

function run(src: string, c = ctx()): unknown {
  const compiled = compileWith(built, src, 'any');
  const s = new RunState(c, (id) => built.typesById.get(id)?.ctor, (id) => built.typesById.get(id)!.type.name, { timeMs: 50, maxItems: 10_000, maxChars: 100_000 });
  const k = built.ctors;
  const i = c.incident;
  const vars = {
    incident: new k.Incident({
      id: i.id, reference: i.reference, name: i.name, summary: i.summary, mode: i.mode,
      severity: new k.Severity({ name: i.severity.name, rank: BigInt(i.severity.rank) }),
      status: new k.Status({ name: i.status.name, category: i.status.category }),
      lead: i.lead ? new k.Person({ name: i.lead.name, email: i.lead.email }) : undefined,
      created_at: new Date(i.createdAt), updated_at: new Date(i.updatedAt), custom_fields: new k.CustomFields(s),
    }),
    actor: new k.Actor({ kind: 'user', name: 'Ann' }),
  };
  return withRun(s, () => compiled.fn(vars));
}
const typeOf = (src: string) => compileWith(built, src, 'any').type;

/** The condition as an expression typed by its subject, checked as a bool, evaluated on the incident. */
function holds(c: Condition, incident = ctx()): boolean {
  const subject = subjectExpression(c);
  const expr = conditionExpression(c, { severities, subjectType: subject ? typeOf(subject) : undefined });
  expect(compileWith(built, expr, 'bool').type).toBe('bool');
  return run(expr, incident) as boolean;
}

describe('conditions', () => {
  it('compares severities by rank with at least / at most, by name with is / is one of', () => {
    const atLeast: Condition = { subject: 'incident.severity', operator: 'at_least', value: 'Critical' };
    expect(conditionExpression(atLeast, { severities, subjectType: 'firebreak.Severity' })).toBe('has(incident.severity) && incident.severity.rank >= severity("Critical").rank');
    expect(holds(atLeast, ctx({ severity: 'Critical' }))).toBe(true);
    expect(holds(atLeast, ctx({ severity: 'Major' }))).toBe(false);
    expect(holds({ subject: 'incident.severity', operator: 'at_most', value: 'Major' }, ctx({ severity: 'Minor' }))).toBe(true);
    expect(holds({ subject: 'incident.severity', operator: 'at_most', value: 'Major' }, ctx({ severity: 'Critical' }))).toBe(false);
    expect(holds({ subject: 'incident.severity', operator: 'is', value: 'Major' })).toBe(true);
    expect(holds({ subject: 'incident.severity', operator: 'is_not', value: 'Major' })).toBe(false);
    expect(holds({ subject: 'incident.severity', operator: 'is_one_of', value: ['Minor', 'Critical'] })).toBe(false);
    // without a type, the incident's own fields are known by their path
    expect(conditionExpression(atLeast, { severities })).toBe('has(incident.severity) && incident.severity.rank >= severity("Critical").rank');
  });

  it('matches catalog entries by Firebreak id, external id or name; lists when any item matches', () => {
    const field = 'incident.custom_fields.affected_services';
    expect(holds({ subject: field, operator: 'contains', value: 'search' })).toBe(true);
    expect(holds({ subject: field, operator: 'is', value: 'PSVC1' })).toBe(true);
    expect(holds({ subject: field, operator: 'is', value: 's2' })).toBe(true);
    expect(holds({ subject: field, operator: 'is', value: 'billing' })).toBe(false);
    expect(holds({ subject: field, operator: 'is_one_of', value: ['billing', 'checkout-api'] })).toBe(true);
    expect(holds({ subject: field, operator: 'is_one_of', value: ['billing', 'checkout-api'] }, ctx({ services: ['s2'] }))).toBe(false);
    expect(holds({ subject: field, operator: 'is_not', value: 'checkout-api' }, ctx({ services: ['s2'] }))).toBe(true);
    expect(holds({ subject: field, operator: 'is_set' }, ctx({ services: [] }))).toBe(false);
    expect(holds({ subject: field, operator: 'is_not_set' }, ctx({ services: [] }))).toBe(true);
    // a single entry, absent or present
    expect(holds({ subject: 'incident.custom_fields.service', operator: 'is', value: 'PSVC1' })).toBe(true);
    expect(holds({ subject: 'incident.custom_fields.service', operator: 'is', value: 'PSVC1' }, ctx({ service: null }))).toBe(false);
    expect(holds({ subject: 'incident.custom_fields.service', operator: 'is_not', value: 'PSVC1' }, ctx({ service: null }))).toBe(true);
    expect(holds({ subject: 'incident.custom_fields.service', operator: 'is_set' }, ctx({ service: null }))).toBe(false);
    // a path through the catalog
    expect(holds({ subject: 'incident.custom_fields.affected_services.map(s, s.escalation_policy)', operator: 'contains', value: 'Search policy' })).toBe(true);
  });

  it('compares people by email, absent leads are not set, options and numbers as they are', () => {
    expect(holds({ subject: 'incident.lead', operator: 'is', value: 'ann@example.com' }, ctx({ lead: true }))).toBe(true);
    expect(holds({ subject: 'incident.lead', operator: 'is', value: 'ann@example.com' }, ctx({ lead: false }))).toBe(false);
    expect(holds({ subject: 'incident.lead', operator: 'is_not_set' }, ctx({ lead: false }))).toBe(true);
    expect(holds({ subject: 'incident.custom_fields.impact', operator: 'is', value: 'High' })).toBe(true);
    expect(holds({ subject: 'incident.name', operator: 'contains', value: 'Checkout' })).toBe(true);
    expect(holds({ subject: 'incident.custom_fields.customers', operator: 'at_least', value: 100 }, ctx({ customers: 150 }))).toBe(true);
    expect(holds({ subject: 'incident.custom_fields.customers', operator: 'is', value: 150 }, ctx({ customers: 150 }))).toBe(true);
    expect(holds({ subject: 'incident.custom_fields.customers', operator: 'is_set' })).toBe(false);
  });

  it('refuses what cannot be a condition, saying why', () => {
    expect(() => conditionExpression({ subject: 'incident.severity', operator: 'at_least', value: 'Sev0' }, { severities })).toThrow(/"Sev0" is not a severity \(there are: Minor, Major, Critical\)/);
    expect(() => conditionExpression({ subject: 'incident.severity', operator: 'is' }, { severities })).toThrow(ConditionError);
    expect(() => conditionExpression({ subject: 'incident.custom_fields.service', operator: 'contains', value: 'x' }, { severities, subjectType: 'PagerDutyService' })).toThrow(/needs text or a list/);
    expect(() => conditionExpression({ subject: 'incident.custom_fields.impact', operator: 'at_least', value: 'x' }, { severities, subjectType: 'string' })).toThrow(/compares severities/);
  });

  it('groups: all in a group, any group; "true" without groups; raw expressions as written', () => {
    expect(groupsExpression([], { severities })).toBe('true');
    expect(groupsExpression(undefined, { severities })).toBe('true');
    const groups = [
      { all: [{ subject: 'incident.severity', operator: 'is', value: 'Critical' } as Condition, { expression: 'incident.mode == "standard"' }] },
      { all: [{ subject: 'incident.name', operator: 'contains', value: 'Checkout' } as Condition] },
    ];
    const g = groupsExpression(groups, { severities });
    expect(g).toBe('((has(incident.severity) && incident.severity.name == "Critical") && (incident.mode == "standard")) || ((has(incident.name) && incident.name.contains("Checkout")))');
    expect(run(g)).toBe(true);
    expect(run(groupsExpression([groups[0]!], { severities }))).toBe(false);
    expect(subjectExpression({ expression: 'true' })).toBeNull();
  });

  it('says each condition in words', () => {
    expect(describeCondition({ subject: 'incident.severity', operator: 'at_least', value: 'Critical' })).toBe('Severity is at least Critical');
    expect(describeCondition({ subject: 'incident.custom_fields.affected_services', operator: 'is_one_of', value: ['checkout-api', 'search'] })).toBe('Affected services is one of checkout-api, search');
    expect(describeCondition({ subject: 'incident.custom_fields.svc', operator: 'is_set' }, { fieldNames: { svc: 'Service' } })).toBe('Service is set');
    expect(describeCondition({ subject: 'incident.lead', operator: 'is_not_set' })).toBe('Lead is not set');
    expect(describeCondition({ expression: 'size(incident.custom_fields.affected_services) > 1' })).toBe('size(incident.custom_fields.affected_services) > 1 is true');
  });
});

describe('templates', () => {
  it('splits text and {{ expressions }}, with the offset of each expression', () => {
    const text = 'Paging {{ item.name }} for {{incident.reference}}!';
    const parts = parseTemplate(text);
    expect(parts).toEqual([{ text: 'Paging ' }, { expression: 'item.name', offset: 10 }, { text: ' for ' }, { expression: 'incident.reference', offset: 29 }, { text: '!' }]);
    for (const p of parts) if ('expression' in p) expect(text.slice(p.offset, p.offset + p.expression.length)).toBe(p.expression);
    expect(parseTemplate('no variables')).toEqual([{ text: 'no variables' }]);
    expect(parseTemplate('')).toEqual([]);
  });

  it('finds the closing braces outside strings and map literals', () => {
    expect(parseTemplate('{{ {"a": {"b": "}}"}}.a.b }}')).toEqual([{ expression: '{"a": {"b": "}}"}}.a.b', offset: 3 }]);
  });

  it('refuses an unclosed or empty {{, with 400 and where', () => {
    for (const bad of ['Hello {{ incident.name', 'Hello {{ "}} }}', 'x {{   }} y']) {
      try {
        parseTemplate(bad);
        throw new Error(`accepted ${bad}`);
      } catch (err) {
        expect(err).toBeInstanceOf(TemplateError);
        expect((err as TemplateError).status).toBe(400);
        expect((err as TemplateError).details).toMatchObject({ position: { offset: bad.indexOf('{{') } });
      }
    }
  });

  it('renders values as text: entries and people by name, lists joined, null empty', () => {
    expect(renderValue(null)).toBe('');
    expect(renderValue(undefined)).toBe('');
    expect(renderValue('x')).toBe('x');
    expect(renderValue(3)).toBe('3');
    expect(renderValue(true)).toBe('true');
    expect(renderValue({ id: 's1', name: 'checkout-api', type: 'PagerDuty Service' })).toBe('checkout-api');
    expect(renderValue({ name: 'Ann Lee', email: 'ann@example.com' })).toBe('Ann Lee');
    expect(renderValue({ email: 'ann@example.com' })).toBe('ann@example.com');
    expect(renderValue([{ id: 's1', name: 'checkout-api', type: 'T' }, { id: 's2', name: 'search', type: 'T' }])).toBe('checkout-api, search');
    expect(renderValue({ a: 1 })).toBe('{"a":1}');
  });
});

describe('bindings (cel.bind)', () => {
  const forEach = 'incident.custom_fields.affected_services';
  it('binds item to the for-each list item, typed as its element', () => {
    const b = withBindings('item.escalation_policy', { forEach });
    expect(typeOf(b.source)).toBe('PagerDutyEscalationPolicy');
    const v = run(withBindings('item.escalation_policy.name', { forEach, itemIndex: 1 }).source);
    expect(v).toBe('Search policy');
    expect(run(withBindings('item.name', { forEach, itemIndex: 0 }).source)).toBe('checkout-api');
  });

  it('binds inputs to the form values (placeholders of their type when checking)', () => {
    const form = [{ key: 'reason', label: 'Reason', type: 'text' as const }, { key: 'count', label: 'Count', type: 'number' as const }];
    expect(typeOf(withBindings('inputs.reason + "!"', { inputs: form }).source)).toBe('string');
    expect(typeOf(withBindings('inputs.count + 1.0', { inputs: form }).source)).toBe('double');
    expect(run(withBindings('inputs.reason + " (" + string(inputs.count) + ")"', { inputs: { reason: 'say "hi"\n', count: 3 } }).source)).toBe('say "hi"\n (3)');
    // both at once, and a trailing comment in the person's text stays theirs
    expect(run(withBindings('item.name + ": " + inputs.reason // why', { forEach, itemIndex: 1, inputs: { reason: 'r' } }).source)).toBe('search: r');
  });

  it('points errors back at the person text', () => {
    const text = 'item.escalation_polcy';
    const b = withBindings(text, { forEach, inputs: [] });
    try {
      compileWith(built, b.source, 'any');
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(ExpressionError);
      const r = rebaseError(err as ExpressionError, text, b.offset);
      expect(r.info.position).toEqual({ offset: 5, line: 1, column: 6 });
      expect(r.info.reason).toBe('unknown_field');
      expect(r.message).toMatch(/has no field "escalation_polcy" \(line 1, column 6\)/);
    }
    // without bindings `item` does not exist
    expect(() => compileWith(built, 'item.name', 'any')).toThrow(/Unknown variable "item"/);
  });
});
