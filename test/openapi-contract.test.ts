import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validate } from '@readme/openapi-parser';
import { registeredRoutes } from '../src/platform/http/server.js';
import { ownerClient, startTestFirebreak, type Client, type TestFirebreak } from './helpers.js';

// /api/openapi.json is the API's contract: every operation declares the errors it can answer with (one shared
// Error component), every field is snake_case, and real responses carry no field the document does not
// declare (a stray camelCase object leaked through POST /api/v1/api_keys that way).

const snake = /^[a-z][a-z0-9_]*$/;
type Schema = Record<string, any>;

/** Property names declared anywhere in a schema (request or response), with where they are. */
function propertyNames(schema: unknown, where: string, out: string[] = []): string[] {
  if (!schema || typeof schema !== 'object') return out;
  if (Array.isArray(schema)) {
    schema.forEach((s) => propertyNames(s, where, out));
    return out;
  }
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'properties' && v && typeof v === 'object') for (const name of Object.keys(v)) out.push(`${where}: ${name}`);
    propertyNames(v, where, out);
  }
  return out;
}

/** Keys of a real response that are not snake_case, or that the documented schema does not declare. */
function undeclaredKeys(doc: Schema, schema: Schema | undefined, value: unknown, path: string, out: string[] = []): string[] {
  if (!schema || value === null || typeof value !== 'object') return out;
  if (schema.$ref) return undeclaredKeys(doc, doc.components.schemas[String(schema.$ref).split('/').pop()!], value, path, out);
  const branches: Schema[] = [...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? [])];
  if (branches.length) {
    // the value must fit one branch; report the problems of the branch that fits best
    const results = branches.map((b) => undeclaredKeys(doc, b, value, path, []));
    out.push(...results.reduce((a, b) => (b.length < a.length ? b : a)));
    return out;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => undeclaredKeys(doc, schema.items, v, `${path}[${i}]`, out));
    return out;
  }
  const props: Record<string, Schema> = schema.properties ?? {};
  const extra = typeof schema.additionalProperties === 'object' ? (schema.additionalProperties as Schema) : undefined;
  for (const [k, v] of Object.entries(value)) {
    if (props[k]) {
      if (!snake.test(k)) out.push(`${path}.${k} is not snake_case`);
      undeclaredKeys(doc, props[k], v, `${path}.${k}`, out);
    } else if (extra) undeclaredKeys(doc, extra, v, `${path}[${JSON.stringify(k)}]`, out); // a map: keys are data
    else out.push(`${path}.${k} is not in the documented schema`);
  }
  return out;
}

