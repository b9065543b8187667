import type { ParseResult } from '@marcbachmann/cel-js';
import type { BuiltEnvironment, Member } from './environment.js';
import { ExpressionError, positionAt } from './errors.js';

// Checking an expression when it is saved: parse and type-check it against the environment of the current
// schema, refuse what cel-js refuses (unknown variable, field, function, severity; mismatched types) and what
// could not be bounded while running (a regular expression that backtracks), and say where and what exists there.

export type Expect = 'bool' | 'any';

export interface CompiledExpression {
  source: string;
  type: string;
  expect: Expect;
  /** The environment (and schema version) it was checked against. */
  built: BuiltEnvironment;
  fn: ParseResult;
}

export const MAX_SOURCE = 4000;

interface CelNode {
  op: string;
  args: unknown;
  pos?: number;
  checkedType?: { name: string; kind: string; valueType?: { name: string } };
}

interface CelError extends Error {
  code?: string;
  summary?: string;
  range?: { start: number; end: number };
  node?: CelNode;
}

function membersList(m: Map<string, Member> | undefined): string[] {
  return m ? [...m.entries()].map(([k, v]) => `${k}: ${v.type}`) : [];
}

/** Strips CEL's list<...> and returns the element type's members, if it has any. */
function membersOf(built: BuiltEnvironment, typeName: string | undefined): Map<string, Member> | undefined {
  if (!typeName) return undefined;
  return built.members.get(typeName);
}

function describe(built: BuiltEnvironment, typeName: string): string {
  if (typeName.startsWith('list<')) return `a list of ${describe(built, typeName.slice(5, -1))}`;
  const t = [...built.typesById.values()].find((x) => x.celName === typeName);
  if (t) return `${typeName} (catalog type "${t.type.name}")`;
  return typeName;
}

