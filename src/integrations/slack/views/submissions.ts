import type { App as BoltApp, ViewResponseAction } from '@slack/bolt';
import { AppError, ValidationError } from '../../../platform/errors.js';
import { sharedPerTurn } from '../../../platform/per-turn.js';
import { roleAllows, type User } from '../../../users/users.service.js';
import { explain } from '../errors.js';
import { viewerText } from '../messages/replies.js';
import { actorFor } from '../people.js';
import type { SlackContext } from '../slack.context.js';
import { currentValues } from './custom-fields.handlers.js';
import { changedValues, errorsForBlocks, FIELDS_CALLBACK, readFieldValues, type FieldDef } from './custom-fields.view.js';
import { DeclareIntake, defineDeclareJob } from './declare.intake.js';
import { DECLARE_CALLBACK, readDeclare, readMeta } from './declare.view.js';
import { readUpdate, UPDATE_CALLBACK } from './update.view.js';

// Modal submissions (declaring is the exception: checked, recorded as a job, then acked; see declare.intake.ts):
// validate, write the change (normally milliseconds of database work), then ack, so that
// problems go back into the modal next to the field concerned (`response_action: errors`). The ack never waits
// past SUBMIT_BUDGET_MS: if the work is slower (a busy database, Slack slow to tell us who the person is),
// the modal closes, the work finishes, and any problem is sent to the person as a direct message.

const SUBMIT_BUDGET_MS = 2000;

type Errors = Record<string, string>;
type Ack = (response?: ViewResponseAction) => Promise<void>;

export async function ackWithin(ctx: SlackContext, ack: Ack, slackUserId: string, what: string, work: Promise<Errors | null>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = Symbol('late');
  const first = await Promise.race([work, new Promise<typeof late>((r) => (timer = setTimeout(() => r(late), SUBMIT_BUDGET_MS)))]).finally(() => clearTimeout(timer));
  if (first !== late) return ack(first ? { response_action: 'errors', errors: first } : undefined);
  ctx.logger.warn({ what }, 'modal submission took longer than its budget; closed the modal and finishing in the background');
  await ack();
  let errors: Errors | null;
  try {
    errors = await work;
  } catch (err) {
    errors = { error: explain(err, ctx.logger) };
  }
  if (!errors) return;
  const api = await ctx.connection.api();
  await api?.dm(slackUserId, `:warning: ${what} did not work: ${Object.values(errors).join(' ')}`).catch((err) => ctx.logger.error({ err }, 'could not tell the person their submission failed'));
}

export async function writer(ctx: SlackContext, slackUserId: string): Promise<{ user: User } | { refusal: string }> {
  let user: User;
  try {
    user = (await ctx.people.known(slackUserId)) ?? (await ctx.people.resolve(slackUserId));
  } catch (err) {
    return { refusal: explain(err, ctx.logger) };
  }
  if (!roleAllows(user.role, 'write')) return { refusal: viewerText(user) };
  return { user };
}

/** The input blocks of a submitted view (the only keys Slack accepts in `response_action: errors`). */
function inputBlocks(view: { blocks?: unknown[] }): string[] {
  return ((view.blocks ?? []) as { type?: string; block_id?: string }[]).filter((b) => b.type === 'input' && b.block_id).map((b) => b.block_id!);
}

/** An incidents-service error as modal errors: field problems next to their field, the rest on `fallback`. */
function modalErrors(err: AppError, fields: readonly FieldDef[], blocks: string[], fallback: string): Errors {
  if (!(err instanceof ValidationError)) return { [fallback]: err.message };
  const problems = ((err.details?.fields as { path: string; message: string }[] | undefined) ?? []).filter((p) => typeof p?.path === 'string');
  return errorsForBlocks(problems, fields, new Set(blocks), fallback, err.message);
}

