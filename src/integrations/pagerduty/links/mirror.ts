import type { PdIncidentStatus, PdLogEntry, PdRef } from '../client/wire.js';

// PagerDuty activity → timeline items. Log entries are the source of truth (a webhook makes Firebreak read the
// log again), so each item's dedupe key is the log entry's id: redelivered webhooks and re-reads never double an
// entry. Priority changes have no log entry; they come from the webhook and are keyed by its event id.
// An item that tells a status change (triggered, acknowledged, resolved) says so in `status`: whether a link shows
// it is the link's `statusToldBy` (links.repository.ts), not a list of kinds here.

export interface MirrorItem {
  kind: string;
  dedupeKey: string;
  occurredAt: string;
  text: string;
  payload: Record<string, unknown>;
  /** The status PagerDuty's incident reached, when this item tells a status change; null for other activity. */
  status: PdIncidentStatus | null;
}

const nameOf = (r: PdRef | null | undefined) => r?.summary ?? r?.id ?? 'someone';
const names = (rs: PdRef[] | undefined) => (rs ?? []).map(nameOf).join(', ') || 'nobody';

export function mirrorLogEntries(pd: { id: string; number: number | null }, entries: PdLogEntry[]): MirrorItem[] {
  const label = `PagerDuty incident${pd.number ? ` #${pd.number}` : ''}`;
  // PagerDuty lists the log newest first and its times have whole seconds: ties keep PagerDuty's order, reversed.
  const sorted = entries.map((e, i) => ({ e, i })).sort((a, b) => Date.parse(a.e.created_at) - Date.parse(b.e.created_at) || b.i - a.i).map((x) => x.e);
  const initialAssign = sorted.find((e) => e.type === 'assign_log_entry')?.id ?? null;
  const out: MirrorItem[] = [];
  for (const e of sorted) {
    const base = { pagerdutyIncidentId: pd.id, logEntryId: e.id, agent: e.agent ? { id: e.agent.id, name: nameOf(e.agent), type: e.agent.type } : null };
    const push = (kind: string, text: string, extra: Record<string, unknown> = {}, status: PdIncidentStatus | null = null) =>
      out.push({ kind, dedupeKey: `pd-log:${e.id}`, occurredAt: e.created_at, text, payload: { ...base, ...extra, text }, status });
    switch (e.type) {
      case 'trigger_log_entry':
        push('pagerduty.triggered', `${label} triggered${e.event_details?.description ? `: ${e.event_details.description}` : ''}`, {}, 'triggered');
        break;
      case 'assign_log_entry': {
        const initial = e.id === initialAssign;
        const who = names(e.assignees);
        if (initial) push('pagerduty.assigned', `${label} assigned to ${who}`, { assignees: (e.assignees ?? []).map((a) => ({ id: a.id, name: nameOf(a) })) });
        else push('pagerduty.reassigned', `${label} reassigned to ${who} by ${nameOf(e.agent)}`, { assignees: (e.assignees ?? []).map((a) => ({ id: a.id, name: nameOf(a) })) });
        break;
      }
      case 'notify_log_entry':
        push('pagerduty.notified', `${label}: PagerDuty notified ${nameOf(e.user)}${e.channel?.type ? ` by ${e.channel.type}` : ''}`, { user: e.user ? { id: e.user.id, name: nameOf(e.user) } : null });
        break;
      case 'acknowledge_log_entry':
        push('pagerduty.acknowledged', `${label} acknowledged by ${nameOf(e.agent)}`, {}, 'acknowledged');
        break;
      case 'unacknowledge_log_entry':
        // Back to triggered by PagerDuty's acknowledgement timeout: activity, which no escalation item tells.
        push('pagerduty.unacknowledged', `${label} unacknowledged`);
        break;
      case 'escalate_log_entry':
        push('pagerduty.escalated', `${label} escalated to ${names(e.assignees)}`, { assignees: (e.assignees ?? []).map((a) => ({ id: a.id, name: nameOf(a) })) });
        break;
      case 'annotate_log_entry': {
        const note = typeof e.note === 'string' ? e.note : typeof e.channel?.summary === 'string' ? e.channel.summary : '';
        push('pagerduty.note', `Note on ${label} from ${nameOf(e.agent)}: ${note}`, { note, author: nameOf(e.agent) });
        break;
      }
      case 'resolve_log_entry':
        push('pagerduty.resolved', `${label} resolved by ${nameOf(e.agent)}`, {}, 'resolved');
        break;
      default:
        break;
    }
  }
  return out;
}

/** Everyone PagerDuty assigned or notified for the incident, by PagerDuty user id. */
export function pagedUserIds(assignments: { assignee: PdRef }[] | undefined, entries: PdLogEntry[]): Set<string> {
  const ids = new Set<string>();
  for (const a of assignments ?? []) if (a.assignee?.id) ids.add(a.assignee.id);
  for (const e of entries) {
    if (e.type === 'notify_log_entry' && e.user?.id) ids.add(e.user.id);
    if (e.type === 'assign_log_entry' || e.type === 'escalate_log_entry') for (const a of e.assignees ?? []) if (a.id) ids.add(a.id);
  }
  return ids;
}
