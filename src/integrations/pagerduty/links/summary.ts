import type { PdIncidentEventData } from '../client/events.js';
import type { PdIncident } from '../client/wire.js';

// A PagerDuty incident as links, auto-create, auto-acknowledgement and their notifications show it: made from the
// REST shape (a read) or the webhook shape (an event) at the edge, so PagerDuty's field names stop here.

export interface PdIncidentSummary {
  id: string;
  number: number | null;
  title: string;
  status: string;
  urgency: string | null;
  priority: { id: string; name: string } | null;
  service: { id: string; name: string } | null;
  assignees: { id: string; name: string }[];
  htmlUrl: string | null;
  incidentKey: string | null;
}

type Ref = { id: string; summary?: string | null } | null | undefined;

export const nameOf = (r: Ref) => r?.summary ?? r?.id ?? '';

/** "PagerDuty incident #12" (or without the number when it is not known yet). */
export const label = (s: { number: number | null }) => `PagerDuty incident${s.number ? ` #${s.number}` : ''}`;

export function summaryFromIncident(i: PdIncident): PdIncidentSummary {
  return {
    id: i.id,
    number: typeof i.incident_number === 'number' ? i.incident_number : null,
    title: i.title ?? i.summary ?? i.id,
    status: i.status,
    urgency: i.urgency ?? null,
    priority: i.priority?.id ? { id: i.priority.id, name: nameOf(i.priority) } : null,
    service: i.service?.id ? { id: i.service.id, name: nameOf(i.service) } : null,
    assignees: (i.assignments ?? []).filter((a) => a.assignee?.id).map((a) => ({ id: a.assignee.id, name: nameOf(a.assignee) })),
    htmlUrl: i.html_url ?? null,
    incidentKey: i.incident_key ?? null,
  };
}

/** From an incident event's data (the webhook names them `number` and `assignees`). */
export function summaryFromEvent(d: PdIncidentEventData): PdIncidentSummary {
  return {
    id: d.id,
    number: typeof d.number === 'number' ? d.number : null,
    title: d.title ?? d.id,
    status: d.status ?? 'triggered',
    urgency: d.urgency ?? null,
    priority: d.priority?.id ? { id: d.priority.id, name: nameOf(d.priority) } : null,
    service: d.service?.id ? { id: d.service.id, name: nameOf(d.service) } : null,
    assignees: (d.assignees ?? []).filter((a) => a?.id).map((a) => ({ id: a.id, name: nameOf(a) })),
    htmlUrl: d.html_url ?? null,
    incidentKey: d.incident_key ?? null,
  };
}
