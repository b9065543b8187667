import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startPagerDutyEmulator, type PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { declare, freePort, waitFor } from '../escalations/helpers.js';
import { freshPostgresDatabase, signInWithLink, type Client } from '../helpers.js';
import { expectedCatalog } from '../pagerduty/catalog-check.js';
import { Balancer, connectPagerDuty, FirebreakProcess, pagedOnceProblem, rng, sleep, type PagingSetup } from './harness.js';

// The chaos suite's engine: two Firebreak processes on one PostgreSQL database behind a balancer, one PagerDuty
// emulator. Each round runs a workload (escalations, a webhook drain, an auto-create storm, a catalog sync) while
// the emulator injects latency, 5xx and 429s, SIGKILLs one process at a chosen or a random point, starts it
// again, lets things settle, and checks the invariants below over everything done so far. Used by
// chaos.test.ts (a few rounds in `npm test`) and `npm run chaos -- --rounds N`.

export const LEASE_MS = 3000;
/** Jobs held by a killed process run elsewhere after this (JOB_LOCK_TIMEOUT_MS in the children). */
export const JOB_LOCK_MS = 4000;
const SETTLE_MS = 60_000;
/** After a kill, escalation targets are paged within the lease plus one retry (the held job unlocked, run again). */
export const PAGING_BOUND_MS = LEASE_MS + JOB_LOCK_MS + 15_000;
const MARKER = 'incident-io-ignore';

export type WorkloadName = 'escalations' | 'webhooks' | 'storm' | 'sync';
export const WORKLOADS: WorkloadName[] = ['escalations', 'webhooks', 'storm', 'sync'];

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface RoundResult {
  round: number;
  workload: WorkloadName;
  faults: string;
  kill: { mode: 'chosen' | 'random'; process: string; point: string; atMs: number; leftAtKill: string };
  /** From the kill until the killed process listens again. */
  restartMs: number;
  /** From the kill until every invariant first held (-1: never within the settle time). */
  settleMs: number;
  checks: Check[];
}

interface Workload {
  /** What the chosen kill point waits for, and whether it has been reached. */
  chosen: { label: string; reached: () => Promise<boolean> };
  /** The random kill point falls within this many ms of the start. */
  windowMs: number;
  /** Work still being driven after the kill (a storm keeps triggering). */
  rest?: Promise<void>;
  /** What was unfinished when the kill landed (printed, to show the kill hit something). */
  unfinished: () => Promise<string>;
}

export class ChaosCluster {
  readonly procs: FirebreakProcess[];
  owner!: Client;
  /** A client per process, straight to it (the session works on both). */
  readonly direct = new Map<string, Client>();
  paging!: PagingSetup;
  stormServiceId!: string;
  /** What the catalog may hold after the latest sync round: the account before or after its changes. */
  catalogBefore: ReturnType<typeof expectedCatalog> | null = null;
  catalogAfter: ReturnType<typeof expectedCatalog> | null = null;
  lastSyncRunIds: string[] = [];
  /** Escalation targets whose retry was pressed by the checker (once each). */
  private readonly retried = new Set<string>();
  private roundStartedAt = 0;

  private constructor(
    readonly pd: PagerDutyEmulator,
    readonly balancer: Balancer,
    a: FirebreakProcess,
    b: FirebreakProcess,
    readonly pool: pg.Pool,
    private readonly dropDb: () => Promise<void>,
  ) {
    this.procs = [a, b];
  }

