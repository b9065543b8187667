import type { App as BoltApp, SlashCommand, ViewResponseAction } from '@slack/bolt';
import { AppError } from '../../../platform/errors.js';
import { roleAllows, type User } from '../../../users/users.service.js';
import { explain } from '../errors.js';
import { outsideChannelText, viewerText } from '../messages/replies.js';
import { actorFor } from '../people.js';
import type { SlackContext } from '../slack.context.js';
import { ACTIONS, ESCALATE_CALLBACK, escalateView, optionOf, readEscalate, readMeta, statusMessage, viewForUpdate, withWouldPage } from './escalate.view.js';
import type { EscalationPort } from './port.js';

// /incident escalate: the modal (external selects searched through the escalation port, so lists of
// thousands work), its submission (validated, written, acked; paging happens in jobs), the status message in
// the channel that follows each target, and its retry button.

export const ESCALATION_MESSAGE_JOB = 'slack.escalation_message';
const SUBMIT_BUDGET_MS = 2500;

type Say = (text: string) => Promise<void>;
type Errors = Record<string, string>;

export function notConnectedText(publicUrl: string): string {
  return `PagerDuty is not connected to Firebreak, so there is nobody to page yet. An admin can connect it in Firebreak: ${publicUrl.replace(/\/$/, '')}/settings/integrations (Settings → Integrations → PagerDuty), or with \`firebreak pagerduty connect\`.`;
}

/** The `escalate` subcommand (called by the command router). */
export async function openEscalate(ctx: SlackContext, port: EscalationPort | undefined, cmd: SlashCommand, say: Say): Promise<void> {
  const row = await ctx.store.byChannel(cmd.channel_id);
  if (!row) return say(outsideChannelText(cmd.command, 'escalate', null));
  if (!port || !(await port.connected())) return say(notConnectedText(ctx.publicUrl()));
  const known = await ctx.people.known(cmd.user_id);
  if (known && !roleAllows(known.role, 'write')) return say(viewerText(known));
  const [suggested, priorities, open] = await Promise.all([port.suggestedPolicies(row.incident_id), port.listPriorities(), port.openPagerDutyIncidents(row.incident_id)]);
  const api = await ctx.connection.requireApi();
  const view = escalateView({ incidentId: row.incident_id, channelId: cmd.channel_id }, suggested, priorities, open);
  let viewId: string;
  try {
    viewId = await api.openView(cmd.trigger_id, view);
  } catch (err) {
    return say(explain(err, ctx.logger));
  }
  // Pre-filled policies: whom they would page is asked after the modal is open (the trigger id cannot wait for PagerDuty).
  if (suggested.length && ctx.oncall) {
    const lines = await ctx.oncall.wouldPage(suggested.map((s) => s.id)).catch(() => []);
    if (lines.length) await api.updateView(viewId, { ...view, blocks: withWouldPage(view.blocks as unknown[], lines) }).catch((err: unknown) => ctx.logger.warn({ err }, 'could not add "would page" to the escalate modal'));
  }
}

/**
 * Choosing escalation policies in the modal (the input block dispatches block_actions): the modal is updated with
 * whom each chosen policy would page now. The view's hash makes Slack refuse an update of a view that changed since
 * (a later choice's update wins; this one is dropped).
 */
async function showWouldPage(ctx: SlackContext, body: { view?: { id: string; hash?: string; blocks?: unknown[]; callback_id?: string; private_metadata?: string; title?: unknown; submit?: unknown; close?: unknown } }, policyIds: string[]): Promise<void> {
  const view = body.view;
  if (!view || !ctx.oncall) return;
  const lines = policyIds.length ? await ctx.oncall.wouldPage(policyIds) : [];
  const api = await ctx.connection.api();
  if (!api) return;
  try {
    await api.updateView(view.id, viewForUpdate(view, withWouldPage(view.blocks ?? [], lines)), view.hash);
  } catch (err) {
    if ((err as { code?: string }).code === 'hash_conflict') return;
    ctx.logger.warn({ err }, 'could not show "would page" in the escalate modal');
  }
}

/** Which modal block a validation problem belongs next to. */
function blockFor(err: AppError): string {
  const fields = (err.details?.fields as { path: string }[] | undefined) ?? [];
  const path = fields[0]?.path ?? '';
  if (path === 'emails') return 'slack_users';
  if (path === 'user_ids') return 'pd_users';
  if (path === 'priority_id') return 'priority';
  if (path === 'message') return 'message';
  if (path === 'escalation_policy_ids' || path === 'targets') return 'policies';
  if (path === 'pagerduty_incident_id') return 'mode';
  return 'message';
}

