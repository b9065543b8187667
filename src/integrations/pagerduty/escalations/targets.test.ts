import { describe, expect, it } from 'vitest';
import { planTargets } from './targets.js';

const api = { id: 'PSVC1', name: 'API' };
const db = { id: 'PSVC2', name: 'Database' };
const fallback = { id: 'PFALL', name: 'Escalations' };

describe('which service each escalation target is paged through', () => {
  it('a policy goes through the service linked to the incident when one of its services is linked', () => {
    const [t] = planTargets({ policies: [{ id: 'PPOL', name: 'Platform', services: [api, db] }], people: [], linkedServiceIds: new Set(['PSVC2']), fallback });
    expect(t).toEqual({ kind: 'escalation_policy', id: 'PPOL', name: 'Platform', service: db, error: null });
  });

  it('a policy goes through its first service when none of its services is linked, not the fallback', () => {
    const [t] = planTargets({ policies: [{ id: 'PPOL', name: 'Platform', services: [api, db] }], people: [], linkedServiceIds: new Set(['POTHER']), fallback });
    expect(t!.service).toEqual(api);
  });

  it('a policy no service uses goes through the fallback service', () => {
    const [t] = planTargets({ policies: [{ id: 'PPOL', name: 'Platform', services: [] }], people: [], linkedServiceIds: new Set(), fallback });
    expect(t!.service).toEqual(fallback);
    expect(t!.error).toBeNull();
  });

  it('a policy no service uses, without a fallback, fails at once and says what an admin can do', () => {
    const [t] = planTargets({ policies: [{ id: 'PPOL', name: 'Platform', services: [] }], people: [], linkedServiceIds: new Set(), fallback: null });
    expect(t!.service).toBeNull();
    expect(t!.error).toMatch(/No PagerDuty service uses this escalation policy/);
    expect(t!.error).toMatch(/Settings → Integrations → PagerDuty/);
  });

  it('a person always goes through the fallback service, even when a linked service exists', () => {
    const [t] = planTargets({ policies: [], people: [{ id: 'PUSER', name: 'Alan Weber' }], linkedServiceIds: new Set(['PSVC1']), fallback });
    expect(t).toEqual({ kind: 'user', id: 'PUSER', name: 'Alan Weber', service: fallback, error: null });
  });

  it('a person cannot be paged without a fallback service, and is told why', () => {
    const [t] = planTargets({ policies: [], people: [{ id: 'PUSER', name: 'Alan Weber' }], linkedServiceIds: new Set(), fallback: null });
    expect(t!.service).toBeNull();
    expect(t!.error).toMatch(/PagerDuty pages a person through a service/);
  });

  it('keeps the order people chose: policies first, then people', () => {
    const planned = planTargets({ policies: [{ id: 'P2', name: 'B', services: [api] }, { id: 'P1', name: 'A', services: [db] }], people: [{ id: 'U1', name: 'Ann' }], linkedServiceIds: new Set(), fallback });
    expect(planned.map((p) => p.id)).toEqual(['P2', 'P1', 'U1']);
  });
});
