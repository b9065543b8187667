import type { CatalogService } from '../../../catalog/catalog.service.js';
import type { App } from '../../../platform/http/server.js';
import type { Logger } from '../../../platform/logger.js';
import type { UsersService } from '../../../users/users.service.js';
import type { PagerDutyIntegration } from '../connect.js';
import { OnCallService } from './oncall.service.js';
import { registerOnCallRoutes } from './routes.js';
import { levelsLine, wouldPage, type TimeFormat } from './text.js';

export { OnCallService } from './oncall.service.js';
export type { OnCallAnswer, OnCallPolicy, OnCallPerson, OnCallSubjectKind } from './oncall.service.js';

// Who is on call now (oncall.service.ts), its route, and the port Slack uses (`/incident oncall`, "would page" in
// the escalate modal): names and words only, nothing PagerDuty-shaped.

export interface OnCallPortImpl {
  connected(): Promise<boolean>;
  /** Services, teams, policies and schedules whose name matches, from the synced catalog. */
  search(query: string, limit?: number): Promise<{ kind: 'service' | 'team' | 'escalation_policy' | 'schedule'; id: string; name: string }[]>;
  lookup(kind: 'service' | 'team' | 'escalation_policy' | 'schedule', id: string): ReturnType<OnCallService['lookup']>;
  /** "would page: Alan Weber (level 1), then Bea Ortiz (level 2)" per policy id, or what went wrong. */
  wouldPage(policyIds: readonly string[]): Promise<{ id: string; name: string; text: string }[]>;
  levelsLine: (policy: Parameters<typeof levelsLine>[0], time: TimeFormat, name?: Parameters<typeof levelsLine>[2]) => string;
}

export interface OnCallModule {
  service: OnCallService;
  port: OnCallPortImpl;
}

const SEARCH_TYPES = [
  ['PagerDutyService', 'service'],
  ['PagerDutyTeam', 'team'],
  ['PagerDutyEscalationPolicy', 'escalation_policy'],
  ['PagerDutySchedule', 'schedule'],
] as const;

export function setupOnCall(deps: { http: App; integration: PagerDutyIntegration; catalog: CatalogService; users: UsersService; logger: Logger }): OnCallModule {
  const service = new OnCallService({
    integration: deps.integration,
    catalog: deps.catalog,
    logger: deps.logger.child({ module: 'pagerduty.oncall' }),
    findUserByEmail: async (email) => {
      const u = await deps.users.findByEmail(email);
      return u ? { id: u.id, name: u.name, slackUserId: u.slackUserId } : null;
    },
  });
  registerOnCallRoutes(deps.http, service);
  const port: OnCallPortImpl = {
    async connected() {
      return !!(await deps.integration.settings());
    },
    async search(query, limit = 50) {
      const out: Awaited<ReturnType<OnCallPortImpl['search']>> = [];
      for (const [typeName, kind] of SEARCH_TYPES) {
        if (!(await deps.catalog.findType(typeName))) continue;
        const r = await deps.catalog.listEntries({ typeId: typeName, search: query.trim() || undefined, limit });
        for (const e of r.entries) out.push({ kind, id: e.externalId, name: e.name });
      }
      return out;
    },
    lookup: (kind, id) => service.lookup(kind, id),
    async wouldPage(policyIds) {
      const answers = await service.forPolicies(policyIds);
      return answers.map((a) => ({ id: a.subject.id, name: a.subject.name, text: a.error ? a.error.message : a.policies[0] ? wouldPage(a.policies[0]) : 'would page nobody' }));
    },
    levelsLine,
  };
  return { service, port };
}
