// Shapes of the REST API (/api/v1) as the web app uses them.

export type Role = 'owner' | 'admin' | 'responder' | 'viewer';
export const ROLES: readonly Role[] = ['owner', 'admin', 'responder', 'viewer'];

export type StatusCategory = 'triage' | 'live' | 'closed' | 'declined' | 'merged' | 'canceled';
export const STATUS_CATEGORIES: readonly StatusCategory[] = ['triage', 'live', 'closed', 'declined', 'merged', 'canceled'];

export type Mode = 'standard' | 'test' | 'retrospective';
export const MODES: readonly Mode[] = ['standard', 'test', 'retrospective'];

export interface SessionUser {
  id: string;
  name: string;
  email: string;
  role: Role;
}

export interface Session {
  user: SessionUser;
  csrf_token: string;
}

export interface Severity {
  id: string;
  name: string;
  description: string;
  rank: number;
}

export interface Status {
  id: string;
  name: string;
  description: string;
  category: StatusCategory;
  rank: number;
}

export interface StatusRef {
  id: string;
  name: string;
  category: StatusCategory;
}

export interface UserRef {
  id: string;
  name: string;
}

export type ActorKind = 'user' | 'integration' | 'workflow' | 'system';

export interface Actor {
  kind: ActorKind;
  user: UserRef | null;
  ref: string | null;
}

export type IncidentActionName = 'accept' | 'decline' | 'merge' | 'status' | 'close' | 'cancel';

export interface AvailableAction {
  action: IncidentActionName;
  status?: StatusRef;
}

export interface Incident {
  id: string;
  reference: string;
  number: number;
  name: string;
  summary: string | null;
  severity: { id: string; name: string; rank: number };
  status: StatusRef;
  mode: Mode;
  source: string;
  creator: Actor;
  lead: UserRef | null;
  merged_into: { id: string; reference: string } | null;
  slack_channel_id: string | null;
  created_at: string;
  updated_at: string;
  status_timestamps: Array<{ status: StatusRef; first_at: string; last_at: string }>;
  available_actions: AvailableAction[];
}

export interface TimelineItem {
  id: string;
  kind: string;
  occurred_at: string;
  actor: Actor;
  text: string;
  payload: Record<string, unknown>;
}

export interface User {
  id: string;
  name: string;
  email: string;
  role: Role;
  slack_user_id: string | null;
  created_at: string;
}

export type Scope = 'read' | 'write' | 'admin';
export const SCOPES: readonly Scope[] = ['read', 'write', 'admin'];

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  created_by: UserRef;
}

export interface Integration {
  kind: 'slack' | 'pagerduty';
  name: string;
  description: string;
  status: 'not_connected' | 'connected' | 'error';
  details: Record<string, unknown> | null;
}
