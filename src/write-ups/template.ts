import Mustache from 'mustache';
import { AppError } from '../platform/errors.js';
import type { WriteUpSources } from './sources.js';

// The write-up template: Markdown with Mustache variables (logic-less: names, sections over lists, inverted
// sections for "nothing here"; no partials, no code). A template is checked before it is saved: it must parse
// (else 400 with the line and column of the mistake) and name only the variables below (else 400 naming each
// unknown one with where it is). Values go in as written: the Markdown renderer, not the template, is what keeps
// people's text from becoming HTML (markdown-it with raw HTML off), so nothing is HTML-escaped twice.

type Var = { kind: 'text'; description: string } | { kind: 'object'; description: string; fields: Record<string, Var> } | { kind: 'list'; description: string; item: Record<string, Var> };

const text = (description: string): Var => ({ kind: 'text', description });
const object = (description: string, fields: Record<string, Var>): Var => ({ kind: 'object', description, fields });
const list = (description: string, item: Record<string, Var>): Var => ({ kind: 'list', description, item });

/** Every variable a template may use; the view built by `templateView` has exactly this shape. */
export const TEMPLATE_VARIABLES: Record<string, Var> = {
  incident: object('The incident', {
    reference: text('Its reference, e.g. INC-42'),
    name: text('Its name'),
    summary: text('Its summary (empty when none was written)'),
    severity: text('Severity name'),
    status: text('Status name'),
    mode: text('standard, test or retrospective'),
    lead: text('The lead’s name, or "No lead"'),
    declared_at: text('When it was declared, in words'),
    url: text('Its page in Firebreak'),
  }),
  roles: list('Incident roles in their order (the lead is incident.lead)', { name: text('Role name'), description: text('What the role does'), person: text('Who holds it (empty when nobody)') }),
  timestamps: list('The timestamps that are set, in order', { label: text('e.g. Reported, Impact started'), at: text('When, in words'), source: text('auto, pagerduty or user'), reason: text('Why a person changed it (empty otherwise)') }),
  timestamp: object('Each timestamp by kind, in words, or "not set"', {
    reported: text('Reported'),
    impact_started: text('Impact started'),
    identified: text('Identified'),
    fixed: text('Fixed'),
    resolved: text('Resolved'),
    pagerduty_first_triggered: text('First paged in PagerDuty'),
    pagerduty_first_acknowledged: text('First acknowledged in PagerDuty'),
  }),
  durations: list('The durations that are known', { label: text('e.g. Time to resolve'), value: text('In words, e.g. 1 hour 5 minutes') }),
  duration: object('Each duration in words, or "not known"', {
    time_to_acknowledge: text('Reported → first acknowledged in PagerDuty'),
    time_to_fix: text('Reported → fixed'),
    time_to_resolve: text('Reported → resolved'),
    impact: text('Impact started → fixed (or resolved)'),
  }),
  key_items: list('Key timeline items: pinned messages, updates and status changes, in order', { at: text('When, in words'), text: text('What happened'), by: text('Who') }),
  pinned_messages: list('Messages pinned in the incident channel', { at: text('When pinned'), author: text('Who wrote it'), pinned_by: text('Who pinned it'), text: text('The message'), permalink: text('Link to the message in Slack') }),
  updates: list('Updates, oldest first', { at: text('When'), by: text('Who posted it'), status: text('Status after it'), severity: text('Severity after it'), message: text('What changed'), summary: text('The new summary (empty when unchanged)') }),
  status_changes: list('Status changes', { at: text('When'), text: text('From and to'), by: text('Who') }),
  pagerduty_activity: list('PagerDuty activity on linked PagerDuty incidents', { at: text('When'), text: text('What happened in PagerDuty'), by: text('Who') }),
  follow_ups: list('Follow-ups', { title: text('Title'), owner: text('Owner’s name (empty when nobody)'), priority: text('Urgent, High, Medium or Low'), status: text('Open, Done or Won’t do'), link: text('Link, e.g. the ticket (empty when none)') }),
  generated_at: text('When the write-up was generated, in words'),
};

