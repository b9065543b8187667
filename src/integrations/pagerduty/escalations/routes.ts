import { z } from 'zod';
import type { App } from '../../../platform/http/server.js';
import { ValidationError } from '../../../platform/errors.js';
import { actorOf, requireAccess } from '../../../users/auth.js';
import { splitPdKey } from '../accounts.js';
import type { WebhookPlacement } from '../webhooks/subscription.js';
import type { PagerDutyDirectory } from '../directory.js';
import type { WebhookSecretStore } from '../webhooks/secrets.js';
import type { EscalateUseCase } from './escalate.js';
import type { Escalation } from './model.js';
import type { EscalationSettingsStore } from './settings.js';
import type { EscalationStore } from './store.js';

// REST: escalate an incident to PagerDuty and follow it; the options lists the modal and the web form search;
// the escalation settings (fallback service, bot account, webhook secret).

const person = z.object({ id: z.string(), name: z.string(), at: z.string() });
const targetJson = z.object({
  id: z.string(),
  type: z.enum(['escalation_policy', 'user']),
  pagerduty_id: z.string(),
  name: z.string(),
  service: z.object({ id: z.string(), name: z.string() }).nullable(),
  incident_key: z.string(),
  from: z.string().nullable(),
  status: z.enum(['pending', 'triggered', 'acknowledged', 'resolved', 'failed']),
  error: z.string().nullable(),
  pagerduty_incident: z.object({ id: z.string(), number: z.number().nullable(), html_url: z.string().nullable() }).nullable(),
  paged: z.array(person),
  acknowledged_by: z.array(person),
  triggered_at: z.string().nullable(),
  acknowledged_at: z.string().nullable(),
  resolved_at: z.string().nullable(),
  failed_at: z.string().nullable(),
});
const responderRequestJson = z.object({
  pagerduty_incident: z.object({ id: z.string(), number: z.number().nullable(), title: z.string(), html_url: z.string().nullable() }),
  targets: z.array(z.object({ type: z.enum(['escalation_policy', 'user']), pagerduty_id: z.string(), name: z.string() })),
  state: z.enum(['pending', 'sent', 'failed']).describe("pending: not taken by PagerDuty yet; sent; failed: refused, with PagerDuty's message in error"),
  error: z.string().nullable(),
  sent_at: z.string().nullable(),
  responders: z.array(
    z.object({
      pagerduty_user_id: z.string(),
      name: z.string(),
      via: z.string().nullable().describe('The escalation policy they were asked through (null: asked by name)'),
      state: z.enum(['pending', 'joined', 'declined', 'user_cancelled']),
      state_at: z.string(),
    }),
  ),
});
const escalationJson = z.object({
  id: z.string(),
  mode: z.enum(['new_incidents', 'add_responders']),
  incident_id: z.string(),
  requester: z.object({ kind: z.string(), user_id: z.string().nullable(), name: z.string() }),
  message: z.string(),
  urgency: z.enum(['high', 'low']),
  priority: z.object({ id: z.string(), name: z.string() }).nullable(),
  source: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  targets: z.array(targetJson),
  responder_request: responderRequestJson.nullable().describe('add_responders: the linked PagerDuty incident, the request and each responder with their state'),
});

export function escalationToJson(e: Escalation): z.infer<typeof escalationJson> {
  const rr = e.responderRequest;
  return {
    id: e.id,
    mode: e.mode,
    incident_id: e.incidentId,
    requester: { kind: e.requester.kind, user_id: e.requester.userId, name: e.requester.name },
    message: e.message,
    urgency: e.urgency,
    priority: e.priority,
    source: e.source,
    created_at: e.createdAt,
    updated_at: e.updatedAt,
    targets: e.targets.map((t) => ({
      id: t.id,
      type: t.kind,
      pagerduty_id: t.targetId,
      name: t.name,
      service: t.service,
      incident_key: t.incidentKey,
      from: t.from,
      status: t.status,
      error: t.error,
      pagerduty_incident: t.pagerduty ? { id: t.pagerduty.incidentId, number: t.pagerduty.number, html_url: t.pagerduty.htmlUrl } : null,
      paged: t.paged,
      acknowledged_by: t.acknowledgedBy,
      triggered_at: t.triggeredAt,
      acknowledged_at: t.acknowledgedAt,
      resolved_at: t.resolvedAt,
      failed_at: t.failedAt,
    })),
    responder_request: rr
      ? {
          pagerduty_incident: { id: rr.pagerduty.incidentId, number: rr.pagerduty.number, title: rr.pagerduty.title, html_url: rr.pagerduty.htmlUrl },
          targets: rr.targets.map((t) => ({ type: t.kind, pagerduty_id: t.targetId, name: t.name })),
          state: rr.state,
          error: rr.error,
          sent_at: rr.sentAt,
          responders: rr.responders.map((r) => ({ pagerduty_user_id: r.pdUserId, name: r.name, via: r.via, state: r.state, state_at: r.stateAt })),
        }
      : null,
  };
}

