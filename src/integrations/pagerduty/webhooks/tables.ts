// The tables the webhooks module reads and writes: stored deliveries, and the PagerDuty settings row whose
// webhook columns (subscription, encrypted signing secrets, last error) it owns. The row's other columns are
// escalation settings (escalations/settings.ts); both stores create the row the same way (`ensureSettingsRow`).

import type { Executor } from '../../../platform/db/index.js';
import { nowIso } from '../../../platform/ids.js';

export const SETTINGS_ROW = 'default';

export interface PagerDutyEscalationSettingsTable {
  id: string;
  fallback_service_id: string | null;
  fallback_service_name: string | null;
  always_use_bot: number;
  webhook_subscription_id: string | null;
  webhook_url: string | null;
  webhook_secrets: string; // JSON: encrypted secrets, newest first
  webhook_error: string | null;
  webhook_signature_failed_at: string | null;
  webhook_ping_sent_at: string | null;
  webhook_ping_received_at: string | null;
  updated_at: string;
}

export interface PagerDutyWebhookEventsTable {
  /** The account whose subscription delivered it ('default': the first account). */
  account_id?: string;
  delivery_id: string;
  event_id: string;
  event_type: string;
  resource_type: string;
  resource_id: string | null;
  occurred_at: string | null;
  payload: string;
  received_at: string;
  applied_at: string | null;
  outcome: string | null;
}

declare module '../../../platform/db/schema.js' {
  interface Database {
    pagerduty_escalation_settings: PagerDutyEscalationSettingsTable;
    pagerduty_webhook_events: PagerDutyWebhookEventsTable;
  }
}

/** The settings row (the first account's, `default`; another account's webhook columns live in a row named by its id), created empty the first time anyone writes to it. */
export async function ensureSettingsRow(db: Executor, id: string = SETTINGS_ROW): Promise<void> {
  await db
    .insertInto('pagerduty_escalation_settings')
    .values({ id, fallback_service_id: null, fallback_service_name: null, always_use_bot: 0, webhook_subscription_id: null, webhook_url: null, webhook_secrets: '[]', webhook_error: null, webhook_signature_failed_at: null, webhook_ping_sent_at: null, webhook_ping_received_at: null, updated_at: nowIso() })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}
