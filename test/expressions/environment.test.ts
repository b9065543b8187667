import { describe, expect, it } from 'vitest';
import { compileWith } from '../../src/expressions/compile.js';
import { buildEnvironment } from '../../src/expressions/environment.js';
import { ExpressionCostError, ExpressionError } from '../../src/expressions/errors.js';
import { RunState, withRun, type EvaluationContext, type LoadedEntry } from '../../src/expressions/runtime.js';
import type { Schema, SchemaAttribute } from '../../src/expressions/schema.js';

// The environment builder on a hand-made schema: catalog types become CEL types with their attributes, references
// are typed as the referenced type, derived attributes like their end, backlinks as `referenced_by`, custom fields
// by their type; and a check refuses what does not exist, saying what does.

const t = (id: string, typeName: string, name: string, attributes: SchemaAttribute[]) => ({
  id, typeName, name, description: '', source: 'custom', attributes, syncIntervalMs: null, syncing: false, lastSyncedAt: null, readOnly: false, createdAt: '', updatedAt: '',
});
const ref = (id: string, name: string, to: string, array: boolean): SchemaAttribute => ({ id, name, type: 'reference', array, referenceType: to });

const schema: Schema = {
  types: [
    t('T-svc', 'PagerDutyService', 'PagerDuty Service', [
      { id: 'name', name: 'Name', type: 'string', array: false },
      { id: 'status', name: 'Status', type: 'string', array: false },
      ref('escalation_policy', 'Escalation policy', 'PagerDutyEscalationPolicy', false),
      ref('teams', 'Teams', 'PagerDutyTeam', true),
    ]),
    t('T-pol', 'PagerDutyEscalationPolicy', 'PagerDuty Escalation Policy', [ref('teams', 'Teams', 'PagerDutyTeam', true)]),
    t('T-team', 'PagerDutyTeam', 'PagerDuty Team', [{ id: 'description', name: 'Description', type: 'text', array: false }]),
    t('T-prod', 'Product', 'Product', [
      { id: '0190f1a2-1111-7000-8000-000000000001', name: 'Tier level', type: 'number', array: false },
      ref('services', 'Services', 'PagerDutyService', true),
      { id: 'policies', name: 'Policies', type: 'derived', array: true, referenceType: 'PagerDutyEscalationPolicy', path: ['services', 'escalation_policy'] },
    ]),
  ],
  fields: [
    { id: 'f1', key: 'affected_services', name: 'Affected services', type: 'catalog', options: [], catalogTypeId: 'T-svc', catalogTypeName: 'PagerDutyService', multiple: true },
    { id: 'f2', key: 'product', name: 'Product', type: 'catalog', options: [], catalogTypeId: 'T-prod', catalogTypeName: 'Product', multiple: false },
    { id: 'f3', key: 'impact', name: 'Impact', type: 'single_select', options: [{ id: 'o1', label: 'High' }, { id: 'o2', label: 'Low' }], catalogTypeId: null, catalogTypeName: null, multiple: false },
    { id: 'f4', key: 'regions', name: 'Regions', type: 'multi_select', options: [{ id: 'r1', label: 'EU' }, { id: 'r2', label: 'US' }], catalogTypeId: null, catalogTypeName: null, multiple: false },
    { id: 'f5', key: 'customers', name: 'Customers', type: 'number', options: [], catalogTypeId: null, catalogTypeName: null, multiple: false },
  ],
  severities: [
    { id: 'sev-minor', name: 'Minor', rank: 1 },
    { id: 'sev-major', name: 'Major', rank: 2 },
    { id: 'sev-critical', name: 'Critical', rank: 3 },
  ],
};

const built = buildEnvironment(schema, 'test');
const typeOf = (src: string) => compileWith(built, src, 'any').type;
function refused(src: string): ExpressionError {
  try {
    compileWith(built, src, 'any');
  } catch (e) {
    if (e instanceof ExpressionError) return e;
    throw e;
  }
  throw new Error(`accepted: ${src}`);
}

