import type { App as BoltApp, RespondFn } from '@slack/bolt';
import type { UpdateReminders, QuietIncident } from '../../../incidents/updates/reminders.js';
import type { Db } from '../../../platform/db/index.js';
import { nowIso } from '../../../platform/ids.js';
import type { JobQueue } from '../../../platform/jobs/types.js';
import { roleAllows } from '../../../users/users.service.js';
import { explain } from '../errors.js';
import { esc } from '../messages/header.js';
import { viewerText } from '../messages/replies.js';
import type { SlackContext } from '../slack.context.js';
import { updateView } from '../views/update.view.js';
import '../slack.tables.js';

// Update reminders in Slack: every minute a scheduled job asks the core which live incidents have been quiet for
// longer than their severity allows (UpdateReminders.quietIncidents) and sends each one's lead a DM with a "Post an
// update" button that opens the update modal. Once per quiet period: the period is named by when it began (the
// last update, or the declaration), and `slack_update_reminders` holds one row per incident and period, written
// ('sending') before Slack is called and completed ('done') after; a DM carries its key in message metadata so an
// interrupted attempt looks for it before sending again. A new update starts a new period. No lead, no DM; a lead
// Firebreak cannot find in Slack is recorded as 'skipped' (and logged), so they are not looked up every minute.

export const REMINDER_TICK_JOB = 'slack.update_reminders';
export const REMINDER_JOB = 'slack.update_reminder';
export const REMINDER_SCHEDULE = 'slack.update-reminders';
export const REMINDER_BUTTON = 'firebreak_update_reminder_post';
const REMINDER_EVENT = 'firebreak_update_reminder';
const TICK_MS = 60_000;

export interface ReminderJob {
  incidentId: string;
  quietSince: string;
}

/** When the quiet period began, as people read it: "14:02 UTC". */
function clock(iso: string): string {
  return `${new Date(iso).toISOString().slice(11, 16)} UTC`;
}

export function reminderMessage(q: QuietIncident, publicUrl: string): { text: string; blocks: unknown[] } {
  const text = `${q.reference} ${q.name} has had no update for ${q.minutes} minutes (since ${clock(q.quietSince)}). You are its lead: post an update so everyone knows where things stand.`;
  return {
    text,
    blocks: [
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `:hourglass: *<${publicUrl}/incidents/${q.reference}|${q.reference} ${esc(q.name)}>* has had no update for ${q.minutes} minutes (since ${clock(q.quietSince)}).\nYou are its lead: post an update so everyone knows where things stand.` },
      },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `*Status:* ${esc(q.status.name)}  ·  *Severity:* ${esc(q.severity.name)}` }] },
      { type: 'actions', block_id: 'update_reminder', elements: [{ type: 'button', action_id: REMINDER_BUTTON, style: 'primary', text: { type: 'plain_text', text: 'Post an update' }, value: q.incidentId }] },
    ],
  };
}

