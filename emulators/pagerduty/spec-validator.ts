/**
 * Validates requests and responses against PagerDuty's official OpenAPI document (../shared/pagerduty).
 * Used by the contract suite. The spec's known quirks are handled here, never by bending the emulator;
 * each is listed in QUIRKS and documented in README.md.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { dereference } from '@readme/openapi-parser';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

type Schema = Record<string, unknown>;
interface Parameter { name: string; in: 'query' | 'header' | 'path' | 'cookie'; required?: boolean; schema?: Schema }
interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
}

export const QUIRKS = [
  'Accept and Content-Type are declared required on every operation: Content-Type is only checked when a body is sent.',
  'Error responses referenced by JSON pointers into other responses: resolved by @readme/openapi-parser dereference.',
  'include[] (and other [] filters) declared as a single string: each repeated value is validated on its own.',
  'IncidentBody requires a `type` it does not define: Ajv runs with strict mode off.',
  'components/parameters/sre_memories_limit has a string default on an integer: the document is dereferenced, not validated, and defaults are not applied.',
  'WebhookSubscription create example shows secret: null: examples are not validated.',
  'AcknowledgeLogEntry narrows `type` to "acknowledgement_log_entry", which LogEntry does not allow: the acknowledge entry PagerDuty sends (acknowledge_log_entry) is accepted.',
  "Channel's oneOf variants (Nagios, API, Email, ...) do not discriminate on type, so every channel matches several: treated as anyOf.",
  'Fields PagerDuty returns as null are not marked nullable (priority, resolved_at, resolve_reason, conference_bridge, last_incident_timestamp, auto_resolve_timeout, acknowledgement_timeout, parent, oauth_client; for on-calls and schedules: start, end, schedule, rendered_coverage_percentage, whose descriptions say null is an answer): null values of these keys are skipped.',
  'Side-loaded objects (include[]) keep their full type (team, user, escalation_policy, schedule, service, incident) where the spec lists only the *_reference type: their type is compared as the reference type.',
  'PUT /incidents/{id} (updateIncident) declares no 400, although PagerDuty answers 400 for a missing From header and for 1001/1002: validated against the shared BadRequest response.',
  'GET /users/me with an account key answers 400 with `error` as a plain string (documented behaviour), not the declared error object.',
  'Emails with stray spaces (seeded on purpose to exercise matching) are checked as emails after trimming.',
  "IncidentBody.details is typed object, but the document's own createIncident example (and PagerDuty's reference) send a string: a string or an object is accepted.",
  'The change events\' since/until parameters give the placeholder "YYYY-MM-DDThh:mm:ssZ" as their regular expression, which only that literal text matches: checked as a UTC ISO 8601 date and time instead.',
];

/** The placeholder the document uses as a `pattern`, and what it stands for. */
const PLACEHOLDER_PATTERN = 'YYYY-MM-DDThh:mm:ssZ';
const UTC_DATE_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$';

const NULLABLE_KEYS = new Set(['priority', 'resolved_at', 'resolve_reason', 'conference_bridge', 'last_incident_timestamp',
  'auto_resolve_timeout', 'acknowledgement_timeout', 'parent', 'oauth_client', 'start', 'end', 'schedule', 'rendered_coverage_percentage']);
/** Statuses PagerDuty answers but an operation does not declare -> the shared response they use. */
const UNDECLARED_ERRORS: Record<string, string> = {
  // Missing/invalid From header and lifecycle errors (1001 already resolved, 1002 already acknowledged).
  'updateIncident 400': 'BadRequest',
};
const FULL_TYPES = new Set(['team', 'user', 'escalation_policy', 'schedule', 'service', 'incident']);

export interface CallRecord {
  method: string;
  /** Concrete path, e.g. /users/PABC123 */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body?: unknown;
  status: number;
  responseText: string;
}

export class SpecValidator {
  private readonly ajv: Ajv;
  private readonly compiled = new WeakMap<object, ValidateFunction>();
  private readonly templates: { template: string; re: RegExp; literals: number }[];

