import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTransaction } from '../../src/platform/db/index.js';
import { newId } from '../../src/platform/ids.js';
import { backends, ownerClient, startTestFirebreak, userClient, type Client, type TestFirebreak } from '../helpers.js';

// The post-incident write-up through the REST API, on each backend: an admin's template, a write-up generated
// from what happened (roles, updates, follow-ups, timestamps, pinned messages and PagerDuty activity, seeded into
// the running-incident tables as the contract has them), edited by two people at once, exported, and the
// checklist that says when the incident's post-incident work is complete.

const MIN = 60_000;

describe.each(backends)('post-incident write-up API on %s', (backend) => {
  let fb: TestFirebreak;
  let owner: Client;
  let responder: Client;
  let viewer: Client;
  let ada: { id: string; name: string };
  let grace: { id: string; name: string };
  const db = () => fb.app.database.db;

  const declare = async (name: string, summary = '') => {
    const r = await owner.post('/api/v1/incidents', { name, summary });
    expect(r.status).toBe(201);
    return r.body.incident as { id: string; reference: string; name: string };
  };
  const close = async (id: string) => expect((await owner.post(`/api/v1/incidents/${id}/actions/close`)).status).toBe(200);
  const timelineKinds = async (id: string) => ((await owner.get(`/api/v1/incidents/${id}/timeline`)).body.items as { kind: string; text: string }[]);
  const writeUpRow = (incidentId: string) => db().selectFrom('write_ups').selectAll().where('incident_id', '=', incidentId).executeTakeFirst();

  /** What the running-incident modules would have written, straight into their tables (the contract's shape). */
  async function seedRunningIncident(incidentId: string, t0: number) {
    const iso = (minutes: number) => new Date(t0 + minutes * MIN).toISOString();
    const now = new Date().toISOString();
    const comms = newId();
    const scribe = newId();
    await db().insertInto('incident_roles').values([
      { id: comms, name: `Communications ${backend}`, description: 'Keeps stakeholders informed', rank: 1, created_at: now, updated_at: now, deleted_at: null },
      { id: scribe, name: `Scribe ${backend}`, description: 'Writes down what happens', rank: 2, created_at: now, updated_at: now, deleted_at: null },
    ]).execute();
    await db().insertInto('incident_role_assignments').values({ incident_id: incidentId, role_id: comms, user_id: ada.id, assigned_at: iso(2) }).execute();
    await db().insertInto('incident_updates').values({ id: newId(), incident_id: incidentId, message: 'Rolled back the 14:02 deploy; error rate falling', status_id: 'fixing', severity_id: 'sev-major', summary: null, actor_kind: 'user', actor_user_id: grace.id, actor_ref: null, idempotency_key: null, created_at: iso(20) }).execute();
    await db().insertInto('follow_ups').values({ id: newId(), incident_id: incidentId, title: 'Add a canary for the checkout deploy', description: '', owner_user_id: grace.id, priority: 'high', status: 'open', link: 'https://tickets.example.com/OPS-12', source: 'api', source_ref: null, created_by_kind: 'user', created_by_user_id: ada.id, created_at: iso(95), updated_at: iso(95), completed_at: null }).execute();
    const ts = (kind: 'reported' | 'impact_started' | 'fixed' | 'resolved' | 'pagerduty_first_acknowledged', minutes: number) => ({ incident_id: incidentId, kind, at: iso(minutes), source: 'auto' as const, reason: null, set_by_user_id: null, updated_at: now });
    await db().insertInto('incident_timestamps').values([ts('impact_started', -10), ts('reported', 0), ts('pagerduty_first_acknowledged', 4), ts('fixed', 35), ts('resolved', 90)]).execute();
    const item = (kind: string, minutes: number, payload: Record<string, unknown>, actorUserId: string | null = null) => ({
      id: newId(), incident_id: incidentId, kind, occurred_at: iso(minutes), created_at: now, actor_kind: (actorUserId ? 'user' : 'integration') as 'user' | 'integration', actor_user_id: actorUserId, actor_ref: actorUserId ? null : kind.startsWith('pagerduty') ? 'pagerduty' : 'slack', payload: JSON.stringify(payload), dedupe_key: null,
    });
    await db().insertInto('timeline_items').values([
      item('slack.message_pinned', 8, { text: 'Checkout 500s started right after the deploy', author: { slackUserId: 'U1', name: 'Ada Lovelace' }, permalink: 'https://slack.example.com/archives/C1/p1' }, ada.id),
      item('pagerduty.acknowledged', 4, { text: 'PagerDuty incident #77 "Checkout errors" acknowledged by Grace Hopper' }),
      item('update_posted', 20, { updateId: 'x', message: 'Rolled back the 14:02 deploy; error rate falling', text: 'Update: Rolled back the 14:02 deploy' }, grace.id),
    ]).execute();
  }

  beforeAll(async () => {
    fb = await startTestFirebreak(backend);
    owner = await ownerClient(fb);
    responder = (await userClient(fb, owner, 'responder')).client;
    viewer = (await userClient(fb, owner, 'viewer')).client;
    ada = (await owner.post('/api/v1/users', { name: 'Ada Lovelace', email: `ada-${backend}@example.com`, role: 'responder' })).body.user;
    grace = (await owner.post('/api/v1/users', { name: 'Grace Hopper', email: `grace-${backend}@example.com`, role: 'responder' })).body.user;
  });
  afterAll(async () => fb?.destroy());

  it('generates the write-up from the default template with names, durations in words and the key items', async () => {
    const inc = await declare('Checkout errors after deploy', 'Card payments failed for 35 minutes.');
    await owner.post(`/api/v1/incidents/${inc.id}/actions/lead`, { user_id: grace.id });
    expect((await owner.post(`/api/v1/incidents/${inc.id}/actions/status`, { status_id: 'fixing' })).status).toBe(200);
    await seedRunningIncident(inc.id, Date.parse('2026-12-01T14:00:00Z'));

    const r = await responder.post(`/api/v1/incidents/${inc.reference}/write_up`);
    expect(r.status).toBe(201);
    const w = r.body.write_up;
    expect(w.version).toBe(1);
    expect(w.edited).toBe(false);
    expect(w.incident).toEqual({ id: inc.id, reference: inc.reference, name: inc.name });
    expect(w.generated_by).toBe('A responder');
    const md: string = w.markdown;
    expect(md).toContain(`# ${inc.reference}: Checkout errors after deploy`);
    expect(md).toContain('Card payments failed for 35 minutes.');
    expect(md).toContain('- **Lead**: Grace Hopper');
    expect(md).toContain('- **Severity**: Low');
    expect(md).toContain(`- **Communications ${backend}**: Ada Lovelace`);
    expect(md).toContain(`- **Scribe ${backend}**: not assigned`);
    expect(md).toContain('- **Reported**: 1 Dec 2026, 14:00 UTC');
    expect(md).toContain('- **Impact started**: 1 Dec 2026, 13:50 UTC');
    expect(md).toContain('- **Time to acknowledge**: 4 minutes');
    expect(md).toContain('- **Time to fix**: 35 minutes');
    expect(md).toContain('- **Time to resolve**: 1 hour 30 minutes');
    expect(md).toContain('- **Impact duration**: 45 minutes');
    expect(md).toContain('Pinned message from Ada Lovelace: Checkout 500s started right after the deploy');
    expect(md).toContain('Update: Rolled back the 14:02 deploy; error rate falling (Grace Hopper)');
    expect(md).toContain('Status changed from Investigating to Fixing');
    expect(md).toContain('**1 Dec 2026, 14:20 UTC**, Grace Hopper (Fixing, Major): Rolled back the 14:02 deploy; error rate falling');
    expect(md).toContain('PagerDuty incident #77 "Checkout errors" acknowledged by Grace Hopper');
    expect(md).toContain('Add a canary for the checkout deploy (High, Open, owner Grace Hopper): https://tickets.example.com/OPS-12');
    // names, never ids
    for (const idText of [ada.id, grace.id, inc.id]) expect(md).not.toContain(idText);
    expect(w.html).toContain(`<h1>${inc.reference}: Checkout errors after deploy</h1>`);
    expect(w.html).toContain('<a href="https://tickets.example.com/OPS-12" rel="noopener noreferrer">');
    expect((await timelineKinds(inc.id)).map((i) => i.kind)).toContain('write_up_generated');

    // GET gives the same; a second generation is refused unless asked to regenerate
    const got = await viewer.get(`/api/v1/incidents/${inc.id}/write_up`);
    expect(got.status).toBe(200);
    expect(got.body.write_up.markdown).toBe(md);
    const again = await owner.post(`/api/v1/incidents/${inc.id}/write_up`, {});
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('write_up_exists');
    expect(again.body.error.message).toContain('last saved by A responder');
    const regenerated = await owner.post(`/api/v1/incidents/${inc.id}/write_up`, { regenerate: true });
    expect(regenerated.status).toBe(200);
    expect(regenerated.body.write_up.version).toBe(2);
    expect(regenerated.body.write_up.generated_by).toBe('Owner');
  });

  it('a write-up of an incident with nothing recorded says so instead of leaving holes', async () => {
    const inc = await declare('Quiet incident');
    const md: string = (await owner.post(`/api/v1/incidents/${inc.id}/write_up`)).body.write_up.markdown;
    expect(md).toContain('_No summary was written._');
    expect(md).toContain('_No updates were posted._');
    expect(md).toContain('_No PagerDuty activity._');
    expect(md).toContain('_No follow-ups yet._');
    expect(md).toContain('- **Lead**: Owner');
    expect(md).not.toContain('Time to acknowledge');
  });

  it('people’s text cannot inject HTML: names, pinned messages and edits render as text', async () => {
    const inc = await declare('<script>alert("name")</script> checkout', 'Summary with <img src=x onerror=alert(1)> and [a link](javascript:alert(2))');
    await db().insertInto('timeline_items').values({ id: newId(), incident_id: inc.id, kind: 'slack.message_pinned', occurred_at: new Date().toISOString(), created_at: new Date().toISOString(), actor_kind: 'integration', actor_user_id: null, actor_ref: 'slack', payload: JSON.stringify({ text: '<iframe src="https://evil.example"></iframe>', author: { name: '<b>Mallory</b>' }, permalink: null }), dedupe_key: null }).execute();
    const w = (await owner.post(`/api/v1/incidents/${inc.id}/write_up`)).body.write_up;
    for (const html of [w.html as string]) {
      expect(html).not.toMatch(/<script|<img|<iframe|<b>Mallory|href="javascript:/i);
      expect(html).toContain('&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;');
      expect(html).toContain('Pinned message from &lt;b&gt;Mallory&lt;/b&gt;: &lt;iframe src=&quot;');
    }
    const saved = await owner.patch(`/api/v1/incidents/${inc.id}/write_up`, { markdown: '# Edited\n\n<div onclick="x()">raw</div>\n\n<a href="javascript:alert(3)">x</a> [y](javascript:alert(4))', version: w.version });
    expect(saved.status).toBe(200);
    expect(saved.body.write_up.html).not.toMatch(/<div|<a href="javascript|href="javascript:/i);
    expect(saved.body.write_up.html).toContain('&lt;div onclick=&quot;x()&quot;&gt;raw&lt;/div&gt;');
    const exported = await owner.request('GET', `/api/v1/incidents/${inc.id}/write_up/export.html`);
    expect(exported.body).not.toMatch(/<script|<div onclick|href="javascript:/i);
    expect(exported.body).toContain('<title>' + inc.reference + ': &lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt; checkout (post-incident write-up)</title>');
  });

  it('a stale save is refused with who saved the newer version, and loses nothing', async () => {
    const inc = await declare('Two editors');
    const v1 = (await owner.post(`/api/v1/incidents/${inc.id}/write_up`)).body.write_up.version;
    const mine = await owner.patch(`/api/v1/incidents/${inc.id}/write_up`, { markdown: '# Owner’s edit', version: v1 });
    expect(mine.status).toBe(200);
    expect(mine.body.write_up).toMatchObject({ version: v1 + 1, edited: true, updated_by: 'Owner', markdown: '# Owner’s edit' });
    const theirs = await responder.patch(`/api/v1/incidents/${inc.id}/write_up`, { markdown: '# Responder’s edit of the old version', version: v1 });
    expect(theirs.status).toBe(409);
    expect(theirs.body.error.code).toBe('stale_write_up');
    expect(theirs.body.error.message).toContain(`Owner saved a newer version of this write-up (version ${v1 + 1}`);
    expect(theirs.body.error.details).toMatchObject({ current_version: v1 + 1, saved_by: 'Owner' });
    expect((await writeUpRow(inc.id))!.markdown).toBe('# Owner’s edit');
    // with the current version it goes through
    expect((await responder.patch(`/api/v1/incidents/${inc.id}/write_up`, { markdown: '# Responder, on top', version: v1 + 1 })).body.write_up.updated_by).toBe('A responder');
    // five saves over the same version at once: exactly one wins, the others are told who won
    const v = (await writeUpRow(inc.id))!.version;
    const racing = await Promise.all([1, 2, 3, 4, 5].map((n) => (n % 2 ? owner : responder).patch(`/api/v1/incidents/${inc.id}/write_up`, { markdown: `# Racer ${n}`, version: v })));
    expect(racing.map((r) => r.status).sort()).toEqual([200, 409, 409, 409, 409]);
    const winner = racing.find((r) => r.status === 200)!.body.write_up;
    expect((await writeUpRow(inc.id))!).toMatchObject({ version: v + 1, markdown: winner.markdown });
    for (const r of racing.filter((r) => r.status === 409)) expect(r.body.error.details).toMatchObject({ current_version: v + 1, saved_by: winner.updated_by });
    // the page following the incident is told (live feed, in the save's transaction)
    const live = await db().selectFrom('live_changes').select('topic').where('incident_id', '=', inc.id).where('topic', '=', 'incident').execute();
    expect(live.length).toBeGreaterThan(0);
  });

  it('refuses bad input and writes nothing: too large, unknown fields, no write-up yet, unknown incident', async () => {
    const inc = await declare('Bad input');
    expect((await owner.get(`/api/v1/incidents/${inc.id}/write_up`)).body.error.code).toBe('not_found');
    const noneYet = await owner.patch(`/api/v1/incidents/${inc.id}/write_up`, { markdown: 'x', version: 1 });
    expect(noneYet.status).toBe(404);
    expect(noneYet.body.error.message).toContain('has no write-up yet');
    expect(await writeUpRow(inc.id)).toBeUndefined();
    const v = (await owner.post(`/api/v1/incidents/${inc.id}/write_up`)).body.write_up.version;
    const before = await writeUpRow(inc.id);
    const big = await owner.patch(`/api/v1/incidents/${inc.id}/write_up`, { markdown: 'é'.repeat(110 * 1024), version: v }); // 220 KB of UTF-8
    expect(big.status).toBe(400);
    expect(big.body.error.details.fields[0]).toMatchObject({ path: 'markdown', message: expect.stringContaining('at most 200 KB') });
    expect((await owner.patch(`/api/v1/incidents/${inc.id}/write_up`, { markdown: 'x', version: v, edited: true })).status).toBe(400);
    expect((await owner.patch(`/api/v1/incidents/${inc.id}/write_up`, { markdown: 'x' })).status).toBe(400);
    expect(await writeUpRow(inc.id)).toEqual(before);
    expect((await owner.post('/api/v1/incidents/INC-999999/write_up')).status).toBe(404);
    expect((await owner.post(`/api/v1/incidents/${'x'.repeat(65)}/write_up`)).status).toBe(400);
    expect((await owner.post(`/api/v1/incidents/${inc.id}/write_up`, { regenerate: 'yes' })).status).toBe(400);
  });

  it('exports Markdown and a standalone HTML document as attachments named by the reference', async () => {
    const inc = await declare('Export me', 'Résumé of the outage');
    const w = (await owner.post(`/api/v1/incidents/${inc.id}/write_up`)).body.write_up;
    const md = await viewer.request('GET', `/api/v1/incidents/${inc.reference}/write_up/export.md`);
    expect(md.status).toBe(200);
    expect(md.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    expect(md.headers.get('content-disposition')).toBe(`attachment; filename="${inc.reference}-write-up.md"`);
    expect(md.body).toBe(w.markdown);
    const html = await viewer.request('GET', `/api/v1/incidents/${inc.reference}/write_up/export.html`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html.headers.get('content-disposition')).toBe(`attachment; filename="${inc.reference}-write-up.html"`);
    expect(html.body).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(html.body).toContain('<meta charset="utf-8">');
    expect(html.body).toContain(`<title>${inc.reference}: Export me (post-incident write-up)</title>`);
    expect(html.body).toContain(w.html);
    expect(html.body).toContain('Résumé of the outage');
    const none = await declare('Nothing to export');
    const missing = await owner.request('GET', `/api/v1/incidents/${none.id}/write_up/export.md`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
  });

  it('the template: admins save it after it checks; syntax errors give line and column, unknown variables are named; nothing written on refusal', async () => {
    const def = await viewer.get('/api/v1/settings/write_up_template');
    expect(def.status).toBe(200);
    expect(def.body.template.is_default).toBe(true);
    expect(def.body.template.variables).toEqual(expect.arrayContaining([
      expect.objectContaining({ name: 'incident.reference', list: false, inside: null }),
      expect.objectContaining({ name: 'roles', list: true, inside: null }),
      expect.objectContaining({ name: 'person', list: false, inside: 'roles' }),
      expect.objectContaining({ name: 'duration.time_to_resolve', list: false, inside: null }),
      expect.objectContaining({ name: 'owner', list: false, inside: 'follow_ups' }),
    ]));
    const notAValue = await owner.request('PUT', '/api/v1/settings/write_up_template', { markdown: 'x\n  {{incident}}' });
    expect(notAValue.body.error).toMatchObject({ code: 'invalid_template', details: { reason: 'not_a_value', line: 2, column: 3, name: 'incident' } });
    expect(notAValue.body.error.message).toContain('use {{incident.reference}}');

    const syntax = await owner.request('PUT', '/api/v1/settings/write_up_template', { markdown: '# {{incident.reference}}\n\n{{#roles}}\n- {{name}}\n' });
    expect(syntax.status).toBe(400);
    expect(syntax.body.error.code).toBe('invalid_template');
    expect(syntax.body.error.details).toEqual({ reason: 'syntax', line: 3, column: 1 });
    expect(syntax.body.error.message).toContain('Unclosed section "roles" at line 3, column 1');
    const unclosedTag = await owner.request('PUT', '/api/v1/settings/write_up_template', { markdown: 'ok\nthen {{incident.name' });
    expect(unclosedTag.body.error.details).toEqual({ reason: 'syntax', line: 2, column: 6 });

    const unknown = await owner.request('PUT', '/api/v1/settings/write_up_template', { markdown: '# {{incident.reference}}\n{{incident.nmae}}\n{{#follow_ups}}{{titel}} {{owner}}{{/follow_ups}}\n{{secrets}}' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('invalid_template');
    expect(unknown.body.error.message).toContain('{{incident.nmae}}, {{titel}}, {{secrets}}');
    expect(unknown.body.error.details.unknown_variables).toEqual([
      { name: 'incident.nmae', line: 2, column: 1 },
      { name: 'titel', line: 3, column: 16 },
      { name: 'secrets', line: 4, column: 1 },
    ]);
    // a field of a list's items is unknown outside its section
    expect((await owner.request('PUT', '/api/v1/settings/write_up_template', { markdown: '{{title}}' })).body.error.details.unknown_variables[0].name).toBe('title');
    expect((await owner.get('/api/v1/settings/write_up_template')).body.template.is_default).toBe(true);
    expect((await responder.request('PUT', '/api/v1/settings/write_up_template', { markdown: '# {{incident.name}}' })).status).toBe(403);
    expect((await viewer.request('PUT', '/api/v1/settings/write_up_template', { markdown: '# {{incident.name}}' })).status).toBe(403);
    expect((await owner.get('/api/v1/settings/write_up_template')).body.template.is_default).toBe(true);

    const inc = await declare('Template preview');
    const custom = `# Review of {{incident.reference}}\n\nLed by {{incident.lead}}. Resolved after {{duration.time_to_resolve}}.\n{{#follow_ups}}\n* {{title}}\n{{/follow_ups}}{{^follow_ups}}No follow-ups.{{/follow_ups}}\n`;
    const preview = await owner.post('/api/v1/settings/write_up_template/preview', { markdown: custom, incident_id: inc.reference });
    expect(preview.status).toBe(200);
    expect(preview.body.markdown).toBe(`# Review of ${inc.reference}\n\nLed by Owner. Resolved after not known.\nNo follow-ups.\n`);
    expect(preview.body.html).toContain(`<h1>Review of ${inc.reference}</h1>`);
    expect((await owner.get('/api/v1/settings/write_up_template')).body.template.is_default).toBe(true);

    const saved = await owner.request('PUT', '/api/v1/settings/write_up_template', { markdown: custom });
    expect(saved.status).toBe(200);
    expect(saved.body.template).toMatchObject({ is_default: false, updated_by: 'Owner', markdown: custom });
    const generated = await owner.post(`/api/v1/incidents/${inc.id}/write_up`);
    expect(generated.body.write_up.markdown).toContain(`# Review of ${inc.reference}`);
    const reset = await owner.request('DELETE', '/api/v1/settings/write_up_template');
    expect(reset.status).toBe(200);
    expect(reset.body.template.is_default).toBe(true);
  });

  it('the checklist: starts when closed, derives the write-up and follow-ups, a person ticks the review, completion is on the timeline', async () => {
    const inc = await declare('Checklist incident');
    const early = await owner.get(`/api/v1/incidents/${inc.id}/post_incident`);
    expect(early.body.post_incident).toMatchObject({ applicable: false, complete: false });
    const notClosed = await owner.post(`/api/v1/incidents/${inc.id}/post_incident/items/review`, { done: true });
    expect(notClosed.status).toBe(409);
    expect(notClosed.body.error.code).toBe('incident_not_closed');
    expect(await db().selectFrom('post_incident_items').selectAll().where('incident_id', '=', inc.id).execute()).toEqual([]);

    await close(inc.id);
    const items = async () => (await owner.get(`/api/v1/incidents/${inc.id}/post_incident`)).body.post_incident;
    expect((await items()).items.map((i: { item: string; label: string; done: boolean }) => [i.item, i.label, i.done])).toEqual([
      ['write_up', 'Write-up written', false],
      ['review', 'Review held', false],
      ['follow_ups', 'Follow-ups created', false],
    ]);
    const derived = await owner.post(`/api/v1/incidents/${inc.id}/post_incident/items/write_up`, { done: true });
    expect(derived.status).toBe(409);
    expect(derived.body.error.code).toBe('derived_item');

    // generated is not written; edited is
    const w = (await owner.post(`/api/v1/incidents/${inc.id}/write_up`)).body.write_up;
    expect((await items()).items[0]).toMatchObject({ done: false, detail: 'Generated from the template; not edited yet.' });
    await responder.patch(`/api/v1/incidents/${inc.id}/write_up`, { markdown: `${w.markdown}\n\nWe learned things.`, version: w.version });
    expect((await items()).items[0]).toMatchObject({ done: true, by: 'A responder' });

    const review = await responder.post(`/api/v1/incidents/${inc.id}/post_incident/items/review`, { done: true, note: 'Held on Tuesday with the payments team' });
    expect(review.status).toBe(200);
    expect(review.body.post_incident.items[1]).toMatchObject({ done: true, by: 'A responder', note: 'Held on Tuesday with the payments team' });
    expect(review.body.post_incident.complete).toBe(false);

    const noneNeeded = await owner.post(`/api/v1/incidents/${inc.id}/post_incident/items/follow_ups`, { done: true, note: 'A one-off typo, fixed for good' });
    expect(noneNeeded.body.post_incident).toMatchObject({ complete: true, applicable: true });
    expect(noneNeeded.body.post_incident.items[2]).toMatchObject({ done: true, detail: 'None needed, said Owner.', note: 'A one-off typo, fixed for good' });
    expect(noneNeeded.body.post_incident.completed_at).toEqual(expect.any(String));
    // a further save while complete looks again but records the completion only once
    const current = (await owner.get(`/api/v1/incidents/${inc.id}/write_up`)).body.write_up;
    expect((await owner.patch(`/api/v1/incidents/${inc.id}/write_up`, { markdown: `${current.markdown}\n\nOne more thought.`, version: current.version })).status).toBe(200);
    let tl = await timelineKinds(inc.id);
    expect(tl.filter((i) => i.kind === 'post_incident_completed')).toHaveLength(1);
    expect(tl.find((i) => i.kind === 'post_incident_item_changed')!.text).toBe('Post-incident: "Review held" ticked by A responder: Held on Tuesday with the payments team');

    // undoing an item reopens it (on the timeline too); doing it again completes it again
    const untick = await owner.post(`/api/v1/incidents/${inc.id}/post_incident/items/review`, { done: false });
    expect(untick.body.post_incident).toMatchObject({ complete: false, completed_at: null });
    tl = await timelineKinds(inc.id);
    expect(tl.find((i) => i.kind === 'post_incident_reopened')!.text).toBe('Post-incident checklist reopened: Review held no longer done');
    await owner.post(`/api/v1/incidents/${inc.id}/post_incident/items/review`, { done: true });
    expect((await timelineKinds(inc.id)).filter((i) => i.kind === 'post_incident_completed')).toHaveLength(2);

    // the viewer reads it and may tick nothing
    expect((await viewer.get(`/api/v1/incidents/${inc.id}/post_incident`)).body.post_incident.complete).toBe(true);
    expect((await viewer.post(`/api/v1/incidents/${inc.id}/post_incident/items/review`, { done: false })).status).toBe(403);
    expect((await owner.post(`/api/v1/incidents/${inc.id}/post_incident/items/nonsense`, { done: true })).status).toBe(400);
    expect((await owner.post(`/api/v1/incidents/${inc.id}/post_incident/items/review`, { done: 'yes' })).status).toBe(400);
    expect((await items()).complete).toBe(true);
  });

  it('a follow-up created elsewhere completes the checklist through its domain event; with follow-ups "none needed" is refused', async () => {
    const inc = await declare('Follow-up completes it');
    await close(inc.id);
    const w = (await owner.post(`/api/v1/incidents/${inc.id}/write_up`)).body.write_up;
    await owner.patch(`/api/v1/incidents/${inc.id}/write_up`, { markdown: 'Edited', version: w.version });
    await owner.post(`/api/v1/incidents/${inc.id}/post_incident/items/review`, { done: true });
    expect((await owner.get(`/api/v1/incidents/${inc.id}/post_incident`)).body.post_incident.complete).toBe(false);

    // what the follow-ups module does: the row and its event in one transaction
    await inTransaction(db(), async (tx) => {
      const now = new Date().toISOString();
      const id = newId();
      await tx.insertInto('follow_ups').values({ id, incident_id: inc.id, title: 'Alert on checkout 5xx', description: '', owner_user_id: ada.id, priority: 'medium', status: 'open', link: null, source: 'api', source_ref: null, created_by_kind: 'user', created_by_user_id: ada.id, created_at: now, updated_at: now, completed_at: null }).execute();
      await fb.app.events.publish(tx, { type: 'incident.follow_up_changed', incidentId: inc.id, actor: { kind: 'user', userId: ada.id }, data: { followUpId: id, change: 'created' } });
    });
    const deadline = Date.now() + 10_000;
    let kinds: string[] = [];
    while (Date.now() < deadline) {
      kinds = (await timelineKinds(inc.id)).map((i) => i.kind);
      if (kinds.includes('post_incident_completed')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(kinds).toContain('post_incident_completed');
    const c = (await owner.get(`/api/v1/incidents/${inc.id}/post_incident`)).body.post_incident;
    expect(c.complete).toBe(true);
    expect(c.items[2]).toMatchObject({ done: true, detail: '1 follow-up created.' });
    const refused = await owner.post(`/api/v1/incidents/${inc.id}/post_incident/items/follow_ups`, { done: false });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('follow_ups_exist');

    // reopening the incident takes "complete" away; closing it again completes it again
    expect((await owner.post(`/api/v1/incidents/${inc.id}/actions/status`, { status_id: 'investigating' })).status).toBe(200);
    expect((await owner.get(`/api/v1/incidents/${inc.id}/post_incident`)).body.post_incident).toMatchObject({ applicable: false, complete: false });
  });

  it('a viewer reads the write-up but cannot generate, edit or tick: 403 and nothing written', async () => {
    const inc = await declare('Viewer lane');
    const gen = await viewer.post(`/api/v1/incidents/${inc.id}/write_up`);
    expect(gen.status).toBe(403);
    expect(gen.body.error.code).toBe('forbidden');
    expect(await writeUpRow(inc.id)).toBeUndefined();
    const w = (await owner.post(`/api/v1/incidents/${inc.id}/write_up`)).body.write_up;
    expect((await viewer.patch(`/api/v1/incidents/${inc.id}/write_up`, { markdown: 'mine now', version: w.version })).status).toBe(403);
    expect((await writeUpRow(inc.id))!.markdown).toBe(w.markdown);
    expect((await viewer.get(`/api/v1/incidents/${inc.id}/write_up`)).status).toBe(200);
    expect((await viewer.request('DELETE', '/api/v1/settings/write_up_template')).status).toBe(403);
    expect((await viewer.post('/api/v1/settings/write_up_template/preview', { markdown: 'x', incident_id: inc.id })).status).toBe(403);
  });
});
