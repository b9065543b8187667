import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackChannel, SlackUser } from '../../emulators/slack/index.js';
import type { Actor } from '../../src/platform/events.js';
import { ValidationError } from '../../src/platform/errors.js';
import type { FormField, WorkflowRun } from '../../src/workflows/model.js';
import type { WorkflowsPort } from '../../src/workflows/ports.js';
import { declareFromSlack, ephemeralText, incidentChannel, person, startSlackStack, waitFor, type SlackStack } from './stack.js';

// `/incident workflows` through the real edge (signed commands, clicks and submissions from the emulator's
// driver), with a WorkflowsPort of the test's own that records what it was asked to run.

const PAGE = { id: 'wf-page', name: 'Page payments', description: 'Pages the payments on-call', form: [] as FormField[] };
const COMMS = {
  id: 'wf-comms',
  name: 'Customer comms',
  description: null,
  form: [
    { key: 'reason', label: 'Reason', type: 'text', required: true },
    { key: 'customers', label: 'Customers affected', type: 'number' },
    { key: 'region', label: 'Region', type: 'select', options: ['eu', 'us'], required: true },
  ] as FormField[],
};

class FakeWorkflows implements WorkflowsPort {
  runs: { workflowId: string; incident: string; inputs: Record<string, unknown>; actor: Actor }[] = [];
  list = [PAGE, COMMS];
  refuseWith: Error | null = null;
  async manualWorkflows() {
    return this.list;
  }
  async runManual(workflowId: string, incident: string, inputs: Record<string, unknown>, actor: Actor): Promise<WorkflowRun> {
    if (this.refuseWith) throw this.refuseWith;
    this.runs.push({ workflowId, incident, inputs, actor });
    const w = this.list.find((x) => x.id === workflowId)!;
    return { id: `run-${this.runs.length}`, workflow_id: workflowId, workflow_key: workflowId, workflow_name: w.name, workflow_version: 1, incident_id: incident, incident_reference: null, status: 'running', skip_reason: null, error: null } as unknown as WorkflowRun;
  }
}

