// Benchmark: 200 active workflows while incidents are updated at 20 per second, on PostgreSQL (one Firebreak in this
// process: request path, job queue and workflow engine share it, as a single-process install does).
//
// 200 incidents (bench-0 … bench-199) and 200 workflows on "incident updated: severity", workflow k's condition
// holding only on incident bench-k (so each change matches one workflow and is evaluated against all 200), its one
// step a timeline note. First a phase with no workflow, then one with the 200: each phase changes a severity every
// 50 ms. Figures: the p99 of a severity change as the request path runs it (the transaction with its outbox; the
// evaluation happens after commit in the queue) and how much 200 workflows add to it; the p99 from the change's
// event to the run's first step starting; runs recorded (one per change expected); steps done twice (must be 0).
//
//   npm run bench:workflows            (BENCH_SHORT=1: 10 s phases instead of 60 s)
//   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test by default; a fresh database is made and dropped.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { buildFirebreak } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { newId, nowIso } from '../src/platform/ids.js';
import { createLogger } from '../src/platform/logger.js';
import { report, shortRun } from './report.js';

const WORKFLOWS = 200;
const RATE = 20;
const PHASE_S = shortRun ? 10 : 60;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};

async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const name = `fb_bench_wf_${Date.now()}`;
  const c = new pg.Client({ connectionString: admin, connectionTimeoutMillis: 3000 });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const d = new pg.Client({ connectionString: admin });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
    },
  };
}

async function main() {
  const db0 = await freshDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'firebreak-bench-wf-'));
  const fb = await buildFirebreak(loadConfig({ DATABASE_URL: db0.url, FIREBREAK_MASTER_KEY: randomBytes(32).toString('base64') }, { dataDir }), createLogger('warn', process.stderr));
  await fb.jobs.start();
  fb.events.markStarted();
  try {
    const sevs = await fb.incidents.listSeverities(); // highest first
    const [a, b] = [sevs[sevs.length - 1]!, sevs[sevs.length - 2]!];
    const incidents: string[] = [];
    for (let k = 0; k < WORKFLOWS; k++) incidents.push((await fb.incidents.createIncident({ name: `bench-${k}`, severityId: a.id }, { kind: 'system' })).incident.id);
    await fb.jobs.drain(60_000);
    const current = new Map(incidents.map((id) => [id, a.id]));

    async function phase(label: string): Promise<{ latencies: number[]; changes: number }> {
      const latencies: number[] = [];
      const inflight: Promise<void>[] = [];
      const start = performance.now();
      const total = PHASE_S * RATE;
      for (let i = 0; i < total; i++) {
        const due = start + (i * 1000) / RATE;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const id = incidents[i % incidents.length]!;
        const to = current.get(id) === a.id ? b.id : a.id;
        current.set(id, to);
        inflight.push(
          (async () => {
            const t0 = performance.now();
            await fb.incidents.changeSeverity(id, to, { kind: 'system', ref: 'bench' });
            latencies.push(performance.now() - t0);
          })(),
        );
      }
      await Promise.all(inflight);
      console.log(`${label}: ${total} changes in ${((performance.now() - start) / 1000).toFixed(1)} s, p50 ${pct(latencies, 50).toFixed(2)} ms, p99 ${pct(latencies, 99).toFixed(2)} ms`);
      return { latencies, changes: total };
    }

    const base = await phase('0 workflows');
    await fb.jobs.drain(120_000);

    const now = nowIso();
    const rows = Array.from({ length: WORKFLOWS }, (_, k) => {
      const def = {
        key: `bench-${k}`,
        name: `Bench ${k}`,
        state: 'active',
        trigger: { type: 'incident.updated', changes: ['severity'] },
        conditions: [{ all: [{ subject: 'incident.name', operator: 'is', value: `bench-${k}` }] }],
        steps: [{ id: 'note', type: 'timeline_note', text: 'Severity is now {{ incident.severity }}' }],
      };
      return { id: newId(), key: def.key, name: def.name, state: 'active', trigger_type: 'incident.updated', definition: JSON.stringify(def), version: 1, secret: null, created_by: null, created_at: now, updated_at: now, activated_at: now, deleted_at: null };
    });
    await fb.database.db.insertInto('workflows').values(rows).execute();
    const since = nowIso();
    const withWf = await phase(`${WORKFLOWS} workflows`);
    for (let until = Date.now() + 180_000; Date.now() < until; ) {
      const n = await fb.database.db.selectFrom('workflow_runs').select((eb) => eb.fn.countAll<number>().as('n')).where('created_at', '>=', since).where('status', 'in', ['succeeded', 'failed', 'skipped']).executeTakeFirst();
      if (Number(n?.n ?? 0) >= withWf.changes) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    await fb.jobs.drain(120_000);

    const runs = await fb.database.db
      .selectFrom('workflow_runs as r')
      .innerJoin('domain_events as e', 'e.id', 'r.event_id')
      .leftJoin('workflow_run_steps as s', (j) => j.onRef('s.run_id', '=', 'r.id').on('s.step_index', '=', 0))
      .select(['r.id', 'r.status', 'e.created_at as changed_at', 's.started_at', 's.attempts'])
      .where('r.created_at', '>=', since)
      .execute();
    const toFirstStep = runs.filter((r) => r.started_at).map((r) => Date.parse(r.started_at!) - Date.parse(r.changed_at));
    const twice = runs.filter((r) => Number(r.attempts ?? 0) > 1).length;
    const notes = await fb.database.db
      .selectFrom('timeline_items')
      .select(['dedupe_key', (eb) => eb.fn.countAll<number>().as('n')])
      .where('kind', '=', 'note_added')
      .where('dedupe_key', 'like', 'wf:%')
      .groupBy('dedupe_key')
      .having((eb) => eb.fn.countAll(), '>', 1)
      .execute();

    const p99Base = pct(base.latencies, 99);
    const p99Wf = pct(withWf.latencies, 99);
    report({ bench: 'workflows', figure: `severity change p99 on the request path, ${WORKFLOWS} active workflows, PostgreSQL, ${RATE}/s`, value: p99Wf, unit: 'ms', target: 'informational', met: true });
    report({ bench: 'workflows', figure: `added p99 of an incident change with ${WORKFLOWS} workflows (vs none: ${p99Base.toFixed(2)} ms)`, value: p99Wf - p99Base, unit: 'ms', target: '< 5 ms', met: p99Wf - p99Base < 5 });
    report({ bench: 'workflows', figure: 'change → first step started, p99', value: pct(toFirstStep, 99), unit: 'ms', target: '< 1000 ms', met: pct(toFirstStep, 99) < 1000 });
    report({ bench: 'workflows', figure: `runs recorded for ${withWf.changes} matching changes`, value: runs.length, unit: 'runs', target: `= ${withWf.changes}`, met: runs.length === withWf.changes });
    report({ bench: 'workflows', figure: 'steps done twice', value: twice + notes.length, unit: 'steps', target: '= 0', met: twice + notes.length === 0 });
  } finally {
    await fb.jobs.stop({ timeoutMs: 5000 });
    await fb.database.destroy();
    rmSync(dataDir, { recursive: true, force: true });
    await db0.drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
