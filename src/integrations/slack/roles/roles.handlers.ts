import type { App as BoltApp, SlashCommand, ViewResponseAction } from '@slack/bolt';
import { AppError } from '../../../platform/errors.js';
import { roleAllows } from '../../../users/users.service.js';
import { explain } from '../errors.js';
import { viewerText } from '../messages/replies.js';
import { actorFor } from '../people.js';
import type { SlackContext } from '../slack.context.js';
import { readMeta } from '../views/declare.view.js';
import { ackWithin, writer } from '../views/submissions.js';
import { readRole, ROLE_CALLBACK, roleView } from './roles.view.js';

// `/incident role` in an incident channel. With nothing after it a modal opens (role and person); with
// `<role name> @person` the role is given at once (`none` instead of a person takes it away). Role names match
// without case; an unknown name is answered with the names there are. The channel hears of the change from the
// timeline (core-events.ts), like any other change, and its header shows who holds which role.

type Say = (text: string) => Promise<void>;

const MENTION = /^(.*?)\s*<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$/;
const NOBODY = /^(.*?)\s+(none|nobody)$/i;

export async function runRoleCommand(ctx: SlackContext, cmd: SlashCommand, incidentId: string, arg: string, say: Say): Promise<void> {
  const roles = await ctx.roles.list();
  if (roles.length === 0) return say(`No roles are defined yet besides the lead (\`${cmd.command} lead @someone\`). An admin adds them in Firebreak: ${ctx.publicUrl()}/settings/roles`);
  if (!arg) return openRoleModal(ctx, cmd, incidentId, say);

  const mention = MENTION.exec(arg);
  const nobody = mention ? null : NOBODY.exec(arg);
  const usage = `\`${cmd.command} role <role> @someone\` gives a role (\`none\` instead of a person takes it away), or \`${cmd.command} role\` opens a form.`;
  if (!mention && !nobody) return say(`Mention who takes the role: ${usage}`);
  const name = (mention?.[1] ?? nobody?.[1] ?? '').trim();
  const role = name ? await ctx.roles.findByName(name) : null;
  if (!role) {
    const names = roles.map((r) => r.name).join(', ');
    return say(`${name ? `There is no role named "${name}"` : 'Name the role'}. Roles: ${names} (and the lead: \`${cmd.command} lead @someone\`). ${usage}`);
  }
  const user = await ctx.people.resolve(cmd.user_id);
  if (!roleAllows(user.role, 'write')) return say(viewerText(user));
  const holder = mention ? await ctx.people.resolve(mention[2]!) : null;
  await ctx.roles.assign(incidentId, role.id, holder?.id ?? null, actorFor(user));
}

/** Known viewers are refused at once; others get the form while we look them up (checked again on submit). */
async function openRoleModal(ctx: SlackContext, cmd: SlashCommand, incidentId: string, say: Say): Promise<void> {
  const known = await ctx.people.known(cmd.user_id);
  if (known && !roleAllows(known.role, 'write')) return say(viewerText(known));
  const [incident, roles] = await Promise.all([ctx.incidents.getIncident(incidentId), ctx.roles.list()]);
  const api = await ctx.connection.requireApi();
  const [opened, person] = await Promise.allSettled([api.openView(cmd.trigger_id, roleView(incident, roles)), known ? Promise.resolve(known) : ctx.people.resolve(cmd.user_id)]);
  if (opened.status === 'rejected') return say(explain(opened.reason, ctx.logger));
  if (person.status === 'rejected') return say(explain(person.reason, ctx.logger));
}

type Ack = (response?: ViewResponseAction) => Promise<void>;

export function registerRoles(bolt: BoltApp, ctx: SlackContext): void {
  bolt.view(ROLE_CALLBACK, async ({ ack, body, view }) => {
    const work = (async (): Promise<Record<string, string> | null> => {
      const { incidentId } = readMeta(view.private_metadata);
      if (!incidentId) return { role: 'This form lost track of its incident; run /incident role again.' };
      const who = await writer(ctx, body.user.id);
      if ('refusal' in who) return { role: who.refusal };
      const input = readRole(view.state.values);
      if (!input.roleId) return { role: 'Pick a role.' };
      let holderId: string | null = null;
      if (input.slackUserId) {
        try {
          holderId = (await ctx.people.resolve(input.slackUserId)).id;
        } catch (err) {
          return { user: explain(err, ctx.logger) };
        }
      }
      try {
        await ctx.roles.assign(incidentId, input.roleId, holderId, actorFor(who.user));
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        const path = (err.details?.fields as { path?: string }[] | undefined)?.[0]?.path;
        return { [path === 'user_id' ? 'user' : 'role']: err.message };
      }
      return null;
    })();
    await ackWithin(ctx, ack as Ack, body.user.id, 'Assigning the role', work);
  });
}
