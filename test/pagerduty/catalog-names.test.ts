import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, setup, type Setup } from './helpers.js';

// The catalog types and attributes the PagerDuty integration creates, named exactly as the product description
// lists them (../shared/seed/000_68782493294908cb.txt, "Catalog"), in its order, with the links it describes
// and its sync cadence (priorities daily, the rest hourly). The one change: the description's "incident.io User"
// is this product's "Firebreak User". Read through the API, as people and automations see them.

const EXPECTED: Record<string, { name: string; intervalMinutes: number; attributes: [name: string, referenceType?: string][] }> = {
  PagerDutyUser: {
    name: 'PagerDuty User',
    intervalMinutes: 60,
    attributes: [['Name'], ['Email'], ['Role'], ['Job title'], ['Timezone'], ['Firebreak User']],
  },
  PagerDutyTeam: { name: 'PagerDuty Team', intervalMinutes: 60, attributes: [['Name'], ['Description'], ['Members', 'PagerDutyUser']] },
  PagerDutyService: {
    name: 'PagerDuty Service',
    intervalMinutes: 60,
    attributes: [['Name'], ['Description'], ['Status'], ['Escalation policy', 'PagerDutyEscalationPolicy'], ['Teams', 'PagerDutyTeam']],
  },
  PagerDutyPriority: { name: 'PagerDuty Priority', intervalMinutes: 24 * 60, attributes: [['Name'], ['Description']] },
  PagerDutyEscalationPolicy: {
    name: 'PagerDuty Escalation Policy',
    intervalMinutes: 60,
    // Beyond the product description (issue 17): the schedules and users the policy's levels target.
    attributes: [['Name'], ['Description'], ['Teams', 'PagerDutyTeam'], ['Targets (schedules)', 'PagerDutySchedule'], ['Targets (users)', 'PagerDutyUser']],
  },
  // Beyond the product description (issue 17): on-call schedules, hourly.
  PagerDutySchedule: {
    name: 'PagerDuty Schedule',
    intervalMinutes: 60,
    attributes: [['Name'], ['Description'], ['Time zone'], ['Teams', 'PagerDutyTeam'], ['Users', 'PagerDutyUser']],
  },
};

describe('PagerDuty catalog types and attribute names', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup('sqlite', 'small');
    await connect(s);
  }, 120_000);
  afterAll(async () => s?.close());

  it('connecting creates the five types (and schedules) with the attribute names, links and sync intervals of the product description', async () => {
    const types = (await s.owner.get('/api/v1/catalog_types')).body.catalog_types.filter((t: any) => t.source === 'pagerduty');
    expect(types.map((t: any) => t.type_name).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const [typeName, want] of Object.entries(EXPECTED)) {
      const t = types.find((x: any) => x.type_name === typeName);
      expect(t.name, typeName).toBe(want.name);
      expect(t.sync_interval_minutes, `${typeName} sync interval`).toBe(want.intervalMinutes);
      // The product description's attributes, then the account each entry comes from (several PagerDuty accounts).
      expect(t.attributes.map((a: any) => a.name), `${typeName} attribute names`).toEqual([...want.attributes.map(([n]) => n), 'Account']);
      for (const [n, ref] of want.attributes) {
        const a = t.attributes.find((x: any) => x.name === n);
        if (ref) expect(a, `${typeName}.${n}`).toMatchObject({ type: 'reference', reference_type: ref });
        else expect(a.type, `${typeName}.${n}`).not.toBe('reference');
      }
    }
    // "incident.io User (we match based on the email)": a link to the Firebreak person, not a text field.
    expect(types.find((x: any) => x.type_name === 'PagerDutyUser').attributes.find((a: any) => a.name === 'Firebreak User')).toMatchObject({ name: 'Firebreak User', type: 'firebreak_user' });
  });
});
