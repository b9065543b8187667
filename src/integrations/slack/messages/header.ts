import type { Incident } from '../../../incidents/incidents.service.js';

// The header message pinned at the top of an incident channel, and the announcement. Plain functions of the
// incident, so a re-render after any change shows the current state.

export interface SlackText {
  text: string;
  blocks: unknown[];
}

export function incidentUrl(publicUrl: string, incident: Pick<Incident, 'reference'>): string {
  return `${publicUrl}/incidents/${incident.reference}`;
}

/** Slack mrkdwn needs &, < and > escaped in text a person typed. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Custom fields shown in the header: at most this many (a section holds 10 fields; four are built in). */
const HEADER_CUSTOM_FIELDS = 6;
const HEADER_VALUE_MAX = 200;

/** The incident's values of the fields shown in the declare form, by name, short enough for the header. */
export function headerFields(incident: Pick<Incident, 'customFields'>, shownFieldIds: ReadonlySet<string>): { name: string; value: string }[] {
  return incident.customFields
    .filter((v) => shownFieldIds.has(v.field.id) && v.display.length)
    .slice(0, HEADER_CUSTOM_FIELDS)
    .map((v) => {
      const value = v.display.map((d) => (d.archived ? `${d.label} (archived)` : d.label)).join(', ');
      return { name: v.field.name, value: value.length <= HEADER_VALUE_MAX ? value : `${value.slice(0, HEADER_VALUE_MAX - 1)}…` };
    });
}

/** Roles someone holds on the incident, in rank order (the lead is shown on its own). */
export function heldRoles(incident: Pick<Incident, 'roles'>): { role: string; userId: string; name: string }[] {
  return incident.roles.filter((r) => r.user).map((r) => ({ role: r.role.name, userId: r.user!.id, name: r.user!.name }));
}

/** `roleSlackIds`: Firebreak user id → Slack user id of the people holding roles (mentioned when known). */
export function headerMessage(incident: Incident, publicUrl: string, leadSlackId: string | null, shownFieldIds: ReadonlySet<string> = new Set(), roleSlackIds: ReadonlyMap<string, string> = new Map()): SlackText {
  const url = incidentUrl(publicUrl, incident);
  const lead = incident.lead ? (leadSlackId ? `<@${leadSlackId}>` : esc(incident.lead.name)) : 'nobody yet';
  const leadPlain = incident.lead ? incident.lead.name : 'nobody yet';
  const custom = headerFields(incident, shownFieldIds);
  const roles = heldRoles(incident).slice(0, 10);
  const text = `${incident.reference}: ${incident.name} | Status: ${incident.status.name} | Severity: ${incident.severity.name} | Lead: ${leadPlain}${roles.map((r) => ` | ${r.role}: ${r.name}`).join('')}${custom.map((c) => ` | ${c.name}: ${c.value}`).join('')} | ${url}`;
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: `${incident.reference}: ${incident.name}`.slice(0, 150) } },
    {
      type: 'section',
      block_id: 'fields',
      fields: [
        { type: 'mrkdwn', text: `*Status*\n${esc(incident.status.name)}` },
        { type: 'mrkdwn', text: `*Severity*\n${esc(incident.severity.name)}` },
        { type: 'mrkdwn', text: `*Lead*\n${lead}` },
        { type: 'mrkdwn', text: `*Reference*\n<${url}|${incident.reference}>` },
        ...custom.map((c) => ({ type: 'mrkdwn', text: `*${esc(c.name)}*\n${esc(c.value)}` })),
      ],
    },
    ...(roles.length
      ? [{ type: 'section', block_id: 'roles', fields: roles.map((r) => ({ type: 'mrkdwn', text: `*${esc(r.role)}*\n${roleSlackIds.get(r.userId) ? `<@${roleSlackIds.get(r.userId)}>` : esc(r.name)}` })) }]
      : []),
    ...(incident.summary ? [{ type: 'section', block_id: 'summary', text: { type: 'mrkdwn', text: `*Summary*\n${esc(incident.summary).slice(0, 2900)}` } }] : []),
    { type: 'context', elements: [{ type: 'mrkdwn', text: `<${url}|Open ${incident.reference} in Firebreak> · \`/incident help\` for commands` }] },
  ];
  return { text, blocks };
}

