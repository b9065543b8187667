import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowRun } from '../../src/workflows/model.js';
import { backends } from '../helpers.js';
import { declareFromSlack, incidentChannel, person, startSlackStack, waitFor, type SlackStack } from './stack.js';

// Workflows whose steps talk to Slack, end to end: saved and activated through the API, triggered by an incident
// declared from Slack (signed requests), run by the engine through the real Slack port against the emulator. The
// message lands in the incident's channel with its variables filled in; a workflow in test mode leaves a standard
// incident alone and says why; Slack's refusal is kept on the run with Slack's own code and stops that run.

describe.each(backends)('workflows that post to Slack (%s)', (backend) => {
  let s: SlackStack;
  const ids: Record<string, string> = {};

  const save = async (def: Record<string, unknown>) => {
    const r = await s.owner.post('/api/v1/workflows', def);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const on = await s.owner.post(`/api/v1/workflows/${r.body.id}/state`, { state: 'active' });
    expect(on.status, JSON.stringify(on.body)).toBe(200);
    ids[def.key as string] = r.body.id;
  };
  const runsOn = async (incident: string): Promise<{ runs: WorkflowRun[]; evaluations: any[] }> => (await s.owner.get(`/api/v1/incidents/${incident}/workflow_runs`)).body;

  beforeAll(async () => {
    s = await startSlackStack({ backend });
    await save({
      key: 'tell-channel',
      name: 'Tell the channel',
      trigger: { type: 'incident.declared' },
      steps: [
        { id: 'tell', type: 'slack_message', destination: { kind: 'incident_channel' }, text: '{{ incident.reference }} is {{ incident.severity.name }}: {{ incident.name }}' },
        { id: 'note', type: 'timeline_note', text: 'Told the channel about {{ incident.reference }}' },
      ],
    });
    await save({ key: 'test-only', name: 'Only for drills', test_mode: true, trigger: { type: 'incident.declared' }, steps: [{ id: 'drill', type: 'slack_message', destination: { kind: 'incident_channel' }, text: 'This is a drill' }] });
    await save({
      key: 'missing-channel',
      name: 'Post to a channel that is gone',
      trigger: { type: 'incident.declared' },
      steps: [
        { id: 'post', type: 'slack_message', destination: { kind: 'channel', channel_id: 'C0GONE' }, text: 'Nobody reads this' },
        { id: 'after', type: 'timeline_note', text: 'Should not be written' },
      ],
    });
  }, 120_000);
  afterAll(async () => s?.stop());

  it('posts in the incident channel once, with the variables filled in; test mode and Slack refusals are recorded', async () => {
    const alice = person(s.emu, 'Alice Declarer');
    await declareFromSlack(s, alice, { name: 'Checkout returns 500s' });
    const inc = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
    const { channel } = await incidentChannel(s, inc.number);

    const finished = await waitFor(
      'both runs to finish',
      async () => {
        const { runs } = await runsOn(inc.id);
        const done = runs.filter((r) => !['waiting', 'running'].includes(r.status));
        return done.length === 2 ? done : null;
      },
      60_000,
    );
    const tell = finished.find((r) => r.workflow_id === ids['tell-channel'])!;
    expect(tell.status).toBe('succeeded');
    expect(tell.steps.map((x) => [x.step_id, x.status])).toEqual([
      ['tell', 'succeeded'],
      ['note', 'succeeded'],
    ]);
    const text = `${inc.reference} is ${inc.severity.name}: Checkout returns 500s`;
    expect(s.emu.messagesIn(channel.id).filter((m) => m.text === text)).toHaveLength(1);
    expect(s.emu.messagesIn(channel.id).some((m) => m.text === 'This is a drill')).toBe(false);
    const timeline = (await s.owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items as { text?: string; payload?: { text?: string } }[];
    expect(JSON.stringify(timeline)).toContain(`Told the channel about ${inc.reference}`);

    // Slack's refusal, with Slack's own code, stops that run; its next step is skipped and nothing of it is written.
    const gone = finished.find((r) => r.workflow_id === ids['missing-channel'])!;
    expect(gone.status).toBe('failed');
    expect(gone.steps[0]).toMatchObject({ step_id: 'post', status: 'failed', error: { source: 'slack', code: 'channel_not_found' } });
    expect(gone.steps.find((x) => x.step_id === 'after')?.status ?? 'skipped').toBe('skipped');
    expect(JSON.stringify(timeline)).not.toContain('Should not be written');

    // The drill workflow did not run on a standard incident, and the incident's history says why.
    const { evaluations } = await runsOn(inc.id);
    const skipped = evaluations.flatMap((e: any) => e.skipped).filter((x: any) => x.workflow_id === ids['test-only']);
    expect(skipped.map((x: any) => x.reason)).toEqual(['test_mode']);
    expect(skipped[0].message).toContain('test mode');
    await new Promise((r) => setTimeout(r, 300));
    expect(s.emu.messagesIn(channel.id).filter((m) => m.text === text)).toHaveLength(1);
  }, 90_000);
});
