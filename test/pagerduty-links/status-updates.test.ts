import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startPagerDutyEmulator, type PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import type { Db } from '../../src/platform/db/index.js';
import { inTransaction, openDatabase } from '../../src/platform/db/index.js';
import { EventBus } from '../../src/platform/events.js';
import { newId, nowIso } from '../../src/platform/ids.js';
import { createSqliteJobQueue } from '../../src/platform/jobs/sqlite-queue.js';
import { STATUS_UPDATE_SUBSCRIBER } from '../../src/integrations/pagerduty/status-updates/status-updates.js';
import { connectPagerDuty, FirebreakProcess, sleep } from '../chaos/harness.js';
import { declare, freePort } from '../escalations/helpers.js';
import { backends, signInWithLink, userClient, type Client } from '../helpers.js';
import { attach, setupLinks, waitFor, type LinksSetup } from './helpers.js';

// A responder posts an update on an incident linked to PagerDuty incidents: stakeholders following in PagerDuty
// get it as a status update, once per PagerDuty incident, sent as Firebreak's bot account. The core's postUpdate
// is not on this branch, so each test does what it will: an incident_updates row and `incident.update_posted`
// published in the same transaction.

/** What the core's postUpdate writes: the update row and its event, in one transaction. Returns the update id. */
async function postUpdate(db: Db, events: EventBus, incidentId: string, message: string, userId: string | null = null): Promise<string> {
  const id = newId();
  // Read first, then write only inside the transaction: a test writing into a running process's SQLite file must
  // not upgrade a read transaction to a write (SQLite answers "database is locked" at once instead of waiting).
  const inc = await db
    .selectFrom('incidents as i')
    .innerJoin('incident_statuses as st', 'st.id', 'i.status_id')
    .innerJoin('severities as sv', 'sv.id', 'i.severity_id')
    .select(['i.status_id', 'i.severity_id', 'st.name as status', 'sv.name as severity'])
    .where('i.id', '=', incidentId)
    .executeTakeFirstOrThrow();
  await inTransaction(db, async (tx) => {
    await tx
      .insertInto('incident_updates')
      .values({ id, incident_id: incidentId, message, status_id: inc.status_id, severity_id: inc.severity_id, summary: null, actor_kind: userId ? 'user' : 'system', actor_user_id: userId, actor_ref: null, idempotency_key: null, created_at: nowIso() })
      .execute();
    await events.publish(tx, { type: 'incident.update_posted', incidentId, actor: { kind: userId ? 'user' : 'system', userId }, data: { updateId: id, message, status: inc.status, severity: inc.severity, summary: null } });
  });
  return id;
}

