import { expect } from 'vitest';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { allEntries, type Setup } from './helpers.js';

const MARKER = 'incident-io-ignore';

/** What the catalog must hold for the emulator's current account: every attribute and link, by PagerDuty id. */
export function expectedCatalog(pd: PagerDutyEmulator) {
  const st = pd.state;
  const ignoredPolicies = new Set<string>();
  for (const t of st.tags.values()) if (t.label.toLowerCase() === MARKER) for (const id of t.escalation_policies) ignoredPolicies.add(id);
  const policies = [...st.escalationPolicies.values()].filter((p) => !ignoredPolicies.has(p.id));
  const keptPolicyIds = new Set(policies.map((p) => p.id));
  const sorted = (xs: string[]) => [...new Set(xs)].sort();
  return {
    PagerDutyUser: new Map(
      [...st.users.values()].map((u) => [
        u.id,
        { name: u.name, values: { name: u.name, email: u.email.trim(), role: u.role, job_title: u.job_title, time_zone: u.time_zone, firebreak_user: u.email.trim().toLowerCase() } },
      ]),
    ),
    PagerDutyTeam: new Map(
      [...st.teams.values()].map((t) => [t.id, { name: t.name, values: { name: t.name, description: t.description, members: sorted(t.members.map((m) => m.user_id).filter((id) => st.users.has(id))) } }]),
    ),
    PagerDutyService: new Map(
      [...st.services.values()]
        .filter((s) => !s.description.toLowerCase().includes(MARKER))
        .map((s) => [
          s.id,
          { name: s.name, values: { name: s.name, description: s.description, status: s.status, escalation_policy: keptPolicyIds.has(s.escalation_policy_id) ? s.escalation_policy_id : null, teams: sorted(s.team_ids) } },
        ]),
    ),
    PagerDutyPriority: new Map([...st.priorities.values()].map((p) => [p.id, { name: p.name, values: { name: p.name, description: p.description } }])),
    PagerDutyEscalationPolicy: new Map(
      policies.map((p) => {
        const targets = p.escalation_rules.flatMap((r) => r.targets);
        return [p.id, { name: p.name, values: { name: p.name, description: p.description, teams: sorted(p.team_ids),
          target_schedules: sorted(targets.filter((t) => t.type === 'schedule' && st.schedules.has(t.id)).map((t) => t.id)),
          target_users: sorted(targets.filter((t) => t.type === 'user' && st.users.has(t.id)).map((t) => t.id)) } }];
      }),
    ),
    // Schedules cannot be tagged in PagerDuty: every one is synced.
    PagerDutySchedule: new Map(
      [...st.schedules.values()].map((x) => [x.id, { name: x.name, values: { name: x.name, description: x.description, time_zone: x.time_zone,
        teams: sorted(x.team_ids.filter((t) => st.teams.has(t))), users: sorted(x.layers.flatMap((l) => l.user_ids).filter((u) => st.users.has(u))) } }]),
    ),
  };
}

/** Reads the whole catalog through the API and compares it, references translated back to PagerDuty ids. */
export async function expectCatalogMatches(s: Setup, account: { id: string; name: string } = { id: 'default', name: 'Main' }) {
  const expected = expectedCatalog(s.pd);
  // Several accounts share the types: this account's entries are PagerDuty ids (the first account) or `<account>:<id>`.
  const mine = (ext: string) => (account.id === 'default' ? !ext.includes(':') : ext.startsWith(`${account.id}:`));
  const pdId = (ext: string | undefined) => (ext && account.id !== 'default' ? ext.slice(account.id.length + 1) : ext);
  const types = (await s.owner.get('/api/v1/catalog_types')).body.catalog_types;
  const entries = new Map<string, any[]>();
  const counts = new Map<string, number>();
  for (const typeName of Object.keys(expected)) {
    const all = await allEntries(s, typeName);
    counts.set(typeName, all.length);
    entries.set(typeName, all.filter((e) => mine(e.external_id)));
  }
  const extById = new Map<string, string>();
  for (const list of entries.values()) for (const e of list) extById.set(e.id, e.external_id);
  for (const [typeName, want] of Object.entries(expected)) {
    const type = types.find((t: any) => t.type_name === typeName);
    expect(type, typeName).toBeDefined();
    const got = entries.get(typeName)!;
    // The type's count covers every account: checked when this account's entries are all there is.
    if (counts.get(typeName) === got.length) expect(type.entry_count, `${typeName} count`).toBe(want.size);
    expect(new Set(got.map((e) => pdId(e.external_id))), typeName).toEqual(new Set(want.keys()));
    for (const e of got) {
      const w = want.get(pdId(e.external_id)!)!;
      expect(e.name).toBe(w.name);
      expect(e.external_url).toMatch(/^https:\/\/[a-z0-9-]+\.pagerduty\.com\//);
      const values: Record<string, unknown> = {};
      for (const a of type.attributes) {
        const v = e.attribute_values[a.id];
        values[a.id] = a.type === 'reference' ? (a.array ? (v as string[]).map((x) => pdId(extById.get(x))).sort() : v === null ? null : pdId(extById.get(v))) : v;
      }
      // Every entry carries the account it came from (the Account attribute, the account's name).
      expect(values, `${typeName} ${e.external_id}`).toEqual({ ...w.values, account: account.name });
    }
  }
}
