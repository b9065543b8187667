import { describe, expect, it } from 'vitest';
import { mirrorLogEntries, pagedUserIds } from './mirror.js';

// What a responder sees on the timeline for a PagerDuty incident's log: one item per log entry they care about,
// oldest first, in words, keyed by the log entry so a re-read never doubles it. The inputs are shaped like
// `GET /incidents/{id}/log_entries` answers (PagerDuty's OpenAPI examples and its emulator): references with
// summaries, channels, teams, and the log listed newest first.

type LogEntry = Parameters<typeof mirrorLogEntries>[1][number];
type Assignments = Parameters<typeof pagedUserIds>[0];

const API = 'https://api.pagerduty.com';
const WEB = 'https://acme.pagerduty.com';
const INCIDENT = { id: 'PT4KHLK', number: 1234 };

const user = (id: string, name: string) => ({ id, type: 'user_reference', summary: name, self: `${API}/users/${id}`, html_url: `${WEB}/users/${id}` });
const service = { id: 'PIJ90N7', type: 'service_reference', summary: 'Checkout API', self: `${API}/services/PIJ90N7`, html_url: `${WEB}/service-directory/PIJ90N7` };
const ana = user('PXPGF42', 'Ana Ops');
const bo = user('P1B2C3D', 'Bo Backup');
const cy = user('PZZ9Y8X', 'Cy Lead');

/** One log entry as PagerDuty returns it; `fields` holds what differs by type. */
function log(id: string, type: string, createdAt: string, fields: Partial<LogEntry> & Record<string, unknown> = {}): LogEntry {
  // The fields Firebreak does not read (service, incident, teams, contexts) are there as PagerDuty sends them.
  const entry = {
    id,
    type,
    summary: type.replace(/_log_entry$/, ''),
    self: `${API}/log_entries/${id}?incident_id=${INCIDENT.id}`,
    html_url: `${WEB}/incidents/${INCIDENT.id}/log_entries/${id}`,
    created_at: createdAt,
    agent: service,
    channel: { type: 'api' },
    service,
    incident: { id: INCIDENT.id, type: 'incident_reference', summary: `[#${INCIDENT.number}] Checkout errors`, self: `${API}/incidents/${INCIDENT.id}`, html_url: `${WEB}/incidents/${INCIDENT.id}` },
    teams: [{ id: 'PQ9K7I8', type: 'team_reference', summary: 'Payments', self: `${API}/teams/PQ9K7I8`, html_url: `${WEB}/teams/PQ9K7I8` }],
    contexts: [],
    ...fields,
  };
  return entry;
}

/** A whole incident's life, newest first as PagerDuty lists it. */
const lifecycle: LogEntry[] = [
  log('R0RESOLVE', 'resolve_log_entry', '2026-03-02T10:40:00Z', { agent: bo, channel: { type: 'website' } }),
  log('R0NOTE', 'annotate_log_entry', '2026-03-02T10:20:00Z', { agent: ana, channel: { type: 'note', summary: 'Rolled back the 10:02 deploy' } }),
  log('R0REASSIGN', 'assign_log_entry', '2026-03-02T10:15:00Z', { agent: ana, channel: { type: 'website' }, assignees: [bo] }),
  log('R0ESCALATE', 'escalate_log_entry', '2026-03-02T10:10:00Z', { agent: null, channel: { type: 'timeout' }, assignees: [cy] }),
  log('R0UNACK', 'unacknowledge_log_entry', '2026-03-02T10:08:00Z', { agent: null, channel: { type: 'timeout' } }),
  log('R0ACK', 'acknowledge_log_entry', '2026-03-02T10:05:00Z', { agent: ana, channel: { type: 'sms' } }),
  log('R0NOTIFY', 'notify_log_entry', '2026-03-02T10:00:01Z', { user: ana, channel: { type: 'email' } }),
  log('R0ASSIGN', 'assign_log_entry', '2026-03-02T10:00:00Z', { assignees: [ana] }),
  log('R0TRIGGER', 'trigger_log_entry', '2026-03-02T10:00:00Z', { event_details: { description: 'Checkout 5xx over 2%' } }),
];