  private constructor(
    private readonly spec: { paths: Record<string, Record<string, Operation>> },
    private readonly sharedResponses: Record<string, Operation['responses'][string]>,
  ) {
    this.ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
    const fmt = ((addFormats as unknown as { default?: unknown }).default ?? addFormats) as unknown as (a: Ajv) => Ajv;
    fmt(this.ajv);
    this.ajv.addFormat('url', { type: 'string', validate: (s: string) => { try { new URL(s); return true; } catch { return false; } } });
    this.ajv.addFormat('tzinfo', { type: 'string', validate: (s: string) => s.length > 0 });
    this.ajv.addFormat('activesupport-time-zone', { type: 'string', validate: (s: string) => s.length > 0 });
    this.ajv.addFormat('partial-time', { type: 'string', validate: (s: string) => /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$/.test(s) });
    this.ajv.addFormat('email', { type: 'string', validate: (s: string) => /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(s.trim()) });
    this.templates = Object.keys(spec.paths).map((t) => ({
      template: t,
      re: new RegExp(`^${t.replace(/\{[^}]+\}/g, '([^/]+)')}$`),
      literals: t.split('/').filter((s) => s && !s.startsWith('{')).length,
    })).sort((a, b) => b.literals - a.literals);
  }

  /** The REST API document by default; `events-api-v2.openapi.json` for the Events API (its paths are below /v2). */
  static async load(specDir: string, file = 'rest-api-v2.openapi.json'): Promise<SpecValidator> {
    const raw = JSON.parse(await readFile(path.join(specDir, file), 'utf8')) as Record<string, unknown>;
    const api = await dereference(raw as never) as unknown as { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Schema> } };
    // Quirk: AcknowledgeLogEntry's own `type` enum names a type LogEntry forbids.
    const ack = api.components.schemas?.AcknowledgeLogEntry as { allOf?: Schema[] } | undefined;
    for (const part of ack?.allOf ?? []) {
      const t = (part.properties as Record<string, Schema> | undefined)?.type;
      if (t && Array.isArray(t.enum) && t.enum.includes('acknowledgement_log_entry')) t.enum = ['acknowledge_log_entry', 'acknowledgement_log_entry'];
    }
    // Quirk: Channel's oneOf variants share every property and do not discriminate on `type`, so any channel
    // matches several of them and `oneOf` can never pass. At least one must match.
    // Quirk: IncidentBody.details says object while createIncident's example sends the details as text.
    const body = api.components.schemas?.IncidentBody as { properties?: Record<string, Schema> } | undefined;
    if (body?.properties?.details) body.properties.details = { description: body.properties.details.description, anyOf: [{ type: 'string' }, { type: 'object' }] };
    // Quirk: a placeholder given as a regular expression (the change events' since/until).
    for (const item of Object.values(api.paths)) for (const op of Object.values(item)) {
      for (const p of (op as Operation).parameters ?? []) if (p.schema?.pattern === PLACEHOLDER_PATTERN) p.schema = { ...p.schema, pattern: UTC_DATE_TIME };
    }
    const channel = api.components.schemas?.Channel;
    if (channel && Array.isArray(channel.oneOf)) { channel.anyOf = channel.oneOf; delete channel.oneOf; }
    return new SpecValidator(api, (api.components as unknown as { responses: Record<string, Operation['responses'][string]> }).responses);
  }

  /** The operation a concrete method + path maps to (templates with more literal segments win). */
  operation(method: string, concretePath: string): { template: string; op: Operation; pathParams: string[] } | undefined {
    for (const t of this.templates) {
      const m = t.re.exec(concretePath);
      const op = m && this.spec.paths[t.template]?.[method.toLowerCase()];
      if (m && op) return { template: t.template, op, pathParams: m.slice(1) };
    }
    return undefined;
  }

  operationIds(): Set<string> {
    const out = new Set<string>();
    for (const item of Object.values(this.spec.paths)) for (const op of Object.values(item)) if (op && typeof op === 'object' && 'operationId' in op) out.add(op.operationId);
    return out;
  }

  private req(errors: string[]): string[] { return errors.map((e) => `REQ ${e}`); }

  private check(schema: Schema, value: unknown, where: string): string[] {
    let v = this.compiled.get(schema);
    if (!v) { v = this.ajv.compile(schema); this.compiled.set(schema, v); }
    if (v(value)) return [];
    return (v.errors ?? []).slice(0, 8).map((e) => `${where}${e.instancePath} ${e.message ?? ''} ${e.params ? JSON.stringify(e.params) : ''}`.trim());
  }

  /** Every problem with this exchange, as readable strings (empty = conforms). */
  validate(call: CallRecord): string[] {
    const { request, response } = this.validateParts(call);
    return [...request, ...response];
  }

  /** Problems with the request and with the response, separately (tests of bad input expect request problems). */
  validateParts(call: CallRecord): { request: string[]; response: string[] } {
    const out = this.validateAll(call);
    return { request: out.filter((e) => e.startsWith('REQ ')).map((e) => e.slice(4)), response: out.filter((e) => !e.startsWith('REQ ')) };
  }

  private validateAll(call: CallRecord): string[] {
    const found = this.operation(call.method, call.path);
    if (!found) return [`REQ ${call.method} ${call.path}: no such operation in the spec`];
    const { op, template, pathParams } = found;
    const errs: string[] = [];
    const label = `${call.method} ${template} (${op.operationId})`;
    const params = op.parameters ?? [];

    // request: path parameters
    const pathNames = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    pathNames.forEach((name, i) => {
      const p = params.find((x) => x.in === 'path' && x.name === name);
      if (p?.schema) errs.push(...this.req(this.check(p.schema, decodeURIComponent(pathParams[i]!), `${label} path ${name}`)));
    });
    // request: query parameters
    const declared = new Set(params.filter((p) => p.in === 'query').map((p) => p.name));
    for (const key of new Set(call.query.keys())) {
      if (!declared.has(key)) errs.push(`REQ ${label}: query parameter ${key} is not in the spec`);
    }
    for (const p of params.filter((x) => x.in === 'query')) {
      const values = call.query.getAll(p.name);
      if (values.length === 0) { if (p.required) errs.push(`REQ ${label}: missing required query ${p.name}`); continue; }
      const s = p.schema ?? {};
      if (s.type === 'array') {
        const itemType = (s.items as Schema | undefined)?.type;
        errs.push(...this.req(this.check(s, values.map((v) => coerce(v, itemType)), `${label} query ${p.name}`)));
      } else {
        for (const v of values) errs.push(...this.req(this.check(s, coerce(v, s.type), `${label} query ${p.name}`)));
      }
    }
    // request: headers
    const hasBody = call.body !== undefined;
    for (const p of params.filter((x) => x.in === 'header')) {
      const v = call.headers[p.name.toLowerCase()];
      if (p.name === 'Content-Type') {
        if (hasBody && v !== 'application/json') errs.push(`REQ ${label}: Content-Type must be application/json`);
        continue;
      }
      if (v === undefined) { if (p.required) errs.push(`REQ ${label}: missing required header ${p.name}`); continue; }
      if (p.schema) errs.push(...this.req(this.check(p.schema, v, `${label} header ${p.name}`)));
    }
    // request: body
    if (op.requestBody) {
      const schema = op.requestBody.content['application/json']?.schema;
      if (!hasBody) { if (op.requestBody.required) errs.push(`REQ ${label}: request body required`); }
      else if (schema) errs.push(...this.req(this.check(schema, call.body, `${label} request`)));
    }

    // response
    let resp = op.responses[String(call.status)] ?? op.responses.default;
    // Quirk: some operations omit statuses PagerDuty documents elsewhere; validated against the shared response.
    const undeclared = UNDECLARED_ERRORS[`${op.operationId} ${call.status}`];
    if (!resp && undeclared) resp = this.sharedResponses[undeclared];
    if (!resp) return [...errs, `${label}: status ${call.status} is not declared (declared: ${Object.keys(op.responses).join(', ')})`];
    const schema = resp.content?.['application/json']?.schema;
    if (call.status === 204) {
      if (call.responseText !== '') errs.push(`${label}: status 204 should have no body`);
      return errs;
    }
    // A response declared without content leaves the body unspecified.
    if (!resp.content) return errs;
    let body: unknown;
    try { body = JSON.parse(call.responseText); } catch { return [...errs, `${label}: response is not JSON`]; }
    if (template === '/users/me' && call.status === 400 && typeof (body as { error?: unknown }).error === 'string') return errs;
    if (schema) errs.push(...this.check(schema, normalise(body, 0, call.query.has('include[]')), `${label} response ${call.status}`));
    return errs;
  }
}

function coerce(v: string, type: unknown): unknown {
  if (type === 'integer' || type === 'number') return /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  if (type === 'boolean') return v === 'true' ? true : v === 'false' ? false : v;
  return v;
}

/**
 * Applies the response-side quirks (see QUIRKS) to a copy of the body. Depth 0 is the body, 1 the resource
 * (or list of resources), 2+ objects inside a resource: only those can be side-loaded.
 */
function normalise(v: unknown, depth: number, sideLoaded: boolean): unknown {
  if (Array.isArray(v)) return v.map((x) => normalise(x, depth, sideLoaded));
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === null && NULLABLE_KEYS.has(k)) continue;
    out[k] = normalise(x, depth + 1, sideLoaded);
  }
  if (sideLoaded && depth >= 2 && typeof out.type === 'string' && FULL_TYPES.has(out.type)) out.type = `${out.type}_reference`;
  return out;
}
