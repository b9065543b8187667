// What Slack needs to say who is on call: a port passed in from the composition root (PagerDuty's on-call module
// implements it). Slack never imports PagerDuty's code; these shapes are Slack's own.

export type OnCallKind = 'service' | 'team' | 'escalation_policy' | 'schedule';

export interface OnCallPortPerson {
  user: { name: string; firebreakUser: { slackUserId: string | null } | null };
  until: string | null;
  via: { name: string } | null;
}

export interface OnCallPortAnswer {
  subject: { kind: OnCallKind; id: string; name: string };
  error: { code: string; message: string } | null;
  note: string | null;
  policies: { id: string; name: string; levels: { level: number; people: OnCallPortPerson[] }[] }[];
  schedule: { name: string; people: OnCallPortPerson[] } | null;
}

export interface OnCallPort {
  connected(): Promise<boolean>;
  /** Services, teams, escalation policies and schedules whose name matches (the synced catalog). */
  search(query: string, limit?: number): Promise<{ kind: OnCallKind; id: string; name: string }[]>;
  lookup(kind: OnCallKind, id: string): Promise<OnCallPortAnswer>;
  /** Per policy id, in words: "would page: Alan Weber (level 1), then Bea Ortiz (level 2)", or what went wrong. */
  wouldPage(policyIds: readonly string[]): Promise<{ id: string; name: string; text: string }[]>;
}