const idParams = z.strictObject({ id: z.string().trim().min(1).max(64) });
const pdId = z.string().trim().min(1).max(64);
const one = z.object({ escalation: escalationJson });
const option = z.object({ id: z.string(), name: z.string(), description: z.string().optional(), email: z.string().optional() });
const settingsJson = z.object({
  fallback_service: z.object({ id: z.string(), name: z.string() }).nullable().describe("The first account's fallback service"),
  fallback_services: z
    .array(z.object({ account_id: z.string(), account_name: z.string(), service: z.object({ id: z.string(), name: z.string() }).nullable() }))
    .describe('Each connected account with its fallback service, or null (a service pages only in its own account)'),
  always_use_bot_account: z.boolean(),
  webhook: z.object({ url: z.string(), subscription_id: z.string().nullable(), secret_configured: z.boolean(), automatic: z.boolean(), error: z.string().nullable() }),
});

export function registerEscalationRoutes(
  app: App,
  deps: { escalate: EscalateUseCase; store: EscalationStore; directory: PagerDutyDirectory; settings: EscalationSettingsStore; webhooks: WebhookSecretStore; placement: () => Promise<WebhookPlacement>; accounts: () => Promise<{ id: string; name: string }[]> },
): void {
  const { escalate, store, directory, settings, webhooks } = deps;
  const read = requireAccess('read');
  const write = requireAccess('write');
  const admin = requireAccess('admin');
  const tags = ['escalations'];

  app.post(
    '/api/v1/incidents/:id/escalations',
    {
      onRequest: write,
      schema: {
        tags,
        summary:
          "Page PagerDuty escalation policies and people: one new PagerDuty incident per target (mode new_incidents, the default), or ask them to join a linked, unresolved PagerDuty incident as responders (mode add_responders; pagerduty_incident_id chooses it when several are linked); the same idempotency key returns the same escalation",
        params: idParams,
        headers: z.object({ 'idempotency-key': z.string().min(1).max(200).optional() }),
        body: z.strictObject({
          escalation_policy_ids: z.array(pdId).max(50).optional(),
          user_ids: z.array(pdId).max(50).optional(),
          user_emails: z.array(z.string().trim().min(3).max(320)).max(50).optional(),
          message: z.string().max(5000),
          urgency: z.enum(['high', 'low']).optional(),
          priority_id: pdId.nullable().optional(),
          idempotency_key: z.string().min(1).max(200).optional(),
          mode: z.enum(['new_incidents', 'add_responders']).optional(),
          pagerduty_incident_id: pdId.nullable().optional(),
        }),
        response: { 200: one, 201: one },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const p = req.principal!;
      const { escalation, created } = await escalate.escalate(
        {
          incident: req.params.id,
          policyIds: b.escalation_policy_ids,
          userIds: b.user_ids,
          emails: b.user_emails,
          message: b.message,
          urgency: b.urgency,
          priorityId: b.priority_id ?? null,
          idempotencyKey: b.idempotency_key ?? req.headers['idempotency-key'],
          source: p.kind === 'api_key' ? 'api' : 'web',
          mode: b.mode,
          pagerdutyIncidentId: b.pagerduty_incident_id ?? null,
          requester: p.kind === 'session' ? { id: p.user.id, name: p.user.name, email: p.user.email } : undefined,
        },
        actorOf(p),
      );
      return reply.status(created ? 201 : 200).send({ escalation: escalationToJson(escalation) });
    },
  );

  app.get('/api/v1/incidents/:id/escalations', { onRequest: read, schema: { tags, summary: "An incident's escalations, newest first", params: idParams, response: { 200: z.object({ escalations: z.array(escalationJson) }) } } }, async (req) => ({
    escalations: (await store.listForIncident(req.params.id)).map(escalationToJson),
  }));

  app.get('/api/v1/escalations/:id', { onRequest: read, schema: { tags, params: idParams, response: { 200: one } } }, async (req) => ({ escalation: escalationToJson(await store.get(req.params.id)) }));

  app.post('/api/v1/escalations/:id/retry', { onRequest: write, schema: { tags, summary: 'Page again every target that has no PagerDuty incident yet (failed ones, and pending ones a crashed process left)', params: idParams, response: { 200: one } } }, async (req) => ({
    escalation: escalationToJson(await escalate.retryFailed(req.params.id, actorOf(req.principal!))),
  }));

  app.get(
    '/api/v1/integrations/pagerduty/escalation_options',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'Search what can be paged (policies, users), priorities, services and teams in the synced catalog (by name, or exactly by PagerDuty id; items marked incident-io-ignore never appear)',
        querystring: z.strictObject({ type: z.enum(['escalation_policy', 'user', 'priority', 'service', 'team']), query: z.string().max(200).optional(), limit: z.coerce.number().int().min(1).max(100).default(50) }),
        response: { 200: z.object({ options: z.array(option) }) },
      },
    },
    async (req) => {
      const q = req.query.query ?? '';
      const l = req.query.limit;
      const options =
        req.query.type === 'escalation_policy'
          ? await directory.searchPolicies(q, l)
          : req.query.type === 'user'
            ? await directory.searchUsers(q, l)
            : req.query.type === 'service'
              ? await directory.searchServices(q, l)
              : req.query.type === 'team'
                ? await directory.searchTeams(q, l)
                : await directory.listPriorities();
      return { options };
    },
  );

  const settingsOut = async () => {
    const [s, w, where, accounts] = await Promise.all([settings.get(), webhooks.state(), deps.placement(), deps.accounts()]);
    return {
      fallback_service: s.fallbackService,
      fallback_services: accounts.map((a) => ({ account_id: a.id, account_name: a.name, service: s.fallbackServices.get(a.id) ?? null })),
      always_use_bot_account: s.alwaysUseBot,
      webhook: { url: where.url, subscription_id: w.subscriptionId, secret_configured: w.secretCount > 0, automatic: where.automatic, error: w.error },
    };
  };
  const base = '/api/v1/integrations/pagerduty';
  app.get(`${base}/escalation_settings`, { onRequest: read, schema: { tags, summary: 'Escalation settings: fallback service, bot account, webhook', response: { 200: settingsJson } } }, settingsOut);
  app.patch(
    `${base}/escalation_settings`,
    {
      onRequest: admin,
      schema: {
        tags,
        summary: 'The fallback escalation service is used to page people directly, and policies no service uses',
        body: z.strictObject({
          fallback_service_id: pdId.nullable().optional().describe("A service sets its own account's fallback; null clears the fallback of account_id (the first account when not given)"),
          account_id: z.string().trim().min(1).max(40).optional(),
          always_use_bot_account: z.boolean().optional(),
        }),
        response: { 200: settingsJson },
      },
    },
    async (req) => {
      const b = req.body;
      let fallbackService: { id: string; name: string } | null | undefined;
      if (b.fallback_service_id === null) fallbackService = null;
      else if (b.fallback_service_id) {
        const found = (await directory.searchServices(b.fallback_service_id, 50)).find((s) => s.id === b.fallback_service_id);
        if (!found) throw new ValidationError(`No PagerDuty service ${JSON.stringify(b.fallback_service_id)} is in the synced catalog.`, [{ path: 'fallback_service_id', message: 'unknown service' }]);
        fallbackService = { id: found.id, name: found.name };
        if (b.account_id !== undefined && splitPdKey(found.id).account !== b.account_id) {
          throw new ValidationError(`${found.name} is a service of another PagerDuty account: a fallback service pages only in its own account.`, [{ path: 'fallback_service_id', message: 'not a service of account_id' }]);
        }
      }
      await settings.update({ fallbackService, account: b.account_id, alwaysUseBot: b.always_use_bot_account });
      return settingsOut();
    },
  );
  app.put(
    `${base}/webhook_secret`,
    { onRequest: admin, schema: { tags, summary: 'The signing secret of a webhook subscription created by hand in PagerDuty (the previous one stays valid until the next)', body: z.strictObject({ secret: z.string().trim().min(8).max(500), subscription_id: z.string().trim().min(1).max(64).nullable().optional() }), response: { 200: settingsJson } } },
    async (req) => {
      await webhooks.addSecret(req.body.secret, { subscriptionId: req.body.subscription_id ?? null, url: (await deps.placement()).url });
      return settingsOut();
    },
  );
  app.delete(`${base}/webhook_secret`, { onRequest: admin, schema: { tags, summary: 'Forget the webhook secrets (deliveries are refused; escalations are polled)' } }, async (_req, reply) => {
    await webhooks.clear();
    return reply.status(204).send();
  });
}
