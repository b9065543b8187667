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

export function headerMessage(incident: Incident, publicUrl: string, leadSlackId: string | null): SlackText {
  const url = incidentUrl(publicUrl, incident);
  const lead = incident.lead ? (leadSlackId ? `<@${leadSlackId}>` : esc(incident.lead.name)) : 'nobody yet';
  const leadPlain = incident.lead ? incident.lead.name : 'nobody yet';
  const text = `${incident.reference}: ${incident.name} | Status: ${incident.status.name} | Severity: ${incident.severity.name} | Lead: ${leadPlain} | ${url}`;
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
