import type { EscalationOption, EscalationView, LinkedPagerDutyIncident } from './port.js';

// The /incident escalate modal and the status message that follows an escalation in the channel.

export const ESCALATE_CALLBACK = 'firebreak_escalate';
export const ACTIONS = { policies: 'esc_policies', pdUsers: 'esc_pd_users', slackUsers: 'esc_slack_users', message: 'esc_message', urgency: 'esc_urgency', priority: 'esc_priority', mode: 'esc_mode', retry: 'escalation_retry' } as const;
/** The mode choice's value for "page them in new PagerDuty incidents"; adding responders is `add:<PagerDuty incident id>`. */
export const NEW_INCIDENTS = 'new';

const pdLabel = (l: { number: number | null; title: string }) => `PagerDuty #${l.number ?? '?'} "${l.title}"`;

/** Shown only when the incident has unresolved PagerDuty incidents linked: page anew (default) or add to one of them. */
function modeBlock(open: LinkedPagerDutyIncident[]): Record<string, unknown>[] {
  if (open.length === 0) return [];
  const options = [
    { text: text('Page them: a new PagerDuty incident each'), value: NEW_INCIDENTS },
    ...open.slice(0, 9).map((l) => ({ text: text(trunc(`Add them as responders to ${pdLabel(l)}`, 150)), value: `add:${l.id}` })),
  ];
  return [{ type: 'input', block_id: 'mode', label: text('How'), element: { type: 'radio_buttons', action_id: ACTIONS.mode, options, initial_option: options[0] } }];
}
const MESSAGE_MAX = 3000;

const text = (t: string) => ({ type: 'plain_text' as const, text: t });
const trunc = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

export function optionOf(o: EscalationOption): { text: { type: 'plain_text'; text: string }; value: string } {
  return { text: text(trunc(o.email ? `${o.name} (${o.email})` : o.name, 75)), value: o.id };
}

export function escalateView(meta: { incidentId: string; channelId: string }, suggested: EscalationOption[], priorities: EscalationOption[], open: LinkedPagerDutyIncident[] = []): Record<string, unknown> {
  const urgencies = [
    { text: text('High (page now)'), value: 'high' },
    { text: text('Low'), value: 'low' },
  ];
  return {
    type: 'modal',
    callback_id: ESCALATE_CALLBACK,
    private_metadata: JSON.stringify(meta),
    title: text('Escalate'),
    submit: text('Page them'),
    close: text('Cancel'),
    blocks: [
      ...modeBlock(open),
      {
        type: 'input',
        block_id: 'policies',
        optional: true,
        // Choosing a policy sends block_actions, so the modal can say whom it would page (wouldPageBlock).
        dispatch_action: true,
        label: text('Escalation policies'),
        hint: text('Pages whoever is on call. Type to search.'),
        element: { type: 'multi_external_select', action_id: ACTIONS.policies, min_query_length: 0, placeholder: text('Search escalation policies'), ...(suggested.length ? { initial_options: suggested.slice(0, 100).map(optionOf) } : {}) },
      },
      {
        type: 'input',
        block_id: 'pd_users',
        optional: true,
        label: text('PagerDuty users'),
        hint: text('Search by name or email.'),
        element: { type: 'multi_external_select', action_id: ACTIONS.pdUsers, min_query_length: 1, placeholder: text('Search PagerDuty users') },
      },
      {
        type: 'input',
        block_id: 'slack_users',
        optional: true,
        label: text('Or people in Slack'),
        hint: text('Paged through their PagerDuty account (matched by email).'),
        element: { type: 'multi_users_select', action_id: ACTIONS.slackUsers, placeholder: text('Pick people') },
      },
      {
        type: 'input',
        block_id: 'message',
        label: text('Why do you need them?'),
        hint: text('This is what the people paged will read.'),
        element: { type: 'plain_text_input', action_id: ACTIONS.message, multiline: true, max_length: MESSAGE_MAX },
      },
      { type: 'input', block_id: 'urgency', label: text('Urgency'), element: { type: 'static_select', action_id: ACTIONS.urgency, options: urgencies, initial_option: urgencies[0] } },
      ...(priorities.length
        ? [{ type: 'input', block_id: 'priority', optional: true, label: text('PagerDuty priority'), element: { type: 'static_select', action_id: ACTIONS.priority, options: priorities.slice(0, 100).map(optionOf) } }]
        : []),
    ],
  };
}

