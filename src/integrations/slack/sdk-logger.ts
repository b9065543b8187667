import type { Logger as SlackSdkLogger } from '@slack/bolt';
import { LogLevel } from '@slack/web-api'; // not from Bolt: that would load Bolt at start (see index.ts)
import type { Logger } from '../../platform/logger.js';

/**
 * Slack's SDKs (Bolt, the Socket Mode client) log through this interface: their lines go to our pino logger,
 * info demoted to debug (our own lines say what matters, in plain words). `errorsAs: 'warn'` for an SDK whose
 * "errors" are states we already report ourselves (the Socket Mode client's failed connection attempts).
 */
export function slackSdkLogger(l: Logger, opts: { errorsAs?: 'error' | 'warn' } = {}): SlackSdkLogger {
  const line = (m: unknown[]) => m.map((x) => (typeof x === 'string' ? x : x instanceof Error ? x.message : JSON.stringify(x))).join(' ');
  const errorsAs = opts.errorsAs ?? 'error';
  return {
    debug: (...m: unknown[]) => l.debug(line(m)),
    info: (...m: unknown[]) => l.debug(line(m)),
    warn: (...m: unknown[]) => l.warn(line(m)),
    error: (...m: unknown[]) => l[errorsAs](line(m)),
    setLevel: () => {},
    getLevel: () => LogLevel.INFO,
    setName: () => {},
  };
}
