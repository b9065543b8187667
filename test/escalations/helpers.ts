import { createServer } from 'node:net';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { startCheckedPagerDuty } from '../pagerduty-requests.js';
import type { EscalationsModule } from '../../src/integrations/pagerduty/escalations/index.js';
import { ownerClient, startTestFirebreak, type Client, type TestFirebreak } from '../helpers.js';

// Firebreak + the PagerDuty emulator, PagerDuty connected and synced, a fallback escalation service chosen and
// an incident to escalate. Tests drive everything through the REST API and look at PagerDuty's side through the
// emulator's state and request log.

export interface EscSetup {
  fb: TestFirebreak;
  pd: PagerDutyEmulator;
  owner: Client;
  esc: EscalationsModule;
  /** A policy some synced service uses, and that service. */
  policies: { id: string; name: string; serviceIds: string[] }[];
  fallbackServiceId: string;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 40));
  }
}

export async function setupEscalations(backend: 'sqlite' | 'postgres', opts: { publicUrl?: boolean; autoWebhook?: boolean; seed?: 'small' | 'medium' | 'large' | 'huge'; start?: Record<string, unknown> } = {}): Promise<EscSetup> {
  const pd = await startCheckedPagerDuty({ port: 0, seed: opts.seed ?? 'medium', rateLimitPerMinute: false, webhookRetryDelaysMs: [50, 100] });
  let extra: Record<string, unknown> = { ...opts.start };
  if (opts.publicUrl) {
    const port = await freePort();
    extra = { ...extra, port, publicUrl: `http://127.0.0.1:${port}` };
  }
  const fb = await startTestFirebreak(backend, extra);
  const owner = await ownerClient(fb);
  const bot = [...pd.state.users.values()][0]!;
  const r = await owner.request('PUT', '/api/v1/integrations/pagerduty', { region: 'us', base_url: pd.baseUrl, api_key: pd.fullAccessKey, bot_user_id: bot.id });
  if (r.status !== 200) throw new Error(`connect: ${r.status} ${JSON.stringify(r.body)}`);
  const runId = r.body.last_run.id;
  await waitFor('the first sync', async () => {
    const run = (await owner.get(`/api/v1/catalog_sync_runs/${runId}`)).body.sync_run;
    return run && !['queued', 'running'].includes(run.status);
  }, 180_000);
  if (!opts.publicUrl && !opts.autoWebhook) {
    // Connecting to a PagerDuty on this machine subscribes Firebreak to its webhooks; these tests start without one.
    await waitFor('the automatic webhook subscription', async () => (await owner.get('/api/v1/integrations/pagerduty/escalation_settings')).body.webhook.secret_configured);
    for (const id of [...pd.state.webhookSubscriptions.keys()]) await fetch(`${pd.baseUrl}/webhook_subscriptions/${id}`, { method: 'DELETE', headers: { authorization: `Token token=${pd.fullAccessKey}`, accept: 'application/vnd.pagerduty+json;version=2' } });
    await owner.request('DELETE', '/api/v1/integrations/pagerduty/webhook_secret');
  }
  const esc = fb.app.pagerduty.escalations;
  esc.tuning.pollBaseMs = 60_000; // tests that poll turn it down themselves

  // Policies that synced services use, from the emulator's account.
  const synced = new Set<string>((await owner.get('/api/v1/integrations/pagerduty/escalation_options?type=escalation_policy&limit=100')).body.options.map((o: any) => o.id));
  const syncedServices = new Set<string>((await owner.get('/api/v1/integrations/pagerduty/escalation_options?type=service&limit=100')).body.options.map((o: any) => o.id));
  const byPolicy = new Map<string, string[]>();
  for (const s of pd.state.services.values()) {
    if (!synced.has(s.escalation_policy_id) || !syncedServices.has(s.id)) continue;
    byPolicy.set(s.escalation_policy_id, [...(byPolicy.get(s.escalation_policy_id) ?? []), s.id]);
  }
  const policies = [...byPolicy.entries()].map(([id, serviceIds]) => ({ id, name: pd.state.escalationPolicies.get(id)!.name, serviceIds }));
  const fallbackServiceId = [...syncedServices][0]!;
  const set = await owner.patch('/api/v1/integrations/pagerduty/escalation_settings', { fallback_service_id: fallbackServiceId });
  if (set.status !== 200) throw new Error(`settings: ${set.status} ${JSON.stringify(set.body)}`);
  return {
    fb,
    pd,
    owner,
    esc,
    policies,
    fallbackServiceId,
    async close() {
      await esc.paging.settle();
      await fb.destroy();
      await pd.stop();
    },
  };
}

export async function declare(owner: Client, name = 'Checkout is failing'): Promise<any> {
  const r = await owner.post('/api/v1/incidents', { name });
  if (r.status !== 201) throw new Error(`declare: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.incident;
}

/** Polls the API until every target of the escalation satisfies `done`. */
export async function waitForTargets(owner: Client, escalationId: string, done: (t: any) => boolean = (t) => t.status !== 'pending', timeoutMs = 20_000): Promise<any> {
  return waitFor(`escalation ${escalationId}`, async () => {
    const r = await owner.get(`/api/v1/escalations/${escalationId}`);
    return r.body.escalation.targets.every(done) ? r.body.escalation : null;
  }, timeoutMs);
}

/** POST /incidents requests Firebreak sent, by incident_key. */
export function createsByKey(pd: PagerDutyEmulator): Map<string, any[]> {
  const out = new Map<string, any[]>();
  for (const e of pd.requestLog()) {
    if (e.method !== 'POST' || e.path !== '/incidents') continue;
    const key = (e.body as any)?.incident?.incident_key;
    out.set(key, [...(out.get(key) ?? []), e]);
  }
  return out;
}

/** Registers a webhook subscription by hand in the emulator and gives Firebreak its secret. */
export async function manualWebhook(s: EscSetup): Promise<{ id: string; secret: string }> {
  const res = await fetch(`${s.pd.baseUrl}/webhook_subscriptions`, {
    method: 'POST',
    headers: { authorization: `Token token=${s.pd.fullAccessKey}`, accept: 'application/vnd.pagerduty+json;version=2', 'content-type': 'application/json' },
    body: JSON.stringify({ webhook_subscription: { type: 'webhook_subscription', delivery_method: { type: 'http_delivery_method', url: `${s.fb.baseUrl}/webhooks/pagerduty` }, events: ['incident.triggered', 'incident.acknowledged', 'incident.resolved', 'incident.reassigned', 'incident.escalated', 'incident.unacknowledged', 'service.created', 'service.updated', 'service.deleted'], filter: { type: 'account_reference' } } }),
  });
  const body = (await res.json()) as any;
  const sub = body.webhook_subscription;
  const put = await s.owner.request('PUT', '/api/v1/integrations/pagerduty/webhook_secret', { secret: sub.delivery_method.secret });
  if (put.status !== 200) throw new Error(`webhook secret: ${put.status} ${JSON.stringify(put.body)}`);
  return { id: sub.id, secret: sub.delivery_method.secret };
}

/** Between tests: whatever an earlier test started is finished, and PagerDuty's log, faults and crash hooks are clear. */
export async function quiesce(s: EscSetup): Promise<void> {
  await s.esc.paging.settle();
  await s.fb.app.jobs.drain();
  s.pd.clearRequestLog();
  s.pd.faults.clear();
  s.esc.tuning.faults = {};
}
