import type { OnCallAnswer, OnCallPerson, OnCallPolicy } from './oncall.service.js';

// On-call answers in words, the same for Slack and the API's `summary`: "Level 1: Alan Weber (until 17:00 via
// Primary schedule), level 2: Bea Ortiz" and, for the escalate forms, "would page: Alan Weber (level 1), then Bea
// Ortiz (level 2)". Times go through `time`, so Slack can render them in the reader's zone.

export type TimeFormat = (iso: string) => string;

/** "17:00 UTC", or "Tue 6 Dec 09:00 UTC" when not within the next 24 hours. */
export function utcTime(now: number): TimeFormat {
  return (iso) => {
    const t = Date.parse(iso);
    if (!Number.isFinite(t)) return iso;
    const d = new Date(t);
    const hm = `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
    if (t - now < 24 * 3_600_000) return `${hm} UTC`;
    const day = d.toLocaleDateString('en-GB', { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' }).replace(',', '');
    return `${day} ${hm} UTC`;
  };
}

function personText(p: OnCallPerson, time: TimeFormat, name: (p: OnCallPerson) => string): string {
  const parts: string[] = [];
  if (p.until) parts.push(`until ${time(p.until)}`);
  if (p.via) parts.push(`via ${p.via.name}`);
  return parts.length ? `${name(p)} (${parts.join(' ')})` : name(p);
}

const plainName = (p: OnCallPerson) => p.user.name;

/** "Level 1: Alan Weber (until 17:00 UTC via Primary), level 2: Bea Ortiz", or "nobody is on call". */
export function levelsLine(policy: OnCallPolicy, time: TimeFormat, name: (p: OnCallPerson) => string = plainName): string {
  if (!policy.levels.length) return 'nobody is on call';
  return policy.levels.map((l, i) => `${i === 0 ? 'Level' : 'level'} ${l.level}: ${l.people.map((p) => personText(p, time, name)).join(' and ')}`).join(', ');
}

/** "would page: Alan Weber (level 1), then Bea Ortiz (level 2)". */
export function wouldPage(policy: OnCallPolicy, name: (p: OnCallPerson) => string = plainName): string {
  if (!policy.levels.length) return 'would page nobody: nobody is on call for this policy right now';
  return `would page: ${policy.levels.map((l) => `${l.people.map(name).join(' and ')} (level ${l.level})`).join(', then ')}`;
}

/** One line for the answer: who is on call, or what went wrong. */
export function answerSummary(a: OnCallAnswer, time: TimeFormat, name: (p: OnCallPerson) => string = plainName): string {
  if (a.error) return a.error.message;
  if (a.schedule) {
    if (!a.schedule.people.length) return `Nobody is on call on ${a.schedule.name} right now.`;
    return `On call on ${a.schedule.name}: ${a.schedule.people.map((p) => (p.until ? `${name(p)} (until ${time(p.until)})` : name(p))).join(' and ')}`;
  }
  if (!a.policies.length) return a.note ?? 'Nobody is on call.';
  return a.policies.map((p) => `${p.name}: ${levelsLine(p, time, name)}`).join('\n');
}
