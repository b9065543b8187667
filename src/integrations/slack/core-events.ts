import type { DomainEvent } from '../../platform/events.js';
import { incidentQueue, SLACK_JOBS, type CreateChannelJob, type PostNoteJob, type UpdateHeaderJob } from './jobs.js';
import type { SlackContext } from './slack.context.js';

// Reacting to the core: whatever changed an incident (Slack, the web app, the API, a workflow), its channel
// follows. The core publishes domain events and knows nothing of Slack; this subscriber turns them into Slack
// jobs on the incident's queue, so the channel exists before its header is updated or notes are posted.

/** Timeline kinds that are worth a line in the incident channel. */
const CHANNEL_NOTE_KINDS = new Set(['status_changed', 'severity_changed', 'name_changed', 'summary_updated', 'lead_changed', 'note_added', 'incident_merged_in', 'custom_field_changed']);

export function subscribeToIncidentEvents(ctx: SlackContext): void {
  ctx.events.subscribe(
    'slack',
    ['incident.created', 'incident.updated', 'incident.status_changed', 'incident.severity_changed', 'incident.lead_changed', 'incident.custom_field_changed', 'incident.timeline_item_added'],
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
          await ctx.jobs.enqueue(SLACK_JOBS.postNote, { incidentId, itemId: String(event.data.itemId) } satisfies PostNoteJob, { jobKey: `slack.note:${String(event.data.itemId)}`, queue });
          return;
        }
        default:
          await ctx.jobs.enqueue(SLACK_JOBS.updateHeader, { incidentId, actorUserId: event.actor.userId ?? null, inviteLead: event.type === 'incident.lead_changed' } satisfies UpdateHeaderJob, { queue });
      }
    },
  );
}
