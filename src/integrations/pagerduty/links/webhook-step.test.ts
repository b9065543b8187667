import { describe, expect, it } from 'vitest';
import { parseWebhookEvent, type PdIncidentEvent } from '../client/events.js';
import { pdQueue } from './context.js';
import { EVENT_JOB, eventJobs, runEventJob, type EventsJob } from './webhook-step.js';

// The links' webhook step queues one job per PagerDuty incident per drained batch: its events (notes included) in
// delivery order, in that incident's job queue.

const incidentEvent = (id: string, pd: string, type = 'incident.acknowledged') =>
  parseWebhookEvent({ event: { id, event_type: type, resource_type: 'incident', occurred_at: '2027-01-01T00:00:00.000Z', data: { id: pd, type: 'incident', status: 'acknowledged' } } }) as PdIncidentEvent;
const noteEvent = (id: string, pd: string) =>
  parseWebhookEvent({ event: { id, event_type: 'incident.annotated', resource_type: 'incident', occurred_at: '2027-01-01T00:00:00.000Z', data: { id: `N${id}`, type: 'incident_note', content: 'looking', incident: { id: pd, type: 'incident_reference' } } } }) as PdIncidentEvent;

describe('links webhook step jobs', () => {
  it('one job per PagerDuty incident, in its queue, with its events (notes too) in delivery order', () => {
    const events = [incidentEvent('e1', 'PA', 'incident.triggered'), incidentEvent('e2', 'PB'), noteEvent('e3', 'PA'), incidentEvent('e4', 'PA', 'incident.resolved'), incidentEvent('e5', 'PB', 'incident.resolved')];
    const jobs = eventJobs(events);
    expect(jobs.map((j) => ({ name: j.name, queue: j.opts?.queue, ids: (j.payload as EventsJob).events.map((e) => e.id) }))).toEqual([
      { name: EVENT_JOB, queue: pdQueue('PA'), ids: ['e1', 'e3', 'e4'] },
      { name: EVENT_JOB, queue: pdQueue('PB'), ids: ['e2', 'e5'] },
    ]);
    // No job key: the jobs are queued in the transaction that marks the batch applied, so each exists once.
    expect(jobs.every((j) => j.opts?.jobKey === undefined)).toBe(true);
    expect(eventJobs([])).toEqual([]);
  });

  it('the job runs every event of its payload in order, reads a one-event payload from before batches, and skips one it cannot read', async () => {
    const seen: string[] = [];
    const unreadable: string[] = [];
    const step = async (ev: PdIncidentEvent) => void seen.push(ev.id);
    const [job] = eventJobs([incidentEvent('e1', 'PA', 'incident.triggered'), noteEvent('e2', 'PA'), incidentEvent('e3', 'PA', 'incident.resolved')]);
    // Through JSON, as the queue stores it.
    await runEventJob(JSON.parse(JSON.stringify(job!.payload)), step, (e) => unreadable.push(e));
    expect(seen).toEqual(['e1', 'e2', 'e3']);
    seen.length = 0;
    await runEventJob(JSON.parse(JSON.stringify(incidentEvent('old', 'PB'))), step, (e) => unreadable.push(e));
    expect(seen).toEqual(['old']);
    seen.length = 0;
    await runEventJob({ events: [{ id: 'broken' }, JSON.parse(JSON.stringify(incidentEvent('e4', 'PA')))] }, step, (e) => unreadable.push(e));
    expect(seen).toEqual(['e4']);
    expect(unreadable).toHaveLength(1);
  });

  it("each job acts in one account: events of two accounts' incidents of one id go in two jobs, and the account survives the queue", async () => {
    const main = incidentEvent('m1', 'PA');
    const eu = { ...incidentEvent('u1', 'PA'), account: 'a0123456789' } as PdIncidentEvent;
    const jobs = eventJobs([main, eu]);
    expect(jobs.map((j) => (j.payload as EventsJob).events.map((e) => [e.id, e.account ?? 'default']))).toEqual([[['m1', 'default']], [['u1', 'a0123456789']]]);
    const seen: [string, string | undefined][] = [];
    for (const j of jobs) await runEventJob(JSON.parse(JSON.stringify(j.payload)), async (ev) => void seen.push([ev.id, ev.account]), () => {});
    expect(seen).toEqual([['m1', undefined], ['u1', 'a0123456789']]);
  });
});