export function registerUpdateReminders(bolt: BoltApp, ctx: SlackContext, deps: { reminders: UpdateReminders }): { schedule(jobs: JobQueue): Promise<void> } {
  const db: Db = ctx.db;

  ctx.jobs.define(REMINDER_TICK_JOB, async () => {
    if (!(await ctx.connection.credentials())) return; // Slack not connected
    const quiet = await deps.reminders.quietIncidents();
    if (quiet.length === 0) return;
    const sent = await db.selectFrom('slack_update_reminders').select(['incident_id', 'quiet_since', 'status']).where('incident_id', 'in', quiet.map((q) => q.incidentId)).execute();
    const done = new Set(sent.filter((s) => s.status !== 'sending').map((s) => `${s.incident_id}|${s.quiet_since}`));
    const due = quiet.filter((q) => !done.has(`${q.incidentId}|${q.quietSince}`));
    if (due.length === 0) return;
    await ctx.jobs.enqueueMany(due.map((q) => ({ name: REMINDER_JOB, payload: { incidentId: q.incidentId, quietSince: q.quietSince } satisfies ReminderJob, opts: { jobKey: `slack.reminder:${q.incidentId}:${q.quietSince}` } })));
  });

  ctx.jobs.define<ReminderJob>(
    REMINDER_JOB,
    async ({ incidentId, quietSince }) => {
      const api = await ctx.connection.api();
      if (!api) return;
      // Still quiet since then, still live, still with a lead? (An update or a close since the tick ends it.)
      const q = (await deps.reminders.quietIncidents()).find((x) => x.incidentId === incidentId && x.quietSince === quietSince);
      if (!q) return;
      const prior = await db.selectFrom('slack_update_reminders').selectAll().where('incident_id', '=', incidentId).where('quiet_since', '=', quietSince).executeTakeFirst();
      if (prior && prior.status !== 'sending') return;
      const now = nowIso();
      const key = `${incidentId}|${quietSince}`;
      const slackId = prior?.slack_user_id ?? (await ctx.people.slackIdFor(q.leadUserId).catch(() => null));
      if (!slackId) {
        ctx.logger.warn({ incident: q.reference }, 'the lead of a quiet incident has no Slack account Firebreak can find; no update reminder sent');
        await db
          .insertInto('slack_update_reminders')
          .values({ incident_id: incidentId, quiet_since: quietSince, lead_user_id: q.leadUserId, slack_user_id: null, channel_id: null, ts: null, status: 'skipped', created_at: now, updated_at: now })
          .onConflict((oc) => oc.columns(['incident_id', 'quiet_since']).doNothing())
          .execute();
        return;
      }
      const channel = prior?.channel_id ?? (await api.openDm(slackId));
      if (prior) {
        const since = Math.floor(Date.parse(prior.created_at) / 1000) - 60;
        const found = await api.findByMetadata(channel, since, REMINDER_EVENT, 'reminder', key).catch((err: unknown) => {
          ctx.logger.warn({ err }, 'could not check whether an interrupted update reminder reached Slack; sending it again');
          return null;
        });
        if (found) {
          await db.updateTable('slack_update_reminders').set({ ts: found.ts, status: 'done', updated_at: nowIso() }).where('incident_id', '=', incidentId).where('quiet_since', '=', quietSince).execute();
          return;
        }
      } else {
        await db
          .insertInto('slack_update_reminders')
          .values({ incident_id: incidentId, quiet_since: quietSince, lead_user_id: q.leadUserId, slack_user_id: slackId, channel_id: channel, ts: null, status: 'sending', created_at: now, updated_at: now })
          .onConflict((oc) => oc.columns(['incident_id', 'quiet_since']).doNothing())
          .execute();
      }
      const posted = await api.postMessage(channel, { ...reminderMessage(q, ctx.publicUrl()), metadata: { event_type: REMINDER_EVENT, event_payload: { reminder: key } } });
      await db.updateTable('slack_update_reminders').set({ ts: posted.ts, status: 'done', updated_at: nowIso() }).where('incident_id', '=', incidentId).where('quiet_since', '=', quietSince).execute();
    },
    { maxAttempts: 5 },
  );

  // "Post an update" in the reminder: the same modal as /incident update.
  bolt.action(REMINDER_BUTTON, async ({ ack, body, action, respond }) => {
    await ack();
    const tell = async (text: string) => {
      try {
        await (respond as RespondFn)({ response_type: 'ephemeral', replace_original: false, text });
      } catch (err) {
        ctx.logger.error({ err }, 'could not answer a Post an update click');
      }
    };
    try {
      const incidentId = String((action as { value?: string }).value ?? '');
      const known = await ctx.people.known(body.user.id);
      if (known && !roleAllows(known.role, 'write')) return tell(viewerText(known));
      const [incident, statuses, severities] = await Promise.all([ctx.incidents.getIncident(incidentId), ctx.incidents.listStatuses(), ctx.incidents.listSeverities()]);
      if (incident.status.category !== 'live' && incident.status.category !== 'triage') return tell(`${incident.reference} is ${incident.status.name}: no update is needed any more.`);
      const api = await ctx.connection.requireApi();
      await api.openView((body as unknown as { trigger_id: string }).trigger_id, updateView(incident, statuses, severities));
    } catch (err) {
      await tell(explain(err, ctx.logger));
    }
  });

  return { schedule: (jobs) => jobs.schedule(REMINDER_SCHEDULE, REMINDER_TICK_JOB, TICK_MS) };
}
