import type { CatalogEntry, CatalogService } from '../../catalog/catalog.service.js';
import { liveEntryKey, normalizeEmailKey } from '../../catalog/catalog.service.js';
import { perTurnLoader } from '../../platform/per-turn.js';
import { FIRST_ACCOUNT, ownedBy } from './accounts.js';

// What the PagerDuty features (escalation, links, auto-create, auto-acknowledgement) need from the synced
// catalog: searching policies, users and services by name (or email), and finding the services that use a policy. Everything goes through the catalog's exported service;
// entries carrying `incident-io-ignore` never reach the catalog, so they never appear here.

export const TYPE = {
  users: 'PagerDutyUser',
  services: 'PagerDutyService',
  policies: 'PagerDutyEscalationPolicy',
  priorities: 'PagerDutyPriority',
  teams: 'PagerDutyTeam',
} as const;

export interface DirectoryItem {
  id: string;
  name: string;
  description?: string;
  email?: string;
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

export class PagerDutyDirectory {
  /** Entries asked for in the same turn of the event loop are read together (an escalation asks for 10 at once). */
  private readonly live = perTurnLoader<{ typeName: string; externalId: string }, CatalogEntry | null>(async (wanted) => {
    const found = await this.catalog.findLiveEntries(wanted);
    return wanted.map((w) => found.get(liveEntryKey(w.typeName, w.externalId)) ?? null);
  });

  /** Likewise the services of each policy asked for in one turn (an escalation asks for every policy's at once). */
  private readonly referrers = perTurnLoader<string, CatalogEntry[]>(async (policyIds) => {
    const found = await this.catalog.liveReferrers({ typeName: TYPE.services, attributeId: 'escalation_policy' }, { typeName: TYPE.policies, externalIds: policyIds });
    return policyIds.map((id) => found.get(id) ?? []);
  });

  constructor(private readonly catalog: CatalogService) {}

  private async search(typeName: string, query: string, limit: number): Promise<CatalogEntry[]> {
    const r = await this.catalog.listEntries({ typeName, search: query.trim() || undefined, limit });
    return r.entries;
  }

  async searchPolicies(query: string, limit = 100): Promise<DirectoryItem[]> {
    return (await this.search(TYPE.policies, query, limit)).map((e) => ({ id: e.externalId, name: e.name, description: str(e.attributes.description) }));
  }

  async searchUsers(query: string, limit = 100): Promise<DirectoryItem[]> {
    return (await this.search(TYPE.users, query, limit)).map((e) => ({ id: e.externalId, name: e.name, email: str(e.attributes.email).trim() }));
  }

  async searchServices(query: string, limit = 100): Promise<DirectoryItem[]> {
    return (await this.search(TYPE.services, query, limit)).map((e) => ({ id: e.externalId, name: e.name, description: str(e.attributes.description) }));
  }

  async searchTeams(query: string, limit = 100): Promise<DirectoryItem[]> {
    return (await this.search(TYPE.teams, query, limit)).map((e) => ({ id: e.externalId, name: e.name, description: str(e.attributes.description) }));
  }

  async listPriorities(): Promise<DirectoryItem[]> {
    return (await this.search(TYPE.priorities, '', 100)).map((e) => ({ id: e.externalId, name: e.name, description: str(e.attributes.description) }));
  }

  /** The live (not archived) entry of a type with this PagerDuty id. */
  async entry(typeName: string, externalId: string): Promise<CatalogEntry | null> {
    return this.live.load({ typeName, externalId });
  }

  /**
   * The PagerDuty user with this email (compared without case and surrounding spaces): in `account` when given, else
   * the first account's before another's (people often have a user in each account, with the same email).
   */
  async userByEmail(email: string, account?: string): Promise<DirectoryItem | null> {
    const want = normalizeEmailKey(email);
    if (!want) return null;
    const found = (await this.search(TYPE.users, want, 50)).filter((x) => normalizeEmailKey(str(x.attributes.email)) === want && (account === undefined || ownedBy(account, x.externalId)));
    const e = found.find((x) => ownedBy(FIRST_ACCOUNT, x.externalId)) ?? found[0];
    return e ? { id: e.externalId, name: e.name, email: str(e.attributes.email).trim() } : null;
  }

  /** Services whose escalation policy is this one, enabled ones first (the policies asked for in one turn: one statement). */
  async servicesUsingPolicy(policyExternalId: string): Promise<{ id: string; name: string; status: string }[]> {
    const services = await this.referrers.load(policyExternalId);
    const out = services.map((svc) => ({ id: svc.externalId, name: svc.name, status: str(svc.attributes.status) }));
    return out.sort((a, b) => Number(a.status === 'disabled') - Number(b.status === 'disabled'));
  }
}
