// The workflow editor's pure parts: what a condition can be about (incident fields, custom fields, one hop of
// catalog paths) and the operators offered for it; the checker's message placed at the part it names; triggers
// in words; the steps the editor adds have the server's shape; the audit's "what changed"; and the calls the
// pages make go to the contract's routes with the bodies it names.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError, setCsrfToken } from '../../api.js';
import { stepSchema } from '../../../../src/workflows/model.js';
import { changedParts } from '../../pages/workflows/AuditTab.js';
import { workflowsApi } from './api.js';
import { normalPath, problemFor, problemOf } from './check.js';
import { newStep } from './StepsEditor.js';
import { buildSubjects, operatorsFor } from './subjects.js';
import { STEP_TYPES, triggerWords } from './words.js';

const reference = {
  types: [
    { name: 'PagerDutyService', catalog_type: 'PagerDuty services', members: [
      { name: 'name', type: 'string', doc: '' },
      { name: 'escalation_policy', type: 'PagerDutyEscalationPolicy', doc: '' },
      { name: 'teams', type: 'list<PagerDutyTeam>', doc: '' },
      { name: 'referenced_by', type: 'PagerDutyService_referenced_by', doc: '' },
    ] },
    { name: 'PagerDutyEscalationPolicy', catalog_type: 'PagerDuty escalation policies', members: [] },
    { name: 'PagerDutyTeam', catalog_type: 'PagerDuty teams', members: [] },
    { name: 'firebreak.Incident', catalog_type: null, members: [] },
  ],
};
const fields = [
  { key: 'affected_services', name: 'Affected services', type: 'catalog', multiple: true, options: [], catalog_type: { id: 't1', type_name: 'PagerDutyService', name: 'PagerDuty services' } },
  { key: 'region', name: 'Region', type: 'single_select', multiple: false, options: [{ label: 'EU' }, { label: 'US' }], catalog_type: null },
];

