import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowsCli } from '../../src/workflows/cli.js';
import { backends, ownerClient, startTestFirebreak, userClient, type Client, type TestFirebreak } from '../helpers.js';
import { catalogType, defineField } from '../custom-fields/helpers.js';

// Workflow definitions through the REST API, YAML as code and the CLI, on both backends: a definition that does not
// check is refused naming the part and nothing is written; admins change workflows, everyone reads them; every
// change is audited with the definition before and after; export → apply → export gives the same text; a dry run
// writes nothing; prune deletes what the files do not hold.

const put = (c: Client, path: string, body: unknown) => c.request('PUT', path, body);

const base = {
  key: 'page-services',
  name: 'Page affected services',
  trigger: { type: 'incident.declared' },
  conditions: [{ all: [{ subject: 'incident.severity', operator: 'at_least', value: 'Critical' }] }],
  steps: [{ id: 'page', type: 'escalate', policy_ids: ['PPOL1'], message: 'Paging for {{ incident.reference }}: {{ incident.name }}' }],
};

describe.each(backends)('workflow definitions on %s', (backend) => {
  let fb: TestFirebreak;
  let owner: Client;
  let viewer: Client;
  let admin: Client;
  let adminName: string;

  beforeAll(async () => {
    fb = await startTestFirebreak(backend);
    owner = await ownerClient(fb);
    viewer = (await userClient(fb, owner, 'viewer')).client;
    const a = await userClient(fb, owner, 'admin');
    admin = a.client;
    adminName = a.user.name;
    await catalogType(owner, 'Service', 'Service', ['checkout-api', 'search']);
    await defineField(owner, { key: 'affected_services', name: 'Affected services', type: 'catalog', catalog_type: 'Service', multiple: true });
  });
  afterAll(async () => fb?.destroy());

  it('refuses each bad definition with 400 invalid_workflow naming the part, and writes nothing', async () => {
    const step = (s: Record<string, unknown>) => ({ ...base, steps: [{ id: 'page', ...s }] });
    const bad: [string, unknown, string, RegExp][] = [
      ['unknown field', step({ type: 'escalate', policies_expression: 'incident.custom_fields.affected_services.map(s, s.nme)', message: 'x' }), 'steps[0].policies_expression', /^Step 1 \(page\), policies_expression: .*Service.* has no field "nme" \(line 1, column 51\)/],
      ['wrong type', step({ type: 'escalate', policies_expression: 'incident.custom_fields.affected_services', message: 'x' }), 'steps[0].policies_expression', /Step 1 \(page\), policies_expression: must give escalation policies .* it gives list<Service>/],
      ['a condition that is not true or false', { ...base, conditions: [{ all: [{ expression: 'incident.name' }] }] }, 'conditions[0].all[0].expression', /^Condition 1 of group 1, expression: .*must be true or false \(bool\), but it gives string/],
      ['an unknown severity', { ...base, conditions: [{ all: [{ subject: 'incident.severity', operator: 'at_least', value: 'Sev0' }] }] }, 'conditions[0].all[0].value', /"Sev0" is not a severity/],
      ['a step without a target', step({ type: 'escalate', message: 'x' }), 'steps[0]', /^Step 1 \(page\): needs a target \(a escalate to PagerDuty step takes policy_ids, user_ids, policies_expression or users_expression\)/],
      ['a delay over 24 hours', { ...base, delay_minutes: 1500 }, 'delay_minutes', /^Delay is at most 24 hours \(1440 minutes\)$/],
      ['a for-each over a non-list', { ...base, for_each: 'incident.name' }, 'for_each', /^for_each must be a list, got string$/],
      ['item without for_each', step({ type: 'timeline_note', text: 'Hi {{ item.name }}' }), 'steps[0].text', /Unknown variable "item"/],
      ['an unclosed template', step({ type: 'timeline_note', text: 'Hi {{ incident.name' }), 'steps[0].text', /"\{\{" is not closed/],
      ['an unknown custom field', step({ type: 'set_custom_field', field_key: 'impact', value: 'High' }), 'steps[0].field_key', /no custom field with the key "impact" \(there are: affected_services\)/],
      ['an unknown severity to set', step({ type: 'set_severity', severity: 'Sev0' }), 'steps[0].severity', /"Sev0" is not a severity/],
      ['a non-http URL', step({ type: 'http', method: 'POST', url: 'ftp://example.com/hook' }), 'steps[0].url', /must be an http:\/\/ or https:\/\/ address/],
      ['a URL whose start is a variable', step({ type: 'http', method: 'POST', url: '{{ incident.name }}/hook' }), 'steps[0].url', /must be an http:\/\/ or https:\/\/ address/],
      ['duplicate form keys', { ...base, trigger: { type: 'manual', form: [{ key: 'why', label: 'Why', type: 'text' }, { key: 'why', label: 'Why again', type: 'text' }] } }, 'trigger.form[1].key', /two fields with the key "why"/],
      ['an unknown input', { ...base, trigger: { type: 'manual', form: [{ key: 'why', label: 'Why', type: 'text' }] }, steps: [{ id: 'n', type: 'timeline_note', text: '{{ inputs.why }} {{ incident.nme }}' }] }, 'steps[0].text', /firebreak.Incident has no field "nme" \(line 1, column 30\)/],
      ['duplicate step ids', { ...base, steps: [base.steps[0], base.steps[0]] }, 'steps[1].id', /^Step 2 \(page\), id: another step has the id "page"/],
      ['an unknown part', { ...base, colour: 'red' }, 'colour', /unknown field "colour"/],
      ['a bad step type', step({ type: 'launch', message: 'x' }), 'steps[0].type', /^Step 1 \(page\)/],
    ];
    for (const [what, body, path, message] of bad) {
      for (const route of ['/api/v1/workflows', '/api/v1/workflows/check']) {
        const r = await owner.post(route, body);
        expect(r.status, `${what}: ${JSON.stringify(r.body)}`).toBe(400);
        expect(r.body.error.code, what).toBe('invalid_workflow');
        expect(r.body.error.details.path, what).toBe(path);
        expect(r.body.error.message, what).toMatch(message);
      }
    }
    const exprErr = (await owner.post('/api/v1/workflows', bad[0]![1])).body.error.details.expression_error;
    expect(exprErr).toMatchObject({ reason: 'unknown_field', position: { offset: 50, line: 1, column: 51 } });
    expect((await owner.get('/api/v1/workflows')).body.workflows).toEqual([]);
    const audit = await fb.app.database.db.selectFrom('audit_events').select('action').where('target_kind', '=', 'workflow').execute();
    expect(audit).toEqual([]);
  });

  it('accepts expressions with item and inputs bound, and says ok on check', async () => {
    const good = {
      ...base,
      key: 'each-service',
      for_each: 'incident.custom_fields.affected_services',
      dedupe: { mode: 'once_per_value', expression: 'incident.severity.name' },
      steps: [
        { id: 'note', type: 'timeline_note', text: 'Service {{ item.name }} ({{ item.external_id }})' },
        { id: 'sev', type: 'set_severity', severity: 'Critical' },
        { id: 'field', type: 'set_custom_field', field_key: 'affected_services', value_expression: '[item]' },
      ],
    };
    expect((await viewer.post('/api/v1/workflows/check', good)).body).toEqual({ ok: true });
    const manual = { ...base, key: 'by-hand', trigger: { type: 'manual', form: [{ key: 'why', label: 'Why', type: 'text' }, { key: 'n', label: 'N', type: 'number' }] }, steps: [{ id: 'n', type: 'timeline_note', text: '{{ inputs.why }} x{{ inputs.n + 1.0 }}' }] };
    expect((await viewer.post('/api/v1/workflows/check', manual)).body).toEqual({ ok: true });
    expect((await owner.get('/api/v1/workflows')).body.workflows).toEqual([]);
  });

  it('admins create, change, activate and delete; everyone reads; keys are unique among live workflows', async () => {
    expect((await viewer.post('/api/v1/workflows', base)).status).toBe(403);
    const activations: unknown[] = [];
    fb.app.workflows.service.onActivated((a) => void activations.push(a));

    const created = await admin.post('/api/v1/workflows', { ...base, steps: [...base.steps, { id: 'tell', type: 'http', method: 'POST', url: 'https://hooks.example.com/x', body: '{"ref": "{{ incident.reference }}"}' }] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const w = created.body;
    expect(w).toMatchObject({ key: 'page-services', name: 'Page affected services', state: 'draft', version: 1, has_secret: true, last_run_at: null });
    expect(w.secret).toMatch(/^wfs_/);
    expect(await fb.app.workflows.service.secretFor(w.id)).toBe(w.secret);
    const stored = await fb.app.database.db.selectFrom('workflows').select('secret').where('id', '=', w.id).executeTakeFirstOrThrow();
    expect(stored.secret).not.toContain(w.secret);

    const read = await viewer.get(`/api/v1/workflows/page-services`);
    expect(read.status).toBe(200);
    expect(read.body.id).toBe(w.id);
    expect(read.body.secret).toBeUndefined();
    expect((await viewer.get('/api/v1/workflows')).body.workflows.map((x: any) => x.key)).toEqual(['page-services']);

    const dup = await admin.post('/api/v1/workflows', base);
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('workflow_key_taken');

    expect((await put(viewer, `/api/v1/workflows/${w.id}`, { ...base, name: 'x' })).status).toBe(403);
    const changed = await put(admin, `/api/v1/workflows/${w.id}`, { ...base, name: 'Page services', delay_minutes: 15 });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body).toMatchObject({ name: 'Page services', delay_minutes: 15, version: 2, state: 'draft' });
    expect(changed.body.secret).toBeUndefined();
    const same = await put(admin, `/api/v1/workflows/${w.id}`, { ...base, name: 'Page services', delay_minutes: 15 });
    expect(same.body.version).toBe(2);
    const badPut = await put(admin, `/api/v1/workflows/${w.id}`, { ...base, delay_minutes: 2000 });
    expect(badPut.body.error.code).toBe('invalid_workflow');
    expect((await viewer.get(`/api/v1/workflows/${w.id}`)).body.version).toBe(2);

    const v0 = await fb.app.workflows.service.version();
    expect((await viewer.post(`/api/v1/workflows/${w.id}/state`, { state: 'active' })).status).toBe(403);
    const on = await admin.post(`/api/v1/workflows/${w.id}/state`, { state: 'active', apply_to_existing: true });
    expect(on.status, JSON.stringify(on.body)).toBe(200);
    expect(on.body).toMatchObject({ state: 'active', apply_to_existing: true });
    expect(activations).toEqual([{ workflowId: w.id, applyToExisting: true }]);
    expect(await fb.app.workflows.service.version()).not.toBe(v0);
    expect((await fb.app.workflows.service.listActive('incident.declared')).map((x) => x.key)).toEqual(['page-services']);
    expect(await fb.app.workflows.service.listActive('manual')).toEqual([]);
    const off = await admin.post(`/api/v1/workflows/page-services/state`, { state: 'disabled' });
    expect(off.body.state).toBe('disabled');
    expect(await fb.app.workflows.service.listActive('incident.declared')).toEqual([]);

    const rotated = await admin.post(`/api/v1/workflows/${w.id}/secret`);
    expect(rotated.body.secret).toMatch(/^wfs_/);
    expect(rotated.body.secret).not.toBe(w.secret);
    expect(await fb.app.workflows.service.secretFor(w.id)).toBe(rotated.body.secret);
    expect((await viewer.post(`/api/v1/workflows/${w.id}/secret`)).status).toBe(403);

    expect((await viewer.del(`/api/v1/workflows/${w.id}`)).status).toBe(403);
    expect((await admin.del(`/api/v1/workflows/${w.id}`)).status).toBe(204);
    const gone = await viewer.get(`/api/v1/workflows/${w.id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('workflow_not_found');
    expect((await viewer.get('/api/v1/workflows')).body.workflows).toEqual([]);
    // the key is free again once deleted
    const again = await admin.post('/api/v1/workflows', base);
    expect(again.status).toBe(201);
    expect(again.body.has_secret).toBe(false);
    expect(again.body.secret).toBeUndefined();

    // the audit: who did what, with the definition before and after
    const audit = await viewer.get(`/api/v1/workflows/${w.id}/audit`);
    expect(audit.status).toBe(404); // deleted workflows are gone from the API
    const entries = (await fb.app.database.db.selectFrom('audit_events').selectAll().where('target_id', '=', w.id).orderBy('id').execute()).map((e) => ({ action: e.action, details: JSON.parse(e.details) }));
    expect(entries.map((e) => e.action)).toEqual(['workflow.created', 'workflow.updated', 'workflow.state_changed', 'workflow.state_changed', 'workflow.secret_rotated', 'workflow.deleted']);
    expect(entries[1]!.details.before).toMatchObject({ name: 'Page affected services' });
    expect(entries[1]!.details.after).toMatchObject({ name: 'Page services', delay_minutes: 15 });
    expect(entries[2]!.details).toMatchObject({ from: 'draft', to: 'active', apply_to_existing: true, before: { state: 'draft' }, after: { state: 'active' } });
    expect(entries[5]!.details.after).toBeNull();
    await admin.del(`/api/v1/workflows/${again.body.id}`);
  });

  it('shows the audit with names, before and after', async () => {
    const w = (await admin.post('/api/v1/workflows', { ...base, key: 'audited' })).body;
    await put(admin, `/api/v1/workflows/${w.id}`, { ...base, key: 'audited', name: 'Audited' });
    await admin.post(`/api/v1/workflows/${w.id}/state`, { state: 'active' });
    const r = await viewer.get(`/api/v1/workflows/audited/audit`);
    expect(r.status).toBe(200);
    expect(r.body.entries.map((e: any) => [e.action, e.actor.name])).toEqual([
      ['workflow.created', adminName],
      ['workflow.updated', adminName],
      ['workflow.state_changed', adminName],
    ]);
    expect(r.body.entries[0].before).toBeNull();
    expect(r.body.entries[0].after).toMatchObject({ key: 'audited', state: 'draft' });
    expect(r.body.entries[1]).toMatchObject({ before: { name: 'Page affected services' }, after: { name: 'Audited' } });
    await admin.del(`/api/v1/workflows/${w.id}`);
  });

  it('exports YAML and applies it: round trip identical, plan, dry run, prune, errors with line and column', async () => {
    const one = await admin.post('/api/v1/workflows', { ...base, key: 'a-first', description: 'First', for_each: 'incident.custom_fields.affected_services', steps: [{ id: 'note', type: 'timeline_note', text: 'Hello {{ item.name }}' }] });
    const two = await admin.post('/api/v1/workflows', { ...base, key: 'b-second', state: 'active', trigger: { type: 'incident.updated', changes: ['severity', 'custom_field'], custom_field_keys: ['affected_services'] } });
    expect(two.status, JSON.stringify(two.body)).toBe(201);
    const exported = await viewer.get('/api/v1/workflows/export');
    expect(exported.status).toBe(200);
    const text = exported.body as string;
    expect(text).toMatch(/^key: a-first\nname: Page affected services\ndescription: First\nstate: draft\ntrigger:\n/);
    expect(text).toContain('---\nkey: b-second\n');
    const single = await viewer.get('/api/v1/workflows/b-second/export');
    expect(single.body).toBe(text.split('---\n')[1]);

    const same = await admin.post('/api/v1/workflows/apply', { document: text });
    expect(same.body).toEqual({ applied: false, plan: [{ key: 'a-first', name: 'Page affected services', action: 'unchanged', changes: [] }, { key: 'b-second', name: 'Page affected services', action: 'unchanged', changes: [] }] });

    // on a fresh set: delete both, apply, export again: the same text
    await admin.del('/api/v1/workflows/a-first');
    await admin.del('/api/v1/workflows/b-second');
    const created = await admin.post('/api/v1/workflows/apply', { document: text });
    expect(created.body.applied).toBe(true);
    expect(created.body.plan.map((p: any) => p.action)).toEqual(['create', 'create']);
    expect((await viewer.get('/api/v1/workflows/export')).body).toBe(text);
    expect((await viewer.get('/api/v1/workflows/b-second')).body.state).toBe('active');

    // a change: dry run writes nothing, apply writes it
    const edited = text.replace('name: Page affected services\ndescription: First', 'name: Renamed\ndescription: First');
    expect((await viewer.post('/api/v1/workflows/apply', { document: edited })).status).toBe(403);
    const dry = await admin.post('/api/v1/workflows/apply', { document: edited, dry_run: true });
    expect(dry.body.applied).toBe(false);
    expect(dry.body.plan[0]).toEqual({ key: 'a-first', name: 'Renamed', action: 'update', changes: ['name: "Page affected services" → "Renamed"'] });
    expect((await viewer.get('/api/v1/workflows/a-first')).body).toMatchObject({ name: 'Page affected services', version: 1 });
    const applied = await admin.post('/api/v1/workflows/apply', { document: edited });
    expect(applied.body.applied).toBe(true);
    expect((await viewer.get('/api/v1/workflows/a-first')).body).toMatchObject({ name: 'Renamed', version: 2 });

    // prune: only the first in the document
    const firstOnly = edited.split('---\n')[0]!;
    const pruneDry = await admin.post('/api/v1/workflows/apply', { document: firstOnly, prune: true, dry_run: true });
    expect(pruneDry.body.plan.map((p: any) => `${p.key}:${p.action}`)).toEqual(['a-first:unchanged', 'b-second:delete']);
    expect((await viewer.get('/api/v1/workflows/b-second')).status).toBe(200);
    const noPrune = await admin.post('/api/v1/workflows/apply', { document: firstOnly });
    expect(noPrune.body.plan.map((p: any) => p.action)).toEqual(['unchanged']);
    await admin.post('/api/v1/workflows/apply', { document: firstOnly, prune: true });
    expect((await viewer.get('/api/v1/workflows/b-second')).status).toBe(404);

    // errors: bad YAML, bad shape, a definition that does not check: with where; nothing written (one transaction)
    const badYaml = await admin.post('/api/v1/workflows/apply', { document: 'key: x\nname: [unclosed\n' });
    expect(badYaml.status).toBe(400);
    expect(badYaml.body.error.code).toBe('invalid_document');
    expect(badYaml.body.error.details.position).toMatchObject({ line: expect.any(Number), column: expect.any(Number) });
    const badShape = await admin.post('/api/v1/workflows/apply', { document: `${firstOnly}---\nkey: c-third\nname: C\ntrigger:\n  type: incident.declared\nsteps:\n  - id: s\n    type: timeline_note\n    text: hi\n    colour: red\n` });
    // lines count in the whole text: the second document starts after the first and its ---
    const second = firstOnly.split('\n').length;
    expect(badShape.body.error).toMatchObject({ code: 'invalid_document', details: { path: 'steps[0].colour', position: { line: second + 9, column: 13 } } });
    expect(badShape.body.error.message).toBe(`document: line ${second + 9}, column 13: Step 1 (s), colour: unknown field "colour"`);
    const bad = `${firstOnly}---\nkey: c-third\nname: C\ntrigger:\n  type: incident.declared\ndelay_minutes: 10\nfor_each: incident.name\nsteps:\n  - id: s\n    type: timeline_note\n    text: hi\n`;
    const badCheck = await admin.post('/api/v1/workflows/apply', { document: bad });
    expect(badCheck.status).toBe(400);
    expect(badCheck.body.error.code).toBe('invalid_workflow');
    expect(badCheck.body.error.message).toBe(`document: line ${second + 6}, column 11: for_each must be a list, got string`);
    const both = await admin.post('/api/v1/workflows/apply', { document: `${edited.split('---\n')[0]!.replace('Renamed', 'Again')}---\nkey: c-third\nname: C\ntrigger:\n  type: incident.declared\nsteps:\n  - id: s\n    type: set_severity\n    severity: Nope\n` });
    expect(both.status).toBe(400);
    expect((await viewer.get('/api/v1/workflows/a-first')).body.name).toBe('Renamed');
    expect((await viewer.get('/api/v1/workflows/c-third')).status).toBe(404);
    const dupKeys = await admin.post('/api/v1/workflows/apply', { document: `${firstOnly}---\n${firstOnly}` });
    expect(dupKeys.body.error.message).toMatch(/the key "a-first" is also used/);
    await admin.del('/api/v1/workflows/a-first');
  });

  it('firebreak workflows export --out dir / apply -f dir [--dry-run] [--prune]', async () => {
    const svc = fb.app.workflows.service;
    await admin.post('/api/v1/workflows', { ...base, key: 'cli-one' });
    await admin.post('/api/v1/workflows', { ...base, key: 'cli-two', name: 'Two' });
    const dir = mkdtempSync(join(tmpdir(), 'wf-cli-'));
    const run = async (args: string[]) => {
      let out = '';
      let err = '';
      const code = await workflowsCli(svc, args, { out: (s) => (out += s), err: (s) => (err += s) });
      return { code, out, err };
    };
    try {
      const ex = await run(['export', '--out', dir]);
      expect(ex).toMatchObject({ code: 0, out: `Wrote 2 workflows to ${dir}\n` });
      expect(readdirSync(dir).sort()).toEqual(['cli-one.yaml', 'cli-two.yaml']);
      const printed = await run(['export']);
      expect(printed.out).toBe(`${readFileSync(join(dir, 'cli-one.yaml'), 'utf8')}---\n${readFileSync(join(dir, 'cli-two.yaml'), 'utf8')}`);

      const unchanged = await run(['apply', '-f', dir]);
      expect(unchanged.code).toBe(0);
      expect(unchanged.out).toBe('Nothing to change: the workflows already match the files.\n= cli-one (Page affected services): unchanged\n= cli-two (Two): unchanged\n');

      writeFileSync(join(dir, 'cli-two.yaml'), readFileSync(join(dir, 'cli-two.yaml'), 'utf8').replace('name: Two', 'name: Deux'));
      rmSync(join(dir, 'cli-one.yaml'));
      const dry = await run(['apply', '-f', dir, '--dry-run', '--prune']);
      expect(dry.out).toBe('Dry run: 2 changes would be applied; nothing was written.\n~ cli-two (Deux): update\n    name: "Two" → "Deux"\n- cli-one (Page affected services): delete\n    not in the documents (--prune): deleted\n');
      expect((await viewer.get('/api/v1/workflows/cli-two')).body.name).toBe('Two');
      const done = await run(['apply', '-f', dir, '--prune']);
      expect(done.out).toMatch(/^Applied 2 changes\./);
      expect((await viewer.get('/api/v1/workflows/cli-two')).body.name).toBe('Deux');
      expect((await viewer.get('/api/v1/workflows/cli-one')).status).toBe(404);
      const audit = (await viewer.get('/api/v1/workflows/cli-two/audit')).body.entries;
      expect(audit.at(-1)).toMatchObject({ action: 'workflow.updated', actor: { kind: 'system', name: 'cli' } });

      writeFileSync(join(dir, 'broken.yaml'), 'key: broken\nname: B\ntrigger:\n  type: incident.declared\nsteps:\n  - id: s\n    type: escalate\n    message: hi\n');
      const broken = await run(['apply', '-f', dir]);
      expect(broken.code).toBe(1);
      expect(broken.err).toBe(`firebreak workflows apply: ${join(dir, 'broken.yaml')}: line 6, column 5: Step 1 (s): needs a target (a escalate to PagerDuty step takes policy_ids, user_ids, policies_expression or users_expression)\n`);
      expect((await run(['apply'])).code).toBe(2);
      expect((await run(['apply', '-f', join(dir, 'nope')])).err).toMatch(/no such file or directory/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
