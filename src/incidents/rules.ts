// The status rules: which actions each status category allows. Pure functions, so the web app, Slack and
// the API all show the same choices and refuse the same things.

export type StatusCategory = 'triage' | 'live' | 'closed' | 'declined' | 'merged' | 'canceled';
export type IncidentAction = 'accept' | 'decline' | 'merge' | 'status' | 'close' | 'cancel';

export interface StatusRef {
  id: string;
  name: string;
  category: StatusCategory;
  rank: number;
}

export interface AvailableAction {
  action: IncidentAction;
  status?: { id: string; name: string; category: StatusCategory };
}

const allowedByCategory: Record<StatusCategory, IncidentAction[]> = {
  triage: ['accept', 'decline', 'merge'],
  live: ['status', 'close', 'cancel', 'merge'],
  closed: ['status'], // reopen into a live status
  declined: [],
  merged: [],
  canceled: [],
};

export function availableActions(current: StatusRef, statuses: StatusRef[]): AvailableAction[] {
  const out: AvailableAction[] = [];
  for (const action of allowedByCategory[current.category]) {
    if (action === 'status') {
      for (const s of liveStatuses(statuses)) {
        if (s.id !== current.id) out.push({ action, status: { id: s.id, name: s.name, category: s.category } });
      }
    } else {
      out.push({ action });
    }
  }
  return out;
}

export function liveStatuses<T extends StatusRef>(statuses: T[]): T[] {
  return statuses.filter((s) => s.category === 'live').sort((a, b) => a.rank - b.rank);
}

/** Severity can change unless the incident has left the picture (declined, merged, canceled). */
export function canChangeSeverity(category: StatusCategory): boolean {
  return category === 'triage' || category === 'live' || category === 'closed';
}

export function describeAllowed(current: StatusRef, statuses: StatusRef[]): string {
  const acts = availableActions(current, statuses);
  if (acts.length === 0) return `No status changes are possible from ${current.name}.`;
  return `Allowed from ${current.name}: ${acts.map((a) => (a.status ? `move to ${a.status.name}` : a.action)).join(', ')}.`;
}
