import type { ZodError } from 'zod';
import type { Expect, ExpressionsModule } from '../expressions/index.js';
import { ExpressionError } from '../expressions/errors.js';
import { AppError } from '../platform/errors.js';
import { rebaseError, withBindings, type Bindings } from './bindings.js';
import { ConditionError, conditionExpression, subjectExpression } from './conditions.js';
import { MAX_DELAY_MINUTES, workflowDefinitionSchema, type FormField, type Step, type WorkflowDefinition } from './model.js';
import { parseTemplate, TemplateError } from './template.js';

// Checking a definition when it is saved (API, YAML apply, the editor as you type): its shape (zod), then every
// expression compiled against the current schema with the bindings it will have (`item` inside steps with
// for_each, `inputs` for manual workflows with a form) and the type its place needs, every step's target present,
// custom fields and severities that exist. The first problem is refused as 400 invalid_workflow, naming the part in
// words and giving its path.

export class WorkflowError extends AppError {
  constructor(message: string, details: { path: string; reason: string; expression_error?: Record<string, unknown>; [k: string]: unknown }) {
    super(400, 'invalid_workflow', message, details);
  }
}

export interface CheckDeps {
  expressions: Pick<ExpressionsModule, 'compile' | 'environment'>;
}

type Path = (string | number)[];

