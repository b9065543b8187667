import { ExpressionError, positionAt } from '../expressions/errors.js';
import type { FormField } from './model.js';

// Extra variables for workflow expressions without changing the expressions module: CEL's cel.bind wraps the
// person's text. `item` is the for-each list's item (index 0 when checking), `inputs` a map literal of the manual
// form's values (when checking: the form's keys with a placeholder of their type). Each value is wrapped in dyn()
// so a form mixing text and numbers is one map. `offset` is where the person's text starts in the wrapped source,
// so an error can point back at what they wrote (rebaseError).

export interface Bindings {
  forEach?: string;
  itemIndex?: number;
  inputs?: Record<string, unknown> | FormField[];
}

/** A JavaScript value as a CEL literal (numbers as doubles, like the form's number fields). */
export function celLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number': {
      if (!Number.isFinite(v)) return `double(${JSON.stringify(String(v))})`;
      const s = String(v);
      return /[.eE]/.test(s) ? s : `${s}.0`;
    }
    case 'bigint':
      return String(v);
    case 'object':
      if (Array.isArray(v)) return `[${v.map((x) => `dyn(${celLiteral(x)})`).join(', ')}]`;
      return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${JSON.stringify(k)}: dyn(${celLiteral(x)})`).join(', ')}}`;
    default:
      return JSON.stringify(String(v));
  }
}

/** The placeholder a form field stands for while checking. */
export function placeholderFor(f: FormField): string | number {
  if (f.type === 'number') return 0;
  if (f.type === 'select') return f.options?.[0] ?? '';
  return '';
}

function inputsLiteral(inputs: Record<string, unknown> | FormField[]): string {
  if (Array.isArray(inputs)) return celLiteral(Object.fromEntries(inputs.map((f) => [f.key, placeholderFor(f)])));
  return celLiteral(inputs);
}

export function withBindings(source: string, b: Bindings): { source: string; offset: number } {
  let prefix = '';
  let suffix = '';
  if (b.forEach !== undefined) {
    prefix += `cel.bind(item, (${b.forEach})[${Math.max(0, Math.trunc(b.itemIndex ?? 0))}], `;
    suffix = `)${suffix}`;
  }
  if (b.inputs !== undefined) {
    prefix += `cel.bind(inputs, ${inputsLiteral(b.inputs)}, `;
    suffix = `)${suffix}`;
  }
  // A newline before the closing parentheses: a trailing // comment in the person's text stays a comment of theirs.
  if (suffix) suffix = `\n${suffix}`;
  return { source: `${prefix}${source}${suffix}`, offset: prefix.length };
}

/**
 * An ExpressionError about the wrapped source, made about the person's text: its position moved back by `offset`
 * (an error inside the bindings themselves points at the start).
 */
export function rebaseError(e: ExpressionError, original: string, offset: number): ExpressionError {
  const at = Math.min(Math.max(0, e.info.position.offset - offset), original.length);
  return new ExpressionError({ ...e.info, position: positionAt(original, at) });
}
