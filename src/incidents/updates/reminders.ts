import { z } from 'zod';
import type { Db } from '../../platform/db/index.js';
import { inTransaction } from '../../platform/db/index.js';
import { ValidationError } from '../../platform/errors.js';
import type { LiveFeed } from '../../platform/live.js';
import type { SettingsStore } from '../../platform/settings.js';
import type { IncidentsService } from '../incidents.service.js';
import type { UpdatesService } from './service.js';

// Update reminders, the domain half: the setting (on or off, minutes of quiet allowed per severity) and which live
// incidents have been quiet for longer than that. Telling the lead is an integration's job (Slack sends the DM,
// src/integrations/slack/updates/reminders.ts); the core knows nothing of Slack.

export const UPDATE_REMINDERS_KEY = 'incidents.update_reminders';
export const DEFAULT_REMINDER_MINUTES = 30;
export const REMINDER_MINUTES_MIN = 5;
export const REMINDER_MINUTES_MAX = 1440;

const stored = z.object({
  enabled: z.boolean(),
  minutes_by_severity: z.record(z.string(), z.number().int().min(REMINDER_MINUTES_MIN).max(REMINDER_MINUTES_MAX)),
});

export interface ReminderSettings {
  enabled: boolean;
  /** Every current severity, with its minutes (the default where none was set). */
  minutesBySeverity: Record<string, number>;
}

export interface QuietIncident {
  incidentId: string;
  reference: string;
  name: string;
  leadUserId: string;
  severity: { id: string; name: string };
  status: { id: string; name: string };
  /** The last update, or the declaration when there has been none: the quiet period this reminder is for. */
  quietSince: string;
  minutes: number;
}

export class UpdateReminders {
  constructor(
    private readonly db: Db,
    private readonly settings: SettingsStore,
    private readonly incidents: IncidentsService,
    private readonly updates: UpdatesService,
    private readonly live: LiveFeed,
  ) {}

  async get(): Promise<ReminderSettings> {
    const value = await this.settings.get(UPDATE_REMINDERS_KEY, stored, { enabled: true, minutes_by_severity: {} });
    const severities = await this.incidents.listSeverities();
    return { enabled: value.enabled, minutesBySeverity: Object.fromEntries(severities.map((s) => [s.id, value.minutes_by_severity[s.id] ?? DEFAULT_REMINDER_MINUTES])) };
  }

  /** Severity ids must exist (400 naming the unknown ones, nothing saved); severities left out keep their minutes. */
  async set(input: { enabled: boolean; minutesBySeverity: Record<string, number> }): Promise<ReminderSettings> {
    await inTransaction(this.db, async (tx) => {
      const severities = await this.incidents.listSeverities(tx);
      const known = new Set(severities.map((s) => s.id));
      const unknown = Object.keys(input.minutesBySeverity).filter((id) => !known.has(id));
      if (unknown.length) {
        throw new ValidationError(`Unknown severit${unknown.length === 1 ? 'y' : 'ies'} ${unknown.map((u) => JSON.stringify(u)).join(', ')}.`, unknown.map((u) => ({ path: `minutes_by_severity.${u}`, message: `must be one of: ${severities.map((s) => `${s.id} (${s.name})`).join(', ')}` })));
      }
      const current = await this.settings.get(UPDATE_REMINDERS_KEY, stored, { enabled: true, minutes_by_severity: {} }, tx);
      const minutes = Object.fromEntries(Object.entries({ ...current.minutes_by_severity, ...input.minutesBySeverity }).filter(([id]) => known.has(id)));
      await this.settings.set(UPDATE_REMINDERS_KEY, { enabled: input.enabled, minutes_by_severity: minutes }, tx);
      await this.live.touch(tx, { topic: 'settings' });
    });
    return this.get();
  }

  /** Live incidents with a lead, quiet for at least their severity's minutes at `now`. None while reminders are off. */
  async quietIncidents(now = new Date()): Promise<QuietIncident[]> {
    const settings = await this.get();
    if (!settings.enabled) return [];
    const rows = await this.db
      .selectFrom('incidents as i')
      .innerJoin('incident_statuses as s', 's.id', 'i.status_id')
      .innerJoin('severities as sv', 'sv.id', 'i.severity_id')
      .select(['i.id', 'i.reference', 'i.name', 'i.lead_user_id', 'i.created_at', 's.id as status_id', 's.name as status_name', 'sv.id as severity_id', 'sv.name as severity_name'])
      .where('s.category', '=', 'live')
      .where('i.lead_user_id', 'is not', null)
      .execute();
    const last = await this.updates.lastUpdateAt(rows.map((r) => r.id));
    const out: QuietIncident[] = [];
    for (const r of rows) {
      const minutes = settings.minutesBySeverity[r.severity_id] ?? DEFAULT_REMINDER_MINUTES;
      const quietSince = last.get(r.id) ?? r.created_at;
      if (Date.parse(quietSince) + minutes * 60_000 > now.getTime()) continue;
      out.push({ incidentId: r.id, reference: r.reference, name: r.name, leadUserId: r.lead_user_id!, severity: { id: r.severity_id, name: r.severity_name }, status: { id: r.status_id, name: r.status_name }, quietSince, minutes });
    }
    return out;
  }
}
