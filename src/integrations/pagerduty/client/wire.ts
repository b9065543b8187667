// PagerDuty REST API v2 JSON shapes, as far as Firebreak reads them. These names never leave the
// PagerDuty module: catalog-source.ts converts them into catalog entries at the edge.

export interface PdRef {
  id: string;
  type: string;
  summary?: string;
  self?: string;
  html_url?: string | null;
}

export interface PdUser extends PdRef {
  name: string;
  email: string;
  role: string;
  job_title?: string | null;
  time_zone?: string | null;
  description?: string | null;
  teams?: PdRef[];
}

export interface PdTeam extends PdRef {
  name: string;
  description?: string | null;
}

export interface PdTeamMember {
  user: PdRef;
  role: string;
}

export interface PdService extends PdRef {
  name: string;
  description?: string | null;
  status: string;
  escalation_policy?: PdRef | null;
  teams?: PdRef[];
}

export interface PdEscalationPolicy extends PdRef {
  name: string;
  description?: string | null;
  teams?: PdRef[];
}

export interface PdPriority extends PdRef {
  name: string;
  description?: string | null;
}

export interface PdTag extends PdRef {
  label: string;
}

/** Classic pagination envelope. */
export interface PdPage {
  limit?: number;
  offset?: number;
  more?: boolean;
  total?: number | null;
}
