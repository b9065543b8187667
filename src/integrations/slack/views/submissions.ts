import type { App as BoltApp } from '@slack/bolt';
import { AppError } from '../../../platform/errors.js';
import { roleAllows, type User } from '../../../users/users.service.js';
import { explain, within } from '../errors.js';
import { viewerText } from '../messages/replies.js';
import { actorFor } from '../people.js';
import type { SlackContext } from '../slack.context.js';
import { DECLARE_CALLBACK, readDeclare, readMeta } from './declare.view.js';
import { readUpdate, UPDATE_CALLBACK } from './update.view.js';

// Modal submissions: validate, write the change (a few milliseconds of database work), then ack. Problems go
// back into the modal next to the field concerned (`response_action: errors`), so nothing is lost.

const PERSON_BUDGET_MS = 1500;

type Errors = Record<string, string>;

async function person(ctx: SlackContext, slackUserId: string): Promise<User> {
  return (await ctx.people.known(slackUserId)) ?? within(ctx.people.resolve(slackUserId), PERSON_BUDGET_MS, 'tell us who you are');
}

export function registerViewSubmissions(bolt: BoltApp, ctx: SlackContext): void {
  bolt.view(DECLARE_CALLBACK, async ({ ack, body, view }) => {
    const severities = await ctx.incidents.listSeverities();
    const read = readDeclare(view.state.values, severities);
    if (!read.ok) return ack({ response_action: 'errors', errors: read.errors });
    let user: User;
    try {
      user = await person(ctx, body.user.id);
    } catch (err) {
      return ack({ response_action: 'errors', errors: { name: explain(err, ctx.logger) } });
    }
    if (!roleAllows(user.role, 'write')) return ack({ response_action: 'errors', errors: { name: viewerText(user) } });
    try {
      // The view id is the idempotency key: a double submit (or Slack resending it) declares one incident.
      await ctx.incidents.createIncident(
        { name: read.input.name, summary: read.input.summary, severityId: read.input.severityId, triage: read.input.triage, idempotencyKey: `slack:view:${view.id}`, source: 'slack' },
        actorFor(user),
      );
    } catch (err) {
      if (err instanceof AppError) return ack({ response_action: 'errors', errors: { name: err.message } });
      throw err;
    }
    const meta = readMeta(view.private_metadata);
    ctx.logger.debug({ origin: meta.channelId }, 'incident declared from Slack');
    return ack();
  });

  bolt.view(UPDATE_CALLBACK, async ({ ack, body, view }) => {
    const { incidentId } = readMeta(view.private_metadata);
    if (!incidentId) return ack({ response_action: 'errors', errors: { status: 'This form lost track of its incident; run /incident update again.' } });
    let user: User;
    try {
      user = await person(ctx, body.user.id);
    } catch (err) {
      return ack({ response_action: 'errors', errors: { status: explain(err, ctx.logger) } });
    }
    if (!roleAllows(user.role, 'write')) return ack({ response_action: 'errors', errors: { status: viewerText(user) } });
    const actor = actorFor(user);
    const input = readUpdate(view.state.values);
    const errors: Errors = {};
    const attempt = async (block: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        if (err instanceof AppError) errors[block] = err.message;
        else throw err;
      }
    };
    const current = await ctx.incidents.getIncident(incidentId);
    if (input.severityId && input.severityId !== current.severity.id) await attempt('severity', () => ctx.incidents.changeSeverity(incidentId, input.severityId, actor));
    if (input.summary !== current.summary) await attempt('summary', () => ctx.incidents.updateIncident(incidentId, { summary: input.summary }, actor));
    if (input.statusId && input.statusId !== current.status.id) await attempt('status', () => ctx.incidents.changeStatus(incidentId, input.statusId, actor));
    if (Object.keys(errors).length) return ack({ response_action: 'errors', errors });
    return ack();
  });
}
