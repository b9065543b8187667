import type { Incident, Severity, Status } from '../../../incidents/incidents.service.js';

// The update modal: what changed (required), status (only the moves the incident's status allows), severity and
// summary. Its submission posts one incident update (src/incidents/updates).

export const UPDATE_CALLBACK = 'firebreak_update';

export interface UpdateInput {
  message: string;
  statusId: string;
  severityId: string;
  summary: string;
}

/** Statuses the incident can move to from where it is, plus where it is. */
export function reachableStatuses(incident: Incident, statuses: Status[]): Status[] {
  const ids = new Set<string>([incident.status.id]);
  for (const a of incident.availableActions) {
    if (a.action === 'status' && a.status) ids.add(a.status.id);
    const byCategory = { accept: 'live', close: 'closed', decline: 'declined', cancel: 'canceled' } as const;
    const cat = byCategory[a.action as keyof typeof byCategory];
    if (cat === 'live') statuses.filter((s) => s.category === 'live').forEach((s) => ids.add(s.id));
    else if (cat) {
      const s = statuses.find((x) => x.category === cat);
      if (s) ids.add(s.id);
    }
  }
  return statuses.filter((s) => ids.has(s.id));
}

export function updateView(incident: Incident, statuses: Status[], severities: Severity[]): Record<string, unknown> {
  const opt = (id: string, name: string) => ({ text: { type: 'plain_text', text: name.slice(0, 75) }, value: id });
  return {
    type: 'modal',
    callback_id: UPDATE_CALLBACK,
    private_metadata: JSON.stringify({ incidentId: incident.id }),
    title: { type: 'plain_text', text: `Update ${incident.reference}`.slice(0, 24) },
    submit: { type: 'plain_text', text: 'Post update' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: 'message',
        label: { type: 'plain_text', text: 'What changed' },
        hint: { type: 'plain_text', text: 'Posted in the channel, under the announcement and on the timeline.' },
        element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: 3000, placeholder: { type: 'plain_text', text: 'Rolled back the deploy; error rate is falling' } },
      },
      {
        type: 'input',
        block_id: 'status',
        label: { type: 'plain_text', text: 'Status' },
        element: { type: 'static_select', action_id: 'value', options: reachableStatuses(incident, statuses).map((s) => opt(s.id, s.name)), initial_option: opt(incident.status.id, incident.status.name) },
      },
      {
        type: 'input',
        block_id: 'severity',
        label: { type: 'plain_text', text: 'Severity' },
        element: { type: 'static_select', action_id: 'value', options: severities.slice(0, 100).map((s) => opt(s.id, s.name)), initial_option: opt(incident.severity.id, incident.severity.name) },
      },
      {
        type: 'input',
        block_id: 'summary',
        optional: true,
        label: { type: 'plain_text', text: 'Summary' },
        element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: 3000, ...(incident.summary ? { initial_value: incident.summary.slice(0, 3000) } : {}) },
      },
    ],
  };
}

export function readUpdate(values: Record<string, Record<string, any>>): UpdateInput {
  return {
    message: String(values.message?.value?.value ?? '').trim(),
    statusId: String(values.status?.value?.selected_option?.value ?? ''),
    severityId: String(values.severity?.value?.selected_option?.value ?? ''),
    summary: String(values.summary?.value?.value ?? '').trim(),
  };
}
