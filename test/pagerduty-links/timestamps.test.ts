import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers.js';
import { declare } from '../escalations/helpers.js';
import { attach, setupLinks, type LinksSetup } from './helpers.js';

// PagerDuty's times on the incident: a responder acknowledges a linked PagerDuty incident in PagerDuty (the
// emulator sends the signed webhook, Firebreak reads the incident and its log), and the incident shows when
// PagerDuty first triggered and first acknowledged, with the time to acknowledge derived. Earliest wins.

const byKind = (inc: any) => Object.fromEntries(inc.timestamps.map((t: any) => [t.kind, t]));
const iso = (s: string) => new Date(s).toISOString();

for (const backend of backends) {
  describe(`PagerDuty timestamps (${backend})`, () => {
    let s: LinksSetup;
    beforeAll(async () => {
      s = await setupLinks(backend);
    }, 120_000);
    afterAll(async () => {
      await s?.close();
    });

    const get = async (id: string) => (await s.owner.get(`/api/v1/incidents/${id}`)).body.incident;

    it('a real acknowledgement in PagerDuty sets first acknowledged and the time to acknowledge', async () => {
      const inc = await declare(s.owner, 'Checkout errors');
      const pd = await s.trigger(s.fallbackServiceId, { title: 'Checkout 5xx over 2%' });
      await attach(s.owner, inc.id, pd.id);
      await s.settle();
      let t = byKind(await get(inc.id));
      expect(t.pagerduty_first_triggered).toMatchObject({ at: iso(pd.created_at), source: 'pagerduty', label: 'PagerDuty first triggered' });
      expect(t.pagerduty_first_acknowledged.at).toBeNull();
      expect((await get(inc.id)).durations.time_to_acknowledge_seconds).toBeNull();
      const eventsBefore = (await s.fb.app.database.db.selectFrom('domain_events').select('id').where('incident_id', '=', inc.id).where('type', '=', 'incident.timestamp_changed').execute()).length;

      await new Promise((r) => setTimeout(r, 1100));
      const [paged] = s.assignees(pd.id);
      s.pd.actAs(paged!).acknowledge(pd.id);
      await s.settle();
      const ackAt = s.pd.state.incidents.get(pd.id)!.acknowledgements[0]!.at;
      const incident = await get(inc.id);
      t = byKind(incident);
      expect(t.pagerduty_first_acknowledged).toMatchObject({ at: iso(ackAt), source: 'pagerduty', reason: null, set_by: null });
      const from = Math.min(Date.parse(incident.created_at), Date.parse(pd.created_at));
      expect(incident.durations.time_to_acknowledge_seconds).toBe(Math.round((Date.parse(ackAt) - from) / 1000));
      expect(incident.durations.time_to_acknowledge_seconds).toBeGreaterThanOrEqual(1);
      // An event for the change (the incident page reloads through the live feed).
      const eventsAfter = (await s.fb.app.database.db.selectFrom('domain_events').select('id').where('incident_id', '=', inc.id).where('type', '=', 'incident.timestamp_changed').execute()).length;
      expect(eventsAfter).toBeGreaterThan(eventsBefore);

      // Reassigned (which clears the acknowledgement) and acknowledged again later: the first acknowledgement stays.
      await new Promise((r) => setTimeout(r, 1100));
      const someone = s.bystander(pd.id);
      s.pd.actAs(paged!).reassign(pd.id, [someone.id]);
      s.pd.actAs(someone.id).acknowledge(pd.id);
      expect(s.pd.state.incidents.get(pd.id)!.acknowledgements[0]!.at).not.toBe(ackAt);
      await s.settle();
      expect(byKind(await get(inc.id)).pagerduty_first_acknowledged.at).toBe(iso(ackAt));
      // A person cannot edit PagerDuty's times.
      const r = await s.owner.request('PUT', `/api/v1/incidents/${inc.id}/timestamps/pagerduty_first_acknowledged`, { at: new Date().toISOString(), reason: 'x' });
      expect(r.status).toBe(400);
      expect(r.body.error.message).toBe('PagerDuty first acknowledged comes from PagerDuty and cannot be edited.');
    });

    it('the earliest of several linked PagerDuty incidents wins, also when the earlier one is attached later', async () => {
      const early = await s.trigger(s.fallbackServiceId, { title: 'Disk full on db-1' });
      s.pd.actAs(s.assignees(early.id)[0]!).acknowledge(early.id);
      await s.settle();
      const earlyAck = s.pd.state.incidents.get(early.id)!.acknowledgements[0]!.at;
      await new Promise((r) => setTimeout(r, 1100));
      const inc = await declare(s.owner, 'Database trouble');
      const late = await s.trigger(s.fallbackServiceId, { title: 'Replication lag' });
      await attach(s.owner, inc.id, late.id);
      await s.settle();
      s.pd.actAs(s.assignees(late.id)[0]!).acknowledge(late.id);
      await s.settle();
      let t = byKind(await get(inc.id));
      expect(t.pagerduty_first_triggered.at).toBe(iso(late.created_at));
      expect(Date.parse(t.pagerduty_first_acknowledged.at)).toBeGreaterThan(Date.parse(earlyAck));
      const lateAck = t.pagerduty_first_acknowledged.at;

      await attach(s.owner, inc.id, early.id);
      await s.settle();
      const incident = await get(inc.id);
      t = byKind(incident);
      expect(t.pagerduty_first_triggered.at).toBe(iso(early.created_at));
      expect(t.pagerduty_first_acknowledged.at).toBe(iso(earlyAck));
      // Measured from PagerDuty's first trigger, which came before the declaration.
      expect(incident.durations.time_to_acknowledge_seconds).toBe(Math.round((Date.parse(earlyAck) - Date.parse(early.created_at)) / 1000));

      // Detached (it was attached by mistake): PagerDuty's times are the remaining link's again.
      const links = (await s.owner.get(`/api/v1/incidents/${inc.id}/pagerduty_incidents`)).body.pagerduty_incidents;
      const earlyLink = links.find((l: any) => l.pagerduty_incident.id === early.id);
      expect((await s.owner.del(`/api/v1/incidents/${inc.id}/pagerduty_incidents/${earlyLink.id}`)).status).toBe(204);
      await s.settle();
      t = byKind(await get(inc.id));
      expect(t.pagerduty_first_triggered.at).toBe(iso(late.created_at));
      expect(t.pagerduty_first_acknowledged.at).toBe(lateAck);
      // The one left answered "not related": it no longer counts either.
      const lateLink = links.find((l: any) => l.pagerduty_incident.id === late.id);
      expect((await s.owner.post(`/api/v1/incidents/${inc.id}/pagerduty_incidents/${lateLink.id}/related`, { related: false })).status).toBe(200);
      await s.settle();
      const after = await get(inc.id);
      expect(byKind(after).pagerduty_first_acknowledged).toMatchObject({ at: null, source: null });
      expect(byKind(after).pagerduty_first_triggered.at).toBeNull();
      expect(after.durations.time_to_acknowledge_seconds).toBeNull();
    });
  });
}
