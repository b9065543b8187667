import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SlackUser } from '../../emulators/slack/index.js';
import { backends } from '../helpers.js';
import { declareFromSlack, incidentChannel, person, startSlackStack, waitFor, type SlackStack } from './stack.js';

// Update reminders: a live incident that has been quiet for longer than its severity allows gets its lead a DM
// with a "Post an update" button (once per quiet period); the button opens the update modal; a new update
// restarts the clock. Time passes by moving the incident's (or the update's) time back.

describe.each(backends)('update reminders in Slack (%s)', (backend) => {
  let s: SlackStack;
  let lena: SlackUser;
  let inc: any;

  const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
  const tick = async () => {
    await s.fb.app.jobs.enqueue('slack.update_reminders', {});
    await s.fb.app.jobs.drain(10_000);
  };
  const reminders = () => s.emu.dmsTo(lena.id).filter((m) => m.text.includes('has had no update'));
  const failures: string[] = [];

  beforeAll(async () => {
    s = await startSlackStack({ backend });
    s.fb.app.jobs.onEvent((e) => {
      if (e.type !== 'completed' && e.name.startsWith('slack.update_reminder')) failures.push(`${e.name}: ${e.error}`);
    });
    lena = person(s.emu, 'Lena Lead');
    await declareFromSlack(s, lena, { name: 'Payments queue stuck', severity: 'sev-major' });
    inc = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
    await incidentChannel(s, inc.number);
    expect(inc.lead.name).toBe('Lena Lead');
    const set = await s.owner.request('PUT', '/api/v1/settings/update_reminders', { enabled: true, minutes_by_severity: { 'sev-major': 10 } });
    expect(set.status).toBe(200);
  });
  afterAll(async () => s?.stop());
  afterEach(() => expect(failures).toEqual([]));

  it('nothing while the incident is younger than its severity allows', async () => {
    await s.fb.app.jobs.drain(10_000);
    await tick();
    expect(reminders()).toHaveLength(0);
  });

  it('a quiet incident: one DM to the lead with names and a Post an update button, once per quiet period', async () => {
    await s.fb.app.database.db.updateTable('incidents').set({ created_at: minutesAgo(12) }).where('id', '=', inc.id).execute();
    await tick();
    expect(reminders()).toHaveLength(1);
    const dm = reminders()[0]!;
    expect(dm.text).toContain(`${inc.reference} Payments queue stuck has had no update for 10 minutes`);
    const blocks = JSON.stringify(dm.blocks);
    expect(blocks).toContain('Post an update');
    expect(blocks).toContain('*Status:* Investigating');
    expect(blocks).toContain('*Severity:* Major');
    // The next minutes' checks send nothing more for the same quiet period.
    await tick();
    await tick();
    expect(reminders()).toHaveLength(1);
  });

  it('the button opens the update modal for that incident; posting an update restarts the clock', async () => {
    const dm = reminders()[0]!;
    const click = await s.emu.driver.clickButton({ userId: lena.id, channelId: dm.channel, messageTs: dm.ts, actionId: 'firebreak_update_reminder_post' });
    expect(click.status).toBe(200);
    const view = await waitFor('update modal', () => s.emu.openViews(lena.id).find((v) => v.callbackId === 'firebreak_update'));
    expect(JSON.parse(view.privateMetadata ?? '{}').incidentId).toBe(inc.id);
    const sub = await s.emu.driver.submitView({ userId: lena.id, viewId: view.id, values: { message: { value: 'Drained the queue by hand' } } });
    expect(sub.status).toBe(200);
    const updates = (await s.owner.get(`/api/v1/incidents/${inc.id}/updates`)).body.updates;
    expect(updates).toHaveLength(1);

    // Just updated: quiet again only once its severity's minutes have passed since the update.
    await tick();
    expect(reminders()).toHaveLength(1);
    await s.fb.app.database.db.updateTable('incident_updates').set({ created_at: minutesAgo(11) }).where('id', '=', updates[0].id).execute();
    await tick();
    expect(reminders()).toHaveLength(2);
  });

  it('no lead, no DM; reminders switched off, no DM', async () => {
    const other = (await s.owner.post('/api/v1/incidents', { name: 'Nobody leads this', severity_id: 'sev-major' })).body.incident;
    await s.owner.post(`/api/v1/incidents/${other.id}/actions/lead`, { user_id: null });
    await s.fb.app.database.db.updateTable('incidents').set({ created_at: minutesAgo(30) }).where('id', '=', other.id).execute();
    await tick();
    const rows = await s.fb.app.database.db.selectFrom('slack_update_reminders').selectAll().where('incident_id', '=', other.id).execute();
    expect(rows).toHaveLength(0);
    expect((await s.fb.app.updates.reminders.quietIncidents()).map((q) => q.incidentId)).not.toContain(other.id);

    await s.owner.request('PUT', '/api/v1/settings/update_reminders', { enabled: false });
    await s.fb.app.database.db.updateTable('incident_updates').set({ created_at: minutesAgo(40) }).where('incident_id', '=', inc.id).execute();
    await tick();
    expect(reminders()).toHaveLength(2);
  });
});
