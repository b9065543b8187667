import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackChannel, SlackUser } from '../../emulators/slack/index.js';
import { backends } from '../helpers.js';
import { declareFromSlack, incidentChannel, person, startSlackStack, waitFor, type SlackStack } from './stack.js';

// A responder runs /incident update in the incident channel, says what changed and moves the incident on: one
// update, told once in the channel and once under the announcement, whatever retries and crashes happen on the way.

describe.each(backends)('incident updates in Slack (%s)', (backend) => {
  let s: SlackStack;
  let ana: SlackUser;
  let channel: SlackChannel;
  let inc: any;

  const announcement = () => s.emu.messagesIn(s.announcements.id).find((m) => m.text.includes(inc.reference) && (!m.threadTs || m.threadTs === m.ts))!;
  const replies = () => s.emu.messagesIn(s.announcements.id).filter((m) => m.threadTs === announcement().ts && m.ts !== announcement().ts);
  const updatePosts = (text: string) => s.emu.messagesIn(channel.id).filter((m) => m.text.includes(text));
  const postUpdateJobs = async (updateId: string) => s.fb.app.jobs.enqueue('slack.post_update', { incidentId: inc.id, updateId });

  beforeAll(async () => {
    s = await startSlackStack({ backend });
    ana = person(s.emu, 'Ana Ortiz');
    await declareFromSlack(s, ana, { name: 'Checkout errors', severity: 'sev-minor' });
    inc = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
    ({ channel } = await incidentChannel(s, inc.number));
    await waitFor('announcement', () => announcement());
  });
  afterAll(async () => s?.stop());

  it('the modal asks what changed; the submission posts one update, one channel post and one reply to the announcement', async () => {
    await s.emu.driver.slashCommand({ userId: ana.id, channelId: channel.id, command: '/incident', text: 'update' });
    const view = await waitFor('update modal', () => s.emu.openViews(ana.id).find((v) => v.callbackId === 'firebreak_update'));
    expect(view.blocks.map((b: any) => b.block_id)).toEqual(['message', 'status', 'severity', 'summary']);
    expect(view.blocks[0].optional).toBeFalsy();

    // Without a message the modal says so next to the field, and nothing is written.
    const empty = await s.emu.driver.submitView({ userId: ana.id, viewId: view.id, values: { message: { value: '  ' }, status: { value: 'fixing' } } });
    expect(empty.body).toMatchObject({ response_action: 'errors', errors: { message: 'Say what changed.' } });
    expect((await s.owner.get(`/api/v1/incidents/${inc.id}/updates`)).body.updates).toHaveLength(0);

    const sub = await s.emu.driver.submitView({ userId: ana.id, viewId: view.id, values: { message: { value: 'Rolled back deploy 4812 <for real>' }, status: { value: 'fixing' }, severity: { value: 'sev-major' } } });
    expect(sub.status).toBe(200);
    const updates = (await s.owner.get(`/api/v1/incidents/${inc.id}/updates`)).body.updates;
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({ message: 'Rolled back deploy 4812 <for real>', status: { name: 'Fixing' }, severity: { name: 'Major' }, actor: { user: { name: 'Ana Ortiz' } } });
    const items = (await s.owner.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items as any[];
    expect(items.filter((i) => i.kind === 'update_posted')).toHaveLength(1);
    expect(items.filter((i) => i.kind === 'status_changed' || i.kind === 'severity_changed')).toHaveLength(0);

    await waitFor('the update in the channel', () => updatePosts('Rolled back deploy 4812').length === 1);
    await waitFor('the reply under the announcement', () => replies().length === 1);
    await s.fb.app.jobs.drain(10_000);
    const [post] = updatePosts('Rolled back deploy 4812');
    expect(post!.text).toBe(`Update on ${inc.reference} from Ana Ortiz: Rolled back deploy 4812 <for real> (Fixing, Major)`);
    expect(JSON.stringify(post!.blocks)).toContain('Rolled back deploy 4812 &lt;for real&gt;');
    expect(JSON.stringify(post!.blocks)).not.toContain(inc.id);
    expect(replies()[0]!.text).toBe(post!.text);
    // Only the update speaks in the channel: no separate status or severity lines.
    expect(s.emu.messagesIn(channel.id).filter((m) => m.text.includes('Status changed') || m.text.includes('Severity changed'))).toHaveLength(0);

    // Where it went, on the update.
    const listed = (await s.owner.get(`/api/v1/incidents/${inc.id}/updates`)).body.updates[0];
    expect(listed.deliveries.map((d: any) => [d.label, d.state])).toEqual([
      [`Slack channel #${channel.name}`, 'sent'],
      ['Slack: reply to the announcement', 'sent'],
    ]);

    // Submitting the same view again (Slack resends) posts nothing more.
    await s.emu.driver.submitView({ userId: ana.id, viewId: view.id, values: { message: { value: 'Rolled back deploy 4812 <for real>' }, status: { value: 'fixing' } } }).catch(() => null);
    await s.fb.app.jobs.drain(10_000);
    expect((await s.owner.get(`/api/v1/incidents/${inc.id}/updates`)).body.updates).toHaveLength(1);
    expect(updatePosts('Rolled back deploy 4812')).toHaveLength(1);
    expect(replies()).toHaveLength(1);
  });

  it('a retry of the Slack job posts nothing twice, also after a crash between Slack and the record', async () => {
    const r = await s.owner.post(`/api/v1/incidents/${inc.id}/updates`, { message: 'Error rate back to normal', status_id: 'monitoring' });
    expect(r.status).toBe(201);
    const updateId = r.body.update.id;
    await waitFor('posted', () => updatePosts('Error rate back to normal').length === 1 && replies().length === 2);
    await s.fb.app.jobs.drain(10_000);

    // The job runs again (a retry after both posts were recorded): nothing new.
    await postUpdateJobs(updateId);
    await s.fb.app.jobs.drain(10_000);
    expect(updatePosts('Error rate back to normal')).toHaveLength(1);
    expect(replies()).toHaveLength(2);

    // A crash after Slack took both posts, before they were recorded: the next attempt finds them by their metadata.
    await s.fb.app.database.db.updateTable('slack_update_posts').set({ status: 'sending', ts: null }).where('update_id', '=', updateId).execute();
    await postUpdateJobs(updateId);
    await s.fb.app.jobs.drain(10_000);
    expect(updatePosts('Error rate back to normal')).toHaveLength(1);
    expect(replies()).toHaveLength(2);
    const rows = await s.fb.app.database.db.selectFrom('slack_update_posts').selectAll().where('update_id', '=', updateId).execute();
    expect(rows.map((x) => x.status)).toEqual(['done', 'done']);
    expect(rows.every((x) => !!x.ts)).toBe(true);
  });

  it('Slack failing once is retried: the update is posted exactly once', async () => {
    s.emu.faults.failNext('chat.postMessage', 'internal_error');
    const r = await s.owner.post(`/api/v1/incidents/${inc.id}/updates`, { message: 'Watching for an hour' });
    expect(r.status).toBe(201);
    await waitFor('posted after a retry', () => updatePosts('Watching for an hour').length === 1 && replies().length === 3, 15_000);
    await s.fb.app.jobs.drain(15_000);
    expect(updatePosts('Watching for an hour')).toHaveLength(1);
    expect(replies()).toHaveLength(3);
  });
});
