import { describe, expect, it } from 'vitest';
import { decideAutoAck, type AckFacts } from './decision.js';

// The auto-acknowledgement rules, one by one: what Firebreak does when a person says a PagerDuty incident is
// related (or accepts a triage incident opened from it), and which facts it needs to read first.

const paged = (...ids: string[]) => new Set(ids);
const pagedPerson: AckFacts = { human: true, status: 'triggered', pagerdutyUserId: 'PU1', paged: paged('PU1', 'PU2') };

describe('auto-acknowledgement decision', () => {
  it('1. a workflow, an API key or the system never acknowledges anything, and nothing is read for it', () => {
    expect(decideAutoAck({ human: false })).toEqual({ kind: 'nothing', because: 'not_human' });
    // Even when everything else says "acknowledge".
    expect(decideAutoAck({ ...pagedPerson, human: false })).toEqual({ kind: 'nothing', because: 'not_human' });
  });

  it('2. a person acting first needs PagerDuty’s status read now', () => {
    expect(decideAutoAck({ human: true })).toEqual({ kind: 'read', fact: 'status' });
  });

  it('2. PagerDuty says resolved or already acknowledged: nothing, whoever was paged', () => {
    expect(decideAutoAck({ ...pagedPerson, status: 'resolved' })).toEqual({ kind: 'nothing', because: 'resolved' });
    expect(decideAutoAck({ ...pagedPerson, status: 'acknowledged' })).toEqual({ kind: 'nothing', because: 'already_acknowledged' });
    // Decided before looking the person up.
    expect(decideAutoAck({ human: true, status: 'acknowledged' })).toEqual({ kind: 'nothing', because: 'already_acknowledged' });
  });

  it('3. an open incident: the person’s PagerDuty user is looked up next', () => {
    expect(decideAutoAck({ human: true, status: 'triggered' })).toEqual({ kind: 'read', fact: 'pagerdutyUserId' });
  });

  it('3. no PagerDuty user for the person: a button is offered, and who was paged is never read', () => {
    expect(decideAutoAck({ human: true, status: 'triggered', pagerdutyUserId: null })).toEqual({ kind: 'offer', because: 'unmatched' });
  });

  it('3. a PagerDuty user: who was paged is read next', () => {
    expect(decideAutoAck({ human: true, status: 'triggered', pagerdutyUserId: 'PU1' })).toEqual({ kind: 'read', fact: 'paged' });
  });

  it('3. PagerDuty did not assign or notify the person: a button is offered instead', () => {
    expect(decideAutoAck({ ...pagedPerson, paged: paged('PU2', 'PU3') })).toEqual({ kind: 'offer', because: 'not_paged' });
    expect(decideAutoAck({ ...pagedPerson, paged: paged() })).toEqual({ kind: 'offer', because: 'not_paged' });
  });

  it('4. a person PagerDuty paged, on an open incident: acknowledge as them', () => {
    expect(decideAutoAck(pagedPerson)).toEqual({ kind: 'acknowledge' });
  });
});
