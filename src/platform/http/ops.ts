import { sql } from 'kysely';
import type { DatabaseHandle } from '../db/index.js';
import type { JobQueue } from '../jobs/types.js';
import type { Metrics } from './metrics.js';
import type { App } from './server.js';

// Operations endpoints: liveness, readiness (database and queue answer), Prometheus metrics.
export function registerOpsRoutes(app: App, deps: { database: DatabaseHandle; jobs: JobQueue; metrics: Metrics }): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    const [dbOk, queueOk] = await Promise.all([
      sql`select 1`.execute(deps.database.db).then(() => true, () => false),
      deps.jobs.healthy().catch(() => false),
    ]);
    const body = { status: dbOk && queueOk ? 'ready' : 'not_ready', database: dbOk ? 'ok' : 'unreachable', jobs: queueOk ? 'ok' : 'unreachable' };
    return reply.status(dbOk && queueOk ? 200 : 503).send(body);
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    const body = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(body);
  });
}
