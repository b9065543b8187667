// Preloaded into the Firebreak process by bench/slack-declare.ts (node --import): measures Firebreak's own
// event-loop delay and CPU time between two SIGUSR2 signals and writes them to BENCH_PROBE_FILE as JSON.
// It adds no work to request handling: one histogram timer at 1 ms resolution (libuv), read only on a signal.
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.BENCH_PROBE_FILE;
if (file) {
  const lag = monitorEventLoopDelay({ resolution: 1 });
  let cpu = process.cpuUsage();
  lag.enable();
  process.on('SIGUSR2', () => {
    const used = process.cpuUsage(cpu);
    writeFileSync(
      file,
      JSON.stringify({
        at: Number(process.hrtime.bigint() / 1000n),
        cpuUserMs: used.user / 1000,
        cpuSystemMs: used.system / 1000,
        loopDelay: { p50: lag.percentile(50) / 1e6, p99: lag.percentile(99) / 1e6, max: lag.max / 1e6 },
      }),
    );
    lag.reset();
    cpu = process.cpuUsage();
  });
}
