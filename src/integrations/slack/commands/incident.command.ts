import type { App as BoltApp, RespondFn, SlashCommand } from '@slack/bolt';
import { roleAllows, type User } from '../../../users/users.service.js';
import { explain, unescapeSlack } from '../errors.js';
import { openEscalate } from '../escalate/escalate.handlers.js';
import { runFollowUpCommand } from '../follow-ups/follow-ups.handlers.js';
import { runPagerDutyCommand } from '../pagerduty-links/pagerduty-links.handlers.js';
import { runOnCallCommand } from '../oncall/oncall.handlers.js';
import { helpText, outsideChannelText, viewerText } from '../messages/replies.js';
import { listWorkflows, type Reply } from '../workflows/workflows.handlers.js';
import { actorFor } from '../people.js';
import { runRoleCommand } from '../roles/roles.handlers.js';
import type { SlackContext } from '../slack.context.js';
import { declareFieldBlocksFor, fieldsModalFor, noFieldsText } from '../views/custom-fields.handlers.js';
import { MAX_BLOCKS } from '../views/custom-fields.view.js';
import { DECLARE_BUILTIN_BLOCKS, declareView } from '../views/declare.view.js';
import { updateView } from '../views/update.view.js';

// `/incident` (alias `/inc`). Every command is acknowledged first, with an empty body, well inside Slack's
// 3 seconds; modals open right after with the trigger id; everything else answers the person through the
// response_url (ephemeral) while the channel learns about changes from the domain events (core-events.ts).

const IN_CHANNEL = new Set(['update', 'field', 'fields', 'resolve', 'close', 'lead', 'role', 'roles', 'note', 'accept', 'decline', 'follow-up', 'followup']);

type Say = (text: string) => Promise<void>;

export function registerIncidentCommand(bolt: BoltApp, ctx: SlackContext): void {
  for (const name of ['/incident', '/inc']) {
    bolt.command(name, async ({ command, ack, respond }) => {
      await ack();
      const say = sayVia(respond, ctx);
      const reply: Reply = async (msg) => {
        try {
          await respond({ response_type: 'ephemeral', ...msg });
        } catch (err) {
          ctx.logger.error({ err }, 'could not answer a Slack command through its response_url');
        }
      };
      try {
        await run(ctx, command, say, reply);
      } catch (err) {
        await say(explain(err, ctx.logger));
      }
    });
  }
}

function sayVia(respond: RespondFn, ctx: SlackContext): Say {
  return async (text) => {
    try {
      await respond({ response_type: 'ephemeral', text });
    } catch (err) {
      ctx.logger.error({ err }, 'could not answer a Slack command through its response_url');
    }
  };
}