const e = (id: string, typeId: string, name: string, attributes: Record<string, unknown> = {}): LoadedEntry => ({ id, typeId, name, externalId: id, archived: false, url: null, attributes });
function ctx(): EvaluationContext {
  const entries = [
    e('s1', 'T-svc', 'Checkout', { escalation_policy: 'p1', teams: ['tm1'] }),
    e('s2', 'T-svc', 'Search', { escalation_policy: 'p2', teams: ['tm2'] }),
    e('p1', 'T-pol', 'Payments policy', { teams: ['tm1'] }),
    e('p2', 'T-pol', 'Search policy', { teams: ['tm2'] }),
    e('tm1', 'T-team', 'Payments'),
    e('tm2', 'T-team', 'Discovery'),
    e('pr1', 'T-prod', 'Shop', { '0190f1a2-1111-7000-8000-000000000001': 2, services: ['s1', 's2'] }),
  ];
  return {
    version: 'test',
    incident: { id: 'i1', reference: 'INC-1', name: 'Checkout down', summary: '', severity: { id: 'sev-major', name: 'Major', rank: 2 }, status: { name: 'Investigating', category: 'live' }, mode: 'standard', lead: null, createdAt: '2024-01-01T00:00:00.000Z', updatedAt: '2024-01-01T00:00:00.000Z' },
    customValues: new Map<string, string | number | string[]>([['affected_services', ['s1', 's2']], ['product', 'pr1'], ['impact', 'o1'], ['regions', ['r2']]]),
    actor: { kind: 'user', name: 'Ann', email: 'ann@example.com' },
    severities: schema.severities,
    entries: new Map(entries.map((x) => [x.id, x])),
    unloaded: new Set(),
    backlinks: new Map([['tm1', [{ fromId: 's1', attributeId: 'teams' }, { fromId: 'p1', attributeId: 'teams' }]], ['tm2', [{ fromId: 's2', attributeId: 'teams' }]]]),
    backlinksLoaded: new Set(['tm1', 'tm2']),
    stats: { entries: 7, depth: 3, truncated: false, loadMs: 0, queries: 0 },
  };
}
function run(src: string, c = ctx(), timeMs = 50) {
  const compiled = compileWith(built, src, 'any');
  const s = new RunState(c, (id) => built.typesById.get(id)?.ctor, (id) => built.typesById.get(id)!.type.name, { timeMs, maxItems: 10_000, maxChars: 100_000 });
  const k = built.ctors;
  const vars = {
    incident: new k.Incident({ name: c.incident.name, severity: new k.Severity({ name: 'Major', rank: 2n }), lead: undefined, custom_fields: new k.CustomFields(s), created_at: new Date(c.incident.createdAt) }),
    actor: new k.Actor({ kind: 'user', name: 'Ann' }),
  };
  const value = withRun(s, () => compiled.fn(vars));
  return { value, s };
}
const names = (v: unknown) => (v as { $e: { name: string } }[]).map((x) => x.$e.name);

