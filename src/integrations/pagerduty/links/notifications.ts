import type { Executor } from '../../../platform/db/index.js';
import type { JobQueue } from '../../../platform/jobs/types.js';
import type { Logger } from '../../../platform/logger.js';
import type { PdIncidentSummary } from './summary.js';

// What other integrations (Slack) are told about related PagerDuty incidents, auto-created incidents and
// acknowledgements. A notification is queued as a job in the transaction that caused it, and its delivery is best
// effort: every listener is tried once, and a failing one is logged, never retried.

export const NOTIFY_JOB = 'pagerduty.links.notify';

/** What other integrations (Slack) are told; they decide how to show it. */
export type LinkNotification =
  | { type: 'related_question'; linkId: string; incidentId: string; pagerduty: PdIncidentSummary; askedByUserId: string | null }
  | { type: 'ack_offer'; offerId: string; userId: string; incidentId: string; reason: 'not_paged' | 'unmatched'; explanation: string; pagerduty: PdIncidentSummary }
  | { type: 'acknowledged_for_you'; userId: string; incidentId: string; pagerduty: PdIncidentSummary }
  | { type: 'auto_created'; incidentId: string; linkId: string; pagerduty: PdIncidentSummary }
  | { type: 'resolve_offer'; incidentId: string; userId: string | null; open: { linkId: string; pagerduty: PdIncidentSummary }[] };

export type LinkNotificationListener = (n: LinkNotification) => Promise<void>;

export class LinkNotifier {
  private readonly listeners: LinkNotificationListener[] = [];

  constructor(private readonly deps: { jobs: JobQueue; logger: Logger }) {}

  onNotification(l: LinkNotificationListener): void {
    this.listeners.push(l);
  }

  /** Queues a notification (durably, in `tx` when given), once per key. */
  async notify(n: LinkNotification, key: string, tx?: Executor): Promise<void> {
    await this.deps.jobs.enqueue(NOTIFY_JOB, n, { jobKey: `pd-notify:${key}`, maxAttempts: 1 }, tx);
  }

  /** The notify job: every listener is tried; a failure is logged, never raised. */
  async deliver(n: LinkNotification): Promise<void> {
    for (const l of this.listeners) {
      try {
        await l(n);
      } catch (err) {
        this.deps.logger.warn({ err, notification: n.type }, 'could not deliver a PagerDuty notification (best effort)');
      }
    }
  }
}