  static async start(): Promise<ChaosCluster> {
    const pd = await startPagerDutyEmulator({ port: 0, seed: 'medium', rateLimitPerMinute: false, webhookRetryDelaysMs: [100, 250, 500, 1000, 2000, 3000] });
    const db = await freshPostgresDatabase();
    const masterKey = randomBytes(32).toString('base64');
    const [lbPort, aPort, bPort] = [await freePort(), await freePort(), await freePort()];
    const env = {
      DATABASE_URL: db.url,
      FIREBREAK_MASTER_KEY: masterKey,
      PUBLIC_URL: `http://127.0.0.1:${lbPort}`,
      FIREBREAK_PAGING_LEASE_MS: String(LEASE_MS),
      JOB_LOCK_TIMEOUT_MS: String(JOB_LOCK_MS),
      DB_POOL_SIZE: '6',
    };
    const a = new FirebreakProcess({ name: 'A', port: aPort, env });
    const b = new FirebreakProcess({ name: 'B', port: bPort, env });
    const balancer = new Balancer(lbPort, [a, b]);
    await balancer.start();
    const pool = new pg.Pool({ connectionString: db.url, max: 3 });
    const c = new ChaosCluster(pd, balancer, a, b, pool, db.drop);
    await a.start(); // applies the migrations
    await b.start();
    if (!a.loginUrl) throw new Error(`A printed no sign-in link:\n${a.tail()}`);
    c.owner = await signInWithLink(balancer.url, a.loginUrl);
    const me = (await c.owner.get('/api/v1/session')).body;
    for (const p of c.procs) {
      const link = await c.owner.post(`/api/v1/users/${me.user.id}/login_link`);
      if (link.status !== 201 && link.status !== 200) throw new Error(`login link: ${link.status} ${JSON.stringify(link.body)}`);
      c.direct.set(p.name, await signInWithLink(p.baseUrl, link.body.url));
    }
    c.paging = await connectPagerDuty(c.owner, pd, { webhooks: true });
    // Connecting with a PUBLIC_URL subscribes to PagerDuty's webhooks (through the balancer).
    await waitFor('the webhook subscription', async () => (await c.owner.get('/api/v1/integrations/pagerduty/escalation_settings')).body.webhook?.secret_configured, 60_000);
    // Auto-create: a catch-all rule on one service no escalation pages through.
    const busy = new Set([c.paging.fallbackServiceId, ...c.paging.policies.slice(0, 3).flatMap((p) => p.serviceIds)]);
    c.stormServiceId = c.paging.serviceIds.find((id) => !busy.has(id) && !pd.state.services.get(id)!.description.toLowerCase().includes(MARKER))!;
    const rule = await c.owner.post('/api/v1/integrations/pagerduty/auto_create_rules', { name: 'Everything on the storm service', service_ids: [c.stormServiceId] });
    if (rule.status !== 201) throw new Error(`auto-create rule: ${rule.status} ${JSON.stringify(rule.body)}`);
    c.catalogBefore = c.catalogAfter = expectedCatalog(pd);
    return c;
  }

