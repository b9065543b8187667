import type { TargetKind } from './tables.js';

// Which PagerDuty service each target is paged through. PagerDuty creates an incident on a service, so:
// a policy is paged through a service that uses it, preferring one linked to the incident (the service that is
// on fire), else the first such service, else the fallback service the admin chose; a person is always paged
// through the fallback service. Without a service the target is recorded as failed at once, saying why.

export interface PlannedTarget {
  kind: TargetKind;
  id: string;
  name: string;
  service: { id: string; name: string } | null;
  error: string | null;
}

export interface TargetChoice {
  policies: { id: string; name: string; services: { id: string; name: string }[] }[];
  people: { id: string; name: string }[];
  /** PagerDuty services linked to the incident. */
  linkedServiceIds: ReadonlySet<string>;
  fallback: { id: string; name: string } | null;
}

const NO_FALLBACK = 'no fallback escalation service is set: an admin can choose one in Settings → Integrations → PagerDuty';

export function planTargets(c: TargetChoice): PlannedTarget[] {
  const planned: PlannedTarget[] = [];
  for (const p of c.policies) {
    const svc = p.services.find((s) => c.linkedServiceIds.has(s.id)) ?? p.services[0] ?? c.fallback;
    planned.push({ kind: 'escalation_policy', id: p.id, name: p.name, service: svc ? { id: svc.id, name: svc.name } : null, error: svc ? null : `No PagerDuty service uses this escalation policy and ${NO_FALLBACK}.` });
  }
  for (const person of c.people) {
    planned.push({ kind: 'user', id: person.id, name: person.name, service: c.fallback, error: c.fallback ? null : `PagerDuty pages a person through a service, and ${NO_FALLBACK}.` });
  }
  return planned;
}
