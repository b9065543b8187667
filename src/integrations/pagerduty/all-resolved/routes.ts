import { z } from 'zod';
import { recordAudit } from '../../../audit/audit.js';
import type { IncidentsService } from '../../../incidents/incidents.service.js';
import type { Db } from '../../../platform/db/index.js';
import { inTransaction } from '../../../platform/db/index.js';
import { ValidationError } from '../../../platform/errors.js';
import type { App } from '../../../platform/http/server.js';
import type { LiveFeed } from '../../../platform/live.js';
import { actorOf, requireAccess } from '../../../users/auth.js';
import type { AllResolvedSettings, AllResolvedSettingsStore } from './settings.js';

// REST: whether triage incidents opened from PagerDuty are closed (or moved to the chosen status) by themselves once
// all their linked PagerDuty incidents are resolved. Anyone who can read sees it; only admins change it (audited;
// the settings page reloads through the live feed).

const statusJson = z.object({ id: z.string(), name: z.string(), category: z.string() });
const settingsJson = z.object({
  automatic_for_triage: z.boolean(),
  status_id: z.string().nullable().describe('the status to move to; null = the first closed status'),
  status: statusJson.nullable().describe('the status it moves to now (the chosen one, or the first closed status)'),
});

export function registerAllResolvedRoutes(app: App, deps: { db: Db; live: LiveFeed; settings: AllResolvedSettingsStore; incidents: IncidentsService }): void {
  const tags = ['pagerduty'];
  const path = '/api/v1/integrations/pagerduty/all_resolved_settings';
  const toJson = async (s: AllResolvedSettings) => {
    const statuses = await deps.incidents.listStatuses();
    const st = (s.status_id ? statuses.find((x) => x.id === s.status_id) : undefined) ?? statuses.find((x) => x.category === 'closed') ?? null;
    return { automatic_for_triage: s.automatic_for_triage, status_id: s.status_id, status: st ? { id: st.id, name: st.name, category: st.category } : null };
  };
  app.get(
    path,
    { onRequest: requireAccess('read'), schema: { tags, summary: 'Whether triage incidents opened from PagerDuty close by themselves when all their PagerDuty incidents are resolved', response: { 200: settingsJson } } },
    async () => toJson(await deps.settings.get()),
  );
  app.put(
    path,
    {
      onRequest: requireAccess('admin'),
      schema: {
        tags,
        summary: 'Turn the automatic close of triage incidents opened from PagerDuty on or off, and choose the status (closed, declined or a live status)',
        body: z.strictObject({ automatic_for_triage: z.boolean(), status_id: z.string().trim().min(1).max(64).nullable().default(null) }),
        response: { 200: settingsJson },
      },
    },
    async (req) => {
      const b = req.body;
      if (b.status_id) {
        const st = (await deps.incidents.listStatuses()).find((x) => x.id === b.status_id);
        if (!st || !['closed', 'declined', 'live'].includes(st.category)) {
          throw new ValidationError(`Choose a closed, declined or live status${st ? `; ${st.name} is ${st.category}` : `: there is no status ${JSON.stringify(b.status_id)}`}.`, [{ path: 'status_id', message: 'must be a closed, declined or live status' }]);
        }
      }
      const value: AllResolvedSettings = { automatic_for_triage: b.automatic_for_triage, status_id: b.status_id };
      await inTransaction(deps.db, async (tx) => {
        const before = await deps.settings.get(tx);
        await deps.settings.set(value, tx);
        await recordAudit(tx, { actor: actorOf(req.principal!), action: 'pagerduty.all_resolved_settings_changed', target: { kind: 'integration', id: 'pagerduty' }, details: { ...value, was: before }, ip: req.ip });
        await deps.live.touch(tx, { topic: 'settings' });
      });
      return toJson(value);
    },
  );
}
