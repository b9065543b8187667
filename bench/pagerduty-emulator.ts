/**
 * PagerDuty emulator benchmark (not a timed test): with the `huge` seed and rate limiting off, how many paged
 * GETs (limit=100) per second 8 concurrent clients get, and the emulator's peak memory (RSS).
 * Target: >= 2,000 pages/s and < 500 MB.
 *
 *   npm run bench:pagerduty-emulator [-- --seconds 10 --clients 8 --in-process]
 *
 * By default the emulator runs as its own process (exactly as `npm run emulator:pagerduty` starts it), so the load
 * generator does not share its CPU and the RSS figure (Linux VmHWM) is the emulator's alone. `--in-process` runs it
 * inside this process instead (RSS then includes the load generator).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startPagerDutyEmulator } from '../emulators/pagerduty/index.js';
import { report, shortRun } from './report.js';

const { values } = parseArgs({ options: {
  seconds: { type: 'string', default: shortRun ? '3' : '10' }, clients: { type: 'string', default: '8' }, 'in-process': { type: 'boolean', default: false },
} });
const seconds = Number(values.seconds);
const clients = Number(values.clients);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Target { baseUrl: string; key: string; peakRssMb(): number; stop(): Promise<void>; startedMs: number }

async function startChild(): Promise<Target> {
  const t0 = performance.now();
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'emulators/pagerduty/cli.ts'), '--port', '0', '--seed', 'huge', '--rate-limit', 'off'],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const ready = await new Promise<{ baseUrl: string; key: string }>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const base = /Base URL\s+(\S+)/.exec(out); const key = /Full-access key\s+(\S+)/.exec(out);
      if (base && key && out.includes('Ctrl+C')) resolve({ baseUrl: base[1]!, key: key[1]! });
    });
    child.once('exit', (code) => reject(new Error(`emulator exited (${code}) before it was ready:\n${out}`)));
  });
  const startedMs = performance.now() - t0;
  const status = () => { try { return readFileSync(`/proc/${child.pid}/status`, 'utf8'); } catch { return ''; } };
  return { ...ready, startedMs,
    peakRssMb: () => Number(/VmHWM:\s+(\d+) kB/.exec(status())?.[1] ?? NaN) / 1024,
    stop: () => new Promise<void>((r) => { child.once('exit', () => r()); child.kill('SIGTERM'); }) };
}

async function startInProcess(): Promise<Target> {
  const t0 = performance.now();
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 50);
  const pd = await startPagerDutyEmulator({ seed: 'huge', rateLimitPerMinute: false });
  return { baseUrl: pd.baseUrl, key: pd.fullAccessKey, startedMs: performance.now() - t0,
    peakRssMb: () => Math.max(peak, process.memoryUsage().rss) / 1024 / 1024,
    stop: async () => { clearInterval(timer); await pd.stop(); } };
}

const target = values['in-process'] ? await startInProcess() : await startChild();
const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
const url = new URL(target.baseUrl);
const get = (p: string) => new Promise<{ bytes: number; body: string }>((resolve, reject) => {
  const req = http.request({ host: url.hostname, port: url.port, path: p, agent, headers: {
    authorization: `Token token=${target.key}`, accept: 'application/vnd.pagerduty+json;version=2' } }, (res) => {
    // Keep the load generator light: count bytes, keep the body only when it is needed.
    const keep = p.includes('total=true') || res.statusCode !== 200;
    const chunks: Buffer[] = [];
    let n = 0;
    res.on('data', (c: Buffer) => { n += c.length; if (keep) chunks.push(c); });
    res.on('end', () => {
      const body = keep ? Buffer.concat(chunks).toString() : '';
      if (res.statusCode === 200) resolve({ bytes: n, body });
      else reject(new Error(`${p}: ${res.statusCode} ${body.slice(0, 200)}`));
    });
  });
  req.on('error', reject);
  req.end();
});

const names = ['users', 'services', 'escalation_policies', 'teams'] as const;
const sizes = new Map<string, number>();
for (const n of names) sizes.set(n, (JSON.parse((await get(`/${n}?limit=1&total=true`)).body) as { total: number }).total);
console.log(`emulator: huge seed, ${[...sizes].map(([k, v]) => `${v} ${k}`).join(', ')}; ready in ${target.startedMs.toFixed(0)} ms (${values['in-process'] ? 'in-process' : 'own process'})`);

// Each client walks one collection page by page (offset += limit), wrapping around, as a catalog sync would.
let pages = 0;
let bytes = 0;
const perCollection = new Map<string, number>();
async function client(i: number, until: number): Promise<void> {
  const name = names[i % names.length]!;
  const end = Math.min(sizes.get(name)!, 9_900);
  let offset = Math.floor((i / clients) * end / 100) * 100;
  while (performance.now() < until) {
    const r = await get(`/${name}?limit=100&offset=${offset}`);
    bytes += r.bytes;
    pages++;
    perCollection.set(name, (perCollection.get(name) ?? 0) + 1);
    offset += 100;
    if (offset >= end) offset = 0;
  }
}
// one warm-up pass (JIT, sockets), not counted
await Promise.all(Array.from({ length: clients }, (_, i) => client(i, performance.now() + 1000)));
pages = 0; bytes = 0; perCollection.clear();
const started = performance.now();
await Promise.all(Array.from({ length: clients }, (_, i) => client(i, started + seconds * 1000)));
const elapsed = (performance.now() - started) / 1000;
const mb = target.peakRssMb();
await target.stop();
agent.destroy();

const rate = pages / elapsed;
console.log(`paged GETs (limit=100, ${clients} concurrent clients, ${elapsed.toFixed(1)} s): ${pages} pages, ${rate.toFixed(0)} pages/s, ${(bytes / 1024 / 1024 / elapsed).toFixed(1)} MB/s`);
console.log(`  by collection: ${[...perCollection].map(([k, v]) => `${k} ${v}`).join(', ')}`);
console.log(`peak RSS: ${mb.toFixed(0)} MB`);
report({ bench: 'pagerduty-emulator', figure: `paged GETs/s, huge seed, ${clients} clients`, value: rate, unit: 'pages/s', target: '≥ 2,000/s', met: rate >= 2000 });
report({ bench: 'pagerduty-emulator', figure: 'emulator peak memory (RSS), huge seed', value: mb, unit: 'MB', target: '< 500 MB', met: mb < 500 });
