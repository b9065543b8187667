import { z } from 'zod';
import type { App } from '../platform/http/server.js';
import { requireAccess } from '../users/auth.js';

// The Integrations page's list. Each integration reports its own status; until an integration's connect
// flow exists it reports "not_connected".

export interface IntegrationStatus {
  kind: 'slack' | 'pagerduty';
  name: string;
  description: string;
  status: 'not_connected' | 'connected' | 'error';
  details: Record<string, unknown> | null;
}

const json = z.object({
  kind: z.enum(['slack', 'pagerduty']),
  name: z.string(),
  description: z.string(),
  status: z.enum(['not_connected', 'connected', 'error']),
  details: z.record(z.string(), z.unknown()).nullable(),
});

export function registerIntegrationRoutes(app: App, deps: { list: () => Promise<IntegrationStatus[]> }): void {
  app.get('/api/v1/integrations', { onRequest: requireAccess('read'), schema: { tags: ['integrations'], response: { 200: z.object({ integrations: z.array(json) }) } } }, async () => ({
    integrations: await deps.list(),
  }));
}
