import type { Executor } from '../../../platform/db/index.js';
import type { Actor } from '../../../platform/events.js';
import type { JobQueue } from '../../../platform/jobs/types.js';

// The auto-acknowledgement job and how its triggers queue it: a person confirming a link is related (links) and
// a triage incident opened from PagerDuty being accepted (subscriber.ts). Kept apart from the use case so links
// can queue it without importing auto-acknowledgement, which reads links.

export const AUTO_ACK_JOB = 'pagerduty.auto_ack';

export interface AutoAckJob {
  linkId: string;
  trigger: 'related_confirmed' | 'triage_accepted';
  actor: Actor;
}

/** Queues one run per trigger occurrence (`occurrence` tells repeats of the same trigger apart). */
export async function queueAutoAck(jobs: JobQueue, job: AutoAckJob, occurrence: string, tx?: Executor): Promise<void> {
  await jobs.enqueue(AUTO_ACK_JOB, job, { jobKey: `pd-auto-ack:${job.linkId}:${job.trigger}:${occurrence}`, priority: -5 }, tx);
}
