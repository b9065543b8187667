import { describe, expect, it } from 'vitest';
import type { StatusRef } from '../rules.js';
import { durationsOf, durationWords, impliedKinds, orderProblem } from './rules.js';

const statuses: StatusRef[] = [
  { id: 'triage', name: 'Triage', category: 'triage', rank: 0 },
  { id: 'looking', name: 'Looking', category: 'live', rank: 1 },
  { id: 'repairing', name: 'Repairing', category: 'live', rank: 2 },
  { id: 'patching', name: 'Patching', category: 'live', rank: 3 },
  { id: 'watching', name: 'Watching', category: 'live', rank: 4 },
  { id: 'done', name: 'Done', category: 'closed', rank: 10 },
];
const s = (id: string) => statuses.find((x) => x.id === id)!;

describe('timestamp rules', () => {
  it('status changes imply kinds by rank and category, whatever the names', () => {
    expect(impliedKinds(null, s('triage'), statuses)).toEqual(['reported']);
    expect(impliedKinds(null, s('looking'), statuses)).toEqual(['reported', 'impact_started']);
    expect(impliedKinds(s('looking'), s('repairing'), statuses)).toEqual(['impact_started', 'identified']);
    expect(impliedKinds(s('looking'), s('patching'), statuses)).toEqual(['impact_started', 'identified']);
    expect(impliedKinds(s('repairing'), s('watching'), statuses)).toEqual(['impact_started', 'identified', 'fixed']);
    expect(impliedKinds(s('looking'), s('done'), statuses)).toEqual(['impact_started', 'identified', 'fixed', 'resolved']);
  });

  it('order problems name both kinds with their times', () => {
    expect(orderProblem('fixed', { identified: '2026-12-06T10:50:00Z', fixed: '2026-12-06T10:42:00Z' })?.message).toBe('Fixed (10:42 UTC) cannot be before Identified (10:50 UTC)');
    expect(orderProblem('identified', { identified: '2026-12-06T10:50:00Z', fixed: '2026-12-06T10:42:00Z' })?.message).toBe('Identified (10:50 UTC) cannot be after Fixed (10:42 UTC)');
    expect(orderProblem('fixed', { identified: '2026-12-06T10:42:30Z', fixed: '2026-12-06T10:42:10Z' })?.message).toBe('Fixed (10:42:10 UTC) cannot be before Identified (10:42:30 UTC)');
    expect(orderProblem('resolved', { reported: '2026-12-06T10:00:00Z', resolved: '2026-12-05T09:00:00Z' })?.message).toBe('Resolved (2026-12-05 09:00 UTC) cannot be before Reported (2026-12-06 10:00 UTC)');
    expect(orderProblem('reported', { reported: '2026-12-06T10:00:00Z', identified: '2026-12-06T09:00:00Z' })).toBeNull();
  });

  it('durations: PagerDuty acknowledgement from the first sign, the triage acceptance otherwise', () => {
    const t = { reported: '2026-12-06T10:00:00Z', pagerduty_first_triggered: '2026-12-06T09:55:00Z', pagerduty_first_acknowledged: '2026-12-06T09:58:00Z', impact_started: '2026-12-06T09:50:00Z', resolved: '2026-12-06T11:00:00Z' };
    expect(durationsOf(t)).toEqual({ time_to_acknowledge_seconds: 180, time_to_identify_seconds: null, time_to_fix_seconds: null, time_to_resolve_seconds: 3600, impact_duration_seconds: 4200 });
    expect(durationsOf({ reported: '2026-12-06T10:00:00Z' }, '2026-12-06T10:04:00Z').time_to_acknowledge_seconds).toBe(240);
    expect(durationsOf({ reported: '2026-12-06T10:00:00Z' }).time_to_acknowledge_seconds).toBeNull();
  });

  it('durations in words', () => {
    expect(durationWords(72 * 60)).toBe('1 h 12 min');
    expect(durationWords(3600)).toBe('1 h');
    expect(durationWords(185)).toBe('3 min 5 s');
    expect(durationWords(2 * 86_400 + 4 * 3600 + 60)).toBe('2 d 4 h');
    expect(durationWords(0)).toBe('0 s');
    expect(durationWords(null)).toBe('—');
  });
});
