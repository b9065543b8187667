import type { Client } from '../helpers.js';
import { userClient } from '../helpers.js';
import { setupEscalations, waitFor, type EscSetup } from '../escalations/helpers.js';

// Firebreak with PagerDuty connected, synced and subscribed to every incident webhook (the emulator delivers
// to Firebreak's receiver), plus helpers to act in PagerDuty and to make Firebreak people who are (or are not)
// PagerDuty users.

export interface LinksSetup extends EscSetup {
  /** Delivers pending webhooks, then waits until Firebreak's jobs are idle. */
  settle(): Promise<void>;
  /** A PagerDuty REST call with the full-access key. */
  pdApi(method: string, path: string, body?: unknown, from?: string): Promise<{ status: number; body: any }>;
  /** Triggers a PagerDuty incident (as a monitoring alert would, or through the REST API with a priority). */
  trigger(serviceId: string, opts?: { title?: string; urgency?: 'high' | 'low'; priorityId?: string; incidentKey?: string }): Promise<any>;
  /** A Firebreak responder signed in, with the email of this PagerDuty user. */
  personFor(pdUserId: string): Promise<{ client: Client; user: any }>;
  /** PagerDuty users assigned to the incident now. */
  assignees(pdIncidentId: string): string[];
  /** A PagerDuty user never assigned to it. */
  bystander(pdIncidentId: string): any;
}

export const ALL_INCIDENT_EVENTS = [
  'incident.triggered', 'incident.acknowledged', 'incident.unacknowledged', 'incident.resolved', 'incident.reassigned',
  'incident.escalated', 'incident.annotated', 'incident.priority_updated',
];

export async function setupLinks(backend: 'sqlite' | 'postgres', opts: { start?: Record<string, unknown> } = {}): Promise<LinksSetup> {
  const s = await setupEscalations(backend, opts);
  const res = await fetch(`${s.pd.baseUrl}/webhook_subscriptions`, {
    method: 'POST',
    headers: { authorization: `Token token=${s.pd.fullAccessKey}`, accept: 'application/vnd.pagerduty+json;version=2', 'content-type': 'application/json' },
    body: JSON.stringify({ webhook_subscription: { type: 'webhook_subscription', delivery_method: { type: 'http_delivery_method', url: `${s.fb.baseUrl}/webhooks/pagerduty` }, events: ALL_INCIDENT_EVENTS, filter: { type: 'account_reference' } } }),
  });
  const sub = ((await res.json()) as any).webhook_subscription;
  const put = await s.owner.request('PUT', '/api/v1/integrations/pagerduty/webhook_secret', { secret: sub.delivery_method.secret });
  if (put.status !== 200) throw new Error(`webhook secret: ${put.status}`);
  const bot = [...s.pd.state.users.values()][0]!;
  // These tests act in PagerDuty as whoever it paged; PagerDuty refuses writes from read-only, observer and
  // restricted-access users (test/pagerduty-side/bot.test.ts), so every seeded user here gets a role that may act.
  for (const u of [...s.pd.state.users.values()]) if (['read_only_user', 'read_only_limited_user', 'observer', 'restricted_access'].includes(u.role)) s.pd.admin.updateUser(u.id, { role: 'user' });
  const people = new Map<string, { client: Client; user: any }>();

  const pdApi: LinksSetup['pdApi'] = async (method, path, body, from) => {
    const r = await fetch(`${s.pd.baseUrl}${path}`, {
      method,
      headers: { authorization: `Token token=${s.pd.fullAccessKey}`, accept: 'application/vnd.pagerduty+json;version=2', 'content-type': 'application/json', ...(from ? { from } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, body: await r.json().catch(() => null) };
  };
  // Webhook deliveries are applied by a drain job due at the end of a short slot (a delayed job, which
  // jobs.drain() does not wait for): wait until every stored delivery is applied, then for the jobs it queued.
  const unapplied = async () => Number((await s.fb.app.database.db.selectFrom('pagerduty_webhook_events').select((eb) => eb.fn.countAll().as('n')).where('applied_at', 'is', null).executeTakeFirstOrThrow()).n);
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      await s.pd.webhooks.flush();
      await waitFor('webhook deliveries applied', async () => (await unapplied()) === 0, 20_000);
      await s.fb.app.jobs.drain(20_000);
    }
  };
  return {
    ...s,
    settle,
    pdApi,
    async trigger(serviceId, o = {}) {
      if (!o.priorityId) {
        return s.pd.admin.triggerIncident({ service_id: serviceId, title: o.title ?? `Disk full ${Math.random().toString(36).slice(2, 7)}`, urgency: o.urgency, incident_key: o.incidentKey });
      }
      const r = await pdApi('POST', '/incidents', {
        incident: { type: 'incident', title: o.title ?? 'Latency', service: { id: serviceId, type: 'service_reference' }, urgency: o.urgency ?? 'high', priority: { id: o.priorityId, type: 'priority_reference' }, ...(o.incidentKey ? { incident_key: o.incidentKey } : {}) },
      }, bot.email.trim());
      if (r.status !== 201) throw new Error(`trigger: ${r.status} ${JSON.stringify(r.body)}`);
      return s.pd.state.incidents.get(r.body.incident.id);
    },
    async personFor(pdUserId) {
      const known = people.get(pdUserId);
      if (known) return known;
      const u = s.pd.state.users.get(pdUserId)!;
      const p = await userClient(s.fb, s.owner, 'responder', u.email.trim().toLowerCase());
      people.set(pdUserId, p);
      return p;
    },
    assignees: (id) => s.pd.state.incidents.get(id)!.assignments.map((a) => a.user_id),
    bystander(id) {
      const taken = new Set(s.pd.state.incidents.get(id)!.assignments.map((a) => a.user_id));
      return [...s.pd.state.users.values()].find((u, i) => i > 5 && !taken.has(u.id) && u.email === u.email.trim())!;
    },
  };
}

export async function timeline(owner: Client, incidentId: string): Promise<any[]> {
  return (await owner.get(`/api/v1/incidents/${incidentId}/timeline`)).body.items;
}

export async function attach(c: Client, incidentId: string, ref: string): Promise<any> {
  const r = await c.post(`/api/v1/incidents/${incidentId}/pagerduty_incidents`, { pagerduty_incident: ref });
  if (r.status !== 201 && r.status !== 200) throw new Error(`attach: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.pagerduty_incident;
}

export { waitFor };
