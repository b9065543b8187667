import { AppError } from '../platform/errors.js';
import { positionAt } from '../expressions/errors.js';

// Text with variables: `{{ expression }}` parts are expressions of the shared language, the rest is text. The
// closing `}}` is found outside string literals and map literals, so `{{ {"a": {"b": 1}}.a.b }}` is one part.

export type TemplatePart = { text: string } | { expression: string; offset: number };

/** A template that cannot be read: 400 invalid_template, with where. */
export class TemplateError extends AppError {
  constructor(message: string, text: string, offset: number) {
    const position = positionAt(text, offset);
    super(400, 'invalid_template', `${message} (line ${position.line}, column ${position.column})`, { position });
  }
}

/** Where the expression opened at `start` (just after `{{`) ends: the index of its closing `}}`, or -1. */
function closingAt(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      const triple = text.startsWith(c.repeat(3), i);
      const quote = triple ? c.repeat(3) : c;
      const raw = i > 0 && /[rR]/.test(text[i - 1]!);
      i += quote.length;
      while (i < text.length && !text.startsWith(quote, i)) {
        if (text[i] === '\\' && !raw) i++;
        else if (!triple && text[i] === '\n') return -1;
        i++;
      }
      if (i >= text.length) return -1;
      i += quote.length - 1;
    } else if (c === '{') depth++;
    else if (c === '}') {
      if (depth === 0 && text[i + 1] === '}') return i;
      if (depth > 0) depth--;
    }
  }
  return -1;
}

export function parseTemplate(text: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let at = 0;
  while (at < text.length) {
    const open = text.indexOf('{{', at);
    if (open < 0) break;
    if (open > at) parts.push({ text: text.slice(at, open) });
    const close = closingAt(text, open + 2);
    if (close < 0) throw new TemplateError('"{{" is not closed by "}}"', text, open);
    const inner = text.slice(open + 2, close);
    const lead = inner.length - inner.trimStart().length;
    const expression = inner.trim();
    if (!expression) throw new TemplateError('"{{ }}" holds no expression', text, open);
    parts.push({ expression, offset: open + 2 + lead });
    at = close + 2;
  }
  if (at < text.length) parts.push({ text: text.slice(at) });
  return parts;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value as text: catalog entries, people, severities and statuses by name; lists joined ", "; null → "". */
export function renderValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(renderValue).filter((s) => s !== '').join(', ');
  if (isRecord(v)) {
    if (typeof v.name === 'string' && v.name) return v.name;
    if (typeof v.email === 'string' && v.email) return v.email;
    if (typeof v.summary === 'string') return v.summary;
    return JSON.stringify(v);
  }
  return String(v);
}
