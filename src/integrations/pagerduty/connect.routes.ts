import { z } from 'zod';
import { syncRunJson, toRunJson } from '../../catalog/catalog.routes.js';
import type { App } from '../../platform/http/server.js';
import { actorOf, requireAccess } from '../../users/auth.js';
import { PD_TYPE_KEYS } from './catalog-source.js';
import type { PagerDutyIntegration } from './connect.js';

// REST API for connecting PagerDuty: /api/v1/integrations/pagerduty. Only admins connect, change or
// disconnect it. The API key travels only in request bodies and is never returned (only masked).

// Shared with the several-accounts API (accounts.routes.ts).
export const region = z.enum(['us', 'eu']);
const baseUrl = z.url({ message: 'must be an absolute URL such as http://127.0.0.1:8091' }).max(500).nullable().optional();
const apiKey = z.string().trim().min(1, 'must not be empty').max(200);
export const keyBody = { region: region.default('us'), base_url: baseUrl, api_key: apiKey };
export const pdUser = z.object({ id: z.string(), name: z.string(), email: z.string(), role: z.string().nullable().optional().describe("PagerDuty's role name (owner, admin, manager, user, limited_user, observer, restricted_access, read_only_user, read_only_limited_user)") });
export const typeKey = z.enum(PD_TYPE_KEYS as [string, ...string[]]);
/** What a PATCH of a connection may change: the bot account and the sync settings. */
export const settingsPatch = {
  bot_user_id: z.string().trim().min(1).max(40).optional(),
  bot_email: z.string().trim().min(3).max(320).optional(),
  sync_intervals_minutes: z.partialRecord(typeKey, z.number().int().min(5).max(7 * 24 * 60)).optional(),
  archive_threshold: z.number().min(0).max(1).optional(),
};
/** A PATCH body (settingsPatch) as PagerDutyIntegration.update takes it (intervals in ms). */
export function settingsUpdate(b: { bot_user_id?: string; bot_email?: string; sync_intervals_minutes?: Partial<Record<string, number>>; archive_threshold?: number }) {
  return {
    botUserId: b.bot_user_id,
    botEmail: b.bot_email,
    syncIntervalsMs: b.sync_intervals_minutes ? Object.fromEntries(Object.entries(b.sync_intervals_minutes).map(([k, v]) => [k, (v ?? 60) * 60_000])) : undefined,
    archiveThreshold: b.archive_threshold,
  };
}

const statusJson = z.object({
  connected: z.boolean(),
  status: z.string().optional(),
  region: region.optional(),
  base_url: z.string().nullable().optional(),
  api_key: z.string().nullable().optional(),
  bot_user: pdUser.optional(),
  sync_intervals_minutes: z.record(z.string(), z.number()).optional(),
  archive_threshold: z.number().optional(),
  connected_by: z.string().nullable().optional(),
  connected_at: z.string().optional(),
  last_run: syncRunJson.nullable().optional(),
});

export function registerPagerDutyRoutes(app: App, pd: PagerDutyIntegration): void {
  const admin = requireAccess('admin');
  const read = requireAccess('read');
  const base = '/api/v1/integrations/pagerduty';
  const tags = ['pagerduty'];

  const status = async () => {
    const s = await pd.status();
    if (!s.connected) return { connected: false };
    return {
      connected: true,
      status: s.status,
      region: s.region,
      base_url: s.baseUrl,
      api_key: s.apiKeyMasked,
      bot_user: s.botUser,
      sync_intervals_minutes: Object.fromEntries(Object.entries(s.syncIntervalsMs).map(([k, v]) => [k, Math.round(v / 60_000)])),
      archive_threshold: s.archiveThreshold,
      connected_by: s.connectedBy,
      connected_at: s.connectedAt,
      last_run: s.lastRun ? syncRunJson.parse(toRunJson(s.lastRun)) : null,
    };
  };

  app.get(base, { onRequest: read, schema: { tags, summary: 'The PagerDuty connection (the key only masked)', response: { 200: statusJson } } }, status);

  app.post(
    `${base}/check_key`,
    {
      config: { upstream: true },
      onRequest: admin,
      schema: {
        tags,
        summary: 'Check a key (valid, right region, full access) without saving it or changing the account; returns users to choose the bot account from',
        body: z.strictObject({ ...keyBody, query: z.string().max(200).optional() }),
        response: { 200: z.object({ ok: z.literal(true), users: z.array(pdUser), more: z.boolean() }) },
      },
    },
    async (req) => {
      const client = await pd.checkKey({ region: req.body.region, baseUrl: req.body.base_url ?? null, apiKey: req.body.api_key });
      const r = await pd.searchUsers(client, req.body.query ?? '');
      return { ok: true as const, users: r.users, more: r.more };
    },
  );

  app.put(
    base,
    {
      config: { upstream: true },
      onRequest: admin,
      schema: {
        tags,
        summary: 'Connect PagerDuty, or reconnect it with a new key',
        body: z.strictObject({ ...keyBody, bot_user_id: z.string().trim().min(1).max(40).optional(), bot_email: z.string().trim().min(3).max(320).optional() }).refine((b) => b.bot_user_id || b.bot_email, { message: 'choose the bot account: bot_user_id or bot_email', path: ['bot_user_id'] }),
        response: { 200: statusJson },
      },
    },
    async (req) => {
      await pd.connect({ region: req.body.region, baseUrl: req.body.base_url ?? null, apiKey: req.body.api_key, botUserId: req.body.bot_user_id, botEmail: req.body.bot_email }, actorOf(req.principal!), req.ip);
      return status();
    },
  );

  app.patch(
    base,
    {
      config: { upstream: true },
      onRequest: admin,
      schema: {
        tags,
        summary: 'Change the bot account or the sync settings',
        body: z.strictObject(settingsPatch),
        response: { 200: statusJson },
      },
    },
    async (req) => {
      await pd.update(settingsUpdate(req.body), actorOf(req.principal!), req.ip);
      return status();
    },
  );

  app.delete(base, { onRequest: admin, schema: { tags, summary: 'Disconnect: delete the key, stop syncing, keep synced entries' } }, async (req, reply) => {
    await pd.disconnect(actorOf(req.principal!), req.ip);
    return reply.status(204).send();
  });

  app.get(
    `${base}/users`,
    { onRequest: admin, schema: { tags, summary: "Search the connected account's users (for changing the bot account)", querystring: z.strictObject({ query: z.string().max(200).optional() }), response: { 200: z.object({ users: z.array(pdUser), more: z.boolean() }) } } },
    async (req) => {
      const c = await pd.connected('background');
      if (!c) return { users: [], more: false };
      return pd.searchUsers(c.client, req.query.query ?? '');
    },
  );

  app.post(
    `${base}/sync`,
    {
      onRequest: admin,
      schema: {
        tags,
        summary: 'Sync now (all types unless `types` says otherwise); `force` applies a run the safety rules would stop',
        body: z.strictObject({ types: z.array(typeKey).optional(), force: z.boolean().optional() }).optional().default({}),
        response: { 202: z.object({ run: syncRunJson }) },
      },
    },
    async (req, reply) => {
      const p = req.principal!;
      const run = await pd.requestSync({ trigger: p.kind === 'api_key' ? 'api' : 'manual', types: req.body.types, force: req.body.force, requestedBy: actorOf(p).userId ?? actorOf(p).ref ?? null });
      return reply.status(202).send({ run: syncRunJson.parse(toRunJson(run)) });
    },
  );
}