describe('environment builder', () => {
  it('types catalog references as the referenced type, lists when the attribute is an array', () => {
    expect(typeOf('incident.custom_fields.affected_services')).toBe('list<PagerDutyService>');
    expect(typeOf('incident.custom_fields.affected_services[0].escalation_policy')).toBe('PagerDutyEscalationPolicy');
    expect(typeOf('incident.custom_fields.affected_services.map(s, s.escalation_policy.teams)')).toBe('list<list<PagerDutyTeam>>');
    expect(typeOf('incident.custom_fields.product.policies')).toBe('list<PagerDutyEscalationPolicy>');
    expect(typeOf('incident.custom_fields.impact')).toBe('string');
    expect(typeOf('incident.custom_fields.regions')).toBe('list<string>');
    expect(typeOf('incident.custom_fields.customers')).toBe('double');
    expect(typeOf('incident.severity.rank >= severity("Critical").rank')).toBe('bool');
  });

  it('reaches an attribute whose id is not an identifier by the slug of its name', () => {
    expect(typeOf('incident.custom_fields.product.tier_level')).toBe('double');
    expect(run('incident.custom_fields.product.tier_level').value).toBe(2);
  });

  it('evaluates the three hops, a derived attribute and backlinks, recording the path', () => {
    const r = run('incident.custom_fields.affected_services.map(s, s.escalation_policy).filter(p, p.teams.exists(t, t.name == "Payments"))');
    expect(names(r.value)).toEqual(['Payments policy']);
    expect(r.s.visited.map((v) => `${v.name} <- ${v.via}`)).toContain('Payments policy <- incident.custom_fields.affected_services → Checkout.escalation_policy');
    expect(names(run('incident.custom_fields.product.policies').value)).toEqual(['Payments policy', 'Search policy']);
    const back = run('incident.custom_fields.affected_services[0].teams[0].referenced_by.PagerDutyService_teams');
    expect(names(back.value)).toEqual(['Checkout']);
    expect(run('incident.custom_fields.impact == "High" && "US" in incident.custom_fields.regions').value).toBe(true);
    expect(run('has(incident.custom_fields.customers)').value).toBe(false);
  });

  it('refuses an unknown field, saying where and what the type has', () => {
    const err = refused('incident.custom_fields.affected_services.map(s, s.escalation_polcy)');
    expect(err.info.reason).toBe('unknown_field');
    expect(err.info.position.offset).toBe('incident.custom_fields.affected_services.map(s, s.'.length);
    expect(err.info.position.column).toBe(err.info.position.offset + 1);
    expect(err.info.available).toContain('escalation_policy: PagerDutyEscalationPolicy');
    expect(err.status).toBe(400);
    expect(err.code).toBe('invalid_expression');
  });

  it('refuses a field read from a list, an unknown variable, a severity that does not exist, mismatched types', () => {
    const list = refused('incident.custom_fields.affected_services.escalation_policy');
    expect(list.info.reason).toBe('field_of_list');
    expect(list.info.available).toContain('(each item) escalation_policy: PagerDutyEscalationPolicy');
    const v = refused('incidnt.name');
    expect(v.info.reason).toBe('unknown_variable');
    expect(v.info.available).toEqual(['incident: firebreak.Incident', 'actor: firebreak.Actor']);
    const s = refused('incident.severity.rank >= severity("Catastrophic").rank');
    expect(s.info.available).toEqual(['Minor', 'Major', 'Critical']);
    expect(s.info.position.offset).toBe('incident.severity.rank >= severity('.length);
    const m = refused('incident.severity.rank > "high"');
    expect(m.info.reason).toBe('type_mismatch');
    const cf = refused('incident.custom_fields.nope');
    expect(cf.info.available).toContain('affected_services: list<PagerDutyService>');
  });

  it('refuses patterns that backtrack and a boolean expectation that is not met', () => {
    expect(refused('incident.name.matches("(a+)+$")').info.reason).toBe('unsafe_pattern');
    expect(typeOf('incident.name.matches("^check(out)?$")')).toBe('bool');
    expect(() => compileWith(built, 'incident.name', 'bool')).toThrow(/must be true or false/);
  });

  it('stops a runaway expression within its budget', () => {
    // 300^4 = 8.1e9 innermost steps: minutes of work at tens of nanoseconds each.
    const xs = `[${Array.from({ length: 300 }, (_, i) => i).join(',')}]`;
    const src = `cel.bind(xs, ${xs}, xs.map(a, xs.map(b, xs.map(c, xs.filter(d, a + b + c + d == -1).size()))).size())`;
    const started = performance.now();
    expect(() => run(src, ctx(), 50)).toThrow(ExpressionCostError);
    expect(performance.now() - started).toBeLessThan(500);
    // exists() swallows an item's error and goes on to the next; the stop holds anyway, and `|| true` cannot hide it.
    const t0 = performance.now();
    expect(() => run(`cel.bind(xs, ${xs}, xs.exists(a, xs.exists(b, xs.exists(c, xs.exists(d, a + b + c + d == -1)))) || true)`, ctx(), 50)).toThrow(/time budget of 50 ms/);
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it('stops a list that doubles past the result limit', () => {
    const src = 'cel.bind(a, [1,2,3,4,5,6,7,8,9,10], cel.bind(b, a + a + a + a + a + a + a + a + a + a, cel.bind(c, b + b + b + b + b + b + b + b + b + b, cel.bind(d, c + c + c + c + c + c + c + c + c + c, d + d + d + d + d + d + d + d + d + d)))).size()';
    expect(() => run(src)).toThrow(/limit is 10000/);
  });
});