describe('/incident workflows', () => {
  let s: SlackStack;
  let alice: SlackUser;
  let channel: SlackChannel;
  let incidentId: string;
  let ref: string;
  const fake = new FakeWorkflows();
  const run = (user: SlackUser, text: string, channelId = channel.id) => s.emu.driver.slashCommand({ userId: user.id, channelId, command: '/incident', text });
  const listed = (user: SlackUser) => waitFor('the list of workflows', () => s.emu.ephemeralsFor(user.id).find((e) => e.text.startsWith('Workflows you can run')));

  beforeAll(async () => {
    s = await startSlackStack();
    alice = person(s.emu, 'Alice Runner');
    await declareFromSlack(s, alice, { name: 'Payments down' });
    const inc = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
    incidentId = inc.id;
    ref = inc.reference;
    ({ channel } = await incidentChannel(s, inc.number));
  });
  afterAll(async () => s?.stop());

  it('says so when no workflow can be run by hand, then lists the manual workflows with a Run button each', async () => {
    // The real engine is wired: with no manual workflow saved, the answer says so and where to add one.
    await run(alice, 'workflows');
    await waitFor('none to run', () => ephemeralText(s, alice.id).includes(`No workflow can be run by hand on ${ref}`));
    s.fb.app.slack.useWorkflows(fake);
    await run(alice, 'workflows');
    const msg = await listed(alice);
    expect(msg.text).toContain(`Workflows you can run on ${ref}`);
    const text = JSON.stringify(msg.blocks);
    expect(text).toContain('Page payments');
    expect(text).toContain('Pages the payments on-call');
    expect(text).toContain('Asks for: Reason, Customers affected, Region');
    expect((msg.blocks as any[]).filter((b) => b.accessory?.action_id === 'workflow_run')).toHaveLength(2);
  });

  it('is in the help, and outside an incident channel says where it works', async () => {
    const general = [...s.emu.state.channels.values()].find((c) => c.isGeneral)!;
    await run(alice, 'help', general.id);
    await waitFor('help', () => ephemeralText(s, alice.id).includes('/incident workflows'));
    await run(alice, 'workflows', general.id);
    await waitFor('where it works', () => ephemeralText(s, alice.id).includes("`/incident workflows` works in an incident's channel"));
  });

  it('Run on a workflow without a form starts it as the person and tells them privately', async () => {
    await run(alice, 'workflows');
    await listed(alice);
    const click = await s.emu.driver.clickButton({ userId: alice.id, channelId: channel.id, actionId: 'workflow_run', blockId: `wf_${PAGE.id}` });
    expect(click.status).toBe(200);
    await waitFor('outcome', () => ephemeralText(s, alice.id).includes(`Started “Page payments” on ${ref} — see the run: `));
    const aliceUser = (await s.owner.get('/api/v1/users')).body.users.find((u: any) => u.name === 'Alice Runner');
    expect(fake.runs).toEqual([{ workflowId: PAGE.id, incident: incidentId, inputs: {}, actor: { kind: 'user', userId: aliceUser.id } }]);
    expect(ephemeralText(s, alice.id)).toContain(`/incidents/${ref}#workflow-run-run-1`);
    expect(s.emu.messagesIn(channel.id).some((m) => m.text.includes('Started “Page payments”'))).toBe(false);
  });

  it('a workflow with a form opens it as a modal; the submission is checked field by field, then runs with the inputs', async () => {
    fake.runs = [];
    await run(alice, 'workflows');
    await listed(alice);
    await s.emu.driver.clickButton({ userId: alice.id, channelId: channel.id, actionId: 'workflow_run', blockId: `wf_${COMMS.id}` });
    const view = await waitFor('the form', () => s.emu.openViews(alice.id).find((v) => v.callbackId === 'firebreak_workflow_form'));
    const inputs = view.blocks.filter((b) => b.type === 'input');
    expect(inputs.map((b) => [b.label.text, b.element.type, b.optional])).toEqual([
      ['Reason', 'plain_text_input', false],
      ['Customers affected', 'number_input', true],
      ['Region', 'static_select', false],
    ]);
    expect(inputs[2].element.options.map((o: any) => o.value)).toEqual(['eu', 'us']);

    const bad = await s.emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { wf_in_reason: { value: '   ' }, wf_in_customers: { value: 'lots' }, wf_in_region: { value: 'eu' } } });
    expect(bad.status).toBe(200);
    expect(s.emu.view(view.id)!.errors).toEqual({ wf_in_reason: 'Reason is required.', wf_in_customers: 'Customers affected must be a number.' });
    expect(fake.runs).toEqual([]);

    const ok = await s.emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { wf_in_reason: { value: 'Card payments fail in EU' }, wf_in_customers: { value: '1200' }, wf_in_region: { value: 'eu' } } });
    expect(ok.status).toBe(200);
    expect(s.emu.view(view.id)!.isOpen).toBe(false);
    expect(fake.runs).toHaveLength(1);
    expect(fake.runs[0]).toMatchObject({ workflowId: COMMS.id, incident: incidentId, inputs: { reason: 'Card payments fail in EU', customers: 1200, region: 'eu' } });
    await waitFor('outcome', () => ephemeralText(s, alice.id).includes(`Started “Customer comms” on ${ref}`));
  });

  it('an input the engine refuses is shown on its field, and nothing runs', async () => {
    fake.runs = [];
    await run(alice, 'workflows');
    await listed(alice);
    await s.emu.driver.clickButton({ userId: alice.id, channelId: channel.id, actionId: 'workflow_run', blockId: `wf_${COMMS.id}` });
    const view = await waitFor('the form', () => s.emu.openViews(alice.id).find((v) => v.callbackId === 'firebreak_workflow_form' && v.isOpen));
    fake.refuseWith = new ValidationError('Region us has no on-call yet', [{ path: 'inputs.region', message: 'no on-call' }]);
    try {
      await s.emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { wf_in_reason: { value: 'x' }, wf_in_region: { value: 'us' } } });
    } finally {
      fake.refuseWith = null;
    }
    expect(s.emu.view(view.id)!.errors).toEqual({ wf_in_region: 'Region us has no on-call yet' });
    expect(fake.runs).toEqual([]);
  });

  it('a viewer is refused with a clear private message, and nothing runs', async () => {
    fake.runs = [];
    const vic = person(s.emu, 'Vic Viewer', 'vic.wf@example.com');
    expect((await s.owner.post('/api/v1/users', { name: 'Vic Viewer', email: 'vic.wf@example.com', role: 'viewer' })).status).toBe(201);
    s.emu.state.channels.get(channel.id)!.members.push(vic.id);
    await run(vic, 'workflows');
    await waitFor('refusal', () => ephemeralText(s, vic.id).includes('You are a viewer in Firebreak'));
    // A list shown to Alice, clicked by nobody else: even a forged click from a viewer runs nothing.
    await run(alice, 'workflows');
    await listed(alice);
    const click = await s.emu.driver.raw({
      contentType: 'application/x-www-form-urlencoded',
      body: `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', team: { id: s.emu.teamId }, user: { id: vic.id }, api_app_id: s.emu.appId, trigger_id: '1.2.3', actions: [{ type: 'button', action_id: 'workflow_run', block_id: `wf_${PAGE.id}`, value: JSON.stringify({ w: PAGE.id, i: incidentId }), action_ts: '1' }] }))}`,
    });
    expect(click.status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.runs).toEqual([]);
  });
});
