import type { Kysely } from 'kysely';
import type { Database } from '../platform/db/schema.js';
import type { App } from '../platform/http/server.js';
import { InsightsService } from './insights.service.js';
import type { InsightsPagesPort } from './model.js';
import { registerInsightsRoutes } from './routes.js';

export type { InsightsFilter, InsightsPagesPort, PageRecord } from './model.js';
export { InsightsService } from './insights.service.js';

export interface InsightsModule {
  service: InsightsService;
  /** Where pages come from (the PagerDuty wing sets it in app.ts; unset: no pages). */
  usePages(port: InsightsPagesPort): void;
}

export function setupInsights(http: App, deps: { db: Kysely<Database> }): InsightsModule {
  let pages: InsightsPagesPort | null = null;
  const service = new InsightsService(deps.db, () => pages);
  registerInsightsRoutes(http, { insights: service });
  return { service, usePages: (p) => void (pages = p) };
}
