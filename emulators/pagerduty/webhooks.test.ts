/** Webhooks v3 as a Firebreak receiver meets them: envelope, signatures, retries, ordering, filters. */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startPagerDutyEmulator, type PagerDutyEmulator } from './index.js';
import { pdCall, startReceiver, type ReceivedHook } from './test-helpers.js';

let pd: PagerDutyEmulator;
let from: string;
let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
beforeAll(async () => { pd = await startPagerDutyEmulator({ seed: 'small', rateLimitPerMinute: false, webhookRetryDelaysMs: [20, 40, 80] }); });
afterAll(async () => { await pd.stop(); });
beforeEach(async () => { await pd.reset(); from = [...pd.state.users.values()].find((u) => u.email === u.email.trim().toLowerCase())!.email; });
afterEach(async () => { await receiver?.close(); receiver = undefined; });

const ALL = ['incident.triggered', 'incident.acknowledged', 'incident.unacknowledged', 'incident.resolved', 'incident.reassigned',
  'incident.escalated', 'incident.annotated', 'incident.priority_updated', 'service.created', 'service.updated', 'service.deleted'];

async function subscribe(url: string, filter: Record<string, string> = { type: 'account_reference' }, events = ALL) {
  const r = await pdCall(pd, 'POST', '/webhook_subscriptions', { body: { webhook_subscription: { type: 'webhook_subscription',
    delivery_method: { type: 'http_delivery_method', url, custom_headers: [{ name: 'X-Firebreak', value: 'yes' }] }, events, filter } } });
  expect(r.status).toBe(200);
  return { id: r.json.webhook_subscription.id as string, secret: r.json.webhook_subscription.delivery_method.secret as string };
}

function verify(hook: ReceivedHook, secret: string): boolean {
  const expected = Buffer.from(`v1=${createHmac('sha256', secret).update(hook.body).digest('hex')}`);
  return String(hook.headers['x-pagerduty-signature']).split(',').some((sig) => {
    const b = Buffer.from(sig.trim());
    return b.length === expected.length && timingSafeEqual(b, expected);
  });
}
const events = (r: { received: ReceivedHook[] }) => r.received.map((h) => JSON.parse(h.body).event);
const svc = () => [...pd.state.services.values()][0]!;
async function trigger(service = svc(), key?: string): Promise<string> {
  const r = await pdCall(pd, 'POST', '/incidents', { from, body: { incident: { type: 'incident', title: 'Disk full', incident_key: key, service: { id: service.id, type: 'service_reference' } } } });
  expect(r.status).toBe(201);
  return r.json.incident.id;
}

