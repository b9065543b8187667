import { existsSync } from 'node:fs';
import { html, HTML_UTF8, sendPage } from './page.js';
import { resolve } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type RouteOptions } from 'fastify';
import {
  createJsonSchemaTransform,
  createJsonSchemaTransformObject,
  hasZodFastifySchemaValidationErrors,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import { redactUrl, type Logger } from '../logger.js';
import { AppError } from '../errors.js';
import type { Metrics } from './metrics.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** An `/api/v1` route meant to be open to anyone (no access guard). */
    public?: boolean;
    /** The route calls PagerDuty or Slack while answering, so it can answer 502 (declared in OpenAPI). */
    upstream?: boolean;
  }
}

export type App = FastifyInstance<any, any, any, Logger, ZodTypeProvider>;

export interface HttpOptions {
  logger: Logger;
  bodyLimitBytes: number;
  metrics: Metrics;
  webDist?: string;
}

/** One error shape everywhere: `{ error: { code, message, details } }`; `details` is an object or null, never absent. */
export function errorBody(code: string, message: string, details?: Record<string, unknown> | null) {
  return { error: { code, message, details: details ?? null } };
}

/** The error shape as a schema: one component (`Error`) that every operation's error responses refer to. */
export const errorSchema = z.object({
  error: z.object({
    code: z.string().regex(/^[a-z][a-z0-9_]*$/).describe('snake_case, stable: branch on this'),
    message: z.string().describe('for people: what went wrong and what to do'),
    details: z.record(z.string(), z.unknown()).nullable().describe('e.g. `fields` (path, message) for invalid input; null when there is nothing more'),
  }),
});
const apiSchemas = z.registry<{ id: string }>();
apiSchemas.add(errorSchema, { id: 'Error' });

const errorMeaning: Record<number, string> = {
  400: 'Invalid input: a field (listed in details.fields), the JSON, or the URL',
  401: 'No credentials, or an unknown or revoked API key',
  403: 'Signed in, but the role, the API key scope or the CSRF token does not allow this',
  404: 'The resource does not exist',
  409: 'Conflicts with the current state (e.g. a status move that is not allowed)',
  413: 'The body is larger than the configured limit',
  415: 'The body is not application/json',
  500: 'Something went wrong on the server; the error was logged',
  502: 'PagerDuty or Slack, asked while answering, failed or could not be reached (the message says which and why)',
  503: 'This process is shutting down; try again (another process may answer)',
};

/**
 * Adds the error responses an operation can give to its schema (for the OpenAPI document), each referring to the
 * shared `Error` component. Statuses the route already declares are left as they are.
 */
export function declareErrorResponses(route: Pick<RouteOptions, 'schema'>, statuses: number[]): void {
  const schema = (route.schema ??= {}) as { hide?: boolean; response?: Record<string, unknown> };
  if (schema.hide) return;
  const response = (schema.response ??= {});
  for (const status of statuses) {
    response[status] ??= { description: errorMeaning[status] ?? STATUS_CODES[status] ?? 'Error', content: { 'application/json': { schema: errorSchema } } };
  }
}

/**
 * The statuses any route can answer with from what it declares; the access guard adds 401/403 (users/auth.ts).
 * A route that calls PagerDuty or Slack while answering says so with `config: { upstream: true }` (502).
 */
function errorStatusesOf(route: RouteOptions): number[] {
  const methods = ([] as string[]).concat(route.method);
  const hasBody = methods.some((m) => m === 'POST' || m === 'PUT' || m === 'PATCH');
  const s = route.schema as Record<string, unknown> | undefined;
  const statuses = [500, 503];
  if (route.config?.upstream) statuses.push(502);
  if (hasBody || s?.body || s?.querystring || s?.params || s?.headers) statuses.push(400);
  if (route.url.includes(':')) statuses.push(404);
  if (methods.some((m) => m !== 'GET' && m !== 'HEAD')) statuses.push(409);
  if (hasBody) statuses.push(413, 415);
  return statuses;
}

