import { z } from 'zod';
import type { Executor } from '../../../platform/db/index.js';
import type { SettingsStore } from '../../../platform/settings.js';

// Whether incident updates are also posted to the linked PagerDuty incidents as status updates (default on). One
// namespaced key in the core's settings store; only this module reads or writes it.

export const STATUS_UPDATES_KEY = 'pagerduty.status_updates';
export const statusUpdateSettingsSchema = z.object({ enabled: z.boolean() });
export type StatusUpdateSettings = z.infer<typeof statusUpdateSettingsSchema>;
export const DEFAULT_STATUS_UPDATE_SETTINGS: StatusUpdateSettings = { enabled: true };

export class StatusUpdateSettingsStore {
  constructor(private readonly store: SettingsStore) {}

  get(db?: Executor): Promise<StatusUpdateSettings> {
    return this.store.get(STATUS_UPDATES_KEY, statusUpdateSettingsSchema, DEFAULT_STATUS_UPDATE_SETTINGS, db);
  }

  set(value: StatusUpdateSettings, db?: Executor): Promise<void> {
    return this.store.set(STATUS_UPDATES_KEY, value, db);
  }
}
