import { z } from 'zod';
import { recordAudit } from '../../../audit/audit.js';
import type { Db } from '../../../platform/db/index.js';
import { inTransaction } from '../../../platform/db/index.js';
import type { App } from '../../../platform/http/server.js';
import type { LiveFeed } from '../../../platform/live.js';
import { actorOf, requireAccess } from '../../../users/auth.js';
import type { StatusUpdateSettingsStore } from './settings.js';

// REST: whether incident updates are posted to the linked PagerDuty incidents as status updates. Anyone who can
// read sees it; only admins change it (audited; the settings page reloads through the live feed).

const settingsJson = z.object({ enabled: z.boolean() });

export function registerStatusUpdateRoutes(app: App, deps: { db: Db; live: LiveFeed; settings: StatusUpdateSettingsStore }): void {
  const tags = ['pagerduty'];
  const path = '/api/v1/integrations/pagerduty/status_update_settings';
  app.get(path, { onRequest: requireAccess('read'), schema: { tags, summary: 'Whether incident updates are posted to linked PagerDuty incidents as status updates', response: { 200: settingsJson } } }, async () => {
    const s = await deps.settings.get();
    return { enabled: s.enabled };
  });
  app.put(
    path,
    {
      onRequest: requireAccess('admin'),
      schema: { tags, summary: 'Turn PagerDuty status updates for incident updates on or off', body: z.strictObject({ enabled: z.boolean() }), response: { 200: settingsJson } },
    },
    async (req) => {
      const enabled = req.body.enabled;
      await inTransaction(deps.db, async (tx) => {
        const before = await deps.settings.get(tx);
        await deps.settings.set({ enabled }, tx);
        await recordAudit(tx, { actor: actorOf(req.principal!), action: 'pagerduty.status_updates_changed', target: { kind: 'integration', id: 'pagerduty' }, details: { enabled, was: before.enabled }, ip: req.ip });
        await deps.live.touch(tx, { topic: 'settings' });
      });
      return { enabled };
    },
  );
}
