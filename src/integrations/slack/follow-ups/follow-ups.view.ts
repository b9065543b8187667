// The "Create follow-up" modal (the message shortcut): title and description prefilled from the message, an
// owner picked among Slack people, a priority, and, outside an incident channel, which incident it belongs to.

export const FOLLOW_UP_SHORTCUT = 'firebreak_create_follow_up';
export const FOLLOW_UP_CALLBACK = 'firebreak_follow_up';
export const FOLLOW_UP_ACTIONS = { title: 'fu_title', description: 'fu_description', owner: 'fu_owner', priority: 'fu_priority', incident: 'fu_incident' } as const;
export const TITLE_MAX = 200;
const DESCRIPTION_MAX = 3000; // Slack's limit for a plain_text_input
const PRIORITIES = [
  { value: 'urgent', label: 'Urgent' },
  { value: 'high', label: 'High' },
  { value: 'medium', label: 'Medium' },
  { value: 'low', label: 'Low' },
] as const;

const text = (t: string) => ({ type: 'plain_text' as const, text: t });
const trunc = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

export interface FollowUpMeta {
  /** Where the message is (for its permalink). */
  channelId: string;
  messageTs: string;
  /** The channel's incident; null when the person picks it in the modal. */
  incidentId: string | null;
  /** The shortcut's response_url: the confirmation goes there, only to the person. */
  responseUrl: string | null;
}

export interface IncidentChoice {
  id: string;
  reference: string;
  name: string;
  status: string;
}

/** Slack's mrkdwn as a person reads it: links as their label, mentions and channels as written, entities decoded. */
export function plainMessageText(s: string): string {
  return s
    .replace(/<(?:https?:|mailto:)[^|>]*\|([^>]*)>/g, '$1')
    .replace(/<((?:https?:|mailto:)[^>]*)>/g, '$1')
    .replace(/<[@#!][^|>]*\|([^>]*)>/g, (_m, label: string) => label)
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .trim();
}

/** A title from a message: its first line, at most TITLE_MAX characters. */
export function titleFrom(message: string): string {
  const first = message.split('\n').find((l) => l.trim()) ?? '';
  return trunc(first.trim(), TITLE_MAX);
}

export function followUpView(meta: FollowUpMeta, message: string, incidents: IncidentChoice[] | null, incidentName: string | null): Record<string, unknown> {
  const priorities = PRIORITIES.map((p) => ({ text: text(p.label), value: p.value }));
  const blocks: Record<string, unknown>[] = [];
  if (incidentName) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `For *${incidentName.replace(/[<>&*_~`]/g, '')}*` }] });
  if (incidents) {
    blocks.push({
      type: 'input',
      block_id: 'incident',
      label: text('Incident'),
      hint: text('Open incidents first, then recently closed ones.'),
      element: {
        type: 'static_select',
        action_id: FOLLOW_UP_ACTIONS.incident,
        placeholder: text('Pick the incident'),
        options: incidents.slice(0, 100).map((i) => ({ text: text(trunc(`${i.reference} ${i.name}`, 75)), description: text(trunc(i.status, 75)), value: i.id })),
      },
    });
  }
  blocks.push(
    {
      type: 'input',
      block_id: 'title',
      label: text('Title'),
      element: { type: 'plain_text_input', action_id: FOLLOW_UP_ACTIONS.title, max_length: TITLE_MAX, ...(message ? { initial_value: titleFrom(message) } : {}) },
    },
    {
      type: 'input',
      block_id: 'description',
      optional: true,
      label: text('Description'),
      element: { type: 'plain_text_input', action_id: FOLLOW_UP_ACTIONS.description, multiline: true, max_length: DESCRIPTION_MAX, ...(message ? { initial_value: trunc(message, DESCRIPTION_MAX) } : {}) },
    },
    { type: 'input', block_id: 'owner', optional: true, label: text('Owner'), element: { type: 'users_select', action_id: FOLLOW_UP_ACTIONS.owner, placeholder: text('Who will do it?') } },
    { type: 'input', block_id: 'priority', label: text('Priority'), element: { type: 'static_select', action_id: FOLLOW_UP_ACTIONS.priority, options: priorities, initial_option: priorities[2] } },
  );
  return {
    type: 'modal',
    callback_id: FOLLOW_UP_CALLBACK,
    private_metadata: JSON.stringify(meta),
    title: text('Create follow-up'),
    submit: text('Create'),
    close: text('Cancel'),
    blocks,
  };
}

/** The modal shown instead when there is no incident to attach a follow-up to. */
export function noIncidentView(): Record<string, unknown> {
  return {
    type: 'modal',
    title: text('Create follow-up'),
    close: text('Close'),
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'There is no incident to add a follow-up to yet. Declare one with `/incident declare`, then use this shortcut again.' } }],
  };
}

type Values = Record<string, Record<string, { value?: string | null; selected_option?: { value: string } | null; selected_user?: string | null }>>;

export function readFollowUp(values: Values): { ok: true; form: { title: string; description: string; ownerSlackId: string | null; priority: string; incidentId: string | null } } | { ok: false; errors: Record<string, string> } {
  const title = (values.title?.[FOLLOW_UP_ACTIONS.title]?.value ?? '').trim();
  if (!title) return { ok: false, errors: { title: 'Give the follow-up a title.' } };
  if (title.length > TITLE_MAX) return { ok: false, errors: { title: `At most ${TITLE_MAX} characters.` } };
  return {
    ok: true,
    form: {
      title,
      description: (values.description?.[FOLLOW_UP_ACTIONS.description]?.value ?? '').trim(),
      ownerSlackId: values.owner?.[FOLLOW_UP_ACTIONS.owner]?.selected_user ?? null,
      priority: values.priority?.[FOLLOW_UP_ACTIONS.priority]?.selected_option?.value ?? 'medium',
      incidentId: values.incident?.[FOLLOW_UP_ACTIONS.incident]?.selected_option?.value ?? null,
    },
  };
}

export function readMeta(raw: string | undefined): Partial<FollowUpMeta> {
  try {
    const m = JSON.parse(raw ?? '{}') as Partial<FollowUpMeta>;
    return typeof m === 'object' && m ? m : {};
  } catch {
    return {};
  }
}