for (const backend of backends) {
  describe(`PagerDuty status updates for incident updates (${backend})`, () => {
    let s: LinksSetup;
    let bot: { id: string; email: string };
    beforeAll(async () => {
      s = await setupLinks(backend);
      bot = [...s.pd.state.users.values()][0]!;
    }, 180_000);
    afterAll(async () => {
      await s?.close();
    });
    beforeEach(async () => {
      await s.settle();
      s.pd.clearRequestLog();
      s.pd.faults.clear();
    });

    const app = () => s.fb.app;
    const post = (incidentId: string, message: string) => postUpdate(app().database.db, app().events, incidentId, message);
    const statusUpdateRequests = (pdId?: string) => s.pd.requestLog().filter((e) => e.method === 'POST' && /\/status_updates$/.test(e.path) && (!pdId || e.path === `/incidents/${pdId}/status_updates`));
    const deliveries = async (updateId: string) => (await app().updateDeliveries.for([updateId])).get(updateId) ?? [];
    const settled = (updateId: string, n: number) =>
      waitFor(`${n} settled deliveries of ${updateId}`, async () => {
        const d = await deliveries(updateId);
        return d.length === n && d.every((x) => x.state !== 'pending') ? d : null;
      }, 30_000);

    async function linkedIncident(name: string, count = 1) {
      const inc = await declare(s.owner, name);
      const pds: any[] = [];
      for (let i = 0; i < count; i++) {
        const pd = await s.trigger(s.fallbackServiceId, { title: `${name} — alert ${i + 1}` });
        await attach(s.owner, inc.id, pd.id);
        pds.push(pd);
      }
      await s.settle();
      return { inc, pds };
    }

    it('a responder posts an update: each linked PagerDuty incident gets it once as a status update from the bot, and the update shows where it went, by name', async () => {
      const { inc, pds } = await linkedIncident('Checkout is down', 2);
      const liveTimeline = async () => (await app().database.db.selectFrom('live_changes').select('id').where('topic', '=', 'timeline').where('incident_id', '=', inc.id).execute()).map((r) => Number(r.id));
      const before = Math.max(0, ...(await liveTimeline()));
      const updateId = await post(inc.id, 'Rolled back the deploy; error rate is falling.');
      const d = await settled(updateId, 2);
      // The page showing the update hears that its deliveries changed (live feed), in the transactions that changed them.
      expect((await liveTimeline()).filter((id) => id > before).length).toBeGreaterThan(0);

      for (const pd of pds) {
        const reqs = statusUpdateRequests(pd.id);
        expect(reqs).toHaveLength(1);
        expect(String(reqs[0]!.from).trim().toLowerCase()).toBe(bot.email.trim().toLowerCase());
        expect(reqs[0]!.body).toEqual({ message: 'Rolled back the deploy; error rate is falling.' });
        const record = s.pd.state.incidents.get(pd.id)!;
        expect(record.status_updates!.map((u) => [u.message, u.user_id])).toEqual([['Rolled back the deploy; error rate is falling.', bot.id]]);
      }
      expect(d.map((x) => [x.target, x.state, x.message])).toEqual([['pagerduty', 'sent', null], ['pagerduty', 'sent', null]]);
      expect(d.map((x) => x.label).sort()).toEqual(pds.map((pd) => `PagerDuty incident #${pd.incident_number} "${pd.title}"`).sort());
      expect(d.every((x) => x.url?.startsWith('https://firebreak-emulator.pagerduty.com/incidents/'))).toBe(true);
      const rows = await app().database.db.selectFrom('pagerduty_status_updates').selectAll().where('update_id', '=', updateId).execute();
      expect(rows.map((r) => r.pd_status_update_id).sort()).toEqual(pds.map((pd) => s.pd.state.incidents.get(pd.id)!.status_updates![0]!.id).sort());

      // The event delivered again (a redelivery after a crash) sends nothing more.
      const event = await app().database.db.selectFrom('domain_events').select('payload').where('type', '=', 'incident.update_posted').where('incident_id', '=', inc.id).executeTakeFirstOrThrow();
      await app().pagerduty.statusUpdates.service.onUpdatePosted(JSON.parse(event.payload));
      await s.settle();
      expect(statusUpdateRequests()).toHaveLength(2);
    });

    it('with the setting off nothing reaches PagerDuty; only an admin turns it off, and bad input changes nothing', async () => {
      const viewer = await userClient(s.fb, s.owner, 'viewer');
      const responder = await userClient(s.fb, s.owner, 'responder');
      expect((await viewer.client.get('/api/v1/integrations/pagerduty/status_update_settings')).body).toEqual({ enabled: true });
      expect((await responder.client.request('PUT', '/api/v1/integrations/pagerduty/status_update_settings', { enabled: false })).status).toBe(403);
      const bad = await s.owner.request('PUT', '/api/v1/integrations/pagerduty/status_update_settings', { enabled: 'no', extra: 1 });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBeTypeOf('string');
      expect((await s.owner.get('/api/v1/integrations/pagerduty/status_update_settings')).body).toEqual({ enabled: true });

      const off = await s.owner.request('PUT', '/api/v1/integrations/pagerduty/status_update_settings', { enabled: false });
      expect(off.status).toBe(200);
      expect(off.body).toEqual({ enabled: false });
      try {
        const { inc } = await linkedIncident('Search is slow');
        const updateId = await post(inc.id, 'Still investigating.');
        await s.settle();
        expect(statusUpdateRequests()).toEqual([]);
        expect(await deliveries(updateId)).toEqual([]);
      } finally {
        expect((await s.owner.request('PUT', '/api/v1/integrations/pagerduty/status_update_settings', { enabled: true })).status).toBe(200);
      }
    });

    it('PagerDuty refuses (400): the delivery fails with PagerDuty\'s message, is not retried, and the update still stands', async () => {
      const { inc, pds } = await linkedIncident('Login errors');
      // The bot's PagerDuty user changed its email: PagerDuty no longer knows the From address.
      const email = s.pd.state.users.get(bot.id)!.email;
      s.pd.admin.updateUser(bot.id, { email: 'someone-else@example.com' });
      let updateId: string;
      try {
        updateId = await post(inc.id, 'Mitigated by failing over.');
        const [d] = await settled(updateId, 1);
        expect(d!.state).toBe('failed');
        expect(d!.message).toContain('Requester User Not Found');
        expect(d!.label).toBe(`PagerDuty incident #${pds[0].incident_number} "${pds[0].title}"`);
      } finally {
        s.pd.admin.updateUser(bot.id, { email });
      }
      await s.settle();
      await sleep(1500);
      await s.fb.app.jobs.drain(20_000);
      expect(statusUpdateRequests().map((r) => r.status)).toEqual([400]);
      expect(s.pd.state.incidents.get(pds[0].id)!.status_updates).toEqual([]);
      const row = await app().database.db.selectFrom('incident_updates').select('message').where('id', '=', updateId!).executeTakeFirst();
      expect(row?.message).toBe('Mitigated by failing over.');
    });

    it('resolved PagerDuty incidents are skipped: without a request when Firebreak knows, with PagerDuty\'s word when it did not yet', async () => {
      const { inc, pds } = await linkedIncident('Queue backlog', 2);
      s.pd.actAs(bot.id).resolve(pds[0].id);
      await s.settle();
      // The second one is resolved in PagerDuty, but Firebreak has not heard: no subscription is active while it
      // is resolved, so no delivery is made (a receiver timeout did not do it: Firebreak may store a delivery
      // whose sender stopped waiting, and then it knows).
      const subs = [...s.pd.state.webhookSubscriptions.values()];
      for (const sub of subs) sub.active = false;
      s.pd.actAs(bot.id).resolve(pds[1].id);
      for (const sub of subs) sub.active = true;
      const updateId = await post(inc.id, 'All clear.');
      const d = await settled(updateId, 2);
      const byRef = new Map(d.map((x) => [x.ref, x]));
      expect(byRef.get(pds[0].id)!.state).toBe('skipped');
      expect(byRef.get(pds[1].id)!.state).toBe('skipped');
      expect(byRef.get(pds[1].id)!.message).toContain('Incident Already Resolved');
      expect(statusUpdateRequests().map((r) => r.path)).toEqual([`/incidents/${pds[1].id}/status_updates`]);
    });

    it('429 then success: the client waits as PagerDuty says and exactly one status update arrives', async () => {
      const { inc, pds } = await linkedIncident('Payments degraded');
      s.pd.faults.set({ rateLimitBurst: 1 });
      const updateId = await post(inc.id, 'Provider confirmed the outage.');
      const [d] = await settled(updateId, 1);
      expect(d!.state).toBe('sent');
      expect(statusUpdateRequests(pds[0].id).map((r) => r.status)).toEqual([429, 200]);
      expect(s.pd.state.incidents.get(pds[0].id)!.status_updates).toHaveLength(1);
    });

    it('500 then success: the job retries with backoff and exactly one status update arrives', async () => {
      const { inc, pds } = await linkedIncident('Webhooks delayed');
      s.pd.faults.set({ errorRate5xx: 1 });
      const updateId = await post(inc.id, 'Found the slow consumer.');
      await waitFor('a 500 from PagerDuty', async () => statusUpdateRequests(pds[0].id).some((r) => r.status === 500));
      expect((await deliveries(updateId))[0]!.state).toBe('pending');
      s.pd.faults.clear();
      const [d] = await settled(updateId, 1);
      expect(d!.state).toBe('sent');
      const statuses = statusUpdateRequests(pds[0].id).map((r) => r.status);
      expect(statuses.filter((x) => x === 200)).toHaveLength(1);
      expect(statuses.at(-1)).toBe(200);
      expect(s.pd.state.incidents.get(pds[0].id)!.status_updates).toHaveLength(1);
    }, 60_000);
  });
}

