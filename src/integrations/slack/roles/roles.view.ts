import type { Incident } from '../../../incidents/incidents.service.js';
import type { IncidentRole } from '../../../incidents/roles/index.js';

// The `/incident role` modal: which role (the live ones, with their descriptions) and who takes it (a Slack user
// picker; left empty, the role is taken from whoever holds it).

export const ROLE_CALLBACK = 'firebreak_role';

export function roleView(incident: Incident, roles: IncidentRole[]): Record<string, unknown> {
  const opt = (r: IncidentRole) => {
    const holder = incident.roles.find((x) => x.role.id === r.id)?.user?.name;
    const description = [r.description, holder ? `now: ${holder}` : null].filter(Boolean).join(' · ');
    return { text: { type: 'plain_text', text: r.name.slice(0, 75) }, value: r.id, ...(description ? { description: { type: 'plain_text', text: description.slice(0, 75) } } : {}) };
  };
  return {
    type: 'modal',
    callback_id: ROLE_CALLBACK,
    private_metadata: JSON.stringify({ incidentId: incident.id }),
    title: { type: 'plain_text', text: `Roles on ${incident.reference}`.slice(0, 24) },
    submit: { type: 'plain_text', text: 'Assign' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `Lead: *${incident.lead ? incident.lead.name.replace(/[&<>]/g, '') : 'nobody yet'}* (change it with \`/incident lead @someone\`)` }],
      },
      { type: 'input', block_id: 'role', label: { type: 'plain_text', text: 'Role' }, element: { type: 'static_select', action_id: 'value', options: roles.slice(0, 100).map(opt) } },
      {
        type: 'input',
        block_id: 'user',
        optional: true,
        label: { type: 'plain_text', text: 'Person' },
        hint: { type: 'plain_text', text: 'Leave empty to take the role from whoever holds it.' },
        element: { type: 'users_select', action_id: 'value' },
      },
    ],
  };
}

export function readRole(values: Record<string, Record<string, any>>): { roleId: string; slackUserId: string | null } {
  const user = values.user?.value?.selected_user;
  return { roleId: String(values.role?.value?.selected_option?.value ?? ''), slackUserId: typeof user === 'string' && user ? user : null };
}
