import { AppError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import { SlackApiError } from './slack.api.js';

/** What to tell a person when their Slack action failed. Our own bugs are logged, not shown. */
export function explain(err: unknown, logger: Logger): string {
  if (err instanceof AppError) return `:warning: ${err.message}`;
  if (err instanceof SlackApiError) {
    logger.warn({ err }, 'Slack call failed while handling an interaction');
    if (err.code === 'ratelimited') return ':hourglass: Slack is rate limiting Firebreak right now; try again in a minute.';
    if (err.code === 'expired_trigger_id' || err.code === 'exchanged_trigger_id') return ':hourglass: Slack took too long to open the form; run the command again.';
    return `:warning: Slack refused the request (${err.code}). If it keeps happening, ask a Firebreak admin to check the Slack connection.`;
  }
  logger.error({ err }, 'Slack interaction failed');
  return ':warning: Something went wrong in Firebreak; the error was logged. Try again, or use the web app.';
}

/** Slack escapes &, < and > in command text. */
export function unescapeSlack(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}