// kill -9 of a real Firebreak process (SQLite) while a status update waits out PagerDuty's errors; started again on
// the same data, PagerDuty has exactly one status update. The update is posted as the core will: its row and its
// event in one transaction, here written into the process's database from the test (its job queue picks it up).
describe('PagerDuty status updates after kill -9 (SQLite, real process)', () => {
  let pd: PagerDutyEmulator;
  let fb: FirebreakProcess;
  let owner: Client;
  let dataDir: string;
  let serviceId: string;

  beforeAll(async () => {
    pd = await startPagerDutyEmulator({ port: 0, seed: 'medium', rateLimitPerMinute: false });
    dataDir = mkdtempSync(join(tmpdir(), 'firebreak-status-updates-'));
    fb = new FirebreakProcess({ name: 'firebreak', port: await freePort(), env: { DATA_DIR: dataDir } });
    await fb.start();
    if (!fb.loginUrl) throw new Error(`no first sign-in link printed:\n${fb.tail()}`);
    owner = await signInWithLink(fb.baseUrl, fb.loginUrl);
    await connectPagerDuty(owner, pd);
    serviceId = [...pd.state.services.values()][0]!.id;
  }, 180_000);

  afterAll(async () => {
    await fb?.stop();
    await pd?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** Posts an update into the running process's database as the core does (row + event, one transaction). */
  async function postInto(incidentId: string, message: string): Promise<string> {
    const handle = openDatabase({ kind: 'sqlite', file: join(dataDir, 'firebreak.sqlite') });
    try {
      const events = new EventBus(createSqliteJobQueue({ db: handle.db }));
      // Only the subscriber under test gets a job; the process runs it (same name, same job).
      events.subscribe(STATUS_UPDATE_SUBSCRIBER, ['incident.update_posted'], async () => {});
      return await postUpdate(handle.db, events, incidentId, message);
    } finally {
      await handle.destroy();
    }
  }

  const requests = (pdId: string) => pd.requestLog().filter((e) => e.method === 'POST' && e.path === `/incidents/${pdId}/status_updates`);

  async function deliveryState(updateId: string): Promise<string | undefined> {
    const handle = openDatabase({ kind: 'sqlite', file: join(dataDir, 'firebreak.sqlite') });
    try {
      return (await handle.db.selectFrom('pagerduty_status_updates').select('state').where('update_id', '=', updateId).executeTakeFirst())?.state;
    } finally {
      await handle.destroy();
    }
  }

  async function linked(name: string) {
    const inc = await declare(owner, name);
    const pdInc = pd.admin.triggerIncident({ service_id: serviceId, title: `${name} — alert` });
    const r = await owner.post(`/api/v1/incidents/${inc.id}/pagerduty_incidents`, { pagerduty_incident: pdInc.id });
    expect([200, 201], JSON.stringify(r.body)).toContain(r.status);
    return { inc, pdInc };
  }

  it('killed while the send job backs off after 5xx answers: after the restart PagerDuty has exactly one status update', async () => {
    const { inc, pdInc } = await linked('Crash test: 5xx backoff');
    pd.faults.set({ errorRate5xx: 1 });
    const updateId = await postInto(inc.id, 'Crash test: posted while PagerDuty fails.');
    await waitFor('two refused attempts', async () => requests(pdInc.id).filter((e) => e.status === 500).length >= 2, 30_000);
    await fb.kill();
    pd.faults.clear();
    expect(await deliveryState(updateId)).toBe('pending');
    await fb.start();
    await waitFor('the status update sent after the restart', async () => (await deliveryState(updateId)) === 'sent', 60_000);
    await sleep(1000);
    expect(requests(pdInc.id).filter((e) => e.status === 200)).toHaveLength(1);
    expect(pd.state.incidents.get(pdInc.id)!.status_updates!.map((u) => u.message)).toEqual(['Crash test: posted while PagerDuty fails.']);
  }, 150_000);

  it('killed while the client waits out 429s: after the restart PagerDuty has exactly one status update', async () => {
    const { inc, pdInc } = await linked('Crash test: 429');
    pd.faults.set({ rateLimitBurst: 100_000 });
    const updateId = await postInto(inc.id, 'Crash test: posted while PagerDuty throttles.');
    await waitFor('a throttled attempt', async () => requests(pdInc.id).some((e) => e.status === 429), 30_000);
    await fb.kill();
    pd.faults.clear();
    await fb.start();
    await waitFor('the status update sent after the restart', async () => (await deliveryState(updateId)) === 'sent', 60_000);
    await sleep(1000);
    expect(requests(pdInc.id).filter((e) => e.status === 200)).toHaveLength(1);
    expect(pd.state.incidents.get(pdInc.id)!.status_updates).toHaveLength(1);
  }, 150_000);
});