function mapError(built: BuiltEnvironment, source: string, err: CelError): ExpressionError {
  const node = err.node;
  let offset = err.range?.start ?? node?.pos ?? 0;
  let message = err.summary ?? err.message;
  let available: string[] = [];
  let reason = err.code ?? (err.name === 'ParseError' ? 'syntax_error' : 'type_error');
  const fieldNode = node && (node.op === '.' || node.op === '.?') ? (node.args as [CelNode, string]) : null;

  if (err.name === 'ParseError') {
    reason = 'syntax_error';
    message = `Syntax error: ${message}`;
  } else if (err.code === 'unknown_variable') {
    const name = String(node?.args ?? '');
    message = `Unknown variable "${name}"`;
    available = [...built.variables.entries()].map(([k, v]) => `${k}: ${v.type}`);
    reason = 'unknown_variable';
  } else if (fieldNode && (err.code === 'no_such_key' || err.code === 'invalid_index_type')) {
    const [recv, field] = fieldNode;
    const t = recv.checkedType;
    if (t?.kind === 'list' && t.valueType) {
      const el = t.valueType.name;
      message = `"${field}" is read from ${describe(built, t.name)}, not from one entry: use .map(x, x.${field}), .exists(x, ...) or .filter(x, ...) to reach each one's fields`;
      available = membersList(membersOf(built, el)).map((m) => `(each item) ${m}`);
      reason = 'field_of_list';
    } else {
      const m = membersOf(built, t?.name);
      message = m ? `${describe(built, t!.name)} has no field "${field}"` : `${t?.name ?? 'This value'} has no field "${field}"`;
      available = membersList(m);
      reason = 'unknown_field';
    }
    const at = source.indexOf(field, recv.pos ?? 0);
    if (at >= 0) offset = at;
  } else if (err.code === 'unknown_severity' || err.code === 'severity_name_expected') {
    available = built.schema.severities.map((s) => s.name);
  } else if (err.code === 'no_matching_overload' && node && (node.op === 'call' || node.op === 'rcall')) {
    const fname = String((node.args as unknown[])[0]);
    const at = source.indexOf(fname, node.pos ?? 0);
    if (at >= 0) offset = at;
    const defs = built.env.getDefinitions().functions.map((f) => f.signature);
    const same = defs.filter((s) => s.replace(/^[^.(]*\./, '').startsWith(`${fname}(`) || s.startsWith(`${fname}(`));
    message = same.length ? `No form of ${fname}() takes these arguments: ${message}` : `Unknown function "${fname}": ${message}`;
    available = same.length ? same : [...new Set(defs.filter((s) => !s.includes('firebreak_probe')))].sort();
    reason = same.length ? 'type_mismatch' : 'unknown_function';
  } else if (err.code === 'no_such_overload' || err.code?.includes('mismatch') || err.code?.startsWith('invalid_')) {
    reason = 'type_mismatch';
    const args = Array.isArray(node?.args) ? (node!.args as CelNode[]).filter((a) => a && typeof a === 'object' && 'checkedType' in a) : [];
    available = args.map((a) => `${source.slice(a.pos ?? 0).split(/[\s)]/)[0] || 'operand'}: ${a.checkedType?.name}`);
    message = `Mismatched types: ${message}`;
  }
  return new ExpressionError({ position: positionAt(source, offset), message, available, reason });
}

/** What cannot be bounded while running, refused when saved: regular expressions that backtrack. */
function staticChecks(source: string, ast: CelNode): void {
  const seen = new Set<unknown>();
  const walk = (n: unknown): void => {
    if (!n || typeof n !== 'object' || seen.has(n)) return;
    seen.add(n);
    if (Array.isArray(n)) {
      for (const v of n) walk(v);
      return;
    }
    const node = n as CelNode;
    if (typeof node.op !== 'string') return;
    if ((node.op === 'call' || node.op === 'rcall') && Array.isArray(node.args)) {
      const name = node.args[0];
      if (name === 'firebreak_probe') throw new ExpressionError({ position: positionAt(source, node.pos ?? 0), message: 'Unknown function "firebreak_probe"', available: [], reason: 'unknown_function' });
      if (name === 'matches') {
        const patternNode = (node.op === 'rcall' ? (node.args[2] as CelNode[])?.[0] : (node.args[1] as CelNode[])?.[1]) as CelNode | undefined;
        const at = positionAt(source, patternNode?.pos ?? node.pos ?? 0);
        if (!patternNode || patternNode.op !== 'value' || typeof patternNode.args !== 'string') {
          throw new ExpressionError({ position: at, message: 'matches() needs its pattern written in quotes (a pattern computed while running could not be checked)', available: [], reason: 'unsafe_pattern' });
        }
        if (backtracks(patternNode.args)) {
          throw new ExpressionError({
            position: at,
            message: 'This pattern repeats a group that itself repeats (like (a+)+) or uses back-references: it can take exponential time. Write it without nested repetition.',
            available: [],
            reason: 'unsafe_pattern',
          });
        }
      }
    }
    if (Array.isArray(node.args)) walk(node.args);
    else if (node.args && typeof node.args === 'object') {
      // A comprehension: its parts are nodes (its check-time contexts are not).
      for (const v of Object.values(node.args as Record<string, unknown>)) if (v && typeof v === 'object' && (Array.isArray(v) || typeof (v as CelNode).op === 'string')) walk(v);
    }
  };
  walk(ast);
}

/** A group containing a quantifier, itself quantified; or a back-reference. Conservative. */
export function backtracks(pattern: string): boolean {
  if (/\\[1-9]|\\k</.test(pattern)) return true;
  const stack: boolean[] = [];
  let quantifiedInside = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '[') {
      while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
      continue;
    }
    if (c === '(') {
      stack.push(quantifiedInside);
      quantifiedInside = false;
    } else if (c === ')') {
      const inner = quantifiedInside;
      quantifiedInside = stack.pop() ?? false;
      const next = pattern[i + 1];
      const quantified = next === '*' || next === '+' || next === '?' || next === '{';
      if (inner && quantified && next !== '?') return true;
      if (inner || quantified) quantifiedInside = true;
    } else if (c === '*' || c === '+' || c === '{') {
      quantifiedInside = true;
    }
  }
  return false;
}

export function compileWith(built: BuiltEnvironment, source: string, expect: Expect): CompiledExpression {
  if (source.length > MAX_SOURCE) throw new ExpressionError({ position: positionAt(source, MAX_SOURCE), message: `The expression is longer than ${MAX_SOURCE} characters`, available: [], reason: 'too_long' });
  if (!source.trim()) throw new ExpressionError({ position: positionAt(source, 0), message: 'The expression is empty', available: [...built.variables.keys()], reason: 'syntax_error' });
  let fn: ParseResult;
  try {
    fn = built.env.parse(source);
  } catch (e) {
    throw mapError(built, source, e as CelError);
  }
  const r = fn.check();
  if (!r.valid) throw mapError(built, source, r.error as CelError);
  staticChecks(source, fn.ast as unknown as CelNode);
  const type = r.type!;
  if (expect === 'bool' && type !== 'bool' && type !== 'dyn') {
    throw new ExpressionError({ position: positionAt(source, 0), message: `The expression must be true or false (bool), but it gives ${type}`, available: [], reason: 'type_mismatch' });
  }
  return { source, type, expect, built, fn };
}
