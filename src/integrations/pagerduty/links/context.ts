import type { IncidentsService } from '../../../incidents/incidents.service.js';
import type { PagerDutyTimestampsPort } from '../../../incidents/timestamps/timestamps.service.js';
import type { Db, Executor } from '../../../platform/db/index.js';
import { ConflictError, UpstreamError, ValidationError } from '../../../platform/errors.js';
import type { Actor, EventBus } from '../../../platform/events.js';
import type { LiveFeed } from '../../../platform/live.js';
import type { JobQueue } from '../../../platform/jobs/types.js';
import type { Logger } from '../../../platform/logger.js';
import type { PagerDutyClient } from '../client/client.js';
import { PagerDutyError, PagerDutyNotFoundError } from '../client/errors.js';
import type { PdIncident } from '../client/wire.js';
import type { ConnectedPagerDuty } from '../connect.js';
import type { EscalationLookup } from '../escalations/model.js';
import type { LinkNotifier } from './notifications.js';

// What the links use cases (attach.ts, mirror-sync.ts, webhook-step.ts, escalation-links.ts, resolve.ts,
// confirm-related.ts) share: their dependencies, the jobs they queue, and the PagerDuty reads they all make.

export interface LinksContext {
  db: Db;
  incidents: IncidentsService;
  events: EventBus;
  live: LiveFeed;
  jobs: JobQueue;
  logger: Logger;
  publicUrl: () => string;
  /** A client for the connected account (`PagerDutyIntegration.connected`); null when PagerDuty is not connected. */
  connected: (mode?: 'interactive' | 'background', account?: string) => Promise<ConnectedPagerDuty | null>;
  /** Who escalations paged for a PagerDuty incident; links never read the escalation tables. */
  escalations: EscalationLookup;
  notifier: LinkNotifier;
  /** Records PagerDuty's first triggered and first acknowledged times on the linked incidents. */
  timestamps?: PagerDutyTimestampsPort;
  /** Called in the transaction that attached a PagerDuty incident (workflows' `pagerduty.incident_linked` trigger). */
  onLinked?: (tx: Executor, link: { incidentId: string; linkId: string; pagerdutyIncidentId: string; title: string | null; serviceId: string | null }) => Promise<void>;
}

/** Reads one link's PagerDuty incident and mirrors its log (backfill on attach, re-read when switched back on). */
export const SYNC_LINK_JOB = 'pagerduty.links.sync';

/** Everything done for the links of one PagerDuty incident runs in this job queue: in order, one at a time. */
export const pdQueue = (pdId: string) => `pd-link:${pdId}`;

/** The actor of what PagerDuty did (mirrored activity, links made from webhooks). */
export const PD_ACTOR: Actor = { kind: 'integration', ref: 'pagerduty' };

export async function requireClient(ctx: Pick<LinksContext, 'connected'>, account?: string): Promise<ConnectedPagerDuty> {
  const c = await ctx.connected(undefined, account);
  if (!c) throw new ConflictError('pagerduty_not_connected', 'PagerDuty is not connected. An admin can connect it in Settings → Integrations → PagerDuty.');
  return c;
}

/** The incident as PagerDuty has it now; a missing one is the caller's mistake, any other refusal PagerDuty's. */
export async function fetchIncident(client: PagerDutyClient, pdId: string, priority: 'interactive' | 'background' = 'interactive'): Promise<PdIncident> {
  try {
    return await client.getIncident(pdId, { priority });
  } catch (err) {
    if (err instanceof PagerDutyNotFoundError) throw new ValidationError(`PagerDuty has no incident ${JSON.stringify(pdId)} in the connected account.`, [{ path: 'pagerduty_incident', message: 'not found in PagerDuty' }]);
    if (err instanceof PagerDutyError) throw new UpstreamError(`PagerDuty answered: ${err.message}`);
    throw err;
  }
}