async function run(ctx: SlackContext, cmd: SlashCommand, say: Say, reply: Reply): Promise<void> {
  const text = unescapeSlack(cmd.text ?? '').trim();
  const first = text.split(/\s+/)[0] ?? '';
  const sub = first.toLowerCase();
  const arg = text.slice(first.length).trim();
  if (sub === '' || sub === 'declare') return openDeclare(ctx, cmd, say, sub === 'declare' ? arg : '');
  if (sub === 'help') return say(helpText(cmd.command));
  if (sub === 'escalate') return openEscalate(ctx, ctx.escalations, cmd, say);
  if (sub === 'oncall' || sub === 'on-call') return runOnCallCommand(ctx, ctx.oncall, cmd, arg, reply);
  if (sub === 'pd') return runPagerDutyCommand(ctx, ctx.pagerdutyLinks, cmd, arg, say);
  if (sub === 'workflows' || sub === 'workflow') return listWorkflows(ctx, ctx.workflows, cmd, say, reply);
  if (!IN_CHANNEL.has(sub)) return say(helpText(cmd.command, `I don't know \`${cmd.command} ${first}\`.`));

  const row = await ctx.store.byChannel(cmd.channel_id);
  if (!row) return say(outsideChannelText(cmd.command, sub, await ctx.store.latestChannel()));
  const incidentId = row.incident_id;

  if (sub === 'update') return openUpdate(ctx, cmd, incidentId, say);
  if (sub === 'field' || sub === 'fields') return openFields(ctx, cmd, incidentId, say);
  if (sub === 'role' || sub === 'roles') return runRoleCommand(ctx, cmd, incidentId, arg, say);

  const user = await ctx.people.resolve(cmd.user_id);
  if (!roleAllows(user.role, 'write')) return say(viewerText(user));
  const actor = actorFor(user);
  switch (sub) {
    case 'resolve':
    case 'close':
      await ctx.incidents.close(incidentId, actor);
      return;
    case 'accept':
      await ctx.incidents.accept(incidentId, {}, actor);
      return;
    case 'decline':
      await ctx.incidents.decline(incidentId, { reason: arg || undefined }, actor);
      return;
    case 'note':
      if (!arg) return say(`Write the note after the command: \`${cmd.command} note Rolled back the deploy\`.`);
      await ctx.incidents.addNote(incidentId, arg, actor);
      return;
    case 'follow-up':
    case 'followup':
      return runFollowUpCommand(ctx, ctx.followUps, cmd, incidentId, user, arg, say);
    case 'lead': {
      const m = /^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$/.exec(arg);
      if (!m) return say(`Mention the new lead: \`${cmd.command} lead @someone\`.`);
      const lead = await ctx.people.resolve(m[1]!);
      await ctx.incidents.setLead(incidentId, lead.id, actor);
      return;
    }
  }
}

/** Known viewers are refused at once; unknown people get the form while we look them up (checked on submit). */
async function refuseKnownViewer(ctx: SlackContext, slackUserId: string, say: Say): Promise<{ refused: boolean; known: User | null }> {
  const known = await ctx.people.known(slackUserId);
  if (known && !roleAllows(known.role, 'write')) {
    await say(viewerText(known));
    return { refused: true, known };
  }
  return { refused: false, known };
}

async function openModal(ctx: SlackContext, cmd: SlashCommand, known: User | null, view: Record<string, unknown>, say: Say): Promise<void> {
  const api = await ctx.connection.requireApi();
  const [opened, person] = await Promise.allSettled([api.openView(cmd.trigger_id, view), known ? Promise.resolve(known) : ctx.people.resolve(cmd.user_id)]);
  if (opened.status === 'rejected') return say(explain(opened.reason, ctx.logger));
  if (person.status === 'rejected') return say(explain(person.reason, ctx.logger));
}

async function openDeclare(ctx: SlackContext, cmd: SlashCommand, say: Say, name: string): Promise<void> {
  const { refused, known } = await refuseKnownViewer(ctx, cmd.user_id, say);
  if (refused) return;
  const [severities, fieldBlocks] = await Promise.all([ctx.incidents.listSeverities(), declareFieldBlocksFor(ctx, MAX_BLOCKS - DECLARE_BUILTIN_BLOCKS)]);
  await openModal(ctx, cmd, known, declareView(severities, { channelId: cmd.channel_id, responseUrl: cmd.response_url }, name, fieldBlocks), say);
}

async function openFields(ctx: SlackContext, cmd: SlashCommand, incidentId: string, say: Say): Promise<void> {
  const { refused, known } = await refuseKnownViewer(ctx, cmd.user_id, say);
  if (refused) return;
  const view = await fieldsModalFor(ctx, await ctx.incidents.getIncident(incidentId));
  if (!view) return say(noFieldsText(ctx.publicUrl()));
  await openModal(ctx, cmd, known, view, say);
}

async function openUpdate(ctx: SlackContext, cmd: SlashCommand, incidentId: string, say: Say): Promise<void> {
  const { refused, known } = await refuseKnownViewer(ctx, cmd.user_id, say);
  if (refused) return;
  const [incident, statuses, severities] = await Promise.all([ctx.incidents.getIncident(incidentId), ctx.incidents.listStatuses(), ctx.incidents.listSeverities()]);
  await openModal(ctx, cmd, known, updateView(incident, statuses, severities), say);
}