type StateValues = Record<string, Record<string, { value?: string | null; selected_option?: { value: string } | null; selected_options?: { value: string }[] | null; selected_users?: string[] | null }>>;

export interface EscalateForm {
  policyIds: string[];
  pdUserIds: string[];
  slackUserIds: string[];
  message: string;
  urgency: 'high' | 'low';
  priorityId: string | null;
  mode: 'new_incidents' | 'add_responders';
  pagerdutyIncidentId: string | null;
}

export function readEscalate(values: StateValues): { ok: true; form: EscalateForm } | { ok: false; errors: Record<string, string> } {
  const v = (block: string, action: string) => values[block]?.[action];
  const form: EscalateForm = {
    policyIds: (v('policies', ACTIONS.policies)?.selected_options ?? []).map((o) => o.value),
    pdUserIds: (v('pd_users', ACTIONS.pdUsers)?.selected_options ?? []).map((o) => o.value),
    slackUserIds: v('slack_users', ACTIONS.slackUsers)?.selected_users ?? [],
    message: (v('message', ACTIONS.message)?.value ?? '').trim(),
    urgency: v('urgency', ACTIONS.urgency)?.selected_option?.value === 'low' ? 'low' : 'high',
    priorityId: v('priority', ACTIONS.priority)?.selected_option?.value ?? null,
    mode: 'new_incidents',
    pagerdutyIncidentId: null,
  };
  const mode = v('mode', ACTIONS.mode)?.selected_option?.value ?? NEW_INCIDENTS;
  if (mode.startsWith('add:')) {
    form.mode = 'add_responders';
    form.pagerdutyIncidentId = mode.slice(4);
  }
  const errors: Record<string, string> = {};
  if (form.policyIds.length + form.pdUserIds.length + form.slackUserIds.length === 0) errors.policies = 'Choose at least one escalation policy or person to page.';
  if (!form.message) errors.message = 'Say why you need them: it is what the people paged will read.';
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, form };
}

export function readMeta(privateMetadata: string | undefined): { incidentId?: string; channelId?: string } {
  try {
    return JSON.parse(privateMetadata ?? '{}') as { incidentId?: string; channelId?: string };
  } catch {
    return {};
  }
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function targetLine(t: EscalationView['targets'][number]): string {
  const name = esc(t.name);
  const pd = t.pagerduty?.htmlUrl ? ` (<${t.pagerduty.htmlUrl}|PagerDuty${t.pagerduty.number ? ` #${t.pagerduty.number}` : ''}>)` : '';
  switch (t.status) {
    case 'pending':
      return `:hourglass_flowing_sand: Paging ${name}…`;
    case 'triggered':
      return `:rotating_light: Paged ${name}${t.paged.length ? ` (${esc(t.paged.map((p) => p.name).join(', '))})` : ''}${pd}`;
    case 'acknowledged':
      return `:white_check_mark: ${name}: acknowledged${t.acknowledgedBy.length ? ` by ${esc(t.acknowledgedBy.map((p) => p.name).join(', '))}` : ''}${pd}`;
    case 'resolved':
      return `:heavy_check_mark: ${name}: resolved${pd}`;
    case 'failed':
      return `:x: Paging ${name} failed: ${esc(t.error ?? 'unknown error')}`;
  }
}

const RESPONDER_LINE: Record<string, (name: string) => string> = {
  pending: (n) => `:hourglass_flowing_sand: ${n}: asked, not answered yet`,
  joined: (n) => `:white_check_mark: ${n} joined`,
  declined: (n) => `:no_entry_sign: ${n} declined`,
  user_cancelled: (n) => `:heavy_minus_sign: ${n}: request cancelled`,
};

/** The channel message of an add-responders escalation: the PagerDuty incident and each responder by name with state. */
function respondersMessage(e: EscalationView, r: NonNullable<EscalationView['responderRequest']>): { text: string; blocks: unknown[] } {
  const pd = r.pagerduty.htmlUrl ? `<${r.pagerduty.htmlUrl}|${esc(pdLabel(r.pagerduty))}>` : esc(pdLabel(r.pagerduty));
  const head = `*${esc(e.requester.name)}* asked ${esc(r.targets.map((t) => t.name).join(', '))} to join ${pd}:`;
  const lines =
    r.state === 'failed'
      ? [`:x: Adding responders failed: ${esc(r.error ?? 'unknown error')}`]
      : r.responders.length
        ? r.responders.map((x) => RESPONDER_LINE[x.state]!(`${esc(x.name)}${x.via ? ` (via ${esc(x.via)})` : ''}`))
        : [`:hourglass_flowing_sand: Asking ${esc(r.targets.map((t) => t.name).join(', '))}…`];
  return {
    text: `${e.requester.name} asked ${r.targets.map((t) => t.name).join(', ')} to join ${pdLabel(r.pagerduty)}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${head}\n>${esc(trunc(e.message, 2500)).replace(/\n/g, '\n>')}` } },
      { type: 'section', text: { type: 'mrkdwn', text: trunc(lines.join('\n'), 2900) } },
    ],
  };
}