export interface AnnouncementExtras {
  /** mrkdwn: what the incident was opened from (a PagerDuty incident), kept on every re-render. */
  detail?: string | null;
  /** Elements of the Accept / Decline / Merge actions block, shown only while the incident is in triage. */
  triageActions?: unknown[] | null;
  /** The triage decision in words ("Accepted by Valentina Ruiz at 13:24 UTC"). */
  outcome?: string | null;
  /** Custom fields shown in the header (those of the declare form), by name. */
  fields?: { name: string; value: string }[];
}

const OPEN = new Set(['triage', 'live']);

/**
 * The announcement in the announcements channel, re-rendered with chat.update whenever the incident changes:
 * current status, severity and lead, a link to the incident page and to its channel, and (for incidents opened
 * from PagerDuty) the triage buttons while they still mean something, then the decision in words.
 */
export function announcementMessage(incident: Incident, publicUrl: string, channelId: string | null, extras: AnnouncementExtras = {}): SlackText {
  const url = incidentUrl(publicUrl, incident);
  const open = OPEN.has(incident.status.category);
  const lead = incident.lead ? incident.lead.name : 'nobody yet';
  const fromPagerDuty = !!extras.detail;
  const verb = fromPagerDuty ? (incident.status.category === 'triage' ? 'opened from PagerDuty, needs triage' : 'opened from PagerDuty') : 'declared';
  const icon = open ? ':rotating_light:' : ':white_check_mark:';
  const channel = channelId ? `<#${channelId}>` : null;
  const text = `${icon} ${incident.reference} ${verb}: ${incident.name} (${incident.status.name}, ${incident.severity.name}, lead: ${lead}).${channel ? ` Channel ${channel}` : ''} · ${url}`;
  const head = [
    `${icon} *<${url}|${incident.reference}: ${esc(incident.name)}>* ${verb}`,
    `Status *${esc(incident.status.name)}* · Severity *${esc(incident.severity.name)}* · Lead *${esc(lead)}*`,
    extras.fields?.length ? extras.fields.map((f) => `${esc(f.name)}: *${esc(f.value)}*`).join(' · ') : null,
    channel ? (open ? `Join ${channel} to help.` : `Channel: ${channel}`) : null,
  ].filter(Boolean);
  const blocks: unknown[] = [{ type: 'section', block_id: 'announcement', text: { type: 'mrkdwn', text: head.join('\n') } }];
  if (extras.detail) blocks.push({ type: 'section', block_id: 'source', text: { type: 'mrkdwn', text: extras.detail.slice(0, 2900) } });
  if (extras.outcome) blocks.push({ type: 'context', block_id: 'outcome', elements: [{ type: 'mrkdwn', text: esc(extras.outcome) }] });
  if (incident.status.category === 'triage' && extras.triageActions?.length) blocks.push({ type: 'actions', block_id: 'triage', elements: extras.triageActions });
  return { text: extras.outcome ? `${text} ${extras.outcome}.` : text, blocks };
}

const TOPIC_MAX = 250;

/** The incident channel's topic: what people check first, kept current. */
export function topicText(incident: Incident): string {
  const t = `Status: ${incident.status.name} | Severity: ${incident.severity.name} | Lead: ${incident.lead ? incident.lead.name : 'nobody yet'}${heldRoles(incident).map((r) => ` | ${r.role}: ${r.name}`).join('')}`;
  return t.length <= TOPIC_MAX ? t : `${t.slice(0, TOPIC_MAX - 1)}…`;
}
