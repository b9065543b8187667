import type { Db, Executor } from '../../../platform/db/index.js';
import { nowIso } from '../../../platform/ids.js';
import { ensureSettingsRow, SETTINGS_ROW } from '../webhooks/tables.js';

// Escalation settings: the fallback escalation service (people, and policies no service uses, are paged through
// it) and whether to always page as the bot account. They share one row with the webhook state, which the
// webhooks module owns (webhooks/secrets.ts).

export interface EscalationSettings {
  fallbackService: { id: string; name: string } | null;
  alwaysUseBot: boolean;
}

export class EscalationSettingsStore {
  constructor(private readonly db: Db) {}

  async get(db: Executor = this.db): Promise<EscalationSettings> {
    const r = await db.selectFrom('pagerduty_escalation_settings').select(['fallback_service_id', 'fallback_service_name', 'always_use_bot']).where('id', '=', SETTINGS_ROW).executeTakeFirst();
    return {
      fallbackService: r?.fallback_service_id ? { id: r.fallback_service_id, name: r.fallback_service_name ?? r.fallback_service_id } : null,
      alwaysUseBot: Number(r?.always_use_bot ?? 0) === 1,
    };
  }

  async update(patch: { fallbackService?: { id: string; name: string } | null; alwaysUseBot?: boolean }, db: Executor = this.db): Promise<void> {
    await ensureSettingsRow(db);
    const set: Record<string, unknown> = { updated_at: nowIso() };
    if (patch.fallbackService !== undefined) {
      set.fallback_service_id = patch.fallbackService?.id ?? null;
      set.fallback_service_name = patch.fallbackService?.name ?? null;
    }
    if (patch.alwaysUseBot !== undefined) set.always_use_bot = patch.alwaysUseBot ? 1 : 0;
    await db.updateTable('pagerduty_escalation_settings').set(set).where('id', '=', SETTINGS_ROW).execute();
  }
}