export function statusMessage(e: EscalationView): { text: string; blocks: unknown[] } {
  if (e.responderRequest) return respondersMessage(e, e.responderRequest);
  const lines = e.targets.map(targetLine);
  const head = `*${esc(e.requester.name)}* is paging through PagerDuty${e.urgency === 'low' ? ' (low urgency)' : ''}:`;
  const failed = e.targets.some((t) => t.status === 'failed');
  return {
    text: `${e.requester.name} is paging through PagerDuty: ${e.targets.map((t) => t.name).join(', ')}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${head}\n>${esc(trunc(e.message, 2500)).replace(/\n/g, '\n>')}` } },
      { type: 'section', text: { type: 'mrkdwn', text: trunc(lines.join('\n'), 2900) } },
      ...(failed ? [{ type: 'actions', block_id: 'escalation', elements: [{ type: 'button', action_id: ACTIONS.retry, text: text('Retry failed'), value: e.id }] }] : []),
    ],
  };
}

export const WOULD_PAGE_BLOCK = 'would_page';

/**
 * The modal's blocks with, right under the policies, one line per chosen policy: "Checkout: would page: Alan Weber
 * (level 1), then Bea Ortiz (level 2)" (none when no policy is chosen). Everything else stays as it is, so the
 * inputs keep what the person typed (Slack keeps input state across views.update for unchanged block ids).
 */
export function withWouldPage(blocks: unknown[], lines: { name: string; text: string }[]): unknown[] {
  const rest = blocks.filter((b) => (b as { block_id?: string }).block_id !== WOULD_PAGE_BLOCK);
  if (!lines.length) return rest;
  const i = rest.findIndex((b) => (b as { block_id?: string }).block_id === 'policies');
  const block = { type: 'context', block_id: WOULD_PAGE_BLOCK, elements: lines.slice(0, 10).map((l) => ({ type: 'mrkdwn', text: trunc(`*${esc(l.name)}*: ${esc(l.text)}`, 1900) })) };
  return [...rest.slice(0, i + 1), block, ...rest.slice(i + 1)];
}

/** The view as views.update takes it (what Slack sends back has fields of its own that an update may not carry). */
export function viewForUpdate(view: { type?: string; callback_id?: string; private_metadata?: string; title?: unknown; submit?: unknown; close?: unknown }, blocks: unknown[]): Record<string, unknown> {
  return { type: 'modal', callback_id: view.callback_id, private_metadata: view.private_metadata, title: view.title, submit: view.submit, close: view.close, blocks };
}
