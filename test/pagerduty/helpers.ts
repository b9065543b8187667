import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { startCheckedPagerDuty } from '../pagerduty-requests.js';
import { ownerClient, startTestFirebreak, type TestFirebreak } from '../helpers.js';

export interface Setup {
  fb: TestFirebreak;
  pd: PagerDutyEmulator;
  owner: Awaited<ReturnType<typeof ownerClient>>;
  close(): Promise<void>;
}

/** Firebreak on a fresh database and a PagerDuty emulator with the given seed. */
export async function setup(backend: 'sqlite' | 'postgres' = 'sqlite', seed: 'small' | 'medium' | 'none' = 'medium', rateLimitPerMinute: number | false = false): Promise<Setup> {
  const pd = await startCheckedPagerDuty({ port: 0, seed, rateLimitPerMinute });
  const fb = await startTestFirebreak(backend);
  const owner = await ownerClient(fb);
  return {
    fb,
    pd,
    owner,
    async close() {
      await fb.destroy();
      await pd.stop();
    },
  };
}

export function firstUser(pd: PagerDutyEmulator) {
  return [...pd.state.users.values()][0]!;
}

/**
 * Connects through the API and waits for the first sync to finish. With the emulator on this machine, connecting
 * subscribes Firebreak to PagerDuty's webhooks; these tests look at what syncs do, so the subscription is removed
 * unless `webhooks` asks to keep it (webhooks would otherwise archive deleted services before a sync sees them).
 */
export async function connect(s: Setup, opts: { wait?: boolean; webhooks?: boolean } = {}) {
  const bot = firstUser(s.pd);
  const r = await s.owner.request('PUT', '/api/v1/integrations/pagerduty', { region: 'us', base_url: s.pd.baseUrl, api_key: s.pd.fullAccessKey, bot_user_id: bot.id });
  if (r.status !== 200) throw new Error(`connect: ${r.status} ${JSON.stringify(r.body)}`);
  if (!opts.webhooks) {
    for (const until = Date.now() + 15_000; ; ) {
      if ((await s.owner.get('/api/v1/integrations/pagerduty/escalation_settings')).body.webhook?.secret_configured) break;
      if (Date.now() > until) throw new Error('connect: the automatic webhook subscription was never made');
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const id of [...s.pd.state.webhookSubscriptions.keys()]) await fetch(`${s.pd.baseUrl}/webhook_subscriptions/${id}`, { method: 'DELETE', headers: { authorization: `Token token=${s.pd.fullAccessKey}`, accept: 'application/vnd.pagerduty+json;version=2' } });
  }
  if (opts.wait !== false) await waitForRun(s, r.body.last_run.id);
  return r.body;
}

export async function waitForRun(s: Setup, runId: string, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await s.owner.get(`/api/v1/catalog_sync_runs/${runId}`);
    const run = r.body.sync_run;
    if (run && !['queued', 'running'].includes(run.status)) return run;
    if (Date.now() > until) throw new Error(`run ${runId} still ${run?.status} after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** Sync now through the API and wait for the run. */
export async function syncNow(s: Setup, body: Record<string, unknown> = {}) {
  const r = await s.owner.post('/api/v1/integrations/pagerduty/sync', body);
  if (r.status !== 202) throw new Error(`sync: ${r.status} ${JSON.stringify(r.body)}`);
  return waitForRun(s, r.body.run.id);
}

/** Every entry of a type (archived ones too when asked), via the API's cursor pagination. */
export async function allEntries(s: Setup, typeName: string, archived: 'exclude' | 'include' | 'only' = 'exclude') {
  const out: any[] = [];
  let cursor: string | null = null;
  do {
    const r: any = await s.owner.get(`/api/v1/catalog_entries?catalog_type_id=${typeName}&limit=250&archived=${archived}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (r.status !== 200) throw new Error(JSON.stringify(r.body));
    out.push(...r.body.catalog_entries);
    cursor = r.body.next_cursor;
  } while (cursor);
  return out;
}