describe('PagerDuty log entries on the timeline', () => {
  it('tells the incident story oldest first, one item per entry, in words', () => {
    const items = mirrorLogEntries(INCIDENT, lifecycle);
    expect(items.map((i) => [i.kind, i.text])).toEqual([
      ['pagerduty.triggered', 'PagerDuty incident #1234 triggered: Checkout 5xx over 2%'],
      ['pagerduty.assigned', 'PagerDuty incident #1234 assigned to Ana Ops'],
      ['pagerduty.notified', 'PagerDuty incident #1234: PagerDuty notified Ana Ops by email'],
      ['pagerduty.acknowledged', 'PagerDuty incident #1234 acknowledged by Ana Ops'],
      ['pagerduty.unacknowledged', 'PagerDuty incident #1234 unacknowledged'],
      ['pagerduty.escalated', 'PagerDuty incident #1234 escalated to Cy Lead'],
      ['pagerduty.reassigned', 'PagerDuty incident #1234 reassigned to Bo Backup by Ana Ops'],
      ['pagerduty.note', 'Note on PagerDuty incident #1234 from Ana Ops: Rolled back the 10:02 deploy'],
      ['pagerduty.resolved', 'PagerDuty incident #1234 resolved by Bo Backup'],
    ]);
  });

  it('each item is dated when PagerDuty logged it and keyed by its log entry, so a re-read adds nothing new', () => {
    const items = mirrorLogEntries(INCIDENT, lifecycle);
    const ack = items.find((i) => i.kind === 'pagerduty.acknowledged')!;
    expect(ack.occurredAt).toBe('2026-03-02T10:05:00Z');
    expect(ack.dedupeKey).toBe('pd-log:R0ACK');
    expect(new Set(items.map((i) => i.dedupeKey)).size).toBe(items.length);
    // Read early (up to the acknowledgement) and again at the end: the early items come back with the same keys.
    const early = mirrorLogEntries(INCIDENT, lifecycle.filter((e) => e.created_at <= '2026-03-02T10:05:00Z'));
    expect(early.map((i) => [i.kind, i.dedupeKey])).toEqual(items.slice(0, early.length).map((i) => [i.kind, i.dedupeKey]));
    expect(early).toHaveLength(4);
  });

  it('entries logged in the same second keep the order PagerDuty had them in', () => {
    // Newest first: within 10:00:00 PagerDuty listed the assignment before (after, in time) the trigger.
    const items = mirrorLogEntries(INCIDENT, lifecycle.filter((e) => e.created_at === '2026-03-02T10:00:00Z'));
    expect(items.map((i) => i.kind)).toEqual(['pagerduty.triggered', 'pagerduty.assigned']);
  });

  it('only the first assignment is "assigned"; every later one is a reassignment by whoever made it, whatever order the log came in', () => {
    const second = log('R0ASSIGN2', 'assign_log_entry', '2026-03-02T11:00:00Z', { agent: cy, assignees: [ana, bo] });
    const first = log('R0ASSIGN1', 'assign_log_entry', '2026-03-02T09:00:00Z', { assignees: [cy] });
    for (const order of [[second, first], [first, second]]) {
      const items = mirrorLogEntries(INCIDENT, order);
      expect(items.map((i) => i.text)).toEqual(['PagerDuty incident #1234 assigned to Cy Lead', 'PagerDuty incident #1234 reassigned to Ana Ops, Bo Backup by Cy Lead']);
    }
  });

  it('a note is read from the note channel, or from the entry\'s own note field', () => {
    const fromField = log('R0NOTE2', 'annotate_log_entry', '2026-03-02T10:30:00Z', { agent: bo, channel: { type: 'website' }, note: 'Customer comms sent' });
    const items = mirrorLogEntries(INCIDENT, [fromField, ...lifecycle]);
    const notes = items.filter((i) => i.kind === 'pagerduty.note');
    expect(notes.map((n) => [n.payload.author, n.payload.note])).toEqual([
      ['Ana Ops', 'Rolled back the 10:02 deploy'],
      ['Bo Backup', 'Customer comms sent'],
    ]);
  });

  it('log entries nobody needs on the timeline are left out', () => {
    const noise = [
      log('R0SNOOZE', 'snooze_log_entry', '2026-03-02T10:06:00Z', { agent: ana }),
      log('R0URGENCY', 'urgency_change_log_entry', '2026-03-02T10:07:00Z', { agent: ana }),
      log('R0LIMIT', 'reach_trigger_limit_log_entry', '2026-03-02T10:07:30Z'),
      log('R0DELEGATE', 'delegate_log_entry', '2026-03-02T10:09:00Z', { agent: ana }),
    ];
    expect(mirrorLogEntries(INCIDENT, noise)).toEqual([]);
    expect(mirrorLogEntries(INCIDENT, [...noise, ...lifecycle])).toHaveLength(lifecycle.length);
  });

  it('without a number the incident is still named, and a missing name falls back to the id, then to "someone"', () => {
    const entries = [
      log('R1TRIGGER', 'trigger_log_entry', '2026-03-02T12:00:00Z'),
      log('R1ACK', 'acknowledge_log_entry', '2026-03-02T12:01:00Z', { agent: { id: 'PNONAME', type: 'user_reference' } }),
      log('R1RESOLVE', 'resolve_log_entry', '2026-03-02T12:02:00Z', { agent: null }),
      log('R1ASSIGN', 'assign_log_entry', '2026-03-02T12:00:30Z', { assignees: [] }),
    ];
    expect(mirrorLogEntries({ id: 'PNEW001', number: null }, entries).map((i) => i.text)).toEqual([
      'PagerDuty incident triggered',
      'PagerDuty incident assigned to nobody',
      'PagerDuty incident acknowledged by PNONAME',
      'PagerDuty incident resolved by someone',
    ]);
  });

  it('each item records which PagerDuty incident and entry it came from, who acted and whom it concerns', () => {
    const items = mirrorLogEntries(INCIDENT, lifecycle);
    const byKind = (k: string) => items.find((i) => i.kind === k)!.payload;
    expect(byKind('pagerduty.acknowledged')).toEqual({
      pagerdutyIncidentId: 'PT4KHLK',
      logEntryId: 'R0ACK',
      agent: { id: 'PXPGF42', name: 'Ana Ops', type: 'user_reference' },
      text: 'PagerDuty incident #1234 acknowledged by Ana Ops',
    });
    expect(byKind('pagerduty.triggered').agent).toEqual({ id: 'PIJ90N7', name: 'Checkout API', type: 'service_reference' });
    expect(byKind('pagerduty.escalated').agent).toBeNull();
    expect(byKind('pagerduty.notified').user).toEqual({ id: 'PXPGF42', name: 'Ana Ops' });
    expect(byKind('pagerduty.assigned').assignees).toEqual([{ id: 'PXPGF42', name: 'Ana Ops' }]);
    expect(byKind('pagerduty.reassigned').assignees).toEqual([{ id: 'P1B2C3D', name: 'Bo Backup' }]);
    expect(byKind('pagerduty.escalated').assignees).toEqual([{ id: 'PZZ9Y8X', name: 'Cy Lead' }]);
  });

  it("items that tell a status change say which status (an escalation's link leaves those to the escalation); assignments, notifications and notes do not", () => {
    const items = mirrorLogEntries(INCIDENT, lifecycle);
    expect(items.filter((i) => i.status !== null).map((i) => [i.kind, i.status])).toEqual([
      ['pagerduty.triggered', 'triggered'],
      ['pagerduty.acknowledged', 'acknowledged'],
      ['pagerduty.resolved', 'resolved'],
    ]);
    expect(items.filter((i) => i.status === null).map((i) => i.kind)).toEqual(['pagerduty.assigned', 'pagerduty.notified', 'pagerduty.unacknowledged', 'pagerduty.escalated', 'pagerduty.reassigned', 'pagerduty.note']);
  });
});

