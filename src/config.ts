import { resolve } from 'node:path';
import { z } from 'zod';
import { loadOrCreateKeyFile, parseMasterKey } from './platform/crypto/secrets.js';

// Environment → typed configuration, validated once at start. Every problem names the variable and what
// it expects, so a person can fix it without reading code.

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a PostgreSQL URL such as postgres://user@host:5432/firebreak')
    .optional(),
  PUBLIC_URL: z.url({ message: 'must be an absolute URL such as https://firebreak.example.com' }).optional(),
  LOG_LEVEL: z.enum(logLevels, { message: `must be one of ${logLevels.join(', ')}` }).default('info'),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(50 * 1024 * 1024).default(1024 * 1024),
  JOB_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  JOB_LOCK_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  DB_PREPARED_STATEMENTS: z.enum(['on', 'off'], { message: 'must be on or off' }).default('on'),
  SESSION_TTL_HOURS: z.coerce.number().int().min(1).max(24 * 90).default(24 * 14),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  FIREBREAK_PAGING_LEASE_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
  SECURE_COOKIES: z.enum(['auto', 'true', 'false'], { message: 'must be auto, true or false' }).default('auto'),
  FIREBREAK_MASTER_KEY: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      if (v !== undefined && typeof parseMasterKey(v) === 'string') ctx.addIssue({ code: 'custom', message: parseMasterKey(v) as string });
    }),
  SLACK_BOT_TOKEN: z.string().trim().regex(/^xoxb-\S+$/, 'must be a Slack bot token starting with xoxb- (OAuth & Permissions page of your Slack app)').optional(),
  SLACK_SIGNING_SECRET: z.string().trim().min(8, 'must be the Signing Secret from the Basic Information page of your Slack app').optional(),
  SLACK_APP_TOKEN: z
    .string()
    .trim()
    .regex(/^xapp-\S+$/, 'must be an app-level token starting with xapp- (Basic Information → App-Level Tokens of your Slack app, with the connections:write scope); it turns on Socket Mode')
    .optional(),
  SLACK_API_URL: z.url({ message: 'must be an absolute URL ending in /api/, e.g. http://127.0.0.1:4100/api/ for the Slack emulator' }).optional(),
  SLACK_ANNOUNCEMENTS_CHANNEL: z.string().trim().min(1).max(80).optional(),
  OIDC_ISSUER: z.url({ message: 'must be the issuer URL of your OpenID Connect provider, e.g. https://accounts.google.com' }).optional(),
  OIDC_CLIENT_ID: z.string().trim().min(1).max(500).optional(),
  OIDC_CLIENT_SECRET: z.string().trim().min(1).max(2000).optional(),
  OIDC_PROVIDER_NAME: z.string().trim().min(1).max(60).optional(),
});

