// Typed calls for the Slack connection (REST API: /api/v1/integrations/slack).
import { request } from '../api.js';

export interface SlackStatus {
  status: 'not_connected' | 'connected' | 'error';
  /** Where the credentials come from: environment variables win over the ones entered here. */
  source: 'environment' | 'integration' | null;
  team: string | null;
  team_id: string | null;
  bot_name: string | null;
  bot_user_id: string | null;
  /** Masked: only the last four characters. */
  bot_token: string | null;
  signing_secret: string | null;
  /** Masked app-level token (Socket Mode), or null. */
  app_token: string | null;
  announcements_channel: string | null;
  events_url: string;
  /** How Slack reaches Firebreak: POSTs to events_url, or a Socket Mode connection Firebreak opens (with an app-level token). */
  transport: 'http' | 'socket_mode';
  socket_mode: { state: 'connecting' | 'connected' | 'reconnecting' | 'error' | 'stopped'; connected: boolean; connected_at: string | null; connections: number; error: string | null } | null;
  error: string | null;
}

export interface SlackConnectInput {
  bot_token: string;
  /** Required unless app_token is given. */
  signing_secret: string | null;
  /** App-level token (xapp-…): Slack is received over Socket Mode, no public URL needed. */
  app_token: string | null;
  announcements_channel: string | null;
}

export const slackApi = {
  status: async () => (await request<{ slack: SlackStatus }>('GET', '/api/v1/integrations/slack')).slack,
  connect: async (input: SlackConnectInput) => (await request<{ slack: SlackStatus }>('PUT', '/api/v1/integrations/slack', input)).slack,
  disconnect: () => request<void>('DELETE', '/api/v1/integrations/slack'),
};
