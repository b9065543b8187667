import { z } from 'zod';
import type { Executor } from '../../../platform/db/index.js';
import type { SettingsStore } from '../../../platform/settings.js';

// Whether triage incidents opened from PagerDuty are closed (or moved to a chosen status) by themselves once every
// related PagerDuty incident linked to them is resolved (default off). One namespaced key in the core's settings
// store; only this module reads or writes it.

export const ALL_RESOLVED_KEY = 'pagerduty.all_resolved';
export const allResolvedSettingsSchema = z.object({ automatic_for_triage: z.boolean(), status_id: z.string().nullable() });
export type AllResolvedSettings = z.infer<typeof allResolvedSettingsSchema>;
export const DEFAULT_ALL_RESOLVED_SETTINGS: AllResolvedSettings = { automatic_for_triage: false, status_id: null };

export class AllResolvedSettingsStore {
  constructor(private readonly store: SettingsStore) {}

  get(db?: Executor): Promise<AllResolvedSettings> {
    return this.store.get(ALL_RESOLVED_KEY, allResolvedSettingsSchema, DEFAULT_ALL_RESOLVED_SETTINGS, db);
  }

  set(value: AllResolvedSettings, db?: Executor): Promise<void> {
    return this.store.set(ALL_RESOLVED_KEY, value, db);
  }
}
