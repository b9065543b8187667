import type { Actor } from '../../../platform/events.js';

// What the Slack app needs for related PagerDuty incidents, auto-created incidents and acknowledgement offers:
// a port passed in by the composition root. Slack never imports the PagerDuty integration.

export interface LinkedIncidentView {
  id: string;
  number: number | null;
  title: string;
  status: string;
  urgency: string | null;
  service: { id: string; name: string } | null;
  assignees: { id: string; name: string }[];
  htmlUrl: string | null;
}

export type PagerDutyNotice =
  | { type: 'related_question'; linkId: string; incidentId: string; pagerduty: LinkedIncidentView; askedByUserId: string | null }
  | { type: 'ack_offer'; offerId: string; userId: string; incidentId: string; reason: 'not_paged' | 'unmatched'; explanation: string; pagerduty: LinkedIncidentView }
  | { type: 'acknowledged_for_you'; userId: string; incidentId: string; pagerduty: LinkedIncidentView }
  | { type: 'auto_created'; incidentId: string; linkId: string; pagerduty: LinkedIncidentView }
  | { type: 'resolve_offer'; incidentId: string; userId: string | null; open: { linkId: string; pagerduty: LinkedIncidentView }[] };

/** Every related PagerDuty incident of an incident resolved (two-way close): the episode as it is now. */
export interface AllResolvedNoticeView {
  episodeId: string;
  incidentId: string;
  mode: 'prompt' | 'automatic';
  pagerduty: { id: string; number: number | null; title: string; htmlUrl: string | null }[];
  choices: { choice: 'monitoring' | 'close' | 'keep_open'; label: string }[];
  outcome: string | null;
  ended: string | null;
  notice: { status: 'pending' | 'sending' | 'posted' | 'skipped'; channel: string | null; ts: string | null };
  createdAt: string;
}

export interface AllResolvedSlackPort {
  onNotice(listener: (n: AllResolvedNoticeView) => Promise<void>): void;
  recordNotice(episodeId: string, status: 'sending' | 'posted' | 'skipped', where?: { channel?: string | null; ts?: string | null }): Promise<void>;
  answer(episodeId: string, choice: string, actor: Actor): Promise<{ done: string }>;
}

export interface PagerDutyLinksPort {
  /** Two-way close, when the PagerDuty wing offers it. */
  allResolved?: AllResolvedSlackPort;
  connected(): Promise<boolean>;
  attach(incidentId: string, ref: string, actor: Actor): Promise<{ link: { id: string; pagerduty: LinkedIncidentView }; created: boolean }>;
  confirmRelated(incidentId: string, linkId: string, related: boolean, actor: Actor): Promise<unknown>;
  acknowledgeOffer(offerId: string, actor: Actor): Promise<{ status: 'acknowledged' | 'already_acknowledged' | 'resolved' }>;
  resolveInPagerDuty(incidentId: string, actor: Actor, email: string): Promise<{ resolved: string[]; skipped: { id: string; reason: string }[] }>;
  onNotification(listener: (n: PagerDutyNotice) => Promise<void>): void;
}
