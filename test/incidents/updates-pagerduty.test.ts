import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { declare } from '../escalations/helpers.js';
import { backends } from '../helpers.js';
import { attach, setupLinks, waitFor, type LinksSetup } from '../pagerduty-links/helpers.js';

// End to end through the real edges: a responder posts an update with the API on an incident linked to PagerDuty
// incidents; PagerDuty (the emulator) gets one status update per linked incident, and the update lists where it
// went by name. PagerDuty refusing leaves the update standing, its delivery showing PagerDuty's message.

describe.each(backends)('updates reach PagerDuty (%s)', (backend) => {
  let s: LinksSetup;
  beforeAll(async () => {
    s = await setupLinks(backend);
  }, 180_000);
  afterAll(async () => s?.close());

  const listed = (incidentId: string, n: number) =>
    waitFor(`${n} settled deliveries`, async () => {
      const [u] = (await s.owner.get(`/api/v1/incidents/${incidentId}/updates`)).body.updates;
      return u && u.deliveries.length === n && u.deliveries.every((d: any) => d.state !== 'pending') ? u : null;
    }, 30_000);

  async function linked(name: string) {
    const inc = await declare(s.owner, name);
    const pd = await s.trigger(s.fallbackServiceId, { title: `${name}: alert` });
    await attach(s.owner, inc.id, pd.id);
    await s.settle();
    return { inc, pd };
  }

  it('one update through the API: one PagerDuty status update, shown on the update by name', async () => {
    const { inc, pd } = await linked('Checkout is down');
    const r = await s.owner.post(`/api/v1/incidents/${inc.id}/updates`, { message: 'Rolled back the deploy', status_id: 'fixing' });
    expect(r.status).toBe(201);
    const u = await listed(inc.id, 1);
    expect(u.deliveries[0]).toMatchObject({ target: 'pagerduty', state: 'sent', message: null, label: `PagerDuty incident #${pd.incident_number} "${pd.title}"` });
    expect(s.pd.state.incidents.get(pd.id)!.status_updates!.map((x) => x.message)).toEqual(['Rolled back the deploy']);
  });

  it('PagerDuty refuses: the update stands and its delivery carries PagerDuty\'s message', async () => {
    const { inc } = await linked('Login errors');
    const bot = [...s.pd.state.users.values()][0]!;
    const email = s.pd.state.users.get(bot.id)!.email;
    s.pd.admin.updateUser(bot.id, { email: 'someone-else@example.com' });
    try {
      const r = await s.owner.post(`/api/v1/incidents/${inc.id}/updates`, { message: 'Failed over to the replica' });
      expect(r.status).toBe(201);
      const u = await listed(inc.id, 1);
      expect(u.message).toBe('Failed over to the replica');
      expect(u.deliveries[0].state).toBe('failed');
      expect(u.deliveries[0].message).toContain('Requester User Not Found');
    } finally {
      s.pd.admin.updateUser(bot.id, { email });
    }
  });
});