describe('the OpenAPI document', () => {
  let fb: TestFirebreak;
  let owner: Client;
  let doc: Schema;
  const operations: { method: string; path: string; op: Schema }[] = [];

  beforeAll(async () => {
    fb = await startTestFirebreak('sqlite', { logLevel: 'warn' });
    owner = await ownerClient(fb);
    doc = (await owner.get('/api/openapi.json')).body;
    for (const [path, ops] of Object.entries<Schema>(doc.paths)) for (const [method, op] of Object.entries<Schema>(ops)) operations.push({ method: method.toUpperCase(), path, op });
  });
  afterAll(async () => fb?.destroy());

  it('is a valid OpenAPI document and documents every API route the server registers', async () => {
    const result = await validate(structuredClone(doc) as Parameters<typeof validate>[0]);
    expect(result.valid ? [] : result.errors.map((e) => e.message)).toEqual([]);
    const documented = new Set(operations.map((o) => `${o.method} ${o.path}`));
    const routes = registeredRoutes(fb.app.http)
      .filter((r) => r.url.startsWith('/api/v1/'))
      .flatMap((r) => ([] as string[]).concat(r.method).filter((m) => m !== 'HEAD').map((m) => `${m} ${r.url.replace(/:([A-Za-z_]+)/g, '{$1}')}`));
    expect(routes.length).toBeGreaterThan(60);
    expect(routes.filter((r) => !documented.has(r))).toEqual([]);
  });

  it('has one Error component in the documented shape', () => {
    const e = doc.components.schemas.Error;
    expect(e.required).toEqual(['error']);
    expect(Object.keys(e.properties.error.properties).sort()).toEqual(['code', 'details', 'message']);
    expect(e.properties.error.required.sort()).toEqual(['code', 'details', 'message']);
    expect(e.properties.error.properties.details.nullable).toBe(true);
  });

  it('every operation declares the errors it can answer with, each referring to the Error component', () => {
    const missing: string[] = [];
    for (const { method, path, op } of operations) {
      const expected = [401, 403, 500, 503];
      if (op.parameters?.length || op.requestBody) expected.push(400);
      if (path.includes('{')) expected.push(404);
      if (method !== 'GET') expected.push(409);
      if (op.requestBody) expected.push(413, 415);
      for (const status of expected) {
        const r = op.responses?.[status];
        if (!r) missing.push(`${method} ${path}: no ${status}`);
        else if (r.content?.['application/json']?.schema?.$ref !== '#/components/schemas/Error') missing.push(`${method} ${path}: ${status} does not refer to Error`);
        else if (!r.description || r.description === 'Default Response') missing.push(`${method} ${path}: ${status} has no description`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('operations that ask PagerDuty or Slack while answering declare 502, and answer it in the Error shape when the peer is down', async () => {
    const upstream = operations.filter((o) => o.op.responses?.[502]).map((o) => `${o.method} ${o.path}`).sort();
    expect(upstream).toEqual([
      'GET /api/v1/integrations/slack/channels',
      'PATCH /api/v1/integrations/pagerduty',
      'PATCH /api/v1/integrations/pagerduty/accounts/{id}',
      'POST /api/v1/incidents/{id}/pagerduty_changes/{change_id}/pin',
      'POST /api/v1/incidents/{id}/pagerduty_incidents',
      'POST /api/v1/integrations/pagerduty/accounts',
      'POST /api/v1/integrations/pagerduty/accounts/{id}/check_key',
      'POST /api/v1/integrations/pagerduty/check_key',
      'POST /api/v1/integrations/pagerduty/webhook_test',
      'PUT /api/v1/integrations/pagerduty',
      'PUT /api/v1/integrations/slack',
    ]);
    // Nothing listens on port 9 of the loopback: PagerDuty cannot be reached.
    const r = await owner.post('/api/v1/integrations/pagerduty/check_key', { region: 'us', base_url: 'http://127.0.0.1:9', api_key: 'u+abcdefghijklmnopqrst' });
    expect(r.status).toBe(502);
    expect(r.body.error.code).toBe('upstream_failed');
    expect(r.body.error.details === null || typeof r.body.error.details === 'object').toBe(true);
  });

  it('every field of every request and response schema is snake_case', () => {
    const names = operations.flatMap(({ method, path, op }) => [
      ...propertyNames(op.responses, `${method} ${path} response`),
      ...propertyNames(op.requestBody, `${method} ${path} body`),
      ...(op.parameters ?? []).filter((p: Schema) => p.in !== 'header').map((p: Schema) => `${method} ${path} ${p.in}: ${p.name}`),
    ]);
    expect(names.length).toBeGreaterThan(500);
    expect(names.filter((n) => !snake.test(n.split(': ').pop()!))).toEqual([]);
  });

  it('real responses carry only documented, snake_case fields', async () => {
    const inc = await owner.post('/api/v1/incidents', { name: 'Checkout errors', summary: 'Payments fail' });
    expect(inc.status).toBe(201);
    const id = inc.body.incident.id as string;
    await owner.post(`/api/v1/incidents/${id}/timeline/notes`, { text: 'Looking at it' });
    await owner.post('/api/v1/catalog_types', { name: 'Runbook', attributes: [] });
    const key = await owner.post('/api/v1/api_keys', { name: 'ci', scopes: ['read'] });
    expect(key.status).toBe(201);
    const user = await owner.post('/api/v1/users', { name: 'Rae', email: 'rae@example.com', role: 'viewer' });
    const followUp = await owner.post(`/api/v1/incidents/${id}/follow_ups`, { title: 'Add an alert', owner_user_id: user.body.user.id, link: 'https://tickets.example.com/1' });
    const calls: { method: string; path: string; status: number; body: unknown }[] = [
      { method: 'post', path: '/api/v1/incidents/{incident_id}/follow_ups', status: followUp.status, body: followUp.body },
      { method: 'post', path: '/api/v1/incidents', status: inc.status, body: inc.body },
      { method: 'post', path: '/api/v1/api_keys', status: key.status, body: key.body },
      { method: 'post', path: '/api/v1/users', status: user.status, body: user.body },
    ];
    // every GET the API has, with the ids made above where a path needs one
    for (const { method, path } of operations.filter((o) => o.method === 'GET')) {
      if (path.includes('{') && !path.startsWith('/api/v1/incidents/{id}')) continue;
      if (path.includes('{link_id}')) continue;
      if (path === '/api/v1/live') continue; // a never-ending event stream, not JSON (test/live covers it)
      const r = await owner.get(path.replace('{id}', id) + (path.endsWith('escalation_options') ? '?type=user' : ''));
      calls.push({ method: method.toLowerCase(), path, status: r.status, body: r.body });
    }
    expect(calls.filter((c) => c.status === 200).length).toBeGreaterThan(20);
    const problems: string[] = [];
    for (const c of calls) {
      const schema = doc.paths[c.path][c.method].responses[c.status]?.content?.['application/json']?.schema;
      if (!schema) problems.push(`${c.method} ${c.path} answered ${c.status}, which it does not document`);
      else problems.push(...undeclaredKeys(doc, schema, c.body, `${c.method.toUpperCase()} ${c.path}`));
    }
    expect(problems).toEqual([]);
  });
});
