import type { PdRef } from '../client/wire.js';

// PagerDuty's incident, log entry and webhook shapes as escalation reads them. They are converted into
// escalation targets at the edge (escalations.service.ts, webhooks/) and never leave the PagerDuty module.

export interface PdIncidentWire extends PdRef {
  incident_number: number;
  title: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  incident_key: string;
  urgency: 'high' | 'low';
  created_at: string;
  last_status_change_at?: string;
  assignments?: { at: string; assignee: PdRef }[];
  acknowledgements?: { at: string; acknowledger: PdRef }[];
}

export interface PdLogEntryWire extends PdRef {
  created_at: string;
  agent: PdRef | null;
  user?: PdRef;
}

/** Webhooks v3: one event per delivery. */
export interface PdWebhookEnvelope {
  event: {
    id: string;
    event_type: string;
    resource_type: string;
    occurred_at: string;
    agent: PdRef | null;
    client: { name: string } | null;
    data: Record<string, unknown>;
  };
}

/** An incident as webhooks carry it (`number`, not `incident_number`; `assignees`, not `assignments`). */
export interface PdIncidentEventData {
  id: string;
  number?: number;
  status?: string;
  html_url?: string;
  incident_key?: string;
  assignees?: PdRef[];
}