export function registerViewSubmissions(bolt: BoltApp, ctx: SlackContext): void {
  // Declaring: everything a person can fix is checked before the ack (errors go back into the modal); then the
  // declaration is recorded as a job, durably, and acknowledged; the job creates the incident (declare.intake.ts).
  const intake = new DeclareIntake(ctx.db, ctx.jobs);
  defineDeclareJob(ctx);
  // What every declaration is checked against, read once for the submissions arriving in the same turn of the event
  // loop: the severities, and the custom fields at their current version (the service's copy while the version is
  // unchanged). The version goes on to valuesForNewIncident, which then reads nothing again.
  const declareRules = sharedPerTurn(async () => {
    const [severities, fieldsVersion] = await Promise.all([ctx.incidents.listSeverities(), ctx.customFields.fieldsVersion()]);
    return { severities, fieldsVersion, fields: await ctx.customFields.liveFields(ctx.db, fieldsVersion) };
  });
  bolt.view(DECLARE_CALLBACK, async ({ ack, body, view }) => {
    const work = (async (): Promise<Errors | null> => {
      const { severities, fields, fieldsVersion } = await declareRules();
      const read = readDeclare(view.state.values, severities);
      // Custom fields in this modal (left empty: null, so a cleared default stays cleared).
      const custom = readFieldValues(view.state.values, fields);
      if (!read.ok || Object.keys(custom.errors).length) return { ...(read.ok ? {} : read.errors), ...custom.errors };
      const who = await writer(ctx, body.user.id);
      if ('refusal' in who) return { name: who.refusal };
      // The incidents service's own check of the values, with the definitions as they are now, so the modal
      // refuses what the declaration job would (a rule changed in between still reaches the person, by DM).
      try {
        await ctx.customFields.valuesForNewIncident(ctx.db, custom.values, { enforceRequired: true, fieldsVersion });
      } catch (err) {
        if (err instanceof ValidationError) return modalErrors(err, fields, inputBlocks(view), 'name');
        throw err;
      }
      const meta = readMeta(view.private_metadata);
      await intake.record({
        viewId: view.id,
        slackUserId: body.user.id,
        userId: who.user.id,
        input: read.input,
        customFieldValues: custom.values,
        channelId: meta.channelId ?? null,
        responseUrl: meta.responseUrl ?? null,
      });
      return null;
    })();
    await ackWithin(ctx, ack as Ack, body.user.id, 'Declaring the incident', work);
  });

  bolt.view(UPDATE_CALLBACK, async ({ ack, body, view }) => {
    const work = (async (): Promise<Errors | null> => {
      const { incidentId } = readMeta(view.private_metadata);
      if (!incidentId) return { message: 'This form lost track of its incident; run /incident update again.' };
      const input = readUpdate(view.state.values);
      if (!input.message) return { message: 'Say what changed.' };
      const who = await writer(ctx, body.user.id);
      if ('refusal' in who) return { message: who.refusal };
      const current = await ctx.incidents.getIncident(incidentId);
      try {
        // One submission, one update (its changes, its timeline item, its posts in Slack); the view id is the
        // idempotency key, so a double submit (or Slack resending it) posts one update.
        await ctx.updates.postUpdate(
          incidentId,
          {
            message: input.message,
            ...(input.statusId && input.statusId !== current.status.id ? { statusId: input.statusId } : {}),
            ...(input.severityId && input.severityId !== current.severity.id ? { severityId: input.severityId } : {}),
            ...(input.summary !== (current.summary ?? '') ? { summary: input.summary } : {}),
            idempotencyKey: `slack:view:${view.id}`,
          },
          actorFor(who.user),
        );
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        const fields = ((err.details?.fields as { path?: string }[] | undefined) ?? []).map((f) => f.path);
        const block = fields.includes('severity_id') ? 'severity' : fields.includes('status_id') || err.code === 'illegal_transition' || err.code === 'required_fields_missing' ? 'status' : 'message';
        return { [block]: err.message };
      }
      return null;
    })();
    await ackWithin(ctx, ack as Ack, body.user.id, 'Posting the update', work);
  });

  // /incident field: only the fields whose value changed are written (one timeline item each); null clears.
  bolt.view(FIELDS_CALLBACK, async ({ ack, body, view }) => {
    const blocks = inputBlocks(view);
    const first = blocks[0] ?? '';
    const work = (async (): Promise<Errors | null> => {
      const { incidentId } = readMeta(view.private_metadata);
      if (!incidentId) return { [first]: 'This form lost track of its incident; run /incident field again.' };
      const who = await writer(ctx, body.user.id);
      if ('refusal' in who) return { [first]: who.refusal };
      const [fields, incident] = await Promise.all([ctx.customFields.listFields(), ctx.incidents.getIncident(incidentId)]);
      const read = readFieldValues(view.state.values, fields);
      if (Object.keys(read.errors).length) return read.errors;
      const changes = changedValues(read.values, fields, currentValues(incident).values);
      if (!Object.keys(changes).length) return null;
      try {
        await ctx.incidents.updateIncident(incidentId, { customFieldValues: changes }, actorFor(who.user));
      } catch (err) {
        if (err instanceof AppError) return modalErrors(err, fields, blocks, first);
        throw err;
      }
      return null;
    })();
    await ackWithin(ctx, ack as Ack, body.user.id, 'Changing the fields', work);
  });
}
