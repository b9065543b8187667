import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

// Slack settings from the environment: both secrets or neither, each problem named by its variable.

describe('Slack configuration', () => {
  it('reads the Slack variables', () => {
    const c = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_SIGNING_SECRET: 'secret-secret', SLACK_API_URL: 'http://127.0.0.1:4100/api/', SLACK_ANNOUNCEMENTS_CHANNEL: 'C0123' });
    expect(c.slack).toEqual({ botToken: 'xoxb-1-2-abc', signingSecret: 'secret-secret', apiUrl: 'http://127.0.0.1:4100/api/', announcementsChannel: 'C0123' });
    expect(loadConfig({}).slack).toEqual({ botToken: null, signingSecret: null, apiUrl: null, announcementsChannel: null });
  });

  it('needs the signing secret with the bot token, and the other way round', () => {
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1-2-abc' })).toThrow(/SLACK_SIGNING_SECRET is required with SLACK_BOT_TOKEN/);
    expect(() => loadConfig({ SLACK_SIGNING_SECRET: 'secret-secret' })).toThrow(/SLACK_BOT_TOKEN is required with SLACK_SIGNING_SECRET/);
  });

  it('names the variable when a value is malformed', () => {
    try {
      loadConfig({ SLACK_BOT_TOKEN: 'xoxp-user-token', SLACK_SIGNING_SECRET: 'short', SLACK_API_URL: 'not a url' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const text = (err as ConfigError).problems.join('\n');
      expect(text).toContain('SLACK_BOT_TOKEN=(value hidden): must be a Slack bot token starting with xoxb-');
      expect(text).toContain('SLACK_SIGNING_SECRET=(value hidden): must be the Signing Secret');
      expect(text).not.toContain('xoxp-user-token');
      expect(text).toContain('SLACK_API_URL="not a url"');
    }
  });
});
