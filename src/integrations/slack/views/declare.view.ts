import type { Severity } from '../../../incidents/incidents.service.js';

// The declare modal and the reading of its submission. Block ids double as the keys of validation errors.
// Custom fields (shown in the declare form, or required at declaration) follow the built-in inputs; their blocks
// come from custom-fields.view.ts.

export const DECLARE_CALLBACK = 'firebreak_declare';

export interface DeclareInput {
  name: string;
  summary: string;
  severityId: string;
  triage: boolean;
}

const NAME_MAX = 250;
const SUMMARY_MAX = 3000;
/** Blocks the modal has before its custom fields (name, summary, severity, triage): the rest of Slack's 100 is theirs. */
export const DECLARE_BUILTIN_BLOCKS = 4;

export function declareView(severities: Severity[], meta: { channelId: string; responseUrl?: string }, initialName = '', fieldBlocks: Record<string, unknown>[] = []): Record<string, unknown> {
  const option = (s: Severity) => ({ text: { type: 'plain_text', text: s.name.slice(0, 75) }, value: s.id, ...(s.description ? { description: { type: 'plain_text', text: s.description.slice(0, 75) } } : {}) });
  const lowest = severities[severities.length - 1];
  return {
    type: 'modal',
    callback_id: DECLARE_CALLBACK,
    private_metadata: JSON.stringify(meta),
    title: { type: 'plain_text', text: 'Declare an incident' },
    submit: { type: 'plain_text', text: 'Declare' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      { type: 'input', block_id: 'name', label: { type: 'plain_text', text: 'Name' }, element: { type: 'plain_text_input', action_id: 'value', max_length: NAME_MAX, placeholder: { type: 'plain_text', text: 'What is broken, in a few words' }, ...(initialName ? { initial_value: initialName.slice(0, NAME_MAX) } : {}) } },
      { type: 'input', block_id: 'summary', optional: true, label: { type: 'plain_text', text: 'Summary' }, element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: SUMMARY_MAX } },
      {
        type: 'input',
        block_id: 'severity',
        label: { type: 'plain_text', text: 'Severity' },
        element: { type: 'static_select', action_id: 'value', options: severities.slice(0, 100).map(option), ...(lowest ? { initial_option: option(lowest) } : {}) },
      },
      {
        type: 'input',
        block_id: 'triage',
        optional: true,
        label: { type: 'plain_text', text: 'Triage' },
        element: { type: 'checkboxes', action_id: 'value', options: [{ text: { type: 'plain_text', text: 'Start in triage (not confirmed yet)' }, value: 'triage' }] },
      },
      ...fieldBlocks,
    ],
  };
}

type StateValues = Record<string, Record<string, any>>;

export function readDeclare(values: StateValues, severities: Severity[]): { ok: true; input: DeclareInput } | { ok: false; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const name = String(values.name?.value?.value ?? '').trim();
  const summary = String(values.summary?.value?.value ?? '').trim();
  const severityId = String(values.severity?.value?.selected_option?.value ?? '');
  const triage = ((values.triage?.value?.selected_options ?? []) as { value: string }[]).some((o) => o.value === 'triage');
  if (name.length < 3) errors.name = 'Give the incident a name of at least 3 characters.';
  else if (name.length > NAME_MAX) errors.name = `At most ${NAME_MAX} characters.`;
  if (summary.length > SUMMARY_MAX) errors.summary = `At most ${SUMMARY_MAX} characters.`;
  if (!severities.some((s) => s.id === severityId)) errors.severity = `Choose one of: ${severities.map((s) => s.name).join(', ')}.`;
  if (Object.keys(errors).length) return { ok: false, errors };
  return { ok: true, input: { name, summary, severityId, triage } };
}

export interface ViewMeta {
  channelId?: string;
  responseUrl?: string;
  incidentId?: string;
}

export function readMeta(privateMetadata: string | undefined): ViewMeta {
  try {
    const m = JSON.parse(privateMetadata ?? '{}') as unknown;
    return m && typeof m === 'object' ? (m as ViewMeta) : {};
  } catch {
    return {};
  }
}