export function pathText(p: Path): string {
  return p.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

const stepTypeWords: Record<Step['type'], string> = {
  escalate: 'escalate to PagerDuty',
  slack_message: 'Slack message',
  invite: 'invite',
  set_severity: 'set severity',
  set_lead: 'set lead',
  set_custom_field: 'set custom field',
  timeline_note: 'timeline note',
  http: 'HTTP request',
};

/** The part of a definition at a path, in words: "Step 2 (page-services)", "Condition 1 of group 2", "The trigger". */
export function partName(path: Path, def?: Partial<WorkflowDefinition> | null): string {
  const [top, i, ...rest] = path;
  if (top === 'steps' && typeof i === 'number') {
    const step = (def?.steps as Step[] | undefined)?.[i];
    const id = step && typeof step.id === 'string' ? ` (${step.id})` : '';
    return `Step ${i + 1}${id}${rest.length ? `, ${pathText(rest as Path)}` : ''}`;
  }
  if (top === 'conditions' && typeof i === 'number') {
    const c = rest[0] === 'all' && typeof rest[1] === 'number' ? rest[1] : null;
    const more = rest.slice(2);
    return `${c === null ? `Condition group ${i + 1}` : `Condition ${c + 1} of group ${i + 1}`}${more.length ? `, ${pathText(more as Path)}` : ''}`;
  }
  if (top === 'trigger') return `The trigger${path.length > 1 ? `, ${pathText(path.slice(1))}` : ''}`;
  if (top === 'delay_minutes') return 'Delay';
  if (top === 'for_each') return 'for_each';
  if (top === 'dedupe') return `Dedupe${path.length > 1 ? `, ${pathText(path.slice(1))}` : ''}`;
  if (top === undefined) return 'The workflow';
  return `The ${pathText(path)}`;
}

/** Zod's complaint about a definition as 400 invalid_workflow, naming the part. */
export function zodToWorkflowError(err: ZodError, input: unknown): WorkflowError {
  const issue = err.issues[0]!;
  const path = [...issue.path] as Path;
  if (issue.code === 'unrecognized_keys' && issue.keys[0]) path.push(issue.keys[0]);
  const def = typeof input === 'object' && input !== null ? (input as Partial<WorkflowDefinition>) : null;
  let message = issue.code === 'unrecognized_keys' ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
  if (path[0] === 'delay_minutes' && issue.code === 'too_big') message = `Delay is at most 24 hours (${MAX_DELAY_MINUTES} minutes)`;
  else if (path[0] === 'delay_minutes') message = `Delay: ${message}`;
  else message = `${partName(path, def)}: ${message}`;
  return new WorkflowError(message, { path: pathText(path) || '(the workflow)', reason: issue.code, issues: err.issues.slice(0, 10).map((i) => ({ path: pathText(i.path as Path), message: i.message })) });
}

/** The definition's shape (zod); a WorkflowError naming the part otherwise. */
export function parseDefinition(input: unknown): WorkflowDefinition {
  const r = workflowDefinitionSchema.safeParse(input);
  if (!r.success) throw zodToWorkflowError(r.error, input);
  return r.data;
}

/** Which types each expression place takes: catalog types by type name, or CEL's own. */
const targetTypes = {
  policies: { catalog: ['PagerDutyEscalationPolicy'], plain: ['string'], words: 'escalation policies (PagerDutyEscalationPolicy entries) or PagerDuty ids' },
  pdUsers: { catalog: ['PagerDutyUser'], plain: ['string', 'firebreak.Person'], words: 'people (PagerDutyUser entries, people or emails) or PagerDuty ids' },
  people: { catalog: ['PagerDutyUser'], plain: ['string', 'firebreak.Person'], words: 'people (people, PagerDutyUser entries or emails)' },
} as const;

export async function checkWorkflow(input: unknown, deps: CheckDeps): Promise<WorkflowDefinition> {
  const def = parseDefinition(input);
  const built = await deps.expressions.environment();
  const schema = built.schema;
  const celOf = (typeName: string) => [...built.typesById.values()].find((t) => t.type.typeName === typeName)?.celName ?? null;
  const fail = (path: Path, reason: string, message: string, extra: Record<string, unknown> = {}): never => {
    throw new WorkflowError(`${partName(path, def)}: ${message}`, { path: pathText(path), reason, ...extra });
  };

  // Compiles one expression with its bindings; an error points at the person's text.
  const compile = async (path: Path, source: string, expect: Expect, b: Bindings): Promise<string> => {
    const wrapped = withBindings(source, b);
    try {
      return (await deps.expressions.compile(wrapped.source, { expect })).type;
    } catch (err) {
      if (err instanceof ExpressionError) {
        const e = wrapped.offset > 0 ? rebaseError(err, source, wrapped.offset) : err;
        return fail(path, e.info.reason, `the expression ${JSON.stringify(short(source))}: ${e.message}`, { expression_error: e.details });
      }
      throw err;
    }
  };
  const template = async (path: Path, text: string, b: Bindings): Promise<void> => {
    let parts;
    try {
      parts = parseTemplate(text);
    } catch (err) {
      if (err instanceof TemplateError) return fail(path, 'invalid_template', err.message, { position: err.details?.position });
      throw err;
    }
    for (const p of parts) {
      if (!('expression' in p)) continue;
      const wrapped = withBindings(p.expression, b);
      try {
        await deps.expressions.compile(wrapped.source, { expect: 'any' });
      } catch (err) {
        if (err instanceof ExpressionError) {
          const e = rebaseError(err, text, wrapped.offset - p.offset);
          return fail(path, e.info.reason, `{{ ${short(p.expression)} }}: ${e.message}`, { expression_error: e.details });
        }
        throw err;
      }
    }
  };
  const typed = async (path: Path, source: string, b: Bindings, want: (typeof targetTypes)[keyof typeof targetTypes]) => {
    const type = await compile(path, source, 'any', b);
    const allowed = new Set<string>(['dyn', ...want.plain, ...want.catalog.map(celOf).filter((x): x is string => !!x)]);
    const el = /^list<(.*)>$/.exec(type)?.[1] ?? type;
    if (!allowed.has(el)) fail(path, 'type_mismatch', `must give ${want.words}, or a list of them; it gives ${type}`);
  };

  // Trigger
  const form: FormField[] | undefined = def.trigger.type === 'manual' ? (def.trigger.form ?? []) : undefined;
  const t = def.trigger;
  if (t.type === 'incident.updated' && t.custom_field_keys?.length) {
    if (!t.changes.includes('custom_field')) fail(['trigger', 'custom_field_keys'], 'custom_field_keys_without_change', 'custom_field_keys only applies when "custom_field" is among the changes');
    t.custom_field_keys.forEach((k, i) => {
      if (!schema.fields.some((f) => f.key === k)) fail(['trigger', 'custom_field_keys', i], 'unknown_custom_field', `there is no custom field with the key "${k}" (there are: ${schema.fields.map((f) => f.key).join(', ') || 'none'})`);
    });
  }
  if (t.type === 'manual' && t.form) {
    const seen = new Set<string>();
    t.form.forEach((f, i) => {
      if (seen.has(f.key)) fail(['trigger', 'form', i, 'key'], 'duplicate_form_key', `the form has two fields with the key "${f.key}"`);
      seen.add(f.key);
      if (f.type === 'select' && !f.options?.length) fail(['trigger', 'form', i, 'options'], 'select_without_options', `the select field "${f.key}" needs options`);
    });
  }
  const base: Bindings = form ? { inputs: form } : {};

  // Controls
  if ((def.delay_minutes ?? 0) > MAX_DELAY_MINUTES) throw new WorkflowError(`Delay is at most 24 hours (${MAX_DELAY_MINUTES} minutes)`, { path: 'delay_minutes', reason: 'too_big' });
  if (def.dedupe?.mode === 'once_per_value') await compile(['dedupe', 'expression'], def.dedupe.expression, 'any', base);
  if (def.for_each !== undefined) {
    const type = await compile(['for_each'], def.for_each, 'any', base);
    if (!type.startsWith('list<') && type !== 'dyn') throw new WorkflowError(`for_each must be a list, got ${type}`, { path: 'for_each', reason: 'not_a_list', type });
  }

  // Conditions (before the steps: no `item`)
  const severities = schema.severities;
  for (const [gi, g] of (def.conditions ?? []).entries()) {
    for (const [ci, c] of g.all.entries()) {
      const at: Path = ['conditions', gi, 'all', ci];
      const subject = subjectExpression(c);
      let subjectType: string | undefined;
      if (subject !== null) subjectType = await compile([...at, 'subject'], subject, 'any', base);
      let expr: string;
      try {
        expr = conditionExpression(c, { severities, subjectType });
      } catch (err) {
        if (err instanceof ConditionError) return fail([...at, subject === null ? 'expression' : 'value'], 'invalid_condition', err.message);
        throw err;
      }
      await compile([...at, subject === null ? 'expression' : 'subject'], expr, 'bool', base);
    }
  }

  // Steps
  const ids = new Set<string>();
  const inStep: Bindings = def.for_each !== undefined ? { ...base, forEach: def.for_each, itemIndex: 0 } : base;
  for (const [i, s] of def.steps.entries()) {
    const at = (...p: Path): Path => ['steps', i, ...p];
    if (ids.has(s.id)) fail(at('id'), 'duplicate_step_id', `another step has the id "${s.id}": step ids are unique within a workflow`);
    ids.add(s.id);
    const needTarget = (ok: boolean, what: string) => {
      if (!ok) fail(at(), 'missing_target', `needs a target (a ${stepTypeWords[s.type]} step takes ${what})`);
    };
    switch (s.type) {
      case 'escalate':
        needTarget(!!(s.policy_ids?.length || s.user_ids?.length || s.policies_expression?.trim() || s.users_expression?.trim()), 'policy_ids, user_ids, policies_expression or users_expression');
        if (s.policies_expression?.trim()) await typed(at('policies_expression'), s.policies_expression, inStep, targetTypes.policies);
        if (s.users_expression?.trim()) await typed(at('users_expression'), s.users_expression, inStep, targetTypes.pdUsers);
        await template(at('message'), s.message, inStep);
        break;
      case 'slack_message': {
        const d = s.destination;
        if (d.kind === 'dm') {
          needTarget(!!(d.user_ids?.length || d.users_expression?.trim()), 'destination.user_ids or destination.users_expression for a DM');
          if (d.users_expression?.trim()) await typed(at('destination', 'users_expression'), d.users_expression, inStep, targetTypes.people);
        }
        await template(at('text'), s.text, inStep);
        break;
      }
      case 'invite':
        needTarget(!!(s.user_ids?.length || s.users_expression?.trim() || s.slack_usergroup_id?.trim()), 'user_ids, users_expression or slack_usergroup_id');
        if (s.users_expression?.trim()) await typed(at('users_expression'), s.users_expression, inStep, targetTypes.people);
        break;
      case 'set_severity':
        if (!severities.some((x) => x.name === s.severity)) fail(at('severity'), 'unknown_severity', `"${s.severity}" is not a severity (there are: ${severities.map((x) => x.name).join(', ')})`);
        break;
      case 'set_lead':
        needTarget(!!(s.user_id?.trim() || s.user_expression?.trim()), 'user_id or user_expression');
        if (s.user_expression?.trim()) {
          const type = await compile(at('user_expression'), s.user_expression, 'any', inStep);
          const ok = new Set(['dyn', 'string', 'firebreak.Person', celOf('PagerDutyUser')]);
          if (!ok.has(type)) fail(at('user_expression'), 'type_mismatch', `must give one person (a person, a PagerDutyUser entry or an email); it gives ${type}`);
        }
        break;
      case 'set_custom_field': {
        const f = schema.fields.find((x) => x.key === s.field_key);
        if (!f) fail(at('field_key'), 'unknown_custom_field', `there is no custom field with the key "${s.field_key}" (there are: ${schema.fields.map((x) => x.key).join(', ') || 'none'})`);
        const hasValue = 'value' in s;
        if (hasValue && s.value_expression !== undefined) fail(at(), 'value_and_expression', 'give value or value_expression, not both');
        needTarget(hasValue || !!s.value_expression?.trim(), 'value or value_expression');
        if (s.value_expression?.trim()) await compile(at('value_expression'), s.value_expression, 'any', inStep);
        break;
      }
      case 'timeline_note':
        await template(at('text'), s.text, inStep);
        break;
      case 'http': {
        await template(at('url'), s.url, inStep);
        const first = parseTemplate(s.url)[0];
        const fixed = first && 'text' in first ? first.text : '';
        const whole = parseTemplate(s.url).every((p) => 'text' in p);
        let ok = /^https?:\/\//i.test(fixed);
        if (ok && whole) {
          try {
            const u = new URL(s.url);
            ok = (u.protocol === 'http:' || u.protocol === 'https:') && !!u.hostname;
          } catch {
            ok = false;
          }
        }
        if (!ok) fail(at('url'), 'invalid_url', `the URL must be an http:// or https:// address (its start cannot come from a variable), got ${JSON.stringify(short(s.url))}`);
        for (const [name, value] of Object.entries(s.headers ?? {})) {
          if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) fail(at('headers', name), 'invalid_header', `"${name}" is not a header name`);
          await template(at('headers', name), value, inStep);
        }
        if (s.body !== undefined) await template(at('body'), s.body, inStep);
        break;
      }
    }
  }
  return def;
}

function short(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
