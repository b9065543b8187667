import client from 'prom-client';
import type { JobQueue } from '../jobs/types.js';

// Prometheus metrics, one registry per app instance (tests run several in one process).
export class Metrics {
  readonly registry = new client.Registry();
  readonly httpDuration: client.Histogram<'method' | 'route' | 'status'>;
  readonly jobsProcessed: client.Counter<'name' | 'outcome'>;

  constructor(jobs?: JobQueue) {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'firebreak_' });
    this.httpDuration = new client.Histogram({
      name: 'firebreak_http_request_duration_seconds',
      help: 'HTTP request latency by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    this.jobsProcessed = new client.Counter({
      name: 'firebreak_jobs_processed_total',
      help: 'Jobs finished, by job name and outcome (completed, failed = will retry, dead = gave up)',
      labelNames: ['name', 'outcome'],
      registers: [this.registry],
    });
    if (jobs) {
      jobs.onEvent((e) => this.jobsProcessed.inc({ name: e.name, outcome: e.type }));
      const gauge = new client.Gauge({
        name: 'firebreak_jobs',
        help: 'Jobs by state',
        labelNames: ['state'],
        registers: [this.registry],
        async collect() {
          const s = await jobs.stats().catch(() => null);
          if (!s) return;
          gauge.set({ state: 'pending' }, s.pending);
          gauge.set({ state: 'running' }, s.running);
          gauge.set({ state: 'dead' }, s.dead);
        },
      });
    }
  }
}
