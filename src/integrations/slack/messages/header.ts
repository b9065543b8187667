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

export function headerMessage(incident: Incident, publicUrl: string, leadSlackId: string | null, shownFieldIds: ReadonlySet<string> = new Set()): SlackText {
  const url = incidentUrl(publicUrl, incident);
  const lead = incident.lead ? (leadSlackId ? `<@${leadSlackId}>` : esc(incident.lead.name)) : 'nobody yet';
  const leadPlain = incident.lead ? incident.lead.name : 'nobody yet';
  const custom = headerFields(incident, shownFieldIds);
  const text = `${incident.reference}: ${incident.name} | Status: ${incident.status.name} | Severity: ${incident.severity.name} | Lead: ${leadPlain}${custom.map((c) => ` | ${c.name}: ${c.value}`).join('')} | ${url}`;
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
    ...(incident.summary ? [{ type: 'section', block_id: 'summary', text: { type: 'mrkdwn', text: `*Summary*\n${esc(incident.summary).slice(0, 2900)}` } }] : []),
    { type: 'context', elements: [{ type: 'mrkdwn', text: `<${url}|Open ${incident.reference} in Firebreak> · \`/incident help\` for commands` }] },
  ];
  return { text, blocks };
}

export function announcementMessage(incident: Incident, publicUrl: string, channelId: string): SlackText {
  const url = incidentUrl(publicUrl, incident);
  const text = `:rotating_light: ${incident.reference} declared: ${incident.name} (${incident.severity.name}, ${incident.status.name}). Join <#${channelId}> · ${url}`;
  return {
    text,
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `:rotating_light: *<${url}|${incident.reference}: ${esc(incident.name)}>*\nSeverity *${esc(incident.severity.name)}* · Status *${esc(incident.status.name)}*\nJoin <#${channelId}> to help.`,
        },
      },
    ],
  };
}