export const DEFAULT_TEMPLATE = `# {{incident.reference}}: {{incident.name}}

- **Severity**: {{incident.severity}}
- **Status**: {{incident.status}}
- **Declared**: {{incident.declared_at}}

## Summary

{{#incident.summary}}{{incident.summary}}{{/incident.summary}}{{^incident.summary}}_No summary was written._{{/incident.summary}}

## People

- **Lead**: {{incident.lead}}
{{#roles}}
- **{{name}}**: {{#person}}{{person}}{{/person}}{{^person}}not assigned{{/person}}
{{/roles}}

## Timestamps and durations

{{#timestamps}}
- **{{label}}**: {{at}}{{#reason}} ({{reason}}){{/reason}}
{{/timestamps}}
{{^timestamps}}
_No timestamps were recorded._
{{/timestamps}}

{{#durations}}
- **{{label}}**: {{value}}
{{/durations}}

## Key moments

{{#key_items}}
- {{at}}: {{text}} ({{by}})
{{/key_items}}
{{^key_items}}
_No pinned messages, updates or status changes._
{{/key_items}}

## Updates

{{#updates}}
- **{{at}}**, {{by}} ({{status}}, {{severity}}): {{message}}
{{/updates}}
{{^updates}}
_No updates were posted._
{{/updates}}

## PagerDuty activity

{{#pagerduty_activity}}
- {{at}}: {{text}}
{{/pagerduty_activity}}
{{^pagerduty_activity}}
_No PagerDuty activity._
{{/pagerduty_activity}}

## Follow-ups

{{#follow_ups}}
- {{title}} ({{priority}}, {{status}}{{#owner}}, owner {{owner}}{{/owner}}){{#link}}: {{link}}{{/link}}
{{/follow_ups}}
{{^follow_ups}}
_No follow-ups yet._
{{/follow_ups}}

## What went well

_Write here._

## What could have gone better

_Write here._

## Lessons learned

_Write here._

---
_Generated by Firebreak on {{generated_at}} from [{{incident.reference}}]({{incident.url}})._
`;

export const MAX_TEMPLATE_BYTES = 100 * 1024;

/** A 1-based line and column of a 0-based offset. */
export function lineColumn(source: string, offset: number): { line: number; column: number } {
  const before = source.slice(0, Math.max(0, Math.min(offset, source.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines[lines.length - 1]?.length ?? 0) + 1 };
}

/** A template that does not parse or names unknown variables: 400 `invalid_template`. */
export class TemplateError extends AppError {
  constructor(message: string, details: Record<string, unknown>) {
    super(400, 'invalid_template', message, details);
  }
}

type Token = [string, string, number, number, Token[]?, number?];
type Scope = Record<string, Var> | null; // null: a text value's section (no fields of its own)

function parse(source: string): Token[] {
  try {
    return Mustache.parse(source) as unknown as Token[];
  } catch (err) {
    const message = (err as Error).message;
    const at = / at (\d+)\s*$/.exec(message);
    let offset = at ? Number(at[1]) : 0;
    // Mustache reports what is left open at the end of the template; point at where it was opened instead.
    if (offset >= source.length) {
      const section = /^Unclosed section "(.*)"/.exec(message);
      if (section) {
        const opener = new RegExp(`\\{\\{\\s*[#^]\\s*${section[1]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*\\}\\}`, 'g');
        for (const m of source.matchAll(opener)) offset = m.index;
      } else if (message.startsWith('Unclosed tag')) {
        offset = Math.max(0, source.lastIndexOf('{{'));
      }
    }
    const where = lineColumn(source, offset);
    const what = message.replace(/ at \d+\s*$/, '');
    throw new TemplateError(`The template does not parse: ${what} at line ${where.line}, column ${where.column}.`, { reason: 'syntax', line: where.line, column: where.column });
  }
}

function lookUp(name: string, scopes: Scope[]): Var | 'current' | null {
  if (name === '.') return scopes.length > 1 ? 'current' : null;
  const [first, ...rest] = name.split('.');
  for (let i = scopes.length - 1; i >= 0; i--) {
    const scope = scopes[i];
    if (!scope || !first || !(first in scope)) continue;
    let v: Var | undefined = scope[first];
    for (const part of rest) {
      if (!v || v.kind !== 'object') return null;
      v = v.fields[part];
    }
    return v ?? null;
  }
  return null;
}

/**
 * Checks a template: it parses, uses no partials, and names only known variables (looked up as Mustache does:
 * innermost section first, then outwards). Throws TemplateError (400) otherwise.
 */
export function checkTemplate(source: string): void {
  const tokens = parse(source);
  const unknown: { name: string; line: number; column: number }[] = [];
  const walk = (list: Token[], scopes: Scope[]) => {
    for (const t of list) {
      const [type, value, start] = t;
      if (type === 'text' || type === '!' || type === '=') continue;
      if (type === '>') {
        const where = lineColumn(source, start);
        throw new TemplateError(`Partials ({{> ${value}}}) are not supported in write-up templates (line ${where.line}, column ${where.column}).`, { reason: 'syntax', ...where });
      }
      const v = lookUp(value, scopes);
      if (!v) unknown.push({ name: value, ...lineColumn(source, start) });
      else if ((type === 'name' || type === '&') && v !== 'current' && v.kind !== 'text') {
        const where = lineColumn(source, start);
        const example = v.kind === 'list' ? `{{#${value}}}…{{/${value}}}` : `{{${value}.${Object.keys(v.fields)[0]}}}`;
        throw new TemplateError(`{{${value}}} is ${v.kind === 'list' ? 'a list' : 'a group of variables'}, not a value (line ${where.line}, column ${where.column}); use ${example}.`, { reason: 'not_a_value', ...where, name: value });
      }
      if (type === '#' || type === '^') {
        const inner: Scope = !v || v === 'current' ? null : v.kind === 'list' ? (type === '#' ? v.item : null) : v.kind === 'object' ? v.fields : null;
        walk(t[4] ?? [], [...scopes, inner]);
      }
    }
  };
  walk(tokens, [TEMPLATE_VARIABLES]);
  if (unknown.length > 0) {
    const names = [...new Set(unknown.map((u) => u.name))];
    const first = unknown[0]!;
    throw new TemplateError(
      `The template uses ${names.length === 1 ? 'an unknown variable' : 'unknown variables'}: ${names.map((n) => `{{${n}}}`).join(', ')} (first at line ${first.line}, column ${first.column}). See the list of variables.`,
      { reason: 'unknown_variables', line: first.line, column: first.column, unknown_variables: unknown },
    );
  }
}

/** Renders a checked template with a view; values are not HTML-escaped (Markdown, not HTML, is made here). */
export function renderTemplate(source: string, view: TemplateView): string {
  return Mustache.render(source, view, {}, { escape: (v: unknown) => String(v) });
}

/**
 * The variables as a flat list for people (the template editor's help and the API): each value a template can
 * print, by the name it is written with; a list's fields by their own name with the list they are used inside.
 */
export function variableList(): { name: string; description: string; list: boolean; inside: string | null }[] {
  const out: { name: string; description: string; list: boolean; inside: string | null }[] = [];
  const walk = (vars: Record<string, Var>, prefix: string, inside: string | null) => {
    for (const [k, v] of Object.entries(vars)) {
      const name = prefix ? `${prefix}.${k}` : k;
      if (v.kind === 'object') walk(v.fields, name, inside);
      else if (v.kind === 'list') {
        out.push({ name, description: v.description, list: true, inside });
        walk(v.item, '', name);
      } else out.push({ name, description: v.description, list: false, inside });
    }
  };
  walk(TEMPLATE_VARIABLES, '', null);
  return out;
}

// ---- the view: sources in words ----------------------------------------------------------------------------

export type TemplateView = Record<string, unknown>;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "6 Dec 2026, 14:05 UTC" */
export function timeInWords(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}, ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}

