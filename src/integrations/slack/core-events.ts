import type { DomainEvent } from '../../platform/events.js';
import { CHANNEL_NOTE_KINDS, closeCountOf, incidentQueue, SLACK_JOBS, UPDATE_BATCH_REF, type ArchiveChannelJob, type CreateChannelJob, type PostNoteJob, type UpdateHeaderJob } from './jobs.js';
import type { SlackContext } from './slack.context.js';

// Reacting to the core: whatever changed an incident (Slack, the web app, the API, a workflow), its channel
// follows. The core publishes domain events and knows nothing of Slack; this subscriber turns them into Slack
// jobs on the incident's queue, so the channel exists before its header is updated or notes are posted.


export function subscribeToIncidentEvents(ctx: SlackContext): void {
  ctx.events.subscribe(
    'slack',
    ['incident.created', 'incident.updated', 'incident.status_changed', 'incident.severity_changed', 'incident.lead_changed', 'incident.custom_field_changed', 'incident.role_assigned', 'incident.timeline_item_added'],
    async (event: DomainEvent) => {
      await ctx.afterPendingAcks(); // Slack's acks first (see jobs.ts)
      const incidentId = event.incidentId;
      if (!incidentId || !(await ctx.connection.credentials())) return; // Slack not connected: nothing to mirror
      const queue = incidentQueue(incidentId);
      switch (event.type) {
        case 'incident.created':
          await ctx.jobs.enqueue(SLACK_JOBS.createChannel, { incidentId } satisfies CreateChannelJob, { jobKey: `slack.channel:${incidentId}`, queue, priority: -1 });
          return;
        case 'incident.timeline_item_added': {
          const kind = String(event.data.kind ?? '');
          if (!CHANNEL_NOTE_KINDS.has(kind)) return;
          if (event.actor.ref?.startsWith(UPDATE_BATCH_REF)) return; // told once for the whole /incident update (submissions.ts)
          await ctx.jobs.enqueue(SLACK_JOBS.postNote, { incidentId, itemId: String(event.data.itemId) } satisfies PostNoteJob, { jobKey: `slack.note:${String(event.data.itemId)}`, queue });
          return;
        }
        default: {
          // Whoever accepts a triage incident (here, in the web app or through the API) joins its channel.
          const accepted = event.type === 'incident.status_changed' && event.data.fromCategory === 'triage' && event.data.toCategory === 'live';
          const inviteUserIds = accepted && event.actor.userId ? [event.actor.userId] : [];
          // Whoever is given a role joins the channel too.
          if (event.type === 'incident.role_assigned' && typeof event.data.userId === 'string') inviteUserIds.push(event.data.userId);
          await ctx.jobs.enqueue(SLACK_JOBS.updateHeader, { incidentId, actorUserId: event.actor.userId ?? null, inviteLead: event.type === 'incident.lead_changed', inviteUserIds } satisfies UpdateHeaderJob, { queue });
          if (event.type === 'incident.status_changed' && event.data.toCategory === 'closed') await planArchive(ctx, incidentId, queue);
        }
      }
    },
  );
}

/** On close, when the setting asks for it: archive the channel after the delay, unless reopened meanwhile. */
async function planArchive(ctx: SlackContext, incidentId: string, queue: string): Promise<void> {
  const minutes = await ctx.store.archiveAfterCloseMinutes();
  if (minutes === null) return;
  const closeCount = closeCountOf(await ctx.incidents.timeline(incidentId));
  await ctx.jobs.enqueue(SLACK_JOBS.archiveChannel, { incidentId, closeCount } satisfies ArchiveChannelJob, { queue, delayMs: Math.round(minutes * 60_000), jobKey: `slack.archive:${incidentId}:${closeCount}` });
}