describe('workflow editor', () => {
  it('offers incident fields, custom fields and catalog paths one hop on, each with the value control it needs', () => {
    const subjects = buildSubjects(fields, reference);
    const by = Object.fromEntries(subjects.map((s) => [s.label, s]));
    expect(by['Affected services']).toMatchObject({ expression: 'incident.custom_fields.affected_services', kind: 'catalog', list: true, catalogType: 'PagerDutyService', group: 'Custom fields' });
    expect(by['Affected services → Escalation policy']).toMatchObject({ expression: 'incident.custom_fields.affected_services.map(x, x.escalation_policy)', catalogType: 'PagerDutyEscalationPolicy', group: 'Catalog' });
    expect(by['Affected services → Teams']).toMatchObject({ catalogType: 'PagerDutyTeam', list: true });
    // Plain attributes and backlink holders are not catalog paths.
    expect(subjects.filter((s) => s.group === 'Catalog').map((s) => s.label)).toEqual(['Affected services → Escalation policy', 'Affected services → Teams']);
    expect(by.Region).toMatchObject({ kind: 'options', options: ['EU', 'US'] });
    expect(by.Severity!.kind).toBe('severity');
    expect(operatorsFor(by.Severity)).toContain('at_least');
    expect(operatorsFor(by.Status)).not.toContain('at_least');
    expect(operatorsFor(by['Affected services'])).toEqual(expect.arrayContaining(['is_set', 'contains', 'is_one_of']));
  });

  it('places the checker\'s message at the part it names, and only there', () => {
    expect(normalPath('steps[1].policies_expression')).toBe('steps.1.policies_expression');
    expect(normalPath(['conditions', 0, 'all', 2, 'subject'])).toBe('conditions.0.all.2.subject');
    const e = new ApiError(400, 'invalid_workflow', 'Step 2 (page): the expression …: PagerDutyService has no field "polcy"', [], {
      path: 'steps[1].policies_expression',
      reason: 'expression',
      expression_error: { message: 'no field', position: { offset: 4, line: 1, column: 5 }, available: ['escalation_policy: PagerDutyEscalationPolicy'] },
    });
    const problem = problemOf(e)!;
    expect(problem).toMatchObject({ path: 'steps.1.policies_expression', position: { column: 5 }, available: ['escalation_policy: PagerDutyEscalationPolicy'] });
    const state = { status: 'problem' as const, problem };
    expect(problemFor(state, 'steps.1.policies_expression')?.message).toContain('has no field');
    expect(problemFor(state, 'steps.1')).not.toBeNull();
    expect(problemFor(state, 'steps.10.policies_expression')).toBeNull();
    expect(problemFor(state, 'steps.1.users_expression')).toBeNull();
    // Step 11's problem is not step 2's.
    expect(problemFor({ status: 'problem', problem: { ...problem, path: 'steps.10.message' } }, 'steps.1')).toBeNull();
    // Not a checker's answer: no problem to place (the page says it could not check).
    expect(problemOf(new ApiError(503, 'unavailable', 'later'))).toBeNull();
  });

  it('says triggers in words, custom fields by name', () => {
    expect(triggerWords({ type: 'incident.declared' })).toBe('When an incident is declared');
    expect(triggerWords({ type: 'incident.updated', changes: ['severity', 'custom_field'], custom_field_keys: ['affected_services', 'region'] }, { affected_services: 'Affected services', region: 'Region' })).toBe(
      "When an incident's severity or Affected services or Region changes",
    );
    expect(triggerWords({ type: 'pagerduty.escalation_target_changed', statuses: ['acknowledged', 'resolved'] })).toBe('When a PagerDuty escalation is acknowledged or resolved');
    expect(triggerWords({ type: 'manual', form: [{ key: 'why', label: 'Why', type: 'text' }] })).toBe('Run by hand, with a form of 1 field');
  });

  it('adds steps of every type in the server\'s shape, with unique ids; only what a person must write is missing', () => {
    const ids: string[] = [];
    const missing: Record<string, string[]> = {};
    for (const { value } of STEP_TYPES) {
      const s = newStep(value, ids);
      ids.push(s.id);
      const r = stepSchema.safeParse(s);
      missing[value] = r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
    }
    expect(new Set(ids).size).toBe(STEP_TYPES.length);
    expect(newStep('escalate', ['escalate', 'escalate-2']).id).toBe('escalate-3');
    expect(missing).toEqual({ escalate: [], slack_message: ['text'], invite: [], set_severity: ['severity'], set_lead: [], set_custom_field: ['field_key'], timeline_note: ['text'], http: ['url'] });
  });

  it('lists what an audit entry changed', () => {
    const before = { key: 'k', name: 'A', trigger: { type: 'incident.declared' }, steps: [{ id: 'a' }] };
    expect(changedParts(before, { ...before, name: 'B', steps: [{ id: 'b' }] })).toEqual(['name', 'steps']);
    expect(changedParts(before, { ...before, delay_minutes: 15 })).toEqual(['delay']);
    expect(changedParts(null, before)).toEqual([]);
  });
});

describe('workflow calls', () => {
  let sent: { url: string; method: string; body: unknown }[];
  beforeEach(() => {
    sent = [];
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      sent.push({ url, method: init.method ?? 'GET', body: init.body === undefined ? undefined : JSON.parse(String(init.body)) });
      return Response.json({ run: { id: 'r' }, workflows: [], runs: [], next_cursor: null, entries: [] });
    });
    setCsrfToken('c');
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    setCsrfToken(null);
  });

  it('go to the contract\'s routes, ids URL-encoded', async () => {
    const def = { key: 'k', name: 'N', trigger: { type: 'incident.declared' as const }, steps: [newStep('timeline_note', [])] };
    await workflowsApi.preview({ definition: def, incident: 'INC-4' });
    await workflowsApi.setState('w/1', 'active', false);
    await workflowsApi.runManual('inc 1', 'w1', { why: 'x' });
    await workflowsApi.runs('w1', 'cur/2');
    await workflowsApi.check(def);
    expect(sent.map((s) => `${s.method} ${s.url}`)).toEqual([
      'POST /api/v1/workflows/preview',
      'POST /api/v1/workflows/w%2F1/state',
      'POST /api/v1/incidents/inc%201/workflows/w1/run',
      'GET /api/v1/workflows/w1/runs?cursor=cur%2F2',
      'POST /api/v1/workflows/check',
    ]);
    expect(sent[0]!.body).toEqual({ definition: def, incident: 'INC-4' });
    expect(sent[1]!.body).toEqual({ state: 'active', apply_to_existing: false });
    expect(sent[2]!.body).toEqual({ inputs: { why: 'x' } });
  });
});
