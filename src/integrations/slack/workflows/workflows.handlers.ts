import type { App as BoltApp, RespondFn, SlashCommand, ViewResponseAction } from '@slack/bolt';
import { AppError } from '../../../platform/errors.js';
import { roleAllows, type User } from '../../../users/users.service.js';
import type { WorkflowsPort } from '../../../workflows/ports.js';
import { explain } from '../errors.js';
import { outsideChannelText, viewerText } from '../messages/replies.js';
import { actorFor } from '../people.js';
import type { SlackContext, WorkflowsRef } from '../slack.context.js';
import { blockOf, formView, noWorkflowsText, outcomeText, readForm, readFormMeta, readRunValue, WORKFLOW_FORM_CALLBACK, WORKFLOW_RUN_ACTION, workflowsMessage, type FormMeta, type ManualWorkflow } from './workflows.view.js';

// `/incident workflows` in an incident channel: the manual workflows of that incident, each with a Run button;
// one with a form opens it as a modal whose submission is checked field by field; the run is started through the
// WorkflowsPort (passed in by the composition root) as the person's Firebreak user, who must be allowed to act on
// incidents. Everything said back is private to the person.

const SUBMIT_BUDGET_MS = 2500;

type Say = (text: string) => Promise<void>;
export type Reply = (msg: { text: string; blocks?: unknown[] }) => Promise<void>;
type Errors = Record<string, string>;


const base = (ctx: SlackContext) => ctx.publicUrl().replace(/\/$/, '');
const unavailableText = 'Workflows are not available in this Firebreak yet.';

/** The person's Firebreak user if they may act on incidents, else what to tell them. */
async function writer(ctx: SlackContext, slackUserId: string): Promise<{ user: User } | { refusal: string }> {
  let user: User;
  try {
    user = (await ctx.people.known(slackUserId)) ?? (await ctx.people.resolve(slackUserId));
  } catch (err) {
    return { refusal: explain(err, ctx.logger) };
  }
  if (!roleAllows(user.role, 'write')) return { refusal: viewerText(user) };
  return { user };
}

/** The `workflows` subcommand (called by the command router). */
export async function listWorkflows(ctx: SlackContext, ref: WorkflowsRef, cmd: SlashCommand, say: Say, reply: Reply): Promise<void> {
  const row = await ctx.store.byChannel(cmd.channel_id);
  if (!row) return say(outsideChannelText(cmd.command, 'workflows', await ctx.store.latestChannel()));
  const port = ref.port;
  if (!port) return say(unavailableText);
  const who = await writer(ctx, cmd.user_id);
  if ('refusal' in who) return say(who.refusal);
  const [incident, workflows] = await Promise.all([ctx.incidents.getIncident(row.incident_id), port.manualWorkflows(row.incident_id)]);
  if (workflows.length === 0) return say(noWorkflowsText(incident.reference, base(ctx)));
  await reply(workflowsMessage(incident.reference, workflows, incident.id, base(ctx)));
}

/** Starts the run and says how it went; AppErrors (bad inputs, incident closed…) come back to the caller. */
async function start(ctx: SlackContext, port: WorkflowsPort, w: ManualWorkflow, incidentId: string, inputs: Record<string, unknown>, user: User): Promise<string> {
  const run = await port.runManual(w.id, incidentId, inputs, actorFor(user));
  const reference = run.incident_reference ?? (await ctx.incidents.getIncident(incidentId)).reference;
  return outcomeText(w.name, reference, run, base(ctx));
}

/** The form's field a run error is about (details.path `inputs.<key>` or details.field), if any. */
function fieldOf(err: AppError, w: ManualWorkflow): string | null {
  const d = (err.details ?? {}) as { path?: unknown; field?: unknown; key?: unknown; fields?: { path?: unknown }[] };
  const fields = Array.isArray(d.fields) ? d.fields.map((f) => f?.path) : [];
  for (const p of [d.path, d.field, d.key, ...fields]) {
    if (typeof p !== 'string') continue;
    const key = p.replace(/^inputs[.[]/, '').replace(/]$/, '');
    if (w.form.some((f) => f.key === key)) return blockOf(key);
  }
  return null;
}

async function tell(ctx: SlackContext, meta: { responseUrl: string | null; slackUserId: string }, text: string): Promise<void> {
  const api = await ctx.connection.api();
  if (!api) return;
  if (meta.responseUrl) {
    try {
      return await api.respond(meta.responseUrl, { response_type: 'ephemeral', replace_original: false, text });
    } catch (err) {
      ctx.logger.warn({ err }, 'could not answer through the response_url; sending a direct message');
    }
  }
  await api.dm(meta.slackUserId, text).catch((err) => ctx.logger.error({ err }, 'could not tell the person how their workflow run went'));
}

