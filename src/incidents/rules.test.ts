import { describe, expect, it } from 'vitest';
import { availableActions, canChangeSeverity, describeAllowed, liveStatuses, type StatusCategory, type StatusRef } from './rules.js';

// The status rules as a responder meets them: what each kind of status lets them do next, and what they are told
// when they ask for something else. The statuses are the ones a fresh install starts with (migration 0003).

const statuses: StatusRef[] = [
  { id: 'triage', name: 'Triage', category: 'triage', rank: 0 },
  { id: 'investigating', name: 'Investigating', category: 'live', rank: 1 },
  { id: 'fixing', name: 'Fixing', category: 'live', rank: 2 },
  { id: 'monitoring', name: 'Monitoring', category: 'live', rank: 3 },
  { id: 'closed', name: 'Closed', category: 'closed', rank: 10 },
  { id: 'declined', name: 'Declined', category: 'declined', rank: 11 },
  { id: 'merged', name: 'Merged', category: 'merged', rank: 12 },
  { id: 'canceled', name: 'Canceled', category: 'canceled', rank: 13 },
];
const status = (id: string) => statuses.find((s) => s.id === id)!;
/** The actions offered from a status, a move written as `status:<id>`. */
const offered = (id: string, list = statuses) => availableActions(status(id), list).map((a) => (a.status ? `status:${a.status.id}` : a.action));

describe('status rules', () => {
  it('a triage incident can be accepted, declined or merged, and nothing else', () => {
    expect(offered('triage')).toEqual(['accept', 'decline', 'merge']);
  });

  it('a live incident can move to the other live statuses, be closed, canceled or merged, but not accepted or declined again', () => {
    const acts = offered('fixing');
    expect(acts).toEqual(['status:investigating', 'status:monitoring', 'close', 'cancel', 'merge']);
    expect(acts).not.toContain('accept');
    expect(acts).not.toContain('decline');
  });

  it('a live incident is never offered a move to the status it is already in', () => {
    for (const s of liveStatuses(statuses)) expect(offered(s.id)).not.toContain(`status:${s.id}`);
  });

  it('a move carries the target status so a picker can show its name and category', () => {
    const reopen = availableActions(status('closed'), statuses).find((a) => a.action === 'status');
    expect(reopen).toEqual({ action: 'status', status: { id: 'investigating', name: 'Investigating', category: 'live' } });
  });

  it('a closed incident can only be reopened, into any live status; it cannot be closed, canceled or merged', () => {
    const acts = offered('closed');
    expect(acts).toEqual(['status:investigating', 'status:fixing', 'status:monitoring']);
    for (const refused of ['close', 'cancel', 'merge', 'accept', 'decline']) expect(acts).not.toContain(refused);
  });

  it('declined, merged and canceled incidents are final: nothing is offered', () => {
    for (const id of ['declined', 'merged', 'canceled']) expect(offered(id)).toEqual([]);
  });

  it('moves follow the rank of the live statuses, whatever order they were listed in', () => {
    const shuffled = [status('monitoring'), status('closed'), status('investigating'), status('triage'), status('fixing')];
    expect(offered('closed', shuffled)).toEqual(['status:investigating', 'status:fixing', 'status:monitoring']);
    expect(liveStatuses(shuffled).map((s) => s.id)).toEqual(['investigating', 'fixing', 'monitoring']);
  });

  it('the rules follow the category, not the name: a renamed or added live status is offered like the others', () => {
    const custom: StatusRef[] = [...statuses, { id: 'mitigated', name: 'Mitigated', category: 'live', rank: 4 }];
    expect(offered('closed', custom)).toContain('status:mitigated');
    expect(offered('investigating', custom)).toContain('status:mitigated');
  });

  it('with a single live status, a live incident has no move left but can still be closed', () => {
    const one = statuses.filter((s) => s.category !== 'live' || s.id === 'investigating');
    expect(offered('investigating', one)).toEqual(['close', 'cancel', 'merge']);
  });

  it('severity can change while the incident is in triage, live or closed, not once it has left the picture', () => {
    const expected: Record<StatusCategory, boolean> = { triage: true, live: true, closed: true, declined: false, merged: false, canceled: false };
    const actual = Object.fromEntries(Object.keys(expected).map((c) => [c, canChangeSeverity(c as StatusCategory)]));
    expect(actual).toEqual(expected);
  });
});

describe('refusal messages', () => {
  it('list what is allowed from the current status, moves by the status name', () => {
    expect(describeAllowed(status('investigating'), statuses)).toBe('Allowed from Investigating: move to Fixing, move to Monitoring, close, cancel, merge.');
    expect(describeAllowed(status('triage'), statuses)).toBe('Allowed from Triage: accept, decline, merge.');
    expect(describeAllowed(status('closed'), statuses)).toBe('Allowed from Closed: move to Investigating, move to Fixing, move to Monitoring.');
  });

  it('say plainly when nothing is possible any more', () => {
    expect(describeAllowed(status('declined'), statuses)).toBe('No status changes are possible from Declined.');
    expect(describeAllowed(status('canceled'), statuses)).toBe('No status changes are possible from Canceled.');
  });
});
