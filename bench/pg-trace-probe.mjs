// Preloaded into the Firebreak process by bench/escalate.ts --trace (node --import): records every statement a pg
// client sends (when it was sent and answered, on which connection, its normalised text) and Firebreak's CPU time.
// On SIGUSR2 it writes what it recorded since the last signal to BENCH_TRACE_FILE as JSON and starts over.
// Times are epoch milliseconds with sub-millisecond precision (performance.timeOrigin + performance.now()), so the
// benchmark can line them up with its own clock and the PagerDuty emulator's request log on the same machine.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const file = process.env.BENCH_TRACE_FILE;
if (file) {
  // The same pg module Firebreak loads (src/platform/db/lazy-packages.ts requires it from the repository root).
  const pg = createRequire(new URL('../package.json', import.meta.url))('pg');
  const now = () => performance.timeOrigin + performance.now();
  const norm = (t) => t.replace(/\s+/g, ' ').replace(/\$\d+/g, '?').trim().toLowerCase().slice(0, 120);
  const ids = new WeakMap();
  let nextId = 1;
  let trace = [];
  let cpu = process.cpuUsage();
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (config, ...rest) {
    const text = typeof config === 'string' ? config : (config && config.text) || '';
    if (!ids.has(this)) ids.set(this, nextId++);
    const rec = { at: now(), done: null, conn: ids.get(this), sql: norm(text) };
    trace.push(rec);
    const result = query.call(this, config, ...rest);
    const end = () => {
      rec.done = now();
    };
    if (result && typeof result.then === 'function') result.then(end, end);
    return result;
  };
  process.on('SIGUSR2', () => {
    const used = process.cpuUsage(cpu);
    writeFileSync(file, JSON.stringify({ at: now(), cpuMs: (used.user + used.system) / 1000, trace }));
    trace = [];
    cpu = process.cpuUsage();
  });
}
