import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers.js';
import { declare } from '../escalations/helpers.js';
import { attach, setupLinks, timeline, waitFor, type LinksSetup } from './helpers.js';

// The activity of attached PagerDuty incidents on the incident timeline: what happened before attaching is
// backfilled from the log, what happens later arrives by webhook, each PagerDuty event shows once however often
// it is delivered or read, and a per-link switch stops it.

const PD_KINDS = ['pagerduty.triggered', 'pagerduty.assigned', 'pagerduty.notified', 'pagerduty.acknowledged', 'pagerduty.escalated', 'pagerduty.reassigned', 'pagerduty.note', 'pagerduty.priority_changed', 'pagerduty.resolved'];
const pdItems = (items: any[]) => items.filter((i) => i.kind.startsWith('pagerduty.') && i.kind !== 'pagerduty.linked' && i.kind !== 'pagerduty.related_answered');

for (const backend of backends) {
  describe(`PagerDuty activity on the timeline (${backend})`, () => {
    let s: LinksSetup;
    beforeAll(async () => {
      s = await setupLinks(backend);
    }, 120_000);
    afterAll(async () => {
      await s?.close();
    });

    /** Re-sends every delivery for this PagerDuty incident, as PagerDuty's at-least-once delivery may. */
    async function redeliver(pdId: string, newIds: boolean) {
      for (const d of s.pd.webhooks.deliveries().filter((x) => x.ordering_key === pdId)) {
        const headers: Record<string, string> = { ...d.headers };
        let body = d.body;
        if (newIds) {
          headers['x-webhook-id'] = randomUUID();
          const { signatureHeader } = await import('../../emulators/pagerduty/index.js');
          const env = JSON.parse(body);
          env.event.id = randomUUID();
          body = JSON.stringify(env);
          const secret = [...s.pd.state.webhookSubscriptions.values()][0]!.secret;
          headers['x-pagerduty-signature'] = signatureHeader(body, [secret]);
        }
        const r = await fetch(`${s.fb.baseUrl}/webhooks/pagerduty`, { method: 'POST', headers, body });
        expect(r.status).toBe(200);
      }
    }

    it('every kind of PagerDuty activity shows once: triggered, assigned, notified, acknowledged, escalated, reassigned, notes, priority, resolved', async () => {
      const inc = await declare(s.owner, 'Search is slow');
      const pd = await s.trigger(s.fallbackServiceId, { title: 'Search p99 over 2 s' });
      const link = await attach(s.owner, inc.id, pd.id);
      await s.settle();
      const [first] = s.assignees(pd.id);
      const someone = s.bystander(pd.id);
      s.pd.actAs(first!).acknowledge(pd.id);
      s.pd.actAs(first!).addNote(pd.id, 'Looking at the search cluster');
      s.pd.actAs(first!).escalate(pd.id, 1);
      s.pd.actAs(first!).reassign(pd.id, [someone.id]);
      const p2 = [...s.pd.state.priorities.values()][1]!;
      const pr = await s.pdApi('PUT', `/incidents/${pd.id}`, { incident: { type: 'incident_reference', priority: { id: p2.id, type: 'priority_reference' } } }, someone.email.trim());
      expect(pr.status).toBe(200);
      s.pd.actAs(someone.id).resolve(pd.id);
      await s.settle();

      const items = pdItems(await timeline(s.owner, inc.id));
      const kinds = new Set(items.map((i) => i.kind));
      for (const k of PD_KINDS) expect(kinds, k).toContain(k);
      const firstName = s.pd.state.users.get(first!)!.name;
      expect(items.find((i) => i.kind === 'pagerduty.acknowledged').text).toContain(`acknowledged by ${firstName}`);
      const note = items.find((i) => i.kind === 'pagerduty.note');
      expect(note.text).toContain('Looking at the search cluster');
      expect(note.text).toContain(firstName);
      expect(items.find((i) => i.kind === 'pagerduty.reassigned').text).toContain(someone.name);
      expect(items.find((i) => i.kind === 'pagerduty.priority_changed').text).toContain(p2.name);
      expect(items.filter((i) => i.kind === 'pagerduty.notified').map((i) => i.text).join(' ')).toContain(s.pd.state.users.get(first!)!.name);

      // Delivered again (same ids, then new ids), and read again: nothing doubles.
      const before = items.length;
      await redeliver(pd.id, false);
      await redeliver(pd.id, true);
      await s.fb.app.pagerduty.links.links.syncLink(link.id);
      await s.settle();
      const after = pdItems(await timeline(s.owner, inc.id));
      const priorityEvents = s.pd.webhooks.deliveries().filter((d) => d.ordering_key === pd.id && d.event_type === 'incident.priority_updated').length;
      // A priority change has no log entry: its re-delivery under a new event id is the only thing that can repeat.
      expect(after.length - before).toBeLessThanOrEqual(priorityEvents);
      const byLogEntry = after.filter((i) => i.payload.logEntryId).map((i) => i.payload.logEntryId);
      expect(new Set(byLogEntry).size).toBe(byLogEntry.length);
      const link2 = (await s.owner.get(`/api/v1/incidents/${inc.id}/pagerduty_incidents`)).body.pagerduty_incidents[0];
      expect(link2.pagerduty_incident.status).toBe('resolved');
    });

    it('attaching backfills what happened before from the log entries', async () => {
      const pd = await s.trigger(s.fallbackServiceId, { title: 'Queue backlog' });
      const [first] = s.assignees(pd.id);
      s.pd.actAs(first!).acknowledge(pd.id);
      s.pd.actAs(first!).addNote(pd.id, 'It was the cron job');
      await s.settle();
      const inc = await declare(s.owner, 'Queue backlog');
      const link = await attach(s.owner, inc.id, pd.id);
      expect(link.pagerduty_incident).toMatchObject({ id: pd.id, number: pd.incident_number, status: 'acknowledged', title: 'Queue backlog' });
      expect(link.pagerduty_incident.service.id).toBe(s.fallbackServiceId);
      expect(link.pagerduty_incident.html_url).toContain(`/incidents/${pd.id}`);
      await s.settle();
      const kinds = pdItems(await timeline(s.owner, inc.id)).map((i) => i.kind);
      expect(kinds).toEqual(expect.arrayContaining(['pagerduty.triggered', 'pagerduty.assigned', 'pagerduty.notified', 'pagerduty.acknowledged', 'pagerduty.note']));
      expect(kinds.filter((k) => k === 'pagerduty.note')).toHaveLength(1);
    });

    it('the per-link switch turns mirroring off', async () => {
      const inc = await declare(s.owner, 'Cache misses');
      const pd = await s.trigger(s.fallbackServiceId);
      const link = await attach(s.owner, inc.id, pd.id);
      await s.settle();
      const off = await s.owner.patch(`/api/v1/incidents/${inc.id}/pagerduty_incidents/${link.id}`, { mirror: false });
      expect(off.body.pagerduty_incident.mirror).toBe(false);
      const before = pdItems(await timeline(s.owner, inc.id)).length;
      const [first] = s.assignees(pd.id);
      s.pd.actAs(first!).addNote(pd.id, 'should not show');
      s.pd.actAs(first!).acknowledge(pd.id);
      await s.settle();
      expect(pdItems(await timeline(s.owner, inc.id)).length).toBe(before);
      // The latest status is still kept on the link.
      await waitFor('status', async () => (await s.owner.get(`/api/v1/incidents/${inc.id}/pagerduty_incidents`)).body.pagerduty_incidents[0].pagerduty_incident.status === 'acknowledged');
    });

    it('list, attach twice, bad references and detach', async () => {
      const inc = await declare(s.owner, 'Logins failing');
      const pd = await s.trigger(s.fallbackServiceId);
      const a = await s.owner.post(`/api/v1/incidents/${inc.id}/pagerduty_incidents`, { pagerduty_incident: pd.id });
      expect(a.status).toBe(201);
      const again = await s.owner.post(`/api/v1/incidents/${inc.id}/pagerduty_incidents`, { pagerduty_incident: `https://x.pagerduty.com/incidents/${pd.id}` });
      expect(again.status).toBe(200);
      expect(again.body.pagerduty_incident.id).toBe(a.body.pagerduty_incident.id);
      expect((await s.owner.post(`/api/v1/incidents/${inc.id}/pagerduty_incidents`, { pagerduty_incident: 'not a url!' })).status).toBe(400);
      const missing = await s.owner.post(`/api/v1/incidents/${inc.id}/pagerduty_incidents`, { pagerduty_incident: 'PNOSUCH1' });
      expect(missing.status).toBe(400);
      expect(missing.body.error.message).toContain('PagerDuty has no incident');
      expect((await s.owner.del(`/api/v1/incidents/${inc.id}/pagerduty_incidents/${a.body.pagerduty_incident.id}`)).status).toBe(204);
      expect((await s.owner.get(`/api/v1/incidents/${inc.id}/pagerduty_incidents`)).body.pagerduty_incidents).toEqual([]);
    });

    it('closing the incident offers to resolve its open PagerDuty incidents, and only resolves them when asked, with a note linking back', async () => {
      const offers: any[] = [];
      s.fb.app.pagerduty.links.port.onNotification(async (n) => {
        if (n.type === 'resolve_offer') offers.push(n);
      });
      const inc = await declare(s.owner, 'Batch jobs stuck');
      const pd = await s.trigger(s.fallbackServiceId);
      const link = await attach(s.owner, inc.id, pd.id);
      await s.settle();
      expect((await s.owner.post(`/api/v1/incidents/${inc.id}/actions/close`, {})).status).toBe(200);
      await s.settle();
      expect(offers.filter((o) => o.incidentId === inc.id)).toMatchObject([{ open: [{ linkId: link.id }] }]);
      expect(s.pd.state.incidents.get(pd.id)!.status).toBe('triggered'); // offered, never forced
      const r = await s.owner.post(`/api/v1/incidents/${inc.id}/pagerduty_incidents/resolve`, {});
      expect(r.body).toEqual({ resolved: [link.id], skipped: [] });
      const rec = s.pd.state.incidents.get(pd.id)!;
      expect(rec.status).toBe('resolved');
      expect(rec.notes.at(-1)!.content).toContain(`${s.fb.app.publicUrl()}/incidents/${inc.reference}`);
    });

    it('an escalation’s PagerDuty incident is attached automatically', async () => {
      const inc = await declare(s.owner, 'Need the DBAs');
      const user = [...s.pd.state.users.values()][7]!;
      const r = await s.owner.post(`/api/v1/incidents/${inc.id}/escalations`, { user_ids: [user.id], message: 'help' });
      expect(r.status).toBe(201);
      const links = await waitFor('escalation link', async () => {
        const l = (await s.owner.get(`/api/v1/incidents/${inc.id}/pagerduty_incidents`)).body.pagerduty_incidents;
        return l.length ? l : null;
      });
      expect(links[0].reason).toBe('escalation');
      await s.settle();
      const kinds = await waitFor('the escalation incident mirrored', async () => {
        const k = pdItems(await timeline(s.owner, inc.id)).map((i) => i.kind);
        return k.includes('pagerduty.notified') ? k : null;
      });
      expect(kinds.filter((k) => k === 'pagerduty.escalation_triggered')).toHaveLength(1);
      expect(kinds).not.toContain('pagerduty.triggered'); // the escalation already says it
    });
  });
}
