import type { App as BoltApp, MessageShortcut, SlashCommand, ViewResponseAction } from '@slack/bolt';
import type { FollowUp, FollowUpsService } from '../../../follow-ups/index.js';
import { AppError } from '../../../platform/errors.js';
import { roleAllows, type User } from '../../../users/users.service.js';
import { explain } from '../errors.js';
import { viewerText } from '../messages/replies.js';
import { actorFor } from '../people.js';
import type { SlackContext } from '../slack.context.js';
import { FOLLOW_UP_CALLBACK, FOLLOW_UP_SHORTCUT, followUpView, noIncidentView, plainMessageText, readFollowUp, readMeta, type IncidentChoice } from './follow-ups.view.js';

// Follow-ups from Slack: `/incident follow-up <text>` in an incident channel, and the message shortcut "Create
// follow-up" anywhere (a modal prefilled from the message; the incident is the channel's, or picked in the modal).
// The message's permalink is kept on the follow-up as where it came from.

type Say = (text: string) => Promise<void>;
type Errors = Record<string, string>;
const SUBMIT_BUDGET_MS = 2000;

/** Where the follow-up can be seen in Firebreak. */
function linkTo(ctx: SlackContext, f: FollowUp): string {
  return `${ctx.publicUrl().replace(/\/$/, '')}/incidents/${encodeURIComponent(f.incident.reference)}`;
}

/** What the person is told once it exists (only to them). */
export function createdText(ctx: SlackContext, f: FollowUp): string {
  const clean = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const owner = f.owner ? `, owner ${clean(f.owner.name)}` : '';
  return `:white_check_mark: Follow-up added to ${f.incident.reference}: *${clean(f.title)}* (${f.priority} priority${owner}). <${linkTo(ctx, f)}|Open in Firebreak>`;
}

/** `/incident follow-up <text>` (also `followup`), in an incident channel: the text is the title. */
export async function runFollowUpCommand(ctx: SlackContext, followUps: FollowUpsService, cmd: SlashCommand, incidentId: string, user: User, arg: string, say: Say): Promise<void> {
  if (!arg) return say(`Write the follow-up after the command: \`${cmd.command} follow-up Add an alert on disk usage\`. Or use the message shortcut "Create follow-up" on any message.`);
  const f = await followUps.create(incidentId, { title: arg, source: 'slack' }, actorFor(user));
  await say(createdText(ctx, f));
}

/** Open and recently closed incidents, for the modal's incident picker (when not in an incident channel). */
async function incidentChoices(ctx: SlackContext): Promise<IncidentChoice[]> {
  const [open, closed] = await Promise.all([
    ctx.incidents.listIncidents({ statusCategories: ['triage', 'live'], sort: 'updated', limit: 60 }),
    ctx.incidents.listIncidents({ statusCategories: ['closed'], sort: 'updated', limit: 40 }),
  ]);
  return [...open.incidents, ...closed.incidents].map((i) => ({ id: i.id, reference: i.reference, name: i.name, status: i.status.name }));
}

