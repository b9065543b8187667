import type { Db, Executor } from '../../../platform/db/index.js';
import { nowIso } from '../../../platform/ids.js';
import { FIRST_ACCOUNT, splitPdKey } from '../accounts.js';
import { ensureSettingsRow, SETTINGS_ROW } from '../webhooks/tables.js';

// Escalation settings: the fallback escalation service of each PagerDuty account (people, and policies no service
// uses, are paged through it; a service pages only in its own account, so each account has its own) and whether to
// always page as the bot account. They share the rows of the webhook state, one per account, which the webhooks
// module owns (webhooks/secrets.ts); whether to always page as the bot is the first account's row.

export interface FallbackService {
  id: string;
  name: string;
}

export interface EscalationSettings {
  /** The first account's fallback service. */
  fallbackService: FallbackService | null;
  /** Each account's fallback service, by the account its service belongs to (the first account is `default`). */
  fallbackServices: Map<string, FallbackService>;
  alwaysUseBot: boolean;
}

export class EscalationSettingsStore {
  constructor(private readonly db: Db) {}

  async get(db: Executor = this.db): Promise<EscalationSettings> {
    const rows = await db.selectFrom('pagerduty_escalation_settings').select(['id', 'fallback_service_id', 'fallback_service_name', 'always_use_bot']).execute();
    const fallbackServices = new Map<string, FallbackService>();
    // A service's catalog id names its account. Before there were several accounts the first account's row could
    // hold any service: a service in its own account's row wins over one chosen in another's.
    const ownRow = (r: (typeof rows)[number]) => r.id === splitPdKey(r.fallback_service_id ?? '').account;
    for (const r of [...rows.filter((x) => !ownRow(x)), ...rows.filter(ownRow)]) {
      if (r.fallback_service_id) fallbackServices.set(splitPdKey(r.fallback_service_id).account, { id: r.fallback_service_id, name: r.fallback_service_name ?? r.fallback_service_id });
    }
    const first = rows.find((r) => r.id === SETTINGS_ROW);
    return { fallbackService: fallbackServices.get(FIRST_ACCOUNT) ?? null, fallbackServices, alwaysUseBot: Number(first?.always_use_bot ?? 0) === 1 };
  }

  /**
   * `fallbackService` is stored for the account it belongs to; `null` clears `account`'s (the first account's when
   * not said). `alwaysUseBot` is the first account's row.
   */
  async update(patch: { fallbackService?: FallbackService | null; account?: string; alwaysUseBot?: boolean }, db: Executor = this.db): Promise<void> {
    if (patch.fallbackService !== undefined) {
      const account = patch.fallbackService ? splitPdKey(patch.fallbackService.id).account : (patch.account ?? FIRST_ACCOUNT);
      await ensureSettingsRow(db, account);
      await db
        .updateTable('pagerduty_escalation_settings')
        .set({ fallback_service_id: patch.fallbackService?.id ?? null, fallback_service_name: patch.fallbackService?.name ?? null, updated_at: nowIso() })
        .where('id', '=', account)
        .execute();
    }
    if (patch.alwaysUseBot !== undefined) {
      await ensureSettingsRow(db);
      await db.updateTable('pagerduty_escalation_settings').set({ always_use_bot: patch.alwaysUseBot ? 1 : 0, updated_at: nowIso() }).where('id', '=', SETTINGS_ROW).execute();
    }
  }
}
