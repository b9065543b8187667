import type { z } from 'zod';
import type { Db, Executor } from './db/index.js';
import { nowIso } from './ids.js';

// Small settings kept in the core's `settings` table, one JSON value per key. Keys are namespaced by the module
// that owns them (`incidents.update_reminders`, `pagerduty.status_updates`, `write_ups.template`); a module reads
// only its own keys. A stored value that no longer parses (e.g. after a change of shape) gives the default.

export class SettingsStore {
  constructor(private readonly db: Db) {}

  async get<T>(key: string, schema: z.ZodType<T>, fallback: T, db: Executor = this.db): Promise<T> {
    const row = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    if (!row) return fallback;
    let raw: unknown;
    try {
      raw = JSON.parse(row.value);
    } catch {
      return fallback;
    }
    const parsed = schema.safeParse(raw);
    return parsed.success ? parsed.data : fallback;
  }

  /** Written in the caller's transaction when one is given. */
  async set(key: string, value: unknown, db: Executor = this.db): Promise<void> {
    const now = nowIso();
    const text = JSON.stringify(value);
    await db
      .insertInto('settings')
      .values({ key, value: text, updated_at: now })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: text, updated_at: now }))
      .execute();
  }
}
