import { AppError } from '../platform/errors.js';
import type { Condition, ConditionGroup, ConditionOperator } from './model.js';

// Conditions people build (subject, operator, value) as expressions of the shared language, and in words.
// How a value is compared depends on the subject's type (the checked CEL type, `subjectType`): catalog entries by
// Firebreak id, external id or name; people by email; severities and statuses by name; `at_least`/`at_most` by
// severity rank; lists match when any item does. Without a type, the subject's text decides for the incident's own
// fields (severity, status, lead) and anything else is compared as it is.

export interface ConditionContext {
  severities: { name: string; rank: number }[];
  /** The subject's checked type (`expressions.check(subject).type`, with the workflow's bindings). */
  subjectType?: string;
}

/** A condition that cannot become an expression (a missing value, an unknown severity...): 400 invalid_condition. */
export class ConditionError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(400, 'invalid_condition', message, details);
  }
}

const SEVERITY = 'firebreak.Severity';
const STATUS = 'firebreak.Status';
const PERSON = 'firebreak.Person';
const PRIMITIVE = new Set(['string', 'double', 'int', 'uint', 'bool', 'bytes', 'timestamp', 'google.protobuf.Timestamp', 'duration', 'google.protobuf.Duration', 'null', 'null_type', 'dyn']);

type Kind = 'severity' | 'status' | 'person' | 'entry' | 'string' | 'double' | 'int' | 'bool' | 'other';

function kindOf(type: string): Kind {
  if (type === SEVERITY) return 'severity';
  if (type === STATUS) return 'status';
  if (type === PERSON) return 'person';
  if (type === 'string') return 'string';
  if (type === 'double') return 'double';
  if (type === 'int' || type === 'uint') return 'int';
  if (type === 'bool') return 'bool';
  if (PRIMITIVE.has(type) || type.startsWith('map<') || type.startsWith('firebreak.') || type.startsWith('optional')) return 'other';
  return 'entry';
}

/** The subject's type when none was given: the incident's own fields by their path. */
function guessType(subject: string): string {
  const s = subject.replace(/\s+/g, '');
  if (s === 'incident.severity') return SEVERITY;
  if (s === 'incident.status') return STATUS;
  if (s === 'incident.lead' || s === 'actor') return PERSON;
  if (/^incident\.(id|reference|name|summary|mode)$/.test(s) || /^incident\.(severity|status)\.(name|category)$/.test(s)) return 'string';
  return 'dyn';
}

function listElement(type: string): string | null {
  const m = /^list<(.*)>$/.exec(type);
  return m ? m[1]! : null;
}

/** A plain field path (`incident.lead`, `item.escalation_policy`): `has()` can test it. */
function isFieldPath(subject: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(subject.trim());
}

function str(v: unknown): string {
  return JSON.stringify(String(v));
}