/** Every route the server registers, as declared (tests walk it: auth before validation, error shapes). */
const routeTables = new WeakMap<object, RouteOptions[]>();
export function registeredRoutes(app: App): readonly RouteOptions[] {
  return routeTables.get(app) ?? [];
}

const MAX_PARAM_LENGTH = 100;

// Fastify's own errors, by code, in the house shape. Anything else Fastify (or a plugin) raises with a 4xx
// status gets a code from its status, never Fastify's FST_… code.
const frameworkErrors: Record<string, (err: FastifyError, limit: number) => { status: number; code: string; message: string }> = {
  FST_ERR_BAD_URL: () => ({ status: 400, code: 'bad_url', message: 'The URL is not valid: a percent-encoded sequence (such as %ff) does not decode to text.' }),
  FST_ERR_MAX_PARAM_LENGTH: () => ({ status: 414, code: 'uri_too_long', message: `A part of the URL path is longer than the ${MAX_PARAM_LENGTH} characters allowed.` }),
  FST_ERR_CTP_BODY_TOO_LARGE: (_e, limit) => ({ status: 413, code: 'body_too_large', message: `The request body is larger than the ${limit} bytes allowed.` }),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => ({ status: 415, code: 'unsupported_media_type', message: 'Send the body as application/json.' }),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => ({ status: 400, code: 'invalid_content_length', message: 'The Content-Length header does not match the body.' }),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => ({ status: 400, code: 'invalid_json', message: 'The body is empty; send a JSON object (e.g. {}).' }),
  FST_ERR_CTP_INVALID_JSON_BODY: (e) => ({ status: 400, code: 'invalid_json', message: `The body is not valid JSON: ${e.message}` }),
  FST_STATIC_FORBIDDEN_PATH: () => ({ status: 404, code: 'not_found', message: 'There is no file at this path.' }),
};
const codeByStatus: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  413: 'body_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  416: 'range_not_satisfiable',
  431: 'headers_too_large',
};

