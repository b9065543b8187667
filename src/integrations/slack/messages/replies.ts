import type { User } from '../../../users/users.service.js';

// What the app says back to one person (ephemeral): help, where to run a command, why not.

export const SUBCOMMANDS: { usage: string; what: string; inChannel: boolean }[] = [
  { usage: 'declare [name]', what: 'declare a new incident (a form opens)', inChannel: false },
  { usage: 'update', what: 'post an update: what changed, with status, severity and summary', inChannel: true },
  { usage: 'field', what: "set the incident's custom fields, such as affected services (also: fields)", inChannel: true },
  { usage: 'resolve', what: 'close the incident (also: close)', inChannel: true },
  { usage: 'lead @someone', what: 'make someone the incident lead', inChannel: true },
  { usage: 'role [<role> @someone]', what: 'give a role such as Communications or Scribe (a form opens without arguments)', inChannel: true },
  { usage: 'note <text>', what: 'add a note to the timeline', inChannel: true },
  { usage: 'follow-up <text>', what: 'add a follow-up to the incident (or use the message shortcut "Create follow-up")', inChannel: true },
  { usage: 'accept', what: 'accept a triage incident', inChannel: true },
  { usage: 'decline [reason]', what: 'decline a triage incident', inChannel: true },
  { usage: 'escalate', what: 'page escalation policies and people through PagerDuty', inChannel: true },
  { usage: 'workflows', what: 'run a workflow by hand on the incident (a form opens when it asks for details)', inChannel: true },
  { usage: 'oncall [service | team | policy]', what: 'who is on call now in PagerDuty, by escalation level (only you see it)', inChannel: false },
  { usage: 'pd link <url-or-id>', what: 'attach a related PagerDuty incident and mirror its activity onto the timeline', inChannel: true },
  { usage: 'help', what: 'show this help', inChannel: false },
];

export function helpText(command: string, prefix?: string): string {
  const lines = SUBCOMMANDS.map((s) => `• \`${command} ${s.usage}\` ${s.what}${s.inChannel ? ' _(in an incident channel)_' : ''}`);
  return [prefix, `*${command}* runs incidents from Slack:`, ...lines].filter(Boolean).join('\n');
}

export function outsideChannelText(command: string, sub: string, example: string | null): string {
  return `\`${command} ${sub}\` works in an incident's channel${example ? `, such as <#${example}>` : ''}. Run it there, or \`${command} declare\` to declare a new incident.`;
}

export function viewerText(user: User): string {
  return `You are a ${user.role} in Firebreak: you can follow incidents but not change them. Ask a Firebreak admin to make you a responder.`;
}
