import type { Db } from '../platform/db/index.js';
import type { App } from '../platform/http/server.js';
import { CatalogService, normalizeEmailKey, type UserDirectory } from './catalog.service.js';
import { registerCatalogRoutes } from './catalog.routes.js';
import { SyncRunsRepository } from './sync-runs.js';

export { CatalogService } from './catalog.service.js';
export { SyncRunsRepository } from './sync-runs.js';
export { runCatalogSync } from './sync.js';
export type { CatalogSource, SyncTypeDef } from './sync.js';

export interface CatalogModule {
  service: CatalogService;
  runs: SyncRunsRepository;
}

/** The catalog module: its service and its sync runs. Firebreak users come in through `listUsers`. */
export function createCatalog(deps: { db: Db; listUsers: () => Promise<{ id: string; name: string; email: string }[]> }): CatalogModule {
  const directory: UserDirectory = {
    async byNormalizedEmail() {
      return new Map((await deps.listUsers()).map((u) => [normalizeEmailKey(u.email), { id: u.id, name: u.name, email: u.email }]));
    },
  };
  const service = new CatalogService(deps.db, directory);
  const runs = new SyncRunsRepository(deps.db);
  return { service, runs };
}

/** The catalog's REST API (after authentication is registered). */
export function setupCatalogRoutes(http: App, catalog: CatalogModule): void {
  registerCatalogRoutes(http, { catalog: catalog.service, runs: catalog.runs });
}
