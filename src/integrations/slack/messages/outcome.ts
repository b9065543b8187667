import type { TimelineItem } from '../../../incidents/timeline.js';

// Outcomes in words, for messages whose buttons have been used: "Accepted by Valentina Ruiz at 13:24 UTC".
// Times are shown in the Slack time zone of the person who acted when Slack told us one, else in UTC; the
// zone is always named, since everyone in the channel reads the same words.

/** "13:24 UTC", or "06:24 America/Los_Angeles"; the date is added when it is not today there. */
export function clockTime(iso: string, tz: string | null, now: Date = new Date()): string {
  const zone = tz && validZone(tz) ? tz : 'UTC';
  const at = new Date(iso);
  const time = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(at);
  const day = (d: Date) => new Intl.DateTimeFormat('en-GB', { timeZone: zone, year: 'numeric', month: 'short', day: 'numeric' }).format(d);
  const date = day(at) === day(now) ? '' : ` on ${day(at)}`;
  return `${time} ${zone}${date}`;
}

function validZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function actorName(item: Pick<TimelineItem, 'actor'>): string {
  return item.actor.user?.name ?? (item.actor.ref ? item.actor.ref.replace(/^api_key:/, 'API key ') : 'Firebreak');
}

/** The status change that took an incident out of triage (accepted, declined or merged), if any. */
export function triageDecision(timeline: TimelineItem[]): TimelineItem | null {
  const items = timeline.filter((i) => i.kind === 'status_changed' && i.payload.fromCategory === 'triage' && i.payload.toCategory !== 'triage');
  return items[items.length - 1] ?? null;
}

/** "Accepted by Valentina Ruiz at 13:24 UTC", "Declined by …: reason", "Merged into INC-3 by …". */
export function triageOutcome(item: TimelineItem, tz: string | null): string {
  const by = `by ${actorName(item)} at ${clockTime(item.occurredAt, tz)}`;
  const p = item.payload;
  switch (p.toCategory) {
    case 'live':
      return `Accepted ${by}`;
    case 'declined':
      return `Declined ${by}${typeof p.reason === 'string' && p.reason ? ` (${p.reason})` : ''}`;
    case 'merged':
      return `Merged into ${typeof p.mergedInto === 'string' ? p.mergedInto : 'another incident'} ${by}`;
    case 'canceled':
      return `Canceled ${by}`;
    default:
      return `Moved to ${String(p.to ?? 'another status')} ${by}`;
  }
}