  async close(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop()));
    await this.balancer.stop();
    await this.pd.stop();
    await this.pool.end();
    await this.dropDb();
  }

  private async q<T = any>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.pool.query(sql, params)).rows as T[];
  }

  /** PagerDuty requests since the round started. */
  private requestsThisRound() {
    return this.pd.requestLog().filter((e) => Date.parse(e.at) >= this.roundStartedAt);
  }

  // ---------------- workloads ----------------

  private async startWorkload(name: WorkloadName, round: number, victim: FirebreakProcess, variant: number): Promise<Workload> {
    const pd = this.pd;
    if (name === 'escalations') {
      // Two incidents, each escalated to three policies and two people, asked of the process that will be killed.
      const client = this.direct.get(victim.name)!;
      const users = [...pd.state.users.values()];
      const incs = [await declare(client, `Chaos ${round} a`), await declare(client, `Chaos ${round} b`)];
      const rest = Promise.all(
        incs.map((inc, i) =>
          client.post(`/api/v1/incidents/${inc.id}/escalations`, {
            escalation_policy_ids: this.paging.policies.slice(0, 3).map((p) => p.id),
            user_ids: users.slice(3 + 2 * i, 5 + 2 * i).map((u) => u.id),
            message: `chaos round ${round}`,
          }),
        ),
      ).then(() => undefined, () => undefined);
      const creates = () => this.requestsThisRound().filter((e) => e.method === 'POST' && e.path === '/incidents');
      const unfinished = async () => {
        const n = (await this.q(`select count(*) as n from pagerduty_escalation_targets t join pagerduty_escalations e on e.id = t.escalation_id where e.incident_id = any($1) and t.pd_incident_id is null`, [incs.map((i) => i.id)]))[0].n;
        return `${n}/10 targets without a PagerDuty incident`;
      };
      return variant % 2 === 0
        ? { chosen: { label: 'after 3 PagerDuty creates', reached: async () => creates().filter((e) => e.status === 201).length >= 3 }, windowMs: 3000, rest, unfinished }
        : { chosen: { label: 'mid-backoff: after 4 creates answered 429', reached: async () => creates().filter((e) => e.status === 429).length >= 4 }, windowMs: 3000, rest, unfinished };
    }
    if (name === 'webhooks') {
      // Three PagerDuty incidents Firebreak follows (paged quietly first), then a burst of activity on them.
      const saved = pd.faults.current();
      pd.faults.clear();
      const inc = await declare(this.owner, `Chaos ${round} webhooks`);
      const users = [...pd.state.users.values()];
      const r = await this.owner.post(`/api/v1/incidents/${inc.id}/escalations`, { user_ids: users.slice(6, 9).map((u) => u.id), message: `chaos round ${round} webhooks` });
      if (r.status !== 201) throw new Error(`escalate: ${r.status} ${JSON.stringify(r.body)}`);
      const esc = await waitFor('the webhook round targets', async () => {
        const e = (await this.owner.get(`/api/v1/escalations/${r.body.escalation.id}`)).body.escalation;
        return e?.targets.every((t: any) => t.status === 'triggered') ? e : null;
      }, 30_000);
      await pd.webhooks.flush();
      pd.faults.set(saved);
      const t0 = new Date().toISOString();
      for (const t of esc.targets) {
        const id = t.pagerduty_incident.id as string;
        const who = pd.state.incidents.get(id)!.assignments[0]!.user_id;
        pd.actAs(who).acknowledge(id);
        pd.actAs(who).addNote(id, 'looking');
        pd.actAs(who).addNote(id, 'found it');
        pd.actAs(who).resolve(id);
      }
      const stored = async () => Number((await this.q(`select count(*) as n from pagerduty_webhook_events where received_at >= $1`, [t0]))[0].n);
      const unapplied = async () => Number((await this.q(`select count(*) as n from pagerduty_webhook_events where applied_at is null`))[0].n);
      const unfinished = async () => `${pd.webhooks.deliveries().filter((d) => d.status === 'pending').length} deliveries pending at PagerDuty, ${await unapplied()} stored and not applied, ${await stored()} stored this round`;
      return variant % 2 === 0
        ? { chosen: { label: 'after 5 deliveries stored', reached: async () => (await stored()) >= 5 }, windowMs: 800, unfinished }
        : { chosen: { label: 'while stored deliveries wait to be applied', reached: async () => (await unapplied()) > 0 }, windowMs: 800, unfinished };
    }
    if (name === 'storm') {
      // Thirty PagerDuty incidents on the storm service, as monitoring would trigger them.
      const svc = this.stormServiceId;
      const rest = (async () => {
        for (let i = 0; i < 30; i++) {
          pd.admin.triggerIncident({ service_id: svc, title: `Chaos ${round} storm ${i}` });
          await sleep(25);
        }
      })();
      const opened = async () => Number((await this.q(`select count(*) as n from incidents where idempotency_key like 'pagerduty:%' and created_at >= $1`, [new Date(this.roundStartedAt).toISOString()]))[0].n);
      const stored = async () => Number((await this.q(`select count(*) as n from pagerduty_webhook_events where received_at >= $1 and event_type = 'incident.triggered'`, [new Date(this.roundStartedAt).toISOString()]))[0].n);
      const unfinished = async () => `${await opened()}/30 opened, ${await stored()} triggers stored`;
      return variant % 2 === 0
        ? { chosen: { label: 'after 8 incidents opened', reached: async () => (await opened()) >= 8 }, windowMs: 1200, rest, unfinished }
        : { chosen: { label: 'after 12 triggers stored', reached: async () => (await stored()) >= 12 }, windowMs: 1200, rest, unfinished };
    }
    // sync: change the account (a new person, a renamed person, team and policy), then sync now.
    this.catalogBefore = expectedCatalog(pd);
    const users = [...pd.state.users.values()];
    pd.admin.addUser({ name: `Chaos Person ${round}`, email: `chaos-${round}-${Date.now()}@example.com` });
    pd.admin.updateUser(users[20 + round]!.id, { name: `Renamed Person ${round}` });
    const team = [...pd.state.teams.values()][round % pd.state.teams.size]!;
    pd.admin.updateTeam(team.id, { name: `Renamed Team ${round}` });
    const policy = [...pd.state.escalationPolicies.values()][round % pd.state.escalationPolicies.size]!;
    pd.admin.updateEscalationPolicy(policy.id, { name: `Renamed Policy ${round}` });
    this.catalogAfter = expectedCatalog(pd);
    const r = await this.owner.post('/api/v1/integrations/pagerduty/sync', {});
    if (r.status !== 202) throw new Error(`sync: ${r.status} ${JSON.stringify(r.body)}`);
    this.lastSyncRunIds = [r.body.run.id];
    const lists = () => this.requestsThisRound().filter((e) => e.method === 'GET' && ['/users', '/teams', '/services', '/escalation_policies', '/priorities'].includes(e.path));
    const status = async () => (await this.q(`select status from catalog_sync_runs where id = $1`, [r.body.run.id]))[0]?.status as string | undefined;
    const unfinished = async () => `run ${await status()}, ${lists().length} list requests made`;
    return variant % 2 === 0
      ? { chosen: { label: 'after 3 catalog list requests', reached: async () => lists().length >= 3 }, windowMs: 1500, unfinished }
      : { chosen: { label: 'once the run is running', reached: async () => (await status()) === 'running' }, windowMs: 1500, unfinished };
  }

  // ---------------- invariants ----------------

  async checks(): Promise<Check[]> {
    return [await this.checkPaging(), await this.checkWebhooks(), await this.checkOneIncidentPerPd(), await this.checkSync(), await this.checkJobs()];
  }

  /** Every escalation target paged exactly once, or failed with a retry that works. */
  private async checkPaging(): Promise<Check> {
    const rows = await this.q(`select id, escalation_id, target_name as name, incident_key, status, error, pd_incident_id from pagerduty_escalation_targets`);
    const problems: string[] = [];
    for (const r of rows) {
      const t = { ...r, pagerduty_incident: r.pd_incident_id ? { id: r.pd_incident_id } : null };
      const p = pagedOnceProblem(this.pd, t);
      if (p) problems.push(p);
      else if (r.status === 'failed') {
        if (this.retried.has(r.id)) problems.push(`${r.name}: failed again after its retry (${r.error})`);
        else {
          this.retried.add(r.id);
          const retry = await this.owner.post(`/api/v1/escalations/${r.escalation_id}/retry`);
          problems.push(retry.status === 200 ? `${r.name}: failed (${r.error}); retry pressed` : `${r.name}: failed and retry answered ${retry.status} ${retry.body?.error?.code}`);
        }
      }
    }
    const paged = rows.filter((r) => r.pd_incident_id).length;
    return { name: 'paged once or failed+retryable', ok: problems.length === 0, detail: problems.length ? problems.slice(0, 6).join('; ') : `${paged}/${rows.length} targets paged once` };
  }

  /** Every delivery PagerDuty made is stored once and applied; nothing applied twice shows twice. */
  private async checkWebhooks(): Promise<Check> {
    const problems: string[] = [];
    const deliveries = this.pd.webhooks.deliveries();
    const pending = deliveries.filter((d) => d.status === 'pending').length;
    if (pending) problems.push(`${pending} deliveries still pending at PagerDuty`);
    const lost = deliveries.filter((d) => d.status === 'failed' || d.status === 'dropped');
    if (lost.length) problems.push(`${lost.length} deliveries given up by PagerDuty (${lost.slice(0, 3).map((d) => `${d.event_type}: ${d.attempts.at(-1)?.status ?? d.attempts.at(-1)?.error}`).join(', ')})`);
    const rows = await this.q<{ delivery_id: string; applied_at: string | null }>(`select delivery_id, applied_at from pagerduty_webhook_events`);
    const byId = new Map(rows.map((r) => [r.delivery_id, r]));
    const delivered = deliveries.filter((d) => d.status === 'delivered');
    const missing = delivered.filter((d) => !byId.has(d.id)).length;
    if (missing) problems.push(`${missing} delivered deliveries not stored`);
    const unapplied = rows.filter((r) => !r.applied_at).length;
    if (unapplied) problems.push(`${unapplied} stored deliveries not applied`);
    const dupes = await this.q(`select kind, count(*) as n from timeline_items where kind like 'pagerduty.%' group by incident_id, kind, payload having count(*) > 1`);
    if (dupes.length) problems.push(`timeline items applied twice: ${dupes.slice(0, 3).map((d) => `${d.kind}×${d.n}`).join(', ')}`);
    // What PagerDuty says now is what Firebreak shows for every incident it follows.
    const targets = await this.q(`select t.id, t.target_name, t.status, t.pd_incident_id from pagerduty_escalation_targets t where t.pd_incident_id is not null`);
    let behind = 0;
    for (const t of targets) {
      const inc = this.pd.state.incidents.get(t.pd_incident_id);
      if (inc && inc.status !== t.status) {
        behind++;
        if (behind <= 3) problems.push(`${t.target_name}: Firebreak shows ${t.status}, PagerDuty ${inc.status}`);
      }
    }
    const once = await this.q(`select payload, kind from timeline_items where kind in ('pagerduty.escalation_acknowledged', 'pagerduty.escalation_resolved')`);
    const perTarget = new Map<string, number>();
    for (const i of once) {
      const k = `${i.kind}:${JSON.parse(i.payload).targetId}`;
      perTarget.set(k, (perTarget.get(k) ?? 0) + 1);
    }
    const twice = [...perTarget.entries()].filter(([, n]) => n > 1);
    if (twice.length) problems.push(`${twice.length} targets acknowledged/resolved more than once on the timeline`);
    return { name: 'webhooks applied once', ok: problems.length === 0, detail: problems.length ? problems.join('; ') : `${delivered.length} deliveries, ${rows.length} stored, all applied` };
  }

  /** No PagerDuty incident became two Firebreak incidents; each one on the storm service became exactly one. */
  private async checkOneIncidentPerPd(): Promise<Check> {
    const problems: string[] = [];
    const bySource = await this.q(`select pd_incident_id, count(distinct incident_id) as n from pagerduty_incident_links where reason = 'source' group by pd_incident_id having count(distinct incident_id) > 1`);
    if (bySource.length) problems.push(`${bySource.length} PagerDuty incidents are the source of several incidents (${bySource.slice(0, 3).map((r) => r.pd_incident_id).join(', ')})`);
    const byKey = new Map((await this.q(`select idempotency_key, count(*) as n from incidents where idempotency_key like 'pagerduty:%' group by idempotency_key`)).map((r) => [r.idempotency_key as string, Number(r.n)]));
    const storm = [...this.pd.state.incidents.values()].filter((i) => i.service_id === this.stormServiceId);
    const none = storm.filter((i) => !byKey.has(`pagerduty:${i.id}`)).length;
    if (none) problems.push(`${none} of ${storm.length} storm incidents opened no Firebreak incident`);
    const many = [...byKey.values()].filter((n) => n > 1).length;
    if (many) problems.push(`${many} PagerDuty incidents opened several Firebreak incidents`);
    return { name: 'one incident per PD incident', ok: problems.length === 0, detail: problems.length ? problems.join('; ') : `${storm.length} storm incidents → ${storm.length} incidents` };
  }

  /** A sync completes or leaves the catalog as it was (per type: all before or all after, never a mix). */
  private async checkSync(): Promise<Check> {
    const problems: string[] = [];
    const open = await this.q(`select id, status from catalog_sync_runs where status in ('queued', 'running')`);
    if (open.length) problems.push(`${open.length} sync runs still ${open.map((r) => r.status).join('/')}`);
    const rows = await this.q(`select t.type_name, e.external_id, e.name from catalog_entries e join catalog_types t on t.id = e.type_id where e.archived_at is null and t.source = 'pagerduty'`);
    const got = new Map<string, Map<string, string>>();
    for (const r of rows) {
      if (!got.has(r.type_name)) got.set(r.type_name, new Map());
      got.get(r.type_name)!.set(r.external_id, r.name);
    }
    const same = (a: Map<string, string> | undefined, b: Map<string, { name: string }>) => !!a && a.size === b.size && [...b].every(([id, v]) => a.get(id) === v.name);
    const states: string[] = [];
    let allAfter = true;
    for (const type of Object.keys(this.catalogAfter!) as (keyof ReturnType<typeof expectedCatalog>)[]) {
      const before = same(got.get(type), this.catalogBefore![type]);
      const after = same(got.get(type), this.catalogAfter![type]);
      if (!after) allAfter = false;
      if (!before && !after) states.push(`${type}: neither as before nor as after the sync`);
    }
    problems.push(...states);
    const runs = this.lastSyncRunIds.length ? await this.q(`select id, status from catalog_sync_runs where id = any($1)`, [this.lastSyncRunIds]) : [];
    const latestRuns = await this.q(`select id, status, created_at from catalog_sync_runs order by created_at desc limit 1`);
    const latest = latestRuns[0];
    if (latest?.status === 'succeeded' && !allAfter) problems.push(`run ${latest.id} succeeded but the catalog is not the account`);
    const detail = `runs ${runs.map((r) => r.status).join(',') || '-'}; latest ${latest?.status}; catalog ${allAfter ? 'matches the account' : 'as before the changes'}`;
    return { name: 'sync completes or changes nothing', ok: problems.length === 0, detail: problems.length ? `${problems.join('; ')} (${detail})` : detail };
  }

  /**
   * No job is held by a process that is gone for longer than the queue promises: a dead pool's jobs are unlocked
   * by the next sweep of a live process (every JOB_LOCK_MS / 4) once its heartbeat is JOB_LOCK_MS old, so a job
   * whose holder stopped beating JOB_LOCK_MS + one sweep + 1 s ago is orphaned. Job counts for the record.
   */
  private async checkJobs(): Promise<Check> {
    const orphans = await this.q(
      `select t.identifier, j.locked_by from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
       where j.locked_by is not null and not exists (select 1 from graphile_worker._firebreak_workers w where w.pool_id = j.locked_by and w.heartbeat_at >= now() - $1 * interval '1 millisecond')`,
      [JOB_LOCK_MS + JOB_LOCK_MS / 4 + 1000],
    );
    const [s] = await this.q(
      `select count(*) filter (where locked_at is null and attempts < max_attempts) as pending, count(*) filter (where locked_at is not null) as running,
              count(*) filter (where locked_at is null and attempts >= max_attempts) as dead from graphile_worker._private_jobs`,
    );
    const dead = await this.q(`select t.identifier, count(*) as n from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id where j.locked_at is null and j.attempts >= j.max_attempts group by t.identifier`);
    const stats = `pending ${s.pending}, running ${s.running}, dead ${s.dead}${dead.length ? ` (${dead.map((d) => `${d.identifier}×${d.n}`).join(', ')})` : ''}`;
    return { name: 'no job without an owner', ok: orphans.length === 0, detail: orphans.length ? `${orphans.length} jobs held by a dead process (${orphans.slice(0, 3).map((o) => o.identifier).join(', ')}); ${stats}` : stats };
  }

  // ---------------- a round ----------------

  async round(round: number, random: () => number, workloads: WorkloadName[] = WORKLOADS): Promise<RoundResult> {
    const workload = workloads[round % workloads.length]!;
    const variant = Math.floor(round / workloads.length);
    // Chosen and random kills alternate for each workload (and across workloads within a cycle).
    const mode: 'chosen' | 'random' = (variant + (round % workloads.length)) % 2 === 0 ? 'chosen' : 'random';
    const victim = this.procs[random() < 0.5 ? 0 : 1]!;
    const faults = {
      latencyMs: 10 + Math.floor(random() * 90),
      errorRate5xx: random() < 0.6 ? Math.round((0.05 + random() * 0.1) * 100) / 100 : 0,
      rateLimitBurst: workload === 'escalations' ? 8 + Math.floor(random() * 8) : random() < 0.5 ? 3 + Math.floor(random() * 8) : 0,
    };
    const randomAt = random();
    this.roundStartedAt = Date.now();
    this.pd.faults.set(faults);
    // A workload's chosen rounds come every other time it runs: alternate its chosen points over those.
    const w = await this.startWorkload(workload, round, victim, Math.floor(variant / 2));
    // Kill points count from here: the workload's own set-up (an incident to escalate, targets to follow) is done.
    const started = Date.now();
    let point: string;
    if (mode === 'chosen') {
      let reached = false;
      try {
        await waitFor(w.chosen.label, async () => w.chosen.reached(), 20_000);
        reached = true;
      } catch {
        /* killed anyway, and said so */
      }
      point = reached ? w.chosen.label : `${w.chosen.label} (NOT reached in 20 s)`;
    } else {
      const ms = Math.floor(randomAt * w.windowMs);
      await sleep(Math.max(0, started + ms - Date.now()));
      point = `random, ${ms} ms into the workload`;
    }
    const atMs = Date.now() - started;
    await victim.kill();
    const killedAt = Date.now();
    const leftAtKill = await w.unfinished();
    await w.rest;
    // The survivor carries on while the victim restarts (faults stay on until it is back); settling is timed
    // from the kill, and counts only once the victim is up again.
    let restartMs = -1;
    const restarting = victim.start().then(() => {
      restartMs = Date.now() - killedAt;
      this.pd.faults.clear();
    });
    restarting.catch(() => {});
    const settleStarted = killedAt;
    let checks = await this.checks();
    let pagedAfterMs = checks[0]!.ok ? Date.now() - settleStarted : -1;
    let settleMs = checks.every((c) => c.ok) ? Date.now() - settleStarted : -1;
    while ((restartMs < 0 || checks.some((c) => !c.ok)) && Date.now() - settleStarted < SETTLE_MS + 30_000) {
      await sleep(500);
      checks = await this.checks();
      if (pagedAfterMs < 0 && checks[0]!.ok) pagedAfterMs = Date.now() - settleStarted;
      if (settleMs < 0 && checks.every((c) => c.ok)) settleMs = Date.now() - settleStarted;
      if (restartMs >= 0 && Date.now() - settleStarted > SETTLE_MS) break;
    }
    await restarting;
    // Settled: still true a moment later, with both processes up (nothing applied twice late).
    await sleep(1500);
    checks = await this.checks();
    if (checks[0]!.ok && workload === 'escalations') checks[0] = { ...checks[0]!, detail: `${checks[0]!.detail}, all paged ${pagedAfterMs} ms after the kill` };
    if (checks[0]!.ok && pagedAfterMs > PAGING_BOUND_MS) {
      checks[0] = { ...checks[0]!, ok: false, detail: `${checks[0]!.detail}, but only ${pagedAfterMs} ms after the kill (bound: lease + one retry = ${PAGING_BOUND_MS} ms)` };
    }
    const faultText = `lat ${faults.latencyMs}ms, 5xx ${faults.errorRate5xx}, 429×${faults.rateLimitBurst}`;
    return { round, workload, faults: faultText, kill: { mode, process: victim.name, point, atMs, leftAtKill }, restartMs, settleMs, checks };
  }
}