/** Secrets whose values never appear in error messages (a mistyped token is still a token). */
const hiddenValues = new Set(['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'FIREBREAK_MASTER_KEY', 'OIDC_CLIENT_SECRET']);

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  database: { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string; poolSize: number; preparedStatements?: boolean };
  publicUrl: string | null;
  logLevel: (typeof logLevels)[number];
  bodyLimitBytes: number;
  jobConcurrency: number;
  /** After how long a job held by a process that died (no heartbeat) is run again. */
  jobLockTimeoutMs: number;
  sessionTtlHours: number;
  shutdownTimeoutMs: number;
  /** How long a worker holds an escalation target while paging it (renewed while it works); a crashed worker's targets are taken over after this. */
  pagingLeaseMs: number;
  secureCookies: 'auto' | 'true' | 'false';
  /** Encrypts secrets at rest. From FIREBREAK_MASTER_KEY; null means (SQLite only) dataDir/master.key. */
  masterKey: Buffer | null;
  /** Slack from the environment; when botToken is null, Slack can still be connected on the Integrations page. */
  slack: SlackConfig;
  /** Single sign-on from the environment (all three of issuer, client id and secret), else null: set on Settings → Single sign-on. */
  oidc: { issuer: string; clientId: string; clientSecret: string; providerName: string | null } | null;
  /** Lets single sign-on talk to an issuer over plain http (tests' in-process provider only; never from the environment). */
  oidcAllowHttp?: boolean;
}

export interface SlackConfig {
  botToken: string | null;
  /** Verifies requests at POST /slack/events (HTTP mode). Not needed in Socket Mode. */
  signingSecret: string | null;
  /** App-level token (xapp-…): when set, Slack is received over Socket Mode instead of POST /slack/events. */
  appToken?: string | null;
  /** Web API base URL (default Slack's); point it at the Slack emulator in development and tests. */
  apiUrl: string | null;
  /** Channel id (or name) where new incidents are announced. */
  announcementsChannel: string | null;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Config> = {}): Config {
  const relevant = Object.fromEntries(Object.keys(envSchema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]));
  const parsed = envSchema.safeParse(relevant);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${String(i.path[0])}=${hiddenValues.has(String(i.path[0])) ? '(value hidden)' : JSON.stringify(relevant[String(i.path[0])] ?? '')}: ${i.message}`),
    );
  }
  const e = parsed.data;
  const dataDir = resolve(overrides.dataDir ?? e.DATA_DIR);
  const cfg: Config = {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    database: e.DATABASE_URL
      ? { kind: 'postgres', url: e.DATABASE_URL, poolSize: e.DB_POOL_SIZE, preparedStatements: e.DB_PREPARED_STATEMENTS === 'on' }
      : { kind: 'sqlite', file: resolve(dataDir, 'firebreak.sqlite') },
    publicUrl: e.PUBLIC_URL ? e.PUBLIC_URL.replace(/\/$/, '') : null,
    logLevel: e.LOG_LEVEL,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    jobConcurrency: e.JOB_CONCURRENCY,
    jobLockTimeoutMs: e.JOB_LOCK_TIMEOUT_MS,
    sessionTtlHours: e.SESSION_TTL_HOURS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    pagingLeaseMs: e.FIREBREAK_PAGING_LEASE_MS,
    secureCookies: e.SECURE_COOKIES,
    masterKey: null,
    slack: {
      botToken: e.SLACK_BOT_TOKEN ?? null,
      signingSecret: e.SLACK_SIGNING_SECRET ?? null,
      ...(e.SLACK_APP_TOKEN ? { appToken: e.SLACK_APP_TOKEN } : {}),
      apiUrl: e.SLACK_API_URL ?? null,
      announcementsChannel: e.SLACK_ANNOUNCEMENTS_CHANNEL ?? null,
    },
    oidc:
      e.OIDC_ISSUER && e.OIDC_CLIENT_ID && e.OIDC_CLIENT_SECRET
        ? { issuer: e.OIDC_ISSUER, clientId: e.OIDC_CLIENT_ID, clientSecret: e.OIDC_CLIENT_SECRET, providerName: e.OIDC_PROVIDER_NAME ?? null }
        : null,
    ...overrides,
  };
  // HTTP: bot token + signing secret. Socket Mode: bot token + app-level token (the socket is authenticated by the
  // app token, so the signing secret is optional). Neither: Slack can be connected on the Integrations page.
  if (!overrides.slack) {
    if (e.SLACK_APP_TOKEN && !e.SLACK_BOT_TOKEN) {
      throw new ConfigError([
        'SLACK_BOT_TOKEN is required with SLACK_APP_TOKEN: Socket Mode needs the bot token (OAuth & Permissions page, xoxb-…) to call Slack, and the app-level token to receive from it.',
      ]);
    }
    if (!e.SLACK_APP_TOKEN && !!e.SLACK_BOT_TOKEN !== !!e.SLACK_SIGNING_SECRET) {
      throw new ConfigError([
        e.SLACK_BOT_TOKEN
          ? 'SLACK_SIGNING_SECRET is required with SLACK_BOT_TOKEN: Slack needs both the bot token and the signing secret (or neither, to connect Slack on the Integrations page). Without a public URL, set SLACK_APP_TOKEN instead to receive Slack over Socket Mode.'
          : 'SLACK_BOT_TOKEN is required with SLACK_SIGNING_SECRET: Slack needs both the bot token and the signing secret (or neither, to connect Slack on the Integrations page).',
      ]);
    }
  }
  if (overrides.oidc === undefined && (e.OIDC_ISSUER || e.OIDC_CLIENT_ID || e.OIDC_CLIENT_SECRET) && !cfg.oidc) {
    throw new ConfigError(['OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET go together: set all three for single sign-on (or none, to set it up on Settings → Single sign-on).']);
  }
  if (overrides.dataDir && !overrides.database && !e.DATABASE_URL) {
    cfg.database = { kind: 'sqlite', file: resolve(dataDir, 'firebreak.sqlite') };
  }
  if (overrides.masterKey === undefined && e.FIREBREAK_MASTER_KEY) cfg.masterKey = parseMasterKey(e.FIREBREAK_MASTER_KEY) as Buffer;
  if (!cfg.masterKey && cfg.database.kind === 'postgres') {
    throw new ConfigError([
      'FIREBREAK_MASTER_KEY is required with DATABASE_URL: every Firebreak process must share the key that encrypts stored secrets. Generate one with: openssl rand -base64 32',
    ]);
  }
  return cfg;
}

/** The key that encrypts secrets at rest: configured, or (embedded mode) kept in the data directory. */
export function masterKeyFor(cfg: Config): Buffer {
  return cfg.masterKey ?? loadOrCreateKeyFile(cfg.dataDir);
}