/** Errors Node's HTTP parser raises before Fastify sees a request (bad request line, huge headers, timeouts). */
function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'request_timeout', 'The request was not received in time.']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'headers_too_large', 'The request headers are larger than allowed.']
        : [400, 'bad_request', 'The request is not valid HTTP.'];
  this.log.debug({ err }, 'client error');
  // Bytes after a request that said `Connection: close`, or an error while a response is under way: the client
  // already has (or is getting) its answer, and a second one would corrupt the stream.
  const answering = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage?.headersSent === true;
  if (socket.writable && err.code !== 'HPE_CLOSED_CONNECTION' && !answering) {
    const body = JSON.stringify(errorBody(code, message));
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

const isApiPath = (path: string) => ['/api/', '/auth/', '/slack/', '/webhooks/'].some((p) => path.startsWith(p));

export async function createHttpServer(opts: HttpOptions): Promise<App> {
  const sendFrameworkError = (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const known = frameworkErrors[err.code]?.(err, opts.bodyLimitBytes);
    if (known) return reply.status(known.status).send(errorBody(known.code, known.message));
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err }, 'unhandled error');
    return reply.status(status).send(status === 500 ? errorBody('internal_error', 'Something went wrong on our side; the error was logged.') : errorBody(codeByStatus[status] ?? 'bad_request', err.message));
  };
  const app = Fastify({
    loggerInstance: opts.logger,
    bodyLimit: opts.bodyLimitBytes,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify's own 503 while closing has its own body shape; the onRequest hook below answers in ours.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Errors raised while routing (bad percent-encoding, over-long path parameters) and by Node's HTTP parser.
    frameworkErrors: (err, req, reply) => sendFrameworkError(err, req as FastifyRequest, reply as FastifyReply),
    clientErrorHandler,
  }).withTypeProvider<ZodTypeProvider>() as unknown as App;

  const routes: RouteOptions[] = [];
  routeTables.set(app, routes);
  app.addHook('onRoute', (route) => {
    routes.push(route as RouteOptions);
    if (route.url.startsWith('/api/')) declareErrorResponses(route as RouteOptions, errorStatusesOf(route as RouteOptions));
  });

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_req, reply) => {
    if (!closing) return;
    reply.header('connection', 'close');
    return reply.status(503).send(errorBody('shutting_down', 'This Firebreak process is shutting down; try again (another process may answer).'));
  });

  app.setValidatorCompiler(validatorCompiler);
  // The API speaks JSON only: without this, text/plain bodies reach the validators as strings.
  app.removeContentTypeParser('text/plain');
  // Response schemas document the API (OpenAPI) and type the handlers at compile time; re-validating every
  // response at run time cost more CPU than the rest of a request, so responses are serialised as they are.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  await app.register(fastifyCookie);
  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Firebreak API', version: '1', description: 'Incidents, timeline, users and API keys. Authenticate with `Authorization: Bearer <API key>`.' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
    transform: createJsonSchemaTransform({ schemaRegistry: apiSchemas }),
    transformObject: createJsonSchemaTransformObject({ schemaRegistry: apiSchemas }),
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/api/docs' });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    opts.metrics.httpDuration.observe({ method: req.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    if (reply.statusCode >= 500) req.log.error({ method: req.method, url: redactUrl(req.url), status: reply.statusCode }, 'request failed');
    else req.log.debug({ method: req.method, url: redactUrl(req.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
  });

  app.setErrorHandler((err: FastifyError | AppError, req, reply) => {
    if (err instanceof AppError) {
      return reply.status(err.status).send(errorBody(err.code, err.message, err.details));
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const fields = err.validation.map((v) => ({
        path: [err.validationContext, ...String(v.instancePath).split('/').filter(Boolean)].join('.').replace(/^body\./, ''),
        message: v.message ?? 'is invalid',
      }));
      return reply.status(400).send(errorBody('validation_failed', `The request ${err.validationContext ?? ''} is invalid: ${fields.map((f) => `${f.path} ${f.message}`).join('; ')}`, { fields }));
    }
    if (err instanceof SyntaxError && (err as FastifyError).statusCode === 400) {
      return reply.status(400).send(errorBody('invalid_json', `The body is not valid JSON: ${err.message}`));
    }
    return sendFrameworkError(err as FastifyError, req, reply);
  });

  const webDist = opts.webDist ?? resolve('web/dist');
  const hasWeb = existsSync(resolve(webDist, 'index.html'));
  if (hasWeb) {
    // wildcard: files are looked up per request, so a rebuilt web/dist is served without a restart.
    // API paths never reach the file system (a path too long for a route's parameter falls through to the
    // static wildcard): they get the not-found handler's JSON 404.
    await app.register(fastifyStatic, { root: webDist, serve: false }); // reply.sendFile for the app's index page
    await app.register(async (files) => {
      files.addHook('onRequest', async (req, reply) => {
        if (isApiPath(req.url)) return reply.callNotFound();
      });
      await files.register(fastifyStatic, { root: webDist, prefix: '/', wildcard: true, index: false, decorateReply: false });
    });
  }
  const sendApp = (reply: import('fastify').FastifyReply) =>
    hasWeb
      ? reply.type(HTML_UTF8).sendFile('index.html')
      : sendPage(reply, 200, { title: 'The web app is not built', body: html`<p>Run <code>npm run build:web</code> (<code>npm start</code> does it for you), then reload this page. The REST API works meanwhile: <a href="/api/docs">/api/docs</a>.</p>` });
  app.get('/', { schema: { hide: true } }, (_req, reply) => sendApp(reply));
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    const isApi = isApiPath(path);
    const looksLikeFile = /\.[a-z0-9]{1,8}$/i.test(path);
    if (!isApi && req.method === 'GET' && !looksLikeFile) return sendApp(reply);
    // the same answer whether or not a wildcard route caught the over-long segment first (GET vs POST)
    if (isApi && path.split('/').some((segment) => segment.length > MAX_PARAM_LENGTH)) return sendFrameworkError(Object.assign(new Error(path), { code: 'FST_ERR_MAX_PARAM_LENGTH' }) as FastifyError, req, reply);
    return reply.status(404).send(errorBody('not_found', `No route for ${req.method} ${path}.`));
  });

  return app;
}