export function formatRound(r: RoundResult): string {
  const marks = r.checks.map((c) => (c.ok ? 'ok  ' : 'FAIL')).join(' | ');
  return (
    `${String(r.round).padStart(3)} | ${r.workload.padEnd(11)} | ${r.faults.padEnd(30)} | kill ${r.kill.process} ${r.kill.mode.padEnd(6)} @${String(r.kill.atMs).padStart(5)}ms ${r.kill.point.padEnd(44)} | ${String(r.restartMs).padStart(5)}ms | ${String(r.settleMs).padStart(5)}ms | ${marks}\n` +
    `    | at the kill: ${r.kill.leftAtKill}` +
    (r.workload === 'escalations' && r.checks[0]!.ok ? `; after: ${r.checks[0]!.detail}` : '')
  );
}

export function formatHeader(checks: string[]): string {
  return (
    `rnd | workload    | faults                         | kill point${' '.repeat(66)}| restart | settled | ${checks.map((_, i) => `I${i + 1}  `).join(' | ')}\n` +
    `    (restart: kill → the process listens again; settled: kill → every invariant first holds, the survivor\n     working alone until the restart; the invariants are checked again 1.5 s after both are up)\n` +
    checks.map((c, i) => `  I${i + 1} = ${c}`).join('\n')
  );
}