export function registerEscalate(bolt: BoltApp, ctx: SlackContext, port: EscalationPort | undefined): void {
  if (!port) return;

  const answerOptions = (action: string, search: (q: string) => Promise<{ id: string; name: string; email?: string }[]>) => {
    bolt.options({ action_id: action }, async ({ options, ack: boltAck }) => {
      const ack = boltAck as unknown as (r: { options: unknown[] }) => Promise<void>;
      try {
        const found = await search(String((options as { value?: string }).value ?? ''));
        await ack({ options: found.slice(0, 100).map(optionOf) });
      } catch (err) {
        ctx.logger.error({ err }, 'escalation options search failed');
        await ack({ options: [] });
      }
    });
  };
  answerOptions(ACTIONS.policies, (q) => port.searchPolicies(q));
  answerOptions(ACTIONS.pdUsers, (q) => port.searchUsers(q));

  bolt.action({ action_id: ACTIONS.policies }, async ({ ack, body, action }) => {
    await ack();
    const ids = ((action as { selected_options?: { value: string }[] }).selected_options ?? []).map((o) => o.value);
    await showWouldPage(ctx, body as never, ids).catch((err: unknown) => ctx.logger.warn({ err }, 'would page failed'));
  });

  bolt.view(ESCALATE_CALLBACK, async ({ ack, body, view }) => {
    const send = ack as (r?: ViewResponseAction) => Promise<void>;
    const read = readEscalate(view.state.values as Parameters<typeof readEscalate>[0]);
    if (!read.ok) return send({ response_action: 'errors', errors: read.errors });
    const form = read.form;
    const meta = readMeta(view.private_metadata);
    const work = (async (): Promise<Errors | null> => {
      if (!meta.incidentId) return { message: 'This form lost track of its incident; run /incident escalate again.' };
      let user: User;
      try {
        user = (await ctx.people.known(body.user.id)) ?? (await ctx.people.resolve(body.user.id));
      } catch (err) {
        return { message: explain(err, ctx.logger) };
      }
      if (!roleAllows(user.role, 'write')) return { message: viewerText(user) };
      const emails: string[] = [];
      if (form.slackUserIds.length) {
        const api = await ctx.connection.requireApi();
        const infos = await Promise.all(form.slackUserIds.map((id) => api.userInfo(id)));
        const hidden = infos.filter((i) => !i.email);
        if (hidden.length) return { slack_users: `Firebreak cannot see the email of ${hidden.map((i) => i.realName || i.name).join(', ')}, so cannot find their PagerDuty account. Pick them among the PagerDuty users instead.` };
        emails.push(...infos.map((i) => i.email!));
      }
      try {
        await port.escalate(
          {
            incident: meta.incidentId,
            policyIds: form.policyIds,
            userIds: form.pdUserIds,
            emails,
            message: form.message,
            urgency: form.urgency,
            priorityId: form.priorityId,
            // A double submit (or Slack resending it) pages once.
            idempotencyKey: `slack:view:${view.id}`,
            source: 'slack',
            slackChannelId: meta.channelId ?? null,
            mode: form.mode,
            pagerdutyIncidentId: form.pagerdutyIncidentId,
            requester: { id: user.id, name: user.name, email: user.email },
          },
          actorFor(user),
        );
      } catch (err) {
        if (err instanceof AppError) return { [blockFor(err)]: err.message };
        throw err;
      }
      return null;
    })();
    let timer: NodeJS.Timeout | undefined;
    const late = Symbol('late');
    const first = await Promise.race([work, new Promise<typeof late>((r) => (timer = setTimeout(() => r(late), SUBMIT_BUDGET_MS)))]).finally(() => clearTimeout(timer));
    if (first !== late) return send(first ? { response_action: 'errors', errors: first } : undefined);
    await send();
    const errors = await work.catch((err: unknown) => ({ message: explain(err, ctx.logger) }));
    if (errors) {
      const api = await ctx.connection.api();
      await api?.dm(body.user.id, `:warning: Escalating did not work: ${Object.values(errors).join(' ')}`).catch(() => {});
    }
  });

  bolt.action(ACTIONS.retry, async ({ ack, body, action, respond }) => {
    await ack();
    const escalationId = (action as { value?: string }).value ?? '';
    try {
      const user = (await ctx.people.known(body.user.id)) ?? (await ctx.people.resolve(body.user.id));
      if (!roleAllows(user.role, 'write')) {
        await respond({ response_type: 'ephemeral', replace_original: false, text: viewerText(user) });
        return;
      }
      await port.retry(escalationId, actorFor(user));
    } catch (err) {
      await respond({ response_type: 'ephemeral', replace_original: false, text: explain(err, ctx.logger) }).catch(() => {});
    }
  });

  // The status message: posted once, then updated in place; one job at a time per escalation.
  ctx.jobs.define<{ escalationId: string }>(
    ESCALATION_MESSAGE_JOB,
    async ({ escalationId }) => {
      const api = await ctx.connection.api();
      if (!api) return;
      const e = await port.get(escalationId);
      const channel = e.slack?.channelId ?? (await ctx.store.byIncident(e.incidentId))?.channel_id;
      if (!channel) return;
      const msg = statusMessage(e);
      if (e.slack?.messageTs) await api.updateMessage(channel, e.slack.messageTs, msg);
      else {
        const ref = await api.postMessage(channel, msg);
        await port.setSlackMessage(e.id, ref.channel || channel, ref.ts);
      }
    },
    { maxAttempts: 8 },
  );
  port.onChange(async (escalationId, tx) => {
    await ctx.jobs.enqueue(ESCALATION_MESSAGE_JOB, { escalationId }, { queue: `slack-escalation:${escalationId}`, priority: -5 }, tx);
  });
}
