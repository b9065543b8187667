import { z } from 'zod';
import type { Db } from '../../platform/db/index.js';
import { ConflictError, UpstreamError } from '../../platform/errors.js';
import type { App } from '../../platform/http/server.js';
import { requireAccess } from '../../users/auth.js';
import { SlackApiError } from './slack.api.js';
import type { SlackConnection } from './slack.connection.js';
import './slack.tables.js';

// Slack channels by name, for people to read and pick:
// - GET /api/v1/integrations/slack/channels?search=inc (read access): the workspace's public, unarchived channels
//   whose name contains the text (a leading # ignored, any case) or whose id is the text, names starting with it
//   first (`connected: false` and no channels while Slack is not connected). Read through conversations.list, every page (at most 50 of 200), kept 60 s per process and workspace
//   token, so typing in the picker asks Slack once.
// - channelNames: the name of each incident channel Firebreak created, from `slack_incidents.channel_name` (the
//   name Slack gave it at creation), for the incident JSON (`slack_channel.name`) through the incidents service's
//   channel-name port.

const MAX_PAGES = 50;
const CACHE_MS = 60_000;

export interface SlackChannel {
  id: string;
  name: string;
  isMember: boolean;
}

export class SlackChannelDirectory {
  private cache: { key: string; at: number; channels: Promise<SlackChannel[]> } | null = null;

  constructor(private readonly connection: SlackConnection) {}

  async connected(): Promise<boolean> {
    return !!(await this.connection.credentials());
  }

  async all(): Promise<SlackChannel[]> {
    const creds = await this.connection.credentials();
    const api = await this.connection.api();
    if (!creds || !api) throw new ConflictError('not_connected', 'Slack is not connected: connect it on this page first.');
    const key = creds.botToken;
    const c = this.cache;
    if (c && c.key === key && Date.now() - c.at < CACHE_MS) return c.channels;
    const load = (async () => {
      const out: SlackChannel[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const r = await api.listChannels(cursor);
        out.push(...r.channels);
        if (!r.nextCursor) break;
        cursor = r.nextCursor;
      }
      return out;
    })();
    this.cache = { key, at: Date.now(), channels: load };
    load.catch(() => {
      if (this.cache?.channels === load) this.cache = null;
    });
    return load;
  }

  async search(text: string, limit: number): Promise<SlackChannel[]> {
    let channels: SlackChannel[];
    try {
      channels = await this.all();
    } catch (err) {
      if (err instanceof SlackApiError) throw new UpstreamError(`Slack did not list the channels (${err.code}).`, { slack_error: err.code });
      throw err;
    }
    const q = text.trim().replace(/^#/, '').toLowerCase();
    if (!q) return [...channels].sort((a, b) => a.name.localeCompare(b.name)).slice(0, limit);
    const hits = channels.filter((c) => c.id === text.trim() || c.name.toLowerCase().includes(q));
    const starts = (c: SlackChannel) => (c.id === text.trim() || c.name.toLowerCase().startsWith(q) ? 0 : 1);
    return hits.sort((a, b) => starts(a) - starts(b) || a.name.localeCompare(b.name)).slice(0, limit);
  }
}

/** Names of incident channels by channel id (those Firebreak created and knows the name of). */
export function channelNames(db: Db): (channelIds: string[]) => Promise<Map<string, string>> {
  return async (channelIds) => {
    const ids = [...new Set(channelIds)].filter(Boolean);
    if (ids.length === 0) return new Map();
    const rows = await db.selectFrom('slack_incidents').select(['channel_id', 'channel_name']).where('channel_id', 'in', ids).execute();
    return new Map(rows.filter((r) => r.channel_id && r.channel_name).map((r) => [r.channel_id!, r.channel_name!]));
  };
}

const channelJson = z.object({ id: z.string(), name: z.string(), is_member: z.boolean() });

export function registerSlackChannelRoutes(app: App, directory: SlackChannelDirectory): void {
  app.get(
    '/api/v1/integrations/slack/channels',
    {
      config: { upstream: true },
      onRequest: requireAccess('read'),
      schema: {
        tags: ['integrations'],
        summary: "The workspace's public channels by name (search: part of the name, a leading # ignored, or the channel id)",
        querystring: z.strictObject({ search: z.string().max(80).optional(), limit: z.coerce.number().int().min(1).max(100).default(20) }),
        response: { 200: z.object({ connected: z.boolean(), channels: z.array(channelJson) }) },
      },
    },
    async (req) => {
      if (!(await directory.connected())) return { connected: false, channels: [] };
      return { connected: true, channels: (await directory.search(req.query.search ?? '', req.query.limit)).map((c) => ({ id: c.id, name: c.name, is_member: c.isMember })) };
    },
  );
}