describe('webhooks v3 deliveries', () => {
  it('responders: incident.responder.added per person asked, incident.responder.replied when they accept or decline', async () => {
    receiver = await startReceiver();
    const example = JSON.parse(await readFile(new URL('../../../shared/pagerduty/webhook-examples/data-incident_responder.json', import.meta.url), 'utf8').catch(() => '{}')) as Record<string, unknown>;
    await subscribe(receiver.url, { type: 'account_reference' }, ['incident.responder.added', 'incident.responder.replied']);
    const id = await trigger();
    const users = [...pd.state.users.values()].filter((u) => u.role === 'user' || u.role === 'admin').slice(0, 2);
    const requester = pd.state.users.get([...pd.state.users.values()].find((u) => u.email === from)!.id)!;
    const r = await pdCall(pd, 'POST', `/incidents/${id}/responder_requests`, { from, body: { requester_id: requester.id, message: 'Need a DBA',
      responder_request_targets: users.map((u) => ({ responder_request_target: { id: u.id, type: 'user_reference' } })) } });
    expect(r.status).toBe(200);
    pd.actAs(users[0]!.id).acceptResponderRequest(id);
    pd.actAs(users[1]!.id).declineResponderRequest(id);
    expect(() => pd.actAs(users[1]!.id).acceptResponderRequest(id)).toThrow('Invalid Input Provided');
    await pd.webhooks.flush();
    const got = events(receiver);
    expect(got.map((e) => [e.event_type, e.data.user.id, e.data.state])).toEqual([
      ['incident.responder.added', users[0]!.id, 'pending'], ['incident.responder.added', users[1]!.id, 'pending'],
      ['incident.responder.replied', users[0]!.id, 'joined'], ['incident.responder.replied', users[1]!.id, 'declined'],
    ]);
    expect(got[2]).toMatchObject({ resource_type: 'incident', agent: { id: users[0]!.id, type: 'user_reference' } });
    expect(got[0].data).toMatchObject({ type: 'incident_responder', message: 'Need a DBA', incident: { id, type: 'incident_reference' } });
    // The same keys as PagerDuty's own example of this data type (escalation_policy only when asked through one).
    if (example.type) expect(Object.keys(got[0].data).sort()).toEqual(Object.keys(example).filter((k) => k !== 'escalation_policy').sort());
    const wire = (await pdCall(pd, 'GET', `/incidents/${id}`)).json.incident;
    expect(wire.incidents_responders.map((x: any) => [x.user.id, x.state])).toEqual([[users[0]!.id, 'joined'], [users[1]!.id, 'declined']]);
  });

  it('returns the secret only at creation, and signs the raw body with it', async () => {
    receiver = await startReceiver();
    const sub = await subscribe(receiver.url);
    expect(sub.secret.length).toBeGreaterThan(20);
    const get = await pdCall(pd, 'GET', `/webhook_subscriptions/${sub.id}`);
    expect(get.json.webhook_subscription.delivery_method.secret).toBeNull();
    const id = await trigger();
    await pd.webhooks.flush();
    expect(receiver.received).toHaveLength(1);
    const hook = receiver.received[0]!;
    expect(verify(hook, sub.secret)).toBe(true);
    expect(verify({ ...hook, body: hook.body.replace('Disk full', 'Disk ok!') }, sub.secret)).toBe(false);
    expect(hook.headers['x-firebreak']).toBe('yes');
    expect(hook.headers['x-webhook-id']).toBe(pd.webhooks.deliveries()[0]!.id);
    const e = JSON.parse(hook.body).event;
    expect(e).toMatchObject({ event_type: 'incident.triggered', resource_type: 'incident', agent: { type: 'user_reference', id: pd.state.incidents.get(id)!.last_status_change_by } });
    expect(e.data).toMatchObject({ id, type: 'incident', number: 1, status: 'triggered', title: 'Disk full', service: { id: svc().id, type: 'service_reference' } });
    expect(e.data.incident_number).toBeUndefined();
    expect(Object.keys(e)).toEqual(['id', 'event_type', 'resource_type', 'occurred_at', 'agent', 'client', 'data']);
  });

  it('a user acting from the phone app produces events with that user as agent, in order', async () => {
    receiver = await startReceiver();
    await subscribe(receiver.url);
    const svcWithLevels = [...pd.state.services.values()].find((s) => pd.state.escalationPolicies.get(s.escalation_policy_id)!.escalation_rules.length >= 2)!;
    expect(svcWithLevels).toBeDefined();
    const id = await trigger(svcWithLevels);
    const responder = [...pd.state.users.values()][3]!;
    const other = [...pd.state.users.values()][4]!;
    const as = pd.actAs(responder.email);
    as.acknowledge(id);
    as.addNote(id, 'Looking at it');
    as.escalate(id);
    as.reassign(id, [other.id]);
    as.resolve(id);
    await pd.webhooks.flush();
    const evs = events(receiver);
    expect(evs.map((e) => e.event_type)).toEqual(['incident.triggered', 'incident.acknowledged', 'incident.annotated', 'incident.escalated', 'incident.reassigned', 'incident.resolved']);
    for (const e of evs.slice(1)) expect(e.agent.id).toBe(responder.id);
    expect(evs[2].data).toMatchObject({ type: 'incident_note', content: 'Looking at it', incident: { id, type: 'incident_reference' } });
    expect(evs[4].data.assignees.map((a: { id: string }) => a.id)).toEqual([other.id]);
    expect(evs[5].data.status).toBe('resolved');
    const logs = pd.state.logEntries.filter((l) => l.incident_id === id && l.type === 'acknowledge_log_entry');
    expect(logs[0]).toMatchObject({ agent: { type: 'user', id: responder.id }, channel: 'mobile' });
  });

  it('an incident triggered by a monitoring alert (control API) arrives with the service as agent', async () => {
    receiver = await startReceiver();
    await subscribe(receiver.url, { type: 'account_reference' }, ['incident.triggered']);
    const r = await fetch(`${pd.baseUrl}/_emulator/trigger`, { method: 'POST', body: JSON.stringify({ service_id: svc().id, title: 'CPU > 95%', urgency: 'low' }) });
    expect(r.status).toBe(201);
    const id = ((await r.json()) as { incident: { id: string } }).incident.id;
    await pd.webhooks.flush();
    expect(events(receiver)[0]).toMatchObject({ agent: { id: svc().id, type: 'service_reference' }, data: { id, urgency: 'low', title: 'CPU > 95%' } });
    expect(pd.state.logEntries.find((l) => l.incident_id === id && l.type === 'trigger_log_entry')!.agent).toEqual({ type: 'service', id: svc().id });
    expect((await fetch(`${pd.baseUrl}/_emulator/trigger`, { method: 'POST', body: JSON.stringify({ service_id: 'PNOSUCH', title: 'x' }) })).status).toBe(400);
  });

  it('unacknowledge and priority changes through the REST API fire their events', async () => {
    receiver = await startReceiver();
    await subscribe(receiver.url, { type: 'account_reference' }, ['incident.unacknowledged', 'incident.priority_updated']);
    const id = await trigger();
    const put = (incident: Record<string, unknown>) => pdCall(pd, 'PUT', `/incidents/${id}`, { from, body: { incident: { type: 'incident_reference', ...incident } } });
    await put({ status: 'acknowledged' });
    await put({ status: 'triggered' });
    await put({ priority: { id: [...pd.state.priorities.values()][0]!.id, type: 'priority_reference' } });
    await pd.webhooks.flush();
    expect(events(receiver).map((e) => e.event_type)).toEqual(['incident.unacknowledged', 'incident.priority_updated']);
    expect(events(receiver)[1].data.priority.summary).toBe('P1');
  });

  it('service and team filters only deliver matching events; service events cover create, update, delete', async () => {
    receiver = await startReceiver();
    const [s1, s2] = [...pd.state.services.values()].filter((s) => s.team_ids.length > 0);
    expect(s1 && s2).toBeTruthy();
    await subscribe(receiver.url, { type: 'service_reference', id: s1!.id }, ['incident.triggered', 'service.updated']);
    const other = await startReceiver();
    try {
      const teamId = s2!.team_ids[0]!;
      await subscribe(other.url, { type: 'team_reference', id: teamId }, ['incident.triggered', 'service.created', 'service.deleted']);
      await trigger(s1!); await trigger(s2!);
      pd.admin.updateService(s1!.id, { name: 'renamed-service' });
      const created = pd.admin.addService({ name: 'brand-new', escalation_policy_id: s1!.escalation_policy_id, team_ids: [teamId] });
      pd.admin.deleteService(created.id);
      await pd.webhooks.flush();
      expect(events(receiver).map((e) => [e.event_type, e.data.service?.id ?? e.data.id])).toEqual([['incident.triggered', s1!.id], ['service.updated', s1!.id]]);
      expect(events(receiver)[1]).toMatchObject({ agent: null, resource_type: 'service', data: { type: 'service', name: 'renamed-service' } });
      const teamEvents = events(other).map((e) => e.event_type);
      expect(teamEvents).toEqual([...(s1!.team_ids.includes(teamId) ? ['incident.triggered'] : []), 'incident.triggered', 'service.created', 'service.deleted']);
    } finally { await other.close(); }
  });

  it('retries 5xx, 429 and connection errors with the same X-Webhook-Id, and drops other 4xx', async () => {
    const plan: (number | 'destroy')[] = [500, 429, 'destroy', 200, 404];
    receiver = await startReceiver((n) => plan[n - 1] ?? 200);
    await subscribe(receiver.url, { type: 'account_reference' }, ['incident.triggered', 'incident.resolved']);
    const id = await trigger();
    await pd.webhooks.flush();
    expect(receiver.received).toHaveLength(4);
    expect(new Set(receiver.received.map((h) => h.headers['x-webhook-id'])).size).toBe(1);
    expect(pd.webhooks.deliveries()[0]).toMatchObject({ status: 'delivered' });
    expect(pd.webhooks.deliveries()[0]!.attempts.map((a) => a.status)).toEqual([500, 429, null, 200]);
    pd.actAs(from).resolve(id);
    await pd.webhooks.flush();
    expect(receiver.received).toHaveLength(5);
    expect(pd.webhooks.deliveries()[1]).toMatchObject({ status: 'dropped', event_type: 'incident.resolved' });
  });

  it('a receiver slower than the timeout is retried; later events of the incident wait behind it', async () => {
    receiver = await startReceiver((n) => (n === 1 ? 'hang' : 200));
    pd.faults.set({ webhookReceiverTimeoutMs: 100 });
    await subscribe(receiver.url, { type: 'account_reference' }, ['incident.triggered', 'incident.acknowledged']);
    const id = await trigger();
    pd.actAs(from).acknowledge(id);
    await pd.webhooks.flush();
    const seen = receiver.received.map((h) => JSON.parse(h.body).event.event_type);
    expect(seen).toEqual(['incident.triggered', 'incident.triggered', 'incident.acknowledged']);
    expect(pd.webhooks.deliveries()[0]!.attempts[0]!.error).toBe('timeout');
  });

  it('drops 4xx answers without retry and disables a subscription after three consecutive drops', async () => {
    receiver = await startReceiver(() => 410);
    const sub = await subscribe(receiver.url, { type: 'account_reference' }, ['incident.triggered', 'incident.acknowledged', 'incident.annotated', 'incident.resolved']);
    const id = await trigger();
    const as = pd.actAs(from);
    as.acknowledge(id); as.addNote(id, 'n'); as.resolve(id);
    await pd.webhooks.flush();
    expect(receiver.received.map((h) => JSON.parse(h.body).event.event_type)).toEqual(['incident.triggered', 'incident.acknowledged', 'incident.annotated']);
    expect(pd.webhooks.deliveries().map((d) => d.status)).toEqual(['dropped', 'dropped', 'dropped', 'dropped']);
    expect(pd.state.webhookSubscriptions.get(sub.id)!.temporarily_disabled).toBe(true);
    const enabled = await pdCall(pd, 'POST', `/webhook_subscriptions/${sub.id}/enable`);
    expect(enabled.json.webhook_subscription.delivery_method.temporarily_disabled).toBe(false);
  });

  it('signs with both secrets while one is being rotated', async () => {
    receiver = await startReceiver();
    const sub = await subscribe(receiver.url, { type: 'account_reference' }, ['incident.triggered']);
    const { secret: next } = pd.admin.rotateWebhookSecret(sub.id);
    await trigger(svc(), 'r1');
    pd.admin.finishSecretRotation(sub.id);
    await trigger(svc(), 'r2');
    await pd.webhooks.flush();
    const [during, after] = receiver.received;
    expect(String(during!.headers['x-pagerduty-signature']).split(',')).toHaveLength(2);
    expect(verify(during!, sub.secret) && verify(during!, next)).toBe(true);
    expect(String(after!.headers['x-pagerduty-signature']).split(',')).toHaveLength(1);
    expect(verify(after!, next)).toBe(true);
    expect(verify(after!, sub.secret)).toBe(false);
  });

  it('ping delivers pagey.ping; validation rejects unknown events and filters', async () => {
    receiver = await startReceiver();
    const sub = await subscribe(receiver.url, { type: 'account_reference' }, ['incident.triggered']);
    expect((await pdCall(pd, 'POST', `/webhook_subscriptions/${sub.id}/ping`)).status).toBe(202);
    await pd.webhooks.flush();
    expect(events(receiver)[0].event_type).toBe('pagey.ping');
    const bad = await pdCall(pd, 'POST', '/webhook_subscriptions', { body: { webhook_subscription: { type: 'webhook_subscription',
      delivery_method: { type: 'http_delivery_method', url: receiver.url }, events: ['incident.exploded'], filter: { type: 'account_reference' } } } });
    expect(bad.status).toBe(400);
    const badFilter = await pdCall(pd, 'POST', '/webhook_subscriptions', { body: { webhook_subscription: { type: 'webhook_subscription',
      delivery_method: { type: 'http_delivery_method', url: receiver.url }, events: ['incident.triggered'], filter: { type: 'service_reference', id: 'PNOSUCH' } } } });
    expect(badFilter.status).toBe(400);
  });
});
