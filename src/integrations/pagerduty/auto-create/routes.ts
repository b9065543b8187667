import { z } from 'zod';
import type { App } from '../../../platform/http/server.js';
import { requireAccess } from '../../../users/auth.js';
import type { AutoCreateRule, AutoCreateRules, AutoCreateSettings, SeverityDefaults } from './rules.js';

// REST: /api/v1/integrations/pagerduty/auto_create_rules (admins change them) and the settings they share
// (severity per PagerDuty priority, grouping window, auto-decline when resolved in triage).

const ids = z.array(z.string().trim().min(1).max(64)).max(500).nullable();
const ruleJson = z.object({
  id: z.string(),
  name: z.string(),
  enabled: z.boolean(),
  position: z.number(),
  service_ids: z.array(z.string()).nullable(),
  team_ids: z.array(z.string()).nullable(),
  urgencies: z.array(z.enum(['high', 'low'])).nullable(),
  priority_ids: z.array(z.string()).nullable(),
  create_as: z.enum(['triage', 'live']),
});
const ruleBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  enabled: z.boolean().default(true),
  position: z.number().int().min(0).optional(),
  service_ids: ids.default(null),
  team_ids: ids.default(null),
  urgencies: z.array(z.enum(['high', 'low'])).max(2).nullable().default(null),
  priority_ids: ids.default(null),
  create_as: z.enum(['triage', 'live']).default('triage'),
});
const sevRef = z.object({ id: z.string(), name: z.string() }).nullable();
const settingsJson = z.object({
  severity_map: z.record(z.string(), z.string()),
  grouping_window_minutes: z.number(),
  auto_decline_on_resolve: z.boolean(),
  defaults: z
    .object({ priorities: z.array(z.object({ id: z.string(), name: z.string(), severity: sevRef })), high_urgency: sevRef, low_urgency: sevRef })
    .describe('what opens when severity_map does not name the priority: by priority name (P1 the most severe…) and urgency (high: at least the second most severe), the more severe of the two'),
});

const toJson = (r: AutoCreateRule): z.infer<typeof ruleJson> => ({
  id: r.id,
  name: r.name,
  enabled: r.enabled,
  position: r.position,
  service_ids: r.serviceIds,
  team_ids: r.teamIds,
  urgencies: r.urgencies,
  priority_ids: r.priorityIds,
  create_as: r.createAs,
});
const settingsToJson = (s: AutoCreateSettings, defaults: SeverityDefaults) => ({ severity_map: s.severityMap, grouping_window_minutes: s.groupingWindowMinutes, auto_decline_on_resolve: s.autoDeclineOnResolve, defaults });

export function registerAutoCreateRoutes(app: App, svc: AutoCreateRules): void {
  const read = requireAccess('read');
  const admin = requireAccess('admin');
  const tags = ['pagerduty auto-create'];
  const base = '/api/v1/integrations/pagerduty/auto_create_rules';
  const params = z.strictObject({ id: z.string().trim().min(1).max(64) });

  app.get(base, { onRequest: read, schema: { tags, summary: 'Which PagerDuty incidents open a Firebreak incident, in order', response: { 200: z.object({ rules: z.array(ruleJson) }) } } }, async () => ({ rules: (await svc.listRules()).map(toJson) }));
  app.post(base, { onRequest: admin, schema: { tags, summary: 'Add a rule (empty lists mean any)', body: ruleBody, response: { 201: z.object({ rule: ruleJson }) } } }, async (req, reply) => {
    const b = req.body;
    const rule = await svc.createRule({ name: b.name, enabled: b.enabled, position: b.position, serviceIds: b.service_ids, teamIds: b.team_ids, urgencies: b.urgencies, priorityIds: b.priority_ids, createAs: b.create_as });
    return reply.status(201).send({ rule: toJson(rule) });
  });
  app.patch(`${base}/:id`, { onRequest: admin, schema: { tags, params, body: ruleBody.partial(), response: { 200: z.object({ rule: ruleJson }) } } }, async (req) => {
    const b = req.body;
    const rule = await svc.updateRule(req.params.id, { name: b.name, enabled: b.enabled, position: b.position, serviceIds: b.service_ids, teamIds: b.team_ids, urgencies: b.urgencies, priorityIds: b.priority_ids, createAs: b.create_as });
    return { rule: toJson(rule) };
  });
  app.delete(`${base}/:id`, { onRequest: admin, schema: { tags, params } }, async (req, reply) => {
    await svc.deleteRule(req.params.id);
    return reply.status(204).send();
  });

  const sbase = '/api/v1/integrations/pagerduty/auto_create_settings';
  app.get(sbase, { onRequest: read, schema: { tags, response: { 200: settingsJson } } }, async () => settingsToJson(await svc.getSettings(), await svc.defaults()));
  app.patch(
    sbase,
    {
      onRequest: admin,
      schema: {
        tags,
        summary: 'Severity per PagerDuty priority id (a priority left out opens at its default; an empty map is all defaults), grouping window (minutes; 0 = off), auto-decline of triage incidents resolved in PagerDuty',
        body: z.strictObject({ severity_map: z.record(z.string(), z.string()).optional(), grouping_window_minutes: z.number().int().min(0).max(1440).optional(), auto_decline_on_resolve: z.boolean().optional() }),
        response: { 200: settingsJson },
      },
    },
    async (req) => {
      const b = req.body;
      return settingsToJson(await svc.updateSettings({ severityMap: b.severity_map, groupingWindowMinutes: b.grouping_window_minutes, autoDeclineOnResolve: b.auto_decline_on_resolve }), await svc.defaults());
    },
  );
}
