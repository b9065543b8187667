import type { PdRef } from '../client/wire.js';

// PagerDuty's incident and log entry shapes as the links module reads them (REST and webhooks). They are turned
// into link rows and timeline items in links.service.ts / mirror.ts and never leave the PagerDuty module.

export interface PdLinkIncidentWire extends PdRef {
  incident_number: number;
  title: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  urgency?: 'high' | 'low';
  incident_key?: string | null;
  service?: PdRef | null;
  priority?: PdRef | null;
  teams?: PdRef[];
  assignments?: { at: string; assignee: PdRef }[];
  acknowledgements?: { at: string; acknowledger: PdRef }[];
  created_at: string;
}

export interface PdLinkLogEntryWire extends PdRef {
  type: string;
  created_at: string;
  agent: PdRef | null;
  channel?: { type?: string; summary?: string; [k: string]: unknown } | null;
  user?: PdRef;
  assignees?: PdRef[];
  note?: string;
  event_details?: { description?: string };
}

/** A webhook incident event's `data` (note `number`, `assignees`). */
export interface PdLinkEventData {
  id: string;
  number?: number;
  title?: string;
  status?: string;
  urgency?: string;
  html_url?: string;
  incident_key?: string;
  service?: PdRef | null;
  priority?: PdRef | null;
  teams?: PdRef[];
  assignees?: PdRef[];
  /** incident.annotated: data is the note, with the incident as a reference. */
  type?: string;
  incident?: PdRef;
  content?: string;
}

export interface PdLinkEvent {
  id: string;
  event_type: string;
  resource_type: string;
  occurred_at: string;
  agent: PdRef | null;
  data: Record<string, unknown>;
}
