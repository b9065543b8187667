import { z } from 'zod';
import type { App } from '../../platform/http/server.js';
import { actorOf, requireAccess } from '../../users/auth.js';
import type { IncidentsService } from '../incidents.service.js';
import { REMINDER_MINUTES_MAX, REMINDER_MINUTES_MIN, type ReminderSettings, type UpdateReminders } from './reminders.js';
import { UPDATE_MESSAGE_MAX, type IncidentUpdate, type UpdatesService } from './service.js';

// Updates and the update-reminder setting over HTTP: read to list, write to post, admin to change the setting.

const actorKinds = ['user', 'integration', 'workflow', 'system'] as const;
const categories = ['triage', 'live', 'closed', 'declined', 'merged', 'canceled'] as const;
const id = z.string().trim().min(1).max(64);
const params = z.strictObject({ incident_id: id });

const deliveryJson = z.object({
  target: z.enum(['pagerduty', 'slack']),
  ref: z.string(),
  label: z.string().describe('in words, with names'),
  url: z.string().nullable(),
  state: z.enum(['pending', 'sent', 'failed', 'skipped']),
  message: z.string().nullable().describe("why it failed or was skipped, in the upstream's own words"),
  at: z.string().nullable(),
});
const updateJson = z.object({
  id: z.string(),
  incident_id: z.string(),
  message: z.string(),
  status: z.object({ id: z.string(), name: z.string(), category: z.enum(categories) }),
  severity: z.object({ id: z.string(), name: z.string() }),
  summary: z.string().nullable().describe('the summary as this update set it; null when it left it unchanged'),
  actor: z.object({ kind: z.enum(actorKinds), user: z.object({ id: z.string(), name: z.string() }).nullable(), ref: z.string().nullable() }),
  created_at: z.string(),
  deliveries: z.array(deliveryJson),
});
const remindersJson = z.object({
  enabled: z.boolean(),
  minutes_by_severity: z.record(z.string(), z.number()),
  severities: z.array(z.object({ id: z.string(), name: z.string(), minutes: z.number() })).describe('most severe first'),
});

export function updateToJson(u: IncidentUpdate) {
  return {
    id: u.id,
    incident_id: u.incidentId,
    message: u.message,
    status: u.status,
    severity: u.severity,
    summary: u.summary,
    actor: u.actor,
    created_at: u.createdAt,
    deliveries: u.deliveries.map((d) => ({ target: d.target, ref: d.ref, label: d.label, url: d.url, state: d.state, message: d.message, at: d.at })),
  };
}

export function registerUpdateRoutes(app: App, deps: { updates: UpdatesService; reminders: UpdateReminders; incidents: IncidentsService }): void {
  const read = requireAccess('read');
  const write = requireAccess('write');
  const admin = requireAccess('admin');

  app.get(
    '/api/v1/incidents/:incident_id/updates',
    { onRequest: read, schema: { tags: ['updates'], summary: "An incident's updates, newest first, with where each was delivered", params, response: { 200: z.object({ updates: z.array(updateJson) }) } } },
    async (req) => ({ updates: (await deps.updates.list(req.params.incident_id)).map(updateToJson) }),
  );

  app.post(
    '/api/v1/incidents/:incident_id/updates',
    {
      onRequest: write,
      schema: {
        tags: ['updates'],
        summary: 'Post an update: what changed, with the status, severity and summary it leaves (the same idempotency key returns the same update)',
        params,
        headers: z.object({ 'idempotency-key': z.string().min(1).max(200).optional() }),
        body: z.strictObject({
          message: z.string().trim().min(1, 'must not be empty').max(UPDATE_MESSAGE_MAX).describe('what changed'),
          status_id: id.optional(),
          severity_id: id.optional(),
          summary: z.string().trim().max(10_000).optional(),
          idempotency_key: z.string().trim().min(1).max(200).optional(),
        }),
        response: { 200: z.object({ update: updateJson }), 201: z.object({ update: updateJson }) },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const { update, created } = await deps.updates.postUpdate(
        req.params.incident_id,
        { message: b.message, statusId: b.status_id, severityId: b.severity_id, summary: b.summary, idempotencyKey: b.idempotency_key ?? req.headers['idempotency-key'] },
        actorOf(req.principal!),
      );
      return reply.status(created ? 201 : 200).send({ update: updateToJson(update) });
    },
  );

  const settingsJson = async (s: ReminderSettings) => {
    const severities = await deps.incidents.listSeverities();
    return { enabled: s.enabled, minutes_by_severity: s.minutesBySeverity, severities: severities.map((v) => ({ id: v.id, name: v.name, minutes: s.minutesBySeverity[v.id]! })) };
  };

  app.get(
    '/api/v1/settings/update_reminders',
    { onRequest: read, schema: { tags: ['settings'], summary: 'Update reminders: whether the lead is reminded, and after how many quiet minutes per severity', response: { 200: z.object({ update_reminders: remindersJson }) } } },
    async () => ({ update_reminders: await settingsJson(await deps.reminders.get()) }),
  );

  app.put(
    '/api/v1/settings/update_reminders',
    {
      onRequest: admin,
      schema: {
        tags: ['settings'],
        summary: 'Change update reminders (severities left out keep their minutes)',
        body: z.strictObject({
          enabled: z.boolean(),
          minutes_by_severity: z
            .record(id, z.number().int().min(REMINDER_MINUTES_MIN).max(REMINDER_MINUTES_MAX))
            .refine((r) => Object.keys(r).length <= 100, 'at most 100 severities')
            .default({}),
        }),
        response: { 200: z.object({ update_reminders: remindersJson }) },
      },
    },
    async (req) => ({ update_reminders: await settingsJson(await deps.reminders.set({ enabled: req.body.enabled, minutesBySeverity: req.body.minutes_by_severity })) }),
  );
}
