// The auto-acknowledgement rules as one pure function: facts in, what to do out, no I/O. autoAcknowledge
// (auto-acknowledge.ts) gathers the facts and acts. A fact that is not known yet is left out, and the decision
// asks for it only when a rule needs it, so nothing is read from PagerDuty that the rules do not use (a
// workflow's trigger reads nothing; a person without a PagerDuty user costs no log read).
//   1. the actor is not a human (workflow, API key, the system) → nothing;
//   2. PagerDuty says the incident is already acknowledged or resolved (read just before deciding) → nothing;
//   3. the person has no PagerDuty user, or PagerDuty did not assign or notify them for it → offer a button that
//      acknowledges it as them;
//   4. otherwise → acknowledge it as them.

export interface AckFacts {
  /** The trigger's actor is a person (not a workflow, an API key or the system). */
  human: boolean;
  /** PagerDuty's status of the incident, read now (a webhook may lag). */
  status?: string;
  /** The person's PagerDuty user (null: none with their email, or one without an email to act as). */
  pagerdutyUserId?: string | null;
  /** PagerDuty users assigned or notified for the incident, and whoever the escalation that created it paged. */
  paged?: ReadonlySet<string>;
}

export type AckFact = 'status' | 'pagerdutyUserId' | 'paged';

export type AckDecision =
  | { kind: 'read'; fact: AckFact }
  | { kind: 'nothing'; because: 'not_human' | 'resolved' | 'already_acknowledged' }
  | { kind: 'offer'; because: 'unmatched' | 'not_paged' }
  | { kind: 'acknowledge' };

export function decideAutoAck(f: AckFacts): AckDecision {
  // 1. Only a human's action acknowledges anything.
  if (!f.human) return { kind: 'nothing', because: 'not_human' };
  // 2. PagerDuty's state now, not what the last webhook said.
  if (f.status === undefined) return { kind: 'read', fact: 'status' };
  if (f.status === 'resolved') return { kind: 'nothing', because: 'resolved' };
  if (f.status === 'acknowledged') return { kind: 'nothing', because: 'already_acknowledged' };
  // 3. Was this person paged for it?
  if (f.pagerdutyUserId === undefined) return { kind: 'read', fact: 'pagerdutyUserId' };
  if (f.pagerdutyUserId === null) return { kind: 'offer', because: 'unmatched' };
  if (f.paged === undefined) return { kind: 'read', fact: 'paged' };
  if (!f.paged.has(f.pagerdutyUserId)) return { kind: 'offer', because: 'not_paged' };
  // 4.
  return { kind: 'acknowledge' };
}