describe('who PagerDuty paged for an incident', () => {
  it('is everyone assigned now, notified, assigned or escalated to in the log, and nobody who only acted on it', () => {
    const assignments: Assignments = [{ assignee: user('PNOW001', 'Dee Now') }];
    const paged = pagedUserIds(assignments, lifecycle);
    expect([...paged].sort()).toEqual(['P1B2C3D', 'PNOW001', 'PXPGF42', 'PZZ9Y8X'].sort());
  });

  it('an acknowledger or note author who was never paged is not counted', () => {
    const entries = [
      log('R2ASSIGN', 'assign_log_entry', '2026-03-02T10:00:00Z', { assignees: [ana] }),
      log('R2ACK', 'acknowledge_log_entry', '2026-03-02T10:01:00Z', { agent: cy }),
      log('R2NOTE', 'annotate_log_entry', '2026-03-02T10:02:00Z', { agent: bo, channel: { type: 'note', summary: 'on it' } }),
    ];
    expect([...pagedUserIds(undefined, entries)]).toEqual(['PXPGF42']);
  });

  it('someone PagerDuty notified without assigning them (an added responder) was paged', () => {
    const entries = [
      log('R3ASSIGN', 'assign_log_entry', '2026-03-02T10:00:00Z', { assignees: [ana] }),
      log('R3NOTIFY', 'notify_log_entry', '2026-03-02T10:03:00Z', { user: cy, channel: { type: 'push_notification' } }),
    ];
    expect([...pagedUserIds([{ assignee: ana }], entries)].sort()).toEqual(['PXPGF42', 'PZZ9Y8X']);
  });

  it('a delegation to another escalation policy counts its people once PagerDuty assigns or notifies them, not from the delegate entry', () => {
    const entries = [log('R4DELEGATE', 'delegate_log_entry', '2026-03-02T10:00:00Z', { agent: ana, channel: { type: 'website' }, assignees: [bo] })];
    expect(pagedUserIds(undefined, entries).size).toBe(0);
  });

  it('with neither assignments nor log entries, nobody was paged', () => {
    expect(pagedUserIds(undefined, []).size).toBe(0);
    expect(pagedUserIds([], []).size).toBe(0);
  });
});
