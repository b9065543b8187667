import type { Db } from '../../../platform/db/index.js';
import { NotFoundError, ValidationError } from '../../../platform/errors.js';
import { newId, nowIso } from '../../../platform/ids.js';
import type { IncidentsService } from '../../../incidents/incidents.service.js';
import type { PagerDutyAutoCreateRulesTable } from '../links/tables.js';
import '../links/tables.js';
import type { PagerDutyDirectory } from '../directory.js';
import { severityForPriorityName, severityForUrgency, type RankedSeverity } from './severity.js';

type SeverityRef = { id: string; name: string } | null;
/** The defaults the settings page shows: per synced priority (by its name alone) and per urgency. */
export interface SeverityDefaults {
  priorities: { id: string; name: string; severity: SeverityRef }[];
  high_urgency: SeverityRef;
  low_urgency: SeverityRef;
}

// Auto-create's rules (which PagerDuty incidents open an incident, and as what) and the settings they share
// (severity per PagerDuty priority, grouping window, auto-decline), stored in their tables and changed by admins
// through routes.ts. The webhook path reads them through `current()`, at most once a second.

export interface AutoCreateRule {
  id: string;
  name: string;
  enabled: boolean;
  position: number;
  serviceIds: string[] | null;
  teamIds: string[] | null;
  urgencies: ('high' | 'low')[] | null;
  priorityIds: string[] | null;
  createAs: 'triage' | 'live';
}

export interface AutoCreateSettings {
  severityMap: Record<string, string>;
  groupingWindowMinutes: number;
  autoDeclineOnResolve: boolean;
}

export type RuleInput = Omit<AutoCreateRule, 'id' | 'position'> & { position?: number };

const DEFAULTS: AutoCreateSettings = { severityMap: {}, groupingWindowMinutes: 0, autoDeclineOnResolve: true };
const arr = (s: string | null) => (s === null ? null : (JSON.parse(s) as string[]));

function ruleFromRow(r: PagerDutyAutoCreateRulesTable): AutoCreateRule {
  return {
    id: r.id,
    name: r.name,
    enabled: Number(r.enabled) === 1,
    position: Number(r.position),
    serviceIds: arr(r.service_ids),
    teamIds: arr(r.team_ids),
    urgencies: arr(r.urgencies) as AutoCreateRule['urgencies'],
    priorityIds: arr(r.priority_ids),
    createAs: r.create_as,
  };
}

/** Whether a PagerDuty incident matches a rule. An empty or null list means "any". */
export function ruleMatches(rule: AutoCreateRule, i: { serviceId: string | null; teamIds: string[]; urgency: string | null; priorityId: string | null }): boolean {
  if (!rule.enabled) return false;
  const any = (l: unknown[] | null) => l === null || l.length === 0;
  const servicePicked = !any(rule.serviceIds);
  const teamPicked = !any(rule.teamIds);
  if (servicePicked || teamPicked) {
    const bySvc = servicePicked && !!i.serviceId && rule.serviceIds!.includes(i.serviceId);
    const byTeam = teamPicked && i.teamIds.some((t) => rule.teamIds!.includes(t));
    if (!bySvc && !byTeam) return false;
  }
  if (!any(rule.urgencies) && (!i.urgency || !rule.urgencies!.includes(i.urgency as 'high' | 'low'))) return false;
  if (!any(rule.priorityIds) && (!i.priorityId || !rule.priorityIds!.includes(i.priorityId))) return false;
  return true;
}

export class AutoCreateRules {
  private rulesCache: { at: number; rules: AutoCreateRule[]; settings: AutoCreateSettings } | null = null;

  constructor(private readonly deps: { db: Db; incidents: IncidentsService; directory?: Pick<PagerDutyDirectory, 'listPriorities'> }) {}

  /**
   * What each synced PagerDuty priority and each urgency opens as when the mapping does not say (severity.ts),
   * for the settings page to show beside each choice.
   */
  async defaults(): Promise<SeverityDefaults> {
    const severities = await this.deps.incidents.listSeverities();
    const priorities = this.deps.directory ? await this.deps.directory.listPriorities() : [];
    const ref = (s: RankedSeverity | null) => (s ? { id: s.id, name: s.name } : null);
    return {
      priorities: priorities.map((p) => ({ id: p.id, name: p.name, severity: ref(severityForPriorityName(severities, p.name)) })),
      high_urgency: ref(severityForUrgency(severities, 'high')),
      low_urgency: ref(severityForUrgency(severities, 'low')),
    };
  }

  async listRules(): Promise<AutoCreateRule[]> {
    return (await this.deps.db.selectFrom('pagerduty_auto_create_rules').selectAll().orderBy('position').orderBy('id').execute()).map(ruleFromRow);
  }

  private validate(r: Partial<RuleInput>): void {
    if (r.name !== undefined && !r.name.trim()) throw new ValidationError('Give the rule a name.', [{ path: 'name', message: 'must not be empty' }]);
  }