export function registerWorkflows(bolt: BoltApp, ctx: SlackContext, ref: WorkflowsRef): void {
  const say = (respond: RespondFn | undefined) => async (text: string) => {
    try {
      if (!respond) throw new Error('the click came without a response_url');
      await respond({ response_type: 'ephemeral', replace_original: false, text });
    } catch (err) {
      ctx.logger.error({ err }, 'could not answer a Run click');
    }
  };

  bolt.action(WORKFLOW_RUN_ACTION, async ({ ack, body, action, respond }) => {
    await ack();
    const tellHere = say(respond);
    const target = readRunValue((action as { value?: string }).value);
    const port = ref.port;
    if (!target) return tellHere(':warning: This button lost track of its workflow; run `/incident workflows` again.');
    if (!port) return tellHere(unavailableText);
    try {
      const who = await writer(ctx, body.user.id);
      if ('refusal' in who) return tellHere(who.refusal);
      const w = (await port.manualWorkflows(target.incidentId)).find((x) => x.id === target.workflowId);
      if (!w) return tellHere(':warning: This workflow can no longer be run by hand on this incident (it was changed, disabled or deleted). Run `/incident workflows` again to see the current list.');
      if (w.form.length === 0) return tellHere(await start(ctx, port, w, target.incidentId, {}, who.user));
      const b = body as unknown as { trigger_id: string; response_url?: string; channel?: { id: string } };
      const reference = (await ctx.incidents.getIncident(target.incidentId)).reference;
      const meta: FormMeta = { workflowId: w.id, incidentId: target.incidentId, channelId: b.channel?.id ?? null, responseUrl: b.response_url ?? null };
      const api = await ctx.connection.requireApi();
      await api.openView(b.trigger_id, formView(w, reference, meta));
    } catch (err) {
      await tellHere(explain(err, ctx.logger));
    }
  });

  bolt.view(WORKFLOW_FORM_CALLBACK, async ({ ack, body, view }) => {
    const send = ack as (r?: ViewResponseAction) => Promise<void>;
    const meta = readFormMeta(view.private_metadata);
    const firstInput = ((view.blocks ?? []) as { type?: string; block_id?: string }[]).find((b) => b.type === 'input')?.block_id ?? 'error';
    const port = ref.port;
    if (!meta || !port) return send({ response_action: 'errors', errors: { [firstInput]: !port ? unavailableText : 'This form lost track of its workflow; run /incident workflows again.' } });
    let outcome: string | null = null;
    const work = (async (): Promise<Errors | null> => {
      const who = await writer(ctx, body.user.id);
      if ('refusal' in who) return { [firstInput]: who.refusal };
      const w = (await port.manualWorkflows(meta.incidentId)).find((x) => x.id === meta.workflowId);
      if (!w) return { [firstInput]: 'This workflow can no longer be run by hand on this incident (it was changed, disabled or deleted).' };
      const read = readForm(w.form, view.state.values as Parameters<typeof readForm>[1]);
      if (!read.ok) return read.errors;
      try {
        outcome = await start(ctx, port, w, meta.incidentId, read.inputs, who.user);
      } catch (err) {
        if (err instanceof AppError) return { [fieldOf(err, w) ?? firstInput]: err.message };
        throw err;
      }
      return null;
    })();
    let timer: NodeJS.Timeout | undefined;
    const late = Symbol('late');
    let first: Errors | null | typeof late;
    try {
      first = await Promise.race([work, new Promise<typeof late>((r) => (timer = setTimeout(() => r(late), SUBMIT_BUDGET_MS)))]).finally(() => clearTimeout(timer));
    } catch (err) {
      return send({ response_action: 'errors', errors: { [firstInput]: explain(err, ctx.logger) } });
    }
    const who = { responseUrl: meta.responseUrl, slackUserId: body.user.id };
    if (first !== late) {
      await send(first ? { response_action: 'errors', errors: first } : undefined);
      if (!first && outcome) await tell(ctx, who, outcome);
      return;
    }
    // Slower than Slack waits for: close the modal, finish, and tell the person how it went.
    await send();
    const errors = await work.catch((err: unknown) => ({ error: explain(err, ctx.logger) }));
    await tell(ctx, who, errors ? `:warning: The workflow did not start: ${Object.values(errors).join(' ')}` : (outcome ?? ''));
  });
}
