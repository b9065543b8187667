// `npm run demo`: Firebreak with the PagerDuty emulator (medium seed) and the Slack emulator in one process, connected
// to both and filled with a few incidents, so a newcomer can try everything without a Slack workspace or a PagerDuty
// account. The emulators also serve a demo view of their side (Slack at /view, PagerDuty at /view).
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startFirebreak, type RunningFirebreak } from '../src/main.js';
import { startPagerDutyEmulator, type PagerDutyEmulator } from '../emulators/pagerduty/index.js';
import { startSlackEmulator, type SlackEmulator, type SlackUser } from '../emulators/slack/index.js';
import { installSlackView } from '../emulators/slack/view/index.js';
import { installPagerDutyView } from '../emulators/pagerduty/view/index.js';

export interface DemoOptions {
  dataDir?: string;
  reset?: boolean;
  port?: number;
  slackPort?: number;
  pagerdutyPort?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface Demo {
  fb: RunningFirebreak;
  pd: PagerDutyEmulator;
  slack: SlackEmulator;
  firebreakUrl: string;
  slackViewUrl: string;
  pagerdutyViewUrl: string;
  /** One-time sign-in link for the owner. */
  signInUrl: string;
  people: { slackId: string; pagerdutyId: string; name: string; email: string }[];
  /** PagerDuty services whose incidents open a Firebreak incident (the demo's auto-create rules). */
  autoCreateServices: { id: string; name: string }[];
  stop(): Promise<void>;
}

interface Api {
  (method: string, path: string, body?: unknown): Promise<any>;
}

async function signIn(baseUrl: string, link: string): Promise<Api> {
  const res = await fetch(link, { redirect: 'manual' });
  if (res.status !== 302) throw new Error(`sign-in link answered ${res.status}`);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  const csrf = ((await (await fetch(`${baseUrl}/api/v1/session`, { headers: { cookie } })).json()) as { csrf_token: string }).csrf_token;
  return async (method, path, body) => {
    const r = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { cookie, 'x-csrf-token': csrf, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
}

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startDemo(opts: DemoOptions = {}): Promise<Demo> {
  const log = opts.log ?? (() => {});
  const dataDir = resolve(opts.dataDir ?? 'demo-data');
  if (opts.reset) rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const seededMarker = join(dataDir, 'demo-seeded');
  const fresh = !existsSync(seededMarker);

  const pd = await startPagerDutyEmulator({ port: opts.pagerdutyPort ?? 0, seed: 'medium', rateLimitPerMinute: false, webhookRetryDelaysMs: [200, 500, 1000] });
  let slack: SlackEmulator | null = null;
  let fb: RunningFirebreak | null = null;
  try {
    slack = await startSlackEmulator({ port: opts.slackPort ?? 0 });
    const pdUsers = [...pd.state.users.values()];
    const bot = pdUsers[0]!;
    const chosen = pdUsers.slice(1, 5);
    const people: Demo['people'] = [];
    const slackUsers: SlackUser[] = [];
    for (const u of chosen) {
      const handle = u.email.split('@')[0]!.toLowerCase().replace(/[^a-z0-9._-]/g, '');
      const su = slack.addUser({ name: handle, realName: u.name, email: u.email });
      slackUsers.push(su);
      people.push({ slackId: su.id, pagerdutyId: u.id, name: u.name, email: u.email });
    }
    const announcements = slack.addChannel('incidents', { members: slackUsers.map((u) => u.id) });
    slack.addChannel('ops', { members: slackUsers.map((u) => u.id) });

    fb = await startFirebreak({
      dataDir,
      port: opts.port ?? 0,
      host: '127.0.0.1',
      logLevel: 'warn',
      ownerEmail: chosen[0]!.email,
      slack: { botToken: slack.botToken, signingSecret: slack.signingSecret, apiUrl: slack.apiUrl, announcementsChannel: announcements.id },
    });
    const baseUrl = fb.baseUrl;
    slack.setAppUrl(`${baseUrl}/slack/events`);
    const { user: owner } = await fb.app.users.ensureFirstOwner(chosen[0]!.email);
    const system = { kind: 'system', ref: 'demo' } as const;
    const apiLink = await fb.app.users.createLoginLink(owner.id, baseUrl, system, system);
    const api = await signIn(baseUrl, apiLink.url);
    await api('PATCH', `/api/v1/users/${owner.id}`, { name: chosen[0]!.name }).catch(() => {});

    // PagerDuty: connect (every start: the emulator's address and key are new), wait for the catalog sync.
    log('connecting PagerDuty and syncing its catalog…');
    const conn = await api('PUT', '/api/v1/integrations/pagerduty', { region: 'us', base_url: pd.baseUrl, api_key: pd.fullAccessKey, bot_user_id: bot.id });
    const run = await until('the catalog sync', async () => {
      const r = (await api('GET', `/api/v1/catalog_sync_runs/${conn.last_run.id}`)).sync_run;
      return r && !['queued', 'running'].includes(r.status) ? r : null;
    }, 180_000);
    if (run.status !== 'succeeded') log(`catalog sync ended ${run.status}`);
    // Firebreak subscribes itself to PagerDuty's webhooks when PagerDuty is on this machine.
    await until('the webhook subscription', () => pd.state.webhookSubscriptions.size > 0 && [...pd.state.webhookSubscriptions.values()]);
    const services = (await api('GET', '/api/v1/integrations/pagerduty/escalation_options?type=service&limit=100')).options as { id: string; name: string }[];
    await api('PATCH', '/api/v1/integrations/pagerduty/escalation_settings', { fallback_service_id: services[0]!.id });

    if (fresh) {
      log('adding sample incidents…');
      await seedContent(api, pd, slack, slackUsers, services);
      writeFileSync(seededMarker, new Date().toISOString());
    }

    const rules = (await api('GET', '/api/v1/integrations/pagerduty/auto_create_rules')).rules as { service_ids: string[] }[];
    const autoCreateServices = [...new Set(rules.flatMap((r) => r.service_ids))].map((id) => ({ id, name: pd.state.services.get(id)?.name ?? id }));
    const signIn2 = await fb.app.users.createLoginLink(owner.id, baseUrl, system, system);
    const running = fb;
    const emu = slack;
    const slackViewUrl = installSlackView(emu, { firebreakUrl: baseUrl });
    const pagerdutyViewUrl = installPagerDutyView(pd, { firebreakUrl: baseUrl, people });
    let stopping: Promise<void> | null = null;
    return {
      fb: running,
      pd,
      slack: emu,
      firebreakUrl: baseUrl,
      slackViewUrl,
      pagerdutyViewUrl,
      signInUrl: signIn2.url,
      people,
      autoCreateServices,
      stop: () =>
        (stopping ??= (async () => {
          await running.stop();
          await emu.stop();
          await pd.stop();
        })()),
    };
  } catch (err) {
    await fb?.stop().catch(() => {});
    await slack?.stop().catch(() => {});
    await pd.stop().catch(() => {});
    throw err;
  }
}

async function seedContent(api: Api, pd: PagerDutyEmulator, slack: SlackEmulator, people: SlackUser[], services: { id: string; name: string }[]): Promise<void> {
  const severities = (await api('GET', '/api/v1/severities')).severities as { id: string; name: string; rank: number }[];
  const statuses = (await api('GET', '/api/v1/statuses')).statuses as { id: string; name: string; category: string }[];
  const bySeverity = [...severities].sort((a, b) => b.rank - a.rank);
  const live = statuses.filter((s) => s.category === 'live');

  // A custom field over PagerDuty's services.
  await api('POST', '/api/v1/custom_fields', { key: 'affected_services', name: 'Affected services', type: 'catalog', catalog_type: 'PagerDutyService', multiple: true });
  const entries = (await api('GET', '/api/v1/catalog_entries?catalog_type_id=PagerDutyService&limit=10')).catalog_entries as { id: string }[];

  // Auto-create: PagerDuty incidents on the first two services open a Firebreak incident.
  await api('POST', '/api/v1/integrations/pagerduty/auto_create_rules', { name: 'Demo: pages on core services', service_ids: services.slice(0, 2).map((s) => s.id) });

  const declare = async (body: Record<string, unknown>) => (await api('POST', '/api/v1/incidents', body)).incident;
  const a = await declare({ name: 'Checkout requests failing', summary: 'Card payments time out for about a third of customers.', severity_id: bySeverity[0]?.id, custom_field_values: { affected_services: entries.slice(0, 2).map((e) => e.id) } });
  await api('POST', `/api/v1/incidents/${a.id}/timeline/notes`, { text: 'Error rate on the payment gateway jumped at 09:12; rolling back the last deploy.' });
  if (live[1]) await api('POST', `/api/v1/incidents/${a.id}/actions/status`, { status_id: live[1].id });

  const b = await declare({ name: 'Search results are stale', severity_id: bySeverity[Math.min(2, bySeverity.length - 1)]?.id, triage: true, custom_field_values: { affected_services: entries.slice(2, 3).map((e) => e.id) } });
  void b;

  const c = await declare({ name: 'Login emails delayed', summary: 'The mail provider queued messages for 20 minutes.', severity_id: bySeverity[1]?.id });
  await api('POST', `/api/v1/incidents/${c.id}/timeline/notes`, { text: 'Provider confirmed the backlog is draining.' });
  await api('POST', `/api/v1/incidents/${c.id}/actions/close`, {});

  // One declared from Slack, as a person would.
  const general = [...slack.state.channels.values()].find((ch) => ch.isGeneral)!;
  const who = people[1] ?? people[0]!;
  await slack.driver.slashCommand({ userId: who.id, channelId: general.id, command: '/incident', text: 'declare' });
  const view = await until('the declare modal', () => slack.openViews(who.id).find((v) => v.callbackId === 'firebreak_declare'), 10_000);
  await slack.driver.submitView({ userId: who.id, viewId: view.id, values: { name: { value: 'Mobile app crashes on start' } } });
  await until('the Slack incident', async () => ((await api('GET', '/api/v1/incidents?limit=10')).incidents as any[]).length >= 4, 20_000);
  void pd;
}

function parseArgs(argv: string[]): DemoOptions {
  const o: DemoOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--reset') o.reset = true;
    else if (a === '--port') o.port = Number(next());
    else if (a === '--slack-port') o.slackPort = Number(next());
    else if (a === '--pagerduty-port') o.pagerdutyPort = Number(next());
    else if (a === '--data-dir') o.dataDir = next();
    else if (a === '--help' || a === '-h') {
      console.log('npm run demo -- [--reset] [--data-dir demo-data] [--port N] [--slack-port N] [--pagerduty-port N]');
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  return o;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  console.log('Starting the demo (Firebreak, PagerDuty emulator, Slack emulator)…');
  const demo = await startDemo({ ...opts, log: (l) => console.log(`  ${l}`) });
  if (!existsSync(join(resolve(opts.dataDir ?? 'demo-data'), 'demo-seeded'))) console.log('  (sample incidents were not added)');
  console.log('');
  console.log(`Firebreak:        ${demo.firebreakUrl}`);
  console.log(`Slack view:       ${demo.slackViewUrl}`);
  console.log(`PagerDuty view:   ${demo.pagerdutyViewUrl}`);
  console.log(`Sign in (owner):  ${demo.signInUrl}`);
  console.log('');
  console.log(`Ctrl+C stops everything. Data is kept in ${opts.dataDir ?? './demo-data'} (npm run demo -- --reset starts afresh).`);
  const stop = async () => {
    console.log('\nStopping…');
    await demo.stop();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
