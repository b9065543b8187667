import { INCIDENT_TIMESTAMP_KINDS, type IncidentTimestampKind } from '../../platform/db/schema.js';
import { liveStatuses, type StatusRef } from '../rules.js';

// The timestamp rules, as pure functions: what each kind is called, which kinds a status change implies, which
// order the kinds must keep, and the durations derived from them (never stored). Unit-tested beside this file.

export { INCIDENT_TIMESTAMP_KINDS, type IncidentTimestampKind };
export type TimestampSource = 'auto' | 'pagerduty' | 'user';

export const TIMESTAMP_LABELS: Record<IncidentTimestampKind, string> = {
  reported: 'Reported',
  impact_started: 'Impact started',
  identified: 'Identified',
  fixed: 'Fixed',
  resolved: 'Resolved',
  pagerduty_first_triggered: 'PagerDuty first triggered',
  pagerduty_first_acknowledged: 'PagerDuty first acknowledged',
};

/** PagerDuty's own times: set from PagerDuty only (earliest wins), never by a person. */
export const PAGERDUTY_KINDS: readonly IncidentTimestampKind[] = ['pagerduty_first_triggered', 'pagerduty_first_acknowledged'];
export const EDITABLE_KINDS = INCIDENT_TIMESTAMP_KINDS.filter((k) => !PAGERDUTY_KINDS.includes(k));
export type EditableKind = Exclude<IncidentTimestampKind, 'pagerduty_first_triggered' | 'pagerduty_first_acknowledged'>;

/**
 * Pairs [earlier, later] that must keep their order when both are set: impact started ≤ identified ≤ fixed ≤
 * resolved (also across a missing middle one) and reported ≤ resolved.
 */
export const ORDER: readonly (readonly [IncidentTimestampKind, IncidentTimestampKind])[] = [
  ['impact_started', 'identified'],
  ['impact_started', 'fixed'],
  ['impact_started', 'resolved'],
  ['identified', 'fixed'],
  ['identified', 'resolved'],
  ['fixed', 'resolved'],
  ['reported', 'resolved'],
];

/** How far ahead of this server's clock a person's time may be (their clock may run a little fast). */
export const CLOCK_SKEW_MS = 2 * 60_000;

export type TimesByKind = Partial<Record<IncidentTimestampKind, string>>;

/**
 * The first pair involving `kind` that `times` breaks, as a sentence naming both
 * ("Fixed (10:42 UTC) cannot be before Identified (10:50 UTC)"), or null when the order holds.
 */
export function orderProblem(kind: IncidentTimestampKind, times: TimesByKind): { message: string; other: IncidentTimestampKind } | null {
  for (const [early, late] of ORDER) {
    if (early !== kind && late !== kind) continue;
    const a = times[early];
    const b = times[late];
    if (!a || !b || Date.parse(a) <= Date.parse(b)) continue;
    const other = kind === early ? late : early;
    const [e, l] = [fmt(a, b), fmt(b, a)];
    const message = kind === late ? `${TIMESTAMP_LABELS[late]} (${l}) cannot be before ${TIMESTAMP_LABELS[early]} (${e})` : `${TIMESTAMP_LABELS[early]} (${e}) cannot be after ${TIMESTAMP_LABELS[late]} (${l})`;
    return { message, other };
  }
  return null;
}

/** "10:42 UTC"; seconds when the other time is in the same minute; the date when the days differ. */
function fmt(iso: string, other: string): string {
  const d = new Date(iso).toISOString();
  const o = new Date(other).toISOString();
  const sameMinute = d.slice(0, 16) === o.slice(0, 16);
  const time = sameMinute ? d.slice(11, 19) : d.slice(11, 16);
  return d.slice(0, 10) === o.slice(0, 10) ? `${time} UTC` : `${d.slice(0, 10)} ${time} UTC`;
}

/**
 * The kinds a move into `to` implies (set only when not set yet). Defined by category and by rank among the live
 * statuses, never by name: declaring reports the incident; becoming live means impact has started (at the reported
 * time unless given); the second live status by rank and any later one ("Fixing") means the cause is identified;
 * the last live status ("Monitoring", when there are at least two) means fixed; closing means resolved, and
 * fixed and identified when they were skipped.
 */
export function impliedKinds(from: StatusRef | null, to: StatusRef, statuses: StatusRef[]): IncidentTimestampKind[] {
  const out: IncidentTimestampKind[] = [];
  if (from === null) out.push('reported');
  if (to.category === 'live' || to.category === 'closed') out.push('impact_started');
  const live = liveStatuses(statuses);
  const idx = live.findIndex((s) => s.id === to.id);
  if (to.category === 'closed' || idx >= 1) out.push('identified');
  if (to.category === 'closed' || (live.length >= 2 && idx === live.length - 1)) out.push('fixed');
  if (to.category === 'closed') out.push('resolved');
  return out;
}

/** A closed incident moved back into a live status is no longer resolved (an automatic `resolved` is cleared). */
export function reopened(from: StatusRef | null, to: StatusRef): boolean {
  return from?.category === 'closed' && to.category === 'live';
}

export interface Durations {
  time_to_acknowledge_seconds: number | null;
  time_to_identify_seconds: number | null;
  time_to_fix_seconds: number | null;
  time_to_resolve_seconds: number | null;
  impact_duration_seconds: number | null;
}

/**
 * Durations derived from the timestamps, in whole seconds (null when a bound is missing; never negative):
 * - to acknowledge: from the first sign (reported, or PagerDuty's first trigger when earlier) to PagerDuty's first
 *   acknowledgement; without one, to the acceptance of an incident reported in triage (`acceptedAt`);
 * - to identify, fix, resolve: from reported to identified, fixed, resolved;
 * - impact: from impact started to fixed, or to resolved when fixed is not set.
 */
export function durationsOf(t: TimesByKind, acceptedAt: string | null = null): Durations {
  const span = (a: string | null | undefined, b: string | null | undefined) => (a && b ? Math.max(0, Math.round((Date.parse(b) - Date.parse(a)) / 1000)) : null);
  const first = [t.reported, t.pagerduty_first_triggered].filter((x): x is string => !!x).sort((a, b) => Date.parse(a) - Date.parse(b))[0] ?? null;
  return {
    time_to_acknowledge_seconds: t.pagerduty_first_acknowledged ? span(first, t.pagerduty_first_acknowledged) : span(t.reported, acceptedAt),
    time_to_identify_seconds: span(t.reported, t.identified),
    time_to_fix_seconds: span(t.reported, t.fixed),
    time_to_resolve_seconds: span(t.reported, t.resolved),
    impact_duration_seconds: span(t.impact_started, t.fixed ?? t.resolved),
  };
}

/** "1 h 12 min", "3 min 5 s", "2 d 4 h": the two largest units. */
export function durationWords(seconds: number | null): string {
  if (seconds === null) return '—';
  const units: [string, number][] = [['d', 86_400], ['h', 3600], ['min', 60], ['s', 1]];
  const parts: string[] = [];
  let rest = Math.max(0, Math.round(seconds));
  let first = -1;
  units.forEach(([u, n], i) => {
    const v = Math.floor(rest / n);
    rest -= v * n;
    if (v > 0 && first < 0) first = i;
    if (v > 0 && first >= 0 && i <= first + 1) parts.push(`${v} ${u}`);
  });
  return parts.length ? parts.join(' ') : '0 s';
}