export async function runChaos(opts: { rounds: number; seed: number; workloads?: WorkloadName[]; print: (s: string) => void }): Promise<RoundResult[]> {
  const random = rng(opts.seed);
  opts.print(`chaos: seed ${opts.seed}, ${opts.rounds} rounds (repeat with CHAOS_SEED=${opts.seed}); two Firebreak processes on PostgreSQL, one PagerDuty emulator`);
  const t0 = Date.now();
  const c = await ChaosCluster.start();
  opts.print(`chaos: cluster up in ${Date.now() - t0} ms (A :${c.procs[0]!.port}, B :${c.procs[1]!.port}, balancer :${c.balancer.port})`);
  const results: RoundResult[] = [];
  try {
    for (let i = 0; i < opts.rounds; i++) {
      const r = await c.round(i, random, opts.workloads ?? WORKLOADS);
      if (i === 0) opts.print(formatHeader(r.checks.map((x) => x.name)));
      results.push(r);
      opts.print(formatRound(r));
      for (const x of r.checks) if (!x.ok) opts.print(`      I${r.checks.indexOf(x) + 1} ${x.name}: ${x.detail}`);
    }
    if (results.length) opts.print(`summary (seed ${opts.seed}):\n${formatHeader(results[0]!.checks.map((x) => x.name))}\n${results.map(formatRound).join('\n')}`);
    const last = results.at(-1);
    if (last) for (const [i, x] of last.checks.entries()) opts.print(`  final I${i + 1} ${x.name}: ${x.ok ? 'ok' : 'FAIL'} — ${x.detail}`);
    opts.print(`chaos: ${results.length} rounds, ${c.procs.reduce((n, p) => n + p.kills, 0)} kills (${results.filter((r) => r.kill.mode === 'chosen').length} chosen, ${results.filter((r) => r.kill.mode === 'random').length} random), ${Date.now() - t0} ms`);
    if (results.some((r) => r.checks.some((x) => !x.ok))) {
      for (const p of c.procs) opts.print(`--- ${p.name}'s last lines ---\n${p.tail(30)}`);
    }
  } finally {
    await c.close();
  }
  return results;
}
