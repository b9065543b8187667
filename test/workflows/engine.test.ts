import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers.js';
import { createsByKey, quiesce, setupEscalations, waitFor, type EscSetup } from '../escalations/helpers.js';
import { finishedRuns, putWorkflow, runsOf, setState, severities } from './engine-helpers.js';
import type { WorkflowDefinition } from '../../src/workflows/model.js';

// Running workflows against the PagerDuty emulator: a declared incident whose "Affected services" is a PagerDuty
// service pages that service's escalation policy once, as the bot account; for-each pages each policy once;
// preview names the same targets and pages nobody; redelivered triggers and a step run again after a crash page
// once; a delay re-checks its conditions; a disabled workflow does nothing; own changes do not loop; chains stop.

for (const backend of backends) {
  describe(`running workflows (${backend})`, () => {
    let s: EscSetup;
    let services: Map<string, { entryId: string; name: string }>; // PagerDuty service id → catalog entry
    const mine: string[] = [];
    beforeAll(async () => {
      s = await setupEscalations(backend);
      const field = await s.owner.post('/api/v1/custom_fields', { key: 'affected_services', name: 'Affected services', type: 'catalog', catalog_type: 'PagerDutyService', multiple: true });
      if (field.status !== 201) throw new Error(JSON.stringify(field.body));
      services = new Map();
      for (let cursor: string | null = null, first = true; first || cursor; first = false) {
        const r: any = await s.owner.get(`/api/v1/catalog_entries?catalog_type_id=PagerDutyService&limit=250${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        for (const e of r.body.catalog_entries) services.set(e.external_id, { entryId: e.id, name: e.name });
        cursor = r.body.next_cursor;
      }
    }, 180_000);
    afterAll(async () => {
      await s?.close();
    });
    beforeEach(async () => {
      await quiesce(s);
    });
    afterEach(async () => {
      for (const id of mine.splice(0)) await setState(s.fb, id, 'disabled');
      s.fb.app.workflowEngine.faults.afterClaim = undefined;
      s.fb.app.workflowEngine.faults.afterExecute = undefined;
    });

    const add = async (def: WorkflowDefinition, state: 'active' | 'disabled' = 'active') => {
      const id = await putWorkflow(s.fb, def, state);
      mine.push(id);
      return id;
    };
    const declare = async (name: string, serviceIds: string[], extra: Record<string, unknown> = {}) => {
      const r = await s.owner.post('/api/v1/incidents', { name, custom_field_values: { affected_services: serviceIds.map((id) => services.get(id)!.entryId) }, ...extra });
      if (r.status !== 201) throw new Error(JSON.stringify(r.body));
      return r.body.incident;
    };
    const pageAffected = (key: string, extra: Partial<WorkflowDefinition> = {}): WorkflowDefinition => ({
      key,
      name: `Page affected services (${key})`,
      trigger: { type: 'incident.declared' },
      conditions: [{ all: [{ subject: 'incident.custom_fields.affected_services', operator: 'is_set' }] }],
      steps: [{ id: 'page', type: 'escalate', policies_expression: 'incident.custom_fields.affected_services.map(s, s.escalation_policy)', message: '{{ incident.name }} needs you' }],
      ...extra,
    });
    const policyIncidents = (policyId: string, reference: string) => [...s.pd.state.incidents.values()].filter((i) => i.escalation_policy_id === policyId && i.title.includes(`[${reference}]`));
    const bot = () => [...s.pd.state.users.values()][0]!;

    it("declaring with an affected PagerDuty service pages its escalation policy once, as the bot account; preview names the same target and pages nobody", async () => {
      const policy = s.policies[0]!;
      const serviceId = policy.serviceIds[0]!;
      const wf = await add(pageAffected('page-affected'));
      const inc = await declare('Checkout is failing', [serviceId]);
      const [run] = await finishedRuns(s.owner, inc.id, wf);
      expect(run!.status).toBe('succeeded');
      expect(run!.conditions[0]).toMatchObject({ words: 'Affected services is set', result: true });
      expect(run!.conditions[0]!.value).toEqual([expect.objectContaining({ name: services.get(serviceId)!.name })]);
      const step = run!.steps[0]!;
      expect(step.status).toBe('succeeded');
      expect(step.inputs.policies).toEqual([{ id: policy.id, name: policy.name }]);
      expect(step.inputs.would).toContain(`PagerDuty escalation policy ${policy.name} (${policy.id}) as the bot account`);
      const created = policyIncidents(policy.id, inc.reference);
      expect(created).toHaveLength(1);
      const sent = createsByKey(s.pd).get(created[0]!.incident_key)!;
      expect(sent).toHaveLength(1);
      expect(sent[0].from.trim().toLowerCase()).toBe(bot().email.trim().toLowerCase());
      const escalations = (await s.owner.get(`/api/v1/incidents/${inc.id}/escalations`)).body.escalations;
      expect(escalations).toHaveLength(1);
      expect(escalations[0].requester.name).toBe('Workflow "Page affected services (page-affected)"');

      // Preview of the saved workflow on the same incident: the same target, and PagerDuty hears nothing.
      s.pd.clearRequestLog();
      const pv = await s.owner.post('/api/v1/workflows/preview', { workflow_id: wf, incident: inc.reference });
      expect(pv.status).toBe(200);
      expect(pv.body.matched).toBe(true);
      expect(pv.body.steps[0].inputs.policies).toEqual(step.inputs.policies);
      expect(pv.body.steps[0].would).toBe(step.inputs.would);
      expect(s.pd.requestLog().filter((e) => e.method === 'POST')).toEqual([]);
      expect((await s.owner.get(`/api/v1/incidents/${inc.id}/escalations`)).body.escalations).toHaveLength(1);
    });

    it('for-each over two services pages each policy once', async () => {
      const [a, b] = s.policies;
      const wf = await add(pageAffected('page-each', { for_each: 'incident.custom_fields.affected_services', steps: [{ id: 'page', type: 'escalate', policies_expression: '[item.escalation_policy]', message: '{{ item.name }} is affected' }] }));
      const inc = await declare('Two services down', [a!.serviceIds[0]!, b!.serviceIds[0]!]);
      const [run] = await finishedRuns(s.owner, inc.id, wf);
      expect(run!.status).toBe('succeeded');
      expect(run!.items).toHaveLength(2);
      expect(run!.steps.map((x) => [x.item_index, x.status, (x.inputs.policies as any[]).map((p) => p.id)])).toEqual([
        [0, 'succeeded', [a!.id]],
        [1, 'succeeded', [b!.id]],
      ]);
      expect(policyIncidents(a!.id, inc.reference)).toHaveLength(1);
      expect(policyIncidents(b!.id, inc.reference)).toHaveLength(1);
    });

    it('a redelivered trigger makes no second run, and a step run again after a crash pages once', async () => {
      const policy = s.policies[1]!;
      const wf = await add(pageAffected('page-once'));
      let crashes = 0;
      // The first time, the "process" dies after the step paged and before it recorded so (the job fails).
      s.fb.app.workflowEngine.faults.afterExecute = async () => {
        if (crashes++ === 0) {
          throw new Error('killed after claiming the step');
        }
      };
      const inc = await declare('Redelivered', [policy.serviceIds[0]!]);
      const [run] = await finishedRuns(s.owner, inc.id, wf, 1, 60_000);
      expect(run!.status).toBe('succeeded');
      expect(run!.steps[0]!.attempts).toBe(2);
      expect(policyIncidents(policy.id, inc.reference)).toHaveLength(1);
      // Redeliver the declaration (the same event id) with the evaluation forgotten: the unique index inserts nothing.
      const evs = await s.fb.app.database.db.selectFrom('domain_events').selectAll().where('incident_id', '=', inc.id).where('type', '=', 'incident.created').execute();
      await s.fb.app.database.db.deleteFrom('workflow_evaluations').where('incident_id', '=', inc.id).execute();
      const again = await s.fb.app.workflowEngine.engine.evaluate({ type: 'incident.declared', incidentId: inc.id, eventId: evs[0]!.id, actor: { kind: 'user' }, data: {} });
      expect(again.runIds).toEqual([]);
      await s.fb.app.jobs.drain();
      expect((await runsOf(s.owner, inc.id)).runs.filter((r) => r.workflow_id === wf)).toHaveLength(1);
      expect(policyIncidents(policy.id, inc.reference)).toHaveLength(1);
    });

    it('a delay re-checks the conditions: lowered meanwhile, the run is skipped and nobody is paged', async () => {
      const sevs = await severities(s.owner); // highest first
      const top = sevs[0]!;
      const low = sevs[sevs.length - 1]!;
      const policy = s.policies[0]!;
      const wf = await add(pageAffected('still-critical', { delay_minutes: 15, conditions: [{ all: [{ subject: 'incident.severity', operator: 'at_least', value: top.name }] }] }));
      const inc = await declare('Critical for a while?', [policy.serviceIds[0]!], { severity_id: top.id });
      const waiting = await waitFor('a waiting run', async () => (await runsOf(s.owner, inc.id)).runs.find((r) => r.workflow_id === wf && r.status === 'waiting'));
      expect(waiting.steps).toEqual([]);
      await s.owner.post(`/api/v1/incidents/${inc.id}/actions/severity`, { severity_id: low.id });
      // The delayed job's time has come (run it now rather than wait 15 minutes).
      await s.fb.app.workflowEngine.runner.advance(waiting.id, { attempt: 1, maxAttempts: 6 });
      const run = (await s.owner.get(`/api/v1/workflow_runs/${waiting.id}`)).body;
      expect(run.status).toBe('skipped');
      expect(run.skip_reason).toMatch(new RegExp(`^Conditions no longer hold after the 15-minute delay: Severity is at least ${top.name} \\(it is ${low.name}\\)`));
      expect(policyIncidents(policy.id, inc.reference)).toHaveLength(0);
    });

    it('a disabled workflow does nothing', async () => {
      const policy = s.policies[0]!;
      const wf = await add(pageAffected('disabled-one'), 'disabled');
      const inc = await declare('Nobody should be paged', [policy.serviceIds[0]!]);
      await s.fb.app.jobs.drain();
      const { runs, evaluations } = await runsOf(s.owner, inc.id);
      expect(runs.filter((r) => r.workflow_id === wf)).toEqual([]);
      expect(evaluations.flatMap((e) => e.skipped).filter((x: any) => x.workflow_id === wf)).toEqual([]);
      expect(policyIncidents(policy.id, inc.reference)).toHaveLength(0);
    });

    it("a workflow that sets severity does not trigger itself; a non-match is recorded with its reason", async () => {
      const sevs = await severities(s.owner);
      const top = sevs[0]!;
      const second = sevs[1]!;
      const wf = await add({
        key: 'raise-to-top',
        name: 'Raise to the top',
        trigger: { type: 'incident.updated', changes: ['severity'] },
        conditions: [{ all: [{ subject: 'incident.severity', operator: 'is', value: second.name }] }],
        steps: [{ id: 'raise', type: 'set_severity', severity: top.name }],
      });
      const inc = await declare('Severity ping', []);
      await s.owner.post(`/api/v1/incidents/${inc.id}/actions/severity`, { severity_id: second.id });
      const [run] = await finishedRuns(s.owner, inc.id, wf);
      expect(run!.status).toBe('succeeded');
      await s.fb.app.jobs.drain();
      const { runs, evaluations } = await runsOf(s.owner, inc.id);
      expect(runs.filter((r) => r.workflow_id === wf)).toHaveLength(1);
      expect((await s.owner.get(`/api/v1/incidents/${inc.id}`)).body.incident.severity.name).toBe(top.name);
      const own = evaluations.flatMap((e) => e.skipped).filter((x: any) => x.workflow_id === wf);
      expect(own.map((x: any) => x.reason)).toEqual(['own_change']);
    });

    it('chains between workflows stop at the fixed depth with a clear error on the run', async () => {
      const sevs = await severities(s.owner);
      const [hi, lo] = [sevs[0]!, sevs[1]!];
      const down = await add({ key: 'chain-down', name: 'Chain down', trigger: { type: 'incident.updated', changes: ['severity'] }, conditions: [{ all: [{ subject: 'incident.severity', operator: 'is', value: hi.name }] }], steps: [{ id: 's', type: 'set_severity', severity: lo.name }] });
      const up = await add({ key: 'chain-up', name: 'Chain up', trigger: { type: 'incident.updated', changes: ['severity'] }, conditions: [{ all: [{ subject: 'incident.severity', operator: 'is', value: lo.name }] }], steps: [{ id: 's', type: 'set_severity', severity: hi.name }] });
      const inc = await declare('Ping pong', []);
      await s.owner.post(`/api/v1/incidents/${inc.id}/actions/severity`, { severity_id: hi.id });
      const failed = await waitFor('the chain to stop', async () => (await runsOf(s.owner, inc.id)).runs.find((r) => r.status === 'failed'));
      await s.fb.app.jobs.drain();
      const runs = (await runsOf(s.owner, inc.id)).runs.filter((r) => r.workflow_id === down || r.workflow_id === up);
      expect(runs.map((r) => r.depth).sort()).toEqual([0, 1, 2, 3, 4]);
      expect(failed.depth).toBe(4);
      expect(failed.error).toMatchObject({ source: 'firebreak', code: 'chain_too_deep' });
      expect(failed.error!.message).toMatch(/chains stop at 3/);
      expect(failed.steps).toEqual([]);
    });

    it("PagerDuty's refusal is recorded on the step with PagerDuty's message; the run fails and later steps are skipped", async () => {
      const policy = s.policies.find((p) => p.serviceIds.length === 1)!;
      const serviceId = policy.serviceIds[0]!;
      const saved = s.pd.state.services.get(serviceId)!;
      const wf = await add(pageAffected('refused', { steps: [
        { id: 'page', type: 'escalate', policies_expression: 'incident.custom_fields.affected_services.map(s, s.escalation_policy)', message: 'help' },
        { id: 'note', type: 'timeline_note', text: 'paged' },
      ] }));
      s.pd.admin.deleteService(serviceId); // gone in PagerDuty, still in the synced catalog
      try {
        const inc = await declare('Service gone', [serviceId]);
        const [run] = await finishedRuns(s.owner, inc.id, wf);
        expect(run!.status).toBe('failed');
        expect(run!.steps.map((x) => x.status)).toEqual(['failed', 'skipped']);
        expect(run!.steps[0]!.error).toMatchObject({ source: 'pagerduty', status: 400 });
        expect(run!.steps[0]!.error!.message).toMatch(/Service not found/);
        expect(run!.error!.message).toMatch(/^Step 1 \(page\) failed: .*Service not found/);
      } finally {
        s.pd.admin.addService({ ...saved });
      }
    });

    it('manual runs: listed for the incident, form values checked (400), run as the person asked', async () => {
      const wf = await add({ key: 'note-by-hand', name: 'Note by hand', trigger: { type: 'manual', form: [{ key: 'why', label: 'Why', type: 'text', required: true }] }, steps: [{ id: 'note', type: 'timeline_note', text: 'Asked because {{ inputs.why }}' }] });
      const inc = await declare('By hand', []);
      const list = await s.owner.get(`/api/v1/incidents/${inc.id}/workflows/manual`);
      expect(list.body.workflows).toContainEqual(expect.objectContaining({ id: wf, name: 'Note by hand' }));
      const bad = await s.owner.post(`/api/v1/incidents/${inc.id}/workflows/${wf}/run`, { inputs: {} });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toMatch(/Why is required/);
      const ok = await s.owner.post(`/api/v1/incidents/${inc.id}/workflows/${wf}/run`, { inputs: { why: 'the graphs look odd' } });
      expect(ok.status).toBe(202);
      const [run] = await finishedRuns(s.owner, inc.id, wf);
      expect(run!.status).toBe('succeeded');
      const items = (await s.owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items;
      expect(items.filter((i: any) => i.kind === 'note_added' && /Asked because the graphs look odd/.test(JSON.stringify(i)))).toHaveLength(1);
    });
  });
}