function literal(v: string | number | boolean, kind: Kind): string {
  if (kind === 'double' && typeof v === 'number') return Number.isInteger(v) ? `${v}.0` : String(v);
  if (kind === 'int' && typeof v === 'number' && Number.isInteger(v)) return String(v);
  if (kind === 'bool' && typeof v === 'boolean') return String(v);
  if ((kind === 'double' || kind === 'int') && typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return literal(Number(v), kind);
  if (kind === 'bool' && (v === 'true' || v === 'false')) return v;
  if (kind === 'other' && typeof v !== 'string') return typeof v === 'number' && Number.isInteger(v) ? `${v}.0` : String(v);
  return str(v);
}

/** `x` equals the value, as its kind compares. */
function equals(x: string, kind: Kind, v: string | number | boolean): string {
  switch (kind) {
    case 'severity':
    case 'status':
      return `${x}.name == ${str(v)}`;
    case 'person':
      return `${x}.email == ${str(v)}`;
    case 'entry':
      return `(${x}.id == ${str(v)} || ${x}.external_id == ${str(v)} || ${x}.name == ${str(v)})`;
    default:
      return `${x} == ${literal(v, kind)}`;
  }
}

/** `x` is one of the values. */
function among(x: string, kind: Kind, values: (string | number | boolean)[]): string {
  const list = (vs: (string | number | boolean)[], k: Kind) => `[${vs.map((v) => literal(v, k)).join(', ')}]`;
  const strings = `[${values.map(str).join(', ')}]`;
  switch (kind) {
    case 'severity':
    case 'status':
      return `${x}.name in ${strings}`;
    case 'person':
      return `${x}.email in ${strings}`;
    case 'entry':
      return `(${x}.id in ${strings} || ${x}.external_id in ${strings} || ${x}.name in ${strings})`;
    default:
      return `${x} in ${list(values, kind)}`;
  }
}

function severityRank(name: unknown, ctx: ConditionContext): string {
  const wanted = String(name ?? '');
  const found = ctx.severities.find((s) => s.name === wanted) ?? ctx.severities.find((s) => s.name.toLowerCase() === wanted.toLowerCase());
  if (!found) {
    throw new ConditionError(`"${wanted}" is not a severity (there are: ${ctx.severities.map((s) => s.name).join(', ') || 'none'})`, { available: ctx.severities.map((s) => s.name) });
  }
  return `severity(${str(found.name)}).rank`;
}

const needsValue: ConditionOperator[] = ['is', 'is_not', 'is_one_of', 'contains', 'at_least', 'at_most'];

function values(c: Extract<Condition, { subject: string }>): (string | number | boolean)[] {
  const v = c.value;
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

export function subjectExpression(c: Condition): string | null {
  return 'subject' in c ? c.subject.trim() : null;
}

/** The condition as a bool expression of the shared language. Throws ConditionError when it cannot be one. */
export function conditionExpression(c: Condition, ctx: ConditionContext): string {
  if (!('subject' in c)) return c.expression.trim();
  const subject = c.subject.trim();
  const op = c.operator;
  const vs = values(c);
  if (needsValue.includes(op) && vs.length === 0) throw new ConditionError(`"${operatorWords[op]}" needs a value`);
  if ((op === 'is' || op === 'is_not' || op === 'contains' || op === 'at_least' || op === 'at_most') && vs.length > 1) {
    throw new ConditionError(`"${operatorWords[op]}" takes one value (use "is one of" for several)`);
  }
  const type = ctx.subjectType ?? guessType(subject);
  const element = listElement(type);
  const s = isFieldPath(subject) ? subject : `(${subject})`;
  const guard = isFieldPath(subject) && !element ? `has(${subject})` : null;
  const guarded = (e: string) => (guard ? `${guard} && ${e}` : e);
  const v = vs[0]!;

  if (element !== null) {
    const k = kindOf(element);
    const any = (pred: string) => `${s}.exists(x, ${pred})`;
    switch (op) {
      case 'is':
      case 'contains':
        return any(equals('x', k, v));
      case 'is_not':
        return `!${any(equals('x', k, v))}`;
      case 'is_one_of':
        return any(among('x', k, vs));
      case 'is_set':
        return `size(${s}) > 0`;
      case 'is_not_set':
        return `size(${s}) == 0`;
      case 'at_least':
      case 'at_most':
        if (k !== 'severity') throw new ConditionError(`"${operatorWords[op]}" compares severities, but ${subject} is a list of ${element}`);
        return any(`x.rank ${op === 'at_least' ? '>=' : '<='} ${severityRank(v, ctx)}`);
    }
  }

  const k = kindOf(type);
  switch (op) {
    case 'is':
      return guarded(equals(s, k, v));
    case 'is_not':
      return guard ? `!${guard} || !(${equals(s, k, v)})` : `!(${equals(s, k, v)})`;
    case 'is_one_of':
      return guarded(among(s, k, vs));
    case 'contains':
      if (k === 'string' || (k === 'other' && typeof v === 'string')) return guarded(`${s}.contains(${str(v)})`);
      throw new ConditionError(`"contains" needs text or a list, but ${subject} is ${type}`);
    case 'is_set':
      if (guard) return k === 'string' ? `${guard} && ${s} != ""` : guard;
      return k === 'string' ? `${s} != ""` : `${s} != null`;
    case 'is_not_set':
      if (guard) return k === 'string' ? `!${guard} || ${s} == ""` : `!${guard}`;
      return k === 'string' ? `${s} == ""` : `${s} == null`;
    case 'at_least':
    case 'at_most': {
      const cmp = op === 'at_least' ? '>=' : '<=';
      if (k === 'severity') return guarded(`${s}.rank ${cmp} ${severityRank(v, ctx)}`);
      if (k === 'double' || k === 'int') return guarded(`${s} ${cmp} ${literal(v, k)}`);
      throw new ConditionError(`"${operatorWords[op]}" compares severities (or numbers), but ${subject} is ${type}`);
    }
  }
}

/** Groups as one expression: all conditions of a group, any group: `(a && b) || (c)`; "true" without groups. */
export function groupsExpression(groups: ConditionGroup[] | undefined, ctx: { severities: ConditionContext['severities']; subjectTypes?: (string | undefined)[][] }): string {
  if (!groups?.length) return 'true';
  return groups
    .map((g, gi) => `(${g.all.map((c, ci) => `(${conditionExpression(c, { severities: ctx.severities, subjectType: ctx.subjectTypes?.[gi]?.[ci] })})`).join(' && ')})`)
    .join(' || ');
}

export const operatorWords: Record<ConditionOperator, string> = {
  is: 'is',
  is_not: 'is not',
  is_one_of: 'is one of',
  contains: 'contains',
  is_set: 'is set',
  is_not_set: 'is not set',
  at_least: 'is at least',
  at_most: 'is at most',
};

function sentenceCase(key: string): string {
  const words = key.replace(/_/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The subject in words: the incident's fields and custom fields by name, anything else as written. */
export function describeSubject(subject: string, fieldNames?: Record<string, string>): string {
  const s = subject.trim();
  const own: Record<string, string> = {
    'incident.severity': 'Severity',
    'incident.status': 'Status',
    'incident.status.category': 'Status category',
    'incident.lead': 'Lead',
    'incident.lead.email': "Lead's email",
    'incident.name': 'Name',
    'incident.summary': 'Summary',
    'incident.mode': 'Mode',
    'incident.reference': 'Reference',
    'actor.kind': 'Changed by (kind)',
    'actor.email': "Changer's email",
  };
  if (own[s]) return own[s];
  const field = /^incident\.custom_fields\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(s);
  if (field) return fieldNames?.[field[1]!] ?? sentenceCase(field[1]!);
  const input = /^inputs\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(s);
  if (input) return `Form value ${input[1]}`;
  return s;
}

/** The condition in words: "Severity is at least Critical", "Affected services is one of checkout-api, search". */
export function describeCondition(c: Condition, opts: { fieldNames?: Record<string, string> } = {}): string {
  if (!('subject' in c)) return `${c.expression.trim()} is true`;
  const subject = describeSubject(c.subject, opts.fieldNames);
  const vs = values(c).map(String);
  if (c.operator === 'is_set' || c.operator === 'is_not_set') return `${subject} ${operatorWords[c.operator]}`;
  return `${subject} ${operatorWords[c.operator]} ${vs.join(', ')}`;
}
