import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/** Paths whose values never reach a log line, wherever they appear in a logged object. */
export const redactPaths = [
  'password', '*.password', 'token', '*.token', 'secret', '*.secret', 'apiKey', '*.apiKey', 'api_key', '*.api_key',
  'key', '*.key', 'authorization', '*.authorization', 'req.headers.authorization', 'req.headers.cookie',
  'req.headers["x-csrf-token"]', 'req.headers["x-slack-signature"]', 'req.headers["x-pagerduty-signature"]',
  'headers.authorization', 'headers.cookie', 'res.headers["set-cookie"]', 'csrf_token', '*.csrf_token',
  'signingSecret', '*.signingSecret', 'botToken', '*.botToken', 'appToken', '*.appToken', 'app_token', '*.app_token',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: redactPaths, censor: '[redacted]' },
      base: { service: 'firebreak' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

const secretParams = /([?&](?:token|key|secret|api_key|code|signature)=)[^&#]*/gi;

/** A URL as it may appear in logs: values of secret-bearing query parameters replaced. */
export function redactUrl(url: string): string {
  return url.replace(secretParams, '$1[redacted]');
}
