// Benchmark: create-then-read incidents through the HTTP API with 20 concurrent clients, on SQLite and (when
// reachable) PostgreSQL. Firebreak runs as its own process (`firebreak start`), so its peak memory (VmHWM) is
// measured alone. Run: npm run bench:api [-- --clients 20 --per-client 200]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startFirebreakProcess } from './firebreak-process.js';

const args = process.argv.slice(2);
const arg = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const CLIENTS = arg('clients', 20);
const PER_CLIENT = arg('per-client', 200);
const WARMUP = 100;

interface Result {
  backend: string;
  creations: number;
  errors: number;
  seconds: number;
  createP50: number;
  createP99: number;
  readP50: number;
  readP99: number;
  peakRssMb: number;
  cpuMsPerPair: number;
}

/** CPU time the server process has used (user + system), in ms: steadier than wall time on a shared machine. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks (USER_HZ = 100)
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}


async function apiKey(baseUrl: string, loginUrl: string): Promise<string> {
  const res = await fetch(loginUrl, { redirect: 'manual' });
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  const session = (await (await fetch(`${baseUrl}/api/v1/session`, { headers: { cookie } })).json()) as { csrf_token: string };
  const key = await fetch(`${baseUrl}/api/v1/api_keys`, {
    method: 'POST',
    headers: { cookie, 'x-csrf-token': session.csrf_token, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', scopes: ['write'] }),
  });
  return ((await key.json()) as { token: string }).token;
}

function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function run(backend: string, env: Record<string, string>): Promise<Result> {
  const { child, baseUrl, loginUrl } = await startFirebreakProcess(env);
  try {
    const token = await apiKey(baseUrl, loginUrl);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    let errors = 0;
    const createLat: number[] = [];
    const readLat: number[] = [];
    const one = async (record: boolean, n: number) => {
      let t = performance.now();
      const c = await fetch(`${baseUrl}/api/v1/incidents`, { method: 'POST', headers, body: JSON.stringify({ name: `Bench incident ${n}`, summary: 'Created by bench/api.ts' }) });
      const body = (await c.json()) as { incident?: { id: string } };
      if (c.status !== 201 || !body.incident) {
        errors++;
        return;
      }
      if (record) createLat.push(performance.now() - t);
      t = performance.now();
      const r = await fetch(`${baseUrl}/api/v1/incidents/${body.incident.id}`, { headers });
      await r.arrayBuffer();
      if (r.status !== 200) errors++;
      if (record) readLat.push(performance.now() - t);
    };
    // warm-up
    await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = 0; i < WARMUP / CLIENTS; i++) await one(false, c * 1000 + i);
    }));
    const cpu0 = cpuMs(child.pid!);
    const start = performance.now();
    await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = 0; i < PER_CLIENT; i++) await one(true, c * 1000 + i);
    }));
    const seconds = (performance.now() - start) / 1000;
    const cpuUsed = cpuMs(child.pid!) - cpu0;
    createLat.sort((a, b) => a - b);
    readLat.sort((a, b) => a - b);
    return {
      backend,
      creations: createLat.length,
      errors,
      seconds,
      createP50: pct(createLat, 50),
      createP99: pct(createLat, 99),
      readP50: pct(readLat, 50),
      readP99: pct(readLat, 99),
      peakRssMb: peakRss(child.pid!),
      cpuMsPerPair: cpuUsed / Math.max(1, createLat.length),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

async function postgresUrl(): Promise<{ url: string; drop: () => Promise<void> } | null> {
  const admin = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const c = new pg.Client({ connectionString: admin, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
  } catch {
    return null;
  }
  const name = `fb_bench_${Date.now()}`;
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const d = new pg.Client({ connectionString: admin });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
    },
  };
}

const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
const results: Result[] = [];
const dataDir = mkdtempSync(join(tmpdir(), 'fb-bench-'));
try {
  if (only !== 'postgres') results.push(await run('sqlite', { DATA_DIR: dataDir }));
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
const pgDb = only === 'sqlite' ? null : await postgresUrl();
if (pgDb) {
  try {
    results.push(await run('postgres', { DATABASE_URL: pgDb.url, FIREBREAK_MASTER_KEY: randomBytes(32).toString('base64'), DATA_DIR: mkdtempSync(join(tmpdir(), 'fb-bench-pg-')) }));
  } finally {
    await pgDb.drop();
  }
} else {
  console.log('PostgreSQL not reachable (TEST_DATABASE_URL or 127.0.0.1:5432/test): PostgreSQL run skipped');
}

console.log(`\nload average at the end: ${readFileSync('/proc/loadavg', 'utf8').trim()} (2 cores; other work on the machine skews wall-clock figures, CPU per pair less so)`);
console.log(`\nCreate-then-read through the HTTP API, ${CLIENTS} concurrent clients x ${PER_CLIENT} incidents (after ${WARMUP} warm-up)`);
console.log('backend   | creations/s | requests/s | create p50 / p99 ms | read p50 / p99 ms | errors | server peak RSS MB | server CPU ms per create+read');
for (const r of results) {
  console.log(
    `${r.backend.padEnd(9)} | ${(r.creations / r.seconds).toFixed(0).padStart(11)} | ${((2 * r.creations) / r.seconds).toFixed(0).padStart(10)} | ${r.createP50.toFixed(1).padStart(8)} / ${r.createP99.toFixed(1).padEnd(9)} | ${r.readP50.toFixed(1).padStart(7)} / ${r.readP99.toFixed(1).padEnd(8)} | ${String(r.errors).padStart(6)} | ${r.peakRssMb.toFixed(0).padStart(18)} | ${r.cpuMsPerPair.toFixed(2)}`,
  );
}
