import type { FormField, WorkflowRun } from '../../../workflows/model.js';

// `/incident workflows`: the list of manual workflows (an ephemeral message, a Run button each), the modal built
// from a workflow's form, reading and checking its submission, and what the person is told afterwards.

export const WORKFLOW_RUN_ACTION = 'workflow_run';
export const WORKFLOW_FORM_CALLBACK = 'firebreak_workflow_form';
const INPUT_ACTION = 'value';
const TEXT_MAX = 2000;

export interface ManualWorkflow {
  id: string;
  name: string;
  description: string | null;
  form: FormField[];
}

const plain = (t: string) => ({ type: 'plain_text' as const, text: t });
const trunc = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
export const blockOf = (key: string) => `wf_in_${key}`;

/** What the Run button carries: the workflow and the incident (nothing else is trusted from it). */
export function runValue(workflowId: string, incidentId: string): string {
  return JSON.stringify({ w: workflowId, i: incidentId });
}

export function readRunValue(value: string | undefined): { workflowId: string; incidentId: string } | null {
  try {
    const v = JSON.parse(value ?? '') as { w?: unknown; i?: unknown };
    return typeof v.w === 'string' && typeof v.i === 'string' ? { workflowId: v.w, incidentId: v.i } : null;
  } catch {
    return null;
  }
}

/** The list, as blocks of an ephemeral message (at most 45 workflows fit Slack's 50 blocks with the header). */
export function workflowsMessage(reference: string, workflows: ManualWorkflow[], incidentId: string, base: string): { text: string; blocks: unknown[] } {
  const shown = workflows.slice(0, 45);
  const blocks: unknown[] = [{ type: 'section', text: { type: 'mrkdwn', text: `*Workflows you can run on ${reference}:*` } }];
  for (const w of shown) {
    const asks = w.form.length ? `\n_Asks for: ${esc(w.form.map((f) => f.label).join(', '))}_` : '';
    blocks.push({
      type: 'section',
      block_id: `wf_${w.id}`.slice(0, 255),
      text: { type: 'mrkdwn', text: trunc(`*${esc(w.name)}*${w.description ? `\n${esc(w.description)}` : ''}${asks}`, 3000) },
      accessory: { type: 'button', action_id: WORKFLOW_RUN_ACTION, text: plain('Run'), value: runValue(w.id, incidentId) },
    });
  }
  if (workflows.length > shown.length) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `${workflows.length - shown.length} more in Firebreak: ${base}/incidents/${reference}` }] });
  return { text: `Workflows you can run on ${reference}: ${workflows.map((w) => w.name).join(', ')}`, blocks };
}

export function noWorkflowsText(reference: string, base: string): string {
  return `No workflow can be run by hand on ${reference}. An admin can add one with a manual trigger in Firebreak: ${base}/workflows`;
}

export interface FormMeta {
  workflowId: string;
  incidentId: string;
  channelId: string | null;
  /** The Run click's response_url: the outcome is told there, privately. */
  responseUrl: string | null;
}

function element(f: FormField): Record<string, unknown> {
  if (f.type === 'number') return { type: 'number_input', action_id: INPUT_ACTION, is_decimal_allowed: true };
  if (f.type === 'select') {
    return { type: 'static_select', action_id: INPUT_ACTION, placeholder: plain('Choose'), options: (f.options ?? []).slice(0, 100).map((o) => ({ text: plain(trunc(o, 75)), value: o })) };
  }
  return { type: 'plain_text_input', action_id: INPUT_ACTION, max_length: TEXT_MAX };
}

/** The modal of a workflow's form: one input per field, in order. */
export function formView(w: ManualWorkflow, reference: string, meta: FormMeta): Record<string, unknown> {
  return {
    type: 'modal',
    callback_id: WORKFLOW_FORM_CALLBACK,
    private_metadata: JSON.stringify(meta),
    title: plain('Run workflow'),
    submit: plain('Run'),
    close: plain('Cancel'),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: trunc(`*${esc(w.name)}* on ${reference}${w.description ? `\n${esc(w.description)}` : ''}`, 3000) } },
      ...w.form.map((f) => ({ type: 'input', block_id: blockOf(f.key), optional: !f.required, label: plain(f.label), element: element(f) })),
    ],
  };
}

export function readFormMeta(privateMetadata: string | undefined): FormMeta | null {
  try {
    const m = JSON.parse(privateMetadata ?? '') as Partial<FormMeta>;
    return typeof m.workflowId === 'string' && typeof m.incidentId === 'string' ? { workflowId: m.workflowId, incidentId: m.incidentId, channelId: m.channelId ?? null, responseUrl: m.responseUrl ?? null } : null;
  } catch {
    return null;
  }
}

type StateValues = Record<string, Record<string, { value?: string | null; selected_option?: { value: string } | null }>>;

/** The form's values by key, checked against the form (required, numbers, options); problems by block. */
export function readForm(form: FormField[], values: StateValues): { ok: true; inputs: Record<string, unknown> } | { ok: false; errors: Record<string, string> } {
  const inputs: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const f of form) {
    const v = values[blockOf(f.key)]?.[INPUT_ACTION];
    const raw = f.type === 'select' ? (v?.selected_option?.value ?? '') : (v?.value ?? '').trim();
    if (raw === '') {
      if (f.required) errors[blockOf(f.key)] = `${f.label} is required.`;
      continue;
    }
    if (f.type === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n)) errors[blockOf(f.key)] = `${f.label} must be a number.`;
      else inputs[f.key] = n;
    } else if (f.type === 'select') {
      if (!(f.options ?? []).includes(raw)) errors[blockOf(f.key)] = `Choose one of the options for ${f.label}.`;
      else inputs[f.key] = raw;
    } else if (raw.length > TEXT_MAX) errors[blockOf(f.key)] = `${f.label} is at most ${TEXT_MAX} characters.`;
    else inputs[f.key] = raw;
  }
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, inputs };
}

/** Where a person sees a run: the incident's page, at its workflow runs. */
export function runUrl(base: string, run: Pick<WorkflowRun, 'id'>, reference: string): string {
  return `${base}/incidents/${reference}#workflow-run-${run.id}`;
}

/** What the person is told once the run is recorded. */
export function outcomeText(name: string, reference: string, run: Pick<WorkflowRun, 'id' | 'status' | 'skip_reason' | 'error'>, base: string): string {
  const link = runUrl(base, run, reference);
  if (run.status === 'skipped') return `:information_source: “${name}” did not run on ${reference}: ${run.skip_reason ?? 'its conditions do not hold'} — see the run: ${link}`;
  if (run.status === 'failed') return `:x: “${name}” failed on ${reference}: ${run.error?.message ?? 'see the run'} — see the run: ${link}`;
  return `:white_check_mark: Started “${name}” on ${reference} — see the run: ${link}`;
}
