// Typed calls for the Slack connection (REST API: /api/v1/integrations/slack).
import { call } from '../api.js';
import type { Body, Ok } from '../api/operations.js';

/**
 * The connection: `source` says where the credentials come from (environment variables win over the ones entered
 * here); tokens and the secret are masked (last four characters); `transport` is how Slack reaches Firebreak, by
 * POSTs to events_url or over a Socket Mode connection Firebreak opens with an app-level token.
 */
export type SlackStatus = Ok<'/api/v1/integrations/slack', 'get'>['slack'];
/** A signing secret is required unless an app-level token (xapp-…, Socket Mode: no public URL needed) is given. */
export type SlackConnectInput = Body<'/api/v1/integrations/slack', 'put'>;

const path = '/api/v1/integrations/slack';

export const slackApi = {
  status: async () => (await call('get', path)).slack,
  connect: async (body: SlackConnectInput) => (await call('put', path, { body })).slack,
  disconnect: () => call('delete', path),
  /** How Slack follows incidents (the archive delay), whatever the credentials' source. */
  saveSettings: async (body: Body<'/api/v1/integrations/slack/settings', 'put'>) => (await call('put', `${path}/settings`, { body })).slack,
};