  async createRule(input: RuleInput): Promise<AutoCreateRule> {
    this.validate(input);
    this.rulesCache = null;
    const now = nowIso();
    const max = await this.deps.db.selectFrom('pagerduty_auto_create_rules').select((eb) => eb.fn.max('position').as('m')).executeTakeFirst();
    const id = newId();
    await this.deps.db
      .insertInto('pagerduty_auto_create_rules')
      .values({
        id,
        name: input.name.trim(),
        enabled: input.enabled ? 1 : 0,
        position: input.position ?? Number(max?.m ?? 0) + 1,
        service_ids: input.serviceIds ? JSON.stringify(input.serviceIds) : null,
        team_ids: input.teamIds ? JSON.stringify(input.teamIds) : null,
        urgencies: input.urgencies ? JSON.stringify(input.urgencies) : null,
        priority_ids: input.priorityIds ? JSON.stringify(input.priorityIds) : null,
        create_as: input.createAs,
        created_at: now,
        updated_at: now,
      })
      .execute();
    return this.getRule(id);
  }

  async getRule(id: string): Promise<AutoCreateRule> {
    const r = await this.deps.db.selectFrom('pagerduty_auto_create_rules').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw new NotFoundError('Auto-create rule', id);
    return ruleFromRow(r);
  }

  async updateRule(id: string, patch: Partial<RuleInput>): Promise<AutoCreateRule> {
    await this.getRule(id);
    this.validate(patch);
    this.rulesCache = null;
    const set: Record<string, unknown> = {};
    if (patch.name !== undefined) set.name = patch.name.trim();
    if (patch.enabled !== undefined) set.enabled = patch.enabled ? 1 : 0;
    if (patch.position !== undefined) set.position = patch.position;
    if (patch.serviceIds !== undefined) set.service_ids = patch.serviceIds ? JSON.stringify(patch.serviceIds) : null;
    if (patch.teamIds !== undefined) set.team_ids = patch.teamIds ? JSON.stringify(patch.teamIds) : null;
    if (patch.urgencies !== undefined) set.urgencies = patch.urgencies ? JSON.stringify(patch.urgencies) : null;
    if (patch.priorityIds !== undefined) set.priority_ids = patch.priorityIds ? JSON.stringify(patch.priorityIds) : null;
    if (patch.createAs !== undefined) set.create_as = patch.createAs;
    await this.deps.db.updateTable('pagerduty_auto_create_rules').set({ ...set, updated_at: nowIso() }).where('id', '=', id).execute();
    return this.getRule(id);
  }

  async deleteRule(id: string): Promise<void> {
    this.rulesCache = null;
    const r = await this.deps.db.deleteFrom('pagerduty_auto_create_rules').where('id', '=', id).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw new NotFoundError('Auto-create rule', id);
  }

  async getSettings(): Promise<AutoCreateSettings> {
    const r = await this.deps.db.selectFrom('pagerduty_auto_create_settings').selectAll().where('id', '=', 'default').executeTakeFirst();
    if (!r) return { ...DEFAULTS };
    return { severityMap: JSON.parse(r.severity_map) as Record<string, string>, groupingWindowMinutes: Number(r.grouping_window_minutes), autoDeclineOnResolve: Number(r.auto_decline_on_resolve) === 1 };
  }

  async updateSettings(patch: Partial<AutoCreateSettings>): Promise<AutoCreateSettings> {
    this.rulesCache = null;
    if (patch.severityMap) {
      const known = new Set((await this.deps.incidents.listSeverities()).map((s) => s.id));
      const bad = Object.entries(patch.severityMap).filter(([, sev]) => !known.has(sev));
      if (bad.length) throw new ValidationError(`Unknown severity ${bad.map(([, s]) => JSON.stringify(s)).join(', ')} in the priority mapping.`, bad.map(([p]) => ({ path: `severity_map.${p}`, message: 'must be a severity id' })));
    }
    const s = { ...(await this.getSettings()), ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) } as AutoCreateSettings;
    const row = { severity_map: JSON.stringify(s.severityMap), grouping_window_minutes: s.groupingWindowMinutes, auto_decline_on_resolve: s.autoDeclineOnResolve ? 1 : 0, updated_at: nowIso() };
    await this.deps.db
      .insertInto('pagerduty_auto_create_settings')
      .values({ id: 'default', ...row })
      .onConflict((oc) => oc.column('id').doUpdateSet(row))
      .execute();
    return s;
  }

  /** Rules and settings for the webhook path: read at most once a second (storms read them once). */
  async current(): Promise<{ rules: AutoCreateRule[]; settings: AutoCreateSettings }> {
    const c = this.rulesCache;
    if (c && Date.now() - c.at < 1000) return c;
    const [rules, settings] = await Promise.all([this.listRules(), this.getSettings()]);
    this.rulesCache = { at: Date.now(), rules, settings };
    return this.rulesCache;
  }
}
