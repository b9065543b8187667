// The severity of an incident opened from PagerDuty. An admin's mapping (PagerDuty priority id → severity) wins;
// without one, a default from what PagerDuty says about the page, so a high-urgency page never opens as the least
// severe incident:
//  - by priority, when it has PagerDuty's usual name P1…P5: P1 → the most severe severity, P2 → the second, P3 →
//    the third, lower ones → the least severe (clamped to the severities there are);
//  - by urgency: high → the most severe non-critical severity (the second most severe; the only one if there is
//    one), low → the least severe;
//  - with both, the more severe of the two (a P4 page at high urgency is Major, a P1 at low urgency stays
//    Critical); with neither, the incidents' default severity (null here).
// With Firebreak's default severities (Critical, Major, Minor, Low): P1 Critical, P2 Major, P3 Minor, P4/P5 Low;
// high urgency at least Major; low urgency alone Low.

export interface RankedSeverity {
  id: string;
  name: string;
  /** Higher is more severe. */
  rank: number;
}

export interface PageFacts {
  priority: { id: string; name: string } | null;
  urgency: string | null;
}

export type SeverityReason = 'mapping' | 'priority' | 'urgency' | 'default';

/** The severities, most severe first. */
const bySeverity = (severities: RankedSeverity[]) => [...severities].sort((a, b) => b.rank - a.rank);

/** The default for a priority name alone (P1…P5), or null when the name is not one of those. */
export function severityForPriorityName(severities: RankedSeverity[], name: string): RankedSeverity | null {
  const m = /^\s*P(\d{1,2})\s*$/i.exec(name);
  const s = bySeverity(severities);
  if (!m || s.length === 0) return null;
  const n = Number(m[1]);
  if (n < 1) return null;
  return s[Math.min(n - 1, s.length - 1)]!;
}

/** The default for an urgency alone. */
export function severityForUrgency(severities: RankedSeverity[], urgency: string | null): RankedSeverity | null {
  const s = bySeverity(severities);
  if (s.length === 0) return null;
  if (urgency === 'high') return s[Math.min(1, s.length - 1)]!;
  if (urgency === 'low') return s[s.length - 1]!;
  return null;
}

/** The severity for a page, and what decided it. */
export function severityForPage(severities: RankedSeverity[], mapping: Record<string, string>, page: PageFacts): { severity: RankedSeverity | null; reason: SeverityReason } {
  const mapped = page.priority ? severities.find((s) => s.id === mapping[page.priority!.id]) : undefined;
  if (mapped) return { severity: mapped, reason: 'mapping' };
  const byPriority = page.priority ? severityForPriorityName(severities, page.priority.name) : null;
  const byUrgency = severityForUrgency(severities, page.urgency);
  if (byPriority && byUrgency) return byUrgency.rank > byPriority.rank ? { severity: byUrgency, reason: 'urgency' } : { severity: byPriority, reason: 'priority' };
  if (byPriority) return { severity: byPriority, reason: 'priority' };
  if (byUrgency) return { severity: byUrgency, reason: 'urgency' };
  return { severity: null, reason: 'default' };
}