/** "1 hour 5 minutes", "45 seconds", "2 days 3 hours": the two largest units that are not zero. */
export function durationInWords(ms: number): string {
  const units: [string, number][] = [
    ['day', 86_400_000],
    ['hour', 3_600_000],
    ['minute', 60_000],
    ['second', 1000],
  ];
  let rest = Math.round(ms / 1000) * 1000;
  if (rest < 1000) return 'under a second';
  const parts: string[] = [];
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n} ${name}${n === 1 ? '' : 's'}`);
    else if (parts.length > 0) break; // "1 day 5 minutes" would skip the hours: stop at the first gap
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

const PRIORITY: Record<string, string> = { urgent: 'Urgent', high: 'High', medium: 'Medium', low: 'Low' };
const FOLLOW_UP_STATUS: Record<string, string> = { open: 'Open', done: 'Done', wont_do: 'Won’t do' };

export function templateView(s: WriteUpSources, opts: { incidentUrl: string; now: string }): TemplateView {
  const timestamp: Record<string, string> = {};
  for (const t of s.timestamps) timestamp[t.kind] = t.at ? timeInWords(t.at) : 'not set';
  const duration: Record<string, string> = {};
  for (const d of s.durations) duration[d.key] = d.ms === null ? 'not known' : durationInWords(d.ms);
  return {
    incident: {
      reference: s.incident.reference,
      name: s.incident.name,
      summary: s.incident.summary,
      severity: s.incident.severity,
      status: s.incident.status,
      mode: s.incident.mode,
      lead: s.incident.lead ?? 'No lead',
      declared_at: timeInWords(s.incident.declaredAt),
      url: opts.incidentUrl,
    },
    roles: s.roles.map((r) => ({ name: r.name, description: r.description, person: r.person ?? '' })),
    timestamps: s.timestamps.filter((t) => t.at).map((t) => ({ label: t.label, at: timeInWords(t.at!), source: t.source ?? '', reason: t.reason ?? '' })),
    timestamp,
    durations: s.durations.filter((d) => d.ms !== null).map((d) => ({ label: d.label, value: durationInWords(d.ms!) })),
    duration,
    key_items: s.keyItems.map((i) => ({ at: timeInWords(i.at), text: i.text, by: i.by })),
    pinned_messages: s.pinned.map((p) => ({ at: timeInWords(p.at), author: p.author, pinned_by: p.pinnedBy, text: p.text, permalink: p.permalink ?? '' })),
    updates: s.updates.map((u) => ({ at: timeInWords(u.at), by: u.by, status: u.status, severity: u.severity, message: u.message, summary: u.summary ?? '' })),
    status_changes: s.statusChanges.map((i) => ({ at: timeInWords(i.at), text: i.text, by: i.by })),
    pagerduty_activity: s.pagerduty.map((i) => ({ at: timeInWords(i.at), text: i.text, by: i.by })),
    follow_ups: s.followUps.map((f) => ({ title: f.title, owner: f.owner ?? '', priority: PRIORITY[f.priority] ?? f.priority, status: FOLLOW_UP_STATUS[f.status] ?? f.status, link: f.link ?? '' })),
    generated_at: timeInWords(opts.now),
  };
}
