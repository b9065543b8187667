import { z } from 'zod';
import { syncRunJson, toRunJson } from '../../catalog/catalog.routes.js';
import { NotFoundError } from '../../platform/errors.js';
import type { App } from '../../platform/http/server.js';
import { actorOf, requireAccess } from '../../users/auth.js';
import { FIRST_ACCOUNT } from './accounts.js';
import type { PagerDutyIntegration } from './connect.js';
import { keyBody, pdUser, region, settingsPatch, settingsUpdate, typeKey } from './connect.routes.js';
import type { WebhooksModule } from './webhooks/index.js';

// REST API for several PagerDuty accounts: /api/v1/integrations/pagerduty/accounts. The first account is `default`
// (also reachable through /api/v1/integrations/pagerduty as before); others have generated ids. Admins add, change
// and disconnect accounts; every signed-in role reads them. Keys are never returned, only masked.

const accountId = z.string().min(1).max(40).regex(/^(default|a[0-9a-f]{10})$/, 'is not a PagerDuty account id');
const name = z.string().trim().min(1, 'must not be empty').max(80);

const accountJson = z.object({
  id: z.string(),
  name: z.string(),
  first: z.boolean().describe('The first account: the one connected before there were several; its catalog ids are PagerDuty ids'),
  status: z.string(),
  region,
  base_url: z.string().nullable(),
  api_key: z.string().nullable().describe('Masked: only the last characters'),
  bot_user: pdUser,
  sync_intervals_minutes: z.record(z.string(), z.number()),
  archive_threshold: z.number(),
  connected_at: z.string(),
  last_run: syncRunJson.nullable(),
  webhook: z.object({ url: z.string(), automatic: z.boolean(), subscription_id: z.string().nullable(), secret_configured: z.boolean(), error: z.string().nullable() }),
});

export function registerAccountRoutes(app: App, pd: PagerDutyIntegration, webhooks: WebhooksModule): void {
  const admin = requireAccess('admin');
  const read = requireAccess('read');
  const base = '/api/v1/integrations/pagerduty/accounts';
  const tags = ['pagerduty'];
  const params = z.strictObject({ id: accountId });

  const one = async (id: string): Promise<z.infer<typeof accountJson>> => {
    const s = await pd.status(id);
    if (!s.connected) throw new NotFoundError("PagerDuty account", id);
    const [where, state] = await Promise.all([webhooks.placement(id), webhooks.store.forAccount(id).state()]);
    return {
      id,
      name: s.name,
      first: id === FIRST_ACCOUNT,
      status: s.status,
      region: s.region,
      base_url: s.baseUrl ?? null,
      api_key: s.apiKeyMasked,
      bot_user: s.botUser,
      sync_intervals_minutes: Object.fromEntries(Object.entries(s.syncIntervalsMs).map(([k, v]) => [k, Math.round(v / 60_000)])),
      archive_threshold: s.archiveThreshold,
      connected_at: s.connectedAt,
      last_run: s.lastRun ? syncRunJson.parse(toRunJson(s.lastRun)) : null,
      webhook: { url: where.url, automatic: where.automatic, subscription_id: state.subscriptionId, secret_configured: state.secretCount > 0, error: state.error },
    };
  };

  app.get(base, { onRequest: read, schema: { tags, summary: 'The connected PagerDuty accounts, the first account first (keys only masked)', response: { 200: z.object({ accounts: z.array(accountJson) }) } } }, async () => ({
    accounts: await Promise.all((await pd.accounts()).map((a) => one(a.id))),
  }));

  app.post(
    base,
    {
      config: { upstream: true },
      onRequest: admin,
      schema: {
        tags,
        summary: 'Add another PagerDuty account: its name, key, region and bot account (checked as when connecting the first); starts its sync and webhook subscription',
        body: z.strictObject({ name, ...keyBody, bot_user_id: z.string().trim().min(1).max(40).optional(), bot_email: z.string().trim().min(3).max(320).optional() }).refine((b) => b.bot_user_id || b.bot_email, { message: 'choose the bot account: bot_user_id or bot_email', path: ['bot_user_id'] }),
        response: { 201: z.object({ account: accountJson }) },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const id = await pd.addAccount({ name: b.name, region: b.region, baseUrl: b.base_url ?? null, apiKey: b.api_key, botUserId: b.bot_user_id, botEmail: b.bot_email }, actorOf(req.principal!), req.ip);
      return reply.status(201).send({ account: await one(id) });
    },
  );

  app.get(`${base}/:id`, { onRequest: read, schema: { tags, summary: 'One PagerDuty account', params, response: { 200: z.object({ account: accountJson }) } } }, async (req) => ({ account: await one(req.params.id) }));

  app.patch(
    `${base}/:id`,
    {
      config: { upstream: true },
      onRequest: admin,
      schema: {
        tags,
        summary: "Rename an account, change its bot account or its sync settings",
        params,
        body: z.strictObject({ name: name.optional(), ...settingsPatch }),
        response: { 200: z.object({ account: accountJson }) },
      },
    },
    async (req) => {
      await one(req.params.id);
      await pd.update({ name: req.body.name, ...settingsUpdate(req.body) }, actorOf(req.principal!), req.ip, req.params.id);
      return { account: await one(req.params.id) };
    },
  );

  app.delete(`${base}/:id`, { onRequest: admin, schema: { tags, summary: "Disconnect one account: its key, sync and webhook secrets go; its synced entries and every other account stay", params } }, async (req, reply) => {
    if (!(await pd.disconnect(actorOf(req.principal!), req.ip, req.params.id))) throw new NotFoundError("PagerDuty account", req.params.id);
    return reply.status(204).send();
  });

  app.post(
    `${base}/:id/check_key`,
    {
      config: { upstream: true },
      onRequest: admin,
      schema: {
        tags,
        summary: "Check a key for this account (valid, right region, full access) without saving it; returns users to choose the bot account from",
        params,
        body: z.strictObject({ ...keyBody, query: z.string().max(200).optional() }),
        response: { 200: z.object({ ok: z.literal(true), users: z.array(pdUser), more: z.boolean() }) },
      },
    },
    async (req) => {
      await one(req.params.id);
      const client = await pd.checkKey({ region: req.body.region, baseUrl: req.body.base_url ?? null, apiKey: req.body.api_key });
      const r = await pd.searchUsers(client, req.body.query ?? '');
      return { ok: true as const, users: r.users, more: r.more };
    },
  );

  app.post(
    `${base}/:id/sync`,
    {
      onRequest: admin,
      schema: {
        tags,
        summary: "Sync this account's catalog entries now",
        params,
        body: z.strictObject({ types: z.array(typeKey).optional(), force: z.boolean().optional() }).optional().default({}),
        response: { 202: z.object({ run: syncRunJson }) },
      },
    },
    async (req, reply) => {
      await one(req.params.id);
      const p = req.principal!;
      const run = await pd.requestSync({ trigger: p.kind === 'api_key' ? 'api' : 'manual', types: req.body.types, force: req.body.force, requestedBy: actorOf(p).userId ?? actorOf(p).ref ?? null, account: req.params.id });
      return reply.status(202).send({ run: syncRunJson.parse(toRunJson(run)) });
    },
  );
}