export function registerFollowUps(bolt: BoltApp, ctx: SlackContext, followUps: FollowUpsService): void {
  bolt.shortcut<MessageShortcut>({ callback_id: FOLLOW_UP_SHORTCUT, type: 'message_action' }, async ({ shortcut, ack, respond }) => {
    await ack();
    const tell = async (text: string) => {
      await respond({ response_type: 'ephemeral', replace_original: false, text }).catch((err: unknown) => ctx.logger.warn({ err }, 'could not answer a message shortcut'));
    };
    try {
      const known = await ctx.people.known(shortcut.user.id);
      if (known && !roleAllows(known.role, 'write')) return tell(viewerText(known));
      const row = await ctx.store.byChannel(shortcut.channel.id);
      const [incident, choices] = row ? [await ctx.incidents.getIncident(row.incident_id), null] : [null, await incidentChoices(ctx)];
      const api = await ctx.connection.requireApi();
      if (!incident && choices!.length === 0) {
        await api.openView(shortcut.trigger_id, noIncidentView());
        return;
      }
      const message = plainMessageText(String(shortcut.message.text ?? ''));
      await api.openView(
        shortcut.trigger_id,
        followUpView(
          { channelId: shortcut.channel.id, messageTs: shortcut.message_ts, incidentId: incident?.id ?? null, responseUrl: shortcut.response_url ?? null },
          message,
          choices,
          incident ? `${incident.reference} ${incident.name}` : null,
        ),
      );
    } catch (err) {
      await tell(explain(err, ctx.logger));
    }
  });

  bolt.view(FOLLOW_UP_CALLBACK, async ({ ack, body, view }) => {
    const send = ack as (r?: ViewResponseAction) => Promise<void>;
    const read = readFollowUp(view.state.values as Parameters<typeof readFollowUp>[0]);
    if (!read.ok) return send({ response_action: 'errors', errors: read.errors });
    const form = read.form;
    const meta = readMeta(view.private_metadata);
    const hasIncidentBlock = (view.blocks as { block_id?: string }[]).some((b) => b.block_id === 'incident');
    const fallback = hasIncidentBlock ? 'incident' : 'title';
    let created: FollowUp | null = null;
    const work = (async (): Promise<Errors | null> => {
      const incidentId = form.incidentId ?? meta.incidentId;
      if (!incidentId) return { [fallback]: 'Pick the incident this follow-up belongs to.' };
      let user: User;
      try {
        user = (await ctx.people.known(body.user.id)) ?? (await ctx.people.resolve(body.user.id));
      } catch (err) {
        return { [fallback]: explain(err, ctx.logger) };
      }
      if (!roleAllows(user.role, 'write')) return { [fallback]: viewerText(user) };
      let ownerUserId: string | null = null;
      if (form.ownerSlackId) {
        try {
          ownerUserId = (await ctx.people.resolve(form.ownerSlackId)).id;
        } catch (err) {
          return { owner: explain(err, ctx.logger) };
        }
      }
      const api = await ctx.connection.requireApi();
      // The message's permalink is where the follow-up came from (the view id makes a double submit one follow-up); without it (a channel the app cannot see) it
      // is still made.
      const sourceRef = meta.channelId && meta.messageTs ? await api.permalink(meta.channelId, meta.messageTs).catch((err: unknown) => (ctx.logger.warn({ err }, 'no permalink for the follow-up message'), null)) : null;
      try {
        created = await followUps.create(incidentId, { title: form.title, description: form.description, ownerUserId, priority: form.priority as FollowUp['priority'], source: 'slack', sourceRef, idempotencyKey: `slack:view:${view.id}` }, actorFor(user));
      } catch (err) {
        if (err instanceof AppError) {
          const path = ((err.details?.fields as { path: string }[] | undefined) ?? [])[0]?.path;
          return { [path === 'owner_user_id' ? 'owner' : path === 'title' ? 'title' : fallback]: err.message };
        }
        throw err;
      }
      return null;
    })();
    let timer: NodeJS.Timeout | undefined;
    const late = Symbol('late');
    const first = await Promise.race([work, new Promise<typeof late>((r) => (timer = setTimeout(() => r(late), SUBMIT_BUDGET_MS)))]).finally(() => clearTimeout(timer));
    if (first !== late) await send(first ? { response_action: 'errors', errors: first } : undefined);
    else {
      await send();
      const errors = await work.catch((err: unknown) => ({ error: explain(err, ctx.logger) }));
      if (errors) {
        const api = await ctx.connection.api();
        await api?.dm(body.user.id, `:warning: Creating the follow-up did not work: ${Object.values(errors).join(' ')}`).catch(() => {});
        return;
      }
    }
    if (!created) return;
    const api = await ctx.connection.api();
    const text = createdText(ctx, created);
    try {
      if (meta.responseUrl && api) await api.respond(meta.responseUrl, { response_type: 'ephemeral', replace_original: false, text });
      else await api?.dm(body.user.id, text);
    } catch (err) {
      ctx.logger.warn({ err }, 'could not confirm the follow-up to the person');
    }
  });
}
