import type { Db } from '../../../platform/db/index.js';
import { nowIso } from '../../../platform/ids.js';
import { ensureSettingsRow, SETTINGS_ROW } from './tables.js';

// Webhook health, for the settings page: the last delivery received (read from the stored deliveries), the last
// delivery refused for its signature, and the test ping ("Send test": Firebreak asks PagerDuty to ping the
// subscription, PagerDuty delivers a signed `pagey.ping`, intake notes when it arrived).

export interface WebhookHealth {
  lastDelivery: { receivedAt: string; eventType: string } | null;
  lastSignatureFailureAt: string | null;
  ping: { sentAt: string | null; receivedAt: string | null };
}

export class WebhookHealthStore {
  private lastFailureWrite = 0;

  constructor(private readonly db: Db) {}

  async read(): Promise<WebhookHealth> {
    const last = await this.db.selectFrom('pagerduty_webhook_events').select(['received_at', 'event_type']).orderBy('received_at', 'desc').limit(1).executeTakeFirst();
    const row = await this.db.selectFrom('pagerduty_escalation_settings').select(['webhook_signature_failed_at', 'webhook_ping_sent_at', 'webhook_ping_received_at']).where('id', '=', SETTINGS_ROW).executeTakeFirst();
    return {
      lastDelivery: last ? { receivedAt: last.received_at, eventType: last.event_type } : null,
      lastSignatureFailureAt: row?.webhook_signature_failed_at ?? null,
      ping: { sentAt: row?.webhook_ping_sent_at ?? null, receivedAt: row?.webhook_ping_received_at ?? null },
    };
  }

  /** A delivery refused for its signature. Written at most once a second per process, so a flood costs little. */
  async signatureFailed(): Promise<void> {
    const now = Date.now();
    if (now - this.lastFailureWrite < 1000) return;
    this.lastFailureWrite = now;
    await ensureSettingsRow(this.db);
    await this.db.updateTable('pagerduty_escalation_settings').set({ webhook_signature_failed_at: new Date(now).toISOString() }).where('id', '=', SETTINGS_ROW).execute();
  }

  async pingSent(): Promise<void> {
    await ensureSettingsRow(this.db);
    await this.db.updateTable('pagerduty_escalation_settings').set({ webhook_ping_sent_at: nowIso(), webhook_ping_received_at: null }).where('id', '=', SETTINGS_ROW).execute();
  }

  async pingReceived(at: string): Promise<void> {
    await ensureSettingsRow(this.db);
    await this.db.updateTable('pagerduty_escalation_settings').set({ webhook_ping_received_at: at }).where('id', '=', SETTINGS_ROW).execute();
  }
}
